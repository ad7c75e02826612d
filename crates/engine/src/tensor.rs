//! A row-major f32 buffer with a shape; `shape[0]` is the batch.
//!
//! [`Tensor::resize`] reuses the allocation: once a buffer has held its
//! largest batch, later steps allocate nothing.

/// Row-major data with its shape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tensor {
    /// The elements, row-major.
    pub data: Vec<f32>,
    /// The dimensions; `shape[0]` is the batch.
    pub shape: Vec<usize>,
}

impl Tensor {
    /// A zero tensor of `shape`.
    pub fn zeros(shape: &[usize]) -> Self {
        Self {
            data: vec![0.0; shape.iter().product()],
            shape: shape.to_vec(),
        }
    }

    /// A tensor from data and shape (`data.len()` must be the shape's product).
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Self {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Self {
            data,
            shape: shape.to_vec(),
        }
    }

    /// Take `shape`, keeping the allocation when it is large enough. The
    /// contents are unspecified afterwards.
    pub fn resize(&mut self, shape: &[usize]) {
        if self.shape != shape {
            self.shape.clear();
            self.shape.extend_from_slice(shape);
        }
        let n = shape.iter().product();
        if self.data.len() != n {
            self.data.resize(n, 0.0);
        }
    }

    /// The batch size `shape[0]`.
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// Elements per sample (product of `shape[1..]`).
    pub fn cols(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}
