//! Blobs in memory, for one process (tests, throw-away runs).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::{compare_existing, validate_key, BlobError, BlobStore, PutOutcome};

/// Blobs in a map; gone when the process ends.
#[derive(Debug, Default)]
pub struct MemBlobStore {
    blobs: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemBlobStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        self.blobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl BlobStore for MemBlobStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        validate_key(key)?;
        self.map().insert(key.to_string(), bytes.to_vec());
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        validate_key(key)?;
        let mut map = self.map();
        match map.get(key) {
            Some(existing) => compare_existing(key, existing, bytes),
            None => {
                map.insert(key.to_string(), bytes.to_vec());
                Ok(PutOutcome::Written)
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        validate_key(key)?;
        self.map().get(key).cloned().ok_or_else(|| BlobError::NotFound { key: key.to_string() })
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        validate_key(key)?;
        Ok(self.map().contains_key(key))
    }

    async fn check(&self) -> Result<(), BlobError> {
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}
