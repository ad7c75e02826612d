//! What building a model from its typed layers carries from layer to layer:
//! the layers built so far and the weight initialisation's numbering.
//!
//! ```text
//! weights of the k-th weight layer (k = 1, 2, … in layer order) ~ init, rng = Rng(seed ^ 0x1417 << 48).fork(k)
//! ```
//! Layers without weights (dropout, norm, activation, pool) do not shift the
//! numbering, so the same architecture gets the same initial weights with or
//! without them. A layer with two weight matrices (residual fc1 and fc2, an
//! RNN's input and recurrent weights) takes k and k + 1, in that order.

use crate::init::Init;
use crate::layer::Layer;
use crate::rng::Rng;

/// The model under construction.
pub(crate) struct Builder {
    rng: Rng,
    init: Init,
    weight_layer: u64,
    layers: Vec<Box<dyn Layer>>,
}

impl Builder {
    /// An empty model for run seed `seed`, weights drawn by `init`.
    pub(crate) fn new(seed: u64, init: Init) -> Self {
        Self {
            rng: Rng::new(seed ^ 0x1417_0000_0000_0000),
            init,
            weight_layer: 0,
            layers: Vec::new(),
        }
    }

    /// Initialise the next weight layer's `w` (fan-in `a`, fan-out `b`).
    pub(crate) fn fill(&mut self, w: &mut [f32], a: usize, b: usize) {
        self.weight_layer += 1;
        self.init
            .fill(w, a, b, &mut self.rng.fork(self.weight_layer));
    }

    /// Initialise the next weight tensor `w ~ N(0, std²)` (a Transformer's rule).
    pub(crate) fn fill_normal(&mut self, w: &mut [f32], std: f64) {
        self.weight_layer += 1;
        let mut rng = self.rng.fork(self.weight_layer);
        w.iter_mut().for_each(|v| *v = (rng.normal() * std) as f32);
    }

    /// Append a layer.
    pub(crate) fn push(&mut self, layer: Box<dyn Layer>) {
        self.layers.push(layer);
    }

    /// The layers, in order.
    pub(crate) fn into_layers(self) -> Vec<Box<dyn Layer>> {
        self.layers
    }
}
