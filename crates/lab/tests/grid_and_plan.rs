//! Planning is bounded: a sweep's plan holds at most
//! `plan::bytes_per_run` bytes per run — a few hundred, nothing per epoch —
//! measured here by a counting allocator (per thread, so other tests do not
//! count) on a 10,000-run sweep of 10⁸-epoch runs; a plan beyond the 1 GiB
//! budget is refused before anything is allocated for it. And the grid end
//! to end: range values written with exponents keep their values, values
//! with colons of options that take no number are one value, `--plan`
//! writes nothing.
//!
//! ```text
//! peak(plan) − before ≤ runs · bytes_per_run(config)          bytes_per_run ≤ 1000
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lab::config::RunConfig;
use lab::runner::plan::{bytes_per_run, BUDGET};
use lab::runner::Runner;
use lab::sweep::{grid, Point, Sweep};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|l| {
        let v = l.get() + delta;
        l.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

// SAFETY: every call is passed to `System` unchanged; only counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            count(l.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            count(l.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        count(-(l.size() as isize));
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            count(new as isize - l.size() as isize);
        }
        q
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Bytes allocated by this thread and not freed, and the peak since the last call.
fn live_and_reset_peak() -> isize {
    let v = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(v));
    v
}

const CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/sklearn-wine/wine_data.csv"
);

/// `points` grid points of dropout over `seeds` seeds, each run 10⁸ epochs.
fn sweep(points: usize, seeds: usize, path: &str) -> Sweep {
    let axes = grid::parse(
        &format!("dropout=0:{}:0.0001", (points - 1) as f64 * 1e-4),
        &|_| true,
    )
    .unwrap();
    let points: Vec<Point> = grid::points(&axes)
        .into_iter()
        .map(|values| {
            let mut config = RunConfig {
                epochs: 100_000_000,
                ..RunConfig::default()
            };
            config.data.path = Some(path.into());
            config.model.arch = "{in}-16-{classes}".into();
            config.model.dropout = values[0].1.parse().unwrap();
            Point { values, config }
        })
        .collect();
    assert_eq!(points.len(), points.len().max(1));
    Sweep {
        points,
        seeds,
        eval_every: 1,
    }
}

#[test]
fn a_plan_holds_a_few_hundred_bytes_per_run() {
    let s = sweep(100, 100, CSV);
    let per_run = bytes_per_run(&s.points[0].config);
    assert!(per_run <= 700, "{per_run} bytes per run");
    s.check_plan_size().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runner = Runner::new(&dir.path().join("cache"), vec![], Box::new(())).unwrap();
    let before = live_and_reset_peak();
    let plan = lab::runner::plan(&runner, &[&s]).unwrap();
    let peak = PEAK.with(Cell::get) - before;
    let held = LIVE.with(Cell::get) - before;
    assert_eq!(plan.runs.len(), 10_000);
    assert!(plan
        .runs
        .iter()
        .all(|r| !r.cached && r.config.epochs == 100_000_000));
    let (peak_per_run, held_per_run) = (peak / 10_000, held / 10_000);
    eprintln!(
        "plan: {held_per_run} bytes per run held, {peak_per_run} at the peak; bound {per_run}"
    );
    assert!(
        peak_per_run as usize <= per_run,
        "{peak_per_run} bytes per run at the peak, over the bound {per_run}"
    );
    assert!(!dir.path().join("cache").exists(), "a plan writes nothing");
}

#[test]
fn an_oversized_plan_is_refused_before_planning() {
    // A legal path of 4 KB (`./` repeated) makes every run's config 4 KB.
    let long = format!("{}{}", "./".repeat(2000), CSV);
    let s = sweep(10_000, 100, &long);
    let e = s.check_plan_size().unwrap_err();
    assert_eq!(e.runs, 1_000_000);
    let text = e.to_string();
    assert!(
        text.contains("1000000 runs") && text.contains(&format!("{} MiB", BUDGET >> 20)),
        "{text}"
    );
    assert!(text.contains("fewer grid points or seeds"), "{text}");
    // The grid and seed caps with an ordinary config fit the budget.
    sweep(10_000, 100, CSV).check_plan_size().unwrap();
}

