//! The shape argument of the family's shape-aware calls
//! ([`Variant::forward_shaped`](crate::Variant::forward_shaped)): the data's
//! dimensions and, for the broadcast forms, a noise shape.
//!
//! ```text
//! data (d_0, …, d_{k-1}), row-major; element count n = Π d_i
//! noise None:                one draw per element (element-wise variants), or the
//!                            variant's own layout: DropPath one per row (d_0 rows of
//!                            Π_{i≥1} d_i), DropBlock one per block corner of (N, C, H, W)
//! noise (n_0, …, n_{k-1}):   n_i ∈ {d_i, 1}; element i takes the draw of its index in the
//!                            noise shape (crate::broadcast), e.g. (N, C, 1, 1) spatial,
//!                            (1, N, D) locked over (T, N, D)
//! ```
//! A 0-d shape (`dims = []`) is one element (and, for DropPath, one row).
//!
//! ```
//! use dropout::Shape;
//! let s = Shape::new(&[2, 3, 4]).with_noise(&[2, 3, 1]);
//! assert_eq!(s.len(), Some(24));
//! assert_eq!(s.rows_cols(), Some((2, 12)));
//! ```

use crate::error::DropoutError;

/// Data dimensions and an optional noise shape (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape<'a> {
    /// The data's dimensions, row-major.
    pub dims: &'a [usize],
    /// The noise shape of a broadcast call (`None`: the variant's own layout).
    pub noise: Option<&'a [usize]>,
}

impl<'a> Shape<'a> {
    /// Data of `dims`, no noise shape.
    pub fn new(dims: &'a [usize]) -> Self {
        Self { dims, noise: None }
    }

    /// The same data with a broadcast noise shape.
    pub fn with_noise(self, noise: &'a [usize]) -> Self {
        Self {
            noise: Some(noise),
            ..self
        }
    }

    /// The element count `Π dims`, or `None` when it overflows.
    pub fn len(&self) -> Option<usize> {
        self.dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
    }

    /// Whether the data holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The error for a shape whose element count overflows.
    pub(crate) fn too_large(&self) -> DropoutError {
        DropoutError::TooLarge {
            shape: self.dims.to_vec(),
        }
    }

    /// Rows (the first dimension; 1 for a 0-d shape) and columns (the
    /// product of the others), or `None` when that overflows.
    pub fn rows_cols(&self) -> Option<(usize, usize)> {
        match self.dims.split_first() {
            Some((&rows, rest)) => Some((
                rows,
                rest.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?,
            )),
            None => Some((1, 1)),
        }
    }
}
