//! # dropout — exact, reproducible, mask-free dropout kernels
//!
//! Dropout zeroes each activation with probability `p` during training and
//! scales the survivors by `s = 1/(1 − p)`, so `E[h'] = (1 − p) · s · h = h` and
//! the test-time network is the plain one (Srivastava et al., JMLR 2014, with
//! the "inverted" scaling).
//!
//! What this crate promises (docs/src/design.md §3):
//!
//! * **Exact keep probability.** Element `e` is dropped iff its Philox4x32-10
//!   word `r_e < t = round(p · 2^32)`: `|P(drop) − p| ≤ 2^-33`.
//! * **Reproducible masks.** The mask is a pure function of
//!   `(seed, stream, step, element index)` ([`MaskKey`]): the same on 1 or N
//!   threads, with any chunking, SIMD width or CPU.
//! * **Mask-free backward.** Backward regenerates the mask from the key;
//!   nothing is stored. A 1-bit [`PackedMask`] is opt-in.
//! * **Fast.** Philox and masked multiplies in AVX-512 or AVX2 (picked at run
//!   time, [`Backend`]), rayon over fixed-size chunks; a scalar [`reference`](mod@reference)
//!   beside them, equal bit for bit.
//! * **Typed errors.** A bad `p`, mismatched lengths or shapes are a
//!   [`DropoutError`], never a panic.
//!
//! Variants: plain ([`Dropout::forward`]), broadcast/noise-shape masks for
//! spatial and locked dropout ([`Dropout::forward_broadcast`]), AlphaDropout
//! and FeatureAlphaDropout for SELU nets ([`AlphaDropout`]), DropBlock for
//! feature maps ([`DropBlock`]), DropPath / stochastic depth for residual
//! branches ([`DropPath`]), DropHead for attention heads ([`DropHead`]), attention-probability dropout fused with the softmax ([`AttentionDropout`]), Concrete dropout with a learned rate
//! ([`ConcreteDropout`]), multiplicative Gaussian dropout and additive
//! Gaussian noise with normals from the same Philox key ([`GaussianDropout`],
//! [`GaussianNoise`], [`normal`]), and the fused
//! engine kernels `dropout(act(x + b))` ([`BiasActDropout`]) and
//! `residual + dropout(x + b)` ([`ResidualDropout`]).
//!
//! One interface for the family: a [`Variant`] (built from a [`VariantKind`]
//! and a rate) is any member, with uniform calls — `forward` / `backward`
//! with the data's [`Shape`] (and a noise shape for the broadcast forms) for
//! every member, `forward_at` / `backward_at` at a mask offset for the
//! element-wise ones — so the engine, `bench kernel`, the candle op and the
//! Python package dispatch on it once.
//!
//! ```
//! use dropout::{Dropout, MaskKey, Mode};
//! let d = Dropout::new(0.3)?;
//! let key = MaskKey { seed: 1234, stream: 0, step: 17 };
//! let mut h = vec![1.0f32; 8];
//! d.forward_inplace(key, Mode::Train, &mut h);
//! let s = 1.0 / 0.7f64;
//! assert!(h.iter().all(|&v| v == 0.0 || v == s as f32));
//! // Eval mode is the identity.
//! let mut e = vec![3.0f32; 8];
//! d.forward_inplace(key, Mode::Eval, &mut e);
//! assert_eq!(e, vec![3.0; 8]);
//! # Ok::<(), dropout::DropoutError>(())
//! ```

mod alpha;
mod attention;
mod broadcast;
pub mod concrete;
mod dropblock;
mod drophead;
mod droppath;
mod error;
pub mod fastmath;
mod fused;
mod gaussian;
mod gaussian_broadcast;
mod kernels;
pub mod normal;
mod packed;
pub mod philox;
pub mod reference;
mod rule;
mod shape;
mod simd;
mod tiles;
mod variant;
pub mod wide;

pub use alpha::{AlphaDropout, SELU_SATURATION};
pub use attention::AttentionDropout;
pub use broadcast::MAX_DIMS;
pub use concrete::{ConcreteDropout, DEFAULT_TEMPERATURE};
pub use dropblock::{DropBlock, DEFAULT_BLOCK};
pub use drophead::DropHead;
pub use droppath::{depth_rate, DropPath, PathScope};
pub use error::DropoutError;
pub use fused::{Act, BiasActDropout, ResidualDropout};
pub use gaussian::{GaussianDropout, GaussianNoise};
pub use packed::PackedMask;
pub use philox::MaskKey;
pub use rule::{Dropout, Mode};
pub use shape::Shape;
pub use simd::Backend;
pub use variant::{Layout, Pass, Variant, VariantKind};

/// The README's Rust examples run as doctests, so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

/// The book's library chapter's Rust examples run as doctests too.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/src/library.md")]
struct LibraryChapterDoctests;
