//! Where workers get jobs: the [`JobSource`] trait, served in process by the coordinator's hub (queue + blob
//! store) or by a remote coordinator over gRPC ([`RemoteSource`]); the blob keys of traces and proofs.

use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;
use tonic::transport::Channel;
use zkr_circuits::wrap::WrapParams;
use zkr_queue::{BlobError, JobId, JobKind, QueueError};

use crate::exec::{ProofOutput, WorkInput};
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

/// Blob key of an epoch's wrap proof (plonky2 bytes of the wrap circuit's proof).
pub fn wrap_key(batch_start: u64, batch_end: u64) -> String {
    format!("proofs/wrap-{batch_start:08}-{batch_end:08}.proof")
}

/// Where the accepted result of a job is stored.
pub fn result_key(kind: JobKind, level: u32, batch_start: u64, batch_end: u64) -> String {
    match kind {
        JobKind::Wrap => wrap_key(batch_start, batch_end),
        JobKind::ProveBatch | JobKind::Aggregate => proof_key(level, batch_start, batch_end),
    }
}

/// Blob key of a batch trace.
pub fn trace_key(batch: u64) -> String {
    format!("traces/batch-{batch:08}.trace")
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
    wrap: String,
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
            wrap: WrapParams::DEFAULT.to_string(),
        })
    }

    /// The wrap parameters this worker's circuits use (the devnet's unless set), told to the coordinator at the
    /// handshake.
    pub fn with_wrap(mut self, wrap: WrapParams) -> Self {
        self.wrap = wrap.to_string();
        self
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
            wrap: self.wrap.clone(),
        };
        let r = c.hello(self.req(msg)).await?.into_inner();
        if r.lease_ms > 0 {
            self.lease_ms.store(r.lease_ms, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(r)
    }

    /// Whether the coordinator answers this worker, token checked, for readiness probes: a heartbeat for no job
    /// (id 0), which the coordinator checks like any call and answers "not held".
    pub async fn ping(&self, worker: &str) -> Result<(), SourceError> {
        let mut c = self.client.clone();
        c.heartbeat(self.req(proto::HeartbeatRequest { job_id: 0, worker_id: worker.to_string() })).await?;
        Ok(())
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
            Ok(proto::JobKind::Wrap) => (JobKind::Wrap, WorkInput::Wrap { root: inputs.next().unwrap_or_default() }),
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
