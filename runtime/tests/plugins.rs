//! The plugin host against real components: the test plugins built by `plugins/build.sh`
//! (`plugins/dist/*.wasm`), and hand-written WAT for what no toolchain emits on purpose.
//!
//! Hostile plugins run in one host, one after the other: each must end as an error for its own
//! call only, with the exact reason, and the host must still serve a well-behaved plugin
//! afterwards. That their memory is given back is `plugin_memory.rs`, a binary of its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};

use phasev_compiler::ast::Severity;
use phasev_compiler::check::Options;
use phasev_compiler::compile_path;
use phasev_compiler::ir::{Program, hex};
use phasev_runtime::config::{Grants, PluginLimits, PluginManifest, Project};
use phasev_runtime::decide::Outcome as Status;
use phasev_runtime::facts::{Absent, Facts};
use phasev_runtime::plugin::{
    Compiler, DEFAULT_MAX_FUNCTIONS, DEFAULT_MAX_PLUGIN_SIZE, Host, HostSettings, Lookup, Outcome,
    PluginError, Plugins, Rejection, Request,
};
use phasev_runtime::value::Value;
use serde_json::json;
use sha2::{Digest, Sha256};

mod plugin_support;

use plugin_support::{
    TEST_CACHE_KEY, cache_settings, compiler, dist, fuel, host, load, manifest, mode, request,
    shared_cache_dir, tight,
};

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
         test-plugins/hostile/src/lib.rs:281:5: the hostile plugin panics on purpose)"
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
        assert_eq!(outcome.findings[0].status, Status::Pass, "{outcome:?}");
        assert!(outcome.outputs.contains(&("calls".to_owned(), json!(1))));
    }
    // The host still serves well-behaved calls.
    assert_eq!(mode(&tight, "ok").unwrap().findings[0].status, Status::Pass);
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
        "plugin `hostile`: describe failed: returned 655 bytes of output, over its limit of 16 \
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
    assert_eq!(lookup, Lookup::Rejected(Rejection::Unauthentic));
    let facts = vec![("tests.unit.failed".to_owned(), Ok(json!(0)))];
    let outcome = plugin
        .evaluate(&Request {
            facts,
            ..request(json!({}))
        })
        .unwrap();
    assert_eq!(outcome.findings[0].status, Status::Pass);
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
    assert_eq!(lookup, Lookup::Rejected(Rejection::Unauthentic));
    assert_eq!(plugin.description().name, "tls-settings");
    assert_eq!(
        host.load(Some("tls-settings"), &tls, Path::new(""))
            .unwrap()
            .1,
        Lookup::Hit,
        "the entry was replaced"
    );
}

/// What an attacker who can commit to a repository can compute: an entry named for the pinned
/// plugin (its digest and the engine key, the same for every copy of a phasev build) holding
/// another plugin's code under a valid sha256 over magic, digest, engine key and code. Before
/// entries were keyed, phasev loaded exactly this and ran the planted code. Now the entry fails
/// authentication, is reported, and the pinned plugin is compiled from its bytes and run.
#[test]
fn a_forged_cache_entry_is_reported_and_the_pinned_plugin_runs() {
    let cache = tempfile::tempdir().unwrap();
    let host = host(Some(cache.path().to_owned()));
    let tls = manifest(
        &dist("tls-settings"),
        PluginLimits::default(),
        reading(&["charts"]),
    );
    let hostile = manifest(&dist("hostile"), PluginLimits::default(), Grants::default());
    let dir = project(&[(
        "charts/orders/values.yaml",
        "ingress:\n  tls:\n    minVersion: \"1.0\"\n",
    )]);
    for m in [&tls, &hostile] {
        assert_eq!(host.load(None, m, dir.path()).unwrap().1, Lookup::Miss);
    }
    let planted = std::fs::read(cache_entry(cache.path(), &hostile.sha256)).unwrap();
    let (magic, code) = (&planted[..16], &planted[48..]);
    let target = cache_entry(cache.path(), &tls.sha256);
    let name = target.file_stem().unwrap().to_string_lossy().into_owned();
    let engine_key = name.rsplit('-').next().unwrap();
    let mut sum = Sha256::new();
    sum.update(magic);
    for part in [tls.sha256.as_str(), engine_key] {
        sum.update(part.len().to_le_bytes());
        sum.update(part.as_bytes());
    }
    sum.update(code);
    let mut forged = magic.to_vec();
    forged.extend_from_slice(&sum.finalize());
    forged.extend_from_slice(code);
    std::fs::write(&target, &forged).unwrap();

    let started = std::time::Instant::now();
    let (plugin, lookup) = host.load(Some("tls-settings"), &tls, dir.path()).unwrap();
    let took = started.elapsed();
    assert_eq!(lookup, Lookup::Rejected(Rejection::Unauthentic));
    assert_eq!(
        lookup.warning("tls-settings").unwrap(),
        "plugin `tls-settings`: its entry in the plugin cache failed authentication (not \
         written by this phasev with your cache key, or altered since); it was compiled again \
         from the pinned bytes and the entry replaced"
    );
    assert_eq!(plugin.digest(), tls.sha256);
    assert_eq!(plugin.description().name, "tls-settings");
    // The pinned plugin's behaviour: the TLS finding, where the planted code would have
    // refused the configuration (the hostile plugin requires a `mode`).
    let outcome = plugin
        .evaluate(&Request {
            facts: vec![("helm.chart.exists".to_owned(), Ok(json!(true)))],
            ..request(json!({ "min_tls": "1.2" }))
        })
        .unwrap();
    assert_eq!(output(&outcome, "min_version"), json!("1.0"), "{outcome:?}");
    assert_ne!(
        std::fs::read(&target).unwrap(),
        forged,
        "the entry was replaced"
    );
    assert_eq!(
        host.load(Some("tls-settings"), &tls, dir.path()).unwrap().1,
        Lookup::Hit
    );
    // Compiling again (tens of milliseconds in release, seconds in a debug build) is the
    // whole cost of the forgery.
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
}

