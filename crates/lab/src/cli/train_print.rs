//! What `train` prints: the data it read and the finished run's summary
//! (a language model's losses also per character in bits).

use lab::data::Splits;
use lab::train::Summary;

/// One line on the data: a text's blocks and symbols, or a data set's sizes.
pub(super) fn print_data(splits: &Splits) {
    match &splits.text {
        Some(t) => note!(
            "data: {} — a text of {} training, {} validation, {} test characters; {} symbols (the last for characters unseen in training)",
            splits.source,
            t.train.len(),
            t.val.len(),
            t.test.len(),
            t.vocab.len()
        ),
        None => note!(
            "data: {} — {} train, {} val, {} test, {} classes, sample shape {:?}",
            splits.source,
            splits.train.len(),
            splits.val.len(),
            splits.test.len(),
            splits.classes,
            splits.train.sample_shape
        ),
    }
}

/// The finished run: epochs, kept epoch, scores, throughput and time.
pub(super) fn print_summary(s: &Summary) {
    let e = s.eval();
    if let Some(dir) = &s.run_dir {
        out!("run           {}", dir.display());
    }
    if s.stopped_early {
        out!(
            "epochs        {} (stopped early: the validation loss stopped improving)",
            s.last.epoch
        );
    } else {
        out!("epochs        {}", s.last.epoch);
    }
    if let Some(k) = &s.kept {
        out!(
            "kept          epoch {}, the lowest validation loss (the scores below are that epoch's)",
            k.epoch
        );
    }
    out!(
        "train acc     {:.2}%  (loss {:.4})",
        100.0 * e.train.acc,
        e.train.loss
    );
    if let Some(v) = e.val {
        out!("val acc       {:.2}%  (loss {:.4})", 100.0 * v.acc, v.loss);
    }
    out!(
        "test acc      {:.2}%  (loss {:.4}, error {:.2}%)",
        100.0 * e.test.acc,
        e.test.loss,
        100.0 * (1.0 - e.test.acc)
    );
    out!(
        "gap           {:+.2} points (train − test accuracy)",
        100.0 * e.gap
    );
    if s.language_model {
        let bits = |l: f64| l / std::f64::consts::LN_2;
        out!(
            "per character  val {:.4} nats ({:.4} bits), test {:.4} nats ({:.4} bits); accuracy is next-character accuracy",
            e.val.map_or(f64::NAN, |v| v.loss),
            e.val.map_or(f64::NAN, |v| bits(v.loss)),
            e.test.loss,
            bits(e.test.loss)
        );
    }
    if !s.learned_p.is_empty() {
        let ps: Vec<String> = s.learned_p.iter().map(|p| format!("{p:.4}")).collect();
        out!(
            "learned p     {} (Concrete dropout, layer order)",
            ps.join(", ")
        );
    }
    out!("throughput    {:.0} samples/s", s.samples_per_s);
    out!("wall time     {:.1} s", s.wall_s);
}
