//! Blobs in an S3-compatible object store (AWS S3, SeaweedFS, MinIO, …), through the `object_store` crate.

use std::time::Duration;

use async_trait::async_trait;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig};

use crate::{compare_existing, validate_key, BlobError, BlobStore, PutOutcome};

/// Where an S3 store is and how long to wait for it.
///
/// Credentials never come from here: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` are read from the environment
/// when both are set; otherwise requests go unsigned (a bucket open to anonymous access).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Config {
    /// The S3 endpoint, e.g. `http://127.0.0.1:8333`; requests are path-style (`ENDPOINT/BUCKET/KEY`).
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// Prepended to every key (`PREFIX/KEY`); empty for none.
    pub prefix: String,
    /// Allow `http://` endpoints (a store on a private network or on this host).
    pub allow_http: bool,
    /// Longest wait for one request, retries included; connecting is given at most 5 s of it.
    pub timeout: Duration,
}

impl S3Config {
    /// The request timeout of a store opened from a [`crate::BlobConfig`].
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// `bucket` at `endpoint`, with the defaults of [`crate::BlobConfig::S3`] (region `us-east-1`, no prefix,
    /// `http://` allowed) and [`S3Config::DEFAULT_TIMEOUT`].
    pub fn new(endpoint: impl Into<String>, bucket: impl Into<String>) -> Self {
        S3Config {
            endpoint: endpoint.into(),
            bucket: bucket.into(),
            region: "us-east-1".into(),
            prefix: String::new(),
            allow_http: true,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// `s3://BUCKET[/PREFIX] at ENDPOINT`.
    pub fn describe(&self) -> String {
        let prefix = self.prefix.trim_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("/{prefix}") };
        format!("s3://{}{prefix} at {}", self.bucket, self.endpoint)
    }
}

/// Blobs as objects `PREFIX/KEY` in one bucket.
#[derive(Debug)]
pub struct S3BlobStore {
    store: AmazonS3,
    config: S3Config,
    /// The prefix without surrounding slashes ("" for none).
    prefix: String,
}

impl S3BlobStore {
    /// A client for the bucket. No request is sent: see [`S3BlobStore::check`], or open it with
    /// [`S3BlobStore::connect`] or [`crate::BlobConfig::open`].
    pub fn new(config: S3Config) -> Result<Self, BlobError> {
        let bad = |field, value: &str, expected| BlobError::Config { field, value: value.to_string(), expected };
        let scheme_ok =
            config.endpoint.starts_with("https://") || (config.endpoint.starts_with("http://") && config.allow_http);
        if !scheme_ok {
            let expected =
                if config.allow_http { "an http:// or https:// URL" } else { "an https:// URL (allow_http is false)" };
            return Err(bad("endpoint", &config.endpoint, expected));
        }
        if config.bucket.is_empty() {
            return Err(bad("bucket", &config.bucket, "a bucket name"));
        }
        let prefix = config.prefix.trim_matches('/').to_string();
        if !prefix.is_empty() && validate_key(&prefix).is_err() {
            return Err(bad("prefix", &config.prefix, "nothing, or a path of [A-Za-z0-9._/-] without \"..\""));
        }

        let timeout = config.timeout.max(Duration::from_millis(100));
        let client = ClientOptions::new()
            .with_allow_http(config.allow_http)
            .with_timeout(timeout)
            .with_connect_timeout(timeout.min(Duration::from_secs(5)));
        // Retries (of failed connections and 5xx answers) stop once `timeout` has passed since the first attempt.
        let retry = RetryConfig { max_retries: 3, retry_timeout: timeout, ..RetryConfig::default() };
        let mut builder = AmazonS3Builder::new()
            .with_endpoint(&config.endpoint)
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_allow_http(config.allow_http)
            .with_client_options(client)
            .with_retry(retry);
        let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => builder = builder.with_access_key_id(id).with_secret_access_key(secret),
            _ => builder = builder.with_skip_signature(true),
        }
        let store = builder.build().map_err(|e| BlobError::ObjectStore {
            key: String::new(),
            op: "configuring the S3 client",
            store: config.describe(),
            source: Box::new(e),
        })?;
        Ok(S3BlobStore { store, config, prefix })
    }

    /// [`S3BlobStore::new`], then [`S3BlobStore::check`].
    pub async fn connect(config: S3Config) -> Result<Self, BlobError> {
        let store = Self::new(config)?;
        store.check().await?;
        Ok(store)
    }

    /// Lists one object of the bucket, so that a wrong endpoint or a missing bucket fails at start, not at the
    /// first blob. (A `HEAD` of a probe key would not do: a missing bucket answers it with a bare 404.)
    pub async fn check(&self) -> Result<(), BlobError> {
        let prefix = if self.prefix.is_empty() { None } else { Some(format!("{}/", self.prefix)) };
        let opts = PaginatedListOptions { max_keys: Some(1), ..PaginatedListOptions::default() };
        match self.store.list_paginated(prefix.as_deref(), opts).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // A missing bucket comes back as a generic list error; S3 servers name it `NoSuchBucket`.
                let no_bucket =
                    matches!(e, object_store::Error::NotFound { .. }) || format!("{e:?}").contains("NoSuchBucket");
                let op = if no_bucket {
                    "finding the bucket (it does not exist: create it first)"
                } else {
                    "listing the bucket (is the endpoint right and the server up?)"
                };
                Err(BlobError::ObjectStore { key: String::new(), op, store: self.describe(), source: Box::new(e) })
            }
        }
    }

    /// Where the blobs are.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    fn path(&self, key: &str) -> Result<Path, BlobError> {
        validate_key(key)?;
        let full = if self.prefix.is_empty() { key.to_string() } else { format!("{}/{key}", self.prefix) };
        Path::parse(&full).map_err(|_| BlobError::BadKey { key: key.to_string(), reason: "not a valid object path" })
    }

    fn err(&self, key: &str, op: &'static str, e: object_store::Error) -> BlobError {
        match e {
            object_store::Error::NotFound { .. } => BlobError::NotFound { key: key.to_string() },
            e => BlobError::ObjectStore { key: key.to_string(), op, store: self.describe(), source: Box::new(e) },
        }
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let path = self.path(key)?;
        self.store.put(&path, PutPayload::from(bytes.to_vec())).await.map_err(|e| self.err(key, "writing", e))?;
        tracing::debug!(key, len = bytes.len(), "blob stored in S3");
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        let path = self.path(key)?;
        match BlobStore::get(self, key).await {
            Ok(existing) => return compare_existing(key, &existing, bytes),
            Err(BlobError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        // `If-None-Match: *`: of two writers racing for the key, one gets a precondition failure.
        let opts = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        match self.store.put_opts(&path, PutPayload::from(bytes.to_vec()), opts).await {
            Ok(_) => {
                tracing::debug!(key, len = bytes.len(), "blob stored in S3 once");
                Ok(PutOutcome::Written)
            }
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                compare_existing(key, &BlobStore::get(self, key).await?, bytes)
            }
            Err(e) => Err(self.err(key, "writing once", e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path(key)?;
        let got = self.store.get(&path).await.map_err(|e| self.err(key, "reading", e))?;
        let bytes = got.bytes().await.map_err(|e| self.err(key, "reading the body", e))?;
        Ok(bytes.to_vec())
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        let path = self.path(key)?;
        match self.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.err(key, "looking up", e)),
        }
    }

    async fn check(&self) -> Result<(), BlobError> {
        S3BlobStore::check(self).await
    }

    fn describe(&self) -> String {
        self.config.describe()
    }
}