/// A cache inside the project (`[sandbox] cache = ".phasev-cache"`) is refused: anyone who can
/// commit could plant entries there, from a fresh clone too.
#[test]
fn a_cache_inside_the_project_is_refused() {
    let wasm = dist("trivial");
    let dir = project(&[(
        "phasev.toml",
        &format!(
            "[project]\nname = \"p\"\npolicy = \"policy.phasev\"\n\n\
             [sandbox]\ncache = \".phasev-cache\"\n\n\
             [plugins.trivial]\npath = {:?}\nsha256 = \"{}\"\n",
            wasm.display().to_string(),
            hex(&Sha256::digest(std::fs::read(&wasm).unwrap()))
        ),
    )]);
    let project = Project::read(&dir.path().join("phasev.toml")).unwrap();
    let started = std::time::Instant::now();
    let err = Plugins::load(&project, || Ok(compiler().program)).unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(
        err.to_string(),
        format!(
            "the plugin host cannot start: the plugin cache {}/.phasev-cache is inside the \
             project ({}); whoever can commit to the project could plant compiled code there: \
             keep it outside (set [sandbox] cache or PHASEV_CACHE_DIR to a directory of your \
             own)",
            dir.path().display(),
            dir.path().display()
        )
    );
    assert!(
        !dir.path().join(".phasev-cache").exists(),
        "not even created"
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
        Lookup::Rejected(Rejection::Shared)
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
        max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
        compiler: compiler(),
        max_functions: DEFAULT_MAX_FUNCTIONS,
        stack: 512 << 10,
        cache: Some(cache_settings(theirs.clone())),
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
        max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
        compiler: compiler(),
        max_functions: DEFAULT_MAX_FUNCTIONS,
        stack: 512 << 10,
        cache: Some(cache_settings(cache.path().to_owned())),
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
        .filter(|f| f.status == Status::Fail)
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
        outcome.findings.iter().any(|f| f.status == Status::Fail),
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
        max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
        compiler: compiler(),
        max_functions: DEFAULT_MAX_FUNCTIONS,
        stack: 512 << 10,
        cache: Some(cache_settings(shared_cache_dir())),
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
    assert_eq!(enough.findings[0].status, Status::Pass, "{enough:?}");
    assert_eq!(output(&enough, "done_ratio"), json!(0.9));
    let short = call(5, "cloud_prod").unwrap();
    assert_eq!(short.findings[0].status, Status::Fail, "{short:?}");
    assert_eq!(short.findings[0].severity, Severity::Critical);
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
    cmd.env("NO_COLOR", "1")
        .env("PHASEV_CACHE_DIR", shared_cache_dir())
        .env("PHASEV_CACHE_KEY", TEST_CACHE_KEY);
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
/// toolchain); it must be, byte for byte, what its source builds to (`plugins/build.sh`,
/// reproducible), not only describe itself the same.
#[test]
fn the_demo_plugin_is_the_tls_settings_example() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/plugins/tls-settings.wasm");
    let digest = |file: &Path| hex(&Sha256::digest(std::fs::read(file).unwrap()));
    assert_eq!(digest(&demo), digest(&dist("tls-settings")));
}

/// The plugins workspace copied to two directories at different depths and built there, as
/// `plugins/build.sh` builds (paths remapped, Cargo.lock as it is): the same bytes, so a pinned
/// digest can be checked by anyone who rebuilds the source, and they are the demo's.
#[test]
fn a_plugin_builds_to_the_same_bytes_in_any_directory() {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    // Shared, so the dependencies (at the same paths in both builds) compile once.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reproducible-plugins");
    let started = std::time::Instant::now();
    let build = |dir: &Path| {
        let copy = dir.join("plugins");
        std::fs::create_dir_all(&copy).unwrap();
        for entry in [
            "Cargo.toml",
            "Cargo.lock",
            "reproducible.sh",
            "sdk",
            "wit",
            "examples",
            "test-plugins",
        ] {
            let status = std::process::Command::new("cp")
                .args(["-R", "--"])
                .arg(plugins.join(entry))
                .arg(&copy)
                .status()
                .unwrap();
            assert!(status.success(), "copying {entry}");
        }
        let _ = std::fs::remove_dir_all(copy.join("examples/js-tasks-progress/node_modules"));
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(
                "source ./reproducible.sh && cargo build --quiet --release --locked \
                 --target wasm32-wasip2 -p phasev-plugin-tls-settings",
            )
            .current_dir(&copy)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let wasm = target.join("wasm32-wasip2/release/phasev_plugin_tls_settings.wasm");
        hex(&Sha256::digest(std::fs::read(wasm).unwrap()))
    };
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let first = build(one.path());
    let second = build(&two.path().join("somewhere/else/deeper"));
    assert_eq!(first, second);
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/plugins/tls-settings.wasm");
    assert_eq!(first, hex(&Sha256::digest(std::fs::read(demo).unwrap())));
    // Two release builds of a small crate with LTO; the dependencies the first time only.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(900),
        "{:?}",
        started.elapsed()
    );
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

/// The plugins of the project in `dir` and its policy, compiled against their descriptions.
fn load_project(dir: &Path) -> (Plugins, Program) {
    let project = Project::read(&dir.join("phasev.toml")).unwrap();
    let plugins = Plugins::load(&project, || Ok(compiler().program)).unwrap();
    let options = Options {
        plugins: plugins.schemas(),
        all_plugins: true,
    };
    let program = compile_path(&dir.join("policy.phasev"), &options)
        .program
        .unwrap();
    (plugins, program)
}

/// A project of `policy.phasev` whose `[plugins.hostile]` is the hostile plugin with `limits`.
fn hostile_project(policy: &str, limits: &str) -> tempfile::TempDir {
    let wasm = dist("hostile");
    let sha = hex(&Sha256::digest(std::fs::read(&wasm).unwrap()));
    project(&[
        ("policy.phasev", policy),
        (
            "phasev.toml",
            &format!(
                "[project]\nname = \"p\"\npolicy = \"policy.phasev\"\nfacts = [\"facts.json\"]\n\n\
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
    let (plugins, program) = load_project(dir.path());
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

/// Epoch interruption stops WebAssembly code, not a guest waiting in a host function: a sleep
/// (WASI `subscribe-duration` and `poll`) in `evaluate` or in `describe`, with or without the
/// clocks granted, still ends at the time limit, and the message says where it was.
#[test]
fn a_plugin_asleep_in_a_host_call_is_stopped_at_its_time_limit() {
    // Cached, so loading the plugin below is only its `describe`, not compiling it.
    let host = host(Some(shared_cache_dir()));
    let path = dist("hostile");
    let limit = std::time::Duration::from_millis(300);
    let stopped = "was stopped at its time limit of 300ms (limits.timeout) while waiting in a \
                   host call (sleeping, polling or waiting on I/O)";
    for clocks in [false, true] {
        let grants = Grants {
            clocks,
            ..Grants::default()
        };
        let plugin = load(&host, &path, tight(), grants);
        let started = std::time::Instant::now();
        assert_eq!(
            mode(&plugin, "sleep").unwrap_err(),
            stopped,
            "clocks: {clocks}"
        );
        let took = started.elapsed();
        assert!(took >= limit && took < 3 * limit, "{took:?}");
    }
    // `describe` runs when the plugin loads: a granted `describe/mode` makes it sleep.
    let dir = project(&[("describe/mode", "sleep")]);
    let started = std::time::Instant::now();
    let err = host
        .load(
            Some("hostile"),
            &manifest(&path, tight(), reading(&["describe"])),
            dir.path(),
        )
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        err.to_string(),
        format!("plugin `hostile`: describe failed: {stopped}")
    );
    assert!(took >= limit && took < 3 * limit, "{took:?}");
    // The host serves the next call at once.
    assert_eq!(
        mode(&load(&host, &path, tight(), Grants::default()), "ok")
            .unwrap()
            .findings[0]
            .status,
        Status::Pass
    );
}

/// `plugin inspect` gives no grant and the default limits (1s): a plugin whose `describe`
/// sleeps an hour is stopped after a second, with the reason.
#[test]
fn plugin_inspect_of_a_sleeping_plugin_ends_at_the_time_limit() {
    let started = std::time::Instant::now();
    let out = eval()
        .args(["plugin", "inspect"])
        .arg(dist("sleepy"))
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "plugin `sleepy`: describe failed: was stopped at its time limit of 1s \
             (limits.timeout) while waiting in a host call (sleeping, polling or waiting on I/O)"
        ),
        "{stderr}"
    );
    // A second of sleep, the rest is starting phasev and loading the plugin from the cache
    // (compiling it, the first time, in a debug build).
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
}

/// Past its budget for the run, a plugin's remaining checks are not run: each is
/// inconclusive with the reason, while the checks before it were run (and stopped at the
/// time limit).
#[test]
fn a_plugin_past_its_budget_leaves_its_remaining_checks_inconclusive() {
    let dir = hostile_project(
        "policy p\nladder { dev \"Dev\"\n prod \"Prod\" }\n\
         check a = plugin \"hostile\" { mode: \"sleep\" }\n\
         check b = plugin \"hostile\" { mode: \"sleep\" }\n\
         check c = plugin \"hostile\" { mode: \"sleep\" }\n\
         check d = plugin \"hostile\" { mode: \"ok\" }\n\
         gate dev -> prod {\n\
           require \"a\": a.passed\n  require \"b\": b.passed\n\
           require \"c\": c.passed\n  require \"d\": d.passed\n\
         }\n",
        "timeout = \"200ms\", budget = \"500ms\"",
    );
    let (plugins, program) = load_project(dir.path());
    let mut facts = Facts::missing(&program);
    let started = std::time::Instant::now();
    plugins.run_checks(&program, "orders", 1, &mut facts);
    let took = started.elapsed();
    let fact = |path: &str| facts.get(program.slot_index(path).unwrap()).value.clone();
    let stopped = |check: &str| {
        Err(Absent::Error(format!(
            "plugin `hostile` (check `{check}`) was stopped at its time limit of 200ms \
             (limits.timeout) while waiting in a host call (sleeping, polling or waiting on I/O)"
        )))
    };
    assert_eq!(fact("a.passed"), stopped("a"));
    assert_eq!(fact("b.passed"), stopped("b"));
    assert_eq!(fact("c.passed"), stopped("c"));
    let Err(Absent::Error(why)) = fact("d.passed") else {
        panic!("{:?}", fact("d.passed"));
    };
    assert!(
        why.starts_with(
            "plugin `hostile` (check `d`) was not run: the plugin has used its time budget of \
             500ms for this run (limits.budget), "
        ) && why.ends_with(" in its calls so far"),
        "{why}"
    );
    assert!(
        took >= std::time::Duration::from_millis(600) && took < std::time::Duration::from_secs(2),
        "{took:?}"
    );
}

/// Features are gathered on a pool of threads: eight features whose plugin waits out its
/// 300ms limit take far less than eight times 300ms.
#[test]
fn plugin_calls_for_different_features_run_in_parallel() {
    let features: String = (0..8)
        .map(|i| format!("[features.f{i}]\nstage = \"dev\"\n\n"))
        .collect();
    let dir = hostile_project(
        "policy p\nladder { dev \"Dev\"\n prod \"Prod\" }\n\
         check nap = plugin \"hostile\" { mode: \"sleep\" }\n\
         gate dev -> prod {\n  require \"nap\": nap.passed\n}\n",
        "timeout = \"300ms\"",
    );
    let toml = dir.path().join("phasev.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("[features.orders]\nstage = \"dev\"\n", &features);
    std::fs::write(&toml, text).unwrap();
    // Loaded once, so the timed run below does not compile the plugin.
    eval()
        .current_dir(dir.path())
        .args(["report", "checklist"])
        .assert()
        .success();
    let started = std::time::Instant::now();
    let out = eval()
        .current_dir(dir.path())
        .args(["report", "checklist"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("## Feature Completeness Checklist").count(),
        8,
        "{text}"
    );
    assert!(
        took < std::time::Duration::from_millis(8 * 300 * 3 / 4),
        "eight features took {took:?}"
    );
}

/// A grant must stay inside the project: an absolute path, `..`, or a directory that is a
/// symlink leading out are refused when phasev.toml is read, at the grant.
#[test]
fn grants_that_leave_the_project_are_refused_where_they_are_written() {
    let dir = project(&[("charts/orders/values.yaml", "a: 1\n")]);
    std::os::unix::fs::symlink("/etc", dir.path().join("etc-link")).unwrap();
    let refused = |grant: &str| {
        let toml = dir.path().join("phasev.toml");
        let text = format!(
            "[project]\nname = \"p\"\npolicy = \"policy.phasev\"\n\n\
             [plugins.tls]\npath = \"t.wasm\"\nsha256 = \"ab\"\n\
             grants = {{ read = [\"charts\", {grant:?}] }}\n"
        );
        std::fs::write(&toml, &text).unwrap();
        let started = std::time::Instant::now();
        let err = Project::read(&toml).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
        let label = miette::Diagnostic::labels(&err).unwrap().next().unwrap();
        let at = &text[label.offset()..label.offset() + label.len()];
        (err.to_string(), at.to_owned())
    };
    assert_eq!(
        refused("/etc"),
        (
            "[plugins.tls] grants.read `/etc` is an absolute path; a plugin may read only \
             directories of the project"
                .to_owned(),
            "\"/etc\"".to_owned()
        )
    );
    assert_eq!(
        refused("../../../../").0,
        "[plugins.tls] grants.read `../../../../` goes up with `..`; a plugin may read only \
         directories of the project"
    );
    assert_eq!(
        refused("etc-link"),
        (
            "[plugins.tls] grants.read `etc-link` leads out of the project through a symlink \
             (to /etc); a plugin may read only directories of the project"
                .to_owned(),
            "\"etc-link\"".to_owned()
        )
    );
    // The same is refused when a plugin is loaded with such grants.
    let err = host(None)
        .load(
            Some("hostile"),
            &manifest(&dist("hostile"), tight(), reading(&["etc-link"])),
            dir.path(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `hostile`: [plugins.hostile] grants.read `etc-link` leads out of the project \
         through a symlink (to /etc); a plugin may read only directories of the project"
    );
}

/// A symlink inside a granted directory is not followed out of it: WASI resolves every path
/// beneath the opened directory.
#[test]
fn a_symlink_inside_a_granted_directory_is_not_followed() {
    let dir = project(&[("shared/ok.txt", "fine")]);
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("shared/passwd")).unwrap();
    let (plugin, _) = host(None)
        .load(
            None,
            &manifest(&dist("hostile"), tight(), reading(&["shared"])),
            dir.path(),
        )
        .unwrap();
    let read = |path: &str| {
        plugin
            .evaluate(&request(json!({ "mode": "read", "path": path })))
            .unwrap()
    };
    assert_eq!(
        observed(&read("shared/ok.txt")),
        json!(["shared/ok.txt (4 bytes)"])
    );
    let escaped = read("shared/passwd");
    assert_eq!(observed(&escaped), json!([]), "{escaped:?}");
    assert_eq!(
        messages(&escaped),
        ["reading shared/passwd failed: Operation not permitted (os error 63)"]
    );
}

/// Whether `output` holds a control character other than the line break.
fn has_control(output: &str) -> bool {
    output.chars().any(|c| c.is_control() && c != '\n')
}

/// The unescaped `|` of a Markdown table row.
fn cell_bars(row: &str) -> usize {
    let mut bars = 0;
    let mut escaped = false;
    for c in row.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => bars += 1,
            _ => escaped = false,
        }
    }
    bars
}

/// Every row of each Markdown table in `output` has as many cells as its header.
fn assert_tables_whole(output: &str) {
    let mut header = None;
    for row in output.lines() {
        if !row.starts_with('|') {
            header = None;
            continue;
        }
        let bars = cell_bars(row);
        match header {
            None => header = Some(bars),
            Some(expected) => assert_eq!(bars, expected, "a broken row: {row}\n{output}"),
        }
    }
}

/// A hostile plugin's text (escape sequences, workflow commands after line breaks, table
/// separators, XML that closes its element, C1 controls, DEL) in its findings, its
/// inconclusive reason and its error, rendered in every format: no control character
/// reaches any output, no line but an annotation's starts with `::`, every Markdown table
/// keeps its cells and the JUnit file is well-formed XML.
#[test]
fn a_hostile_plugins_text_is_neutralised_in_every_format() {
    let dir = hostile_project(
        "policy p\nladder { dev \"Dev\"\n prod \"Prod\" }\n\
         check evil = plugin \"hostile\" { mode: \"hostile-text\" }\n\
         check broken = plugin \"hostile\" { mode: \"hostile-error\" }\n\
         gate dev -> prod {\n\
           require \"evil\": evil.passed\n\
           require \"broken\": broken.passed\n\
         }\n",
        "",
    );
    let started = std::time::Instant::now();
    let run = |args: &[&str]| {
        let out = eval().current_dir(dir.path()).args(args).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_ne!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!has_control(&stdout), "{args:?}: {stdout:?}");
        stdout
    };
    let gate = |format: &str| {
        run(&[
            "gate",
            "--feature",
            "orders",
            "--to",
            "prod",
            "--format",
            format,
        ])
    };
    let neutral = "\u{fffd}[2J\u{fffd}]0;owned\u{fffd}cleared ::error::forged annotation \
                   ::add-mask::secret | a|b <failure>&</testcase>]]> \u{fffd}31mred\u{fffd}";
    for (what, output) in [
        ("text", gate("text")),
        ("markdown", gate("markdown")),
        ("junit", gate("junit")),
        ("sarif", gate("sarif")),
        (
            "explain",
            run(&["explain", "--feature", "orders", "--to", "prod"]),
        ),
        ("readiness", run(&["report", "readiness"])),
        ("checklist", run(&["report", "checklist"])),
    ] {
        assert!(
            !output.lines().any(|l| l.trim_start().starts_with("::")),
            "{what}: {output}"
        );
        assert_tables_whole(&output);
        if what == "text" || what == "explain" {
            assert!(output.contains(neutral), "{what}: {output}");
        }
        if what == "junit" {
            let mut reader = quick_xml::Reader::from_str(&output);
            let mut failures = Vec::new();
            loop {
                match reader.read_event() {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(quick_xml::events::Event::Empty(e)) if e.name().as_ref() == b"failure" => {
                        let message = e.try_get_attribute("message").unwrap().unwrap();
                        failures.push(message.unescape_value().unwrap().into_owned());
                    }
                    Ok(_) => {}
                    Err(e) => panic!("not well-formed XML: {e}\n{output}"),
                }
            }
            assert_eq!(failures.len(), 1, "{output}");
            assert!(failures[0].contains(neutral), "{failures:?}");
        }
    }
    let markdown = gate("markdown");
    assert!(
        markdown.contains("\\| a\\|b <failure>&</testcase>]]>"),
        "{markdown}"
    );
    // GitHub annotations: each finding one workflow command, none smuggled in.
    let github = gate("github");
    let lines: Vec<&str> = github.lines().collect();
    assert_eq!(lines.len(), 3, "{github}");
    assert!(
        lines[0].starts_with("::error title=orders → prod%3A evil::"),
        "{github}"
    );
    assert!(
        lines[1].starts_with("::warning title=orders → prod%3A broken::"),
        "{github}"
    );
    assert_eq!(lines[2], "orders → prod: fail");
    assert!(!has_control(&github), "{github:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// `describe` must name the plugin with a plugin name and give a semantic version: escape
/// sequences in either are refused when the plugin loads.
#[test]
fn a_description_with_a_hostile_name_or_version_is_refused() {
    let host = host(None);
    let load = |mode: &str| {
        let dir = project(&[("describe/mode", mode)]);
        host.load(
            None,
            &manifest(&dist("hostile"), tight(), reading(&["describe"])),
            dir.path(),
        )
        .map(|(plugin, _)| plugin.description().summary.clone())
    };
    assert_eq!(
        load("bad-name").unwrap_err().to_string(),
        "plugin `hostile`: describe failed: it describes itself with the name \
         `hostile\u{fffd}]0;owned\u{fffd}`, which is not a plugin name (letters, digits, `-`, \
         `_` and `.`, at most 64 characters)"
    );
    assert_eq!(
        load("bad-version").unwrap_err().to_string(),
        "plugin `hostile`: describe failed: it describes its version as `1.0\u{fffd}[2J`, \
         which is not a semantic version (`1.2.3`)"
    );
    // A summary is prose: kept, on one line, without its control characters.
    assert_eq!(
        load("hostile-summary").unwrap(),
        "\u{fffd}[2J\u{fffd}]0;owned\u{fffd}cleared ::error::forged annotation \
         ::add-mask::secret | a|b <failure>&</testcase>]]> \u{fffd}31mred\u{fffd}"
    );
}

/// A plugin file over `[sandbox] max_plugin_size` is refused before it is read or compiled
/// (compiling a component with 400,000 functions took 15 s and 3 GB).
#[test]
fn a_plugin_over_the_size_limit_is_refused_before_it_compiles() {
    let host = Host::new(&HostSettings {
        max_memory: 64 << 20,
        max_plugin_size: 64 << 10,
        compiler: compiler(),
        max_functions: DEFAULT_MAX_FUNCTIONS,
        stack: 512 << 10,
        cache: None,
    })
    .unwrap();
    let trivial = dist("trivial");
    let size = std::fs::metadata(&trivial).unwrap().len();
    let started = std::time::Instant::now();
    let err = host
        .load(
            Some("trivial"),
            &manifest(&trivial, PluginLimits::default(), Grants::default()),
            Path::new(""),
        )
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_millis(100));
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `trivial`: {} is {size} bytes, over the limit of 65536 bytes",
            trivial.display()
        )
    );
}

