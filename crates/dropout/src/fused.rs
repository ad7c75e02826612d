//! Fused kernels for the engine: the pass after a GEMM, in one sweep over
//! memory instead of three.
//!
//! For a row-major `rows × cols` buffer `x` (one row per sample), a bias `b`
//! of `cols` entries and mask index `e = r · cols + c`:
//!
//! ```text
//! BiasActDropout   forward:  y[r,c]  = keep_e ? act(x[r,c] + b[c]) · s : 0
//!                  backward: dx[r,c] = keep_e · act'(·) · s · dy[r,c]
//!                            db[c]   = Σ_r dx[r,c]   (rows in order, from 0)
//! ResidualDropout  forward:  y[r,c]  = res[r,c] + (keep_e ? (x[r,c] + b[c]) · s : 0)
//!                  backward: dres = dy; dx and db as BiasActDropout with act = identity
//! ```
//!
//! `act ∈ {identity, ReLU}`. The ReLU derivative is read from the forward
//! output: a kept element has `y = relu(z) · s` with `s ≥ 1`, so `y > 0 ⇔ z > 0`,
//! and a dropped one has zero gradient anyway — so backward needs `y` (which the
//! next layer keeps anyway), never the pre-activation, and no stored mask.
//! Eval mode and `p = 0` run the same pass with every element kept and `s = 1`.
//!
//! The bias gradient sums each column over the rows in row order: parallel
//! tasks own whole columns, so the sum (and every bit of it) does not depend
//! on the thread count.

use crate::error::{check_len, check_shape, DropoutError};
use crate::philox::MaskKey;
use crate::rule::{Dropout, Mode, Plan};
use crate::simd;
use crate::tiles::{for_each_tile, par_chunks, Bits, Shared, CHUNK};

/// The activation inside a fused kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Act {
    /// `act(z) = z`.
    Identity,
    /// `act(z) = z > 0 ? z : 0` (NaN → 0).
    Relu,
}

/// One fused `dropout(act(x + bias))` call site.
#[derive(Clone, Copy, Debug)]
pub struct BiasActDropout {
    /// The dropout rate.
    pub dropout: Dropout,
    /// Where the mask comes from.
    pub key: MaskKey,
    /// Train or eval.
    pub mode: Mode,
    /// The activation.
    pub act: Act,
    /// Rows (samples).
    pub rows: usize,
    /// Columns (features); the bias has this many entries.
    pub cols: usize,
}

/// One fused `residual + dropout(x + bias)` call site.
#[derive(Clone, Copy, Debug)]
pub struct ResidualDropout {
    /// The dropout rate.
    pub dropout: Dropout,
    /// Where the mask comes from.
    pub key: MaskKey,
    /// Train or eval.
    pub mode: Mode,
    /// Rows (samples).
    pub rows: usize,
    /// Columns (features); the bias has this many entries.
    pub cols: usize,
}

/// The keep bits and scale of a fused call.
pub(crate) fn bits_and_scale(d: &Dropout, key: MaskKey, mode: Mode) -> (Bits<'static>, f32) {
    match d.plan(mode) {
        Plan::Identity => (Bits::AllKeep, 1.0),
        Plan::DropAll => (Bits::AllDrop, 0.0),
        Plan::Threshold { t, s } => (Bits::Philox { key, t }, s),
    }
}

/// Rows per parallel task so a task covers about [`CHUNK`] elements.
fn rows_per_task(cols: usize) -> usize {
    (CHUNK / cols.max(1)).max(1)
}

impl BiasActDropout {
    fn check(&self, what: &'static str, len: usize, bias: usize) -> Result<(), DropoutError> {
        check_shape(what, len, self.rows, self.cols)?;
        check_len("bias", bias, self.cols)
    }

    /// `y = dropout(act(x + bias))`.
    ///
    /// # Errors
    /// [`DropoutError::ShapeMismatch`] if `x` or `y` is not `rows × cols`,
    /// [`DropoutError::LengthMismatch`] if `bias` is not `cols` long.
    pub fn forward(&self, x: &[f32], bias: &[f32], y: &mut [f32]) -> Result<(), DropoutError> {
        self.check("input", x.len(), bias.len())?;
        check_shape("output", y.len(), self.rows, self.cols)?;
        // SAFETY: shapes checked; x and y are distinct.
        unsafe { self.forward_raw(x.as_ptr(), bias, y.as_mut_ptr()) };
        Ok(())
    }

    /// In-place forward: `xy ← dropout(act(xy + bias))`.
    ///
    /// # Errors
    /// As [`forward`](Self::forward).
    pub fn forward_inplace(&self, xy: &mut [f32], bias: &[f32]) -> Result<(), DropoutError> {
        self.check("input", xy.len(), bias.len())?;
        let p = xy.as_mut_ptr();
        // SAFETY: in place; each element is read before it is written.
        unsafe { self.forward_raw(p, bias, p) };
        Ok(())
    }

    /// # Safety
    /// Shapes checked; `x`, `y` hold rows × cols elements, equal or disjoint.
    unsafe fn forward_raw(&self, x: *const f32, bias: &[f32], y: *mut f32) {
        let (bits, s) = bits_and_scale(&self.dropout, self.key, self.mode);
        let backend = self.dropout.backend();
        let (cols, relu) = (self.cols, self.act == Act::Relu);
        let (xs, ys) = (Shared(x.cast_mut()), Shared(y));
        let per = rows_per_task(cols);
        par_chunks(self.rows, per, |r0, nr| {
            for r in r0..r0 + nr {
                let row = r * cols;
                for_each_tile(backend, &bits, row as u64, cols, |o, l, b| {
                    // SAFETY: row r belongs to this task; bias has cols entries.
                    unsafe {
                        let (xp, yp) = (xs.at(row + o), ys.at(row + o));
                        simd::bias_act(backend, xp, bias.as_ptr().add(o), yp, l, b, s, relu)
                    }
                });
            }
        });
    }

