//! The benchmarks' shared parts: the generated features and the production gate of the
//! standard policy written by hand over `serde_json::Value` (the baseline). Also compiled into
//! `bench-engines/`, which runs the same gate in regorus and cel-interpreter.

use phasev_runtime::decide::Verdict;
use serde_json::{Value as Json, json};

/// Deterministic features: most pass, some fail one requirement, some lack a fact.
pub fn features(n: usize) -> Json {
    let mut map = serde_json::Map::new();
    for i in 0..n {
        let mut f = json!({
            "feature": {"depends_on": [{"name": "payments", "stage": "cloud_prod"}],
                        "budget": {"latency_p95": 250.0, "error_rate": 0.001}},
            "tests": {"e2e": {"total": 11, "passed": 11, "failed": 0, "skipped": 0}},
            "kafka": {"groups": [{"name": "c1", "members": 3, "lag": 120, "balanced": true},
                                 {"name": "c2", "members": 2, "lag": (i % 1500), "balanced": true}]},
            "metrics": {"latency_p95": 150.0 + (i % 120) as f64, "error_rate": 0.0004},
            "baseline": {"metrics": {"latency_p95": 200.0}},
            "rollback": {"tested": i % 17 != 0},
        });
        if i % 23 == 0 {
            f["tests"]["e2e"]["failed"] = json!(1);
        }
        if i % 31 == 0 {
            f["metrics"].as_object_mut().unwrap().remove("error_rate");
        }
        map.insert(format!("feature-{i:05}"), f);
    }
    json!({ "features": map })
}

// ── the hand-written gate ──────────────────────────────────────────────────

fn at<'a>(v: &'a Json, path: &[&str]) -> Option<&'a Json> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn num(v: &Json, path: &[&str]) -> Option<f64> {
    at(v, path)?.as_f64()
}

/// Three-valued `and`: false wins over unknown.
fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

pub fn hand_written(f: &Json, rung_of: &dyn Fn(&str) -> Option<u32>, target: u32) -> Verdict {
    let e2e = and(
        num(f, &["tests", "e2e", "total"]).map(|t| t > 0.0),
        num(f, &["tests", "e2e", "failed"]).map(|x| x == 0.0),
    );
    let groups = at(f, &["kafka", "groups"]).and_then(Json::as_array);
    let balanced = groups.and_then(|g| {
        let all = g
            .iter()
            .try_fold(true, |acc, x| Some(acc && x.get("balanced")?.as_bool()?))?;
        Some(!g.is_empty() && all)
    });
    let lag = groups.and_then(|g| {
        let max = g.iter().try_fold(f64::NEG_INFINITY, |m, x| {
            Some(m.max(x.get("lag")?.as_f64()?))
        })?;
        Some(!g.is_empty() && max <= 1000.0)
    });
    let latency = num(f, &["metrics", "latency_p95"]);
    let within = latency
        .zip(num(f, &["feature", "budget", "latency_p95"]))
        .map(|(l, b)| l <= b);
    let rate = num(f, &["metrics", "error_rate"]);
    let error = and(
        rate.map(|r| r < 0.001),
        rate.zip(num(f, &["feature", "budget", "error_rate"]))
            .map(|(r, b)| r <= b),
    );
    let rollback = at(f, &["rollback", "tested"]).and_then(Json::as_bool);
    let deps = at(f, &["feature", "depends_on"])
        .and_then(Json::as_array)
        .and_then(|d| {
            d.iter().try_fold(true, |acc, x| {
                Some(acc && rung_of(x.get("stage")?.as_str()?)? >= target)
            })
        });
    let regressing = latency
        .zip(num(f, &["baseline", "metrics", "latency_p95"]))
        .map(|(l, b)| l <= b * 1.1);
    let required = [e2e, balanced, lag, within, error, rollback, deps];
    if required.contains(&Some(false)) {
        Verdict::Fail
    } else if required.contains(&None) {
        Verdict::Inconclusive
    } else if regressing != Some(true) {
        Verdict::Warn
    } else {
        Verdict::Pass
    }
}
