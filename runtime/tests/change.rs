//! The change collector on real git repositories made for the test: its library API, then
//! phasev-eval end to end.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use phasev_runtime::collect::change::{ChangeError, Class, Globs, Match, changed_paths, classify};

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

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

/// A repository whose `main` has a service with an auth package, and a `feature` branch that
/// moves the token code out of `auth/`, adds a proto, edits a README and deletes a file.
fn branched() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "main"]);
    write(dir, "services/orders/auth/token.go", "package auth\n");
    write(dir, "services/orders/main.go", "package main\n");
    write(dir, "services/orders/old.go", "package main\n");
    write(dir, "README.md", "# shop\n");
    commit_all(dir, "base");
    git(dir, &["checkout", "-q", "-b", "feature"]);
    git(
        dir,
        &[
            "mv",
            "services/orders/auth/token.go",
            "services/orders/token.go",
        ],
    );
    git(dir, &["rm", "-q", "services/orders/old.go"]);
    write(dir, "api/orders.proto", "syntax = \"proto3\";\n");
    write(dir, "README.md", "# shop\n\nNow with orders.\n");
    commit_all(dir, "feature");
    tmp
}

fn globs(patterns: &[&str]) -> Globs {
    let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
    Globs::new(&patterns).unwrap()
}

#[test]
fn renames_deletions_and_additions_are_all_listed() {
    let repo = branched();
    let paths = changed_paths(repo.path(), "main").unwrap();
    assert_eq!(
        paths,
        [
            "README.md",
            "api/orders.proto",
            "services/orders/auth/token.go",
            "services/orders/old.go",
            "services/orders/token.go",
        ]
    );
    // Paths are relative to the directory asked about, and only changes under it count.
    let sub = changed_paths(&repo.path().join("services"), "main").unwrap();
    assert_eq!(
        sub,
        ["orders/auth/token.go", "orders/old.go", "orders/token.go"]
    );
}

#[test]
fn changes_on_the_base_branch_after_the_fork_do_not_count() {
    let repo = branched();
    git(repo.path(), &["checkout", "-q", "main"]);
    write(
        repo.path(),
        "services/payments/auth/keys.go",
        "package auth\n",
    );
    commit_all(repo.path(), "meanwhile on main");
    git(repo.path(), &["checkout", "-q", "feature"]);
    let paths = changed_paths(repo.path(), "main").unwrap();
    assert!(!paths.iter().any(|p| p.contains("payments")), "{paths:?}");
    assert_eq!(
        changed_paths(repo.path(), "HEAD").unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn moving_a_file_out_of_a_sensitive_directory_is_sensitive() {
    let repo = branched();
    let paths = changed_paths(repo.path(), "main").unwrap();
    let report = classify(
        &paths,
        &globs(&["**/auth/**", "**/secrets/**"]),
        &globs(&["**/*.{proto,avsc}", "api/openapi*.yaml"]),
    );
    assert!(report.security_sensitive);
    assert!(report.contract_altering);
    assert_eq!(report.paths, paths);
    assert_eq!(
        report.matched,
        [
            Match {
                path: "api/orders.proto".to_owned(),
                class: Class::ContractAltering,
                pattern: "**/*.{proto,avsc}".to_owned(),
            },
            Match {
                path: "services/orders/auth/token.go".to_owned(),
                class: Class::SecuritySensitive,
                pattern: "**/auth/**".to_owned(),
            },
        ]
    );
}

#[test]
fn no_globs_and_no_paths_classify_as_nothing() {
    let none = classify(&["a.go".to_owned()], &Globs::default(), &Globs::default());
    assert!(!none.security_sensitive && !none.contract_altering && none.matched.is_empty());
    let empty = classify(&[], &globs(&["**"]), &globs(&["**"]));
    assert!(!empty.security_sensitive && !empty.contract_altering);
}

#[test]
fn an_unknown_ref_is_named() {
    let repo = branched();
    let err = changed_paths(repo.path(), "origin/main").unwrap_err();
    assert!(
        matches!(&err, ChangeError::UnknownRef { base } if base == "origin/main"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "`origin/main` is not a ref of this repository"
    );
    let code = miette::Diagnostic::code(&err).map(|c| c.to_string());
    assert_eq!(
        code.as_deref(),
        Some("phasev::collect::change::unknown_ref")
    );
    let help = miette::Diagnostic::help(&err)
        .map(|h| h.to_string())
        .unwrap();
    assert!(help.contains("git fetch origin main"), "{help}");
}

#[test]
fn an_option_is_not_a_ref() {
    let repo = branched();
    let out = repo.path().join("written");
    let err = changed_paths(repo.path(), &format!("--output={}", out.display())).unwrap_err();
    assert!(matches!(err, ChangeError::UnknownRef { .. }), "{err:?}");
    assert!(!out.exists());
}

#[test]
fn a_directory_outside_git_is_not_a_repository() {
    let tmp = tempfile::tempdir().unwrap();
    // Keep git from finding a repository above the temporary directory.
    let err = changed_paths(tmp.path(), "main");
    match err {
        Err(ChangeError::NotARepository { dir, stderr }) => {
            assert_eq!(dir, tmp.path());
            assert!(stderr.contains("not a git repository"), "{stderr}");
        }
        // A temporary directory inside some checkout: git finds that one instead.
        Err(ChangeError::UnknownRef { .. }) | Ok(_) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_directory_is_a_git_error_naming_it() {
    let err = changed_paths(Path::new("/nonexistent/phasev"), "main").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("/nonexistent/phasev"), "{message}");
    assert!(
        matches!(
            err,
            ChangeError::NotARepository { .. } | ChangeError::Git { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn a_bad_glob_is_an_error_naming_it() {
    for bad in ["services/[orders", "**/*.{proto,avsc"] {
        let err = Globs::new(&[bad.to_owned()]).unwrap_err();
        assert!(
            matches!(&err, ChangeError::Glob { pattern, .. } if pattern == bad),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("`{bad}` is not a glob: ")),
            "{err}"
        );
    }
}

#[test]
fn a_shallow_clone_without_the_base_is_an_error_naming_the_fetch_that_fixes_it() {
    let origin = branched();
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.path().display());
    let dst = clone.path().join("checkout");
    let status = Process::new("git")
        .args(["clone", "-q", "--depth=1", "--branch", "feature", &url])
        .arg(&dst)
        .status()
        .unwrap();
    assert!(status.success());
    let err = changed_paths(&dst, "origin/main").unwrap_err();
    let fetch = "git fetch --deepen=100 origin main:refs/remotes/origin/main";
    assert_eq!(
        err.to_string(),
        format!(
            "this shallow clone lacks `origin/main` or its merge base with HEAD: fetch them with \
             `{fetch}` (deeper if they parted longer ago, or `git fetch --unshallow`)"
        )
    );
    // The fetch it names is the fix.
    let args: Vec<&str> = fetch.split(' ').skip(1).collect();
    git(&dst, &args);
    assert_eq!(
        changed_paths(&dst, "origin/main").unwrap(),
        [
            "README.md",
            "api/orders.proto",
            "services/orders/auth/token.go",
            "services/orders/old.go",
            "services/orders/token.go",
        ]
    );
}
