//! phasev's standard library: policies that ship inside phasev, so a project imports them by
//! name (`import "std/phase-v.phasev"`) instead of copying them or pointing into phasev's
//! checkout. An import path that starts with `std/` names a module here, whatever files the
//! project has; a module of the library imports its siblings the same way.

use sha2::{Digest, Sha256};

use crate::ir::hex;

/// What every import of the library starts with.
pub const PREFIX: &str = "std/";

/// The library's version: the version of the phasev that ships it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Each module: its import path and its text.
const MODULES: &[(&str, &str)] = &[(
    "std/phase-v.phasev",
    include_str!("../../policies/phase-v.phasev"),
)];

/// Whether an import path names the library rather than a file.
pub fn is_std(path: &str) -> bool {
    path.starts_with(PREFIX)
}

/// The text of the module imported as `name`.
pub fn module(name: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The import path of every module.
pub fn names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(name, _)| *name)
}

/// The sha256 of the module imported as `name`, for decision records.
pub fn digest(name: &str) -> Option<String> {
    module(name).map(|text| format!("sha256:{}", hex(&Sha256::digest(text.as_bytes()))))
}
