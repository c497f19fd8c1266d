#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::Path;

use super::*;
use crate::diag::Code;
use crate::load::{MemoryFs, load};

const PRELUDE: &str = "policy p\nladder { a \"A\"\n b \"B\"\n c \"C\" }\n";

fn codes(body: &str) -> Vec<Code> {
    let fs = MemoryFs::new().with("p.phasev", format!("{PRELUDE}{body}"));
    let mut diags = Diagnostics::default();
    let loaded = load(Path::new("p.phasev"), &fs, &mut diags);
    check(&loaded.modules, &Options::default(), &mut diags);
    diags.sorted().iter().map(|d| d.code()).collect()
}

#[test]
fn the_brief_sketch_checks() {
    let src = include_str!("../../../tests/corpus/valid/brief_sketch.phasev");
    let fs = MemoryFs::new().with("s.phasev", src);
    let mut diags = Diagnostics::default();
    let loaded = load(Path::new("s.phasev"), &fs, &mut diags);
    let program = check(&loaded.modules, &Options::default(), &mut diags);
    let msgs: Vec<_> = diags.iter().map(|d| d.message().to_owned()).collect();
    assert!(msgs.is_empty(), "{msgs:?}");
    let program = program.unwrap();
    assert_eq!(program.gates.len(), 1);
    assert_eq!(program.gates[0].requirements.len(), 6);
    assert!(program.facts.iter().any(|f| f.path == "pci.passed"));
}

#[test]
fn names_resolve_and_misspellings_are_errors() {
    assert_eq!(
        codes("gate a -> b { require \"x\": tests.unit.faild == 0 }"),
        [Code::UnknownFact]
    );
    assert_eq!(
        codes("gate a -> b { require \"x\": tests.unit == 0 }"),
        [Code::UnknownFact]
    );
    assert_eq!(
        codes("gate a -> b { require \"x\": sdd }"),
        [Code::UnknownName]
    );
    assert_eq!(
        codes("gate a -> b { require \"x\": all p in k8s.pods: p.redy }"),
        [Code::UnknownField]
    );
    assert!(codes("gate a -> b { require \"x\": feature.stage >= b and target == b }").is_empty());
}

#[test]
fn types_are_checked() {
    assert_eq!(
        codes("gate a -> b { require \"x\": metrics.latency_p95 < \"250ms\" }"),
        [Code::TypeMismatch]
    );
    assert_eq!(
        codes("gate a -> b { require \"x\": tests.unit.failed and true }"),
        [Code::TypeMismatch]
    );
    assert_eq!(
        codes("gate a -> b { require \"x\": tests.unit.failed }"),
        [Code::TypeMismatch]
    );
    assert!(codes("gate a -> b { require \"x\": metrics.latency_p95 <= baseline.metrics.latency_p95 * 110% }").is_empty());
    assert!(
        codes("gate a -> b { require \"x\": cloud.quota.used < cloud.quota.limit * 90% }")
            .is_empty()
    );
    assert!(codes("gate a -> b { require \"x\": max(kafka.groups.lag) < 1000 }").is_empty());
    assert!(codes("gate a -> b { require \"x\": (count p in k8s.pods: p.ready) >= 2 }").is_empty());
}

#[test]
fn gates_follow_the_ladder() {
    assert_eq!(codes("gate b -> a { }"), [Code::BackwardGate]);
    assert_eq!(codes("gate a -> d { }"), [Code::UnknownRung]);
    assert_eq!(codes("gate a -> b { }\ngate a -> b { }"), [Code::Duplicate]);
}

#[test]
fn rules_may_not_recurse() {
    let found = codes("rule x = y\nrule y = x\ngate a -> b { require \"r\": x }");
    assert!(found.contains(&Code::RuleCycle), "{found:?}");
    assert!(codes("rule ok(p: {ready: bool}) = p.ready\ngate a -> b { require \"r\": all p in k8s.pods: ok(p) }").is_empty());
}

#[test]
fn escalations_are_complete() {
    let found =
        codes("escalate \"t\" when true { context \"c\" option \"o\": \"t\" recommend 2: \"r\" }");
    assert_eq!(
        found,
        [Code::Escalation, Code::Escalation, Code::Escalation]
    );
}

