//! Compiled plugins kept on disk, so a pipeline compiles a plugin once, not on every run.
//!
//! Loading compiled code runs it without validation (`Component::deserialize` is unsafe), so
//! an entry is trusted only if this user's phasev wrote it: its header holds an HMAC-SHA256,
//! keyed with a secret that never lives in a checkout, over the plugin's digest, the engine's
//! compatibility key and the code. Anyone can compute a plain checksum over the same parts (the
//! engine key is the same for every copy of a phasev build), so only a keyed one proves the
//! entry is ours. The secret is `PHASEV_CACHE_KEY` (a CI secret, for a cache shared by the
//! runners of one pipeline), else a random key phasev creates, readable only by the user, in
//! the user's state directory (`$XDG_STATE_HOME/phasev/cache.key`, else
//! `~/.local/state/phasev/cache.key`). An entry whose HMAC does not match (planted, altered,
//! truncated, another plugin's or another engine's, written with another key) is reported,
//! recompiled from the pinned bytes and replaced.
//!
//! Defence in depth around the key: the cache directory is created private to the user (0700)
//! and refused when another user owns it, other users may write to it, or it sits inside a
//! directory another user (root aside) owns or others may write without the sticky bit; an
//! entry that is not the user's own, or that group or others may write, is recompiled. The
//! cache keeps at most a configured size, evicting the entries used least recently. An
//! attacker able to write as the user running phasev is out of scope: such a user can replace
//! phasev itself.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use phasev_compiler::ir::hex;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The first bytes of every entry; the version changes with the entry's layout.
const MAGIC: &[u8; 16] = b"phasev-cwasm-v3\n";

/// The fewest characters `PHASEV_CACHE_KEY` may have: a secret, not a password.
const MIN_GIVEN_KEY: usize = 32;

/// Where the secret that authenticates cache entries comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheKey {
    /// A secret given by the environment (`PHASEV_CACHE_KEY`), at least 32 characters.
    Given(String),
    /// A file holding a random key, created (0600) when missing.
    File(PathBuf),
}

impl CacheKey {
    /// `PHASEV_CACHE_KEY` when set, else the key file of the user's state directory; `None`
    /// when there is no home to put it in.
    pub fn from_environment() -> Option<CacheKey> {
        if let Some(given) = std::env::var_os("PHASEV_CACHE_KEY") {
            return Some(CacheKey::Given(given.to_string_lossy().into_owned()));
        }
        let state = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
            })?;
        Some(CacheKey::File(state.join("phasev").join("cache.key")))
    }
}

/// Where compiled plugins are kept, the key that authenticates them, and how much they may
/// take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheSettings {
    pub dir: PathBuf,
    pub key: CacheKey,
    /// The most bytes the entries may take together; past it, the least recently used go.
    pub max_size: u64,
}

/// The cache's size when `[sandbox] cache_size` does not say.
pub const DEFAULT_CACHE_SIZE: u64 = 1 << 30;

/// A directory of compiled plugins.
#[derive(Clone)]
pub struct Cache {
    dir: PathBuf,
    key: [u8; 32],
    max_size: u64,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: never printed.
        f.debug_struct("Cache")
            .field("dir", &self.dir)
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

/// What happened when a plugin was looked up in the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// An authentic entry was loaded.
    Hit,
    /// No entry: the plugin was compiled (and stored).
    Miss,
    /// An entry was there but could not be trusted or used: the plugin was compiled again
    /// from its pinned bytes and the entry replaced.
    Rejected(Rejection),
}

/// Why an entry of the cache was not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Its HMAC does not match: not written by this phasev with this cache key, altered,
    /// truncated, or another plugin's or another engine's.
    Unauthentic,
    /// Another user owns it, or group or others may write it.
    Shared,
    /// It is authentic but wasmtime would not load it.
    Unloadable,
}