/// The cache keeps at most its size: past it, the least recently used entry goes.
#[test]
fn the_cache_evicts_the_least_recently_used_entry_past_its_size() {
    let sizes = tempfile::tempdir().unwrap();
    let measure = host(Some(sizes.path().to_owned()));
    let trivial = manifest(&dist("trivial"), PluginLimits::default(), Grants::default());
    let hostile = manifest(&dist("hostile"), PluginLimits::default(), Grants::default());
    for m in [&trivial, &hostile] {
        measure.load(None, m, Path::new("")).unwrap();
    }
    let size = |m: &PluginManifest| {
        std::fs::metadata(cache_entry(sizes.path(), &m.sha256))
            .unwrap()
            .len()
    };
    let cache = tempfile::tempdir().unwrap();
    let host = Host::new(&HostSettings {
        max_memory: 64 << 20,
        max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
        compiler: compiler(),
        max_functions: DEFAULT_MAX_FUNCTIONS,
        stack: 512 << 10,
        cache: Some(phasev_runtime::plugin::CacheSettings {
            max_size: size(&trivial) + size(&hostile) - 1,
            ..cache_settings(cache.path().to_owned())
        }),
    })
    .unwrap();
    assert_eq!(
        host.load(None, &trivial, Path::new("")).unwrap().1,
        Lookup::Miss
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(
        host.load(None, &hostile, Path::new("")).unwrap().1,
        Lookup::Miss
    );
    let entries: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].starts_with(&hostile.sha256), "{entries:?}");
    assert_eq!(
        host.load(None, &trivial, Path::new("")).unwrap().1,
        Lookup::Miss
    );
}