/// Run the binary to its end, killed after 300 s (a test must not hang).
fn dl(args: &[&str]) -> Output {
    let mut k = Command::new(env!("CARGO_BIN_EXE_dropout-lab"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_BACKTRACE")
        .spawn()
        .unwrap();
    let t = Instant::now();
    while k.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(300) {
            k.kill().unwrap();
            panic!("{args:?} ran over 300 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    k.wait_with_output().unwrap()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The configs a `--plan` lists (stdout: a JSON line per run).
fn planned(o: Output) -> Vec<serde_json::Value> {
    ok(o)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["config"].clone())
        .collect()
}

fn plan(grid: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let mut a = vec![
        "sweep",
        "--grid",
        grid,
        "--seeds",
        "1",
        "--data",
        CSV,
        "--arch",
        "{in}-16-{classes}",
        "--epochs",
        "1",
        "--plan",
        "--out",
    ];
    a.push(out.to_str().unwrap());
    a.extend_from_slice(extra);
    planned(dl(&a))
}

/// `--plan` trains nothing and writes nothing: no output or cache folder
/// (it made an empty cache folder).
#[test]
fn a_plan_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (out, cache) = (dir.path().join("out"), dir.path().join("cache"));
    for extra in [vec![], vec!["--cache", cache.to_str().unwrap()]] {
        let mut a = vec![
            "sweep",
            "--grid",
            "dropout=0,0.5",
            "--data",
            CSV,
            "--epochs",
            "1",
            "--plan",
            "--out",
            out.to_str().unwrap(),
        ];
        a.extend(extra);
        assert_eq!(planned(dl(&a)).len(), 6, "2 points × 3 seeds");
        assert!(!out.exists() && !cache.exists(), "--plan wrote a folder");
    }
}

/// Sorted values of one config field over the planned runs.
fn field(runs: &[serde_json::Value], group: &str, name: &str) -> Vec<f64> {
    let mut v: Vec<f64> = runs
        .iter()
        .map(|c| c[group][name].as_f64().unwrap())
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

fn close(got: &[f64], want: &[f64]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| (g - w).abs() <= 1e-6 * w.abs().max(1e-12))
}

/// Ranges written with exponents keep their values (they were rounded to
/// integers: weight decay 0, dropout 0 and 1, lr 0).
#[test]
fn ranges_in_scientific_notation_keep_their_values() {
    let wd = field(
        &plan("weight-decay=1e-5:5e-5:1e-5", &[]),
        "optim",
        "weight_decay",
    );
    assert!(close(&wd, &[1e-5, 2e-5, 3e-5, 4e-5, 5e-5]), "{wd:?}");
    let p = field(&plan("dropout=0:1:1e-1", &[]), "model", "dropout");
    let want: Vec<f64> = (0..=10).map(|i| f64::from(i as f32 / 10.0)).collect();
    assert!(close(&p, &want), "{p:?}");
    let lr = field(&plan("lr=1e-3:5e-3:1e-3", &[]), "optim", "lr");
    assert!(close(&lr, &[1e-3, 2e-3, 3e-3, 4e-3, 5e-3]), "{lr:?}");

    // tune's --p and --weight-decay-grid go through the same ranges.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t");
    let runs = planned(dl(&[
        "tune",
        "--p",
        "5e-2:2e-1:5e-2",
        "--weight-decay-grid",
        "1e-4:3e-4:1e-4",
        "--seeds",
        "1",
        "--data",
        CSV,
        "--arch",
        "{in}-16-{classes}",
        "--epochs",
        "1",
        "--plan",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(runs.len(), 12);
    let mut p = field(&runs, "model", "dropout");
    p.dedup();
    let want: Vec<f64> = [0.05f32, 0.1, 0.15, 0.2]
        .iter()
        .map(|&x| f64::from(x))
        .collect();
    assert!(close(&p, &want), "{p:?}");
    let mut wd = field(&runs, "optim", "weight_decay");
    wd.dedup();
    let want: Vec<f64> = [1e-4f32, 2e-4, 3e-4]
        .iter()
        .map(|&x| f64::from(x))
        .collect();
    assert!(close(&wd, &want), "{wd:?}");
}

/// Only options that take one number have ranges: a schedule or a momentum
/// ramp with colons is one value; a grid over built-in data sets runs.
#[test]
fn values_with_colons_and_data_sets_can_be_swept() {
    let runs = plan("schedule=step:5:0.5,constant,momentum-ramp=0.5:0.99:5", &[]);
    assert_eq!(runs.len(), 2);
    let mut s: Vec<String> = runs
        .iter()
        .map(|c| c["optim"]["schedule"].to_string())
        .collect();
    s.sort();
    assert_eq!(s, ["\"constant\"", "\"step:5:0.5\""]);
    assert!(runs
        .iter()
        .all(|c| c["optim"]["momentum_ramp"] == "0.5:0.99:5"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    let runs = planned(dl(&[
        "sweep",
        "--grid",
        "dataset=mnist,fashion",
        "--seeds",
        "1",
        "--train-size",
        "100",
        "--epochs",
        "1",
        "--plan",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(runs.len(), 2, "one run per data set");
}
