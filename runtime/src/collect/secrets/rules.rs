//! The scanner's rules, loaded from data: gitleaks' default configuration (`gitleaks.toml`,
//! copied unchanged, see `PROVENANCE.md` beside it) and phasev's own additions
//! (`phasev-rules.toml`), both in gitleaks' format and embedded in the binary.
//!
//! The rules are applied as gitleaks applies them: a rule runs on a file only when one of its
//! keywords occurs in it (one Aho-Corasick pass over the file finds every keyword at once), its
//! regex runs over the whole file (some rules span lines), the secret is the rule's capture
//! group, and a finding is dropped when the secret's entropy is at most the rule's `entropy` or
//! when an allow-list matches. Two departures, both so that nothing is skipped by where it is:
//! - path allow-lists never drop a finding (gitleaks' global list skips lock files, `go.sum`,
//!   `vendor/` and images); a path only narrows an allow-list whose `condition` is `AND`, and a
//!   rule's own `path` still says which files the rule is for;
//! - inline markers (`gitleaks:allow`, `pragma: allowlist secret`) are not honoured: what may
//!   stay in a repository is said in `phasev.toml` (`[secrets] exclude`), where review sees it.
//!
//! Regexes are compiled by the `regex` crate over bytes with Unicode off, as RE2 in Go reads
//! them (`\w`, `\s`, `\b` and `(?i)` are ASCII). A regex the crate cannot compile fails the load
//! unless `phasev-rules.toml` lists it under `[[skip]]` with the reason.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// gitleaks' default configuration, byte for byte.
const GITLEAKS: &str = include_str!("gitleaks.toml");
/// phasev's additions and the gitleaks regexes knowingly skipped.
const PHASEV: &str = include_str!("phasev-rules.toml");

/// Why the rules could not be loaded; every scan then fails with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("{file}: {message}")]
    Syntax { file: &'static str, message: String },
    #[error("{file}: rule `{rule}`: the regex `{regex}` does not compile: {message}")]
    Regex {
        file: &'static str,
        rule: String,
        regex: String,
        message: String,
    },
    #[error("{file}: rule `{rule}`: {message}")]
    Invalid {
        file: &'static str,
        rule: String,
        message: String,
    },
    #[error("phasev-rules.toml: `[[skip]]` names {what}, which loads: remove the entry")]
    StaleSkip { what: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileDef {
    #[serde(default, rename = "title")]
    _title: Option<IgnoredAny>,
    #[serde(default, rename = "minVersion")]
    _min_version: Option<IgnoredAny>,
    /// gitleaks' older spelling of one global allow-list.
    #[serde(default)]
    allowlist: Option<AllowlistDef>,
    #[serde(default)]
    allowlists: Vec<AllowlistDef>,
    #[serde(default)]
    rules: Vec<RuleDef>,
    #[serde(default)]
    skip: Vec<SkipDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RuleDef {
    id: String,
    #[serde(default, rename = "description")]
    _description: Option<IgnoredAny>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default, rename = "tags")]
    _tags: Option<IgnoredAny>,
    #[serde(default)]
    allowlists: Vec<AllowlistDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AllowlistDef {
    #[serde(default, rename = "description")]
    _description: Option<IgnoredAny>,
    #[serde(default)]
    condition: Option<Condition>,
    #[serde(default)]
    regex_target: Option<Target>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    /// Commits never apply: the scanner reads a checkout, not history.
    #[serde(default, rename = "commits")]
    _commits: Option<IgnoredAny>,
}

/// A gitleaks rule or allow-list regex the `regex` crate cannot compile, skipped on purpose.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkipDef {
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    reason: String,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
enum Condition {
    #[default]
    Or,
    And,
}

/// What an allow-list's regexes are matched against.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Target {
    #[default]
    Secret,
    Match,
    Line,
}

/// What a rule or allow-list regex was skipped for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The rule's id, or the allow-list regex.
    pub what: String,
    pub reason: String,
}

