//! The plugin host against real components: the test plugins built by `plugins/build.sh`
//! (`plugins/dist/*.wasm`), and hand-written WAT for what no toolchain emits on purpose.
//!
//! Hostile plugins run in one host, one after the other: each must end as an error for its own
//! call only, with the exact reason, and the host must still serve a well-behaved plugin
//! afterwards. That their memory is given back is `plugin_memory.rs`, a binary of its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use phasev_compiler::check::Options;
use phasev_compiler::compile_path;
use phasev_compiler::ir::hex;
use phasev_runtime::config::{Grants, PluginLimits, PluginManifest, Project};
use phasev_runtime::facts::{Absent, Facts};
use phasev_runtime::plugin::{Host, HostSettings, Lookup, Outcome, PluginError, Plugins, Request};
use phasev_runtime::value::Value;
use serde_json::json;
use sha2::{Digest, Sha256};

mod plugin_support;

use plugin_support::{dist, fuel, host, load, manifest, mode, request, tight};

fn observed(outcome: &Outcome) -> serde_json::Value {
    output(outcome, "observed")
}

fn messages(outcome: &Outcome) -> Vec<&str> {
    outcome
        .findings
        .iter()
        .map(|f| f.message.as_str())
        .collect()
}

#[test]
fn hostile_plugins_fail_only_their_own_call() {
    let host = host(None);
    let path = dist("hostile");
    let tight = load(&host, &path, tight(), Grants::default());
    let fuel = load(&host, &path, fuel(), Grants::default());
    let started = std::time::Instant::now();
    let err = mode(&tight, "loop").unwrap_err();
    assert_eq!(err, "ran past its time limit of 300ms (limits.timeout)");
    // The deadline is 300ms and the clock ticks every 2ms; the rest is a loaded machine's
    // scheduling and the store's teardown.
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1500),
        "the loop was stopped late: {:?}",
        started.elapsed()
    );
    assert_eq!(
        mode(&fuel, "loop").unwrap_err(),
        "ran out of fuel after 5000000 units (limits.fuel)"
    );
    assert_eq!(
        mode(&tight, "memory").unwrap_err(),
        "exceeded its memory limit of 32MiB (limits.memory)"
    );
    assert_eq!(
        mode(&tight, "recursion").unwrap_err(),
        "overflowed its WebAssembly stack of 512KiB (limits.stack): recursion too deep"
    );
    assert_eq!(
        mode(&tight, "huge-output").unwrap_err(),
        "returned 1048608 bytes of output, over its limit of 64KiB (limits.output)"
    );
    assert_eq!(
        mode(&tight, "many-findings").unwrap_err(),
        "returned 2888906 bytes of output, over its limit of 64KiB (limits.output)"
    );
    assert_eq!(
        mode(&tight, "panic").unwrap_err(),
        "trapped: it panicked or aborted (it wrote: thread '<unnamed>' (1) panicked at \
         test-plugins/hostile/src/lib.rs:203:5: the hostile plugin panics on purpose)"
    );
    assert_eq!(
        mode(&tight, "trap").unwrap_err(),
        "trapped: it panicked or aborted"
    );
    // Without grants, a plugin sees no environment, no file, no network, and stopped clocks;
    // each is there to be seen on the host, and each probe is denied, not merely empty.
    assert!(std::env::var_os("PATH").is_some(), "the host has variables");
    assert!(Path::new("/etc/passwd").is_file(), "the host has the file");
    let env = mode(&tight, "env").unwrap();
    assert_eq!(observed(&env), json!([]), "{env:?}");
    assert_eq!(messages(&env), ["no environment variable visible"]);
    let files = mode(&tight, "file").unwrap();
    assert_eq!(observed(&files), json!([]), "{files:?}");
    assert_eq!(
        messages(&files),
        [
            "reading /etc/passwd failed: No such file or directory (os error 44)",
            "reading secret.txt failed: No such file or directory (os error 44)"
        ]
    );
    let net = mode(&tight, "network").unwrap();
    assert_eq!(observed(&net), json!([]), "{net:?}");
    assert_eq!(
        messages(&net),
        ["connecting to 127.0.0.1:1 failed: Permission denied (os error 2)"]
    );
    let clock = mode(&tight, "clock").unwrap();
    assert_eq!(observed(&clock), json!(["0"]), "{clock:?}");
    // Every call is a fresh instance: a static counter never sees a second call.
    for _ in 0..3 {
        let outcome = mode(&tight, "state").unwrap();
        assert_eq!(outcome.findings[0].status, "pass", "{outcome:?}");
        assert!(outcome.outputs.contains(&("calls".to_owned(), json!(1))));
    }
    // The host still serves well-behaved calls.
    assert_eq!(mode(&tight, "ok").unwrap().findings[0].status, "pass");
}

