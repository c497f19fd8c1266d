//! The change collector on a real git repository made for the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;

fn git(dir: &Path, args: &[&str]) {
    let status = Process::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn repo(name: &str, base: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("phasev-change-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("services/orders")).unwrap();
    let standard = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/phase-v.phasev");
    let config = format!(
        "[project]\nname = \"t\"\npolicy = {:?}\n\n[change]\nbase = \"{base}\"\npaths = [\"services/{{feature}}/**\"]\n\
         security_sensitive = [\"**/auth/**\"]\ncontract_altering = [\"**/*.proto\"]\n\n\
         [features.orders]\nstage = \"local_k8s\"\n\n[features.search]\nstage = \"local_k8s\"\n",
        standard.display().to_string()
    );
    std::fs::write(dir.join("phasev.toml"), config).unwrap();
    std::fs::write(dir.join("services/orders/main.go"), "package main\n").unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "base"]);
    git(&dir, &["tag", "base"]);
    std::fs::create_dir_all(dir.join("services/orders/auth")).unwrap();
    std::fs::write(dir.join("services/orders/auth/token.go"), "package auth\n").unwrap();
    std::fs::write(
        dir.join("services/orders/orders.proto"),
        "syntax = \"proto3\";\n",
    )
    .unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "change"]);
    dir
}

fn escalations(dir: &Path, feature: &str) -> serde_json::Value {
    let out = Command::cargo_bin("phasev-eval")
        .unwrap()
        .current_dir(dir)
        .args([
            "gate",
            "--format",
            "json",
            "--feature",
            feature,
            "--to",
            "cloud_staging",
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["features"][0]["escalations"].clone()
}

fn fired(escalations: &serde_json::Value, title: &str) -> serde_json::Value {
    escalations
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["title"] == title)
        .map(|e| e["fired"].clone())
        .unwrap()
}

#[test]
fn changed_files_are_classified_per_feature() {
    let dir = repo("classified", "base");
    let orders = escalations(&dir, "orders");
    assert_eq!(fired(&orders, "Security-sensitive change"), true);
    assert_eq!(fired(&orders, "Cross-phase architecture change"), true);
    // The change touches nothing under services/search.
    let search = escalations(&dir, "search");
    assert_eq!(fired(&search, "Security-sensitive change"), false);
    assert_eq!(fired(&search, "Cross-phase architecture change"), false);
}

#[test]
fn an_unknown_base_ref_leaves_the_change_facts_errored() {
    let dir = repo("unknown", "origin/nope");
    let orders = escalations(&dir, "orders");
    let security = orders
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["title"] == "Security-sensitive change")
        .unwrap();
    assert_eq!(security["fired"], serde_json::Value::Null);
    let why = security["undecided_because"][0].as_str().unwrap();
    assert!(
        why.contains("`origin/nope` is not a ref of this repository"),
        "{why}"
    );
}