#[derive(Debug)]
struct Allowlist {
    condition: Condition,
    target: Target,
    regexes: Vec<Regex>,
    /// Lower-case.
    stopwords: Vec<String>,
    paths: Vec<Regex>,
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) id: String,
    regex: Option<Regex>,
    path: Option<Regex>,
    secret_group: Option<usize>,
    entropy: Option<f64>,
    allowlists: Vec<Allowlist>,
    /// Generic rules give way to any other rule on the same line, as in gitleaks.
    pub(crate) generic: bool,
}

/// Every rule, the keyword prefilter and the global allow-lists.
#[derive(Debug)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    /// Keywords, lower-case, matched without regard to ASCII case.
    prefilter: AhoCorasick,
    /// For each keyword of the prefilter, the rules it enables.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords, which run on every file.
    always: Vec<usize>,
    global: Vec<Allowlist>,
    skipped: Vec<Skipped>,
}

/// A match of a rule in a file, before the caller turns it into a finding.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) rule: usize,
    /// Byte offset of the match in the file.
    pub(crate) start: usize,
}

impl RuleSet {
    /// Loads the embedded rules.
    pub fn load() -> Result<RuleSet, RulesError> {
        let files = [
            ("gitleaks.toml", parse("gitleaks.toml", GITLEAKS)?),
            ("phasev-rules.toml", parse("phasev-rules.toml", PHASEV)?),
        ];
        let mut loader = Loader::default();
        for (_, def) in &files {
            loader.skips.extend(def.skip.iter().map(|s| Skip {
                rule: s.rule.clone(),
                regex: s.regex.clone(),
                reason: s.reason.clone(),
                used: false,
            }));
        }
        let mut global = Vec::new();
        let mut rules = Vec::new();
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for (file, def) in files {
            for a in def.allowlist.into_iter().chain(def.allowlists) {
                global.push(loader.allowlist(file, "the global allow-list", a)?);
            }
            for r in def.rules {
                if rules.iter().any(|x: &Rule| x.id == r.id)
                    || loader.skipped.iter().any(|s| s.what == r.id)
                {
                    return Err(RulesError::Invalid {
                        file,
                        rule: r.id,
                        message: "a second rule with this id".to_owned(),
                    });
                }
                let rule_keywords = r.keywords.clone();
                let Some(rule) = loader.rule(file, r)? else {
                    continue;
                };
                let index = rules.len();
                if rule_keywords.is_empty() {
                    always.push(index);
                }
                for k in rule_keywords {
                    let k = k.to_ascii_lowercase();
                    match keywords.iter().position(|x| *x == k) {
                        Some(at) => keyword_rules[at].push(index),
                        None => {
                            keywords.push(k);
                            keyword_rules.push(vec![index]);
                        }
                    }
                }
                rules.push(rule);
            }
        }
        if let Some(stale) = loader.skips.iter().find(|s| !s.used) {
            let what = stale
                .rule
                .as_ref()
                .or(stale.regex.as_ref())
                .map_or_else(|| "nothing".to_owned(), |w| format!("`{w}`"));
            return Err(RulesError::StaleSkip { what });
        }
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&keywords)
            .map_err(|e| RulesError::Syntax {
                file: "keywords",
                message: e.to_string(),
            })?;
        Ok(RuleSet {
            rules,
            prefilter,
            keyword_rules,
            always,
            global,
            skipped: loader.skipped,
        })
    }

    /// The rules and allow-list regexes knowingly left out, with the reason.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// How many rules are in force.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule is in force (never, for the embedded rules).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The ids of the rules in force, in load order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// Every rule match in `text`, the file named `path` (relative, `/`-separated).
    pub(crate) fn hits(&self, path: &str, text: &[u8]) -> Vec<Hit> {
        let mut enabled = vec![false; self.rules.len()];
        for &i in &self.always {
            enabled[i] = true;
        }
        for m in self.prefilter.find_overlapping_iter(text) {
            for &i in &self.keyword_rules[m.pattern().as_usize()] {
                enabled[i] = true;
            }
        }
        let mut out = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if enabled[i] {
                self.rule_hits(i, rule, path, text, &mut out);
            }
        }
        out
    }

    fn rule_hits(&self, index: usize, rule: &Rule, path: &str, text: &[u8], out: &mut Vec<Hit>) {
        if let Some(p) = &rule.path
            && !p.is_match(path.as_bytes())
        {
            return;
        }
        let Some(regex) = &rule.regex else {
            // A rule on file names only: the file itself is the finding.
            if rule.path.is_some() {
                out.push(Hit {
                    rule: index,
                    start: 0,
                });
            }
            return;
        };
        for caps in regex.captures_iter(text) {
            let Some(whole) = caps.get(0) else { continue };
            // As gitleaks: a match's leading and trailing newlines are not part of it.
            let raw = whole.as_bytes();
            let lead = raw.iter().take_while(|&&b| b == b'\n').count();
            let matched = trim_newlines_end(&raw[lead..]);
            let start = whole.start() + lead;
            let secret = match rule.secret_group {
                Some(g) => caps.get(g).map_or(&b""[..], |m| m.as_bytes()),
                None => (1..caps.len())
                    .find_map(|g| caps.get(g).filter(|m| !m.is_empty()))
                    .map_or(matched, |m| m.as_bytes()),
            };
            if let Some(min) = rule.entropy
                && entropy(secret) <= min
            {
                continue;
            }
            let line = line_around(text, start, start + matched.len());
            let allowed =
                |lists: &[Allowlist]| lists.iter().any(|a| a.allows(path, secret, matched, line));
            if allowed(&self.global) || allowed(&rule.allowlists) {
                continue;
            }
            out.push(Hit { rule: index, start });
        }
    }
}