/// A plugin's long error is cut once, when stored, saying how much was cut: every requirement
/// reading the check shares the short reason (an error just under `limits.output`, repeated
/// per requirement and feature, made 150 MB of text).
#[test]
fn a_long_plugin_string_is_cut_once_when_stored() {
    let dir = hostile_project(
        "policy p\nladder { dev \"Dev\"\n prod \"Prod\" }\n\
         check long = plugin \"hostile\" { mode: \"long-error\", size: 60000 }\n\
         gate dev -> prod {\n  require \"one\": long.passed\n  require \"two\": long.calls == 1\n}\n",
        "",
    );
    let (plugins, program) = load_project(dir.path());
    let mut facts = Facts::missing(&program);
    let started = std::time::Instant::now();
    plugins.run_checks(&program, "orders", 1, &mut facts);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let expected = format!(
        "plugin `hostile` (check `long`) reported an error: {}… (58976 bytes cut)",
        "e".repeat(1024)
    );
    for path in ["long.passed", "long.calls"] {
        assert_eq!(
            facts.get(program.slot_index(path).unwrap()).value,
            Err(Absent::Error(expected.clone())),
            "{path}"
        );
    }
}

/// A host whose compiler has `timeout` and `memory` (a value no other test uses, so the
/// test can find its compiler process).
fn host_compiling_within(timeout: std::time::Duration, memory: u64) -> Host {
    Host::new(&HostSettings {
        max_memory: 64 << 20,
        max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
        compiler: Compiler {
            timeout,
            memory,
            ..compiler()
        },
        max_functions: DEFAULT_MAX_FUNCTIONS,
        stack: 512 << 10,
        cache: None,
    })
    .unwrap()
}

