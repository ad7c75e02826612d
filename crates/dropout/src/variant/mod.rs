//! One interface for the dropout family: a [`Variant`] is any member, built
//! from a [`VariantKind`] and a rate and validated once; every member takes
//! the same key `(seed, stream, step)` and the same calls, so a front end
//! (the engine's layer, `bench kernel`, the candle op, the Python package)
//! dispatches on it once instead of matching every member by hand.
//!
//! ```text
//! kind      forward y                                  backward dx                 one draw per
//! plain     keep ? x·s : 0,  s = 1/(1 − p)             keep ? dy·s : 0             element
//! alpha     keep ? x·a + b : aα' + b                   keep ? dy·a : 0             element
//! gaussian  x·(1 + σz),  σ² = p/(1 − p)                dy·(1 + σz)                 element
//! noise     x + σz,      σ² = p/(1 − p)                dy (key taken, ignored)     element
//! concrete  x·(1 − z)/(1 − p), z relaxed at τ          dy·(1 − z)/(1 − p)          element
//! block     dropped ? 0 : x·numel/kept                 the same map on dy          block corner of (N, C, H, W)
//! path      keep(n) ? x[n, :]·s : 0                    the same map on dy          row n (first axis)
//! head      keep(n, h) ? x[n, h, …]·s : 0              the same map on dy          head h of sample n
//! ```
//! Each map's equations and sources are in its own file (`rule.rs`,
//! `alpha.rs`, `gaussian.rs`, `concrete.rs`, `dropblock.rs`, `droppath.rs`, `drophead.rs`).
//! This file names the members and builds a validated [`Variant`] (rate,
//! settings: τ = [`DEFAULT_TEMPERATURE`], block b = [`DEFAULT_BLOCK`],
//! DropPath per sample unless a `with_*` says otherwise); `calls.rs` holds
//! the calls, all with `(key, mode)`: `forward` / `backward` with a
//! [`Shape`] for every member, `forward_at` / `backward_at` at a mask offset
//! for the element-wise ones.
//!
//! DropPath here is timm's `drop_path(x)`, the branch alone; the residual
//! sum `r + drop_path(b)` in one pass is [`DropPath::forward`]. Concrete
//! dropout's `∂L/∂p` is [`ConcreteDropout::backward_at`].
//!
//! ```
//! use dropout::{MaskKey, Mode, Shape, Variant, VariantKind};
//! let key = MaskKey::new(1, 0, 0);
//! let x = vec![1.0f32; 2 * 3 * 4 * 4];
//! let mut y = vec![0.0; x.len()];
//! for kind in VariantKind::ALL {
//!     let v = Variant::new(kind, 0.3)?;
//!     v.forward(key, Mode::Train, Shape::new(&[2, 3, 4, 4]), &x, &mut y)?;
//! }
//! let spatial = Shape::new(&[2, 3, 4, 4]).with_noise(&[2, 3, 1, 1]);
//! "alpha".parse::<VariantKind>().and_then(|k| Variant::new(k, 0.3))?
//!     .forward(key, Mode::Train, spatial, &x, &mut y)?; // FeatureAlphaDropout
//! assert!(Variant::new(VariantKind::Block, 0.3)?.forward_at(key, Mode::Train, 0, &x, &mut y).is_err());
//! # Ok::<(), dropout::DropoutError>(())
//! ```

mod calls;

use std::fmt;
use std::str::FromStr;

use crate::concrete::DEFAULT_TEMPERATURE;
use crate::dropblock::DEFAULT_BLOCK;
use crate::error::DropoutError;
#[cfg(doc)]
use crate::shape::Shape;
use crate::simd::Backend;
use crate::{
    AlphaDropout, ConcreteDropout, DropBlock, DropHead, DropPath, Dropout, GaussianDropout,
    GaussianNoise, PathScope,
};

