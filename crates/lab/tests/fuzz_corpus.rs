//! Replays the fuzz corpus (`fuzz/corpus/<target>`, minimised after each
//! fuzzing campaign) and every input that ever crashed a target
//! (`fuzz/regressions/<target>`) through the harnesses in `lab::fuzz`, so a
//! reader that regresses on any of them fails `cargo test` without a fuzzer.

use std::path::PathBuf;

fn replay(target: &str, harness: fn(&[u8])) -> usize {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut n = 0;
    for kind in ["corpus", "regressions"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        for e in dir {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let ok = std::panic::catch_unwind(|| harness(&bytes)).is_ok();
            assert!(ok, "{} panics", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn every_corpus_and_crash_input_is_handled() {
    let counts = [
        ("idx", replay("idx", lab::fuzz::idx)),
        ("csv", replay("csv", lab::fuzz::csv)),
        ("checkpoint", replay("checkpoint", lab::fuzz::checkpoint)),
        ("config", replay("config", lab::fuzz::config)),
        ("arch", replay("arch", lab::fuzz::arch)),
    ];
    for (t, n) in counts {
        assert!(n > 0, "no corpus for {t}");
    }
}
