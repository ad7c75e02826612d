//! The one interface of the family (`Variant`): every kind, on every
//! backend, in both passes and modes, equals its scalar reference bit for
//! bit — shaped, at offsets, with noise shapes, in place and into fresh
//! memory; it equals each member's own calls (so code moved onto it keeps
//! its bits); names, settings and misuse are typed.

mod common;

use std::mem::MaybeUninit;

use common::{assert_bits_eq, SplitMix};
use dropout::{
    reference, AlphaDropout, Backend, DropBlock, DropPath, Dropout, DropoutError, GaussianDropout,
    GaussianNoise, Layout, MaskKey, Mode, Pass, PathScope, Shape, Variant, VariantKind,
};

const KEY: MaskKey = MaskKey {
    seed: 0x5EED_0FFA,
    stream: 7,
    step: 3,
};

/// Rates each kind takes.
fn rates(kind: VariantKind) -> &'static [f32] {
    match kind {
        VariantKind::Gaussian | VariantKind::Noise => &[0.0, 0.3, 0.9],
        VariantKind::Concrete => &[0.1, 0.5],
        _ => &[0.0, 0.1, 0.5, 1.0],
    }
}

/// Data shapes (and noise shapes) each layout is tested on.
fn shapes(layout: Layout, noise_too: bool) -> Vec<(Vec<usize>, Option<Vec<usize>>)> {
    let plain = |d: &[usize]| (d.to_vec(), None);
    let mut out = match layout {
        Layout::Elements => vec![
            plain(&[]),
            plain(&[0]),
            plain(&[1]),
            plain(&[70_001]),
            plain(&[3, 5, 7]),
        ],
        Layout::Rows => vec![
            plain(&[]),
            plain(&[17, 5]),
            plain(&[64]),
            plain(&[4, 3, 2]),
            plain(&[0, 9]),
        ],
        Layout::Maps => vec![
            plain(&[2, 3, 8, 8]),
            plain(&[1, 2, 5, 7]),
            plain(&[3, 1, 3, 3]),
        ],
        Layout::Heads => vec![
            plain(&[2, 4]),
            plain(&[3, 6, 5, 4]),
            plain(&[12, 4, 64, 32]),
            plain(&[0, 2, 3]),
        ],
    };
    if noise_too {
        for (d, n) in [
            (&[3, 5, 4, 4][..], &[3, 5, 1, 1][..]),
            (&[6, 2, 7], &[1, 2, 7]),
            (&[4, 3, 10], &[4, 1, 10]),
            (&[2, 3], &[2, 3]),
        ] {
            out.push((d.to_vec(), Some(n.to_vec())));
        }
    }
    out
}

/// Every variant of each kind: the rates above, the backends, and the settings.
fn variants(kind: VariantKind) -> Vec<Variant> {
    let mut out = Vec::new();
    for &p in rates(kind) {
        let v = Variant::new(kind, p).unwrap();
        for backend in Backend::available() {
            out.push(v.with_backend(backend).unwrap());
        }
        match kind {
            VariantKind::Block => out.push(v.with_block(2).unwrap()),
            VariantKind::Path => {
                out.push(v.with_scope(PathScope::Batch).unwrap());
                out.push(v.with_group(4).unwrap());
            }
            VariantKind::Concrete => out.push(v.with_temperature(0.5).unwrap()),
            _ => {}
        }
    }
    out
}

