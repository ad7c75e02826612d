//! 2-d convolution by im2col + GEMM.
//!
//! Input `(N, Ci, H, W)`, weights `(Co, Ci, k, k)` (PyTorch layout), stride
//! `s`, zero padding `p`, output `(N, Co, Ho, Wo)` with `Ho = (H + 2p − k)/s + 1`.
//!
//! ```text
//! cols[(n,oh,ow), (ci,kh,kw)] = x[n, ci, oh·s + kh − p, ow·s + kw − p]   (0 outside)
//! Z = cols · Wᵀ                           (N·Ho·Wo × Co)
//! y[n, co, oh, ow] = Z[(n,oh,ow), co] + b[co]
//! backward: dZ from dy;  db = Σ dZ;  dW = dZᵀ · cols;  dcols = dZ · W;  dx = col2im(dcols)
//! ```
//! Samples are independent in im2col, the transposes and col2im, so those run
//! in parallel without changing any sum; the bias gradient sums samples in order.
//! im2col and col2im read a tap table built once per input size:
//! `table[(oh,ow), (ci,kh,kw)]` = the input index, or `OUTSIDE` for padding.

use rayon::prelude::*;

use crate::error::EngineError;
use crate::layer::{Ctx, Dims, Layer, Param, ParamKind};
use crate::matmul::{matmul, Trans};
use crate::tensor::Tensor;
use crate::wide::wide;

/// A padding tap in the im2col table.
const OUTSIDE: usize = usize::MAX;

/// A 2-d convolution.
pub struct Conv2d {
    ci: usize,
    co: usize,
    k: usize,
    stride: usize,
    pad: usize,
    /// Weights `(Co, Ci, k, k)`.
    pub w: Vec<f32>,
    /// Bias `(Co)`.
    pub b: Vec<f32>,
    gw: Vec<f32>,
    gb: Vec<f32>,
    cols: Vec<f32>,
    z: Vec<f32>,
    y: Tensor,
    dx: Tensor,
    /// im2col taps for inputs of size `table_hw`.
    table: Vec<usize>,
    table_hw: (usize, usize),
}

/// Geometry of one call.
#[derive(Clone, Copy)]
struct Geo {
    h: usize,
    w: usize,
    ho: usize,
    wo: usize,
}

