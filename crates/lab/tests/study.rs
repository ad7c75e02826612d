//! `dropout-lab study` end to end on the smoke-test budget: every claim is in
//! the report with a derived verdict, every figure is an SVG with data, no
//! NaN anywhere, and a second run resumes entirely from the cache.

use std::path::Path;
use std::process::Command;

fn study(out: &Path) -> (String, serde_json::Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_dropout-lab"))
        .args(["study", "--tiny", "--quiet", "--out", out.to_str().unwrap()])
        .output()
        .expect("run dropout-lab");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("results.json")).expect("results.json"),
    )
    .expect("valid JSON");
    (html, json, String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn tiny_study_report_has_every_claim_and_resumes_from_cache() {
    let out = std::env::temp_dir().join(format!("dropout-lab-study-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let (html, json, stdout) = study(&out);
    let claims = json["claims"].as_array().expect("claims array");
    let ids = lab::study::claim_ids();
    assert_eq!(
        claims.len(),
        ids.len(),
        "every registered claim is reported"
    );
    let verdicts = ["holds", "holds partly", "does not hold", "inconclusive"];
    for (c, &id) in claims.iter().zip(&ids) {
        assert_eq!(c["id"], id);
        assert!(
            verdicts.contains(&c["verdict"].as_str().unwrap_or("")),
            "{id}: verdict {}",
            c["verdict"]
        );
        for f in ["claim", "rule", "method", "key_number"] {
            assert!(
                c[f].as_str().is_some_and(|s| !s.is_empty()),
                "{id}: {f} missing"
            );
        }
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "{id} has no section"
        );
        assert!(
            stdout.contains(id),
            "{id} missing from the terminal summary"
        );
    }
    assert!(json["elapsed_s"].as_f64().is_some_and(|s| s > 0.0));
    // Figures: inline SVGs that draw something.
    let svgs: Vec<&str> = html.split("<svg").skip(1).collect();
    assert!(svgs.len() >= ids.len(), "only {} figures", svgs.len());
    for s in &svgs {
        let body = &s[..s.find("</svg>").expect("closed svg")];
        assert!(
            body.contains("<polyline") || body.contains("<circle") || body.contains("<rect"),
            "an empty figure"
        );
    }
    assert!(
        !html.contains("NaN") && !html.contains("inf "),
        "NaN in the report"
    );
    let text = serde_json::to_string(&json).unwrap();
    assert!(!text.contains("NaN"));
    assert!(
        !html.contains("http://")
            || html
                .matches("http://")
                .all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\"")),
        "network reference"
    );
    // Resume: the same command again trains nothing and finds the same numbers.
    let (_, json2, stdout2) = study(&out);
    assert!(stdout2.contains(" 0 runs trained now"), "{stdout2}");
    for (a, b) in claims.iter().zip(json2["claims"].as_array().unwrap()) {
        assert_eq!(a["numbers"], b["numbers"], "{} changed on resume", a["id"]);
    }
    std::fs::remove_dir_all(&out).ok();
}
