//! The coordinator's job source: the queue, the blob store and the circuits that check every submitted proof
//! before the queue takes it. In-process workers lease from it directly; remote ones through the gRPC service.

use std::sync::Arc;

use async_trait::async_trait;
use zkr_blobs::BlobStore;
use zkr_circuits::aggregate::combine;
use zkr_circuits::batch::{Batch, BatchPublicInputs};
use zkr_queue::{BlobError, Completion, Job, JobId, JobKind, Queue};
use zkr_worker::exec::{Circuits, ExecError, ProofOutput, WorkInput};
use zkr_worker::metrics::{kind_label, ProverMetrics};
use zkr_worker::source::{result_key, JobSource, Leased, SourceError, Submitted};

/// The queue, the blob store and the circuits that check submitted proofs.
#[derive(Clone)]
pub struct Hub {
    pub queue: Queue,
    pub blobs: Arc<dyn BlobStore>,
    pub circuits: Arc<Circuits>,
    pub lease_ms: u64,
    pub metrics: Option<Arc<ProverMetrics>>,
    /// Signalled when a completion may have released dependent jobs.
    pub wake: Option<Arc<tokio::sync::Notify>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("circuits", &self.circuits).finish()
    }
}

impl Hub {
    /// The jobs `job` depends on, which must be `expected` many (`what` names them for the error).
    async fn deps(&self, job: &Job, expected: usize, what: &str) -> Result<Vec<Job>, SourceError> {
        if job.deps.len() != expected {
            return Err(SourceError::BadInput {
                id: job.id,
                reason: format!("{} dependencies, expected {expected} ({what})", job.deps.len()),
            });
        }
        let mut deps = Vec::with_capacity(expected);
        for &dep in &job.deps {
            deps.push(self.queue.get(dep).await?.ok_or(SourceError::UnknownJob { id: dep })?);
        }
        Ok(deps)
    }

    /// The two children of an aggregation job, left (earlier batches) first.
    async fn children(&self, job: &Job) -> Result<(Job, Job), SourceError> {
        let mut kids = self.deps(job, 2, "the two children").await?;
        kids.sort_by_key(|k| k.batch_start);
        let right = kids.pop().expect("two");
        let left = kids.pop().expect("two");
        Ok((left, right))
    }

    async fn result_bytes(&self, job: &Job) -> Result<Vec<u8>, SourceError> {
        let key = job
            .result_key
            .as_deref()
            .ok_or_else(|| SourceError::BadInput { id: job.id, reason: "a dependency has no result yet".into() })?;
        Ok(self.blobs.get(key).await?)
    }

    async fn load_input(&self, job: &Job) -> Result<WorkInput, SourceError> {
        match job.kind {
            JobKind::ProveBatch => Ok(WorkInput::ProveBatch { trace: self.blobs.get(&job.input_key).await? }),
            JobKind::Aggregate => {
                let (l, r) = self.children(job).await?;
                Ok(WorkInput::Aggregate {
                    level: job.level,
                    left: self.result_bytes(&l).await?,
                    right: self.result_bytes(&r).await?,
                })
            }
            JobKind::Wrap => {
                let root = self.deps(job, 1, "the epoch's root").await?.remove(0);
                if (root.batch_start, root.batch_end, root.level + 1) != (job.batch_start, job.batch_end, job.level) {
                    return Err(SourceError::BadInput {
                        id: job.id,
                        reason: format!(
                            "its dependency {} covers batches {}..={} at level {}, not the wrapped epoch's root",
                            root.id, root.batch_start, root.batch_end, root.level
                        ),
                    });
                }
                Ok(WorkInput::Wrap { root: self.result_bytes(&root).await? })
            }
        }
    }

    /// What a correct proof of `job` must expose, computed from its inputs.
    async fn expected_public(&self, job: &Job) -> Result<BatchPublicInputs, SourceError> {
        let bad = |e: ExecError| SourceError::BadInput { id: job.id, reason: e.to_string() };
        match self.load_input(job).await? {
            WorkInput::ProveBatch { trace } => Batch::from_bytes(&trace)
                .map(|b| b.public_inputs())
                .map_err(|e| SourceError::BadInput { id: job.id, reason: e.to_string() }),
            WorkInput::Aggregate { level, left, right } => {
                let l = self.circuits.verify(level - 1, &left, "left").map_err(bad)?;
                let r = self.circuits.verify(level - 1, &right, "right").map_err(bad)?;
                Ok(combine(&l, &r))
            }
            // The wrap exposes its root's public inputs unchanged.
            WorkInput::Wrap { root } => self.circuits.verify(self.circuits.height(), &root, "root").map_err(bad),
        }
    }

