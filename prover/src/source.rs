//! Where workers get jobs: the [`Hub`] (queue + blob store, in-process or behind the
//! coordinator) or a remote coordinator over gRPC ([`RemoteSource`]).

use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;
use tonic::transport::Channel;
use zkr_blobs::BlobStore;
use zkr_circuits::aggregate::combine;
use zkr_circuits::batch::{Batch, BatchPublicInputs};
use zkr_queue::{BlobError, Completion, Job, JobId, JobKind, Queue, QueueError};

use crate::exec::{Circuits, ExecError, ProofOutput, WorkInput};
use crate::metrics::ProverMetrics;
use crate::proto;

/// A job in a worker's hands.
#[derive(Clone, Debug)]
pub struct Leased {
    pub id: JobId,
    pub kind: JobKind,
    pub level: u32,
    pub batch_start: u64,
    pub batch_end: u64,
    pub input: WorkInput,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submitted {
    Accepted,
    AlreadyDone,
}

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("job queue: {source}")]
    Queue {
        #[from]
        source: QueueError,
    },
    #[error("blob store: {source}")]
    Blob {
        #[from]
        source: BlobError,
    },
    #[error("job {id} not found")]
    UnknownJob { id: JobId },
    #[error("job {id}: {reason}")]
    BadInput { id: JobId, reason: String },
    #[error("proof for job {id} refused: {reason}")]
    Refused { id: JobId, reason: String },
    #[error("coordinator: {status}")]
    Rpc { status: Box<tonic::Status> },
    #[error("cannot reach the coordinator at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error(
        "job {id}: its input {key} is not in the blob store ({store}): the sequencer and the coordinator must share \
         one blob store (their [blobs] sections differ?); the job stays queued"
    )]
    MissingInput { id: JobId, key: String, store: String },
}

impl SourceError {
    /// Worth trying again later: the coordinator (or its database) did not answer. A refusal is not.
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::Connect { .. } => true,
            SourceError::Rpc { status } => matches!(
                status.code(),
                tonic::Code::Unavailable
                    | tonic::Code::DeadlineExceeded
                    | tonic::Code::Unknown
                    | tonic::Code::Cancelled
                    | tonic::Code::Aborted
                    | tonic::Code::ResourceExhausted
                    | tonic::Code::Internal
            ),
            SourceError::Queue { .. } | SourceError::Blob { .. } => true,
            _ => false,
        }
    }

    /// This worker may not work here at all (its token or its circuits are refused): stop instead of retrying.
    pub fn is_fatal(&self) -> bool {
        matches!(self, SourceError::Rpc { status } if matches!(
            status.code(),
            tonic::Code::Unauthenticated | tonic::Code::PermissionDenied | tonic::Code::Unimplemented
        ))
    }
}

impl From<tonic::Status> for SourceError {
    fn from(status: tonic::Status) -> Self {
        SourceError::Rpc { status: Box::new(status) }
    }
}

/// The worker's side of a job source.
#[async_trait]
pub trait JobSource: Send + Sync {
    async fn lease(&self, worker: &str) -> Result<Option<Leased>, SourceError>;
    async fn heartbeat(&self, id: JobId, worker: &str) -> Result<bool, SourceError>;
    async fn submit(&self, id: JobId, worker: &str, out: &ProofOutput) -> Result<Submitted, SourceError>;
    async fn fail(&self, id: JobId, worker: &str, error: &str) -> Result<(), SourceError>;
    async fn release(&self, id: JobId, worker: &str) -> Result<(), SourceError>;
    /// Lease length, so workers know how often to heartbeat.
    fn lease_ms(&self) -> u64;
}

/// Blob key of a job's proof.
pub fn proof_key(level: u32, batch_start: u64, batch_end: u64) -> String {
    format!("proofs/L{level}-{batch_start:08}-{batch_end:08}.proof")
}

