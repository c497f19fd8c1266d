//! Checks that a CODEOWNERS rule owns every file of a feature's configured paths; the last
//! matching rule wins, as on GitHub. See README.md.

use std::collections::BTreeSet;
use std::io::{self, ErrorKind};

use phasev_plugin_sdk::{Description, Guest, Outcome, Request, Severity, export_plugin};
use serde::Deserialize;

/// Where GitHub looks for the file, in its order.
const LOCATIONS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// Unowned files reported one by one; the rest are counted in one finding.
const LISTED: usize = 20;

#[derive(Deserialize)]
struct Config {
    paths: Vec<String>,
    file: Option<String>,
}

struct Codeowners;

impl Guest for Codeowners {
    fn describe() -> Description {
        Description::builder(
            "codeowners",
            env!("CARGO_PKG_VERSION"),
            "A CODEOWNERS rule owns every file of the feature's configured paths",
        )
        .output(
            "owners",
            "list<string>",
            "Every owner of the feature's files, sorted",
        )
        .output("unowned", "int", "Files no rule gives an owner")
        .config(
            "paths",
            "list<string>",
            true,
            "Globs of the feature's files from the project root (`*`, `?`, `**`; `{feature}` is \
             the feature's name; a directory stands for every file below it)",
        )
        .config(
            "file",
            "string",
            false,
            "The CODEOWNERS file (default: .github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS)",
        )
        .build()
    }

    fn evaluate(request: Request) -> Result<Outcome, String> {
        let config: Config = request.config()?;
        let (file, text) = read_codeowners(config.file.as_deref())?;
        let rules = parse(&text);
        let mut outcome = Outcome::default();
        let mut owners = BTreeSet::new();
        let mut unowned = Vec::new();
        for pattern in &config.paths {
            let pattern = pattern.replace("{feature}", &request.feature);
            let files =
                expand(&pattern).map_err(|error| format!("listing `{pattern}`: {error}"))?;
            if files.is_empty() {
                outcome.inconclusive(
                    Severity::Warning,
                    format!("`{pattern}` matches no file (is its directory granted?)"),
                );
            }
            for path in files {
                match rules.iter().rev().find(|rule| rule.matches(&path)) {
                    Some(rule) if !rule.owners.is_empty() => {
                        owners.extend(rule.owners.iter().cloned());
                    }
                    Some(rule) => unowned.push((
                        path,
                        format!("{file}:{} `{}` names no owner", rule.line, rule.pattern),
                    )),
                    None => unowned.push((path, format!("no rule of {file} matches"))),
                }
            }
        }
        for (path, why) in unowned.iter().take(LISTED) {
            outcome
                .fail(Severity::Warning, format!("{path} has no owner: {why}"))
                .at(path);
        }
        if unowned.len() > LISTED {
            let more = unowned.len() - LISTED;
            outcome.fail(
                Severity::Warning,
                format!("{more} more files have no owner"),
            );
        }
        if outcome.findings.is_empty() {
            outcome.pass(format!("{file} gives every file of the feature an owner"));
        }
        outcome.output("owners", &owners)?;
        outcome.output("unowned", &unowned.len())?;
        Ok(outcome)
    }
}

/// The configured file, or the first of GitHub's locations that exists: its path and text.
fn read_codeowners(configured: Option<&str>) -> Result<(String, String), String> {
    let candidates = configured.map_or(LOCATIONS.to_vec(), |file| vec![file]);
    for file in &candidates {
        match std::fs::read_to_string(file) {
            Ok(text) => return Ok(((*file).to_owned(), text)),
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => return Err(format!("reading {file}: {error}")),
        }
    }
    Err(format!(
        "cannot see {}: it does not exist, or the manifest does not grant its directory",
        candidates.join(" or ")
    ))
}

/// One line of CODEOWNERS: a pattern and its owners (none: the files it matches are unowned).
#[derive(Debug)]
struct Rule {
    line: usize,
    pattern: String,
    owners: Vec<String>,
}

impl Rule {
    /// gitignore-style matching as GitHub documents it: a pattern with a `/` before its end is
    /// anchored at the root, one without matches at any depth; a pattern matches a file or a
    /// directory above it (a trailing `/` matches only directories), except that a final `*`
    /// matches only the files directly in its directory (`docs/*`).
    fn matches(&self, path: &str) -> bool {
        let trimmed = self.pattern.trim_end_matches('/');
        let mut pattern: Vec<&str> = trimmed.trim_start_matches('/').split('/').collect();
        if !trimmed.contains('/') {
            pattern.insert(0, "**");
        }
        covers(&pattern, self.pattern.ends_with('/'), path)
    }
}

/// The rules of a CODEOWNERS file; `#` starts a comment, `\#` a pattern beginning with `#`.
fn parse(text: &str) -> Vec<Rule> {
    let mut rules = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next().filter(|word| !word.starts_with('#')) else {
            continue;
        };
        let pattern = first
            .strip_prefix('\\')
            .filter(|rest| rest.starts_with('#'))
            .unwrap_or(first);
        rules.push(Rule {
            line: index + 1,
            pattern: pattern.to_owned(),
            owners: words
                .take_while(|word| !word.starts_with('#'))
                .map(str::to_owned)
                .collect(),
        });
    }
    rules
}