    /// Verifies a submitted proof against the job and completes it. A bad proof is
    /// refused and the attempt counts as failed, so the job goes back to the queue.
    pub async fn accept(&self, id: JobId, worker: &str, proof: &[u8]) -> Result<Submitted, SourceError> {
        let job = self.queue.get(id).await?.ok_or(SourceError::UnknownJob { id })?;
        if job.result_key.is_some() {
            // A late duplicate: not counted as a completion, but counted as a duplicate.
            if let Some(m) = &self.metrics {
                m.job_completed(job.kind, false, job.attempts);
            }
            return Ok(Submitted::AlreadyDone);
        }
        let verdict = match self.circuits.verify(job.level, proof, "submitted") {
            Err(e) => Err(e.to_string()),
            Ok(public) => {
                let expected = self.expected_public(&job).await?;
                if public == expected {
                    Ok(())
                } else {
                    Err("the proof is valid but for other public inputs than this job's".to_string())
                }
            }
        };
        if let Err(reason) = verdict {
            tracing::warn!(job = id, worker, %reason, "refusing a submitted proof");
            // Only the lease holder's failure counts; a stale worker's junk changes nothing.
            let _ = self.queue.fail(id, worker, &format!("refused proof: {reason}")).await;
            return Err(SourceError::Refused { id, reason });
        }
        let key = result_key(job.kind, job.level, job.batch_start, job.batch_end);
        self.blobs.put(&key, proof).await?;
        let done = self.queue.complete(id, worker, &key).await?;
        if let Some(w) = &self.wake {
            w.notify_waiters();
        }
        if let Some(m) = &self.metrics {
            m.job_completed(job.kind, matches!(done, Completion::Accepted), job.attempts);
            if matches!(done, Completion::Accepted) {
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let secs = (now_ms - job.created_at).max(0) as f64 / 1e3;
                m.job_duration.with_label_values(&[kind_label(job.kind)]).observe(secs);
            }
        }
        Ok(match done {
            Completion::Accepted => Submitted::Accepted,
            Completion::AlreadyDone => Submitted::AlreadyDone,
        })
    }
}

#[async_trait]
impl JobSource for Hub {
    async fn lease(&self, worker: &str) -> Result<Option<Leased>, SourceError> {
        loop {
            let Some(job) = self.queue.claim(worker, &JobKind::ALL).await? else {
                return Ok(None);
            };
            match self.load_input(&job).await {
                Ok(input) => {
                    return Ok(Some(Leased {
                        id: job.id,
                        kind: job.kind,
                        level: job.level,
                        batch_start: job.batch_start,
                        batch_end: job.batch_end,
                        input,
                    }))
                }
                Err(SourceError::Blob { source: BlobError::NotFound { key } }) => {
                    // A configuration error, not the job's: nothing a retry on another worker fixes, so it uses up
                    // no attempt (the job goes back to the queue) and the operator is told what to fix.
                    let e = SourceError::MissingInput { id: job.id, key, store: self.blobs.describe() };
                    tracing::error!(job = job.id, error = %e, "configuration error");
                    self.queue.release(job.id, worker).await?;
                    return Err(e);
                }
                Err(e) => {
                    // Inputs that cannot be read fail the attempt (and dead-letter eventually).
                    tracing::error!(job = job.id, error = %e, "cannot load job inputs");
                    self.queue.fail(job.id, worker, &format!("loading inputs: {e}")).await?;
                }
            }
        }
    }

    async fn heartbeat(&self, id: JobId, worker: &str) -> Result<bool, SourceError> {
        Ok(self.queue.heartbeat(id, worker).await?)
    }

    async fn submit(&self, id: JobId, worker: &str, out: &ProofOutput) -> Result<Submitted, SourceError> {
        self.accept(id, worker, &out.bytes).await
    }

    async fn fail(&self, id: JobId, worker: &str, error: &str) -> Result<(), SourceError> {
        self.queue.fail(id, worker, error).await?;
        Ok(())
    }

    async fn release(&self, id: JobId, worker: &str) -> Result<(), SourceError> {
        self.queue.release(id, worker).await?;
        Ok(())
    }

    fn lease_ms(&self) -> u64 {
        self.lease_ms
    }
}
