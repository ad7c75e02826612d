//! Progress for long work: indicatif bars on a terminal, plain lines
//! otherwise (a log, CI, a pipe), so a long run is never silent.

use std::io::IsTerminal;
use std::sync::Mutex;

use super::study_eta::StudyEta;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use lab::runner::Progress;
use lab::train::{EpochMetrics, TrainObserver};

/// Whether bars can be drawn (stderr is a terminal).
pub fn is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("static template")
        .progress_chars("=> ")
}

/// A bar of `len` steps, hidden when `show` is false or stderr is not a terminal.
pub fn bar(len: u64, template: &str, show: bool) -> ProgressBar {
    let b = ProgressBar::new(len).with_style(style(template));
    if !show || !is_terminal() {
        b.set_draw_target(ProgressDrawTarget::hidden());
    }
    b
}

/// The train loop's progress: a bar of steps per epoch, a line per epoch,
/// and off a terminal a plain line every [`line_interval`] within an epoch
/// (`epoch e/E: step s/S, about T left`), so a log is never silent for long.
pub struct TrainProgress {
    bar: ProgressBar,
    /// Print one line per epoch (the text output).
    pub lines: bool,
    due: Due,
    start: std::time::Instant,
    epoch: usize,
    epochs: usize,
    step: u64,
    steps: u64,
    /// Steps taken by this process (a resumed run starts later).
    taken: u64,
}

