//! Checks the TLS settings in a feature's Helm values: TLS switched off, certificate
//! verification skipped, or a minimum TLS version below the configured one. See README.md.

use std::fmt;
use std::io::ErrorKind;

use phasev_plugin_sdk::{Description, Guest, Outcome, Request, Severity, export_plugin};
use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(default)]
struct Config {
    min_tls: String,
    chart_dir: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_tls: "1.2".to_owned(),
            chart_dir: "charts".to_owned(),
        }
    }
}

struct TlsSettings;

impl Guest for TlsSettings {
    fn describe() -> Description {
        Description::builder(
            "tls-settings",
            env!("CARGO_PKG_VERSION"),
            "TLS switched off, verification skipped or an old TLS version in Helm values",
        )
        .reads("helm.chart.exists")
        .output(
            "min_version",
            "string",
            "The lowest minimum TLS version the values set (\"1.2\"), or \"unset\"",
        )
        .output(
            "insecure_settings",
            "int",
            "Settings that switch TLS off, skip verification or allow a version below min_tls",
        )
        .config(
            "min_tls",
            "string",
            false,
            "The lowest TLS version allowed (default \"1.2\")",
        )
        .config(
            "chart_dir",
            "string",
            false,
            "The directory of the charts, <chart_dir>/<feature>/values.yaml (default \"charts\")",
        )
        .build()
    }

    fn evaluate(request: Request) -> Result<Outcome, String> {
        let config: Config = request.config()?;
        let min_tls = Version::parse(&config.min_tls)
            .ok_or_else(|| format!("min_tls `{}` is not a TLS version", config.min_tls))?;
        let mut outcome = Outcome::default();
        let mut scan = Scan::default();
        let file = format!("{}/{}/values.yaml", config.chart_dir, request.feature);
        if !request.fact::<bool>("helm.chart.exists")? {
            outcome.inconclusive(Severity::Warning, "the feature has no Helm chart");
        } else if let Err(error) = std::fs::metadata(&config.chart_dir) {
            return Err(format!(
                "cannot see `{}` ({error}): the manifest must grant it for reading",
                config.chart_dir
            ));
        } else {
            match std::fs::read_to_string(&file) {
                Ok(text) => scan.file(&text, min_tls),
                Err(error) if error.kind() == ErrorKind::NotFound => {
                    scan.inconclusive
                        .push((0, "the chart has no values.yaml".to_owned()));
                }
                Err(error) => scan
                    .inconclusive
                    .push((0, format!("cannot read the values: {error}"))),
            }
            report(&mut outcome, &scan, &file, min_tls);
        }
        let lowest = scan.minimums.iter().min();
        outcome.output(
            "min_version",
            &lowest.map_or("unset".to_owned(), Version::to_string),
        )?;
        outcome.output("insecure_settings", &scan.insecure.len())?;
        Ok(outcome)
    }
}

fn report(outcome: &mut Outcome, scan: &Scan, file: &str, min_tls: Version) {
    let at = |line: usize| match line {
        0 => file.to_owned(),
        line => format!("{file}:{line}"),
    };
    for (line, message) in &scan.insecure {
        outcome.fail(Severity::Critical, message).at(at(*line));
    }
    for (line, message) in &scan.inconclusive {
        outcome
            .inconclusive(Severity::Warning, message)
            .at(at(*line));
    }
    if scan.insecure.is_empty() && scan.inconclusive.is_empty() {
        outcome
            .pass(format!(
                "no setting switches TLS off, skips verification or allows TLS below {min_tls}"
            ))
            .at(file);
    }
}

/// A protocol version: SSL 2 and 3, then TLS 1.x by its minor number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Version {
    Ssl(u8),
    Tls(u8),
}

impl Version {
    /// Reads the spellings charts use: `1.2`, `TLSv1.2`, `TLS1_2`, `VersionTLS12`, `SSLv3`.
    fn parse(text: &str) -> Option<Version> {
        let lower = text.trim().to_ascii_lowercase();
        let digits: String = lower.chars().filter(char::is_ascii_digit).collect();
        if lower.contains("ssl") {
            return match digits.as_str() {
                "2" | "3" => digits.parse().ok().map(Version::Ssl),
                _ => None,
            };
        }
        match digits.as_bytes() {
            [b'1'] => Some(Version::Tls(0)),
            [b'1', minor @ b'0'..=b'3'] => Some(Version::Tls(minor - b'0')),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Ssl(major) => write!(f, "SSLv{major}"),
            Version::Tls(minor) => write!(f, "1.{minor}"),
        }
    }
}

/// A YAML value with the line (1-based) of each scalar.
enum Node {
    Scalar {
        text: String,
        plain: bool,
        line: usize,
    },
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
    /// An alias: the value it names is checked where the anchor defines it.
    Alias,
}

