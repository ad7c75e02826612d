//! A sweep's grid, as the user writes it:
//!
//! ```text
//! grid   = axis ("," axis)*            axis = name "=" values
//! values = a ":" b ":" step            a, a + step, …, up to b (inclusive, within step/1000),
//!                                      for options that take one number only
//!        | v ("," v)*                  a list: a comma not followed by `name=` continues it
//! points = axis₁ × axis₂ × …           (the first axis varies slowest)
//! count  = ⌊(b − a)/step + 10⁻³⌋ + 1   computed in f64, checked against MAX_POINTS before use
//! dec    = max over a, step of (digits after '.' − exponent)     (`5e-2` → 2, `0.25` → 2, `1e3` → 0)
//! value  = a + i·step printed with dec decimals                  (0:0.3:0.1 → 0.0 0.1 0.2 0.3)
//! ```
//! `dropout=0:0.8:0.1,lr=0.01,0.05` is 9 × 2 = 18 points. A name is a
//! `train` option without its dashes (`weight-decay` or `weight_decay`); a
//! value is any text that option takes. Whether an option takes one number
//! is the caller's to say ([`parse`]'s `numeric`): any other option's value
//! with colons (`schedule=step:5:0.5`, `momentum-ramp=0.5:0.99:5`) is one
//! literal value. A range's values are printed with the decimals of its
//! start and step as written — counting the exponent, so `1e-5:5e-5:1e-5`
//! gives 0.00001 … 0.00005 — and each parses back to a + i·step rounded to
//! those decimals (not 0.30000000000000004, and never rounded to an integer).

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

/// Most decimals a range value is printed with (below f64's smallest
/// subnormal, 4.9e-324, every digit is 0).
const MAX_DECIMALS: i64 = 340;

/// Decimals needed to write a number as written exactly in fixed notation:
/// digits after the point minus the exponent (`0.05` → 2, `5e-2` → 2,
/// `1.5E-3` → 4, `1e3` → 0).
fn decimals(s: &str) -> usize {
    let s = s.trim();
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => {
            let e = &s[i + 1..];
            // An exponent beyond i64 (the number parsed, so it is 0 or huge): saturate.
            let exp = e.parse::<i64>().unwrap_or(if e.starts_with('-') {
                i64::MIN / 2
            } else {
                i64::MAX / 2
            });
            (&s[..i], exp)
        }
        None => (s, 0),
    };
    let frac = mantissa.split_once('.').map_or(0, |(_, d)| d.len()) as i64;
    frac.saturating_sub(exp).clamp(0, MAX_DECIMALS) as usize
}

