//! Compiled plugins kept on disk, so a pipeline compiles a plugin once, not on every run.
//!
//! An entry is named by the plugin's sha256 and a digest of everything the engine's code
//! depends on (wasmtime's compatibility hash), so another plugin, another phasev or another
//! engine configuration never reads it. Loading compiled code runs it without validation
//! (`Component::deserialize` is unsafe), so an entry is only trusted when it is what this host
//! wrote for this exact plugin and engine: its header holds a sha256 over the plugin's digest,
//! the engine's key and the code, checked before use. A truncated or altered entry, or one
//! written for another plugin or engine (copied or renamed over this one's name), fails that
//! check and is recompiled and replaced.
//!
//! The cache directory is created private to the user (0700) and refused when another user
//! owns it or other users may write to it; an entry that is not the user's own, or that group
//! or others may write, is recompiled and replaced. An attacker able to write as the user
//! running phasev is out of scope: such a user can replace phasev itself.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use phasev_compiler::ir::hex;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The first bytes of every entry; the version changes with the entry's layout.
const MAGIC: &[u8; 16] = b"phasev-cwasm-v2\n";

/// A directory of compiled plugins.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

/// What happened when a plugin was looked up in the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A valid entry was loaded.
    Hit,
    /// No entry: the plugin was compiled (and stored).
    Miss,
    /// An entry was there but failed its check: the plugin was compiled again and the entry
    /// replaced.
    Rejected,
}

impl Cache {
    /// Opens a cache directory, creating it private to the user; refuses one that is not the
    /// user's own or that others may write.
    pub fn open(dir: &Path) -> Result<Cache, String> {
        create_private(dir)
            .map_err(|e| format!("cannot create the plugin cache {}: {e}", dir.display()))?;
        refuse_shared(dir)?;
        Ok(Cache {
            dir: dir.to_owned(),
        })
    }

    /// The component of `bytes` (whose sha256 is `digest`) for `engine`: from the cache when a
    /// valid entry is there, else compiled and stored. A cache that cannot be written is not
    /// an error.
    pub fn component(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Lookup)> {
        let engine_key = engine_key(engine);
        let path = self
            .dir
            .join(format!("{digest}-{}.cwasm", &engine_key[..16]));
        let mut lookup = Lookup::Miss;
        if let Some((entry, private)) = read_entry(&path) {
            lookup = Lookup::Rejected;
            if let Some(code) = verified(&entry, digest, &engine_key).filter(|_| private) {
                // SAFETY: `code` is exactly what `store` wrote from
                // `Engine::precompile_component` for this plugin digest and this engine's
                // compatibility key (the header's sha256 covers all three and was just
                // checked), read from a file of this user's, in a directory only this user
                // can write.
                #[allow(unsafe_code)]
                let loaded = unsafe { Component::deserialize(engine, code) };
                if let Ok(component) = loaded {
                    return Ok((component, Lookup::Hit));
                }
            }
        }
        let code = engine.precompile_component(bytes)?;
        // INVARIANT: `precompile_component` output deserialises on the engine that made it.
        #[allow(unsafe_code)]
        // SAFETY: `code` was produced by this engine a moment ago, from validated bytes.
        let component = unsafe { Component::deserialize(engine, &code)? };
        store(&path, &entry(digest, &engine_key, &code));
        Ok((component, lookup))
    }
}

/// A digest of what the engine's compiled code depends on.
fn engine_key(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex(&hasher.0.finalize())
}

/// The sha256 an entry's header holds: over the plugin's digest, the engine's key and the
/// code, so an entry is valid only for the plugin and engine it was compiled for.
fn checksum(digest: &str, engine_key: &str, code: &[u8]) -> [u8; 32] {
    let mut sum = Sha256::new();
    sum.update(MAGIC);
    for part in [digest, engine_key] {
        sum.update(part.len().to_le_bytes());
        sum.update(part.as_bytes());
    }
    sum.update(code);
    sum.finalize().into()
}

/// An entry's bytes: the magic, the checksum, the code.
fn entry(digest: &str, engine_key: &str, code: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(MAGIC.len() + 32 + code.len());
    entry.extend_from_slice(MAGIC);
    entry.extend_from_slice(&checksum(digest, engine_key, code));
    entry.extend_from_slice(code);
    entry
}

/// The compiled code of an entry whose header is intact and written for this plugin and
/// engine.
fn verified<'e>(entry: &'e [u8], digest: &str, engine_key: &str) -> Option<&'e [u8]> {
    let rest = entry.strip_prefix(MAGIC.as_slice())?;
    let (sum, code) = rest.split_at_checked(32)?;
    (checksum(digest, engine_key, code).as_slice() == sum).then_some(code)
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
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    fs::File::create(path)
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

    #[test]
    fn an_entry_is_trusted_only_whole() {
        let code = b"compiled code".to_vec();
        let entry = entry(DIGEST, ENGINE, &code);
        assert_eq!(verified(&entry, DIGEST, ENGINE), Some(code.as_slice()));
        let truncated = &entry[..entry.len() - 1];
        assert_eq!(verified(truncated, DIGEST, ENGINE), None, "truncated");
        let mut altered = entry.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(verified(&altered, DIGEST, ENGINE), None, "altered");
        assert_eq!(verified(&entry[..20], DIGEST, ENGINE), None, "header only");
        assert_eq!(verified(b"something else entirely", DIGEST, ENGINE), None);
    }

    #[test]
    fn an_entry_is_trusted_only_for_its_plugin_and_engine() {
        let entry = entry(DIGEST, ENGINE, b"compiled code");
        assert_eq!(verified(&entry, "ab13", ENGINE), None, "another plugin");
        assert_eq!(verified(&entry, DIGEST, "cd35"), None, "another engine");
        // The parts are delimited: moving a character from one to the other changes the sum.
        assert_eq!(verified(&entry, "ab12c", "d34"), None);
    }
}