impl Node {
    /// A plain `true`/`false` (or the YAML 1.1 `yes`/`no`/`on`/`off` Helm still reads); a
    /// quoted "false" is a non-empty string, which a Helm template treats as true.
    fn boolean(&self) -> Option<bool> {
        match self {
            Node::Scalar {
                text, plain: true, ..
            } => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => Some(true),
                "false" | "no" | "off" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    fn line(&self) -> usize {
        match self {
            Node::Scalar { line, .. } => *line,
            Node::List(items) => items.first().map_or(0, Node::line),
            Node::Map(entries) => entries.first().map_or(0, |(_, value)| value.line()),
            Node::Alias => 0,
        }
    }

    /// The scalars of a value, one or a list.
    fn texts(&self) -> Vec<&str> {
        match self {
            Node::Scalar { text, .. } => vec![text.as_str()],
            Node::List(items) => items.iter().flat_map(Node::texts).collect(),
            Node::Map(_) | Node::Alias => Vec::new(),
        }
    }
}

/// Every document of a YAML stream, or the line and reason it does not parse.
fn parse_yaml(text: &str) -> Result<Vec<Node>, (usize, String)> {
    let mut events = Parser::new_from_str(text);
    let mut documents = Vec::new();
    while let Some(item) = events.next() {
        let (event, span) = item.map_err(|e| (e.marker().line(), e.info().to_owned()))?;
        match event {
            Event::Scalar(..) | Event::SequenceStart(..) | Event::MappingStart(..) => {
                documents.push(node(&mut events, event, span)?);
            }
            _ => {}
        }
    }
    Ok(documents)
}

fn node<'a>(
    events: &mut Parser<'a, StrInput<'a>>,
    event: Event<'a>,
    span: Span,
) -> Result<Node, (usize, String)> {
    let line = span.start.line();
    Ok(match event {
        Event::Scalar(text, style, ..) => Node::Scalar {
            text: text.into_owned(),
            plain: style == ScalarStyle::Plain,
            line,
        },
        Event::SequenceStart(..) => {
            let mut items = Vec::new();
            loop {
                match next(events, line)? {
                    (Event::SequenceEnd, _) => break Node::List(items),
                    (item, span) => items.push(node(events, item, span)?),
                }
            }
        }
        Event::MappingStart(..) => {
            let mut entries = Vec::new();
            loop {
                let key = match next(events, line)? {
                    (Event::MappingEnd, _) => break Node::Map(entries),
                    (key, span) => node(events, key, span)?,
                };
                let (value, span) = next(events, line)?;
                let name = match key {
                    Node::Scalar { text, .. } => text,
                    _ => String::new(),
                };
                entries.push((name, node(events, value, span)?));
            }
        }
        _ => Node::Alias,
    })
}

/// The event after one that opened a value at `line`.
fn next<'a>(
    events: &mut Parser<'a, StrInput<'a>>,
    line: usize,
) -> Result<(Event<'a>, Span), (usize, String)> {
    match events.next() {
        Some(Ok(next)) => Ok(next),
        Some(Err(e)) => Err((e.marker().line(), e.info().to_owned())),
        None => Err((line, "the YAML ends inside a value".to_owned())),
    }
}

/// What the values say about TLS: `(line, message)` pairs, line 0 when there is none.
#[derive(Default)]
struct Scan {
    insecure: Vec<(usize, String)>,
    inconclusive: Vec<(usize, String)>,
    minimums: Vec<Version>,
}

impl Scan {
    fn file(&mut self, text: &str, min_tls: Version) {
        match parse_yaml(text) {
            Ok(documents) => {
                for document in &documents {
                    self.walk(document, &mut Vec::new(), min_tls);
                }
            }
            Err((line, reason)) => self
                .inconclusive
                .push((line, format!("the values are not YAML: {reason}"))),
        }
    }