#[test]
fn every_kind_equals_its_reference_in_every_form() {
    for kind in VariantKind::ALL {
        let noise_too = kind.layout() == Layout::Elements && kind != VariantKind::Concrete;
        for v in variants(kind) {
            for (dims, noise) in shapes(kind.layout(), noise_too) {
                let shape = match &noise {
                    None => Shape::new(&dims),
                    Some(n) => Shape::new(&dims).with_noise(n),
                };
                let n = shape.len().unwrap();
                let x = SplitMix(n as u64 + 1).vec(n);
                for (mode, pass) in [
                    (Mode::Train, Pass::Forward),
                    (Mode::Train, Pass::Backward),
                    (Mode::Eval, Pass::Forward),
                    (Mode::Eval, Pass::Backward),
                ] {
                    let what = format!("{v:?} {dims:?} {noise:?} {mode:?} {pass:?}");
                    let (mut fast, mut slow) = (vec![0.0; n], vec![0.0; n]);
                    v.apply(pass, KEY, mode, shape, &x, &mut fast).unwrap();
                    reference::variant_apply(&v, pass, KEY, mode, shape, &x, &mut slow).unwrap();
                    assert_bits_eq(&fast, &slow, &what);
                    let mut inplace = x.clone();
                    v.apply_inplace(pass, KEY, mode, shape, &mut inplace)
                        .unwrap();
                    assert_bits_eq(&inplace, &slow, &format!("in place {what}"));
                    let mut fresh = vec![MaybeUninit::new(f32::NAN); n];
                    let y = v
                        .apply_uninit(pass, KEY, mode, shape, &x, &mut fresh)
                        .unwrap();
                    assert_bits_eq(y, &slow, &format!("uninit {what}"));
                    if pass == Pass::Forward {
                        v.forward(KEY, mode, shape, &x, &mut fast).unwrap();
                    } else {
                        v.backward(KEY, mode, shape, &x, &mut fast).unwrap();
                    }
                    assert_bits_eq(&fast, &slow, &format!("named call {what}"));
                }
            }
        }
    }
}

#[test]
fn element_wise_kinds_equal_the_reference_at_offsets() {
    let x = SplitMix(5).vec(3000);
    for kind in VariantKind::ALL
        .into_iter()
        .filter(|k| k.layout() == Layout::Elements)
    {
        for v in variants(kind) {
            for offset in [0u64, 1, 37, 1 << 33] {
                for pass in [Pass::Forward, Pass::Backward] {
                    let (mut fast, mut slow) = (vec![0.0; 3000], vec![0.0; 3000]);
                    match pass {
                        Pass::Forward => v.forward_at(KEY, Mode::Train, offset, &x, &mut fast),
                        Pass::Backward => v.backward_at(KEY, Mode::Train, offset, &x, &mut fast),
                    }
                    .unwrap();
                    reference::variant_apply_at(&v, pass, KEY, Mode::Train, offset, &x, &mut slow)
                        .unwrap();
                    assert_bits_eq(&fast, &slow, &format!("{v:?} offset {offset} {pass:?}"));
                }
            }
            // A slice at an offset is that part of the whole tensor's map.
            let mut whole = vec![0.0; 3000];
            v.forward_at(KEY, Mode::Train, 0, &x, &mut whole).unwrap();
            let mut part = vec![0.0; 1000];
            v.forward_at(KEY, Mode::Train, 1000, &x[1000..2000], &mut part)
                .unwrap();
            assert_bits_eq(&part, &whole[1000..2000], &format!("{v:?} slice"));
        }
    }
}

