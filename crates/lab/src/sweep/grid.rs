//! A sweep's grid, as the user writes it:
//!
//! ```text
//! grid   = axis ("," axis)*            axis = name "=" values
//! values = a ":" b ":" step            a, a + step, …, up to b (inclusive, within step/1000)
//!        | v ("," v)*                  a list: a comma not followed by `name=` continues it
//! points = axis₁ × axis₂ × …           (the first axis varies slowest)
//! ```
//! `dropout=0:0.8:0.1,lr=0.01,0.05` is 9 × 2 = 18 points. A name is a
//! `train` option without its dashes (`weight-decay` or `weight_decay`); a
//! value is any text that option takes. Range values are printed with the
//! step's decimals, so `0:0.3:0.1` gives 0, 0.1, 0.2, 0.3 (not 0.30000000000000004).

use std::fmt;

/// An axis: an option name and its values, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The option, dashed (`weight-decay`).
    pub name: String,
    /// Its values as text.
    pub values: Vec<String>,
}

/// Why a grid cannot be read.
#[derive(Clone, Debug, PartialEq)]
pub struct GridError(pub String);

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; write it as name=values,… e.g. 'dropout=0:0.8:0.1,lr=0.01,0.05' (a:b:step is a range)",
            self.0
        )
    }
}

impl std::error::Error for GridError {}

/// Most points a grid may have (before seeds).
pub const MAX_POINTS: usize = 10_000;

/// Decimals of a number as written (`0.05` → 2).
fn decimals(s: &str) -> usize {
    s.split_once('.').map_or(0, |(_, d)| d.trim_end().len())
}

/// The values of `a:b:step`.
fn range(text: &str) -> Result<Vec<String>, GridError> {
    let parts: Vec<&str> = text.split(':').collect();
    let bad = |why: &str| GridError(format!("range `{text}`: {why}"));
    let [a, b, step] = parts[..] else {
        return Err(bad("a range is a:b:step"));
    };
    let num = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(&format!("`{s}` is not a number")))
    };
    let (lo, hi, st) = (num(a)?, num(b)?, num(step)?);
    if st <= 0.0 || hi < lo {
        return Err(bad("it needs a ≤ b and a step > 0"));
    }
    let n = ((hi - lo) / st + 1e-3).floor() as usize + 1;
    if n > MAX_POINTS {
        return Err(bad(&format!("{n} values, over {MAX_POINTS}")));
    }
    let dec = decimals(a).max(decimals(step));
    Ok((0..n)
        .map(|i| format!("{:.*}", dec, lo + i as f64 * st))
        .collect())
}

/// Read a grid.
///
/// # Errors
/// An empty grid, an axis without `=`, a repeated name, a bad range, too many points.
pub fn parse(text: &str) -> Result<Vec<Axis>, GridError> {
    let mut axes: Vec<Axis> = Vec::new();
    for tok in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let value = match tok.split_once('=') {
            Some((name, v)) => {
                let name = name.trim().trim_start_matches('-').replace('_', "-");
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(GridError(format!("`{tok}`: no option name before `=`")));
                }
                if axes.iter().any(|a| a.name == name) {
                    return Err(GridError(format!("`{name}` appears twice")));
                }
                axes.push(Axis {
                    name,
                    values: vec![],
                });
                v.trim()
            }
            None => tok,
        };
        let Some(axis) = axes.last_mut() else {
            return Err(GridError(format!("`{tok}` comes before any name=")));
        };
        if value.is_empty() {
            return Err(GridError(format!("`{}` has an empty value", axis.name)));
        }
        if value.matches(':').count() == 2 {
            axis.values.extend(range(value)?);
        } else {
            axis.values.push(value.to_string());
        }
    }
    if axes.is_empty() {
        return Err(GridError("the grid is empty".into()));
    }
    let points = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
        .unwrap_or(usize::MAX);
    if points > MAX_POINTS {
        return Err(GridError(format!("{points} points, over {MAX_POINTS}")));
    }
    Ok(axes)
}

/// Every point of the grid: (name, value) per axis, the first axis slowest.
pub fn points(axes: &[Axis]) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![vec![]];
    for a in axes {
        out = out
            .into_iter()
            .flat_map(|p| {
                a.values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((a.name.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example() {
        let g = parse("dropout=0:0.8:0.1,lr=0.01,0.05").unwrap();
        assert_eq!(g[0].name, "dropout");
        assert_eq!(
            g[0].values,
            ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8"]
        );
        assert_eq!(g[1].values, ["0.01", "0.05"]);
        let p = points(&g);
        assert_eq!(p.len(), 18);
        assert_eq!(
            p[1],
            [
                ("dropout".into(), "0.0".into()),
                ("lr".into(), "0.05".into())
            ]
        );
    }

    #[test]
    fn names_values_and_errors() {
        let g = parse("--weight_decay=0,1e-4, optimizer=adam").unwrap();
        assert_eq!(g[0].name, "weight-decay");
        assert_eq!(g[0].values, ["0", "1e-4"]);
        assert_eq!(g[1].values, ["adam"]);
        assert_eq!(
            parse("lr=0.1:0.3:0.1").unwrap()[0].values,
            ["0.1", "0.2", "0.3"]
        );
        for bad in [
            "",
            "0.1,lr=1",
            "lr=",
            "lr=1,lr=2",
            "p=1:0:0.1",
            "p=0:1:0",
            "p=a:1:0.1",
            "=3",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("a=0:1:0.0001,b=0:1:0.01").is_err(), "too many points");
        assert!(parse("").unwrap_err().to_string().contains("e.g."));
    }
}
