//! Filesystem blob store: one file per key under a root directory.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::BlobError;

/// Longest key accepted.
const MAX_KEY_LEN: usize = 200;

/// Temp files carry this marker; `~` is not allowed in keys, so a temp name never equals a key.
const TMP_MARKER: &str = "~tmp";

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Blobs (traces, proofs) stored as files named by their key under `root`.
///
/// Writes are atomic: a reader sees either no blob or the whole blob.
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// Opens the store at `root`, creating the directory if missing.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|source| BlobError::Io {
            key: String::new(),
            path: root.clone(),
            op: "creating the store directory",
            source,
        })?;
        Ok(FsBlobStore { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stores `bytes` under `key`, replacing any previous blob: writes a temp file, fsyncs it, renames it into
    /// place and fsyncs the directory.
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let path = self.path_of(key)?;
        let io_err = |path: &Path, op: &'static str| {
            let path = path.to_path_buf();
            move |source| BlobError::Io { key: key.to_string(), path, op, source }
        };
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err(&dir, "creating the key's directory"))?;

        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("blob");
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!("{file_name}{TMP_MARKER}{}-{n}", std::process::id()));
        let written = write_synced(&tmp, bytes).map_err(io_err(&tmp, "writing the temp file"));
        let renamed = written.and_then(|()| fs::rename(&tmp, &path).map_err(io_err(&path, "renaming into place")));
        if let Err(e) = renamed {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        sync_dir(&dir).map_err(io_err(&dir, "syncing the directory"))?;
        tracing::debug!(key, len = bytes.len(), "blob stored");
        Ok(())
    }

    /// Reads the blob stored under `key`.
    pub fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path_of(key)?;
        fs::read(&path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                BlobError::NotFound { key: key.to_string() }
            } else {
                BlobError::Io { key: key.to_string(), path, op: "reading", source }
            }
        })
    }

    /// Whether a blob is stored under `key` (false for an invalid key).
    pub fn exists(&self, key: &str) -> bool {
        self.path_of(key).map(|p| p.is_file()).unwrap_or(false)
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, BlobError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

fn validate_key(key: &str) -> Result<(), BlobError> {
    let bad = |reason| Err(BlobError::BadKey { key: key.to_string(), reason });
    if key.is_empty() {
        return bad("the key is empty");
    }
    if key.len() > MAX_KEY_LEN {
        return bad("the key is longer than 200 characters");
    }
    if !key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-')) {
        return bad("the key holds a character outside [A-Za-z0-9._/-]");
    }
    if key.starts_with('/') {
        return bad("the key starts with '/'");
    }
    if key.contains("..") {
        return bad("the key contains \"..\"");
    }
    if key.split('/').any(|seg| seg.is_empty() || seg == ".") {
        return bad("the key has an empty or \".\" segment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_key;

    #[test]
    fn keys() {
        for ok in ["a", "traces/batch-000001.bin", "proofs/agg/l1_1-2.proof", "A.b-c_d"] {
            assert!(validate_key(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(201);
        for bad in ["", "/abs", "../x", "a/../b", "a..b", "a//b", "a/", "./a", "a b", "a\\b", "é", long.as_str()] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
        assert!(validate_key(&"x".repeat(200)).is_ok());
    }
}
