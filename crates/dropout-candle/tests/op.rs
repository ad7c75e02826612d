//! The candle op against the `dropout` crate's scalar reference, bit for bit,
//! on contiguous, transposed, narrowed and broadcast tensors; gradients
//! through candle's autograd equal the recomputed mask; dtypes and errors.

use candle_core::{DType, Device, Tensor, Var};
use dropout::reference;
use dropout::{Dropout, Mode};
use dropout_candle::{dropout, DropoutLayer, MaskKey};

const KEY: MaskKey = MaskKey {
    seed: 0xDEAD_BEEF,
    stream: 3,
    step: 11,
};

/// The reference's dropout of `x` (row-major values).
fn expect(p: f32, key: MaskKey, x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    reference::forward_at(&Dropout::new(p).unwrap(), key, Mode::Train, 0, x, &mut y).unwrap();
    y
}

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

#[test]
fn equals_the_reference_on_every_layout() {
    let dev = Device::Cpu;
    for p in [0.0f32, 0.1, 0.5, 0.9, 1.0] {
        for n in [1usize, 5, 64, 1023, 70_001] {
            let x = Tensor::from_vec(ramp(n), n, &dev).unwrap();
            let y = dropout(&x, p, KEY, true).unwrap();
            assert_eq!(
                bits(&values(&y)),
                bits(&expect(p, KEY, &ramp(n))),
                "p {p}, n {n}"
            );
        }
        // Strided views: the mask follows the view's row-major order.
        let m = Tensor::from_vec(ramp(12 * 35), (12, 35), &dev).unwrap();
        let views = [
            m.t().unwrap(),
            m.narrow(1, 3, 20).unwrap(),
            m.narrow(0, 5, 4).unwrap(),
            m.i_rows(2)
                .unwrap()
                .unsqueeze(0)
                .unwrap()
                .broadcast_as((3, 35))
                .unwrap(),
        ];
        for v in &views {
            let logical = values(&v.contiguous().unwrap());
            let y = dropout(v, p, KEY, true).unwrap();
            assert_eq!(y.dims(), v.dims());
            assert_eq!(
                bits(&values(&y)),
                bits(&expect(p, KEY, &logical)),
                "p {p}, {:?}",
                v.layout()
            );
        }
    }
}

/// Row `r` of a matrix (a helper the tests use for a broadcast view).
trait Rows {
    fn i_rows(&self, r: usize) -> candle_core::Result<Tensor>;
}

impl Rows for Tensor {
    fn i_rows(&self, r: usize) -> candle_core::Result<Tensor> {
        self.narrow(0, r, 1)?.squeeze(0)
    }
}

#[test]
fn gradients_use_the_forward_mask() {
    let dev = Device::Cpu;
    let n = 4_099;
    let x = Var::from_vec(ramp(n), n, &dev).unwrap();
    let w = Tensor::from_vec(
        ramp(n).iter().map(|v| v * 3.0 + 1.0).collect::<Vec<_>>(),
        n,
        &dev,
    )
    .unwrap();
    let p = 0.3;
    let y = dropout(x.as_tensor(), p, KEY, true).unwrap();
    let loss = (y * &w).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let g = values(grads.get(x.as_tensor()).expect("a gradient for x"));
    // d loss / dx_e = w_e · keep_e / (1 − p): the reference's dropout of w.
    assert_eq!(bits(&g), bits(&expect(p, KEY, &values(&w))));
    // Through a strided view too (the gradient arrives transposed).
    let m = Var::from_vec(ramp(6 * 7), (6, 7), &dev).unwrap();
    let y = dropout(&m.as_tensor().t().unwrap(), p, KEY, true).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    let g = grads
        .get(m.as_tensor())
        .unwrap()
        .t()
        .unwrap()
        .contiguous()
        .unwrap();
    assert_eq!(bits(&values(&g)), bits(&expect(p, KEY, &[1.0; 42])));
}

#[test]
fn dtypes_eval_layers_and_errors() {
    let dev = Device::Cpu;
    let x = Tensor::from_vec(ramp(100), 100, &dev).unwrap();
    // f64 and bf16 go through f32 with the same mask.
    let y64 = dropout(&x.to_dtype(DType::F64).unwrap(), 0.5, KEY, true).unwrap();
    assert_eq!(y64.dtype(), DType::F64);
    let zeros = |v: Vec<f32>| v.iter().map(|&a| a == 0.0).collect::<Vec<_>>();
    let y32 = values(&dropout(&x, 0.5, KEY, true).unwrap());
    assert_eq!(
        zeros(values(&y64.to_dtype(DType::F32).unwrap())),
        zeros(y32.clone())
    );
    let ybf = dropout(&x.to_dtype(DType::BF16).unwrap(), 0.5, KEY, true).unwrap();
    assert_eq!(ybf.dtype(), DType::BF16);
    // Eval: the identity.
    assert_eq!(values(&dropout(&x, 0.5, KEY, false).unwrap()), ramp(100));
    // A layer advances its step per training forward; eval does not.
    let layer = DropoutLayer::new(0.5, KEY.seed, KEY.stream).unwrap();
    let a = values(&layer.forward_t(&x, true).unwrap());
    let _ = layer.forward_t(&x, false).unwrap();
    let b = values(&layer.forward_t(&x, true).unwrap());
    assert_eq!(a, expect(0.5, MaskKey { step: 0, ..KEY }, &ramp(100)));
    assert_eq!(b, expect(0.5, MaskKey { step: 1, ..KEY }, &ramp(100)));
    assert_eq!(layer.next_key().step, 2);
    // Errors, not panics.
    assert!(dropout(&x, 1.5, KEY, true).is_err());
    assert!(dropout(&x, f32::NAN, KEY, true).is_err());
    let ints = Tensor::from_vec(vec![1u32, 2, 3], 3, &dev).unwrap();
    let e = dropout(&ints, 0.5, KEY, true).unwrap_err().to_string();
    assert!(e.contains("float"), "{e}");
    let raw = dropout_candle::DropoutOp::new(0.5, KEY).unwrap();
    let e = ints.apply_op1(raw).unwrap_err().to_string();
    assert!(e.contains("f32"), "{e}");
}