    fn walk<'a>(&mut self, node: &'a Node, path: &mut Vec<&'a str>, min_tls: Version) {
        match node {
            Node::Map(entries) => {
                for (key, value) in entries {
                    let in_tls = path.last().is_some_and(|parent| {
                        let parent = normalise(parent);
                        parent.contains("tls") || parent.contains("ssl")
                    });
                    path.push(key);
                    self.setting(&normalise(key), in_tls, value, &path.join("."), min_tls);
                    self.walk(value, path, min_tls);
                    path.pop();
                }
            }
            Node::List(items) => {
                for item in items {
                    self.walk(item, path, min_tls);
                }
            }
            Node::Scalar { .. } | Node::Alias => {}
        }
    }

    /// Judges one setting: its normalised key, whether its parent is a TLS/SSL block, its value
    /// and its dotted path.
    fn setting(&mut self, key: &str, in_tls: bool, value: &Node, path: &str, min_tls: Version) {
        let line = value.line();
        let switch_off = matches!(
            key,
            "tls" | "ssl" | "tlsenabled" | "sslenabled" | "enabletls" | "enablessl" | "usetls"
        ) || (in_tls && key == "enabled");
        let skip_verify = matches!(
            key,
            "insecureskipverify" | "skipverify" | "tlsskipverify" | "skiptlsverify"
        ) || (in_tls && key == "insecure");
        let verify = matches!(
            key,
            "sslverify" | "verifyssl" | "tlsverify" | "verifytls" | "verifypeer"
        ) || (in_tls && key == "verify");
        let minimum = matches!(
            key,
            "mintlsversion" | "tlsminversion" | "minimumtlsversion" | "minprotocolversion"
        ) || (in_tls && matches!(key, "minversion" | "minimumversion"));
        let protocols =
            matches!(key, "sslprotocols" | "tlsprotocols") || (in_tls && key == "protocols");

        if switch_off && value.boolean() == Some(false)
            || key == "sslmode" && value.texts() == ["disable"]
        {
            self.insecure
                .push((line, format!("`{path}` switches TLS off")));
        } else if skip_verify && value.boolean() == Some(true)
            || verify && value.boolean() == Some(false)
        {
            self.insecure
                .push((line, format!("`{path}` skips certificate verification")));
        } else if minimum || protocols {
            let texts = value.texts();
            let words = texts
                .iter()
                .flat_map(|text| text.split([' ', ',', ':']))
                .filter(|word| !word.is_empty());
            let mut lowest: Option<Version> = None;
            for word in words {
                match Version::parse(word) {
                    Some(version) => lowest = Some(lowest.map_or(version, |l| l.min(version))),
                    None => self.inconclusive.push((
                        line,
                        format!("`{path}`: `{word}` is not a TLS version this plugin knows"),
                    )),
                }
            }
            if let Some(lowest) = lowest {
                self.minimums.push(lowest);
                if lowest < min_tls {
                    self.insecure.push((
                        line,
                        format!("`{path}` allows TLS {lowest}, below the minimum {min_tls}"),
                    ));
                }
            }
        }
    }
}

/// `insecureSkipVerify`, `insecure_skip_verify` and `insecure-skip-verify` alike.
fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

export_plugin!(TlsSettings);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn scan(text: &str) -> Scan {
        let mut scan = Scan::default();
        scan.file(text, Version::Tls(2));
        scan
    }

    #[test]
    fn versions_read_in_every_spelling_and_order_ssl_below_tls() {
        for (text, version) in [
            ("1.2", Version::Tls(2)),
            ("TLSv1.3", Version::Tls(3)),
            ("tls1_1", Version::Tls(1)),
            ("VersionTLS12", Version::Tls(2)),
            ("TLSv1", Version::Tls(0)),
            ("1.0", Version::Tls(0)),
            ("SSLv3", Version::Ssl(3)),
        ] {
            assert_eq!(Version::parse(text), Some(version), "{text}");
        }
        assert_eq!(Version::parse("TLS_AES_128_GCM_SHA256"), None);
        assert!(Version::Ssl(3) < Version::Tls(0) && Version::Tls(1) < Version::Tls(2));
        assert_eq!(Version::Tls(2).to_string(), "1.2");
    }

    #[test]
    fn switches_skipped_verification_and_old_versions_are_found_with_their_lines() {
        let s = scan(
            "svc:\n  tls:\n    enabled: false\n    minVersion: TLSv1.1\n  client:\n    \
             insecureSkipVerify: true\n  db:\n    sslmode: disable\n  nginx:\n    ssl:\n      \
             protocols: \"TLSv1.2 TLSv1.3\"\n      verify: off\n",
        );
        let found: Vec<_> = s.insecure.iter().map(|(line, _)| *line).collect();
        assert_eq!(found, [3, 4, 6, 8, 12]);
        assert!(
            s.insecure[0]
                .1
                .contains("`svc.tls.enabled` switches TLS off")
        );
        assert!(s.insecure[1].1.contains("TLS 1.1, below the minimum 1.2"));
        assert_eq!(s.minimums, [Version::Tls(1), Version::Tls(2)]);
        assert!(s.inconclusive.is_empty());
    }

    #[test]
    fn safe_quoted_and_unrelated_values_pass() {
        let s = scan(
            "phase-iv-service:\n  replicaCount: 2\n  tls:\n    enabled: \"false\"\n    \
             minVersion: \"1.3\"\n  image:\n    minVersion: 0.1\n  items:\n    - tls: true\n",
        );
        assert!(s.insecure.is_empty() && s.inconclusive.is_empty());
        assert_eq!(s.minimums, [Version::Tls(3)]);
    }

    #[test]
    fn broken_yaml_and_unknown_versions_are_inconclusive() {
        let s = scan("a:\n  b: [1,\n");
        assert_eq!(s.inconclusive.len(), 1);
        assert!(s.inconclusive[0].1.starts_with("the values are not YAML"));
        let s = scan("tls:\n  minVersion: modern\n");
        assert_eq!(
            s.inconclusive[0],
            (
                2,
                "`tls.minVersion`: `modern` is not a TLS version this plugin knows".to_owned()
            )
        );
    }
}
