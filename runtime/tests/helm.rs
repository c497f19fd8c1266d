//! The Helm collector on real charts and real `helm lint` output (`tests/data/helm/`, copied
//! from Helm's own test data and helm/examples; see its PROVENANCE.md), and on values schemas.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use phasev_runtime::collect::helm::{HelmError, Lint, Reuse, inspect_chart, lint, lint_counts};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/helm")
        .join(path)
}

/// The built-in findings of a chart, as `file: message`.
fn findings(dir: &Path) -> Vec<String> {
    let report = inspect_chart(dir, None).unwrap();
    assert!(report.exists, "{}", dir.display());
    assert_eq!(report.reuse, Reuse::Independent);
    report
        .errors
        .iter()
        .map(|f| format!("{}: {}", f.file, f.message))
        .collect()
}

#[test]
fn real_charts_get_the_built_in_findings_they_deserve() {
    // Clean charts: hello-world's image has an empty tag, which takes its appVersion.
    for chart in [
        "hello-world",
        "alpine",
        "chart-with-deprecated-api",
        "chart-with-only-crds",
        "chart-with-bad-subcharts",
        "chart-with-bad-subcharts/charts/good-subchart",
    ] {
        assert_eq!(
            findings(&data(&format!("charts/{chart}"))),
            Vec::<String>::new(),
            "{chart}"
        );
    }
    assert_eq!(
        findings(&data("charts/chart-with-bad-subcharts/charts/bad-subchart")),
        [
            "Chart.yaml: required field `apiVersion` is missing",
            "Chart.yaml: required field `name` is missing",
            "Chart.yaml: required field `version` is missing",
        ]
    );
    let broken = findings(&data("charts/chart-bad-requirements"));
    assert_eq!(broken.len(), 1, "one problem, one finding: {broken:?}");
    assert!(
        broken[0].starts_with("Chart.yaml: not valid YAML: "),
        "{broken:?}"
    );
    let none = inspect_chart(&data("charts/no-such-chart"), None).unwrap();
    assert!(!none.exists);
}

#[test]
fn real_helm_lint_output_is_counted_line_by_line() {
    // (file, [ERROR] lines, [WARNING] lines), counted by hand from the files.
    let cases = [
        ("lint-chart-with-bad-subcharts.txt", 1, 1),
        ("lint-chart-with-bad-subcharts-with-subcharts.txt", 5, 4),
        ("lint-chart-with-deprecated-api.txt", 0, 1),
        ("lint-chart-with-deprecated-api-strict.txt", 0, 1),
        ("lint-chart-with-deprecated-api-old-k8s.txt", 0, 0),
        ("lint-quiet-with-error.txt", 2, 1),
        ("lint-quiet-with-warning.txt", 0, 1),
    ];
    for (file, errors, warnings) in cases {
        assert_eq!(
            lint_counts(&data(&format!("lint-output/{file}"))).unwrap(),
            Some((errors, warnings)),
            "{file}"
        );
    }
    // `helm lint --quiet` on a clean chart prints nothing: indistinguishable from no lint.
    let quiet = lint_counts(&data("lint-output/lint-quiet.txt")).unwrap_err();
    assert!(matches!(quiet, HelmError::NotLintOutput { .. }), "{quiet}");
    assert_eq!(lint_counts(&data("lint-output/none.txt")).unwrap(), None);
}

#[test]
fn a_missing_saved_lint_output_is_no_lint_rather_than_a_clean_one() {
    let chart = data("charts/hello-world");
    let file = data("lint-output/none.txt");
    assert_eq!(
        lint(Some(&file), &chart).unwrap(),
        Lint::NotLinted(format!(
            "{} does not exist: save the output of `helm lint {}` there",
            file.display(),
            chart.display()
        ))
    );
    let saved = data("lint-output/lint-chart-with-deprecated-api.txt");
    assert_eq!(
        lint(Some(&saved), &chart).unwrap(),
        Lint::Counts {
            errors: 0,
            warnings: 1,
            from: saved.clone()
        }
    );
}

#[test]
fn without_helm_or_a_saved_lint_the_built_in_checks_do_not_stand_in_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let chart = data("charts/hello-world");
    let config = format!(
        "[project]\nname = \"t\"\npolicy = \"p.phasev\"\n\n\
         [features.orders]\nstage = \"a\"\nchart = {:?}\n",
        chart.display().to_string()
    );
    std::fs::write(dir.path().join("phasev.toml"), config).unwrap();
    let policy = "policy p\nladder { a b }\n\
                  gate a -> b { require \"Helm chart lints cleanly\": helm.lint.errors == 0 }\n";
    std::fs::write(dir.path().join("p.phasev"), policy).unwrap();
    // No directory on PATH holds helm.
    let out = Command::cargo_bin("phasev-eval")
        .unwrap()
        .current_dir(dir.path())
        .env("PATH", dir.path())
        .args([
            "gate",
            "--feature",
            "orders",
            "--to",
            "b",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let requirement = &doc["features"][0]["requirements"][0];
    assert_eq!(requirement["outcome"], "inconclusive");
    assert_eq!(
        requirement["undecided_because"][0],
        format!(
            "helm.lint.errors is missing: chart {}: not linted (helm is not installed, and \
             phasev.toml names no saved lint output ([helm] lint))",
            chart.display()
        )
    );
}

/// A chart of our own in a temporary directory: `Chart.yaml`, `values.yaml` and a schema.
fn chart_with_schema(values: &str, schema: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Chart.yaml"),
        "apiVersion: v2\nname: orders\nversion: 0.1.0\nappVersion: \"2.4.1\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("values.yaml"), values).unwrap();
    std::fs::write(dir.path().join("values.schema.json"), schema).unwrap();
    dir
}

const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["replicaCount", "image"],
  "properties": {
    "replicaCount": {"type": "integer", "minimum": 1},
    "image": {
      "type": "object",
      "required": ["repository"],
      "properties": {"repository": {"type": "string"}, "tag": {"type": "string"}}
    },
    "service": {"type": "object", "properties": {"port": {"type": "integer"}}}
  }
}"#;

#[test]
fn values_are_checked_against_the_charts_values_schema() {
    let good = chart_with_schema(
        "replicaCount: 2\nimage:\n  repository: shop/orders\n  tag: \"\"\nservice:\n  port: 8080\n",
        SCHEMA,
    );
    assert_eq!(findings(good.path()), Vec::<String>::new());
    let bad = chart_with_schema(
        "replicaCount: 0\nimage:\n  repository: shop/orders\n  tag: \"2.4.1\"\nservice:\n  port: \"http\"\n",
        SCHEMA,
    );
    assert_eq!(
        findings(bad.path()),
        [
            "values.yaml: `/replicaCount` breaks values.schema.json: 0 is less than the minimum of 1",
            "values.yaml: `/service/port` breaks values.schema.json: \"http\" is not of type \"integer\"",
        ]
    );
    let empty = chart_with_schema("", SCHEMA);
    assert_eq!(
        findings(empty.path()),
        [
            "values.yaml: `/` breaks values.schema.json: \"replicaCount\" is a required property",
            "values.yaml: `/` breaks values.schema.json: \"image\" is a required property",
        ],
        "an empty values file is an empty object"
    );
    let not_json = chart_with_schema("replicaCount: 1\n", "{ not json");
    let found = findings(not_json.path());
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("values.schema.json: not valid JSON: "),
        "{found:?}"
    );
    let not_schema = chart_with_schema("replicaCount: 1\n", r#"{"type": "no-such-type"}"#);
    let found = findings(not_schema.path());
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("values.schema.json: not a valid JSON Schema: "),
        "{found:?}"
    );
}