/// The members of the family, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VariantKind {
    /// Inverted dropout.
    Plain,
    /// AlphaDropout (FeatureAlphaDropout with a noise shape).
    Alpha,
    /// Multiplicative Gaussian dropout.
    Gaussian,
    /// Additive Gaussian noise.
    Noise,
    /// Concrete dropout at a given rate.
    Concrete,
    /// DropBlock.
    Block,
    /// DropPath (stochastic depth), the branch alone.
    Path,
    /// DropHead: whole attention heads of a sample.
    Head,
}

/// What one draw of a variant covers, so what data a call needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// One draw per element: any shape, offset calls, noise shapes.
    Elements,
    /// One draw per row (the first axis: a sample).
    Rows,
    /// One draw per block corner of `(N, C, H, W)` feature maps.
    Maps,
    /// One draw per head of a sample: the first two axes of `(N, H, …)`.
    Heads,
}

/// Which map a call applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pass {
    /// `y = f(x)`.
    Forward,
    /// `dx = f'(·)ᵀ dy`, the draws recomputed from the key.
    Backward,
}

impl VariantKind {
    /// Every member, in the order of the table above.
    pub const ALL: [VariantKind; 8] = [
        Self::Plain,
        Self::Alpha,
        Self::Gaussian,
        Self::Noise,
        Self::Concrete,
        Self::Block,
        Self::Path,
        Self::Head,
    ];

    /// The names [`FromStr`] takes, for messages.
    const NAMES: &'static str = "plain, alpha, gaussian, noise, concrete, block, path or head";

    /// Its name (what [`FromStr`] parses): `plain`, `alpha`, …
    pub fn name(self) -> &'static str {
        self.about().0
    }

    /// Its title: `Dropout`, `AlphaDropout`, …
    pub fn title(self) -> &'static str {
        self.about().1
    }

    /// One line: what it does and its source.
    pub fn summary(self) -> &'static str {
        self.about().2
    }

    /// What one draw covers.
    pub fn layout(self) -> Layout {
        match self {
            Self::Block => Layout::Maps,
            Self::Path => Layout::Rows,
            Self::Head => Layout::Heads,
            _ => Layout::Elements,
        }
    }

    fn about(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Plain => ("plain", "Dropout", "Inverted dropout: dropped → 0, kept → x/(1 − p) (Srivastava et al. 2014)"),
            Self::Alpha => ("alpha", "AlphaDropout", "AlphaDropout for SELU nets: dropped → SELU's saturation, then an affine map keeping mean and variance (Klambauer et al. 2017)"),
            Self::Gaussian => ("gaussian", "GaussianDropout", "Gaussian dropout x·(1 + σz), σ² = p/(1 − p) (Srivastava et al. 2014, §10); p < 1"),
            Self::Noise => ("noise", "GaussianNoise", "Additive Gaussian noise x + σz with σ² = p/(1 − p); p < 1"),
            Self::Concrete => ("concrete", "ConcreteDropout", "Concrete dropout x·(1 − z)/(1 − p), z a relaxed Bernoulli(p) at τ 0.1 (Gal, Hron & Kendall 2017); 0 < p < 1"),
            Self::Block => ("block", "DropBlock", "DropBlock: 3 × 3 blocks of (N, C, H, W) maps dropped, the rest rescaled by the kept share (Ghiasi et al. 2018)"),
            Self::Path => ("path", "DropPath", "DropPath / stochastic depth: each row (sample) kept × 1/(1 − p) or zeroed (Huang et al. 2016)"),
            Self::Head => ("head", "DropHead", "DropHead: whole attention heads of a sample, (N, H, …), kept × 1/(1 − p) or zeroed (Zhou et al. 2020)"),
        }
    }
}

impl Layout {
    /// What one draw covers, in words.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Elements => "element",
            Self::Rows => "row (sample, the first axis)",
            Self::Maps => "block corner of each (N, C, H, W) map",
            Self::Heads => "head of a sample (the first two axes of (N, H, …))",
        }
    }
}

impl fmt::Display for VariantKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for VariantKind {
    type Err = DropoutError;

    fn from_str(s: &str) -> Result<Self, DropoutError> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| DropoutError::UnknownName {
                what: "dropout variant",
                got: s.to_string(),
                expected: Self::NAMES,
            })
    }
}

