//! What `/readyz` asks on each role: its dependencies, each with a check that asks it for real (a `SELECT 1`, a
//! listing of the bucket, the L1's block number, a call to the coordinator). `/healthz` asks nothing: the process
//! answers. The HTTP side is [`zkr_worker::metrics::serve_metrics`].

use std::sync::Arc;

use async_trait::async_trait;
use zkr_blobs::BlobStore;
use zkr_queue::Queue;
use zkr_sequencer::Sequencer;
use zkr_settle::L1;
use zkr_worker::metrics::ReadyCheck;
use zkr_worker::source::RemoteSource;

/// An error with its causes, one line (`outer: inner: …`).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = c.source();
    }
    s
}

/// The job queue's database answers a query.
pub struct DatabaseCheck(pub Queue);

#[async_trait]
impl ReadyCheck for DatabaseCheck {
    fn name(&self) -> String {
        format!("database {}", self.0.url())
    }

    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| chain(&e))
    }
}

/// The blob store answers (the directory is there; the bucket lists).
pub struct BlobStoreCheck(pub Arc<dyn BlobStore>);

#[async_trait]
impl ReadyCheck for BlobStoreCheck {
    fn name(&self) -> String {
        format!("blob store {}", self.0.describe())
    }

    async fn check(&self) -> Result<(), String> {
        self.0.check().await.map_err(|e| chain(&e))
    }
}

/// The L1 node answers (`eth_blockNumber`).
pub struct L1Check {
    pub l1: Arc<dyn L1>,
    /// Where it is, for the reason (`http://…`, or "the in-process L1").
    pub what: String,
}

#[async_trait]
impl ReadyCheck for L1Check {
    fn name(&self) -> String {
        format!("L1 {}", self.what)
    }

    async fn check(&self) -> Result<(), String> {
        self.l1.block_number().await.map(|_| ()).map_err(|e| chain(&e))
    }
}

/// The sequencer has not stopped (a storage failure or another history in the blob store stops it for good).
pub struct SequencerCheck(pub Sequencer);

#[async_trait]
impl ReadyCheck for SequencerCheck {
    fn name(&self) -> String {
        "sequencer".into()
    }

    async fn check(&self) -> Result<(), String> {
        match self.0.halt_reason() {
            None => Ok(()),
            Some(why) => Err(format!("stopped: {why}")),
        }
    }
}

/// The coordinator answers this worker, with its token.
pub struct CoordinatorCheck {
    pub source: RemoteSource,
    pub url: String,
    pub worker: String,
}

#[async_trait]
impl ReadyCheck for CoordinatorCheck {
    fn name(&self) -> String {
        format!("coordinator {}", self.url)
    }

    async fn check(&self) -> Result<(), String> {
        self.source.ping(&self.worker).await.map_err(|e| chain(&e))
    }
}