/// `limits.stack` is the plugin's own: a recursion that fits the default stack overflows a
/// plugin given less, and each plugin keeps its stack (one engine per stack size).
#[test]
fn each_plugin_has_the_stack_its_limits_give() {
    let host = host(None);
    let path = dist("hostile");
    let small = load(
        &host,
        &path,
        PluginLimits {
            stack: Some("64KiB".to_owned()),
            ..PluginLimits::default()
        },
        Grants::default(),
    );
    let default = load(&host, &path, PluginLimits::default(), Grants::default());
    // About 60 bytes a call: 3000 calls take about a third of 512KiB, three times 64KiB.
    let deep = |plugin| plugin_support::recurse(plugin, 3000);
    assert_eq!(
        deep(&small).unwrap_err(),
        "overflowed its WebAssembly stack of 64KiB (limits.stack): recursion too deep"
    );
    assert_eq!(
        messages(&deep(&default).unwrap()),
        ["recursed 3000 calls deep"]
    );
    assert_eq!(
        mode(&default, "recursion").unwrap_err(),
        "overflowed its WebAssembly stack of 512KiB (limits.stack): recursion too deep"
    );
    // The second engine's clock ticks too: a loop is stopped at its deadline.
    let looping = load(
        &host,
        &path,
        PluginLimits {
            stack: Some("64KiB".to_owned()),
            ..tight()
        },
        Grants::default(),
    );
    assert_eq!(
        mode(&looping, "loop").unwrap_err(),
        "ran past its time limit of 300ms (limits.timeout)"
    );
}

#[test]
fn grants_open_exactly_what_they_name() {
    let host = host(None);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("shared")).unwrap();
    std::fs::write(dir.path().join("secret.txt"), "not for plugins").unwrap();
    let path = dist("hostile");
    let grants = Grants {
        read: vec![PathBuf::from("shared")],
        env: vec!["PATH".to_owned()],
        clocks: true,
        network: true,
    };
    let (plugin, _) = host
        .load(
            None,
            &manifest(&path, PluginLimits::default(), grants),
            dir.path(),
        )
        .unwrap();
    let env = mode(&plugin, "env").unwrap();
    assert_eq!(observed(&env), json!(["PATH"]), "only the granted variable");
    // `secret.txt` is in the project, but outside the one directory granted.
    let files = mode(&plugin, "file").unwrap();
    assert_eq!(observed(&files), json!([]), "{files:?}");
    assert_eq!(
        messages(&files),
        [
            "reading /etc/passwd failed: No such file or directory (os error 44)",
            "reading secret.txt failed: No such file or directory (os error 44)"
        ]
    );
    // Granted the directory it is in, the same probe reads it: what was denied was there.
    let (whole, _) = host
        .load(
            None,
            &manifest(&path, PluginLimits::default(), reading(&["."])),
            dir.path(),
        )
        .unwrap();
    let files = mode(&whole, "file").unwrap();
    assert_eq!(
        observed(&files),
        json!(["secret.txt (15 bytes)"]),
        "{files:?}"
    );
    let clock = mode(&plugin, "clock").unwrap();
    let ms: u128 = observed(&clock)[0].as_str().unwrap().parse().unwrap();
    assert!(ms > 1_700_000_000_000, "a real wall clock: {ms}");
    // Granted, the network is the host's: nothing listens on port 1, so the connection is
    // refused (without the grant it is denied before any packet leaves, as
    // `hostile_plugins_fail_only_their_own_call` asserts).
    let net = mode(&plugin, "network").unwrap();
    assert_eq!(
        messages(&net),
        ["connecting to 127.0.0.1:1 failed: Connection refused (os error 14)"]
    );
}

