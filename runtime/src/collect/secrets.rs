//! The secret scanner: credentials written into files, by file, line and rule. The secret
//! itself is never kept: a [`Finding`] has no field for it, so no report can show it.
//!
//! Rules, most specific first; a line reports its first matching rule only:
//!
//! | rule | matches |
//! |---|---|
//! | `private-key` | a PEM `-----BEGIN … PRIVATE KEY-----` header followed by key material |
//! | `aws-access-key-id` | `AKIA…`/`ASIA…` and the other AWS key-id prefixes, 20 characters |
//! | `github-token` | `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` tokens and fine-grained `github_pat_` |
//! | `gitlab-token` | `glpat-` and the other GitLab token prefixes |
//! | `slack-token` | `xoxb-`, `xoxp-`, … tokens and `hooks.slack.com` webhooks |
//! | `stripe-key` | secret and restricted keys (`sk_live_`, `rk_test_`, …) and `whsec_` |
//! | `google-api-key` | `AIza…` keys |
//! | `jwt` | three base64url parts, the first two JSON (`eyJ…`) |
//! | `secret-assignment` | a secret-sounding key (`password`, `secret`, `token`, `api_key`, …) assigned a value that is not a placeholder and is random enough (YAML, env, INI, JSON, TOML, XML) |
//! | `high-entropy-string` | a quoted string of 20+ base64 characters (or 32+ hex) with high Shannon entropy |
//!
//! Never reported: UUIDs, hex and base64 digests in lock and checksum files (`go.sum`,
//! `yarn.lock`, `package-lock.json`, `Cargo.lock`, …, and `sha…-`/`h1:` values anywhere),
//! `data:…;base64,` inline images, placeholders (`${VAR}`, `{{ .Values.x }}`, `<password>`,
//! `changeme`, `xxxx`), values marked as examples (`…EXAMPLE…`), PEM headers that say they are
//! fake, the ciphertext of a `SealedSecret`, and lines marked `pragma: allowlist secret`.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

/// Where a secret was found; the value itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The file, relative to the scanned root.
    pub file: String,
    /// 1-based.
    pub line: u32,
    pub rule: &'static str,
}

struct Rule {
    id: &'static str,
    pattern: Regex,
}

#[expect(
    clippy::expect_used,
    reason = "the patterns are constants, tested below"
)]
fn rule(id: &'static str, pattern: &str) -> Rule {
    Rule {
        id,
        pattern: Regex::new(pattern).expect("a valid secret pattern"),
    }
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        rule(
            "aws-access-key-id",
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z2-7]{16}\b",
        ),
        rule(
            "github-token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
        ),
        rule(
            "gitlab-token",
            r"\bgl(?:pat|dt|rt|ptt|ft|imt|oas|cbt|soat|agent|cr|wt)-[A-Za-z0-9_\-]{20,}",
        ),
        rule(
            "slack-token",
            r"\bxox[baprse]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}",
        ),
        rule(
            "stripe-key",
            r"\b(?:[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,})",
        ),
        rule("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}"),
        rule(
            "jwt",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        ),
    ]
});

static PEM: LazyLock<Regex> = LazyLock::new(|| {
    #[expect(clippy::expect_used, reason = "a constant pattern, tested below")]
    Regex::new(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----").expect("PEM pattern")
});

/// `key = value`, `key: value`, `"key": "value"`, `<key>value</key>`, `export KEY=value`.
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    #[expect(clippy::expect_used, reason = "a constant pattern, tested below")]
    Regex::new(
        r#"(?i)(?:^|[\s"'{,;(<\[])(?P<key>[a-z0-9_.\-]*(?:pass(?:w(?:or)?d|wd|wrd)?|p(?:a)?s{1,2}w(?:o)?r?d|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|client[_\-]?secret|credentials?|auth[_\-]?key)[a-z0-9_.\-]*)["']?\s*(?::=|=>|[:=>])\s*(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"',;<>]+)"#,
    )
    .expect("assignment pattern")
});

static QUOTED: LazyLock<Regex> = LazyLock::new(|| {
    #[expect(clippy::expect_used, reason = "a constant pattern, tested below")]
    Regex::new(r#""([A-Za-z0-9+/=_\-]{20,})"|'([A-Za-z0-9+/=_\-]{20,})'"#).expect("quoted pattern")
});

static BARE_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    #[expect(clippy::expect_used, reason = "a constant pattern, tested below")]
    Regex::new(r"^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.\-]*\s*[=:]\s*([A-Za-z0-9+/=_\-]{20,})\s*$")
        .expect("bare value pattern")
});

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    #[expect(clippy::expect_used, reason = "a constant pattern, tested below")]
    Regex::new(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
        .expect("UUID pattern")
});

/// Files whose every value is a digest or a URL.
const DIGEST_FILES: &[&str] = &[
    "go.sum",
    "yarn.lock",
    "package-lock.json",
    "pnpm-lock.yaml",
    "Cargo.lock",
    "poetry.lock",
    "Gemfile.lock",
    "composer.lock",
    "Pipfile.lock",
];

