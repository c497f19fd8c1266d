//! Checks the architecture decision records a feature's plan links: each exists and has the
//! configured sections (Status, Context, Decision, Consequences). See README.md.

use std::io::ErrorKind;
use std::path::Path;

use phasev_plugin_sdk::{Description, Guest, Outcome, Request, Severity, export_plugin};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(default)]
struct Config {
    specs_dir: String,
    sections: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            specs_dir: "specs".to_owned(),
            sections: ["Status", "Context", "Decision", "Consequences"]
                .map(str::to_owned)
                .to_vec(),
        }
    }
}

struct AdrFormat;

impl Guest for AdrFormat {
    fn describe() -> Description {
        Description::builder(
            "adr-format",
            env!("CARGO_PKG_VERSION"),
            "The ADRs a feature's plan links exist and have Status, Context, Decision, Consequences",
        )
        .reads("docs.plan.exists")
        .output("adrs", "int", "The ADRs the plan links")
        .output(
            "malformed",
            "int",
            "Linked ADRs that are missing or lack a section",
        )
        .config(
            "specs_dir",
            "string",
            false,
            "Where plans are, <specs_dir>/<feature>/plan.md (default \"specs\")",
        )
        .config(
            "sections",
            "list<string>",
            false,
            "The sections every ADR has (default Status, Context, Decision, Consequences)",
        )
        .build()
    }

    fn evaluate(request: Request) -> Result<Outcome, String> {
        let config: Config = request.config()?;
        let mut outcome = Outcome::default();
        let plan = format!("{}/{}/plan.md", config.specs_dir, request.feature);
        let (mut adrs, mut malformed) = (0, 0);
        if !request.fact::<bool>("docs.plan.exists")? {
            outcome.inconclusive(Severity::Warning, "the feature has no plan");
        } else if let Err(error) = std::fs::metadata(&config.specs_dir) {
            return Err(format!(
                "cannot see `{}` ({error}): the manifest must grant it for reading",
                config.specs_dir
            ));
        } else {
            match std::fs::read_to_string(&plan) {
                Ok(text) => {
                    let links = adr_links(&plan, &text);
                    adrs = links.len();
                    for link in &links {
                        if !check(&mut outcome, &plan, link, &config.sections) {
                            malformed += 1;
                        }
                    }
                    if malformed == 0 {
                        outcome
                            .pass(format!("the plan links {adrs} ADRs, all well-formed"))
                            .at(&plan);
                    }
                }
                Err(error) => {
                    outcome
                        .inconclusive(Severity::Warning, format!("cannot read the plan: {error}"))
                        .at(&plan);
                }
            }
        }
        outcome.output("adrs", &adrs)?;
        outcome.output("malformed", &malformed)?;
        Ok(outcome)
    }
}

/// A link from the plan to an ADR: the plan's line, the target as written, and the file it
/// names relative to the project (`None` when it climbs out of the project).
#[derive(Debug, PartialEq)]
struct Link {
    line: usize,
    target: String,
    file: Option<String>,
}

/// Whether the ADR `link` names is well-formed; adds a finding when it is not.
fn check(outcome: &mut Outcome, plan: &str, link: &Link, sections: &[String]) -> bool {
    let at = format!("{plan}:{}", link.line);
    let Some(file) = &link.file else {
        outcome
            .fail(
                Severity::Warning,
                format!("`{}` points outside the project", link.target),
            )
            .at(at);
        return false;
    };
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let missing = missing_sections(&text, sections);
            if missing.is_empty() {
                return true;
            }
            let message = format!("{file} has no {} section", missing.join(", "));
            outcome.fail(Severity::Warning, message).at(file);
        }
        Err(_) if !Path::new(file).parent().is_some_and(|dir| dir.exists()) => {
            let message = format!(
                "cannot see {file}: it does not exist, or the manifest does not grant its directory"
            );
            outcome.inconclusive(Severity::Warning, message).at(at);
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {
            outcome
                .fail(Severity::Warning, format!("{file} does not exist"))
                .at(at);
        }
        Err(error) => {
            outcome
                .fail(Severity::Warning, format!("{file}: {error}"))
                .at(at);
        }
    }
    false
}