fn write_wasm(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn broken_components_are_refused_before_any_call() {
    let host = host(None);
    let dir = tempfile::tempdir().unwrap();
    let load = |path: &Path, sha: Option<&str>| {
        let mut m = manifest(path, PluginLimits::default(), Grants::default());
        if let Some(sha) = sha {
            m.sha256 = sha.to_owned();
        }
        host.load(Some("broken"), &m, Path::new("")).map(|_| ())
    };
    let wrong_world = write_wasm(
        dir.path(),
        "wrong-world.wasm",
        &wat::parse_str(
            r#"(component
                 (core module $m (func (export "f") (result i32) i32.const 1))
                 (core instance $i (instantiate $m))
                 (func (export "check") (result u32) (canon lift (core func $i "f"))))"#,
        )
        .unwrap(),
    );
    let err = load(&wrong_world, None).unwrap_err();
    assert!(matches!(err, PluginError::World { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `broken`: {} does not implement the phasev:plugin world: no export \
             `describe` found",
            wrong_world.display()
        )
    );
    // A component that imports an interface the host does not offer.
    let foreign = write_wasm(
        dir.path(),
        "foreign.wasm",
        &wat::parse_str(
            r#"(component
                 (import "evil:net/raw@1.0.0" (instance (export "open" (func (result u32))))))"#,
        )
        .unwrap(),
    );
    let err = load(&foreign, None).unwrap_err();
    assert!(matches!(err, PluginError::World { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `broken`: {} does not implement the phasev:plugin world: component imports \
             instance `evil:net/raw@1.0.0`, but a matching implementation was not found in the \
             linker: instance export `open` has the wrong type: function implementation is \
             missing",
            foreign.display()
        )
    );
    let core = write_wasm(
        dir.path(),
        "core.wasm",
        &wat::parse_str("(module (func (export \"evaluate\")))").unwrap(),
    );
    let err = load(&core, None).unwrap_err();
    assert!(matches!(err, PluginError::Invalid { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `broken`: {} is not a WebAssembly component: it is a core WebAssembly \
             module; a plugin is a component",
            core.display()
        )
    );
    // Cut inside its core module, so the error is the same whatever the toolchain builds.
    let whole = std::fs::read(&wrong_world).unwrap();
    let truncated = write_wasm(dir.path(), "truncated.wasm", &whole[..40]);
    let err = load(&truncated, None).unwrap_err();
    assert!(matches!(err, PluginError::Invalid { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `broken`: {} is not a WebAssembly component: failed to parse WebAssembly \
             module: wasm component contains an invalid module section: section range 10..55 is \
             out of bounds (bound = 40)",
            truncated.display()
        )
    );
    let text = write_wasm(dir.path(), "notes.wasm", b"just text");
    let err = load(&text, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `broken`: {} is not a WebAssembly component: it is not WebAssembly at all \
             (it does not start with `\\0asm`)",
            text.display()
        )
    );
    let trivial = dist("trivial");
    let err = load(&trivial, Some(&"0".repeat(64))).unwrap_err();
    assert!(matches!(err, PluginError::Digest { .. }), "{err:?}");
    let digest = hex(&Sha256::digest(std::fs::read(&trivial).unwrap()));
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `broken`: {} has sha256 {digest}, but phasev.toml pins {}",
            trivial.display(),
            "0".repeat(64)
        )
    );
    let missing = dir.path().join("nowhere.wasm");
    let err = host
        .load(
            Some("gone"),
            &PluginManifest {
                path: missing.clone(),
                sha256: "0".repeat(64),
                limits: PluginLimits::default(),
                grants: Grants::default(),
            },
            Path::new(""),
        )
        .unwrap_err();
    assert!(matches!(err, PluginError::Unreadable { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `gone`: cannot read {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    assert_eq!(
        help(&err),
        "build it, or fix `path` in [plugins.gone] of phasev.toml"
    );
    let err = load(&trivial, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `broken`: {} describes itself as `trivial`; phasev.toml must name it the same",
            trivial.display()
        )
    );
    assert_eq!(
        help(&err),
        "rename [plugins.broken] to [plugins.trivial], and the checks' plugin names with it"
    );
}

fn help(err: &PluginError) -> String {
    miette::Diagnostic::help(err)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// A limit hit while the plugin describes itself, and a grant that cannot be given, each say
/// what to change.
#[test]
fn a_failed_describe_and_a_missing_grant_say_what_to_change() {
    let host = host(None);
    let hostile = dist("hostile");
    let err = host
        .load(
            Some("hostile"),
            &manifest(
                &hostile,
                PluginLimits {
                    output: "16B".to_owned(),
                    ..PluginLimits::default()
                },
                Grants::default(),
            ),
            Path::new(""),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `hostile`: describe failed: returned 474 bytes of output, over its limit of 16 \
         bytes (limits.output)"
    );
    assert_eq!(
        help(&err),
        "`describe` runs in the sandbox under the plugin's limits, like every call, and must not \
         fail: fix the plugin, or raise the limit named"
    );
    let dir = tempfile::tempdir().unwrap();
    let err = host
        .load(
            Some("hostile"),
            &manifest(&hostile, PluginLimits::default(), reading(&["charts"])),
            dir.path(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `hostile`: [plugins.hostile] grants.read names `charts`, which is not a \
             directory ({})",
            dir.path().join("charts").display()
        )
    );
    assert_eq!(
        help(&err),
        "grants.read names directories of the project, relative to phasev.toml"
    );
}

#[test]
fn compiled_plugins_are_cached_and_a_damaged_entry_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let path = dist("trivial");
    let m = manifest(&path, PluginLimits::default(), Grants::default());
    let first = host(Some(cache.path().to_owned()));
    assert_eq!(first.load(None, &m, Path::new("")).unwrap().1, Lookup::Miss);
    let second = host(Some(cache.path().to_owned()));
    assert_eq!(second.load(None, &m, Path::new("")).unwrap().1, Lookup::Hit);
    let entry = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, &bytes).unwrap();
    let (plugin, lookup) = second.load(None, &m, Path::new("")).unwrap();
    assert_eq!(lookup, Lookup::Rejected);
    let facts = vec![("tests.unit.failed".to_owned(), Ok(json!(0)))];
    let outcome = plugin
        .evaluate(&Request {
            facts,
            ..request(json!({}))
        })
        .unwrap();
    assert_eq!(outcome.findings[0].status, "pass");
    assert_eq!(second.load(None, &m, Path::new("")).unwrap().1, Lookup::Hit);
}

/// The cache entry of the plugin whose sha256 is `digest`.
fn cache_entry(cache: &Path, digest: &str) -> PathBuf {
    std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(digest) && name.ends_with(".cwasm")
        })
        .unwrap_or_else(|| panic!("no cache entry for {digest} in {}", cache.display()))
}

