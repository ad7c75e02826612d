//! One op for every member of the family: the candle op's forward and its
//! backward (through candle's autograd) equal the `dropout` crate's scalar
//! reference bit for bit for every `VariantKind`, on contiguous and strided
//! tensors, with and without noise shapes; shapes a variant cannot take are
//! errors, not panics.

use candle_core::{DType, Device, Tensor, Var};
use dropout::{reference, Layout, Mode, Pass, Shape};
use dropout_candle::{apply, DropoutLayer, DropoutOp, MaskKey, Variant, VariantKind};

const KEY: MaskKey = MaskKey {
    seed: 0xC0FF_EE00,
    stream: 2,
    step: 5,
};

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

fn ramp(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (i as f32 * 0.37).sin() + 0.01 * i as f32)
        .collect()
}

/// The reference's pass of `v` over `x` of `shape`.
fn expect(v: &Variant, pass: Pass, shape: Shape<'_>, x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    reference::variant_apply(v, pass, KEY, Mode::Train, shape, x, &mut y).unwrap();
    y
}

fn rates(kind: VariantKind) -> &'static [f32] {
    match kind {
        VariantKind::Gaussian | VariantKind::Noise => &[0.0, 0.3],
        VariantKind::Concrete => &[0.3],
        _ => &[0.0, 0.3, 1.0],
    }
}

/// A data shape of each layout, and a larger one to narrow it from (a strided view).
fn dims(layout: Layout) -> (Vec<usize>, Vec<usize>) {
    match layout {
        Layout::Elements => (vec![6, 5, 7], vec![6, 5, 9]),
        Layout::Rows => (vec![9, 4, 3], vec![9, 4, 5]),
        Layout::Maps => (vec![2, 3, 6, 6], vec![2, 3, 6, 8]),
        Layout::Heads => (vec![3, 4, 5], vec![3, 4, 7]),
    }
}

/// `dx` as candle's autograd hands it out: added to zeros (`0 + dx`), so a
/// −0 arrives as +0.
fn accumulated(dx: &[f32]) -> Vec<f32> {
    dx.iter().map(|v| 0.0 + v).collect()
}

/// Forward of `op` on `x`, and the gradient of `Σ y · w` with respect to `x`.
fn forward_and_grad(x: &Var, view: &Tensor, op: DropoutOp, w: &Tensor) -> (Vec<f32>, Vec<f32>) {
    let y = apply(view, op, true).unwrap();
    let grads = (&y * w).unwrap().sum_all().unwrap().backward().unwrap();
    let g = grads.get(x.as_tensor()).expect("a gradient for x");
    (values(&y), values(g))
}

#[test]
fn every_variant_equals_the_reference_forward_and_backward() {
    let dev = Device::Cpu;
    for kind in VariantKind::ALL {
        for &p in rates(kind) {
            let v = Variant::new(kind, p).unwrap();
            let (d, wide) = dims(kind.layout());
            let n: usize = d.iter().product();
            let shape = Shape::new(&d);
            let w: Vec<f32> = ramp(n).iter().map(|a| a * 3.0 + 1.0).collect();
            let wt = Tensor::from_vec(w.clone(), d.as_slice(), &dev).unwrap();
            let what = format!("{kind} p {p}");
            // Contiguous.
            let x = Var::from_vec(ramp(n), d.as_slice(), &dev).unwrap();
            let (y, g) = forward_and_grad(&x, x.as_tensor(), DropoutOp::variant(v, KEY), &wt);
            assert_eq!(
                bits(&y),
                bits(&expect(&v, Pass::Forward, shape, &ramp(n))),
                "{what}"
            );
            let dx = expect(&v, Pass::Backward, shape, &w);
            assert_eq!(bits(&g), bits(&accumulated(&dx)), "{what} grad");
            // The backward op itself gives dx bit for bit.
            let op = DropoutOp::variant(v, KEY).backward();
            let direct = values(&apply(&wt, op, true).unwrap());
            assert_eq!(bits(&direct), bits(&dx), "{what} backward op");
            // A strided view (the last axis narrowed): the mask follows its row-major order.
            let m: usize = wide.iter().product();
            let big = Var::from_vec(ramp(m), wide.as_slice(), &dev).unwrap();
            let last = d.len() - 1;
            let view = big.as_tensor().narrow(last, 1, d[last]).unwrap();
            let xs = values(&view.contiguous().unwrap());
            let (y, _) = forward_and_grad(&big, &view, DropoutOp::variant(v, KEY), &wt);
            assert_eq!(
                bits(&y),
                bits(&expect(&v, Pass::Forward, shape, &xs)),
                "{what} strided"
            );
        }
    }
}

