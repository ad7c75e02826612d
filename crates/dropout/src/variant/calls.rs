//! The calls of a [`Variant`]: one pair for every member, with the data's
//! [`Shape`], and one at a mask offset for the element-wise members.
//!
//! ```text
//! forward(key, mode, shape, x, y)      y  = f(x)                                every member
//! backward(key, mode, shape, dy, dx)   dx = f'ᵀ dy, draws recomputed from key   every member
//!   shape.noise = None:  the member's own layout (one draw per element, row, or block corner)
//!   shape.noise = Some:  the broadcast forms of plain, alpha, gaussian, noise (spatial,
//!                        FeatureAlpha, locked); a typed error for concrete, block, path, head
//! forward_at / backward_at(key, mode, offset, x, y)   x[i] takes draw offset + i;
//!                        element-wise members only (NotElementwise for block, path, head)
//! apply(pass, …), apply_inplace(pass, …), apply_uninit(pass, …)
//!                        either pass; in place (the members' in-place kernels where they
//!                        have one, else through a copy); into fresh memory (plain dropout
//!                        writes it directly, the others zero it first)
//! ```
//! Backward needs no `x`: plain, gaussian and concrete are linear in `x` (their
//! backward is the forward map on `dy`), alpha's is its keep rule scaled by `a`,
//! noise's is the identity (the key is taken and ignored), DropBlock's and
//! DropPath's and DropHead's masks scale `dy` as they scale `x`.

use std::mem::MaybeUninit;

use super::{Layout, Map, Pass, Variant};
use crate::broadcast::validate;
use crate::error::{check_len, DropoutError};
use crate::philox::MaskKey;
use crate::rule::Mode;
use crate::shape::Shape;

impl Variant {
    /// `y = f(x)` over data of `shape` (see the module docs).
    ///
    /// # Errors
    /// [`DropoutError::LengthMismatch`] if a buffer does not hold the shape;
    /// [`DropoutError::BadNoiseShape`]; [`DropoutError::NoNoiseShape`] for a
    /// noise shape on concrete, block, path or head; [`DropoutError::NotMaps`]
    /// (block); [`DropoutError::BadBlock`].
    pub fn forward(
        &self,
        key: MaskKey,
        mode: Mode,
        shape: Shape<'_>,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.apply(Pass::Forward, key, mode, shape, x, y)
    }

    /// `dx = f'ᵀ dy` with the forward's draws recomputed from the key.
    ///
    /// # Errors
    /// As [`forward`](Self::forward).
    pub fn backward(
        &self,
        key: MaskKey,
        mode: Mode,
        shape: Shape<'_>,
        dy: &[f32],
        dx: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.apply(Pass::Backward, key, mode, shape, dy, dx)
    }

    /// Forward where `x[i]` takes draw `offset + i` (a slice of a larger tensor).
    ///
    /// # Errors
    /// [`DropoutError::NotElementwise`] for block, path and head;
    /// [`DropoutError::LengthMismatch`] if `y.len() != x.len()`.
    pub fn forward_at(
        &self,
        key: MaskKey,
        mode: Mode,
        offset: u64,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.at(Pass::Forward, key, mode, offset, x, y)
    }

    /// Backward where `dy[i]` takes draw `offset + i`.
    ///
    /// # Errors
    /// As [`forward_at`](Self::forward_at).
    pub fn backward_at(
        &self,
        key: MaskKey,
        mode: Mode,
        offset: u64,
        dy: &[f32],
        dx: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.at(Pass::Backward, key, mode, offset, dy, dx)
    }

    fn at(
        &self,
        pass: Pass,
        key: MaskKey,
        mode: Mode,
        offset: u64,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        match (self.map, pass) {
            // Plain, Gaussian and Concrete: linear in x, so backward is the forward map on dy.
            (Map::Plain(d), _) => d.forward_at(key, mode, offset, x, y),
            (Map::Alpha(d), Pass::Forward) => d.forward_at(key, mode, offset, x, y),
            (Map::Alpha(d), Pass::Backward) => d.backward_at(key, mode, offset, x, y),
            (Map::Gaussian(d), _) => d.forward_at(key, mode, offset, x, y),
            (Map::Noise(d), Pass::Forward) => d.forward_at(key, mode, offset, x, y),
            (Map::Noise(d), Pass::Backward) => d.backward(key, mode, x, y),
            (Map::Concrete(c), _) => c.forward_at(key, mode, offset, self.p, x, y),
            (Map::Block(_) | Map::Path(_) | Map::Head(_), _) => Err(self.not_elementwise()),
        }
    }