impl Lookup {
    /// The warning a rejected entry of plugin `name` gives: compiled code was planted or
    /// damaged, and whoever runs phasev should know.
    pub fn warning(self, name: &str) -> Option<String> {
        let Lookup::Rejected(why) = self else {
            return None;
        };
        let why = match why {
            Rejection::Unauthentic => {
                "failed authentication (not written by this phasev with your cache key, or \
                 altered since)"
            }
            Rejection::Shared => {
                "is not private to you (another user owns it, or others may write it)"
            }
            Rejection::Unloadable => "is authentic but this phasev cannot load it",
        };
        Some(format!(
            "plugin `{name}`: its entry in the plugin cache {why}; it was compiled again from \
             the pinned bytes and the entry replaced"
        ))
    }
}

impl Cache {
    /// Opens a cache directory, creating it private to the user, and its key; refuses a
    /// directory others could plant code in, and a key others could read.
    pub fn open(settings: &CacheSettings) -> Result<Cache, String> {
        let dir = &settings.dir;
        create_private(dir)
            .map_err(|e| format!("cannot create the plugin cache {}: {e}", dir.display()))?;
        refuse_shared(dir)?;
        refuse_shared_ancestors(dir)?;
        let key = match &settings.key {
            CacheKey::Given(secret) => given_key(secret)?,
            CacheKey::File(path) => key_file(path)?,
        };
        Ok(Cache {
            dir: dir.clone(),
            key,
            max_size: settings.max_size,
        })
    }

    /// The component whose sha256 is `digest` for `engine`, when an authentic entry holds
    /// it; else nothing, and why.
    pub(super) fn lookup(&self, engine: &Engine, digest: &str) -> (Option<Component>, Lookup) {
        let engine_key = engine_key(engine);
        let path = self.entry_path(digest, &engine_key);
        let Some((entry, private)) = read_entry(&path) else {
            return (None, Lookup::Miss);
        };
        let Some(code) = self.verified(&entry, digest, &engine_key) else {
            return (None, Lookup::Rejected(Rejection::Unauthentic));
        };
        if !private {
            return (None, Lookup::Rejected(Rejection::Shared));
        }
        // SAFETY: `code` carries an HMAC, under a key only this user can read, over this
        // plugin's digest, this engine's compatibility key and the code: this user's phasev
        // stored it after compiling it from the pinned bytes, for this engine.
        #[expect(unsafe_code, reason = "loading compiled code phasev wrote and signed")]
        let loaded = unsafe { Component::deserialize(engine, code) };
        match loaded {
            Ok(component) => {
                touch(&path);
                (Some(component), Lookup::Hit)
            }
            Err(_) => (None, Lookup::Rejected(Rejection::Unloadable)),
        }
    }

    /// Keeps `code`, compiled from the plugin whose sha256 is `digest` for `engine`, then
    /// evicts what no longer fits. A cache that cannot be written is not an error.
    pub(super) fn keep(&self, engine: &Engine, digest: &str, code: &[u8]) {
        let engine_key = engine_key(engine);
        store(
            &self.entry_path(digest, &engine_key),
            &self.entry(digest, &engine_key, code),
        );
        self.evict();
    }

    fn entry_path(&self, digest: &str, engine_key: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{engine_key}.cwasm"))
    }

