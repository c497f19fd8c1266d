//! root file ─load→ every module it imports: reads files, parses them, follows `import`s
//! relative to the importing file (or, for `std/…`, into phasev's standard library,
//! [`crate::std_library`]), and reports unreadable files and import cycles.
//!
//! It also holds the one bounded reader every input of phasev goes through ([`read_bytes`],
//! [`read_text`]): policies, facts files, `phasev.toml`, records, specs, reports.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use crate::ast::{FileId, ItemKind, Module, Span};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::parser;
use crate::source::SourceMap;
use crate::std_library;

/// Where source files come from: the real file system, or memory (tests, fuzzing, tools).
pub trait FileSystem {
    fn read(&self, path: &Path) -> io::Result<String>;
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

impl FileSystem for RealFs {
    fn read(&self, path: &Path) -> io::Result<String> {
        read_text(path)
    }
}

/// The largest file phasev reads: 64 MiB. Every input is text written by a person or a CI
/// step; a larger one is a mistake or an attack, and reading on would exhaust memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a whole file of at most [`MAX_FILE_BYTES`]. Only regular files are read: a FIFO would
/// block forever and a device (`/dev/zero`) never ends, so both are refused before they are
/// opened; a file that grows past the limit while it is read is refused too.
pub fn read_bytes(path: &Path) -> io::Result<Vec<u8>> {
    read_bytes_within(path, MAX_FILE_BYTES)
}

/// [`read_bytes`] with another limit (a test's, or a reader that allows less).
pub fn read_bytes_within(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    // INVARIANT: nothing is opened before it is known to be a regular file: opening a FIFO
    // for reading waits for a writer.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {kind}"),
        ));
    }
    if meta.len() > limit {
        return Err(TooLarge {
            size: meta.len(),
            limit,
        }
        .into());
    }
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    if read > limit {
        return Err(TooLarge { size: read, limit }.into());
    }
    Ok(bytes)
}

/// A file refused for its size: the error inside the `io::Error` the bounded reader returns
/// (`InvalidData`), so a caller that explains limits can find the sizes with
/// [`TooLarge::of`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLarge {
    /// Its size, or as much of it as was read before the reader stopped (a file that grew).
    pub size: u64,
    pub limit: u64,
}

impl TooLarge {
    /// The sizes, when `error` is a refusal for size.
    pub fn of(error: &io::Error) -> Option<TooLarge> {
        error.get_ref()?.downcast_ref::<TooLarge>().copied()
    }
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.limit % (1024 * 1024) {
            0 => write!(
                f,
                "it is larger than the limit of {} MiB",
                self.limit / (1024 * 1024)
            ),
            _ => write!(f, "it is larger than the limit of {} bytes", self.limit),
        }
    }
}

impl std::error::Error for TooLarge {}

impl From<TooLarge> for io::Error {
    fn from(e: TooLarge) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// [`read_bytes`] as UTF-8 text.
pub fn read_text(path: &Path) -> io::Result<String> {
    String::from_utf8(read_bytes(path)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"))
}

/// In-memory files, keyed by normalised path.
#[derive(Clone, Debug, Default)]
pub struct MemoryFs {
    files: HashMap<PathBuf, String>,
}

impl MemoryFs {
    pub fn new() -> Self {
        MemoryFs::default()
    }

    pub fn with(mut self, path: impl AsRef<Path>, text: impl Into<String>) -> Self {
        self.files.insert(normalize(path.as_ref()), text.into());
        self
    }
}

impl FileSystem for MemoryFs {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }
}

/// The parsed files of a policy, root first, each once.
#[derive(Debug)]
pub struct Loaded {
    pub sources: SourceMap,
    pub modules: Vec<Module>,
    /// Whether every file was read and parsed (modules may still be partial otherwise).
    pub complete: bool,
}

/// Reads `root` and everything it imports. Problems are pushed to `diags`; every file that
/// can be parsed is returned, so one run reports the errors of all files.
pub fn load(root: &Path, fs: &dyn FileSystem, diags: &mut Diagnostics) -> Loaded {
    let mut loader = Loader {
        fs,
        sources: SourceMap::new(),
        modules: Vec::new(),
        seen: HashMap::new(),
        library: HashSet::new(),
        stack: Vec::new(),
        diags,
        complete: true,
    };
    match fs.read(root) {
        Ok(text) => loader.visit(normalize(root), display_name(root), text),
        Err(err) => {
            let file = loader.sources.add(display_name(root), "");
            loader.diags.push(
                unreadable(Span::new(file, 0, 0), root, &err)
                    .help("the path is relative to the directory the command runs in"),
            );
            loader.complete = false;
        }
    }
    Loaded {
        sources: loader.sources,
        modules: loader.modules,
        complete: loader.complete,
    }
}

struct Loader<'a> {
    fs: &'a dyn FileSystem,
    sources: SourceMap,
    modules: Vec<Module>,
    /// Normalised path → file, for every file read so far.
    seen: HashMap<PathBuf, FileId>,
    /// The modules of the standard library read so far (by their import path).
    library: HashSet<PathBuf>,
    /// The chain of files being loaded, for cycle detection.
    stack: Vec<PathBuf>,
    diags: &'a mut Diagnostics,
    complete: bool,
}