/// An entry copied over another plugin's name is not that plugin's code: it is rejected and
/// the plugin compiled again, never run in its place.
#[test]
fn a_cache_entry_of_another_plugin_is_rejected() {
    let cache = tempfile::tempdir().unwrap();
    let host = host(Some(cache.path().to_owned()));
    let tls = manifest(
        &dist("tls-settings"),
        PluginLimits::default(),
        Grants::default(),
    );
    let hostile = manifest(&dist("hostile"), PluginLimits::default(), Grants::default());
    for m in [&tls, &hostile] {
        assert_eq!(host.load(None, m, Path::new("")).unwrap().1, Lookup::Miss);
    }
    std::fs::copy(
        cache_entry(cache.path(), &hostile.sha256),
        cache_entry(cache.path(), &tls.sha256),
    )
    .unwrap();
    let (plugin, lookup) = host
        .load(Some("tls-settings"), &tls, Path::new(""))
        .unwrap();
    assert_eq!(lookup, Lookup::Rejected);
    assert_eq!(plugin.description().name, "tls-settings");
    assert_eq!(
        host.load(Some("tls-settings"), &tls, Path::new(""))
            .unwrap()
            .1,
        Lookup::Hit,
        "the entry was replaced"
    );
}

#[cfg(unix)]
#[test]
fn the_cache_is_private_and_entries_others_can_write_are_recompiled() {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("phasev/plugins");
    let host = host(Some(dir.clone()));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&parent.path().join("phasev")), 0o700);
    let m = manifest(&dist("trivial"), PluginLimits::default(), Grants::default());
    assert_eq!(host.load(None, &m, Path::new("")).unwrap().1, Lookup::Miss);
    let entry = cache_entry(&dir, &m.sha256);
    assert_eq!(mode(&entry), 0o600);
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o620)).unwrap();
    assert_eq!(
        host.load(None, &m, Path::new("")).unwrap().1,
        Lookup::Rejected
    );
    assert_eq!(mode(&entry), 0o600, "replaced by a private entry");
    assert_eq!(host.load(None, &m, Path::new("")).unwrap().1, Lookup::Hit);
}

/// A cache directory of another user is refused even when only its owner may write it. As
/// root the test gives its directory away; otherwise `/` (root's) is another user's.
#[cfg(unix)]
#[test]
fn a_cache_of_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt as _;
    let dir = tempfile::tempdir().unwrap();
    let me = std::fs::metadata(dir.path()).unwrap().uid();
    let theirs = if me == 0 {
        std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534)).unwrap();
        dir.path().to_owned()
    } else {
        PathBuf::from("/")
    };
    let owner = std::fs::metadata(&theirs).unwrap().uid();
    let err = Host::new(&HostSettings {
        max_memory: 64 << 20,
        stack: 512 << 10,
        cache: Some(theirs.clone()),
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the plugin host cannot start: the plugin cache {} belongs to another user (uid \
             {owner}, not {me}); compiled code is only loaded from a directory of your own (set \
             [sandbox] cache or PHASEV_CACHE_DIR)",
            theirs.display()
        )
    );
}

#[cfg(unix)]
#[test]
fn a_cache_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let cache = tempfile::tempdir().unwrap();
    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = Host::new(&HostSettings {
        max_memory: 64 << 20,
        stack: 512 << 10,
        cache: Some(cache.path().to_owned()),
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the plugin host cannot start: the plugin cache {} is writable by other users (mode \
             777); compiled code is only loaded from a directory only you can write (chmod go-w, \
             or set [sandbox] cache)",
            cache.path().display()
        )
    );
}