/// Scans one file's text; `file` is how findings name it.
pub fn scan_text(file: &str, text: &str) -> Vec<Finding> {
    let name = Path::new(file)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(file);
    if DIGEST_FILES.contains(&name) || name.ends_with(".sum") {
        return Vec::new();
    }
    // A Bitnami SealedSecret holds ciphertext by design: only its key material is secret.
    let sealed = text.contains("kind: SealedSecret");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.contains("pragma: allowlist secret") {
            continue;
        }
        let rule = line_rule(line, lines.get(i + 1).copied())
            .filter(|r| !sealed || !matches!(*r, "secret-assignment" | "high-entropy-string"));
        if let Some(rule) = rule {
            out.push(Finding {
                file: file.to_owned(),
                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                rule,
            });
        }
    }
    out
}

fn line_rule(line: &str, next: Option<&str>) -> Option<&'static str> {
    if let Some(caps) = PEM.captures(line) {
        // Key material follows the header (on its line or the next); `...`, an END line or a
        // header that says it is fake are placeholders.
        let words = caps.get(1).map_or("", |m| m.as_str());
        let after = caps.get(0).map_or("", |m| &line[m.end()..]);
        let body = if after
            .trim()
            .trim_matches(['"', '\'', '\\', 'n', ',', '+'])
            .len()
            >= 20
        {
            after
        } else {
            next.unwrap_or_default()
        };
        let material = body
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
            .count();
        let fake = ["FAKE", "EMPTY", "EXAMPLE", "DUMMY", "TEST"]
            .iter()
            .any(|w| words.contains(w));
        if material >= 20
            && !fake
            && !body.contains("...")
            && !body.contains('…')
            && !body.contains("-----END")
        {
            return Some("private-key");
        }
    }
    if line.contains("data:image/") || line.contains(";base64,") {
        return None;
    }
    // Published example values (`AKIAIOSFODNN7EXAMPLE`, `…EXAMPLEFAKESIG`) are not secrets.
    if line.contains("EXAMPLE") {
        return None;
    }
    for rule in RULES.iter() {
        if rule.pattern.is_match(line) {
            return Some(rule.id);
        }
    }
    for caps in ASSIGNMENT.captures_iter(line) {
        let key = caps.name("key").map_or("", |m| m.as_str());
        let value = caps.name("value").map_or("", |m| m.as_str());
        if secret_value(key, value) {
            return Some("secret-assignment");
        }
    }
    for caps in QUOTED.captures_iter(line) {
        let value = caps
            .get(1)
            .or_else(|| caps.get(2))
            .map_or("", |m| m.as_str());
        if high_entropy(value) {
            return Some("high-entropy-string");
        }
    }
    // An unquoted value of any `key=value` / `key: value`, as in env and INI files.
    if let Some(caps) = BARE_VALUE.captures(line)
        && caps.get(1).is_some_and(|m| high_entropy(m.as_str()))
    {
        return Some("high-entropy-string");
    }
    None
}

/// Whether a value assigned to a secret-sounding key looks like a real secret.
fn secret_value(key: &str, raw: &str) -> bool {
    let value = raw.trim_matches(['"', '\'']).trim();
    let lower = value.to_ascii_lowercase();
    let key = key.to_ascii_lowercase();
    // Keys that only talk about secrets: `token_url`, `password_file`, `secret_name`.
    let about = [
        "url", "uri", "file", "path", "name", "type", "length", "expires", "ttl", "id", "ref",
        "policy", "enabled", "required", "count", "header",
    ];
    if about.iter().any(|s| {
        key.ends_with(&format!("_{s}"))
            || key.ends_with(&format!("-{s}"))
            || key.ends_with(&format!(".{s}"))
    }) {
        return false;
    }
    let placeholder = value.len() < 8
        || value.starts_with('$')
        || value.starts_with('%')
        || value.contains("{{")
        || value.starts_with('<')
        || value.starts_with('[')
        || value.starts_with('{')
        || value.starts_with('(')
        || value.contains("${")
        || value.starts_with("env(")
        || value
            .chars()
            .all(|c| c == value.chars().next().unwrap_or(' ') || c == '*')
        || [
            "changeme",
            "change_me",
            "example",
            "password",
            "secret",
            "dummy",
            "placeholder",
            "redacted",
            "xxxx",
            "your_",
            "your-",
            "<",
            "null",
            "none",
            "true",
            "false",
            "todo",
            "fixme",
        ]
        .iter()
        .any(|p| lower.contains(p))
        || value.contains(' ')
        || UUID.is_match(value)
        || is_digest(value);
    if placeholder {
        return false;
    }
    let has_digit = value.chars().any(|c| c.is_ascii_digit());
    let has_alpha = value.chars().any(|c| c.is_ascii_alphabetic());
    has_digit && has_alpha && entropy(value) >= 3.0
}