    /// The HMAC an entry's header holds.
    fn mac(&self, digest: &str, engine_key: &str, code: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.key, &signed_parts(digest, engine_key, code))
    }

    /// An entry's bytes: the magic, the HMAC, the code.
    fn entry(&self, digest: &str, engine_key: &str, code: &[u8]) -> Vec<u8> {
        let mut entry = Vec::with_capacity(MAGIC.len() + 32 + code.len());
        entry.extend_from_slice(MAGIC);
        entry.extend_from_slice(&self.mac(digest, engine_key, code));
        entry.extend_from_slice(code);
        entry
    }

    /// The compiled code of an entry whose header is intact and authentic for this plugin
    /// and engine.
    fn verified<'e>(&self, entry: &'e [u8], digest: &str, engine_key: &str) -> Option<&'e [u8]> {
        let rest = entry.strip_prefix(MAGIC.as_slice())?;
        let (mac, code) = rest.split_at_checked(32)?;
        constant_time_eq(&self.mac(digest, engine_key, code), mac).then_some(code)
    }

    /// Removes the least recently used entries until the rest fit `max_size`.
    fn evict(&self) {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = dir
            .filter_map(|e| {
                let e = e.ok()?;
                let path = e.path();
                let meta = e.metadata().ok()?;
                let used = meta.modified().ok()?;
                path.extension()
                    .is_some_and(|x| x == "cwasm")
                    .then_some((used, meta.len(), path))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|(_, size, _)| size).sum();
        entries.sort();
        for (_, size, path) in entries {
            if total <= self.max_size {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= size;
            }
        }
    }
}

/// A digest of what the engine's compiled code depends on.
fn engine_key(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex(&hasher.0.finalize())
}

/// What an entry's HMAC covers: the magic, the plugin's digest and the engine's key (each
/// prefixed by its length, so no part can run into the next) and the code.
fn signed_parts(digest: &str, engine_key: &str, code: &[u8]) -> Vec<u8> {
    let mut parts = Vec::with_capacity(MAGIC.len() + 16 + digest.len() + engine_key.len());
    parts.extend_from_slice(MAGIC);
    for part in [digest, engine_key] {
        parts.extend_from_slice(&part.len().to_le_bytes());
        parts.extend_from_slice(part.as_bytes());
    }
    parts.extend_from_slice(code);
    parts
}