    /// [`forward`](Self::forward) or [`backward`](Self::backward).
    ///
    /// # Errors
    /// As [`forward`](Self::forward).
    pub fn apply(
        &self,
        pass: Pass,
        key: MaskKey,
        mode: Mode,
        shape: Shape<'_>,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        let n = shape.len().ok_or_else(|| shape.too_large())?;
        let Some(noise) = shape.noise else {
            return match self.map {
                // DropBlock's and DropPath's maps are their own backward.
                Map::Block(b) => b.forward(key, mode, shape.dims, x, y),
                Map::Path(d) => {
                    let (rows, cols) = shape.rows_cols().ok_or_else(|| shape.too_large())?;
                    d.backward_branch(key, mode, rows, cols, x, y)
                }
                Map::Head(d) => d.forward(key, mode, shape.dims, x, y),
                _ => {
                    check_len("input", x.len(), n)?;
                    self.at(pass, key, mode, 0, x, y)
                }
            };
        };
        let dims = shape.dims;
        match (self.map, pass) {
            (Map::Plain(d), _) => d.forward_broadcast(key, mode, dims, noise, x, y),
            (Map::Alpha(d), Pass::Forward) => d.forward_broadcast(key, mode, dims, noise, x, y),
            (Map::Alpha(d), Pass::Backward) => d.backward_broadcast(key, mode, dims, noise, x, y),
            (Map::Gaussian(d), _) => d.forward_broadcast(key, mode, dims, noise, x, y),
            (Map::Noise(d), Pass::Forward) => d.forward_broadcast(key, mode, dims, noise, x, y),
            (Map::Noise(_), Pass::Backward) => {
                let (n, _) = validate(dims, noise)?;
                check_len("input", x.len(), n)?;
                check_len("output", y.len(), n)?;
                y.copy_from_slice(x);
                Ok(())
            }
            (Map::Concrete(_) | Map::Block(_) | Map::Path(_) | Map::Head(_), _) => {
                Err(self.no_noise_shape())
            }
        }
    }

    /// [`apply`](Self::apply) in place: `x ← f(x)` or `f'ᵀ x`. The members
    /// with in-place kernels (element-wise, plain dropout's broadcast, DropHead)
    /// use them; the others go through a copy of `x`.
    ///
    /// # Errors
    /// As [`forward`](Self::forward).
    pub fn apply_inplace(
        &self,
        pass: Pass,
        key: MaskKey,
        mode: Mode,
        shape: Shape<'_>,
        x: &mut [f32],
    ) -> Result<(), DropoutError> {
        let n = shape.len().ok_or_else(|| shape.too_large())?;
        if shape.noise.is_none() && self.layout() == Layout::Elements {
            check_len("input", x.len(), n)?;
        }
        match (self.map, pass, shape.noise) {
            (Map::Plain(d), _, None) => d.forward_inplace(key, mode, x),
            (Map::Plain(d), _, Some(noise)) => {
                d.forward_broadcast_inplace(key, mode, shape.dims, noise, x)?
            }
            (Map::Alpha(d), Pass::Forward, None) => d.forward_inplace(key, mode, x),
            (Map::Alpha(d), Pass::Backward, None) => {
                d.scaled_rule(mode).forward_inplace(key, mode, x)
            }
            (Map::Gaussian(d), _, None) => d.forward_inplace(key, mode, x),
            (Map::Noise(d), Pass::Forward, None) => d.forward_inplace(key, mode, x),
            (Map::Noise(_), Pass::Backward, None) => {}
            (Map::Head(d), _, None) => d.forward_inplace(key, mode, shape.dims, x)?,
            _ => {
                let src = x.to_vec();
                self.apply(pass, key, mode, shape, &src, x)?
            }
        }
        Ok(())
    }

    /// [`apply`](Self::apply) into memory that need not be initialised (a
    /// fresh allocation); returns `y`, now initialised. Plain dropout
    /// without a noise shape writes it directly; the others zero it first.
    ///
    /// # Errors
    /// As [`forward`](Self::forward).
    pub fn apply_uninit<'a>(
        &self,
        pass: Pass,
        key: MaskKey,
        mode: Mode,
        shape: Shape<'_>,
        x: &[f32],
        y: &'a mut [MaybeUninit<f32>],
    ) -> Result<&'a mut [f32], DropoutError> {
        if let (Map::Plain(d), None) = (self.map, shape.noise) {
            check_len(
                "input",
                x.len(),
                shape.len().ok_or_else(|| shape.too_large())?,
            )?;
            return d.forward_uninit(key, mode, x, y);
        }
        y.fill(MaybeUninit::new(0.0));
        // SAFETY: every element was just initialised; MaybeUninit<f32> has f32's layout.
        let y = unsafe { &mut *(std::ptr::from_mut(y) as *mut [f32]) };
        self.apply(pass, key, mode, shape, x, y)?;
        Ok(y)
    }

    pub(crate) fn not_elementwise(&self) -> DropoutError {
        DropoutError::NotElementwise {
            variant: self.kind().title(),
            unit: self.layout().unit(),
        }
    }

    pub(crate) fn no_noise_shape(&self) -> DropoutError {
        DropoutError::NoNoiseShape {
            variant: self.kind().title(),
            unit: self.layout().unit(),
        }
    }
}
