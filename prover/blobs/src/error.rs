//! The blob store's errors.

use std::path::PathBuf;

/// Errors of every blob store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {key:?} not found")]
    NotFound { key: String },

    #[error(
        "bad blob key {key:?}: {reason} (expected 1 to 200 characters of [A-Za-z0-9._/-], \
         no leading '/', no \"..\", no empty segment)"
    )]
    BadKey { key: String, reason: &'static str },

    #[error("blob store I/O error on {path} (key {key:?}) while {op}")]
    Io {
        key: String,
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("object store {store}: {op} failed{}", for_key(.key))]
    ObjectStore {
        key: String,
        op: &'static str,
        /// The bucket and endpoint, as [`crate::BlobStore::describe`] gives them.
        store: String,
        #[source]
        source: Box<object_store::Error>,
    },

    #[error("blob {key:?} exists with other contents: it is written once and cannot be replaced")]
    Mismatch { key: String },

    #[error("blob store config: {field} = {value:?}: expected {expected}")]
    Config { field: &'static str, value: String, expected: &'static str },
}

/// ` for blob "KEY"`, or nothing for an error that concerns no blob.
fn for_key(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!(" for blob {key:?}")
    }
}