/// HMAC-SHA256 (RFC 2104) of `message` under a 32-byte key.
fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut inner_pad = [0x36u8; BLOCK];
    let mut outer_pad = [0x5cu8; BLOCK];
    for (i, byte) in key.iter().enumerate() {
        inner_pad[i] ^= byte;
        outer_pad[i] ^= byte;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// Compares two MACs in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The key of a secret given by the environment.
fn given_key(secret: &str) -> Result<[u8; 32], String> {
    if secret.chars().count() < MIN_GIVEN_KEY {
        return Err(format!(
            "PHASEV_CACHE_KEY has {} characters; a key that authenticates compiled code needs \
             at least {MIN_GIVEN_KEY} (a random secret, such as `openssl rand -hex 32`)",
            secret.chars().count()
        ));
    }
    Ok(Sha256::digest(secret.as_bytes()).into())
}

/// The key in `path`, created with 32 random bytes (hex) when missing; refused when another
/// user owns it or others may read it.
fn key_file(path: &Path) -> Result<[u8; 32], String> {
    let unusable = |e: std::io::Error| {
        format!(
            "cannot use the plugin cache key {}: {e} (or set PHASEV_CACHE_KEY)",
            path.display()
        )
    };
    if let Some(parent) = path.parent() {
        create_private(parent).map_err(unusable)?;
    }
    match new_private_file(path) {
        Ok(mut file) => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key)
                .map_err(|e| unusable(std::io::Error::other(e.to_string())))?;
            file.write_all(format!("{}\n", hex(&key)).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(unusable)?;
            return Ok(key);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(unusable(e)),
    }
    let mut file = fs::File::open(path).map_err(unusable)?;
    refuse_readable_key(path, &file.metadata().map_err(unusable)?)?;
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(unusable)?;
    decode_key(text.trim()).ok_or_else(|| {
        format!(
            "the plugin cache key {} is not 64 hexadecimal digits; delete it and phasev \
             creates another (its entries are then compiled again)",
            path.display()
        )
    })
}

fn decode_key(text: &str) -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

#[cfg(unix)]
fn refuse_readable_key(path: &Path, meta: &fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    let user = rustix::process::geteuid().as_raw();
    if meta.uid() != user || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "the plugin cache key {} belongs to uid {} with mode {:o}; it must be yours and \
             readable only by you (chmod 600), or others could sign compiled code",
            path.display(),
            meta.uid(),
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_readable_key(_path: &Path, _meta: &fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// Writes an entry atomically (a temporary file, private to the user, renamed into place);
/// failures are ignored, the next run compiles again.
fn store(path: &Path, entry: &[u8]) {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = private_file(&tmp).and_then(|mut f| {
        f.write_all(entry)?;
        f.sync_all()
    });
    if written.and_then(|()| fs::rename(&tmp, path)).is_err() {
        let _ = fs::remove_file(&tmp);
    }
}

/// Marks an entry used now, for eviction; a failure only makes it go sooner.
fn touch(path: &Path) {
    if let Ok(file) = fs::File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

#[cfg(unix)]
fn create_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_options() -> fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = fs::OpenOptions::new();
    options.write(true).mode(0o600);
    options
}

#[cfg(not(unix))]
fn private_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true);
    options
}

fn private_file(path: &Path) -> std::io::Result<fs::File> {
    private_options().create(true).truncate(true).open(path)
}

/// A file created now, never one that was there (a key planted by someone else).
fn new_private_file(path: &Path) -> std::io::Result<fs::File> {
    private_options().create_new(true).open(path)
}

/// The bytes of an entry, and whether the user owns it and only the user may write it
/// (checked on the open file, so the file read is the file checked).
fn read_entry(path: &Path) -> Option<(Vec<u8>, bool)> {
    let mut file = fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let private = file.metadata().is_ok_and(|m| private_to_user(&m));
    Some((bytes, private))
}

/// Whether the user owns what `meta` describes and neither group nor others may write it.
#[cfg(unix)]
fn private_to_user(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    meta.uid() == rustix::process::geteuid().as_raw() && meta.mode() & 0o022 == 0
}

#[cfg(not(unix))]
fn private_to_user(_meta: &fs::Metadata) -> bool {
    true
}

/// Refuses a directory another user owns or other users may write to: they could plant
/// compiled code.
#[cfg(unix)]
fn refuse_shared(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = fs::metadata(dir)
        .map_err(|e| format!("cannot read the plugin cache {}: {e}", dir.display()))?;
    let user = rustix::process::geteuid().as_raw();
    if meta.uid() != user {
        return Err(format!(
            "the plugin cache {} belongs to another user (uid {}, not {user}); compiled code \
             is only loaded from a directory of your own (set [sandbox] cache or \
             PHASEV_CACHE_DIR)",
            dir.display(),
            meta.uid()
        ));
    }
    let mode = meta.mode();
    if mode & 0o022 != 0 {
        return Err(format!(
            "the plugin cache {} is writable by other users (mode {:o}); compiled code is only \
             loaded from a directory only you can write (chmod go-w, or set [sandbox] cache)",
            dir.display(),
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared(_dir: &Path) -> Result<(), String> {
    Ok(())
}

/// Refuses a cache inside a directory that another user (root aside) owns, or that others
/// may write without the sticky bit: they could move the cache aside and put theirs there.
#[cfg(unix)]
fn refuse_shared_ancestors(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    let canonical = dir
        .canonicalize()
        .map_err(|e| format!("cannot read the plugin cache {}: {e}", dir.display()))?;
    let user = rustix::process::geteuid().as_raw();
    for ancestor in canonical.ancestors().skip(1) {
        let meta = fs::metadata(ancestor)
            .map_err(|e| format!("cannot read {}: {e}", ancestor.display()))?;
        let foreign = meta.uid() != user && meta.uid() != 0;
        let open = meta.mode() & 0o022 != 0 && meta.mode() & 0o1000 == 0;
        if foreign || open {
            return Err(format!(
                "the plugin cache {} is inside {} (uid {}, mode {:o}), which another user can \
                 change; keep compiled code under directories of your own (set [sandbox] cache \
                 or PHASEV_CACHE_DIR)",
                dir.display(),
                ancestor.display(),
                meta.uid(),
                meta.mode() & 0o7777
            ));
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared_ancestors(_dir: &Path) -> Result<(), String> {
    Ok(())
}

/// Feeds `Hash` output into sha256, for a key that is the same across runs and builds.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes([
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
        ])
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "ab12";
    const ENGINE: &str = "cd34";

    fn cache(key: u8) -> Cache {
        Cache {
            dir: PathBuf::new(),
            key: [key; 32],
            max_size: DEFAULT_CACHE_SIZE,
        }
    }

    #[test]
    fn hmac_sha256_is_rfc_4231() {
        // RFC 4231 test case 2 has a 4-byte key; test case 1's 20 bytes of 0x0b, padded with
        // zeros to 32, is the same key by HMAC's definition.
        let mut key = [0u8; 32];
        key[..20].fill(0x0b);
        assert_eq!(
            hex(&hmac_sha256(&key, b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn an_entry_is_trusted_only_whole() {
        let cache = cache(7);
        let code = b"compiled code".to_vec();
        let entry = cache.entry(DIGEST, ENGINE, &code);
        assert_eq!(
            cache.verified(&entry, DIGEST, ENGINE),
            Some(code.as_slice())
        );
        let truncated = &entry[..entry.len() - 1];
        assert_eq!(cache.verified(truncated, DIGEST, ENGINE), None, "truncated");
        let mut altered = entry.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(cache.verified(&altered, DIGEST, ENGINE), None, "altered");
        assert_eq!(
            cache.verified(&entry[..20], DIGEST, ENGINE),
            None,
            "header only"
        );
        assert_eq!(
            cache.verified(b"something else entirely", DIGEST, ENGINE),
            None
        );
    }

    #[test]
    fn an_entry_is_trusted_only_for_its_plugin_engine_and_key() {
        let cache = cache(7);
        let entry = cache.entry(DIGEST, ENGINE, b"compiled code");
        assert_eq!(
            cache.verified(&entry, "ab13", ENGINE),
            None,
            "another plugin"
        );
        assert_eq!(
            cache.verified(&entry, DIGEST, "cd35"),
            None,
            "another engine"
        );
        // The parts are delimited: moving a character from one to the other changes the MAC.
        assert_eq!(cache.verified(&entry, "ab12c", "d34"), None);
        assert_eq!(
            self::cache(8).verified(&entry, DIGEST, ENGINE),
            None,
            "another key"
        );
        // A plain sha256 over the same parts is what anyone can compute: never accepted.
        let mut forged = MAGIC.to_vec();
        forged.extend_from_slice(&Sha256::digest(signed_parts(DIGEST, ENGINE, b"evil")));
        forged.extend_from_slice(b"evil");
        assert_eq!(cache.verified(&forged, DIGEST, ENGINE), None, "unkeyed");
    }

    #[test]
    fn a_given_key_must_be_long_and_a_key_file_private() {
        assert_eq!(
            given_key("short"),
            Err(
                "PHASEV_CACHE_KEY has 5 characters; a key that authenticates compiled code \
                 needs at least 32 (a random secret, such as `openssl rand -hex 32`)"
                    .to_owned()
            )
        );
        assert!(given_key(&"k".repeat(32)).is_ok());
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let path = dir.path().join("state/phasev/cache.key");
        let made = key_file(&path);
        assert!(made.is_ok(), "{made:?}");
        assert_eq!(key_file(&path), made, "read back, not replaced");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
            assert_eq!(mode(&path), Some(0o600));
            assert_eq!(mode(&dir.path().join("state/phasev")), Some(0o700));
            let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o644));
            let refused = key_file(&path);
            assert!(
                refused.as_ref().is_err_and(|e| e.ends_with(
                    "with mode 644; it must be yours and readable \
                                                only by you (chmod 600), or others could sign \
                                                compiled code"
                )),
                "{refused:?}"
            );
        }
    }
}
