//! Which files a scan reads. Every entry under a scanned path ends in one of three lists: a
//! file to scan, a file not scanned with the reason, or a finding (a symbolic link out of the
//! project). Only `[secrets] exclude` removes an entry from all three.
//!
//! Symbolic links are resolved and followed when their target is inside the project; each
//! directory and file is read once whatever the number of paths to it, so link cycles end.

use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Finding, SYMLINK_OUT, SecretsError};
use crate::collect::change::Globs;

/// Files larger than this are not read (2 MiB).
pub const MAX_FILE_BYTES: u64 = 2 << 20;

/// Directories of dependencies, build output and version control, listed rather than entered.
const DEPENDENCY_DIRS: &[&str] = &[".git", "target", "node_modules", ".venv", "vendor"];

/// A file under a scanned path that was not scanned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NotScanned {
    /// Relative to the project.
    pub file: String,
    pub reason: Reason,
}

/// Why a file was not scanned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Over [`MAX_FILE_BYTES`].
    TooLarge { bytes: u64 },
    /// Compressed data, whose content the rules cannot see.
    Compressed { format: &'static str },
    /// A FIFO, socket or device: reading it may never end.
    NotRegular { kind: &'static str },
    /// A symbolic link whose target does not exist.
    BrokenLink,
    /// A dependency, build or version-control directory.
    DependencyDir,
}

impl fmt::Display for NotScanned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = &self.file;
        match &self.reason {
            Reason::TooLarge { bytes } => write!(
                f,
                "`{file}` ({bytes} bytes, over the {} MiB limit)",
                MAX_FILE_BYTES >> 20
            ),
            Reason::Compressed { format } => write!(f, "`{file}` ({format} data)"),
            Reason::NotRegular { kind } => write!(f, "`{file}` (a {kind}, not a regular file)"),
            Reason::BrokenLink => write!(f, "`{file}` (a symbolic link to nothing)"),
            Reason::DependencyDir => {
                write!(
                    f,
                    "`{file}/` (a dependency, build or version-control directory)"
                )
            }
        }
    }
}

/// A file to scan: its name in findings and where its content is.
#[derive(Debug)]
pub(crate) struct ToScan {
    pub(crate) name: String,
    pub(crate) real: PathBuf,
}

#[derive(Debug, Default)]
pub(crate) struct Walked {
    pub(crate) files: Vec<ToScan>,
    pub(crate) not_scanned: Vec<NotScanned>,
    pub(crate) links_out: Vec<Finding>,
}

struct Walker<'a> {
    /// Canonical.
    project: PathBuf,
    exclude: &'a Globs,
    seen: HashSet<PathBuf>,
    out: Walked,
}

/// Lists what is under `path`, naming entries relative to `project`.
pub(crate) fn walk(path: &Path, project: &Path, exclude: &Globs) -> Result<Walked, SecretsError> {
    let unreadable = |source| SecretsError::Unreadable {
        path: project.to_owned(),
        source,
    };
    let mut walker = Walker {
        project: std::fs::canonicalize(project).map_err(unreadable)?,
        exclude,
        seen: HashSet::new(),
        out: Walked::default(),
    };
    let name = path
        .strip_prefix(project)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    walker.visit(path, name)?;
    Ok(walker.out)
}

impl Walker<'_> {
    fn visit(&mut self, path: &Path, name: String) -> Result<(), SecretsError> {
        if self.exclude.matches(&name) {
            return Ok(());
        }
        let unreadable = |source| SecretsError::Unreadable {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::symlink_metadata(path).map_err(unreadable)?;
        let meta = if meta.file_type().is_symlink() {
            let target = match std::fs::canonicalize(path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.not_scanned(name, Reason::BrokenLink);
                    return Ok(());
                }
                Err(e) => return Err(unreadable(e)),
            };
            if !target.starts_with(&self.project) {
                self.out.links_out.push(Finding {
                    file: name,
                    line: 1,
                    rule: SYMLINK_OUT,
                });
                return Ok(());
            }
            std::fs::metadata(&target).map_err(unreadable)?
        } else {
            meta
        };
        let ty = meta.file_type();
        if !ty.is_dir() && !ty.is_file() {
            self.not_scanned(name, Reason::NotRegular { kind: kind(&ty) });
            return Ok(());
        }
        let real = std::fs::canonicalize(path).map_err(unreadable)?;
        if !self.seen.insert(real.clone()) {
            // Already read through another path (a link, or a link cycle).
            return Ok(());
        }
        if ty.is_file() {
            if meta.len() > MAX_FILE_BYTES {
                self.not_scanned(name, Reason::TooLarge { bytes: meta.len() });
            } else {
                self.out.files.push(ToScan { name, real });
            }
            return Ok(());
        }
        let base = path.file_name().and_then(|n| n.to_str());
        if base.is_some_and(|b| DEPENDENCY_DIRS.contains(&b)) {
            self.not_scanned(name, Reason::DependencyDir);
            return Ok(());
        }
        let mut entries = std::fs::read_dir(path)
            .and_then(|dir| {
                dir.map(|e| e.map(|e| e.file_name()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(unreadable)?;
        entries.sort();
        for entry in entries {
            let child = entry.to_string_lossy();
            let child_name = if name.is_empty() {
                child.into_owned()
            } else {
                format!("{name}/{child}")
            };
            self.visit(&path.join(&entry), child_name)?;
        }
        Ok(())
    }

    fn not_scanned(&mut self, file: String, reason: Reason) {
        self.out.not_scanned.push(NotScanned { file, reason });
    }
}

#[cfg(unix)]
fn kind(ty: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ty.is_fifo() {
        "FIFO"
    } else if ty.is_socket() {
        "socket"
    } else if ty.is_block_device() || ty.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
fn kind(_: &std::fs::FileType) -> &'static str {
    "special file"
}

/// A file's content, or why it is not scanned: it grew past the limit since it was listed, or
/// it is compressed.
pub(crate) fn read(path: &Path) -> Result<Result<Vec<u8>, Reason>, SecretsError> {
    let unreadable = |source| SecretsError::Unreadable {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Ok(Err(Reason::TooLarge {
            bytes: bytes.len() as u64,
        }));
    }
    if let Some(format) = compressed(&bytes) {
        return Ok(Err(Reason::Compressed { format }));
    }
    Ok(Ok(bytes))
}

/// The compression format a file's magic number names.
fn compressed(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (&[0x1F, 0x8B], "gzip"),
        (b"PK\x03\x04", "zip"),
        (&[0xFD, b'7', b'z', b'X', b'Z', 0x00], "xz"),
        (&[0x28, 0xB5, 0x2F, 0xFD], "zstd"),
        (b"BZh", "bzip2"),
        (&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C], "7-zip"),
        (b"Rar!\x1A\x07", "rar"),
    ];
    MAGIC
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, format)| *format)
}
