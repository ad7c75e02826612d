//! Which shard this process is, and how many threads it has, from the
//! scheduler's environment or the flags:
//!
//! ```text
//! Slurm array   : index = (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP
//!                 count = --shards, else SLURM_ARRAY_TASK_COUNT   (MIN 0, STEP 1 when unset)
//!                 (--array=0-15:4: tasks 0, 4, 8, 12 are shards 0..3 of 4)
//! Kubernetes    : index = JOB_COMPLETION_INDEX, count = --shards
//! checked       : 1 ≤ count ≤ MAX_SHARDS, index < count, ID − MIN a multiple of STEP;
//!                 a variable that is set but not a number is named as such (not "missing")
//! threads       : SLURM_CPUS_PER_TASK, else ⌈quota / period⌉ of the cgroup's cpu.max
//! ```

use super::Shard;

/// Most shards a job may have.
pub const MAX_SHARDS: usize = 100_000;

/// Why the shard cannot be what it was given as.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// A scheduler variable is set to something that is not a count.
    #[error("{var}={value:?} is not a whole number ≥ 0; the scheduler sets it (unset it, or give --shard I/N)")]
    NotANumber {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// A variable the others need is not set.
    #[error("{var} is not set, but {with} is; give --shard I/N (e.g. --shard 1/4) or {hint}")]
    Unset {
        /// The missing variable.
        var: &'static str,
        /// The one that is set.
        with: &'static str,
        /// How to give it.
        hint: &'static str,
    },
    /// The array task is not one of the array's steps.
    #[error("SLURM_ARRAY_TASK_ID={id} is not SLURM_ARRAY_TASK_MIN={min} plus a multiple of SLURM_ARRAY_TASK_STEP={step} (an array like --array=0-15:4 gives shards (ID − MIN) / STEP); give --shard I/N for other arrays")]
    OffStep {
        /// The task id.
        id: usize,
        /// The array's first id.
        min: usize,
        /// Its step.
        step: usize,
    },
    /// The count is 0 or above [`MAX_SHARDS`].
    #[error("{count} shards: use 1 to {MAX_SHARDS}")]
    Count {
        /// The count given.
        count: usize,
    },
    /// The index is not below the count.
    #[error("shard {index} (0-based{from}) of {count}: the index must be below the count; {hint}")]
    Index {
        /// 0-based.
        index: usize,
        /// The count.
        count: usize,
        /// Where the index came from (`, from SLURM_ARRAY_TASK_ID=8 …`).
        from: String,
        /// What to do.
        hint: &'static str,
    },
}

impl Shard {
    /// Shard `index` (0-based) of `count`, checked.
    ///
    /// # Errors
    /// [`ShardError::Count`], [`ShardError::Index`].
    pub fn new(index: usize, count: usize) -> Result<Self, ShardError> {
        Self::checked(
            index,
            count,
            String::new(),
            "--shard I/N is 1-based: 1 ≤ I ≤ N",
        )
    }

    fn checked(
        index: usize,
        count: usize,
        from: String,
        hint: &'static str,
    ) -> Result<Self, ShardError> {
        if count == 0 || count > MAX_SHARDS {
            return Err(ShardError::Count { count });
        }
        if index >= count {
            return Err(ShardError::Index {
                index,
                count,
                from,
                hint,
            });
        }
        Ok(Self { index, count })
    }
}

/// The shard this process is, from the scheduler's environment: a Slurm
/// array task, `(SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) /
/// SLURM_ARRAY_TASK_STEP` of `SLURM_ARRAY_TASK_COUNT` (MIN 0 and STEP 1
/// when unset; `count` given overrides the count), or Kubernetes'
/// `JOB_COMPLETION_INDEX` with `count` given. `Ok(None)` when neither is set.
///
/// # Errors
/// A variable that is set but not a number, one that is missing beside the
/// others, a task off the array's steps, a shard beyond the count.
pub fn from_env(
    get: impl Fn(&str) -> Option<String>,
    count: Option<usize>,
) -> Result<Option<Shard>, ShardError> {
    let num = |var: &'static str| -> Result<Option<usize>, ShardError> {
        match get(var) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Ok(None),
            Some(v) => v
                .trim()
                .parse::<usize>()
                .map(Some)
                .map_err(|_| ShardError::NotANumber { var, value: v }),
        }
    };
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let n = match (count, num("SLURM_ARRAY_TASK_COUNT")?) {
            (Some(n), _) | (None, Some(n)) => n,
            (None, None) => {
                return Err(ShardError::Unset {
                    var: "SLURM_ARRAY_TASK_COUNT",
                    with: "SLURM_ARRAY_TASK_ID",
                    hint: "--shards N",
                })
            }
        };
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let off = id.checked_sub(min).filter(|o| o % step == 0);
        let Some(off) = off else {
            return Err(ShardError::OffStep { id, min, step });
        };
        let from = format!(
            ", from SLURM_ARRAY_TASK_ID={id} − SLURM_ARRAY_TASK_MIN={min} over SLURM_ARRAY_TASK_STEP={step}"
        );
        return Shard::checked(
            off / step,
            n,
            from,
            "the array has more tasks than SLURM_ARRAY_TASK_COUNT (or --shards) says; give --shard I/N",
        )
        .map(Some);
    }
    let Some(index) = num("JOB_COMPLETION_INDEX")? else {
        return Ok(None);
    };
    let Some(n) = count else {
        return Err(ShardError::Unset {
            var: "--shards",
            with: "JOB_COMPLETION_INDEX",
            hint: "--shards N (the Job's completions)",
        });
    };
    Shard::checked(
        index,
        n,
        format!(", from JOB_COMPLETION_INDEX={index}"),
        "--shards must be the Job's completions",
    )
    .map(Some)
}

