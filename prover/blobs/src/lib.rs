//! zkr's blob store: the bytes of batch traces, proofs and finality records, by key.
//!
//! Owns the [`BlobStore`] trait and its stores: [`FsBlobStore`] (a directory, the embedded default),
//! [`S3BlobStore`] (any S3-compatible object store, so the sequencer, the coordinator and the workers can run on
//! different machines) and [`MemBlobStore`] (one process). [`BlobConfig`] picks one from a config file.
//!
//! It must not know what the bytes mean: no jobs, circuits, sequencer or L1 here. Keys are plain relative paths
//! (`[A-Za-z0-9._/-]`, no `..`), checked the same way by every store.

mod config;
mod error;
mod fs;
mod key;
mod mem;
mod s3;
#[cfg(feature = "test-utils")]
pub mod test_utils;

use async_trait::async_trait;

pub use config::BlobConfig;
pub use error::BlobError;
pub use fs::FsBlobStore;
pub use key::validate_key;
pub use mem::MemBlobStore;
pub use s3::{S3BlobStore, S3Config};

/// What [`BlobStore::put_if_absent`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// The key was free; the blob is stored now.
    Written,
    /// The same bytes were stored already (a retried write).
    AlreadySame,
}

/// Blobs by key. Writes are atomic: a reader sees no blob or the whole blob.
#[async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key`, replacing any earlier blob.
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError>;

    /// Stores `bytes` under `key` unless a blob is there already: the same bytes are
    /// [`PutOutcome::AlreadySame`], other bytes are [`BlobError::Mismatch`] (a blob is written once).
    async fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, BlobError>;

    /// The blob under `key`; [`BlobError::NotFound`] when there is none.
    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError>;

    /// Whether a blob is stored under `key`.
    async fn exists(&self, key: &str) -> Result<bool, BlobError>;

    /// Whether the store answers: its directory is there and readable, its bucket lists (readiness probes).
    async fn check(&self) -> Result<(), BlobError>;

    /// Where the blobs live, for logs (`file:///…`, `s3://bucket/prefix at http://…`).
    fn describe(&self) -> String;
}

/// The answer of `put_if_absent` once a blob is found under the key.
pub(crate) fn compare_existing(key: &str, existing: &[u8], new: &[u8]) -> Result<PutOutcome, BlobError> {
    if existing == new {
        Ok(PutOutcome::AlreadySame)
    } else {
        tracing::warn!(key, existing = existing.len(), offered = new.len(), "blob exists with other contents");
        Err(BlobError::Mismatch { key: key.to_string() })
    }
}
