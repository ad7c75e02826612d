//! Seeded weight initialisation. For a weight with fan-in `a` and fan-out `b`:
//!
//! ```text
//! He (Kaiming) normal:  w ~ N(0, 2/a)            (ReLU; He et al. 2015)
//! Xavier (Glorot) unif: w ~ U(−√(6/(a+b)), √(6/(a+b)))   (tanh/sigmoid; Glorot & Bengio 2010)
//! LeCun normal:         w ~ N(0, 1/a)            (SELU; Klambauer et al. 2017)
//! ```
//! Biases start at 0; normalisation scales at 1.

use crate::rng::Rng;

/// An initialisation scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// He normal.
    He,
    /// Xavier uniform.
    Xavier,
    /// LeCun normal.
    Lecun,
}

impl Init {
    /// Fill `w` for fan-in `a`, fan-out `b`.
    pub fn fill(self, w: &mut [f32], a: usize, b: usize, rng: &mut Rng) {
        let (a, b) = (a.max(1) as f64, b.max(1) as f64);
        match self {
            Self::He => w
                .iter_mut()
                .for_each(|v| *v = (rng.normal() * (2.0 / a).sqrt()) as f32),
            Self::Lecun => w
                .iter_mut()
                .for_each(|v| *v = (rng.normal() * (1.0 / a).sqrt()) as f32),
            Self::Xavier => {
                let r = (6.0 / (a + b)).sqrt();
                w.iter_mut()
                    .for_each(|v| *v = ((2.0 * rng.uniform() - 1.0) * r) as f32);
            }
        }
    }
}