/// Writes `files` (path, text) under a fresh project directory.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn reading(dirs: &[&str]) -> Grants {
    Grants {
        read: dirs.iter().map(PathBuf::from).collect(),
        ..Grants::default()
    }
}

fn output(outcome: &Outcome, name: &str) -> serde_json::Value {
    outcome
        .outputs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no output {name}: {outcome:?}"))
}

#[test]
fn tls_settings_finds_old_versions_and_skipped_verification_at_their_line() {
    let host = host(None);
    let dir = project(&[(
        "charts/orders/values.yaml",
        "service:\n  port: 8080\ningress:\n  tls:\n    enabled: true\n    minVersion: \"1.0\"\nclient:\n  insecureSkipVerify: true\n",
    )]);
    let (plugin, _) = host
        .load(
            Some("tls-settings"),
            &manifest(
                &dist("tls-settings"),
                PluginLimits::default(),
                reading(&["charts"]),
            ),
            dir.path(),
        )
        .unwrap();
    let outcome = plugin
        .evaluate(&Request {
            facts: vec![("helm.chart.exists".to_owned(), Ok(json!(true)))],
            ..request(json!({ "min_tls": "1.2" }))
        })
        .unwrap();
    let failed: Vec<_> = outcome
        .findings
        .iter()
        .filter(|f| f.status == "fail")
        .collect();
    assert_eq!(failed.len(), 2, "{outcome:?}");
    let at: Vec<_> = failed.iter().filter_map(|f| f.location.clone()).collect();
    assert!(
        at.contains(&"charts/orders/values.yaml:6".to_owned()),
        "{at:?}"
    );
    assert!(
        at.contains(&"charts/orders/values.yaml:8".to_owned()),
        "{at:?}"
    );
    assert_eq!(output(&outcome, "insecure_settings"), json!(2));
    assert_eq!(output(&outcome, "min_version"), json!("1.0"));
}

#[test]
fn adr_format_checks_every_adr_the_plan_links() {
    let host = host(None);
    let good = "# ADR 1\n\nStatus: Accepted\n\n## Context\nx\n## Decision\ny\n## Consequences\nz\n";
    let dir = project(&[
        (
            "specs/orders/plan.md",
            "# Plan\n\nSee [ADR-0001](../../history/adr/0001-kafka.md) and [ADR-0002](../../history/adr/0002-dapr.md).\n",
        ),
        ("history/adr/0001-kafka.md", good),
        (
            "history/adr/0002-dapr.md",
            "# ADR 2\n\nStatus: Proposed\n\n## Context\nx\n",
        ),
    ]);
    let (plugin, _) = host
        .load(
            Some("adr-format"),
            &manifest(
                &dist("adr-format"),
                PluginLimits::default(),
                reading(&["specs", "history"]),
            ),
            dir.path(),
        )
        .unwrap();
    let outcome = plugin
        .evaluate(&Request {
            facts: vec![("docs.plan.exists".to_owned(), Ok(json!(true)))],
            ..request(json!({}))
        })
        .unwrap();
    assert_eq!(output(&outcome, "adrs"), json!(2), "{outcome:?}");
    assert_eq!(output(&outcome, "malformed"), json!(1), "{outcome:?}");
    assert!(
        outcome.findings.iter().any(|f| f.status == "fail"),
        "{outcome:?}"
    );
}

#[test]
fn codeowners_reports_the_files_nobody_owns() {
    let host = host(None);
    let dir = project(&[
        (
            ".github/CODEOWNERS",
            "# owners\n/services/orders/ @team-orders\n",
        ),
        ("services/orders/main.rs", "fn main() {}\n"),
        ("charts/orders/values.yaml", "replicas: 1\n"),
    ]);
    let (plugin, _) = host
        .load(
            Some("codeowners"),
            &manifest(
                &dist("codeowners"),
                PluginLimits::default(),
                reading(&[".github", "services", "charts"]),
            ),
            dir.path(),
        )
        .unwrap();
    let outcome = plugin
        .evaluate(&request(
            json!({ "paths": ["services/{feature}", "charts/{feature}"] }),
        ))
        .unwrap();
    assert_eq!(
        output(&outcome, "owners"),
        json!(["@team-orders"]),
        "{outcome:?}"
    );
    assert_eq!(output(&outcome, "unowned"), json!(1), "{outcome:?}");
}