#[test]
fn the_interface_equals_each_members_own_calls() {
    let key = MaskKey::new(9, 2, 4);
    let x = SplitMix(3).vec(2 * 3 * 6 * 6);
    let n = x.len();
    let maps = [2usize, 3, 6, 6];
    let run = |v: Variant, pass: Pass, shape: Shape<'_>| {
        let mut y = vec![0.0; n];
        v.apply(pass, key, Mode::Train, shape, &x, &mut y).unwrap();
        y
    };
    let own = |f: &dyn Fn(&mut [f32])| {
        let mut y = vec![0.0; n];
        f(&mut y);
        y
    };
    let flat = [n];
    let s = Shape::new(&flat);
    let (p, m) = (0.3, Mode::Train);
    let d = Dropout::new(p).unwrap();
    let v = Variant::new(VariantKind::Plain, p).unwrap();
    assert_bits_eq(
        &run(v, Pass::Forward, s),
        &own(&|y| d.forward(key, m, &x, y).unwrap()),
        "plain",
    );
    assert_bits_eq(
        &run(v, Pass::Backward, s),
        &own(&|y| d.backward(key, m, &x, y).unwrap()),
        "plain bwd",
    );
    let a = AlphaDropout::new(p).unwrap();
    let v = Variant::new(VariantKind::Alpha, p).unwrap();
    assert_bits_eq(
        &run(v, Pass::Forward, s),
        &own(&|y| a.forward(key, m, &x, y).unwrap()),
        "alpha",
    );
    assert_bits_eq(
        &run(v, Pass::Backward, s),
        &own(&|y| a.backward(key, m, &x, y).unwrap()),
        "alpha bwd",
    );
    let spatial = Shape::new(&maps).with_noise(&[2, 3, 1, 1]);
    assert_bits_eq(
        &run(v, Pass::Forward, spatial),
        &own(&|y| {
            a.forward_broadcast(key, m, &maps, &[2, 3, 1, 1], &x, y)
                .unwrap()
        }),
        "feature alpha",
    );
    let g = GaussianDropout::new(p).unwrap();
    let v = Variant::new(VariantKind::Gaussian, p).unwrap();
    assert_bits_eq(
        &run(v, Pass::Forward, s),
        &own(&|y| g.forward(key, m, &x, y).unwrap()),
        "gaussian",
    );
    // Noise at rate p has σ = √(p/(1 − p)), the engine's and bench's σ.
    let z = GaussianNoise::new(g.sigma()).unwrap();
    let v = Variant::new(VariantKind::Noise, p).unwrap();
    assert_bits_eq(
        &run(v, Pass::Forward, s),
        &own(&|y| z.forward(key, m, &x, y).unwrap()),
        "noise",
    );
    assert_bits_eq(&run(v, Pass::Backward, s), &x, "noise bwd");
    let b = DropBlock::new(p, 3).unwrap();
    let v = Variant::new(VariantKind::Block, p).unwrap();
    assert_eq!(v.block(), Some(3));
    assert_bits_eq(
        &run(v, Pass::Forward, Shape::new(&maps)),
        &own(&|y| b.forward(key, m, &maps, &x, y).unwrap()),
        "block",
    );
    // DropPath alone is r + drop_path(b) with r = 0 (timm's drop_path).
    let dp = DropPath::new(p, PathScope::Sample).unwrap();
    let v = Variant::new(VariantKind::Path, p).unwrap();
    let zeros = vec![0.0; n];
    let path = run(v, Pass::Forward, Shape::new(&[36, 6]));
    let sum = own(&|y| dp.forward(key, m, 36, 6, &zeros, &x, y).unwrap());
    assert!(path.iter().zip(&sum).all(|(a, b)| a == b), "path");
    assert!(path.chunks(6).any(|r| r.iter().all(|&v| v == 0.0)));
    let c = dropout::ConcreteDropout::new(0.1).unwrap();
    let v = Variant::new(VariantKind::Concrete, p).unwrap();
    assert_bits_eq(
        &run(v, Pass::Forward, s),
        &own(&|y| c.forward_at(key, m, 0, p, &x, y).unwrap()),
        "concrete",
    );
    let mut dx = vec![0.0; n];
    c.backward_at(key, m, 0, p, &x, &x, &mut dx).unwrap();
    assert_bits_eq(&run(v, Pass::Backward, s), &dx, "concrete bwd");
}

#[test]
fn names_round_trip_and_unknown_names_are_typed_errors() {
    for kind in VariantKind::ALL {
        assert_eq!(kind.name().parse::<VariantKind>(), Ok(kind));
        assert_eq!(kind.to_string(), kind.name());
        assert!(!kind.summary().is_empty() && !kind.title().is_empty());
        let v = Variant::new(kind, 0.5).unwrap();
        assert_eq!((v.kind(), v.p(), v.layout()), (kind, 0.5, kind.layout()));
    }
    let e = "dropblock".parse::<VariantKind>().unwrap_err();
    assert!(matches!(e, DropoutError::UnknownName { .. }), "{e}");
    assert!(e.to_string().contains("plain, alpha"), "{e}");
    for scope in [PathScope::Sample, PathScope::Batch] {
        assert_eq!(scope.to_string().parse::<PathScope>(), Ok(scope));
    }
    let e = "row".parse::<PathScope>().unwrap_err();
    assert!(
        e.to_string().contains("sample") && e.to_string().contains("batch"),
        "{e}"
    );
}