impl Loader<'_> {
    fn visit(&mut self, path: PathBuf, name: String, text: String) {
        let file = self.sources.add(name, text);
        self.seen.insert(path.clone(), file);
        let text = self.sources.text(file).to_owned();
        let module = match parser::parse(file, &text) {
            Ok(m) => m,
            Err(errs) => {
                self.diags.extend(errs);
                self.complete = false;
                return;
            }
        };
        self.stack.push(path.clone());
        let imports: Vec<_> = module
            .items
            .iter()
            .filter_map(|item| match &item.kind {
                ItemKind::Import(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        self.modules.push(module);
        for import in imports {
            let Some(rel) = import.as_plain() else {
                self.diags.push(
                    Diagnostic::new(
                        Code::Interpolation,
                        import.span,
                        "an import path cannot interpolate facts",
                    )
                    .label("holes are not allowed here")
                    .help("write the file name as plain text"),
                );
                continue;
            };
            // The standard library is imported by name; its modules import one another the
            // same way, relative paths included.
            let from_library = std_library::is_std(&rel) || self.library.contains(&path);
            let target = if std_library::is_std(&rel) {
                library_key(&normalize(Path::new(rel.as_ref())).to_string_lossy())
            } else {
                resolve_import(&path, &rel)
            };
            if let Some(pos) = self.stack.iter().position(|p| *p == target) {
                let chain: Vec<String> = self.stack[pos..]
                    .iter()
                    .chain(std::iter::once(&target))
                    .map(|p| key_name(p))
                    .collect();
                self.diags.push(
                    Diagnostic::new(
                        Code::ImportCycle,
                        import.span,
                        format!("import cycle: {}", chain.join(" → ")),
                    )
                    .label("this import closes the cycle")
                    .help("move what both files need into a third file that each imports"),
                );
                self.complete = false;
                continue;
            }
            if self.seen.contains_key(&target) {
                continue;
            }
            if from_library {
                let name = key_name(&target);
                match std_library::module(&name) {
                    Some(text) => {
                        self.library.insert(target.clone());
                        self.visit(target, name, text.to_owned());
                    }
                    None => {
                        self.diags.push(
                            Diagnostic::new(
                                Code::Unreadable,
                                import.span,
                                format!("`{name}` is not a module of phasev's standard library"),
                            )
                            .label("no such module")
                            .help(format!(
                                "the standard library {} has {}; a file of your own under `{}` \
                                 is imported by its path from here (`./std/…`)",
                                std_library::VERSION,
                                std_library::names().collect::<Vec<_>>().join(", "),
                                std_library::PREFIX
                            )),
                        );
                        self.complete = false;
                    }
                }
                continue;
            }
            match self.fs.read(&target) {
                Ok(text) => self.visit(target.clone(), display_name(&target), text),
                Err(err) => {
                    self.diags.push(
                        unreadable(import.span, &target, &err)
                            .help("imports are resolved relative to the importing file"),
                    );
                    self.complete = false;
                }
            }
        }
        self.stack.pop();
    }
}

fn unreadable(span: Span, path: &Path, err: &io::Error) -> Diagnostic {
    let reason = match err.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        _ => err.to_string(),
    };
    Diagnostic::new(
        Code::Unreadable,
        span,
        format!("cannot read `{}`: {reason}", display_name(path)),
    )
    .label("cannot be read")
}

/// The file an `import "rel"` in `importer` names: relative to the importing file, normalised.
pub fn resolve_import(importer: &Path, rel: &str) -> PathBuf {
    let dir = importer.parent().unwrap_or(Path::new(""));
    normalize(&dir.join(rel))
}

/// The name a file gets in the [`SourceMap`]: the path as given, or as an import resolved it.
/// Names that start `std/` are the standard library's, so a file of the project there is
/// `./std/…`.
pub fn display_name(path: &Path) -> String {
    let name = path.to_string_lossy();
    if std_library::is_std(&name) {
        format!("./{name}")
    } else {
        name.into_owned()
    }
}

/// The key of the standard library's module `name` among the files loaded: no file's path
/// can start with a NUL, so no file of the project can stand in for a module.
fn library_key(name: &str) -> PathBuf {
    PathBuf::from(format!("\0{name}"))
}

/// The name of what `key` holds: a module of the standard library, or a file.
fn key_name(key: &Path) -> String {
    let name = key.to_string_lossy();
    match name.strip_prefix('\0') {
        Some(module) => module.to_owned(),
        None => display_name(key),
    }
}

/// Lexical normalisation: drops `.` and folds `dir/..`, so one file has one key.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_imports_once_and_reports_cycles() {
        let fs = MemoryFs::new()
            .with(
                "p/root.phasev",
                "policy p\nimport \"lib/a.phasev\"\nimport \"b.phasev\"",
            )
            .with("p/lib/a.phasev", "import \"../b.phasev\"")
            .with("p/b.phasev", "import \"root.phasev\"");
        let mut diags = Diagnostics::default();
        let loaded = load(Path::new("p/root.phasev"), &fs, &mut diags);
        assert_eq!(loaded.modules.len(), 3);
        let codes: Vec<_> = diags.iter().map(|d| d.code()).collect();
        assert_eq!(codes, vec![Code::ImportCycle]);
        assert!(
            diags
                .iter()
                .any(|d| d.message().contains("p/root.phasev → p/lib/a.phasev"))
        );
    }

    #[test]
    fn devices_directories_and_large_files_are_refused() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("phasev-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let big = dir.join("big.txt");
        std::fs::write(&big, "x".repeat(2048))?;
        let err = |r: io::Result<Vec<u8>>| r.err().map(|e| e.to_string());
        assert_eq!(
            err(read_bytes_within(&big, 1024 * 1024 + 1)).as_deref(),
            None,
            "under the limit"
        );
        assert_eq!(
            err(read_bytes_within(&big, 1024)).as_deref(),
            Some("it is larger than the limit of 1024 bytes")
        );
        assert_eq!(
            err(read_bytes(Path::new("/dev/zero"))).as_deref(),
            Some("it is not a regular file (a FIFO, socket or device)")
        );
        assert_eq!(err(read_bytes(&dir)).as_deref(), Some("it is a directory"));
        std::fs::remove_dir_all(&dir)
    }

    #[test]
    fn missing_import_points_at_the_import() {
        let fs = MemoryFs::new().with("root.phasev", "import \"nope.phasev\"");
        let mut diags = Diagnostics::default();
        let loaded = load(Path::new("root.phasev"), &fs, &mut diags);
        assert!(!loaded.complete);
        let d = diags.iter().next().map(|d| (d.code(), d.span().start));
        assert_eq!(d, Some((Code::Unreadable, 7)));
    }

    /// `std/…` names the standard library, never a file of the project: a project's own
    /// `std/phase-v.phasev` is not read for it, even when it is imported first by a path
    /// (`./std/…`), under which it keeps a name of its own; a module the library lacks is
    /// an error.
    #[test]
    fn std_imports_come_from_the_standard_library() {
        let fs = MemoryFs::new()
            .with(
                "root.phasev",
                "policy p\nimport \"./std/phase-v.phasev\"\nimport \"std/phase-v.phasev\"",
            )
            .with("std/phase-v.phasev", "rule planted = true");
        let mut diags = Diagnostics::default();
        let loaded = load(Path::new("root.phasev"), &fs, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        assert!(loaded.complete);
        assert_eq!(loaded.sources.name(FileId(1)), "./std/phase-v.phasev");
        assert_eq!(loaded.sources.text(FileId(1)), "rule planted = true");
        assert_eq!(loaded.sources.name(FileId(2)), "std/phase-v.phasev");
        assert_eq!(
            Some(loaded.sources.text(FileId(2))),
            std_library::module("std/phase-v.phasev")
        );

        let fs = MemoryFs::new().with("root.phasev", "import \"std/nope.phasev\"");
        let mut diags = Diagnostics::default();
        let loaded = load(Path::new("root.phasev"), &fs, &mut diags);
        assert!(!loaded.complete);
        let d = diags
            .iter()
            .next()
            .map(|d| (d.code(), d.span().start, d.message().to_owned()));
        assert_eq!(
            d,
            Some((
                Code::Unreadable,
                7,
                "`std/nope.phasev` is not a module of phasev's standard library".to_owned()
            ))
        );
    }
}
