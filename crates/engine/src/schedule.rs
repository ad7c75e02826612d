//! Learning-rate schedules: the rate of epoch e (0-based) or of optimizer
//! step t (0-based) for a base rate η.
//!
//! ```text
//! constant  η                 step      η · γ^⌊e/k⌋           exponential  η · γ^e
//! cosine    η · ½(1 + cos(π e/E))      inverse time  η / (1 + k e)
//! per step: exponential  η · γ^t       inverse time  η / (1 + k t)       (computed in f64)
//! warm-up then cosine (nanoGPT's `get_lr`), W warm-up steps, decay over steps W … S, floor η_min = r·η:
//!           t < W:      η · (t + 1)/(W + 1)
//!           W ≤ t ≤ S:  η_min + ½(1 + cos(π (t − W)/(S − W))) · (η − η_min)
//!           t > S:      η_min
//! ```

/// A learning-rate schedule over epochs (or, for the `…Step` variants,
/// over optimizer steps).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// η.
    Constant,
    /// η · γ^⌊epoch / every⌋.
    Step {
        /// Epochs between decays.
        every: usize,
        /// Decay factor γ.
        gamma: f32,
    },
    /// η · γ^epoch.
    Exponential {
        /// Decay factor γ.
        gamma: f32,
    },
    /// η · (1 + cos(π · epoch / total)) / 2.
    Cosine {
        /// Total epochs.
        total: usize,
    },
    /// η / (1 + k · epoch)  (inverse-time decay).
    InvTime {
        /// Decay rate k per epoch.
        k: f32,
    },
    /// η · γ^t, t the 0-based optimizer step.
    ExponentialStep {
        /// Decay factor γ per step.
        gamma: f32,
    },
    /// η / (1 + k · t), t the 0-based optimizer step.
    InvTimeStep {
        /// Decay rate k per step.
        k: f32,
    },
    /// Linear warm-up over `warmup` steps, then a cosine down to
    /// `min_ratio · η` at step `total` (and that floor after it).
    WarmupCosineStep {
        /// Warm-up steps W.
        warmup: u64,
        /// The step S where the cosine reaches its floor.
        total: u64,
        /// The floor as a share of η.
        min_ratio: f32,
    },
}

impl Schedule {
    /// The learning rate at `epoch` (0-based) for base rate `lr`, for the
    /// per-epoch schedules (per-step ones: their value at step 0).
    pub fn lr(self, lr: f32, epoch: usize) -> f32 {
        self.lr_at(lr, epoch, 0)
    }

    /// The learning rate at `epoch` and global optimizer `step` (both 0-based).
    pub fn lr_at(self, lr: f32, epoch: usize, step: u64) -> f32 {
        match self {
            Self::Constant => lr,
            Self::Step { every, gamma } => lr * gamma.powi((epoch / every.max(1)) as i32),
            Self::Exponential { gamma } => lr * gamma.powi(epoch as i32),
            Self::Cosine { total } => {
                let f = (epoch.min(total) as f32) / total.max(1) as f32;
                lr * 0.5 * (1.0 + (std::f32::consts::PI * f).cos())
            }
            Self::InvTime { k } => lr / (1.0 + k * epoch as f32),
            // In f64: γ^t for t in the hundreds of thousands.
            Self::ExponentialStep { gamma } => {
                (f64::from(lr) * f64::from(gamma).powf(step as f64)) as f32
            }
            Self::InvTimeStep { k } => (f64::from(lr) / (1.0 + f64::from(k) * step as f64)) as f32,
            Self::WarmupCosineStep {
                warmup,
                total,
                min_ratio,
            } => {
                let (lr, t) = (f64::from(lr), step as f64);
                let floor = lr * f64::from(min_ratio);
                if step < warmup {
                    (lr * (t + 1.0) / (warmup as f64 + 1.0)) as f32
                } else if step > total || total <= warmup {
                    floor as f32
                } else {
                    let f = (t - warmup as f64) / (total - warmup) as f64;
                    (floor + 0.5 * (1.0 + (std::f64::consts::PI * f).cos()) * (lr - floor)) as f32
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine_as_nanogpt() {
        let s = Schedule::WarmupCosineStep {
            warmup: 100,
            total: 2000,
            min_ratio: 0.1,
        };
        let at = |t| s.lr_at(1e-3, 0, t);
        assert!((at(0) - 1e-3 / 101.0).abs() < 1e-9);
        assert!((at(99) - 1e-3 * 100.0 / 101.0).abs() < 1e-9);
        assert!((at(100) - 1e-3).abs() < 1e-9);
        assert!((at(1050) - 0.55e-3).abs() < 1e-8, "{}", at(1050));
        assert!((at(2000) - 1e-4).abs() < 1e-9);
        assert!((at(5000) - 1e-4).abs() < 1e-9);
        assert!(at(500) > at(501));
    }

    #[test]
    fn schedules() {
        assert_eq!(Schedule::Constant.lr(0.1, 9), 0.1);
        assert!(
            (Schedule::Step {
                every: 2,
                gamma: 0.5
            }
            .lr(1.0, 5)
                - 0.25)
                .abs()
                < 1e-7
        );
        assert!((Schedule::Exponential { gamma: 0.9 }.lr(1.0, 2) - 0.81).abs() < 1e-6);
        assert!((Schedule::Cosine { total: 10 }.lr(1.0, 5) - 0.5).abs() < 1e-6);
        assert!(Schedule::Cosine { total: 10 }.lr(1.0, 10).abs() < 1e-6);
        // Inverse time: 1 / (1 + 0.5 · 4) = 1/3.
        assert!((Schedule::InvTime { k: 0.5 }.lr(1.0, 4) - 1.0 / 3.0).abs() < 1e-7);
        // Per step: 2 · 0.99^100 = 0.732064…, 2 / (1 + 1e-3 · 1000) = 1.
        let e = Schedule::ExponentialStep { gamma: 0.99 };
        assert!((e.lr_at(2.0, 7, 100) - 0.732_064).abs() < 1e-5);
        assert_eq!(e.lr_at(2.0, 7, 0), 2.0);
        assert!((Schedule::InvTimeStep { k: 1e-3 }.lr_at(2.0, 0, 1000) - 1.0).abs() < 1e-6);
        // Per-epoch schedules ignore the step.
        assert_eq!(
            Schedule::InvTime { k: 0.5 }.lr_at(1.0, 4, 99),
            Schedule::InvTime { k: 0.5 }.lr(1.0, 4)
        );
    }
}
