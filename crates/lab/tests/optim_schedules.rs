//! The protocol features of Srivastava et al. / Hinton et al. reach the
//! training loop: a momentum ramp sets μ each epoch (a ramp held at 0
//! trains exactly like momentum 0, not like the configured 0.9), the
//! dampened form changes the trajectory, and a per-step schedule is applied
//! per step (the recorded epoch rate is the rate at the epoch's first step).

use lab::config::{LrSchedule, MomentumForm, RunConfig};
use lab::data::load;
use lab::train::{fit, LoopOptions};

fn run(edit: impl Fn(&mut RunConfig)) -> (Vec<f32>, f32) {
    let mut cfg = RunConfig::default();
    cfg.model.arch = "784-8-10".into();
    cfg.data.train_size = Some(256);
    cfg.epochs = 2;
    edit(&mut cfg);
    cfg.validate().unwrap();
    let splits = load(&cfg.data, cfg.seed).unwrap();
    let (mut model, summary) = fit(&cfg, &splits, LoopOptions::in_memory(0, &mut ())).unwrap();
    let mut w = Vec::new();
    model.visit_params(&mut |_, p| w.extend_from_slice(p.value));
    (w, summary.last.lr)
}

#[test]
fn momentum_ramp_form_and_per_step_schedules_reach_the_loop() {
    let (plain, _) = run(|c| c.optim.momentum = 0.0);
    let (ramp0, _) = run(|c| c.optim.momentum_ramp = Some("0:0:1".parse().unwrap()));
    assert_eq!(plain, ramp0, "a ramp held at 0 is momentum 0");
    let (exp0, _) = run(|c| c.optim.momentum_ramp = Some("exp:0:0:5".parse().unwrap()));
    assert_eq!(plain, exp0, "so is the exponential approach to 0");
    let (heavy, _) = run(|_| {});
    assert_ne!(heavy, plain);
    let (damp, _) = run(|c| c.optim.momentum_form = MomentumForm::Dampened);
    assert_ne!(
        damp, heavy,
        "the dampened form scales the gradient by 1 − μ"
    );
    // 256 images, batch 128: epoch 2 starts at step 2; 0.05 · 0.5² = 0.0125.
    let (_, lr) = run(|c| c.optim.schedule = "exp-step:0.5".parse::<LrSchedule>().unwrap());
    assert!((lr - 0.0125).abs() < 1e-7, "{lr}");
    // Dampened with Nesterov is refused.
    let mut c = RunConfig::default();
    c.optim.nesterov = true;
    c.optim.momentum_form = MomentumForm::Dampened;
    assert!(c.validate().unwrap_err().to_string().contains("Nesterov"));
}