/// Threads the scheduler gave this process: `SLURM_CPUS_PER_TASK`, else the
/// cgroup's CPU quota (`cpu.max`, as Kubernetes sets from a pod's CPU
/// limit), else `None` (use the default).
pub fn threads_from_env(
    get: impl Fn(&str) -> Option<String>,
    cpu_max: Option<String>,
) -> Option<usize> {
    if let Some(n) = get("SLURM_CPUS_PER_TASK").and_then(|v| v.trim().parse().ok()) {
        return Some(n).filter(|&n: &usize| n > 0);
    }
    let text = cpu_max?;
    let mut it = text.split_whitespace();
    let (quota, period) = (it.next()?, it.next()?);
    let (q, p) = (quota.parse::<f64>().ok()?, period.parse::<f64>().ok()?);
    (p > 0.0).then(|| ((q / p).ceil() as usize).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn shards_from_slurm_and_kubernetes() {
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ];
        assert_eq!(
            from_env(env(&slurm), None),
            Ok(Some(Shard { index: 2, count: 4 }))
        );
        let k8s = [("JOB_COMPLETION_INDEX", "5")];
        assert_eq!(
            from_env(env(&k8s), Some(8)),
            Ok(Some(Shard { index: 5, count: 8 }))
        );
        let e = from_env(env(&k8s), None).unwrap_err().to_string();
        assert!(e.contains("--shards"), "the count must be given: {e}");
        assert_eq!(from_env(env(&[]), Some(2)), Ok(None));
    }

    /// `--array=0-15:4`: tasks 0, 4, 8, 12 are shards 0..3 of 4.
    #[test]
    fn slurm_arrays_with_a_step() {
        for (id, rank) in [("0", 0), ("4", 1), ("8", 2), ("12", 3)] {
            let v = [
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_MAX", "12"),
                ("SLURM_ARRAY_TASK_STEP", "4"),
            ];
            assert_eq!(
                from_env(env(&v), None),
                Ok(Some(Shard {
                    index: rank,
                    count: 4
                })),
                "task {id}"
            );
        }
        let off = [
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_STEP", "4"),
        ];
        let e = from_env(env(&off), None).unwrap_err().to_string();
        assert!(
            e.contains("SLURM_ARRAY_TASK_STEP=4") && e.contains("--shard I/N"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_are_named_not_missing() {
        let abc = [
            ("SLURM_ARRAY_TASK_ID", "abc"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        let e = from_env(env(&abc), None).unwrap_err();
        assert_eq!(
            e,
            ShardError::NotANumber {
                var: "SLURM_ARRAY_TASK_ID",
                value: "abc".into()
            }
        );
        assert!(e.to_string().contains("SLURM_ARRAY_TASK_ID=\"abc\""), "{e}");
        let no_count = [("SLURM_ARRAY_TASK_ID", "1")];
        let e = from_env(env(&no_count), None).unwrap_err().to_string();
        assert!(e.contains("SLURM_ARRAY_TASK_COUNT is not set"), "{e}");
        assert_eq!(
            from_env(env(&no_count), Some(2)),
            Ok(Some(Shard { index: 1, count: 2 })),
            "--shards gives the count"
        );
        let over = [
            ("SLURM_ARRAY_TASK_ID", "8"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        let e = from_env(env(&over), None).unwrap_err().to_string();
        assert!(e.contains("SLURM_ARRAY_TASK_ID=8"), "{e}");
        assert_eq!(
            Shard::new(0, 100_001),
            Err(ShardError::Count { count: 100_001 })
        );
        assert!(Shard::new(0, 100_001)
            .unwrap_err()
            .to_string()
            .contains("1 to 100000"));
        assert!(Shard::new(0, 0).is_err() && Shard::new(4, 4).is_err());
    }

    #[test]
    fn threads_from_slurm_or_the_cgroup() {
        let slurm = [("SLURM_CPUS_PER_TASK", "8")];
        assert_eq!(threads_from_env(env(&slurm), None), Some(8));
        assert_eq!(
            threads_from_env(env(&[]), Some("150000 100000\n".into())),
            Some(2)
        );
        assert_eq!(threads_from_env(env(&[]), Some("max 100000".into())), None);
        assert_eq!(threads_from_env(env(&[]), None), None);
    }
}
