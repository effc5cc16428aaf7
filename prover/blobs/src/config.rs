//! Choosing a store from a role's config file.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{BlobError, BlobStore, FsBlobStore, S3BlobStore, S3Config};

/// `[blobs]` in a role's config: `kind = "fs"` with `dir`, or `kind = "s3"` with `endpoint`, `bucket` and
/// optionally `region`, `prefix`, `allow_http`. S3 credentials come from the environment only (see [`S3Config`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BlobConfig {
    /// A directory, shared by every role that reads it (one machine, or a shared file system).
    Fs { dir: PathBuf },
    /// A bucket of an S3-compatible object store, so roles can run on different machines.
    S3 {
        /// e.g. `http://127.0.0.1:8333`; requests are path-style.
        endpoint: String,
        bucket: String,
        #[serde(default = "default_region")]
        region: String,
        /// Prepended to every key (`PREFIX/KEY`); empty for none.
        #[serde(default)]
        prefix: String,
        /// Allow an `http://` endpoint.
        #[serde(default = "default_allow_http")]
        allow_http: bool,
    },
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_allow_http() -> bool {
    true
}

impl Default for BlobConfig {
    fn default() -> Self {
        BlobConfig::Fs { dir: PathBuf::from("./zkr-data/blobs") }
    }
}

impl BlobConfig {
    /// The S3 settings of an `S3` config (with [`S3Config::DEFAULT_TIMEOUT`]); `None` for `Fs`.
    pub fn s3_config(&self) -> Option<S3Config> {
        match self {
            BlobConfig::Fs { .. } => None,
            BlobConfig::S3 { endpoint, bucket, region, prefix, allow_http } => {
                Some(s3_config(endpoint, bucket, region, prefix, *allow_http))
            }
        }
    }

    /// Opens the store. The directory is created if missing; an S3 bucket is asked once, so a wrong endpoint or
    /// a missing bucket fails here with an error naming both.
    pub async fn open(&self) -> Result<Arc<dyn BlobStore>, BlobError> {
        let store: Arc<dyn BlobStore> = match self {
            BlobConfig::Fs { dir } => Arc::new(FsBlobStore::new(dir)?),
            BlobConfig::S3 { endpoint, bucket, region, prefix, allow_http } => {
                Arc::new(S3BlobStore::connect(s3_config(endpoint, bucket, region, prefix, *allow_http)).await?)
            }
        };
        tracing::info!(store = %store.describe(), "blob store opened");
        Ok(store)
    }
}

fn s3_config(endpoint: &str, bucket: &str, region: &str, prefix: &str, allow_http: bool) -> S3Config {
    S3Config { region: region.to_string(), prefix: prefix.to_string(), allow_http, ..S3Config::new(endpoint, bucket) }
}
