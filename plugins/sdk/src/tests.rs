#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::{Deserialize, Serialize};

use crate::{Description, Error, Fact, FactValue, Outcome, Request, Severity, Status};

fn request(config: &str, facts: &[(&str, Result<&str, &str>)]) -> Request {
    Request {
        feature: "orders".to_owned(),
        target: "cloud_prod".to_owned(),
        config: config.to_owned(),
        facts: facts
            .iter()
            .map(|(path, value)| Fact {
                path: (*path).to_owned(),
                value: match value {
                    Ok(json) => FactValue::Present((*json).to_owned()),
                    Err(reason) => FactValue::Absent((*reason).to_owned()),
                },
            })
            .collect(),
    }
}

#[derive(Debug, Deserialize, PartialEq)]
struct Pod {
    name: String,
    ready: bool,
}

#[test]
fn a_present_fact_deserialises_into_the_type_asked_for() {
    let r = request(
        "{}",
        &[
            ("tests.unit.failed", Ok("2")),
            ("k8s.pods", Ok(r#"[{"name": "orders-0", "ready": true}]"#)),
        ],
    );
    assert!(matches!(r.fact::<u32>("tests.unit.failed"), Ok(2)));
    let pods: Vec<Pod> = r.fact("k8s.pods").unwrap();
    assert_eq!(
        pods,
        [Pod {
            name: "orders-0".to_owned(),
            ready: true
        }]
    );
    assert!(matches!(
        r.optional_fact::<u32>("tests.unit.failed"),
        Ok(Some(2))
    ));
}

#[test]
fn an_absent_fact_is_an_error_with_phasevs_reason_or_none() {
    let r = request("{}", &[("helm.chart.exists", Err("no chart directory"))]);
    let error = r.fact::<bool>("helm.chart.exists").unwrap_err();
    assert!(matches!(&error, Error::Absent { reason, .. } if reason == "no chart directory"));
    assert_eq!(
        String::from(error),
        "fact `helm.chart.exists` is absent: no chart directory"
    );
    assert!(matches!(
        r.optional_fact::<bool>("helm.chart.exists"),
        Ok(None)
    ));
}

#[test]
fn a_fact_not_in_the_request_or_of_the_wrong_shape_is_an_error() {
    let r = request("{}", &[("docs.plan.exists", Ok("\"yes\""))]);
    assert!(matches!(
        r.fact::<bool>("docs.spec.exists"),
        Err(Error::NotRead { path }) if path == "docs.spec.exists"
    ));
    assert!(matches!(
        r.optional_fact::<bool>("docs.plan.exists"),
        Err(Error::Fact { path, .. }) if path == "docs.plan.exists"
    ));
}

#[derive(Debug, Deserialize, PartialEq)]
struct Config {
    min_tls: String,
    #[serde(default)]
    paths: Vec<String>,
}

#[test]
fn the_configuration_deserialises_with_defaults_and_reports_bad_shapes() {
    let r = request(r#"{"min_tls": "1.3"}"#, &[]);
    assert!(matches!(
        r.config::<Config>(),
        Ok(Config { min_tls, paths }) if min_tls == "1.3" && paths.is_empty()
    ));
    let r = request(r#"{"min_tls": 1.3}"#, &[]);
    let error = r.config::<Config>().unwrap_err();
    assert!(String::from(error).starts_with("configuration: invalid type"));
}

#[test]
fn a_description_lists_reads_outputs_and_configuration_in_order() {
    let d = Description::builder("tls-settings", "0.1.0", "TLS in Helm values")
        .reads("helm.chart.exists")
        .output("min_version", "string", "lowest minimum")
        .output("insecure_settings", "int", "how many")
        .config("min_tls", "string", false, "lowest allowed")
        .build();
    assert_eq!(d.name, "tls-settings");
    assert_eq!(d.reads, ["helm.chart.exists"]);
    let outputs: Vec<_> = d
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), o.type_.as_str()))
        .collect();
    assert_eq!(
        outputs,
        [("min_version", "string"), ("insecure_settings", "int")]
    );
    assert!(d.config.len() == 1 && !d.config[0].required && d.config[0].type_ == "string");
}

#[derive(Serialize)]
struct Place {
    file: String,
    line: u32,
}

#[test]
fn an_outcome_collects_findings_and_json_outputs() {
    let mut outcome = Outcome::default();
    assert!(outcome.passed());
    outcome.pass("chart found");
    assert!(outcome.passed());
    outcome
        .fail(Severity::Critical, "TLS is off")
        .at("charts/orders/values.yaml:3");
    outcome.inconclusive(Severity::Warning, "no chart");
    assert!(!outcome.passed());
    let statuses: Vec<_> = outcome.findings.iter().map(|f| f.status).collect();
    assert!(matches!(
        statuses[..],
        [Status::Pass, Status::Fail, Status::Inconclusive]
    ));
    assert_eq!(
        outcome.findings[1].location.as_deref(),
        Some("charts/orders/values.yaml:3")
    );
    assert!(matches!(outcome.findings[0].severity, Severity::Info));

    let place = Place {
        file: "a.yaml".to_owned(),
        line: 3,
    };
    assert!(outcome.output("unowned", &1).is_ok());
    assert!(outcome.output("owners", &["@a", "@b"]).is_ok());
    assert!(outcome.output("place", &place).is_ok());
    assert!(outcome.output("unowned", &2).is_ok());
    let outputs: Vec<_> = outcome
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), o.value.as_str()))
        .collect();
    assert_eq!(
        outputs,
        [
            ("unowned", "2"),
            ("owners", r#"["@a","@b"]"#),
            ("place", r#"{"file":"a.yaml","line":3}"#)
        ]
    );
}

#[test]
fn an_output_that_is_not_json_is_an_error() {
    let mut map = std::collections::BTreeMap::new();
    map.insert((1, 2), "a tuple key has no JSON form");
    let mut outcome = Outcome::default();
    assert!(matches!(
        outcome.output("map", &map),
        Err(Error::Output { name, .. }) if name == "map"
    ));
}
