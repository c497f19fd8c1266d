//! The cloud quota parser on the CLI shapes in `data/cloud`, and on broken listings.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::Path;

use phasev_runtime::collect::cloud::{CloudError, Quota, parse_quota, tightest};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cloud")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn quota(name: &str, used: f64, limit: f64) -> Quota {
    Quota {
        name: name.to_owned(),
        used,
        limit,
    }
}

#[test]
fn az_vm_list_usage() {
    let quotas = parse_quota(&fixture("az-vm-list-usage.json")).unwrap();
    assert_eq!(
        quotas,
        [
            quota("availabilitySets", 4.0, 10.0),
            quota("cores", 92.0, 100.0),
            quota("virtualMachines", 12.0, 25000.0),
            quota("standardDSv5Family", 16.0, 24.0),
        ]
    );
    assert_eq!(tightest(&quotas), Some(&quota("cores", 92.0, 100.0)));
}

#[test]
fn gcloud_compute_regions_describe() {
    let quotas = parse_quota(&fixture("gcloud-region-describe.json")).unwrap();
    assert_eq!(quotas.len(), 4);
    assert_eq!(quotas[3], quota("NVIDIA_T4_GPUS", 0.0, 0.0));
    // 7 of 8 addresses beats 18 of 24 CPUs; an unused zero limit is not full.
    assert_eq!(
        tightest(&quotas),
        Some(&quota("IN_USE_ADDRESSES", 7.0, 8.0))
    );
}

#[test]
fn gcloud_compute_regions_list_names_quotas_by_region() {
    let quotas = parse_quota(&fixture("gcloud-regions-list.json")).unwrap();
    let names: Vec<&str> = quotas.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "europe-west1/CPUS",
            "europe-west1/IN_USE_ADDRESSES",
            "europe-west4/CPUS",
            "europe-west4/IN_USE_ADDRESSES",
        ]
    );
    assert_eq!(
        tightest(&quotas),
        Some(&quota("europe-west4/CPUS", 23.0, 24.0))
    );
}

#[test]
fn plain_listing_and_zero_limits() {
    let quotas = parse_quota(&fixture("plain.json")).unwrap();
    assert_eq!(quotas[0], quota("staging node pool nodes", 6.0, 6.0));
    // Any use of a zero limit is past full: tighter than 6 of 6.
    assert_eq!(tightest(&quotas), Some(&quota("gpu nodes", 1.0, 0.0)));
    assert!(quotas[2].share().is_infinite());
}

#[test]
fn ties_go_to_the_first_listed_and_nothing_is_none() {
    let quotas = [quota("a", 5.0, 10.0), quota("b", 1.0, 2.0)];
    assert_eq!(tightest(&quotas).map(|q| q.name.as_str()), Some("a"));
    assert_eq!(tightest(&[]), None);
    assert_eq!(parse_quota("[]").unwrap(), []);
    assert_eq!(parse_quota(r#"{"quotas": []}"#).unwrap(), []);
}

fn shape_error(text: &str) -> String {
    match parse_quota(text) {
        Err(CloudError::Shape(why)) => why,
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn malformed_json_is_a_syntax_error_with_its_position() {
    let err = parse_quota(&fixture("truncated.json")).unwrap_err();
    assert!(matches!(err, CloudError::Syntax(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("the quota listing is not JSON: "),
        "{message}"
    );
    assert!(
        message.contains("EOF while parsing a value at line 4"),
        "{message}"
    );
    let code = miette::Diagnostic::code(&err).map(|c| c.to_string());
    assert_eq!(code.as_deref(), Some("phasev::collect::cloud::syntax"));
}

#[test]
fn wrong_shapes_say_what_is_wrong() {
    assert_eq!(
        shape_error(&fixture("wrong-shape.json")),
        "an object without a `quotas` list"
    );
    assert_eq!(
        shape_error(&fixture("missing-limit.json")),
        "item 0: no `limit`"
    );
    assert_eq!(shape_error("42"), "neither a list nor an object");
    assert_eq!(shape_error("[1]"), "item 0: not an object");
    assert_eq!(
        shape_error(r#"[{"used": 1, "limit": 2}]"#),
        "item 0: no `name` or `metric`"
    );
    assert_eq!(
        shape_error(r#"[{"name": "a", "used": 1, "limit": 2}, {"name": "b", "limit": 2}]"#),
        "item 1: no `used` or `currentValue` or `usage`"
    );
    assert_eq!(
        shape_error(r#"[{"name": "a", "used": "lots", "limit": 2}]"#),
        "item 0: `used` is not a finite number"
    );
    assert_eq!(
        shape_error(r#"[{"name": "a", "used": 1, "limit": "inf"}]"#),
        "item 0: `limit` is not a finite number"
    );
    assert_eq!(
        shape_error(r#"[{"name": "r", "quotas": [{"metric": "CPUS", "usage": 1}]}]"#),
        "r quota 0: no `limit`"
    );
    let err = parse_quota("{}").unwrap_err();
    let code = miette::Diagnostic::code(&err).map(|c| c.to_string());
    assert_eq!(code.as_deref(), Some("phasev::collect::cloud::shape"));
}