fn parse(file: &'static str, text: &str) -> Result<FileDef, RulesError> {
    toml::from_str(text).map_err(|e| RulesError::Syntax {
        file,
        message: e.to_string(),
    })
}

/// A `[[skip]]` entry, and whether a regex that does not compile used it.
struct Skip {
    rule: Option<String>,
    regex: Option<String>,
    reason: String,
    used: bool,
}

/// Compiles the regexes of the files, consulting the `[[skip]]` entries.
#[derive(Default)]
struct Loader {
    skips: Vec<Skip>,
    skipped: Vec<Skipped>,
}

impl Loader {
    /// The regex compiled, or `None` when it does not compile and a `[[skip]]` entry names
    /// it: by the rule's id when `skip_by_rule`, else (an allow-list regex) by the regex itself.
    fn regex(
        &mut self,
        file: &'static str,
        rule: &str,
        pattern: &str,
        skip_by_rule: bool,
    ) -> Result<Option<Regex>, RulesError> {
        let compiled = RegexBuilder::new(pattern)
            .unicode(false)
            .size_limit(1 << 24)
            .dfa_size_limit(1 << 24)
            .build();
        let entry = self.skips.iter_mut().find(|s| {
            if skip_by_rule {
                s.rule.as_deref() == Some(rule)
            } else {
                s.regex.as_deref() == Some(pattern)
            }
        });
        match (compiled, entry) {
            // A skip entry for a regex that compiles stays unused: the loader reports it stale.
            (Ok(regex), _) => Ok(Some(regex)),
            (Err(e), Some(entry)) => {
                entry.used = true;
                self.skipped.push(Skipped {
                    what: if skip_by_rule {
                        rule.to_owned()
                    } else {
                        pattern.to_owned()
                    },
                    reason: format!(
                        "{} (the regex crate: {})",
                        entry.reason,
                        crate_message(&e.to_string())
                    ),
                });
                Ok(None)
            }
            (Err(e), None) => Err(RulesError::Regex {
                file,
                rule: rule.to_owned(),
                regex: pattern.to_owned(),
                message: e.to_string(),
            }),
        }
    }

