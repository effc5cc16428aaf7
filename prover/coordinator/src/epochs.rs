//! Glue between the sequencer and the queue: sealed batches become prove jobs, full
//! epochs become aggregation DAGs, and job states become transaction statuses.

use std::sync::Arc;

use async_trait::async_trait;
use zkr_blobs::{BlobError, BlobStore};
use zkr_circuits::batch::{Batch, BatchPublicInputs};
use zkr_queue::{Fence, JobKind, JobState, NewJob, Queue, QueueError};
use zkr_sequencer::{BatchProgress, BatchSink, HookError, ProgressSource};

use zkr_worker::exec::Circuits;
use zkr_worker::source::{proof_key, trace_key};

/// Epochs of `2^height` consecutive batches, folded by a binary tree of that height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochPlan {
    pub height: u32,
}

impl EpochPlan {
    pub fn batches(&self) -> u64 {
        1 << self.height
    }

    pub fn epoch_of(&self, batch: u64) -> u64 {
        batch >> self.height
    }

    /// First and last batch of an epoch.
    pub fn range(&self, epoch: u64) -> (u64, u64) {
        let start = epoch << self.height;
        (start, start + self.batches() - 1)
    }
}

/// Turns sealed batches into jobs: the trace goes to the blob store and a prove job into
/// the queue; the last batch of an epoch also enqueues the epoch's aggregation tree.
/// Idempotent, so the sequencer may hand a batch over again after a crash.
pub struct QueueSink {
    pub queue: Queue,
    pub blobs: Arc<dyn BlobStore>,
    pub plan: EpochPlan,
    /// Signalled after each enqueue, for in-process workers.
    pub wake: Option<Arc<tokio::sync::Notify>>,
    /// The sequencer's writer lease on a shared queue: every hand-off is checked against it, so a sequencer that
    /// lost the lease to another one writes nothing more. `None` when the queue has one writer by construction
    /// (the devnet's embedded queue).
    pub fence: Option<Fence>,
}

impl std::fmt::Debug for QueueSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueSink").field("plan", &self.plan).finish()
    }
}

impl QueueSink {
    /// Enqueues the aggregation nodes of `epoch` (its prove jobs must exist).
    pub async fn plan_epoch(&self, epoch: u64) -> Result<(), HookError> {
        let (start, end) = self.plan.range(epoch);
        let mut ids = Vec::new();
        for b in start..=end {
            let job =
                self.queue.find(JobKind::ProveBatch, b, b, 0).await.map_err(queue_hook_error)?.ok_or_else(|| {
                    HookError::Conflict { reason: format!("epoch {epoch}: the queue has no prove job for batch {b}") }
                })?;
            ids.push(job.id);
        }
        for level in 1..=self.plan.height {
            let width = 1u64 << level;
            let mut next = Vec::with_capacity(ids.len() / 2);
            for (i, pair) in ids.chunks(2).enumerate() {
                let lo = start + i as u64 * width;
                let job = NewJob {
                    kind: JobKind::Aggregate,
                    batch_start: lo,
                    batch_end: lo + width - 1,
                    level,
                    input_key: String::new(),
                    deps: pair.to_vec(),
                };
                let id = self.queue.enqueue_fenced(job, self.fence.as_ref()).await.map_err(queue_hook_error)?;
                next.push(id);
            }
            ids = next;
        }
        tracing::info!(epoch, start, end, "epoch planned");
        Ok(())
    }
}

