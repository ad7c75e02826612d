//! A residual MLP block with DropPath (stochastic depth, Huang et al. 2016) —
//! the shape of a Transformer's MLP block:
//!
//! ```text
//! b = fc2(dropout(act(fc1(norm(x)))))        fc1: d → h,  fc2: h → d,  norm: LayerNorm/BatchNorm or none
//! y = x + drop_path(b)                        drop_path: the whole branch of a sample kept (× 1/(1 − p)) or not
//! ∂L/∂x = dy + ∂L/∂x through the branch, fed ∂L/∂b = keep ? dy · s : 0   (bits recomputed)
//! ```
//! The branch's layers are ordinary engine layers run in sequence; their
//! parameters are visited as `norm.*`, `fc1.*`, `fc2.*`. DropPath uses the
//! block's own stream; with MC masks shared by blocks of `g` rows
//! ([`Ctx::mc_group`]) row `n` takes the coin of `⌊n/g⌋`.

use dropout::{DropPath, PathScope};

use crate::error::EngineError;
use crate::layer::{Buffer, Ctx, Layer, Param};
use crate::tensor::Tensor;

/// A branch layer and the name its parameters get.
type Part = (&'static str, Box<dyn Layer>);

/// `y = x + drop_path(branch(x))`.
pub struct Residual {
    d: usize,
    h: usize,
    parts: Vec<Part>,
    path: DropPath,
    rate: f32,
    stream: u32,
    y: Tensor,
    db: Tensor,
    dx: Tensor,
}

impl Residual {
    /// A block over `d` features with hidden width `h`, branch `parts`
    /// (named `"norm"`, `"fc1"`, `"act"`, `"dropout"`, `"fc2"`), DropPath at
    /// rate `p` with `scope` at site `stream`.
    ///
    /// # Errors
    /// [`EngineError::Dropout`] if `p` is not in [0, 1].
    pub fn new(
        d: usize,
        h: usize,
        parts: Vec<Part>,
        p: f32,
        scope: PathScope,
        stream: u32,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            d,
            h,
            parts,
            path: DropPath::new(p, scope)?,
            rate: p,
            stream,
            y: Tensor::default(),
            db: Tensor::default(),
            dx: Tensor::default(),
        })
    }

    /// The DropPath rate.
    pub fn drop_path(&self) -> f32 {
        self.path.p()
    }
}

/// `"{part}.{name}"` for the names the engine's layers use.
fn qualified(part: &'static str, name: &'static str) -> &'static str {
    match (part, name) {
        ("norm", "weight") => "norm.weight",
        ("norm", "bias") => "norm.bias",
        ("norm", "running_mean") => "norm.running_mean",
        ("norm", "running_var") => "norm.running_var",
        ("fc1", "weight") => "fc1.weight",
        ("fc1", "bias") => "fc1.bias",
        ("fc2", "weight") => "fc2.weight",
        ("fc2", "bias") => "fc2.bias",
        _ => name,
    }
}

impl Layer for Residual {
    fn describe(&self) -> String {
        let inner: Vec<String> = self.parts.iter().map(|(_, l)| l.describe()).collect();
        let scope = match self.path.scope() {
            PathScope::Sample => "per sample",
            PathScope::Batch => "per batch",
        };
        format!(
            "Residual({} → {} → {}: {}; DropPath {} {scope})",
            self.d,
            self.h,
            self.d,
            inner.join(" → "),
            self.path.p()
        )
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        if input.iter().product::<usize>() != self.d {
            return Err(EngineError::Shape {
                layer: self.describe(),
                got: input.to_vec(),
                expected: format!("{} features (a residual block keeps its width)", self.d),
            });
        }
        let mut shape = input.to_vec();
        for (_, l) in &self.parts {
            shape = l.output_shape(&shape)?;
        }
        Ok(input.to_vec())
    }

    fn forward(&mut self, x: &Tensor, ctx: &Ctx) {
        for i in 0..self.parts.len() {
            let (before, rest) = self.parts.split_at_mut(i);
            let input = if i == 0 { x } else { before[i - 1].1.output() };
            rest[0].1.forward(input, ctx);
        }
        let b = self.parts.last().map_or(x, |(_, l)| l.output());
        self.y.resize(&x.shape);
        let rows = x.shape[0];
        let path = self.path.with_group(ctx.shared_rows().unwrap_or(1));
        path.forward(
            ctx.key(self.stream),
            ctx.dropout_mode(),
            rows,
            self.d,
            &x.data,
            &b.data,
            &mut self.y.data,
        )
        .expect("shapes checked at build time");
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, ctx: &Ctx, need_dx: bool) {
        let rows = x.shape[0];
        let path = self.path.with_group(ctx.shared_rows().unwrap_or(1));
        self.db.resize(&dy.shape);
        path.backward_branch(
            ctx.key(self.stream),
            ctx.dropout_mode(),
            rows,
            self.d,
            &dy.data,
            &mut self.db.data,
        )
        .expect("shapes checked at build time");
        let n = self.parts.len();
        for i in (0..n).rev() {
            let (before, rest) = self.parts.split_at_mut(i);
            let (cur, after) = rest.split_first_mut().expect("i < n");
            let input = if i == 0 { x } else { before[i - 1].1.output() };
            let g = if i + 1 == n {
                &mut self.db
            } else {
                after[0].1.input_grad()
            };
            cur.1.backward(input, g, ctx, i > 0 || need_dx);
        }
        if need_dx {
            self.dx.resize(&x.shape);
            let through = self.parts.first_mut().map(|(_, l)| l.input_grad());
            match through {
                Some(t) => {
                    for ((o, a), b) in self.dx.data.iter_mut().zip(&dy.data).zip(&t.data) {
                        *o = a + b;
                    }
                }
                None => self.dx.data.copy_from_slice(&dy.data),
            }
        }
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        for (part, l) in &mut self.parts {
            let part = *part;
            l.visit_params(&mut |p| {
                f(Param {
                    name: qualified(part, p.name),
                    ..p
                })
            });
        }
    }

    fn visit_buffers(&mut self, f: &mut dyn FnMut(Buffer<'_>)) {
        for (part, l) in &mut self.parts {
            let part = *part;
            l.visit_buffers(&mut |b| {
                f(Buffer {
                    name: qualified(part, b.name),
                    ..b
                })
            });
        }
    }

    fn set_dropout_factor(&mut self, factor: f32) {
        for (_, l) in &mut self.parts {
            l.set_dropout_factor(factor);
        }
        let p = (self.rate * factor).clamp(0.0, 1.0);
        self.path = DropPath::new(p, self.path.scope()).expect("a rate in [0, 1]");
    }
}
