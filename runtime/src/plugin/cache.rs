//! Compiled plugins kept on disk, so a pipeline compiles a plugin once, not on every run.
//!
//! An entry is named by the plugin's sha256 and a digest of everything the engine's code
//! depends on (wasmtime's compatibility hash), so another plugin, another phasev or another
//! engine configuration never reads it. Loading compiled code runs it without validation
//! (`Component::deserialize` is unsafe), so an entry is only trusted when it is what this host
//! wrote: it carries the sha256 of its contents, checked before use (a truncated or altered
//! entry is recompiled and replaced), and the cache directory is refused when other users may
//! write to it. An attacker able to write as the user running phasev is out of scope: such a
//! user can replace phasev itself.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use phasev_compiler::ir::hex;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The first bytes of every entry.
const MAGIC: &[u8; 16] = b"phasev-cwasm-v1\n";

/// A directory of compiled plugins.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
    engine_key: String,
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
    /// Opens (creating, private to the user) a cache directory for `engine`.
    pub fn open(dir: &Path, engine: &Engine) -> Result<Cache, String> {
        fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the plugin cache {}: {e}", dir.display()))?;
        refuse_shared(dir)?;
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex(&hasher.0.finalize())[..16].to_owned();
        Ok(Cache {
            dir: dir.to_owned(),
            engine_key,
        })
    }

    fn entry(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// The component of `bytes` (whose sha256 is `digest`): from the cache when a valid entry
    /// is there, else compiled and stored. A cache that cannot be written is not an error.
    pub fn component(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Lookup)> {
        let path = self.entry(digest);
        let mut lookup = Lookup::Miss;
        if let Ok(entry) = fs::read(&path) {
            match verified(&entry) {
                Some(code) => {
                    // SAFETY: `code` is exactly what `store` wrote from
                    // `Engine::precompile_component` for this digest and engine (its sha256 was
                    // just checked), in a directory only this user can write.
                    #[allow(unsafe_code)]
                    let loaded = unsafe { Component::deserialize(engine, code) };
                    if let Ok(component) = loaded {
                        return Ok((component, Lookup::Hit));
                    }
                    lookup = Lookup::Rejected;
                }
                None => lookup = Lookup::Rejected,
            }
        }
        let code = engine.precompile_component(bytes)?;
        // INVARIANT: `precompile_component` output deserialises on the engine that made it.
        #[allow(unsafe_code)]
        // SAFETY: `code` was produced by this engine a moment ago, from validated bytes.
        let component = unsafe { Component::deserialize(engine, &code)? };
        self.store(&path, &code);
        Ok((component, lookup))
    }

    /// Writes an entry atomically (a temporary file renamed into place); failures are ignored,
    /// the next run compiles again.
    fn store(&self, path: &Path, code: &[u8]) {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let written = fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(MAGIC)?;
            f.write_all(&Sha256::digest(code))?;
            f.write_all(code)?;
            f.sync_all()
        });
        if written.and_then(|()| fs::rename(&tmp, path)).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
}

/// The compiled code of an entry whose header and checksum are intact.
fn verified(entry: &[u8]) -> Option<&[u8]> {
    let rest = entry.strip_prefix(MAGIC.as_slice())?;
    let (sum, code) = rest.split_at_checked(32)?;
    (Sha256::digest(code).as_slice() == sum).then_some(code)
}

/// Refuses a directory other users may write to: they could plant compiled code.
#[cfg(unix)]
fn refuse_shared(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = fs::metadata(dir)
        .map_err(|e| format!("cannot read the plugin cache {}: {e}", dir.display()))?;
    let mode = meta.permissions().mode();
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

    #[test]
    fn an_entry_is_trusted_only_whole() {
        let code = b"compiled code".to_vec();
        let mut entry = MAGIC.to_vec();
        entry.extend_from_slice(&Sha256::digest(&code));
        entry.extend_from_slice(&code);
        assert_eq!(verified(&entry), Some(code.as_slice()));
        assert_eq!(verified(&entry[..entry.len() - 1]), None, "truncated");
        let mut altered = entry.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(verified(&altered), None, "altered");
        assert_eq!(verified(&entry[..20]), None, "header only");
        assert_eq!(verified(b"something else entirely"), None);
    }
}