/// The same world, implemented in JavaScript (componentize-js): the interface is not Rust's.
#[test]
fn a_javascript_plugin_runs_in_the_same_sandbox() {
    // Cached across runs: compiling its 12 MB takes most of a minute in a debug build.
    let host = Host::new(&HostSettings {
        max_memory: 256 << 20,
        stack: 512 << 10,
        cache: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")),
    })
    .unwrap();
    let limits = PluginLimits {
        memory: "256MiB".to_owned(),
        timeout: "10s".to_owned(),
        ..PluginLimits::default()
    };
    let (plugin, _) = host
        .load(
            Some("tasks-progress"),
            &manifest(&dist("tasks-progress"), limits, Grants::default()),
            Path::new(""),
        )
        .unwrap();
    assert_eq!(
        plugin.description().reads,
        ["docs.tasks.total", "docs.tasks.done"]
    );
    let call = |done: i64, target: &str| {
        plugin.evaluate(&Request {
            target: target.to_owned(),
            facts: vec![
                ("docs.tasks.total".to_owned(), Ok(json!(10))),
                ("docs.tasks.done".to_owned(), Ok(json!(done))),
            ],
            ..request(json!({ "min_done": 0.8 }))
        })
    };
    let enough = call(9, "cloud_prod").unwrap();
    assert_eq!(enough.findings[0].status, "pass", "{enough:?}");
    assert_eq!(output(&enough, "done_ratio"), json!(0.9));
    let short = call(5, "cloud_prod").unwrap();
    assert_eq!(short.findings[0].status, "fail", "{short:?}");
    assert_eq!(short.findings[0].severity, "critical");
    let err = plugin
        .evaluate(&request(json!({ "min_done": 3 })))
        .unwrap_err();
    assert_eq!(
        err,
        "reported an error: min_done must be a fraction between 0 and 1, not 3"
    );
}

/// phasev-eval, keeping compiled plugins in the tests' own cache rather than the user's.
fn eval() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("phasev-eval").unwrap();
    cmd.env("NO_COLOR", "1").env(
        "PHASEV_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache"),
    );
    cmd
}

/// `plugin inspect` compiles into the cache `gate` uses, so inspecting again (or gating with
/// the plugin) does not compile it again.
#[test]
fn plugin_inspect_uses_the_default_cache() {
    let cache = tempfile::tempdir().unwrap();
    let wasm = dist("trivial");
    eval()
        .env("PHASEV_CACHE_DIR", cache.path())
        .args(["plugin", "inspect"])
        .arg(&wasm)
        .assert()
        .success();
    let digest = hex(&Sha256::digest(std::fs::read(&wasm).unwrap()));
    assert!(cache_entry(cache.path(), &digest).is_file());
}

/// The demo commits its TLS plugin (so the README's first command needs no WebAssembly
/// toolchain); it must be the example it claims to be.
#[test]
fn the_demo_plugin_is_the_tls_settings_example() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/plugins/tls-settings.wasm");
    let describe = |file: &Path| {
        let out = eval()
            .args(["plugin", "inspect", "--format", "json"])
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["description"].clone()
    };
    assert_eq!(describe(&demo), describe(&dist("tls-settings")));
}

