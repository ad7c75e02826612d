//! The `dropout-lab` binary end to end: help text, the kernel benchmark's
//! JSON lines, and clear errors (non-zero exit, no panic) on bad flags.

mod common;
use common::lab;

#[test]
fn help_lists_commands_and_examples() {
    let out = lab(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bench") && text.contains("Examples"),
        "{text}"
    );
    let out = lab(&["bench", "kernel", "--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--json"));
}

#[test]
fn bench_kernel_json_has_the_promised_fields() {
    let out = lab(&[
        "bench",
        "kernel",
        "--json",
        "--sizes",
        "64K,100000",
        "--reps",
        "2",
        "--threads",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "one JSON object per size: {text}");
    for (line, n) in lines.iter().zip([65_536u64, 100_000]) {
        let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
        assert_eq!(v["elements"].as_u64(), Some(n));
        assert_eq!(v["threads"].as_u64(), Some(2));
        for f in [
            "forward_ms",
            "backward_ms",
            "memcpy_ms",
            "forward_ratio",
            "backward_ratio",
        ] {
            let x = v[f]
                .as_f64()
                .unwrap_or_else(|| panic!("{f} missing in {line}"));
            assert!(x.is_finite() && x > 0.0, "{f} = {x}");
        }
        let ratio = v["memcpy_ms"].as_f64().unwrap() / v["forward_ms"].as_f64().unwrap();
        assert!((ratio - v["forward_ratio"].as_f64().unwrap()).abs() < 1e-9);
    }
}

#[test]
fn bad_flags_are_clear_errors() {
    for (args, needle) in [
        (vec!["bench", "kernel", "--p", "1.5"], "[0, 1]"),
        (vec!["bench", "kernel", "--p", "NaN"], "[0, 1]"),
        (vec!["bench", "kernel", "--sizes", "abc"], "not a size"),
        (vec!["bench", "kernel", "--threads", "0"], "--threads"),
        (vec!["bench", "kernel", "--backend", "cuda"], "--backend"),
    ] {
        let out = lab(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
