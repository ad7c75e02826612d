//! Finite-difference gradient checks of the Transformer layers (tiny: T ≤ 8,
//! width ≤ 16), every dropout site on, with the harness and tolerance of
//! `gradcheck.rs`. The masks come from a fixed key, so every evaluation of
//! the loss sees the same ones.

mod common;

use common::*;
use engine::layer::Layer;
use engine::layers::{
    AttentionSites, BlockSites, PatchEmbedding, SelfAttention, TokenEmbedding, TokenMean,
    TransformerBlock,
};
use engine::rng::Rng;
use engine::Tensor;

/// Every parameter ~ N(0, 0.3²) (LayerNorm scales ~ 1 + N(0, 0.1²)).
fn randomize(layer: &mut dyn Layer, seed: u64) {
    let mut rng = Rng::new(seed);
    layer.visit_params(&mut |p| {
        let ln = p.name.contains("ln");
        for v in p.value.iter_mut() {
            *v = if ln && p.name.ends_with("weight") {
                1.0 + 0.1 * rng.normal() as f32
            } else {
                0.3 * rng.normal() as f32
            };
        }
    });
}

const SITES: AttentionSites = AttentionSites {
    probs: (0.3, 11),
    head: (0.3, 12),
    resid: (0.2, 13),
};

#[test]
fn attention_with_every_site() {
    for causal in [false, true] {
        for sites in [
            AttentionSites {
                probs: (0.0, 1),
                head: (0.0, 2),
                resid: (0.0, 3),
            },
            SITES,
        ] {
            let mut a = SelfAttention::new(8, 2, causal, sites).unwrap();
            randomize(&mut a, 3);
            let name = format!("attention causal {causal} {sites:?}");
            check_layer(&name, &mut a, &[3, 5, 8], 4);
        }
    }
    // Four heads of width 4 at T = 8.
    let mut a = SelfAttention::new(16, 4, true, SITES).unwrap();
    randomize(&mut a, 5);
    check_layer("attention 4 heads", &mut a, &[2, 8, 16], 6);
}

#[test]
fn pre_ln_block_with_every_site_and_droppath() {
    for causal in [false, true] {
        let sites = BlockSites {
            attn: SITES,
            mlp: (0.3, 14),
            mlp_resid: (0.2, 15),
            path: (0.4, 16),
        };
        let mut b = TransformerBlock::new(8, 2, 16, causal, sites).unwrap();
        randomize(&mut b, 7);
        check_layer(&format!("block causal {causal}"), &mut b, &[4, 6, 8], 8);
    }
}

#[test]
fn token_and_patch_embeddings_and_pooling() {
    let mut e = TokenEmbedding::new(11, 8, 6, 0.3, 2).unwrap();
    randomize(&mut e, 9);
    let mut rng = Rng::new(10);
    let ids: Vec<f32> = (0..3 * 7).map(|_| rng.below(11) as f32).collect();
    let x = Tensor::from_vec(ids, &[3, 7]);
    check_layer_at("token embedding", &mut e, &x, false, &mut rng);
    let mut p = PatchEmbedding::new((2, 4, 6), 2, 5, 0.3, 3).unwrap();
    randomize(&mut p, 11);
    check_layer("patch embedding", &mut p, &[2, 2, 4, 6], 12);
    check_layer("token mean", &mut TokenMean::default(), &[3, 4, 5], 13);
}