#[test]
fn plugin_new_scaffolds_a_crate_that_builds_and_inspects() {
    let dir = tempfile::tempdir().unwrap();
    let out = eval()
        .args(["plugin", "new", "unit-gate", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cargo build --release"));
    let again = eval()
        .args(["plugin", "new", "unit-gate", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad = eval()
        .args(["plugin", "new", "Unit Gate"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));

    // Built with the plugins workspace's target directory, so the SDK's dependencies are reused.
    let crate_dir = dir.path().join("unit-gate");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/target");
    let built = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&crate_dir)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let wasm = target.join("wasm32-wasip2/release/phasev_plugin_unit_gate.wasm");
    let out = eval()
        .args(["plugin", "inspect", "--format", "toml"])
        .arg(&wasm)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("[plugins.unit-gate]\n"), "{text}");
    let digest = hex(&Sha256::digest(std::fs::read(&wasm).unwrap()));
    assert!(text.contains(&format!("sha256 = \"{digest}\"")), "{text}");
    let out = eval()
        .args(["plugin", "inspect"])
        .arg(&wasm)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("unit-gate 0.1.0 — Fails while a unit test fails\n"),
        "{text}"
    );
    assert!(text.contains("reads   tests.unit.failed\n"), "{text}");
    assert!(
        text.contains("  failed: int — How many unit tests failed\n"),
        "{text}"
    );
}

#[test]
fn inspecting_something_that_is_not_a_plugin_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    write_wasm(dir.path(), "notes.txt", b"just text");
    let inspect = |file: &str| {
        let out = eval()
            .current_dir(dir.path())
            .args(["plugin", "inspect", file])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = inspect("notes.txt");
    assert!(stderr.contains("phasev::plugin::invalid"), "{stderr}");
    assert!(
        stderr.contains(
            "plugin `notes`: notes.txt is not a WebAssembly component: it is not WebAssembly at \
             all (it does not start with `\\0asm`)\n"
        ),
        "{stderr}"
    );
    let stderr = inspect("nothere.wasm");
    assert!(stderr.contains("phasev::plugin::unreadable"), "{stderr}");
    assert!(
        stderr.contains("help: pass the path of a plugin's component (a `.wasm` file)\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("phasev.toml"), "{stderr}");
}

/// A project of `policy.phasev` whose `[plugins.hostile]` is the hostile plugin with `limits`,
/// compiled plugins cached inside it.
fn hostile_project(policy: &str, limits: &str) -> tempfile::TempDir {
    let wasm = dist("hostile");
    let sha = hex(&Sha256::digest(std::fs::read(&wasm).unwrap()));
    project(&[
        ("policy.phasev", policy),
        (
            "phasev.toml",
            &format!(
                "[project]\nname = \"p\"\npolicy = \"policy.phasev\"\nfacts = [\"facts.json\"]\n\n\
                 [sandbox]\ncache = \"cache\"\n\n\
                 [plugins.hostile]\npath = {:?}\nsha256 = \"{sha}\"\nlimits = {{ {limits} }}\n\n\
                 [features.orders]\nstage = \"dev\"\n",
                wasm.display().to_string()
            ),
        ),
        ("facts.json", r#"{"tests": {"unit": {"failed": 2}}}"#),
    ])
}

/// An outcome that breaks the plugin's description errors the outputs of its own check, each
/// reason naming the plugin and the check; another check of the same plugin is decided.
#[test]
fn malformed_outcomes_error_their_own_check_naming_plugin_and_check() {
    let dir = hostile_project(
        "policy p\nladder { dev \"Dev\"\n prod \"Prod\" }\n\
         check undeclared = plugin \"hostile\" { mode: \"undeclared-output\" }\n\
         check wrong = plugin \"hostile\" { mode: \"wrong-type-output\" }\n\
         check garbled = plugin \"hostile\" { mode: \"not-json-output\" }\n\
         check missing = plugin \"hostile\" { mode: \"missing-output\" }\n\
         check fine = plugin \"hostile\" { mode: \"ok\" }\n\
         gate dev -> prod {\n\
           require \"undeclared\": undeclared.calls == 1\n\
           require \"wrong\": wrong.passed and wrong.calls == 1\n\
           require \"garbled\": garbled.calls == 1\n\
           require \"missing\": missing.passed and missing.calls == 1\n\
           require \"fine\": fine.calls == 1\n\
         }\n",
        "",
    );
    let project = Project::read(&dir.path().join("phasev.toml")).unwrap();
    let plugins = Plugins::load(&project).unwrap();
    let options = Options {
        plugins: plugins.schemas(),
        all_plugins: true,
    };
    let program = compile_path(&dir.path().join("policy.phasev"), &options)
        .program
        .unwrap();
    let mut facts = Facts::missing(&program);
    plugins.run_checks(&program, "orders", 1, &mut facts);
    let fact = |path: &str| facts.get(program.slot_index(path).unwrap()).value.clone();
    let error = |text: &str| Err(Absent::Error(text.to_owned()));
    assert_eq!(
        fact("undeclared.calls"),
        error(
            "plugin `hostile` (check `undeclared`) returned output `extra`, which its \
             description does not declare"
        )
    );
    assert_eq!(
        fact("wrong.calls"),
        error(
            "plugin `hostile` (check `wrong`) returned output `calls` of the wrong type: \
             expected an integer, found a string `\"abc\"`"
        )
    );
    assert_eq!(fact("wrong.passed"), Ok(Value::Bool(true)));
    assert_eq!(
        fact("garbled.calls"),
        error(
            "plugin `hostile` (check `garbled`) returned output `calls` that is not JSON: \
             expected value at line 1 column 1"
        )
    );
    assert_eq!(
        fact("missing.calls"),
        error("plugin `hostile` (check `missing`) did not return output `calls`")
    );
    assert_eq!(fact("missing.passed"), Ok(Value::Bool(true)));
    assert_eq!(fact("fine.calls"), Ok(Value::Int(1)));
}

/// End to end: the failed findings of a check explain the requirements that read it, with
/// their locations, and a decision record keeps them, so it replays bit for bit.
#[test]
fn a_failed_checks_findings_explain_the_requirements_that_read_it() {
    let wasm = dist("tls-settings");
    let sha = hex(&Sha256::digest(std::fs::read(&wasm).unwrap()));
    let dir = project(&[
        (
            "policy.phasev",
            "policy p\nladder { dev \"Dev\"\n prod \"Prod\" }\n\
             check tls = plugin \"tls-settings\" { min_tls: \"1.2\" }\n\
             gate dev -> prod {\n\
               require \"TLS\": tls.passed\n\
               require \"few insecure settings\": tls.insecure_settings < 1\n\
             }\n",
        ),
        (
            "phasev.toml",
            &format!(
                "[project]\nname = \"p\"\npolicy = \"policy.phasev\"\nfacts = [\"facts.json\"]\n\n\
                 [sandbox]\ncache = \"cache\"\n\n\
                 [plugins.tls-settings]\npath = {:?}\nsha256 = \"{sha}\"\ngrants = {{ read = [\"charts\"] }}\n\n\
                 [features.orders]\nstage = \"dev\"\n",
                wasm.display().to_string()
            ),
        ),
        ("facts.json", r#"{"helm": {"chart": {"exists": true}}}"#),
        (
            "charts/orders/values.yaml",
            "ingress:\n  tls:\n    minVersion: \"1.0\"\nclient:\n  insecureSkipVerify: true\n",
        ),
    ]);
    let out = eval()
        .current_dir(dir.path())
        .args(["explain", "--feature", "orders", "--to", "prod"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let findings = "  because plugin `tls-settings` (check `tls`): charts/orders/values.yaml:3: \
                    `ingress.tls.minVersion` allows TLS 1.0, below the minimum 1.2\n  \
                    because plugin `tls-settings` (check `tls`): charts/orders/values.yaml:5: \
                    `client.insecureSkipVerify` skips certificate verification\n";
    assert!(
        text.contains(&format!(
            "require \"TLS\" (dev -> prod, warning): fail\n  \
             read tls.passed = false   [plugin tls-settings@0.1.0 (sha256:{})]\n  \
             because tls.passed is false\n{findings}",
            &sha[..12]
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  because tls.insecure_settings is 2, needs < 1\n{findings}"
        )),
        "{text}"
    );
    let record = dir.path().join("record.json");
    eval()
        .current_dir(dir.path())
        .args(["gate", "--feature", "orders", "--to", "prod", "--record"])
        .arg(&record)
        .assert()
        .code(1);
    let replay = eval().arg("replay").arg(&record).output().unwrap();
    let replayed = String::from_utf8_lossy(&replay.stdout);
    assert!(
        replayed.contains(": identical\n") && replayed.contains("skips certificate verification"),
        "{replayed}{}",
        String::from_utf8_lossy(&replay.stderr)
    );
}

/// With a project, phasev-eval knows every plugin there is: a check of a misspelt plugin is a
/// compile error at the name, with a did-you-mean, before anything runs.
#[test]
fn a_misspelt_plugin_is_a_compile_error() {
    let dir = hostile_project(
        "policy p\nladder { dev \"Dev\"\n prod \"Prod\" }\n\
         check spin = plugin \"hostlie\" { mode: \"ok\" }\n\
         gate dev -> prod {\n  require \"spin\": spin.passed\n}\n",
        "",
    );
    let out = eval()
        .current_dir(dir.path())
        .args(["gate", "--feature", "orders", "--to", "prod"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("phasev::check::plugin_config")
            && stderr.contains("no plugin `hostlie` is configured")
            && stderr.contains("did you mean `hostile`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("check spin = plugin \"hostlie\" { mode: \"ok\" }\n"),
        "the name is shown where it is written: {stderr}"
    );
}

/// End to end: a plugin that loops makes its own requirement inconclusive, named in the
/// explanation, while the other requirements and checks are decided.
#[test]
fn a_looping_plugin_leaves_only_its_requirement_inconclusive() {
    let dir = hostile_project(
        "policy p\nladder { dev \"Dev\"\n prod \"Prod\" }\n\
         check spin = plugin \"hostile\" { mode: \"loop\" }\n\
         check fine = plugin \"hostile\" { mode: \"ok\" }\n\
         gate dev -> prod {\n\
           require \"spinning check\": spin.passed\n\
           require \"fine check\": fine.passed and fine.calls == 1\n\
           require \"unit tests\": tests.unit.failed == 0\n\
         }\n",
        "timeout = \"200ms\", fuel = 100000000000",
    );
    let out = eval()
        .current_dir(dir.path())
        .args(["explain", "--feature", "orders", "--to", "prod"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a known failure wins: {text}");
    assert!(
        text.contains(
            "require \"spinning check\" (dev -> prod, warning): inconclusive\n  \
             read spin.passed = error: plugin `hostile` (check `spin`) ran past its time limit of \
             200ms (limits.timeout)   [plugin hostile@0.1.0"
        ),
        "{text}"
    );
    assert!(
        text.contains("require \"fine check\" (dev -> prod, warning): pass"),
        "{text}"
    );
    assert!(
        text.contains("require \"unit tests\" (dev -> prod, warning): fail"),
        "{text}"
    );
}