/// The compiler processes of this test process run with a memory budget of `memory`.
#[cfg(target_os = "linux")]
fn compilers_with(memory: u64) -> usize {
    let me = std::process::id().to_string();
    let budget = memory.to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let dir = e.ok()?.path();
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            let parent = stat.rsplit_once(") ")?.1.split(' ').nth(1)?.to_owned();
            let cmdline = std::fs::read(dir.join("cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            let ours = parent == me
                && args.contains(&b"compile-plugin".as_slice())
                && args
                    .windows(2)
                    .any(|w| w[0] == b"--memory" && w[1] == budget.as_bytes());
            ours.then_some(())
        })
        .count()
}

/// A plugin that takes longer than `[sandbox] compile_timeout` to compile is refused at the
/// limit, and the process compiling it is killed, not left running.
#[test]
fn a_plugin_that_compiles_too_long_is_refused_at_the_limit() {
    let memory = (2 << 30) + 4096;
    let host = host_compiling_within(std::time::Duration::from_millis(1), memory);
    let path = dist("hostile");
    let started = std::time::Instant::now();
    let err = host
        .load(
            Some("hostile"),
            &manifest(&path, PluginLimits::default(), Grants::default()),
            Path::new(""),
        )
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_millis(200));
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `hostile`: compiling {} took longer than 1ms",
            path.display()
        )
    );
    #[cfg(target_os = "linux")]
    assert_eq!(compilers_with(memory), 0, "the compiler process is gone");
}