/// The ADR links of a plan: Markdown links, inline or reference-style, outside code blocks,
/// whose text or target mentions "adr", to a relative `.md` file; each file once.
fn adr_links(plan: &str, text: &str) -> Vec<Link> {
    let dir = plan.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut links: Vec<Link> = Vec::new();
    let mut fenced = false;
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            continue;
        }
        for (label, target) in markdown_links(line) {
            let target = target.split('#').next().unwrap_or_default();
            let is_adr = label.to_ascii_lowercase().contains("adr")
                || target.to_ascii_lowercase().contains("adr");
            if !is_adr || !target.ends_with(".md") || target.contains("://") {
                continue;
            }
            let file = resolve(dir, target);
            if links.iter().all(|link| link.file != file) {
                links.push(Link {
                    line: index + 1,
                    target: target.to_owned(),
                    file,
                });
            }
        }
    }
    links
}

/// `(label, target)` of the links on one line: `[label](target "title")` and
/// `[label]: target`.
fn markdown_links(line: &str) -> Vec<(&str, &str)> {
    let mut links = Vec::new();
    if let Some(rest) = line.trim_start().strip_prefix('[')
        && let Some((label, target)) = rest.split_once("]:")
    {
        links.push((label, bare(target)));
    }
    let mut rest = line;
    while let Some(open) = rest.find("](") {
        let label = rest[..open].rsplit('[').next().unwrap_or_default();
        let after = &rest[open + 2..];
        let close = after.find(')').unwrap_or(after.len());
        links.push((label, bare(&after[..close])));
        rest = &after[close..];
    }
    links
}

/// A link's target without its title and angle brackets.
fn bare(target: &str) -> &str {
    target
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_start_matches('<')
        .trim_end_matches('>')
}

/// `dir/target` with `.` and `..` resolved without touching the filesystem (a plugin sees only
/// the directories it is granted, so `specs/x/../../history` must become `history`), or `None`
/// when it climbs above the project or is absolute.
fn resolve(dir: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in dir.split('/').chain(target.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The configured sections an ADR lacks. A section is there when a heading starts with its
/// name (`## Decision`, `## Decision Outcome`) or a line starts with `Name:` or `**Name**:`
/// (`Status: Accepted`, front matter `status: accepted`); case does not matter.
fn missing_sections<'a>(text: &str, sections: &'a [String]) -> Vec<&'a str> {
    let mut fenced = false;
    let mut starts = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            continue;
        }
        let heading = line.trim_start_matches('#');
        if heading.len() < line.len() {
            starts.push(heading.trim().to_ascii_lowercase());
        } else if let Some((name, _)) = line.split_once(':') {
            starts.push(format!(
                "{}:",
                name.trim_matches('*').trim().to_ascii_lowercase()
            ));
        }
    }
    sections
        .iter()
        .filter(|section| {
            let name = section.to_ascii_lowercase();
            !starts.iter().any(|start| {
                start
                    .strip_prefix(&name)
                    .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric()))
            })
        })
        .map(String::as_str)
        .collect()
}

export_plugin!(AdrFormat);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn links_resolve_against_the_plan_and_only_adrs_count() {
        let plan = "**Spec**: [spec.md](./spec.md)\n\n\
                    - [ADR-0007: Kafka](../../history/adr/0007-kafka.md)\n\
                    - [Chart reuse](<../../history/adr/0012-chart.md> \"title\")\n\
                    - [again](../../history/adr/0007-kafka.md#context)\n\
                    ```\n[ADR-9](../../nope/adr.md)\n```\n\
                    [ADR-13]: ../../../outside/adr-13.md\n\
                    [web ADR](https://example.com/adr.md)\n";
        let links = adr_links("specs/orders/plan.md", plan);
        let files: Vec<_> = links.iter().map(|l| (l.line, l.file.as_deref())).collect();
        assert_eq!(
            files,
            [
                (3, Some("history/adr/0007-kafka.md")),
                (4, Some("history/adr/0012-chart.md")),
                (9, None)
            ]
        );
        assert_eq!(links[2].target, "../../../outside/adr-13.md");
    }

    #[test]
    fn sections_are_headings_or_labelled_lines() {
        let sections = Config::default().sections;
        let nygard =
            "# 7. Kafka\n\n## Status\nAccepted\n## Context\n## Decision\n## Consequences\n";
        assert!(missing_sections(nygard, &sections).is_empty());
        let madr = "---\nstatus: accepted\n---\n# Kafka\n## Context and Problem Statement\n\
                    ## Decision Outcome\n### Consequences\n";
        assert!(missing_sections(madr, &sections).is_empty());
        let thin = "# Kafka\n**Status**: proposed\n## Contextual notes\n```\n## Decision\n```\n";
        assert_eq!(
            missing_sections(thin, &sections),
            ["Context", "Decision", "Consequences"]
        );
    }
}
