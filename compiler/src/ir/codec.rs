//! The IR's serialised forms: pretty JSON for people, `PHIR` + version + postcard for
//! pipelines, and the sha256 digest of the binary form.

use sha2::{Digest, Sha256};

use super::{FORMAT_VERSION, Program};

/// The first bytes of every binary IR file.
pub const MAGIC: &[u8; 4] = b"PHIR";

/// Why an IR file could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum IrError {
    #[error("not a phasev IR file")]
    #[diagnostic(
        code(phasev::ir::not_ir),
        help("compile a policy with `phasevc compile FILE -o OUT`, or pass the `.phasev` source")
    )]
    NotIr,
    #[error("IR format version {found}, this build reads version {FORMAT_VERSION}")]
    #[diagnostic(
        code(phasev::ir::version),
        help("recompile the policy with this version of phasevc")
    )]
    Version { found: u32 },
    #[error("the IR is damaged: {reason}")]
    #[diagnostic(
        code(phasev::ir::damaged),
        help("the file is truncated or was edited; recompile the policy")
    )]
    Damaged { reason: String },
}

impl Program {
    /// Pretty JSON, for people and for diffing.
    pub fn to_json(&self) -> String {
        // INVARIANT: every IR type serialises (no maps with non-string keys, no non-finite
        // floats: literals are checked finite by the parser).
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Program, IrError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|_| IrError::NotIr)?;
        let found = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or(IrError::NotIr)?;
        if found != u64::from(FORMAT_VERSION) {
            return Err(IrError::Version {
                found: u32::try_from(found).unwrap_or(u32::MAX),
            });
        }
        serde_json::from_value(value).map_err(|e| IrError::Damaged {
            reason: e.to_string(),
        })
    }

    /// The compact binary form: `PHIR`, the format version (u32, little-endian), postcard.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        // INVARIANT: postcard serialises every IR type into a Vec without failing.
        if let Ok(body) = postcard::to_allocvec(self) {
            out.extend_from_slice(&body);
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Program, IrError> {
        let (magic, rest) = bytes.split_at_checked(4).ok_or(IrError::NotIr)?;
        if magic != MAGIC {
            return Err(IrError::NotIr);
        }
        let (version, body) = rest.split_at_checked(4).ok_or(IrError::Damaged {
            reason: "the header is cut short".to_owned(),
        })?;
        let mut v = [0u8; 4];
        v.copy_from_slice(version);
        let found = u32::from_le_bytes(v);
        if found != FORMAT_VERSION {
            return Err(IrError::Version { found });
        }
        let (program, left): (Program, &[u8]) =
            postcard::take_from_bytes(body).map_err(|e| IrError::Damaged {
                reason: e.to_string(),
            })?;
        if !left.is_empty() {
            return Err(IrError::Damaged {
                reason: format!("{} unexpected bytes after the program", left.len()),
            });
        }
        Ok(program)
    }

    /// `sha256:` and the lowercase hex sha256 of [`Program::to_bytes`]: the same policy text
    /// always gives the same digest (spans are part of it, so reformatting changes it).
    pub fn digest(&self) -> String {
        format!("sha256:{}", hex(&Sha256::digest(self.to_bytes())))
    }
}

/// Lowercase hexadecimal, as digests are written.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