    /// `dx = act'(·) · mask · s · dy`, `dbias = Σ_rows dx` (overwritten).
    /// `y` is this call's forward output (read only for ReLU).
    ///
    /// # Errors
    /// [`DropoutError::ShapeMismatch`] / [`DropoutError::LengthMismatch`] on
    /// any buffer of the wrong size.
    pub fn backward(
        &self,
        y: &[f32],
        dy: &[f32],
        dx: &mut [f32],
        dbias: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.check("forward output", y.len(), dbias.len())?;
        check_shape("gradient", dy.len(), self.rows, self.cols)?;
        check_shape("input gradient", dx.len(), self.rows, self.cols)?;
        // SAFETY: shapes checked; dy and dx are distinct.
        unsafe { self.backward_raw(y, dy.as_ptr(), dx.as_mut_ptr(), dbias) };
        Ok(())
    }

    /// In-place backward: `g ← act'(·) · mask · s · g`, `dbias = Σ_rows g`.
    ///
    /// # Errors
    /// As [`backward`](Self::backward).
    pub fn backward_inplace(
        &self,
        y: &[f32],
        g: &mut [f32],
        dbias: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.check("forward output", y.len(), dbias.len())?;
        check_shape("gradient", g.len(), self.rows, self.cols)?;
        let p = g.as_mut_ptr();
        // SAFETY: in place; each element is read before it is written.
        unsafe { self.backward_raw(y, p, p, dbias) };
        Ok(())
    }

    /// # Safety
    /// Shapes checked; `dy`, `dx` hold rows × cols elements, equal or disjoint.
    unsafe fn backward_raw(&self, y: &[f32], dy: *const f32, dx: *mut f32, dbias: &mut [f32]) {
        let (bits, s) = bits_and_scale(&self.dropout, self.key, self.mode);
        let backend = self.dropout.backend();
        let (rows, cols, relu) = (self.rows, self.cols, self.act == Act::Relu);
        dbias.fill(0.0);
        // Tasks own column blocks (all rows), so each column is summed by one
        // task in row order, whatever the thread count.
        let width = if rows * cols <= CHUNK {
            cols
        } else {
            cols.div_ceil(4).next_multiple_of(16).min(cols)
        };
        let (dys, dxs, dbs) = (
            Shared(dy.cast_mut()),
            Shared(dx),
            Shared(dbias.as_mut_ptr()),
        );
        par_chunks(cols, width.max(1), |c0, nc| {
            for r in 0..rows {
                let at = r * cols + c0;
                for_each_tile(backend, &bits, at as u64, nc, |o, l, b| {
                    // SAFETY: columns [c0, c0 + nc) of every row, and those
                    // bias entries, belong to this task alone.
                    unsafe {
                        simd::grad(
                            backend,
                            y.as_ptr().add(at + o),
                            dys.at(at + o),
                            dxs.at(at + o),
                            dbs.at(c0 + o),
                            l,
                            b,
                            s,
                            relu,
                        )
                    }
                });
            }
        });
    }
}

impl ResidualDropout {
    /// `y = residual + dropout(x + bias)`.
    ///
    /// # Errors
    /// [`DropoutError::ShapeMismatch`] if `x`, `residual` or `y` is not
    /// `rows × cols`; [`DropoutError::LengthMismatch`] if `bias` is not `cols` long.
    pub fn forward(
        &self,
        x: &[f32],
        bias: &[f32],
        residual: &[f32],
        y: &mut [f32],
    ) -> Result<(), DropoutError> {
        check_shape("input", x.len(), self.rows, self.cols)?;
        check_shape("residual", residual.len(), self.rows, self.cols)?;
        check_shape("output", y.len(), self.rows, self.cols)?;
        check_len("bias", bias.len(), self.cols)?;
        let (bits, s) = bits_and_scale(&self.dropout, self.key, self.mode);
        let backend = self.dropout.backend();
        let cols = self.cols;
        let ys = Shared(y.as_mut_ptr());
        par_chunks(self.rows, rows_per_task(cols), |r0, nr| {
            for r in r0..r0 + nr {
                let row = r * cols;
                for_each_tile(backend, &bits, row as u64, cols, |o, l, b| {
                    // SAFETY: row r of y belongs to this task; the inputs are
                    // read-only and checked to be rows × cols.
                    unsafe {
                        simd::residual(
                            backend,
                            x.as_ptr().add(row + o),
                            bias.as_ptr().add(o),
                            residual.as_ptr().add(row + o),
                            ys.at(row + o),
                            l,
                            b,
                            s,
                        )
                    }
                });
            }
        });
        Ok(())
    }

    /// `dx = mask · s · dy`, `dbias = Σ_rows dx`; the residual's gradient is
    /// `dy` itself.
    ///
    /// # Errors
    /// As [`BiasActDropout::backward`].
    pub fn backward(
        &self,
        dy: &[f32],
        dx: &mut [f32],
        dbias: &mut [f32],
    ) -> Result<(), DropoutError> {
        self.as_bias_act().backward(dy, dy, dx, dbias)
    }

    /// The same site seen as `dropout(identity(x + bias))`.
    fn as_bias_act(&self) -> BiasActDropout {
        BiasActDropout {
            dropout: self.dropout,
            key: self.key,
            mode: self.mode,
            act: Act::Identity,
            rows: self.rows,
            cols: self.cols,
        }
    }
}