/// A validated member of the family and its rate (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Variant {
    p: f32,
    map: Map,
}

/// The member's own validated type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Map {
    Plain(Dropout),
    Alpha(AlphaDropout),
    Gaussian(GaussianDropout),
    Noise(GaussianNoise),
    Concrete(ConcreteDropout),
    Block(DropBlock),
    Path(DropPath),
    Head(DropHead),
}

impl Variant {
    /// `kind` at rate `p`, with the defaults of the module docs.
    ///
    /// # Errors
    /// The member's own: [`DropoutError::InvalidProbability`] (p outside [0, 1]),
    /// [`DropoutError::GaussianRate`] (gaussian, noise: p ≥ 1),
    /// [`DropoutError::OpenProbability`] (concrete: p ∉ (0, 1)).
    pub fn new(kind: VariantKind, p: f32) -> Result<Self, DropoutError> {
        let map = match kind {
            VariantKind::Plain => Map::Plain(Dropout::new(p)?),
            VariantKind::Alpha => Map::Alpha(AlphaDropout::new(p)?),
            VariantKind::Gaussian => Map::Gaussian(GaussianDropout::new(p)?),
            VariantKind::Noise => Map::Noise(GaussianNoise::new(GaussianDropout::new(p)?.sigma())?),
            VariantKind::Concrete => {
                ConcreteDropout::check_p(p)?;
                Map::Concrete(ConcreteDropout::new(DEFAULT_TEMPERATURE)?)
            }
            VariantKind::Block => Map::Block(DropBlock::new(p, DEFAULT_BLOCK)?),
            VariantKind::Path => Map::Path(DropPath::new(p, PathScope::Sample)?),
            VariantKind::Head => Map::Head(DropHead::new(p)?),
        };
        Ok(Self { p, map })
    }