#[test]
fn misuse_is_a_typed_error() {
    let (k, m) = (KEY, Mode::Train);
    let (x, mut y) = ([1.0f32; 16], [0.0f32; 16]);
    for kind in [VariantKind::Block, VariantKind::Path] {
        let v = Variant::new(kind, 0.5).unwrap();
        let e = v.forward_at(k, m, 0, &x, &mut y).unwrap_err();
        assert!(matches!(e, DropoutError::NotElementwise { .. }), "{e}");
        let e = v.backward_at(k, m, 0, &x, &mut y).unwrap_err();
        assert!(matches!(e, DropoutError::NotElementwise { .. }), "{e}");
    }
    let noisy = Shape::new(&[4, 4]).with_noise(&[4, 1]);
    for kind in [VariantKind::Concrete, VariantKind::Block, VariantKind::Path] {
        let v = Variant::new(kind, 0.5).unwrap();
        let e = v.forward(k, m, noisy, &x, &mut y).unwrap_err();
        assert!(
            matches!(e, DropoutError::NoNoiseShape { .. }),
            "{kind}: {e}"
        );
    }
    let plain = Variant::new(VariantKind::Plain, 0.5).unwrap();
    for e in [
        plain.with_block(3).unwrap_err(),
        plain.with_scope(PathScope::Batch).unwrap_err(),
        plain.with_group(2).unwrap_err(),
        plain.with_temperature(0.2).unwrap_err(),
    ] {
        assert!(matches!(e, DropoutError::NoSetting { .. }), "{e}");
    }
    let e = plain
        .forward(k, m, Shape::new(&[4, 5]), &x, &mut y)
        .unwrap_err();
    assert!(matches!(e, DropoutError::LengthMismatch { .. }), "{e}");
    let e = plain
        .forward(k, m, Shape::new(&[usize::MAX, 3]), &x, &mut y)
        .unwrap_err();
    assert!(matches!(e, DropoutError::TooLarge { .. }), "{e}");
    let e = Variant::new(VariantKind::Block, 0.5).unwrap().forward(
        k,
        m,
        Shape::new(&[4, 4]),
        &x,
        &mut y,
    );
    assert!(matches!(e, Err(DropoutError::NotMaps { .. })), "{e:?}");
    for (kind, p) in [
        (VariantKind::Plain, 1.5),
        (VariantKind::Gaussian, 1.0),
        (VariantKind::Noise, 1.0),
        (VariantKind::Concrete, 0.0),
        (VariantKind::Block, f32::NAN),
    ] {
        assert!(Variant::new(kind, p).is_err(), "{kind} at {p}");
    }
    assert_eq!(
        Variant::new(VariantKind::Block, 0.5).unwrap().with_block(0),
        Err(DropoutError::ZeroBlock)
    );
}

#[test]
fn a_new_rate_keeps_the_settings() {
    let block = Variant::new(VariantKind::Block, 0.2)
        .unwrap()
        .with_block(5)
        .unwrap();
    assert_eq!(
        block.with_p(0.4).unwrap(),
        Variant::new(VariantKind::Block, 0.4)
            .unwrap()
            .with_block(5)
            .unwrap()
    );
    let path = Variant::new(VariantKind::Path, 0.2)
        .unwrap()
        .with_scope(PathScope::Batch)
        .and_then(|v| v.with_group(3))
        .unwrap();
    assert_eq!(
        path.with_p(0.1).unwrap().scope(),
        Some((PathScope::Batch, 3))
    );
    let concrete = Variant::new(VariantKind::Concrete, 0.2)
        .unwrap()
        .with_temperature(0.3)
        .unwrap();
    assert_eq!(concrete.with_p(0.4).unwrap().temperature(), Some(0.3));
    let portable = Variant::new(VariantKind::Alpha, 0.2)
        .unwrap()
        .with_backend(Backend::Portable)
        .unwrap();
    assert_eq!(
        portable.with_p(0.3).unwrap().backend(),
        Some(Backend::Portable)
    );
    for kind in VariantKind::ALL {
        let v = Variant::new(kind, 0.25).unwrap();
        assert_eq!(v.with_p(0.25).unwrap(), v, "{kind}");
    }
    assert!(Variant::new(VariantKind::Gaussian, 0.5)
        .unwrap()
        .with_p(1.0)
        .is_err());
}