/// Blob key of a batch trace.
pub fn trace_key(batch: u64) -> String {
    format!("traces/batch-{batch:08}.trace")
}

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
    /// The two children of an aggregation job, left (earlier batches) first.
    async fn children(&self, job: &Job) -> Result<(Job, Job), SourceError> {
        let mut kids = Vec::with_capacity(2);
        for dep in &job.deps {
            kids.push(self.queue.get(*dep).await?.ok_or(SourceError::UnknownJob { id: *dep })?);
        }
        if kids.len() != 2 {
            return Err(SourceError::BadInput {
                id: job.id,
                reason: format!("{} dependencies, expected 2", kids.len()),
            });
        }
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
        let key = proof_key(job.level, job.batch_start, job.batch_end);
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
                m.job_duration.with_label_values(&[crate::metrics::kind_label(job.kind)]).observe(secs);
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
            let Some(job) = self.queue.claim(worker, &[JobKind::ProveBatch, JobKind::Aggregate]).await? else {
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

/// A coordinator reached over gRPC, with the worker's token.
#[derive(Clone, Debug)]
pub struct RemoteSource {
    client: proto::coordinator_client::CoordinatorClient<Channel>,
    token: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
    backend: String,
    lease_ms: Arc<std::sync::atomic::AtomicU64>,
    capacity: usize,
    epoch_height: u32,
}

impl RemoteSource {
    /// A source for the coordinator at `url`. Connects lazily (a coordinator that is not up yet is not an error
    /// here): call [`RemoteSource::hello`] until it answers.
    pub fn new(url: &str, token: &str, backend: &str, capacity: usize, epoch_height: u32) -> Result<Self, SourceError> {
        let connect_err = |reason: String| SourceError::Connect { url: url.to_string(), reason };
        let endpoint = Channel::from_shared(url.to_string())
            .map_err(|e| connect_err(format!("not a URL: {e}")))?
            .connect_timeout(std::time::Duration::from_secs(5));
        let channel = endpoint.connect_lazy();
        let token =
            format!("Bearer {token}").parse().map_err(|_| connect_err("the token is not valid ASCII".into()))?;
        Ok(Self {
            client: proto::coordinator_client::CoordinatorClient::new(channel).max_decoding_message_size(64 << 20),
            token,
            backend: backend.to_string(),
            lease_ms: Arc::new(std::sync::atomic::AtomicU64::new(30_000)),
            capacity,
            epoch_height,
        })
    }

    /// The handshake: the coordinator checks the token and the circuits. A refusal [`SourceError::is_fatal`] (or
    /// FAILED_PRECONDITION, a circuit mismatch) means this worker must not go on; a transient error, try again.
    pub async fn hello(&self, worker: &str) -> Result<proto::HelloResponse, SourceError> {
        let mut c = self.client.clone();
        let msg = proto::HelloRequest {
            worker_id: worker.to_string(),
            backend: self.backend.clone(),
            capacity: self.capacity as u32,
            epoch_height: self.epoch_height,
        };
        let r = c.hello(self.req(msg)).await?.into_inner();
        if r.lease_ms > 0 {
            self.lease_ms.store(r.lease_ms, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(r)
    }

    fn req<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut().insert("authorization", self.token.clone());
        r
    }
}

#[async_trait]
impl JobSource for RemoteSource {
    async fn lease(&self, worker: &str) -> Result<Option<Leased>, SourceError> {
        let mut c = self.client.clone();
        let resp = c
            .lease(self.req(proto::LeaseRequest { worker_id: worker.to_string(), backend: self.backend.clone() }))
            .await?
            .into_inner();
        if resp.lease_ms > 0 {
            self.lease_ms.store(resp.lease_ms, std::sync::atomic::Ordering::Relaxed);
        }
        let Some(job) = resp.job else { return Ok(None) };
        if job.capacity as usize != self.capacity {
            let reason = format!("job for capacity {}, this worker has capacity {}", job.capacity, self.capacity);
            c.release(self.req(proto::ReleaseRequest { job_id: job.id, worker_id: worker.to_string() })).await?;
            return Err(SourceError::BadInput { id: job.id, reason });
        }
        let mut inputs = job.inputs.into_iter();
        let (kind, input) = match proto::JobKind::try_from(job.kind) {
            Ok(proto::JobKind::ProveBatch) => {
                (JobKind::ProveBatch, WorkInput::ProveBatch { trace: inputs.next().unwrap_or_default() })
            }
            Ok(proto::JobKind::Aggregate) => (
                JobKind::Aggregate,
                WorkInput::Aggregate {
                    level: job.level,
                    left: inputs.next().unwrap_or_default(),
                    right: inputs.next().unwrap_or_default(),
                },
            ),
            _ => return Err(SourceError::BadInput { id: job.id, reason: format!("unknown job kind {}", job.kind) }),
        };
        Ok(Some(Leased {
            id: job.id,
            kind,
            level: job.level,
            batch_start: job.batch_start,
            batch_end: job.batch_end,
            input,
        }))
    }

    async fn heartbeat(&self, id: JobId, worker: &str) -> Result<bool, SourceError> {
        let mut c = self.client.clone();
        let r = c.heartbeat(self.req(proto::HeartbeatRequest { job_id: id, worker_id: worker.to_string() })).await?;
        Ok(r.into_inner().held)
    }

    async fn submit(&self, id: JobId, worker: &str, out: &ProofOutput) -> Result<Submitted, SourceError> {
        let mut c = self.client.clone();
        let msg = proto::SubmitRequest {
            job_id: id,
            worker_id: worker.to_string(),
            proof: out.bytes.clone(),
            prove_seconds: out.seconds,
            backend: self.backend.clone(),
        };
        match c.submit(self.req(msg)).await {
            Ok(r) => Ok(if r.into_inner().accepted { Submitted::Accepted } else { Submitted::AlreadyDone }),
            Err(s) if s.code() == tonic::Code::InvalidArgument => {
                Err(SourceError::Refused { id, reason: s.message().to_string() })
            }
            Err(s) => Err(s.into()),
        }
    }

    async fn fail(&self, id: JobId, worker: &str, error: &str) -> Result<(), SourceError> {
        let mut c = self.client.clone();
        c.fail(self.req(proto::FailRequest { job_id: id, worker_id: worker.to_string(), error: error.to_string() }))
            .await?;
        Ok(())
    }

    async fn release(&self, id: JobId, worker: &str) -> Result<(), SourceError> {
        let mut c = self.client.clone();
        c.release(self.req(proto::ReleaseRequest { job_id: id, worker_id: worker.to_string() })).await?;
        Ok(())
    }

    fn lease_ms(&self) -> u64 {
        self.lease_ms.load(std::sync::atomic::Ordering::Relaxed)
    }
}