impl Conv2d {
    /// A `ci → co` convolution with a `k × k` kernel (zero weights; see [`crate::init`]).
    ///
    /// # Errors
    /// [`EngineError::ZeroSize`] for a zero size or stride.
    pub fn new(
        ci: usize,
        co: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Result<Self, EngineError> {
        if ci == 0 || co == 0 || k == 0 || stride == 0 {
            return Err(EngineError::ZeroSize {
                layer: format!("Conv2d({ci}→{co}, k{k}, stride {stride})"),
            });
        }
        let n = co * ci * k * k;
        Ok(Self {
            ci,
            co,
            k,
            stride,
            pad,
            w: vec![0.0; n],
            b: vec![0.0; co],
            gw: vec![0.0; n],
            gb: vec![0.0; co],
            cols: Vec::new(),
            z: Vec::new(),
            y: Tensor::default(),
            dx: Tensor::default(),
            table: Vec::new(),
            table_hw: (0, 0),
        })
    }

    fn geo(&self, h: usize, w: usize) -> Option<Geo> {
        let (hp, wp) = (h + 2 * self.pad, w + 2 * self.pad);
        if hp < self.k || wp < self.k {
            return None;
        }
        Some(Geo {
            h,
            w,
            ho: (hp - self.k) / self.stride + 1,
            wo: (wp - self.k) / self.stride + 1,
        })
    }

    fn kk(&self) -> usize {
        self.ci * self.k * self.k
    }

    /// Build the tap table for inputs of `g`'s size, unless it is already built.
    fn ensure_table(&mut self, g: Geo) {
        if self.table_hw == (g.h, g.w) && !self.table.is_empty() {
            return;
        }
        let kk = self.kk();
        let mut table = vec![OUTSIDE; g.ho * g.wo * kk];
        for oh in 0..g.ho {
            for ow in 0..g.wo {
                let row = &mut table[(oh * g.wo + ow) * kk..][..kk];
                self.taps(g, oh, ow, |j, i| row[j] = i.unwrap_or(OUTSIDE));
            }
        }
        self.table = table;
        self.table_hw = (g.h, g.w);
    }

    /// Visit `(col index, input index or None)` for one output pixel.
    #[inline]
    fn taps(&self, g: Geo, oh: usize, ow: usize, mut f: impl FnMut(usize, Option<usize>)) {
        let mut col = 0;
        for c in 0..self.ci {
            for kh in 0..self.k {
                let ih = (oh * self.stride + kh) as isize - self.pad as isize;
                for kw in 0..self.k {
                    let iw = (ow * self.stride + kw) as isize - self.pad as isize;
                    let inside = ih >= 0 && iw >= 0 && (ih as usize) < g.h && (iw as usize) < g.w;
                    f(
                        col,
                        inside.then(|| (c * g.h + ih as usize) * g.w + iw as usize),
                    );
                    col += 1;
                }
            }
        }
    }
}

impl Layer for Conv2d {
    fn describe(&self) -> String {
        format!(
            "Conv2d({}→{}, {}×{}, stride {}, pad {})",
            self.ci, self.co, self.k, self.k, self.stride, self.pad
        )
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, EngineError> {
        let bad = || {
            EngineError::Shape {
            layer: self.describe(),
            got: input.to_vec(),
            expected: format!(
                "images with {} channels (C × H × W) at least {} pixels high and wide after padding",
                self.ci, self.k
            ),
        }
        };
        if input.len() != 3 || input[0] != self.ci {
            return Err(bad());
        }
        let g = self.geo(input[1], input[2]).ok_or_else(bad)?;
        Ok(vec![self.co, g.ho, g.wo])
    }

    fn forward(&mut self, x: &Tensor, _ctx: &Ctx) {
        let n = x.rows();
        let g = self
            .geo(x.shape[2], x.shape[3])
            .expect("checked at build time");
        let (kk, hw, co) = (self.kk(), g.ho * g.wo, self.co);
        let in_sz = self.ci * g.h * g.w;
        self.ensure_table(g);
        let table = &self.table;
        self.cols.resize(n * hw * kk, 0.0);
        self.cols
            .par_chunks_mut(hw * kk)
            .enumerate()
            .for_each(|(s, c)| {
                wide(
                    #[inline(always)]
                    || {
                        let xs = &x.data[s * in_sz..(s + 1) * in_sz];
                        for (v, &t) in c.iter_mut().zip(table) {
                            *v = if t == OUTSIDE { 0.0 } else { xs[t] };
                        }
                    },
                )
            });
        self.z.resize(n * hw * co, 0.0);
        matmul(
            n * hw,
            kk,
            co,
            &self.cols,
            &self.w,
            &mut self.z,
            Trans { a: false, b: true },
            false,
        );
        self.y.resize(&[n, co, g.ho, g.wo]);
        let (z, b) = (&self.z, &self.b);
        self.y
            .data
            .par_chunks_mut(co * hw)
            .enumerate()
            .for_each(|(s, ys)| {
                wide(
                    #[inline(always)]
                    || {
                        let zs = &z[s * hw * co..(s + 1) * hw * co];
                        for c in 0..co {
                            for p in 0..hw {
                                ys[c * hw + p] = zs[p * co + c] + b[c];
                            }
                        }
                    },
                )
            });
    }

    fn output(&self) -> &Tensor {
        &self.y
    }

    fn backward(&mut self, x: &Tensor, dy: &mut Tensor, _ctx: &Ctx, need_dx: bool) {
        let n = x.rows();
        let g = self
            .geo(x.shape[2], x.shape[3])
            .expect("checked at build time");
        let (kk, hw, co) = (self.kk(), g.ho * g.wo, self.co);
        // dZ (N·HW × Co) into the z buffer.
        let z = &mut self.z;
        z.par_chunks_mut(hw * co).enumerate().for_each(|(s, zs)| {
            wide(
                #[inline(always)]
                || {
                    let ds = &dy.data[s * co * hw..(s + 1) * co * hw];
                    for c in 0..co {
                        for p in 0..hw {
                            zs[p * co + c] = ds[c * hw + p];
                        }
                    }
                },
            )
        });
        self.gb.fill(0.0);
        for s in 0..n {
            for c in 0..co {
                self.gb[c] += dy.data[(s * co + c) * hw..(s * co + c + 1) * hw]
                    .iter()
                    .sum::<f32>();
            }
        }
        matmul(
            co,
            n * hw,
            kk,
            &self.z,
            &self.cols,
            &mut self.gw,
            Trans { a: true, b: false },
            false,
        );
        if !need_dx {
            return;
        }
        // dcols (N·HW × kk) reuses the cols buffer.
        let mut dcols = std::mem::take(&mut self.cols);
        matmul(
            n * hw,
            co,
            kk,
            &self.z,
            &self.w,
            &mut dcols,
            Trans { a: false, b: false },
            false,
        );
        let mut dx = std::mem::take(&mut self.dx);
        dx.resize(&x.shape);
        let in_sz = self.ci * g.h * g.w;
        let table = &self.table;
        dx.data
            .par_chunks_mut(in_sz)
            .enumerate()
            .for_each(|(s, dxs)| {
                wide(
                    #[inline(always)]
                    || {
                        dxs.fill(0.0);
                        let c = &dcols[s * hw * kk..(s + 1) * hw * kk];
                        // The same (pixel, tap) order as the forward: sums as before.
                        for (&v, &t) in c.iter().zip(table) {
                            if t != OUTSIDE {
                                dxs[t] += v;
                            }
                        }
                    },
                )
            });
        self.cols = dcols;
        self.dx = dx;
    }

    fn input_grad(&mut self) -> &mut Tensor {
        &mut self.dx
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_>)) {
        let kk = self.kk();
        f(Param {
            name: "weight",
            value: &mut self.w,
            grad: &mut self.gw,
            kind: ParamKind::Weight,
            row: kk,
            shape: Dims::new(&[self.co, self.ci, self.k, self.k]),
        });
        f(Param {
            name: "bias",
            value: &mut self.b,
            grad: &mut self.gb,
            kind: ParamKind::Other,
            row: self.co,
            shape: Dims::new(&[self.co]),
        });
    }
}