#[async_trait]
impl BatchSink for QueueSink {
    async fn sealed(&self, number: u64, batch: &Batch) -> Result<(), HookError> {
        let key = trace_key(number);
        if let Some(f) = &self.fence {
            // Before the trace is written: a sequencer that lost its lease leaves the blob store alone too.
            self.queue.check_writer(f).await.map_err(queue_hook_error)?;
        }
        // Written once: the same batch handed over again is fine, another batch under the same number (a second
        // sequencer on this queue) is refused instead of replacing a trace that may be proven already.
        let bytes = batch.to_bytes();
        match self.blobs.put_if_absent(&key, &bytes).await {
            Ok(_) => {}
            Err(BlobError::Mismatch { .. }) => {
                // One exception: a trace that no job refers to was left by a writer fenced between its trace and
                // its enqueue. The lease holder's batch replaces it; anything already queued is never replaced.
                let queued =
                    self.queue.find(JobKind::ProveBatch, number, number, 0).await.map_err(queue_hook_error)?.is_some();
                if queued || self.fence.is_none() {
                    return Err(HookError::Conflict {
                        reason: format!(
                            "batch {number}: the blob store holds another trace under {key}, already handed to the \
                             queue; refusing to replace it (is a second sequencer writing to this queue?)"
                        ),
                    });
                }
                tracing::warn!(batch = number, %key, "replacing a trace no job refers to (left by a fenced writer)");
                self.blobs.put(&key, &bytes).await.map_err(|e| blob_hook_error(number, e))?;
            }
            Err(e) => return Err(blob_hook_error(number, e)),
        }
        let job = NewJob {
            kind: JobKind::ProveBatch,
            batch_start: number,
            batch_end: number,
            level: 0,
            input_key: key,
            deps: vec![],
        };
        self.queue.enqueue_fenced(job, self.fence.as_ref()).await.map_err(queue_hook_error)?;
        tracing::info!(batch = number, txs = batch.num_txs(), "prove job enqueued");
        if (number + 1).is_multiple_of(self.plan.batches()) {
            self.plan_epoch(self.plan.epoch_of(number)).await?;
        }
        if let Some(w) = &self.wake {
            w.notify_waiters();
        }
        Ok(())
    }
}

/// `e` with its sources, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// A queue error as the sequencer's hooks report it: a lost writer lease is final, anything else may pass.
pub fn queue_hook_error(e: QueueError) -> HookError {
    match e {
        QueueError::Fenced { .. } | QueueError::WriterHeld { .. } => HookError::Fenced { reason: chain(&e) },
        e => HookError::Unavailable { what: "job queue", reason: chain(&e) },
    }
}

fn blob_hook_error(number: u64, e: BlobError) -> HookError {
    HookError::Unavailable { what: "blob store", reason: format!("storing the trace of batch {number}: {}", chain(&e)) }
}

/// Reads proof progress of batches from the queue.
#[derive(Clone)]
pub struct QueueProgress {
    pub queue: Queue,
    pub plan: EpochPlan,
}

impl std::fmt::Debug for QueueProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueProgress").field("plan", &self.plan).finish()
    }
}

impl QueueProgress {
    async fn done(&self, kind: JobKind, start: u64, end: u64, level: u32) -> Result<bool, QueueError> {
        Ok(self.queue.find(kind, start, end, level).await?.is_some_and(|j| j.state == JobState::Done))
    }

    /// Whether the epoch's final proof exists.
    pub async fn epoch_done(&self, epoch: u64) -> Result<bool, QueueError> {
        let (start, end) = self.plan.range(epoch);
        let kind = if self.plan.height == 0 { JobKind::ProveBatch } else { JobKind::Aggregate };
        self.done(kind, start, end, self.plan.height).await
    }
}

#[async_trait]
impl ProgressSource for QueueProgress {
    async fn batch_progress(&self, number: u64) -> Result<BatchProgress, HookError> {
        let proven = self.done(JobKind::ProveBatch, number, number, 0).await.map_err(queue_hook_error)?;
        let aggregated = proven && self.epoch_done(self.plan.epoch_of(number)).await.map_err(queue_hook_error)?;
        Ok(BatchProgress { proven, aggregated, finalized: false })
    }
}

/// A verified epoch proof.
#[derive(Clone, Debug)]
pub struct EpochProof {
    pub epoch: u64,
    /// First and last batch the epoch proof covers.
    pub batches: (u64, u64),
    pub public: BatchPublicInputs,
    pub key: String,
    pub bytes: usize,
}

/// Watches for finished epochs, in order, and verifies each epoch proof.
pub struct EpochWatcher {
    pub progress: QueueProgress,
    pub blobs: Arc<dyn BlobStore>,
    pub circuits: Arc<Circuits>,
    pub next_epoch: u64,
}