/// The values of `a:b:step`.
fn range(text: &str) -> Result<Vec<String>, GridError> {
    let parts: Vec<&str> = text.split(':').collect();
    let bad = |why: &str| GridError(format!("range `{text}`: {why}"));
    let [a, b, step] = parts[..] else {
        return Err(bad("a range is a:b:step (three numbers)"));
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
    // In f64: (b − a)/step may be far beyond usize (or infinite).
    let count = ((hi - lo) / st + 1e-3).floor() + 1.0;
    // Never NaN: b − a is finite and step > 0 (an overflow is +∞).
    if count > MAX_POINTS as f64 {
        return Err(bad(&format!(
            "{count:.0} values, over the {MAX_POINTS} a grid may have; use a larger step"
        )));
    }
    let dec = decimals(a).max(decimals(step));
    Ok((0..count as usize)
        .map(|i| format!("{:.*}", dec, lo + i as f64 * st))
        .collect())
}

/// Read a grid; `numeric(name)` says whether option `name` (dashed) takes
/// one number, so that `a:b:step` is a range of it (any other value is
/// taken as written).
///
/// # Errors
/// An empty grid, an axis without `=`, a repeated name, a bad range, too
/// many points (or none).
pub fn parse(text: &str, numeric: &dyn Fn(&str) -> bool) -> Result<Vec<Axis>, GridError> {
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
        if value.contains(':') && numeric(&axis.name) {
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
    if points == 0 {
        return Err(GridError("the grid has no points".into()));
    }
    if points > MAX_POINTS {
        return Err(GridError(format!(
            "{points} points, over the {MAX_POINTS} a grid may have"
        )));
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

    fn all(_: &str) -> bool {
        true
    }

    fn values(text: &str) -> Vec<String> {
        parse(text, &all).unwrap().remove(0).values
    }

    #[test]
    fn the_issue_example() {
        let g = parse("dropout=0:0.8:0.1,lr=0.01,0.05", &all).unwrap();
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
        let g = parse("--weight_decay=0,1e-4, optimizer=adam", &all).unwrap();
        assert_eq!(g[0].name, "weight-decay");
        assert_eq!(g[0].values, ["0", "1e-4"]);
        assert_eq!(g[1].values, ["adam"]);
        assert_eq!(values("lr=0.1:0.3:0.1"), ["0.1", "0.2", "0.3"]);
        for bad in [
            "",
            "0.1,lr=1",
            "lr=",
            "lr=1,lr=2",
            "p=1:0:0.1",
            "p=0:1:0",
            "p=a:1:0.1",
            "p=0:1",
            "=3",
        ] {
            assert!(parse(bad, &all).is_err(), "{bad}");
        }
        assert!(
            parse("a=0:1:0.0001,b=0:1:0.01", &all).is_err(),
            "too many points"
        );
        assert!(parse("", &all).unwrap_err().to_string().contains("e.g."));
    }

    /// Every range value parses back to a + i·step (to the written decimals),
    /// whether the numbers are written with a point or an exponent.
    #[test]
    fn scientific_notation_keeps_its_decimals() {
        assert_eq!(
            values("weight-decay=1e-5:5e-5:1e-5"),
            ["0.00001", "0.00002", "0.00003", "0.00004", "0.00005"]
        );
        let d = values("dropout=0:1:1e-1");
        assert_eq!(d.len(), 11, "{d:?}");
        assert_eq!((d[1].as_str(), d[10].as_str()), ("0.1", "1.0"));
        assert_eq!(values("p=5e-2:2e-1:5e-2"), ["0.05", "0.10", "0.15", "0.20"]);
        assert_eq!(values("wd=1e-4:3e-4:1e-4"), ["0.0001", "0.0002", "0.0003"]);
        assert_eq!(
            values("lr=1e-3:5e-3:1e-3"),
            ["0.001", "0.002", "0.003", "0.004", "0.005"]
        );
        assert_eq!(values("lr=1.5E-3:3e-3:1.5e-3"), ["0.0015", "0.0030"]);
        assert_eq!(values("n=1e3:3e3:1e3"), ["1000", "2000", "3000"]);
        assert_eq!(values("x=0:0.5:0.25"), ["0.00", "0.25", "0.50"]);
        for (text, step) in [
            ("a=1e-5:5e-5:1e-5", 1e-5),
            ("a=0:1:1e-1", 0.1),
            ("a=2.5e-7:1e-6:2.5e-7", 2.5e-7),
            ("a=1e-30:4e-30:1e-30", 1e-30),
        ] {
            let lo: f64 = text[2..].split(':').next().unwrap().parse().unwrap();
            for (i, v) in values(text).iter().enumerate() {
                let want = lo + i as f64 * step;
                let got: f64 = v.parse().unwrap();
                assert!(
                    (got - want).abs() <= want.abs() * 1e-9,
                    "{text}: {v} ≠ {want}"
                );
            }
        }
        assert_eq!(decimals("1e-99999"), MAX_DECIMALS as usize);
        assert_eq!(decimals("7e99999"), 0);
    }

    /// A count beyond usize (or one that wraps) is refused, never an empty grid.
    #[test]
    fn huge_ranges_are_refused_not_wrapped() {
        for text in ["dropout=0:1e20:1", "x=0:1e300:1e-300", "x=0:1:1e-320"] {
            let e = parse(text, &all).unwrap_err().to_string();
            assert!(e.contains("over the 10000"), "{text}: {e}");
        }
        let e = parse("x=0:1e20:1", &all).unwrap_err().to_string();
        assert!(e.contains("100000000000000000000 values"), "{e}");
    }

    /// Only options that take one number have ranges; other values with
    /// colons (a schedule, a momentum ramp) are one literal value.
    #[test]
    fn colons_of_other_options_are_literal() {
        let numeric = |n: &str| n == "dropout";
        let g = parse(
            "schedule=step:5:0.5,constant,momentum-ramp=0.5:0.99:5,dropout=0:0.2:0.1",
            &numeric,
        )
        .unwrap();
        assert_eq!(g[0].values, ["step:5:0.5", "constant"]);
        assert_eq!(g[1].values, ["0.5:0.99:5"]);
        assert_eq!(g[2].values, ["0.0", "0.1", "0.2"]);
        assert!(parse("dropout=0:1", &numeric).is_err(), "not a:b:step");
    }
}
