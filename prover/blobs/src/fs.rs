//! Filesystem blob store: one file per key under a root directory.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::{compare_existing, validate_key, BlobError, BlobStore, PutOutcome};

/// Temp files carry this marker; `~` is not allowed in keys, so a temp name never equals a key.
const TMP_MARKER: &str = "~tmp";

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Blobs stored as files named by their key under `root`.
///
/// Writes are atomic: a temp file is written and fsynced, then renamed (or, for `put_if_absent`, hard-linked)
/// into place, and the directory fsynced. The synchronous methods serve callers that are not async; the
/// [`BlobStore`] methods run them on a blocking thread.
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

    /// Stores `bytes` under `key`, replacing any previous blob.
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        self.write(key, bytes, false).map(|_| ())
    }

    /// Stores `bytes` under `key` unless a blob is there (see [`BlobStore::put_if_absent`]).
    pub fn put_new(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        self.write(key, bytes, true)
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

    fn write(&self, key: &str, bytes: &[u8], only_new: bool) -> Result<PutOutcome, BlobError> {
        let path = self.path_of(key)?;
        let io_err = |path: &Path, op: &'static str| {
            let path = path.to_path_buf();
            move |source| BlobError::Io { key: key.to_string(), path, op, source }
        };
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err(&dir, "creating the key's directory"))?;
        if only_new && path.is_file() {
            return compare_existing(key, &self.get(key)?, bytes);
        }

        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("blob");
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!("{file_name}{TMP_MARKER}{}-{n}", std::process::id()));
        write_synced(&tmp, bytes).map_err(io_err(&tmp, "writing the temp file")).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })?;
        let placed = if only_new {
            // A hard link fails if the key appeared meanwhile: two writers never both "win".
            let linked = fs::hard_link(&tmp, &path);
            let _ = fs::remove_file(&tmp);
            match linked {
                Ok(()) => Ok(PutOutcome::Written),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return compare_existing(key, &self.get(key)?, bytes);
                }
                Err(e) => Err(io_err(&path, "linking into place")(e)),
            }
        } else {
            fs::rename(&tmp, &path).map(|()| PutOutcome::Written).map_err(io_err(&path, "renaming into place"))
        };
        if placed.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        let outcome = placed?;
        sync_dir(&dir).map_err(io_err(&dir, "syncing the directory"))?;
        tracing::debug!(key, len = bytes.len(), "blob stored");
        Ok(outcome)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        key: &str,
        f: impl FnOnce(&FsBlobStore) -> Result<T, BlobError> + Send + 'static,
    ) -> Result<T, BlobError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store)).await.unwrap_or_else(|e| {
            Err(BlobError::Io {
                key: key.to_string(),
                path: self.root.clone(),
                op: "running the blocking file task",
                source: io::Error::other(e.to_string()),
            })
        })
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let (k, b) = (key.to_string(), bytes.to_vec());
        self.blocking(key, move |s| FsBlobStore::put(s, &k, &b)).await
    }

    async fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        let (k, b) = (key.to_string(), bytes.to_vec());
        self.blocking(key, move |s| s.put_new(&k, &b)).await
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let k = key.to_string();
        self.blocking(key, move |s| FsBlobStore::get(s, &k)).await
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        validate_key(key)?;
        let k = key.to_string();
        self.blocking(key, move |s| Ok(FsBlobStore::exists(s, &k))).await
    }

    async fn check(&self) -> Result<(), BlobError> {
        self.blocking("", |s| {
            fs::read_dir(&s.root).map(|_| ()).map_err(|source| BlobError::Io {
                key: String::new(),
                path: s.root.clone(),
                op: "listing the store directory",
                source,
            })
        })
        .await
    }

    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
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
