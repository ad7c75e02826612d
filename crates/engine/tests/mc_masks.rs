//! MC-dropout mask options: masks shared by blocks of rows (consistent MC
//! dropout) and the input site left out of sampling.

use engine::layer::Ctx;
use engine::spec::{build, ModelSpec};
use engine::Sequential;

fn net(dropout: f32, input: f32, arch: &str) -> Sequential {
    let mut s = ModelSpec::new(arch);
    s.dropout = dropout;
    s.input_dropout = input;
    build(&s, &[6], 3).unwrap()
}

/// Outputs of `rows` copies of one input under `ctx`.
fn copies(m: &mut Sequential, rows: usize, ctx: &Ctx) -> Vec<Vec<f32>> {
    let x: Vec<f32> = (0..6).map(|i| 0.3 * i as f32 - 0.5).collect();
    for r in m.input_mut(rows).chunks_mut(6) {
        r.copy_from_slice(&x);
    }
    m.forward(ctx).data.chunks(3).map(<[f32]>::to_vec).collect()
}

#[test]
fn consistent_masks_are_shared_within_a_block_and_differ_between_blocks() {
    let mut m = net(0.5, 0.2, "6-32-32-3");
    let free = copies(&mut m, 8, &Ctx::mc_sample(3, 0));
    assert!(
        free.iter().any(|r| r != &free[0]),
        "independent masks gave 8 equal rows"
    );
    let shared = copies(&mut m, 8, &Ctx::mc_sample(3, 0).with_mc_group(4));
    assert!(shared[..4].iter().all(|r| r == &shared[0]));
    assert!(shared[4..].iter().all(|r| r == &shared[4]));
    assert_ne!(shared[0], shared[4], "two MC samples drew the same masks");
    // The same block mask for any number of blocks (a chunk of 2 inputs sees sample 0's mask too).
    let two = copies(&mut m, 4, &Ctx::mc_sample(3, 0).with_mc_group(2));
    assert_eq!((&two[0], &two[2]), (&shared[0], &shared[4]));
}

#[test]
fn hidden_only_sampling_leaves_the_input_whole() {
    // Only input dropout: sampling hidden sites alone is the deterministic net.
    let mut m = net(0.0, 0.5, "6-16-3");
    let det = copies(&mut m, 4, &Ctx::eval());
    let hidden = copies(&mut m, 4, &Ctx::mc_sample(9, 1).with_mc_input(false));
    assert_eq!(det, hidden);
    let all = copies(&mut m, 4, &Ctx::mc_sample(9, 1));
    assert_ne!(det, all, "input dropout was not sampled");
}