    /// The same variant, settings and backend at rate `p` (a schedule's rate).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_p(self, p: f32) -> Result<Self, DropoutError> {
        let map = match self.map {
            Map::Plain(d) => Map::Plain(Dropout::new(p)?.with_backend(d.backend())?),
            Map::Alpha(d) => Map::Alpha(AlphaDropout::new(p)?.with_backend(d.rule().backend())?),
            Map::Gaussian(d) => Map::Gaussian(GaussianDropout::new(p)?.with_backend(d.backend())?),
            Map::Noise(d) => Map::Noise(
                GaussianNoise::new(GaussianDropout::new(p)?.sigma())?.with_backend(d.backend())?,
            ),
            Map::Concrete(c) => ConcreteDropout::check_p(p).map(|()| Map::Concrete(c))?,
            Map::Block(b) => Map::Block(DropBlock::new(p, b.block())?),
            Map::Path(d) => Map::Path(DropPath::new(p, d.scope())?.with_group(d.group())),
            Map::Head(d) => Map::Head(DropHead::new(p)?.with_backend(d.rule().backend())?),
        };
        Ok(Self { p, map })
    }

    /// DropBlock with `block × block` blocks.
    ///
    /// # Errors
    /// [`DropoutError::ZeroBlock`]; [`DropoutError::NoSetting`] for another kind.
    pub fn with_block(self, block: usize) -> Result<Self, DropoutError> {
        match self.map {
            Map::Block(_) => Ok(Self {
                map: Map::Block(DropBlock::new(self.p, block)?),
                ..self
            }),
            _ => Err(self.no_setting("block size", VariantKind::Block)),
        }
    }

    /// DropPath with one coin per sample or per batch.
    ///
    /// # Errors
    /// [`DropoutError::NoSetting`] for another kind.
    pub fn with_scope(self, scope: PathScope) -> Result<Self, DropoutError> {
        match self.map {
            Map::Path(d) => Ok(Self {
                map: Map::Path(DropPath::new(self.p, scope)?.with_group(d.group())),
                ..self
            }),
            _ => Err(self.no_setting("scope", VariantKind::Path)),
        }
    }

    /// DropPath with blocks of `g` rows sharing a coin ([`DropPath::with_group`]).
    ///
    /// # Errors
    /// [`DropoutError::NoSetting`] for another kind.
    pub fn with_group(self, g: usize) -> Result<Self, DropoutError> {
        match self.map {
            Map::Path(d) => Ok(Self {
                map: Map::Path(d.with_group(g)),
                ..self
            }),
            _ => Err(self.no_setting("row group", VariantKind::Path)),
        }
    }

    /// Concrete dropout at temperature `tau`.
    ///
    /// # Errors
    /// [`DropoutError::InvalidTemperature`]; [`DropoutError::NoSetting`] for another kind.
    pub fn with_temperature(self, tau: f32) -> Result<Self, DropoutError> {
        match self.map {
            Map::Concrete(_) => Ok(Self {
                map: Map::Concrete(ConcreteDropout::new(tau)?),
                ..self
            }),
            _ => Err(self.no_setting("temperature", VariantKind::Concrete)),
        }
    }

    /// The same on a chosen kernel backend (the output does not depend on
    /// it); members without a backend choice ([`backend`](Self::backend))
    /// are unchanged.
    ///
    /// # Errors
    /// [`DropoutError::UnsupportedBackend`] if this CPU cannot run it.
    pub fn with_backend(self, backend: Backend) -> Result<Self, DropoutError> {
        let map = match self.map {
            Map::Plain(d) => Map::Plain(d.with_backend(backend)?),
            Map::Alpha(d) => Map::Alpha(d.with_backend(backend)?),
            Map::Gaussian(d) => Map::Gaussian(d.with_backend(backend)?),
            Map::Noise(d) => Map::Noise(d.with_backend(backend)?),
            Map::Head(d) => Map::Head(d.with_backend(backend)?),
            other if backend.is_supported() => other,
            _ => {
                return Err(DropoutError::UnsupportedBackend {
                    backend: backend.name(),
                })
            }
        };
        Ok(Self { map, ..self })
    }

    /// Which member.
    pub fn kind(&self) -> VariantKind {
        match self.map {
            Map::Plain(_) => VariantKind::Plain,
            Map::Alpha(_) => VariantKind::Alpha,
            Map::Gaussian(_) => VariantKind::Gaussian,
            Map::Noise(_) => VariantKind::Noise,
            Map::Concrete(_) => VariantKind::Concrete,
            Map::Block(_) => VariantKind::Block,
            Map::Path(_) => VariantKind::Path,
            Map::Head(_) => VariantKind::Head,
        }
    }

    /// The rate.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// What one draw covers.
    pub fn layout(&self) -> Layout {
        self.kind().layout()
    }

    /// DropBlock's block size.
    pub fn block(&self) -> Option<usize> {
        match self.map {
            Map::Block(b) => Some(b.block()),
            _ => None,
        }
    }

    /// DropPath's scope and rows per coin.
    pub fn scope(&self) -> Option<(PathScope, usize)> {
        match self.map {
            Map::Path(d) => Some((d.scope(), d.group())),
            _ => None,
        }
    }

    /// Concrete dropout's temperature.
    pub fn temperature(&self) -> Option<f32> {
        match self.map {
            Map::Concrete(c) => Some(c.temperature()),
            _ => None,
        }
    }

    /// The SIMD backend its kernels run on; `None` for DropBlock and
    /// DropPath, which are plain loops (Concrete dropout always runs the best).
    pub fn backend(&self) -> Option<Backend> {
        match self.map {
            Map::Plain(d) => Some(d.backend()),
            Map::Alpha(d) => Some(d.rule().backend()),
            Map::Gaussian(d) => Some(d.backend()),
            Map::Noise(d) => Some(d.backend()),
            Map::Concrete(_) => Some(Backend::best()),
            Map::Head(d) => Some(d.rule().backend()),
            Map::Block(_) | Map::Path(_) => None,
        }
    }

    /// The member's own type (for the reference).
    pub(crate) fn map(&self) -> Map {
        self.map
    }

    fn no_setting(&self, setting: &'static str, owner: VariantKind) -> DropoutError {
        DropoutError::NoSetting {
            variant: self.kind().title(),
            setting,
            owner: owner.title(),
        }
    }
}