    fn rule(&mut self, file: &'static str, def: RuleDef) -> Result<Option<Rule>, RulesError> {
        if def.regex.is_none() && def.path.is_none() {
            return Err(RulesError::Invalid {
                file,
                rule: def.id,
                message: "neither a regex nor a path".to_owned(),
            });
        }
        let regex = match &def.regex {
            Some(p) => match self.regex(file, &def.id, p, true)? {
                Some(r) => Some(r),
                None => return Ok(None),
            },
            None => None,
        };
        let path = match &def.path {
            Some(p) => match self.regex(file, &def.id, p, true)? {
                Some(r) => Some(r),
                None => return Ok(None),
            },
            None => None,
        };
        if let (Some(g), Some(r)) = (def.secret_group, &regex)
            && g >= r.captures_len()
        {
            return Err(RulesError::Invalid {
                file,
                rule: def.id,
                message: format!("secretGroup {g} is not a group of the regex"),
            });
        }
        let mut allowlists = Vec::new();
        for a in def.allowlists {
            allowlists.push(self.allowlist(file, &def.id, a)?);
        }
        Ok(Some(Rule {
            generic: def.id.contains("generic"),
            id: def.id,
            regex,
            path,
            secret_group: def.secret_group,
            entropy: def.entropy,
            allowlists,
        }))
    }

    fn allowlist(
        &mut self,
        file: &'static str,
        rule: &str,
        def: AllowlistDef,
    ) -> Result<Allowlist, RulesError> {
        let condition = def.condition.unwrap_or_default();
        let compile =
            |loader: &mut Loader, patterns: &[String]| -> Result<Vec<Regex>, RulesError> {
                let mut out = Vec::new();
                for p in patterns {
                    out.extend(loader.regex(file, rule, p, false)?);
                }
                Ok(out)
            };
        let regexes = compile(self, &def.regexes)?;
        // Paths only narrow an AND allow-list; alone they would skip a file by its name.
        let paths = if condition == Condition::And {
            compile(self, &def.paths)?
        } else {
            Vec::new()
        };
        Ok(Allowlist {
            condition,
            target: def.regex_target.unwrap_or_default(),
            regexes,
            stopwords: def
                .stopwords
                .iter()
                .map(|w| w.to_ascii_lowercase())
                .collect(),
            paths,
        })
    }
}

/// The last line of the regex crate's message (the first ones quote the pattern).
fn crate_message(message: &str) -> String {
    message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(message)
        .trim()
        .to_owned()
}

fn trim_newlines_end(bytes: &[u8]) -> &[u8] {
    let end = bytes.len() - bytes.iter().rev().take_while(|&&b| b == b'\n').count();
    &bytes[..end]
}

/// The whole lines a match spans.
fn line_around(text: &[u8], start: usize, end: usize) -> &[u8] {
    let from = text[..start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let to = text[end..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| end + i);
    &text[from..to]
}

impl Allowlist {
    fn allows(&self, path: &str, secret: &[u8], matched: &[u8], line: &[u8]) -> bool {
        let target = match self.target {
            Target::Secret => secret,
            Target::Match => matched,
            Target::Line => line,
        };
        let regex = self.regexes.iter().any(|r| r.is_match(target));
        let lower = secret.to_ascii_lowercase();
        let stopword = self
            .stopwords
            .iter()
            .any(|w| contains(&lower, w.as_bytes()));
        match self.condition {
            Condition::Or => regex || stopword,
            Condition::And => {
                let mut checks = Vec::new();
                if !self.paths.is_empty() {
                    checks.push(self.paths.iter().any(|p| p.is_match(path.as_bytes())));
                }
                if !self.regexes.is_empty() {
                    checks.push(regex);
                }
                if !self.stopwords.is_empty() {
                    checks.push(stopword);
                }
                !checks.is_empty() && checks.iter().all(|&c| c)
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Shannon entropy in bits per byte, as gitleaks computes it.
fn entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in data {
        counts[usize::from(b)] += 1;
    }
    let n = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}