impl std::fmt::Debug for EpochWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochWatcher").field("next_epoch", &self.next_epoch).finish()
    }
}

impl EpochWatcher {
    /// Verifies every newly finished epoch, in order.
    pub async fn poll(&mut self) -> anyhow::Result<Vec<EpochProof>> {
        let mut out = Vec::new();
        while self.progress.epoch_done(self.next_epoch).await? {
            let epoch = self.next_epoch;
            let plan = self.progress.plan;
            let (start, end) = plan.range(epoch);
            let key = proof_key(plan.height, start, end);
            let bytes = self.blobs.get(&key).await?;
            let circuits = self.circuits.clone();
            let b = bytes.clone();
            let public = tokio::task::spawn_blocking(move || circuits.verify(plan.height, &b, "epoch")).await??;
            tracing::info!(epoch, new_root = %zkr_circuits::artifact::digest_hex(&public.new_root), "epoch proof verified");
            out.push(EpochProof { epoch, batches: (start, end), public, key, bytes: bytes.len() });
            self.next_epoch += 1;
        }
        Ok(out)
    }
}

/// Closes epochs that have begun but stall: once an epoch has been open for `timeout`,
/// seals empty batches until it is complete (so an epoch proof comes every K batches or T).
#[derive(Debug)]
pub struct EpochCloser {
    pub plan: EpochPlan,
    pub timeout: std::time::Duration,
    open_since: Option<(u64, std::time::Instant)>,
}

impl EpochCloser {
    pub fn new(plan: EpochPlan, timeout: std::time::Duration) -> Self {
        Self { plan, timeout, open_since: None }
    }

    /// Call periodically; returns whether it sealed a padding batch.
    pub async fn tick(&mut self, seq: &zkr_sequencer::Sequencer) -> anyhow::Result<bool> {
        let sealed = seq.batches_sealed().await?;
        if sealed.is_multiple_of(self.plan.batches()) {
            self.open_since = None;
            return Ok(false);
        }
        let epoch = self.plan.epoch_of(sealed);
        match self.open_since {
            Some((e, t)) if e == epoch && t.elapsed() >= self.timeout => {
                seq.seal_now(true).await?;
                Ok(true)
            }
            Some((e, _)) if e == epoch => Ok(false),
            _ => {
                self.open_since = Some((epoch, std::time::Instant::now()));
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use zkr_blobs::FsBlobStore;
    use zkr_circuits::demo;
    use zkr_queue::QueueConfig;

    use super::*;

    /// A trace is written once: the same batch may be handed over again, another batch under its number is refused
    /// and changes nothing.
    #[tokio::test]
    async fn a_different_trace_under_a_sealed_number_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("queue.db").display());
        let queue = Queue::connect(&url, QueueConfig::default()).await.unwrap();
        let blobs = Arc::new(FsBlobStore::new(dir.path().join("blobs")).unwrap());
        let sink = QueueSink {
            queue: queue.clone(),
            blobs: blobs.clone(),
            plan: EpochPlan { height: 1 },
            wake: None,
            fence: None,
        };
        let keys = demo::keys(3, 4);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let first = demo::random_batch(&mut rng, &keys, &mut demo::genesis(&keys), 2, 2, demo::Mix::Transfers);
        let other = demo::random_batch(&mut rng, &keys, &mut demo::genesis(&keys), 2, 2, demo::Mix::Transfers);
        assert_ne!(first.to_bytes(), other.to_bytes());
        sink.sealed(0, &first).await.unwrap();
        sink.sealed(0, &first).await.expect("the same batch again is accepted");
        let err = sink.sealed(0, &other).await.expect_err("another batch under number 0 is refused");
        assert!(matches!(&err, HookError::Conflict { reason } if reason.contains("another trace")), "{err:?}");
        assert!(err.is_fatal(), "the sequencer must stop, not retry");
        assert_eq!(blobs.get(&trace_key(0)).unwrap(), first.to_bytes(), "the stored trace is unchanged");
        assert_eq!(queue.list(None, 10).await.unwrap().len(), 1, "one prove job");
    }
}