#[test]
fn described_plugins_check_configuration_reads_and_outputs() {
    let schema = PluginSchema {
        outputs: vec![("min_version".to_owned(), Type::String)],
        reads: vec!["helm.chart.exists".to_owned()],
        config: vec![
            ConfigField {
                name: "level".to_owned(),
                ty: Type::String,
                required: true,
            },
            ConfigField {
                name: "limit".to_owned(),
                ty: Type::Float,
                required: false,
            },
        ],
    };
    let options = Options {
        plugins: [("tls".to_owned(), schema.clone())].into(),
        all_plugins: false,
    };
    let run = |body: &str, options: &Options| {
        let fs = MemoryFs::new().with("p.phasev", format!("{PRELUDE}{body}"));
        let mut diags = Diagnostics::default();
        let loaded = load(Path::new("p.phasev"), &fs, &mut diags);
        let program = check(&loaded.modules, options, &mut diags);
        let msgs: Vec<String> = diags
            .sorted()
            .iter()
            .map(|d| d.message().to_owned())
            .collect();
        (program, msgs)
    };
    let good = "check t = plugin \"tls\" { level: \"strict\", limit: 3 }\n\
                gate a -> b { require \"tls\": t.passed and t.min_version == \"1.3\" }\n";
    let (program, msgs) = run(good, &options);
    assert!(msgs.is_empty(), "{msgs:?}");
    let program = program.unwrap();
    let read = program.checks[0].reads[0];
    assert_eq!(program.facts[read].path, "helm.chart.exists");

    let (_, msgs) = run(
        "check t = plugin \"tls\" { levle: \"strict\" }\n\
         gate a -> b { require \"tls\": t.pased }\n",
        &options,
    );
    assert_eq!(
        msgs,
        [
            "check `t` does not set `level`, which plugin `tls` requires",
            "plugin `tls` has no configuration key `levle`",
            "check `t` has no output `pased`",
        ]
    );
    let (_, msgs) = run(
        "check t = plugin \"tls\" { level: 3, limit: \"x\" }\ngate a -> b { require \"tls\": t.passed }\n",
        &options,
    );
    assert_eq!(
        msgs,
        [
            "`level` of plugin `tls` must be a string",
            "`limit` of plugin `tls` must be a float"
        ]
    );
    let unknown_read = Options {
        plugins: [(
            "tls".to_owned(),
            PluginSchema {
                reads: vec!["helm.chart.exist".to_owned()],
                ..schema
            },
        )]
        .into(),
        all_plugins: false,
    };
    let (_, msgs) = run(
        "check t = plugin \"tls\" { level: \"x\" }\ngate a -> b { require \"tls\": t.passed }\n",
        &unknown_read,
    );
    assert_eq!(
        msgs,
        ["plugin `tls` reads `helm.chart.exist`, which is not a known fact"]
    );
}

/// A description's outputs are deduplicated in linear time: 100,000 outputs, every name
/// twice, took 14.6 s when each was compared with all before it.
#[test]
fn a_hundred_thousand_described_outputs_are_deduplicated_at_once() {
    let outputs: Vec<(String, Type)> = (0..200_000)
        .map(|i| (format!("out{}", i % 100_000), Type::Int))
        .collect();
    let schema = PluginSchema {
        outputs,
        ..PluginSchema::default()
    };
    let options = Options {
        plugins: [("many".to_owned(), schema)].into(),
        all_plugins: false,
    };
    let fs = MemoryFs::new().with(
        "p.phasev",
        format!(
            "{PRELUDE}check m = plugin \"many\" {{}}\n\
             gate a -> b {{ require \"last\": m.out99999 == 1 }}\n"
        ),
    );
    let started = std::time::Instant::now();
    let mut diags = Diagnostics::default();
    let loaded = load(Path::new("p.phasev"), &fs, &mut diags);
    let program = check(&loaded.modules, &options, &mut diags);
    let took = started.elapsed();
    assert!(diags.sorted().is_empty());
    let program = program.unwrap_or_else(|| unreachable!("checked without errors"));
    // `passed`, `findings` and each distinct output once.
    assert_eq!(program.checks[0].outputs.len(), 2 + 100_000);
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
}

#[test]
fn a_check_of_an_unknown_plugin_is_an_error_only_when_every_plugin_is_known() {
    let body = "check t = plugin \"tls-setings\" {}\ngate a -> b { require \"tls\": t.passed }\n";
    let source = format!("{PRELUDE}{body}");
    let run = |plugins: &[&str], all_plugins: bool| {
        let fs = MemoryFs::new().with("p.phasev", source.clone());
        let mut diags = Diagnostics::default();
        let loaded = load(Path::new("p.phasev"), &fs, &mut diags);
        let options = Options {
            plugins: plugins
                .iter()
                .map(|p| (p.to_string(), PluginSchema::default()))
                .collect(),
            all_plugins,
        };
        check(&loaded.modules, &options, &mut diags);
        diags.into_vec()
    };
    // phasevc without every description cannot tell a misspelling from a plugin it was not given.
    assert!(run(&["tls-settings"], false).is_empty());
    let diags = run(&["adr-format", "tls-settings"], true);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    assert_eq!(d.code(), Code::PluginConfig);
    assert_eq!(d.message(), "no plugin `tls-setings` is configured");
    assert_eq!(d.help_text(), Some("did you mean `tls-settings`?"));
    let span = d.span();
    assert_eq!(
        &source[span.start as usize..span.end as usize],
        "\"tls-setings\""
    );
    let far = run(&["adr-format", "codeowners"], true);
    assert_eq!(
        far[0].help_text(),
        Some(
            "the configured plugins are `adr-format`, `codeowners`; or pin this one in \
             phasev.toml as [plugins.tls-setings]"
        )
    );
    let none = run(&[], true);
    assert_eq!(
        none[0].help_text(),
        Some("no plugin is configured: pin it in phasev.toml as [plugins.tls-setings]")
    );
}

#[test]
fn plugin_types_parse_from_their_text() {
    assert_eq!(Type::parse("int"), Ok(Type::Int));
    assert_eq!(
        Type::parse("list<{file: string, line: int}>"),
        Ok(Type::List(Box::new(Type::Record(vec![
            ("file".to_owned(), Type::String),
            ("line".to_owned(), Type::Int)
        ]))))
    );
    assert!(Type::parse("integer").is_err());
    assert!(Type::parse("int\nfact x: int").is_err());
}