/// Whether `pattern` (its segments, anchored at the root) covers `path`: names it, or names a
/// directory above it. `directories_only` (a trailing `/`) rules out naming the file itself; a
/// final `*` rules out directories, matching only the files directly in its directory.
fn covers(pattern: &[&str], directories_only: bool, path: &str) -> bool {
    let path: Vec<&str> = path.split('/').collect();
    let shortest = if pattern.last() == Some(&"*") {
        path.len()
    } else {
        1
    };
    let longest = if directories_only {
        path.len() - 1
    } else {
        path.len()
    };
    (shortest..=longest).any(|n| glob(pattern, &path[..n]))
}

/// Segment-wise glob: `**` is any number of segments, `*` and `?` stay within one.
fn glob(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| glob(rest, &path[skip..])),
        Some((first, rest)) => path
            .split_first()
            .is_some_and(|(name, tail)| wildcard(first, name) && glob(rest, tail)),
    }
}

fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(pattern: &[char], name: &[char]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some(('*', rest)) => (0..=name.len()).any(|skip| go(rest, &name[skip..])),
            Some((first, rest)) => name
                .split_first()
                .is_some_and(|(c, tail)| (*first == '?' || first == c) && go(rest, tail)),
        }
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    go(&pattern, &name)
}

/// The files a configured path names: the files under its longest literal prefix that it
/// covers; none when that prefix does not exist.
fn expand(pattern: &str) -> io::Result<Vec<String>> {
    let segments: Vec<&str> = pattern
        .split('/')
        .filter(|segment| !segment.is_empty() && *segment != ".")
        .collect();
    let literal = segments
        .iter()
        .take_while(|segment| !segment.contains(['*', '?']))
        .count();
    let base = segments[..literal].join("/");
    let mut files = Vec::new();
    match std::fs::metadata(if base.is_empty() { "." } else { &base }) {
        Ok(meta) if meta.is_dir() => walk(&base, &mut files)?,
        Ok(_) => files.push(base),
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    files.retain(|file| covers(&segments, pattern.ends_with('/'), file));
    Ok(files)
}

/// Every file below `dir` (symbolic links are not followed), as `dir/…` paths.
fn walk(dir: &str, files: &mut Vec<String>) -> io::Result<()> {
    let mut entries = std::fs::read_dir(if dir.is_empty() { "." } else { dir })?
        .collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if dir.is_empty() {
            name
        } else {
            format!("{dir}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, files)?;
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

export_plugin!(Codeowners);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const CODEOWNERS: &str = "# comment\n\
        *       @global\n\
        *.js    @js # trailing comment\n\
        /build/logs/ @logs\n\
        docs/*  docs@example.com\n\
        apps/   @apps\n\
        **/tmp  @tmp\n\
        /apps/github\n\
        \\#hash @hash\n";

    fn owner(path: &str) -> Option<String> {
        let rules = parse(CODEOWNERS);
        let rule = rules.iter().rev().find(|rule| rule.matches(path))?;
        Some(rule.owners.join(" "))
    }

    #[test]
    fn rules_parse_with_comments_and_escapes() {
        let rules = parse(CODEOWNERS);
        let parsed: Vec<_> = rules
            .iter()
            .map(|r| (r.line, r.pattern.as_str(), r.owners.len()))
            .collect();
        assert_eq!(
            parsed,
            [
                (2, "*", 1),
                (3, "*.js", 1),
                (4, "/build/logs/", 1),
                (5, "docs/*", 1),
                (6, "apps/", 1),
                (7, "**/tmp", 1),
                (8, "/apps/github", 0),
                (9, "#hash", 1),
            ]
        );
    }

    #[test]
    fn the_last_matching_rule_wins_with_githubs_pattern_rules() {
        for (path, expected) in [
            ("README.md", Some("@global")),
            ("src/deep/app.js", Some("@js")),
            ("build/logs/a/b.txt", Some("@logs")),
            ("x/build/logs/b.txt", Some("@global")),
            ("docs/intro.md", Some("docs@example.com")),
            ("docs/build/intro.md", Some("@global")),
            ("services/apps/main.rs", Some("@apps")),
            ("a/tmp/b/c", Some("@tmp")),
            ("apps/github/x.rs", Some("")),
            ("#hash", Some("@hash")),
        ] {
            assert_eq!(owner(path).as_deref(), expected, "{path}");
        }
        assert!(!parse("/only/this @x\n")[0].matches("other"));
    }

    #[test]
    fn configured_paths_cover_files_below_directories_and_globs() {
        let segments = |p: &'static str| p.split('/').collect::<Vec<_>>();
        assert!(covers(
            &segments("charts/orders"),
            false,
            "charts/orders/values.yaml"
        ));
        assert!(covers(
            &segments("services/**/*.rs"),
            false,
            "services/orders/src/main.rs"
        ));
        assert!(!covers(
            &segments("services/*.rs"),
            false,
            "services/orders/main.rs"
        ));
        assert!(covers(
            &segments("charts/orders"),
            true,
            "charts/orders/values.yaml"
        ));
        assert!(!covers(&segments("charts/orders"), true, "charts/orders"));
        assert!(wildcard("v?lues.*", "values.yaml") && !wildcard("*.yml", "values.yaml"));
    }
}