/// `sha256-…`, `sha512-…`, `h1:…`, `sha1:…` values.
fn is_digest(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    [
        "sha1-", "sha256-", "sha384-", "sha512-", "h1:", "sha1:", "sha256:", "sha512:", "md5:",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
}

fn high_entropy(value: &str) -> bool {
    if UUID.is_match(value) || is_digest(value) {
        return false;
    }
    let hex = value.chars().all(|c| c.is_ascii_hexdigit());
    if hex {
        return value.len() >= 32
            && entropy(value) >= 3.0
            && value.chars().any(|c| c.is_ascii_digit());
    }
    let mixed = value.chars().any(|c| c.is_ascii_lowercase())
        && value.chars().any(|c| c.is_ascii_uppercase())
        && value.chars().any(|c| c.is_ascii_digit());
    mixed && entropy(value) >= 4.5
}

/// Shannon entropy in bits per character.
fn entropy(text: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in text.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = text.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// A file the scanner could not read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot scan {}: {reason}", path.display())]
#[diagnostic(code(phasev::collect::secrets::unreadable))]
pub struct SecretsError {
    pub path: PathBuf,
    pub reason: String,
}

/// Files over this size are not scanned (generated or binary data).
const MAX_FILE_BYTES: u64 = 2 << 20;
const SKIPPED_DIRS: &[&str] = &[".git", "target", "node_modules", ".venv", "vendor"];

/// Scans every text file under `root` (a file or a directory), in path order; findings name
/// files relative to `relative_to`.
pub fn scan_path(root: &Path, relative_to: &Path) -> Result<Vec<Finding>, SecretsError> {
    let mut files = Vec::new();
    collect_files(root, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let error = |e: std::io::Error| SecretsError {
            path: file.clone(),
            reason: e.to_string(),
        };
        let meta = std::fs::metadata(&file).map_err(error)?;
        if meta.len() > MAX_FILE_BYTES {
            continue;
        }
        let bytes = std::fs::read(&file).map_err(error)?;
        if bytes.contains(&0) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        let name = file
            .strip_prefix(relative_to)
            .unwrap_or(&file)
            .display()
            .to_string();
        out.extend(scan_text(&name, &text));
    }
    Ok(out)
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), SecretsError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| SecretsError {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if meta.is_file() {
        out.push(path.to_owned());
    } else if meta.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| SecretsError {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            let skipped = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| SKIPPED_DIRS.contains(&n));
            if !skipped {
                collect_files(&p, out)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<&'static str> {
        scan_text("f.yaml", text)
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn each_rule_has_a_positive_and_a_near_miss() {
        let fake_aws = ["AKIA", "Z7QWERTYUIOPASDF"].concat();
        assert_eq!(rules(&format!("key: {fake_aws}")), ["aws-access-key-id"]);
        assert!(rules("key: AKIA1234").is_empty());
        let gh = ["ghp_", &"a1B2c3D4e5".repeat(3), "f6G7h8"].concat();
        assert_eq!(rules(&format!("t = {gh}")), ["github-token"]);
        assert!(rules("ghp_short").is_empty());
        assert_eq!(
            rules("password: \"v9Kq2mX7tLr4Wz8sBn3yHd6P\""),
            ["secret-assignment"]
        );
        assert!(rules("password: ${DB_PASSWORD}").is_empty());
        assert!(rules("password: changeme123").is_empty());
        assert!(rules("password_file: /run/secrets/db").is_empty());
        assert_eq!(
            rules("DB_PASSWORD=8ae31cacf141669ddfb5da"),
            ["secret-assignment"]
        );
        let key = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n",
            "MIIEpAIBAAKCAQEA".repeat(3)
        );
        assert_eq!(rules(&key), ["private-key"]);
        assert!(rules("-----BEGIN RSA PRIVATE KEY-----\n...\n").is_empty());
    }

    #[test]
    fn digests_uuids_and_images_are_not_secrets() {
        assert!(rules("id: \"123e4567-e89b-12d3-a456-426614174000\"").is_empty());
        assert!(
            rules("integrity sha512-Qw3rTy5uIoPasDfGhJkLzXcVbNm1234567890abcdEFGH==").is_empty()
        );
        assert!(rules("src: \"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\"").is_empty());
        assert!(
            scan_text(
                "go.sum",
                "golang.org/x/net v0.1.0 h1:hZ/3BUoy5aId7sCpA0Tc5lPXv8ZG7fhR1Ys3jA/VzYs="
            )
            .is_empty()
        );
    }

    #[test]
    fn the_value_is_never_kept() {
        let secret = "v9Kq2mX7tLr4Wz8sBn3yHd6P";
        let found = scan_text("smtp.yaml", &format!("password: \"{secret}\""));
        assert_eq!(found.len(), 1);
        assert!(!format!("{found:?}").contains(secret));
    }
}