impl TrainProgress {
    /// Bars when on a terminal and `show`; epoch lines when `lines`; plain
    /// step lines off a terminal when `ticks`.
    pub fn new(show: bool, lines: bool, ticks: bool) -> Self {
        Self {
            bar: bar(
                0,
                "{prefix:>10} [{bar:30}] {pos}/{len} steps ({eta} left)",
                show,
            ),
            lines,
            due: Due::new(ticks),
            start: std::time::Instant::now(),
            epoch: 0,
            epochs: 0,
            step: 0,
            steps: 0,
            taken: 0,
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl TrainObserver for TrainProgress {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, steps: usize) {
        self.bar.reset();
        self.bar.set_length(steps as u64);
        self.bar.set_prefix(format!("epoch {epoch}/{epochs}"));
        (self.epoch, self.epochs, self.step, self.steps) = (epoch, epochs, 0, steps as u64);
    }

    fn step(&mut self) {
        self.bar.inc(1);
        self.step += 1;
        self.taken += 1;
        if self.due.now() {
            let left = (self.epochs - self.epoch) as u64 * self.steps + self.steps - self.step;
            let el = self.start.elapsed().as_secs_f64();
            say(&format!(
                "epoch {}/{}: step {}/{} ({:.0} %), {} elapsed, about {} left",
                self.epoch,
                self.epochs,
                self.step,
                self.steps,
                100.0 * self.step as f64 / self.steps.max(1) as f64,
                secs(el),
                eta(el, self.taken, self.taken + left)
            ));
        }
    }

    fn epoch_end(&mut self, m: &EpochMetrics) {
        if !self.lines {
            return;
        }
        // Validation only: the test set is scored once, at the end.
        let scores = m.eval.map_or(String::new(), |e| {
            let val = e.val.map_or(String::new(), |v| {
                format!("  val {:.2}% (loss {:.4})", 100.0 * v.acc, v.loss)
            });
            format!("  train {:.2}%{val}", 100.0 * e.train.acc)
        });
        self.bar.suspend(|| {
            note!(
                "epoch {:>3}  lr {}  loss {:.4}{scores}  ({:.1}s training so far)",
                m.epoch,
                // A warm-up's first rates are far below 1e-4: show them, not 0.0000.
                if m.lr != 0.0 && m.lr.abs() < 1e-3 {
                    format!("{:.2e}", m.lr)
                } else {
                    format!("{:.4}", m.lr)
                },
                m.train_batch_loss,
                m.train_s
            );
        });
    }
}

/// The study's progress: an overall bar of claims, a bar per claim, and a
/// line per finished claim (always printed, bars or not).
pub struct StudyBars {
    multi: MultiProgress,
    overall: ProgressBar,
    current: Mutex<Option<ProgressBar>>,
    bars: bool,
    lines: bool,
    /// Off a terminal: when the next plain line is due, and the claim's start.
    plain: Mutex<(Due, std::time::Instant)>,
    claims: usize,
    eta: Mutex<Option<StudyEta>>,
}

impl StudyBars {
    /// Bars for `claims` claims on a terminal, plain lines elsewhere; nothing when `show` is false.
    pub fn new(claims: usize, show: bool) -> Self {
        let bars = show && is_terminal();
        let multi = MultiProgress::new();
        if !bars {
            multi.set_draw_target(ProgressDrawTarget::hidden());
        }
        let overall = multi.add(ProgressBar::new(claims as u64));
        overall.set_style(style(
            "study [{bar:30}] {pos}/{len} claims ({elapsed})  {msg}",
        ));
        Self {
            multi,
            overall,
            current: Mutex::new(None),
            bars,
            lines: show,
            plain: Mutex::new((Due::new(show), std::time::Instant::now())),
            claims,
            eta: Mutex::new(None),
        }
    }

    /// Show the study's time left from these estimates.
    pub fn with_eta(self, eta: StudyEta) -> Self {
        *self.eta.lock().expect("eta lock") = Some(eta);
        self
    }

    /// The study's time left while claim `id` is `frac` done ("" without estimates).
    fn left(&self, id: &str, frac: f64) -> String {
        self.eta
            .lock()
            .ok()
            .and_then(|e| {
                e.as_ref().map(|e| {
                    let (left, pending) = e.left(id, frac);
                    let bound = if pending { "at least" } else { "about" };
                    format!(", study {bound} {} left (estimate)", secs(left))
                })
            })
            .unwrap_or_default()
    }
}

impl Progress for StudyBars {
    fn job_start(&self, id: &str, units: usize) {
        if let Some(e) = self.eta.lock().expect("eta lock").as_mut() {
            e.start();
        }
        self.overall
            .set_message(format!("{id}{}", self.left(id, 0.0)));
        let b = self.multi.add(ProgressBar::new(units as u64));
        b.set_style(style("  {prefix:>5} [{bar:30}] {pos}/{len} {msg}"));
        b.set_prefix(id.to_string());
        if let Some(old) = self.current.lock().expect("bar lock").replace(b) {
            old.finish_and_clear();
        }
        if let Ok(mut p) = self.plain.lock() {
            p.1 = std::time::Instant::now();
        }
    }

    fn tick(&self, what: &str) {
        let Some(b) = self.current.lock().expect("bar lock").clone() else {
            return;
        };
        b.set_message(what.to_string());
        b.inc(1);
        let (done, len) = (b.position(), b.length().unwrap_or(0));
        let id = b.prefix().trim().to_string();
        let study_left = self.left(&id, done as f64 / len.max(1) as f64);
        self.overall.set_message(format!("{id}{study_left}"));
        let Ok(mut p) = self.plain.lock() else {
            return;
        };
        if p.0.now() {
            let el = p.1.elapsed().as_secs_f64();
            say(&format!(
                "{id} ({} of {}): {done}/{len} done, last {what}; {} elapsed, about {} left in it{study_left}",
                self.overall.position() + 1,
                self.claims,
                secs(el),
                eta(el, done, len)
            ));
        }
    }

    fn job_end(&self, id: &str, outcome: &str, secs: f64) {
        if let Some(e) = self.eta.lock().expect("eta lock").as_mut() {
            e.end(id);
        }
        if let Some(b) = self.current.lock().expect("bar lock").take() {
            b.finish_and_clear();
        }
        self.overall.inc(1);
        self.line(format!("{id:<5} {outcome}  ({secs:.0} s)"));
    }

    fn warn(&self, msg: &str) {
        // Shown even when progress is not.
        let line = format!("warning: {msg}");
        if self.bars {
            self.overall.println(line);
        } else {
            note!("{line}");
        }
    }
}

impl StudyBars {
    fn line(&self, line: String) {
        if self.bars {
            self.overall.println(line);
        } else if self.lines {
            note!("{line}");
        }
    }
}

impl Drop for StudyBars {
    fn drop(&mut self) {
        self.overall.finish_and_clear();
    }
}

/// Seconds between plain progress lines: `DROPOUT_LAB_PROGRESS_SECS` (tests
/// shorten it; 0 = every step), else 20, so a log never waits ~30 s for one.
pub fn line_interval() -> std::time::Duration {
    let secs = std::env::var("DROPOUT_LAB_PROGRESS_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(20.0);
    std::time::Duration::from_secs_f64(secs.min(86_400.0))
}

/// When the next plain line is due: every [`line_interval`] while stderr is
/// not a terminal (a log, a pipe), never on one (bars show progress there).
pub struct Due {
    every: Option<std::time::Duration>,
    last: std::time::Instant,
}

impl Due {
    /// Lines when `show` and stderr is not a terminal.
    pub fn new(show: bool) -> Self {
        Self {
            every: (show && !is_terminal()).then(line_interval),
            last: std::time::Instant::now(),
        }
    }

    /// Whether a line is due now (and, if so, the clock restarts).
    pub fn now(&mut self) -> bool {
        let Some(every) = self.every else {
            return false;
        };
        let now = std::time::Instant::now();
        if now.duration_since(self.last) < every {
            return false;
        }
        self.last = now;
        true
    }
}

/// Print `line` on stderr; a closed stderr (`2>&1 | head`) ends the lines, not the work.
pub fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// About how long is left after `done` of `total` units took `elapsed` seconds.
pub fn eta(elapsed: f64, done: u64, total: u64) -> String {
    if done == 0 {
        return "unknown".into();
    }
    secs(elapsed * total.saturating_sub(done) as f64 / done as f64)
}

/// Steps of long work: a bar on a terminal; elsewhere a plain line
/// `what: done/total unit (p %), elapsed, about T left` every
/// [`line_interval`]; nothing when `show` is false.
pub struct Ticker {
    bar: ProgressBar,
    what: String,
    unit: String,
    total: u64,
    done: u64,
    start: std::time::Instant,
    due: Due,
}

impl Ticker {
    /// `total` steps of `what` (e.g. "MC dropout", in "passes").
    pub fn new(what: &str, unit: &str, total: u64, show: bool) -> Self {
        let now = std::time::Instant::now();
        let template = format!("{what} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{eta}} left)");
        Self {
            bar: bar(total, &template, show),
            what: what.to_string(),
            unit: unit.to_string(),
            total,
            done: 0,
            start: now,
            due: Due::new(show),
        }
    }

    /// One step done.
    pub fn inc(&mut self) {
        self.done += 1;
        self.bar.inc(1);
        if !self.due.now() {
            return;
        }
        let el = self.start.elapsed().as_secs_f64();
        say(&format!(
            "{}: {}/{} {} ({:.0} %), {} elapsed, about {} left",
            self.what,
            self.done,
            self.total,
            self.unit,
            100.0 * self.done as f64 / self.total.max(1) as f64,
            secs(el),
            eta(el, self.done, self.total)
        ));
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `42 s`, `3 min 05 s`, `2 h 07 min`.
pub fn secs(s: f64) -> String {
    let s = s.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}