/// A plugin whose compilation needs more memory than `[sandbox] compile_memory` is refused as
/// soon as it runs out, naming the budget; the compiler process is gone. An empty plugin
/// needs about 100MiB to compile in a debug build.
#[test]
fn a_plugin_that_compiles_past_the_memory_budget_is_refused() {
    let memory = 64 << 20;
    let host = host_compiling_within(std::time::Duration::from_secs(60), memory);
    let path = dist("trivial");
    let started = std::time::Instant::now();
    let err = host
        .load(
            Some("trivial"),
            &manifest(&path, PluginLimits::default(), Grants::default()),
            Path::new(""),
        )
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `trivial`: compiling {} needed more memory than its budget of 64MiB",
            path.display()
        )
    );
    assert_eq!(
        help(&err),
        "compiling takes memory in proportion to the code: shrink the plugin, or raise \
         [sandbox] compile_memory if you trust it"
    );
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    #[cfg(target_os = "linux")]
    assert_eq!(compilers_with(memory), 0, "the compiler process is gone");
}

/// `[sandbox]` of phasev.toml sets the compile budgets; a value that is not one is refused
/// naming the key.
#[test]
fn the_compile_budgets_come_from_phasev_toml() {
    let wasm = dist("trivial");
    // An empty cache: the plugin is compiled, never found compiled.
    let cache = tempfile::tempdir().unwrap();
    let project_with = |sandbox: &str| {
        let dir = project(&[(
            "phasev.toml",
            &format!(
                "[project]\nname = \"p\"\npolicy = \"policy.phasev\"\n\n\
                 [sandbox]\ncache = {:?}\n{sandbox}\n\n\
                 [plugins.trivial]\npath = {:?}\nsha256 = \"{}\"\n",
                cache.path().display().to_string(),
                wasm.display().to_string(),
                hex(&Sha256::digest(std::fs::read(&wasm).unwrap()))
            ),
        )]);
        let project = Project::read(&dir.path().join("phasev.toml")).unwrap();
        (dir, project)
    };
    let (_dir, tight) = project_with("compile_memory = \"64MiB\"");
    assert_eq!(
        Plugins::load(&tight, || Ok(compiler().program))
            .unwrap_err()
            .to_string(),
        format!(
            "plugin `trivial`: compiling {} needed more memory than its budget of 64MiB",
            wasm.display()
        )
    );
    let (_dir, lots) = project_with("compile_memory = \"lots\"");
    assert_eq!(
        Plugins::load(&lots, || Ok(compiler().program))
            .unwrap_err()
            .to_string(),
        "the plugin host cannot start: [sandbox] compile_memory `lots` is not a size above zero \
         (\"64MiB\", \"1GiB\")"
    );
    // A time limit is read with phasev.toml, and refused there at its value.
    let dir = project(&[(
        "phasev.toml",
        "[project]\nname = \"p\"\npolicy = \"policy.phasev\"\n\n[sandbox]\ncompile_timeout = \"0s\"\n",
    )]);
    let file = dir.path().join("phasev.toml");
    assert_eq!(
        Project::read(&file).unwrap_err().to_string(),
        format!(
            "{} is not a valid phasev.toml: `0s` is not a duration above zero (\"30s\", \"2m\")",
            file.display()
        )
    );
}

/// A plugin with more functions than `[sandbox] max_plugin_functions` is refused before it
/// compiles: compiling takes memory in proportion to its functions (400,000 took 3 GB).
#[test]
fn a_plugin_with_too_many_functions_is_refused_before_it_compiles() {
    let host = Host::new(&HostSettings {
        max_memory: 64 << 20,
        max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
        compiler: compiler(),
        max_functions: 1000,
        stack: 512 << 10,
        cache: None,
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let many = write_wasm(
        dir.path(),
        "many.wasm",
        &wat::parse_str(format!(
            "(component (core module {}) (core module {}))",
            "(func)".repeat(600),
            "(func)".repeat(401)
        ))
        .unwrap(),
    );
    let started = std::time::Instant::now();
    let err = host
        .load(
            Some("many"),
            &manifest(&many, PluginLimits::default(), Grants::default()),
            Path::new(""),
        )
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_millis(100));
    assert_eq!(
        err.to_string(),
        format!(
            "plugin `many`: {} has 1001 functions, over the limit of 1000",
            many.display()
        )
    );
}