#[test]
fn broadcast_forms_equal_the_reference() {
    let dev = Device::Cpu;
    let (d, noise) = ([2usize, 3, 4, 4], [2usize, 3, 1, 1]);
    let n = 96;
    let shape = Shape::new(&d).with_noise(&noise);
    let w: Vec<f32> = ramp(n).iter().map(|a| a - 0.5).collect();
    let wt = Tensor::from_vec(w.clone(), &d, &dev).unwrap();
    for kind in [
        VariantKind::Plain,
        VariantKind::Alpha,
        VariantKind::Gaussian,
        VariantKind::Noise,
    ] {
        let v = Variant::new(kind, 0.4).unwrap();
        let op = DropoutOp::variant(v, KEY).with_noise_shape(&noise).unwrap();
        let x = Var::from_vec(ramp(n), &d, &dev).unwrap();
        let (y, g) = forward_and_grad(&x, x.as_tensor(), op, &wt);
        assert_eq!(
            bits(&y),
            bits(&expect(&v, Pass::Forward, shape, &ramp(n))),
            "{kind}"
        );
        assert_eq!(
            bits(&g),
            bits(&accumulated(&expect(&v, Pass::Backward, shape, &w))),
            "{kind} grad"
        );
    }
}

#[test]
fn layers_dtypes_and_errors() {
    let dev = Device::Cpu;
    let x = Tensor::from_vec(ramp(2 * 3 * 5 * 5), (2, 3, 5, 5), &dev).unwrap();
    let block = Variant::new(VariantKind::Block, 0.3).unwrap();
    // A layer of any variant advances its step per training forward.
    let layer = DropoutLayer::variant(block, KEY.seed, KEY.stream);
    let a = values(&layer.forward_t(&x, true).unwrap());
    let want = {
        let mut y = vec![0.0; a.len()];
        let key = MaskKey { step: 0, ..KEY };
        reference::variant_apply(
            &block,
            Pass::Forward,
            key,
            Mode::Train,
            Shape::new(&[2, 3, 5, 5]),
            &ramp(150),
            &mut y,
        )
        .unwrap();
        y
    };
    assert_eq!(bits(&a), bits(&want));
    assert_eq!(layer.next_key().step, 1);
    assert_eq!(values(&layer.forward_t(&x, false).unwrap()), ramp(150));
    // f64 goes through f32 with the same draws.
    let y64 = apply(
        &x.to_dtype(DType::F64).unwrap(),
        DropoutOp::variant(block, KEY),
        true,
    )
    .unwrap();
    assert_eq!(y64.dtype(), DType::F64);
    // Shapes a variant cannot take: errors, not panics.
    let flat = Tensor::from_vec(ramp(10), 10, &dev).unwrap();
    let e = apply(&flat, DropoutOp::variant(block, KEY), true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("(N, C, H, W)"), "{e}");
    let path = Variant::new(VariantKind::Path, 0.3).unwrap();
    let op = DropoutOp::variant(path, KEY)
        .with_noise_shape(&[10])
        .unwrap();
    let e = apply(&flat, op, true).unwrap_err().to_string();
    assert!(e.contains("noise shape"), "{e}");
    let plain = DropoutOp::new(0.5, KEY)
        .unwrap()
        .with_noise_shape(&[3])
        .unwrap();
    assert!(apply(&flat, plain, true).is_err());
    assert!(DropoutOp::new(0.5, KEY)
        .unwrap()
        .with_noise_shape(&[1; 9])
        .is_err());
}
