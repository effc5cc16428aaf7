//! The coordinator: a gRPC service that lends jobs to remote workers, checks their tokens,
//! and verifies every submitted proof before the queue accepts it.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use tonic::{Request, Response, Status};
use zkr_circuits::wrap::WrapParams;
use zkr_queue::QueueError;

use crate::hub::Hub;
use zkr_worker::exec::WorkInput;
use zkr_worker::proto::coordinator_server::{Coordinator, CoordinatorServer};
use zkr_worker::proto::{self, LeaseRequest, LeaseResponse};
use zkr_worker::source::{JobSource, SourceError};

/// Largest message the coordinator accepts or sends (proofs are ~150 KiB, traces smaller).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

#[derive(Clone)]
pub struct CoordinatorService {
    hub: Hub,
    tokens: Arc<HashSet<String>>,
}

impl std::fmt::Debug for CoordinatorService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoordinatorService").field("tokens", &self.tokens.len()).finish()
    }
}

impl CoordinatorService {
    /// `tokens`: the worker tokens accepted (from the environment, never from a file).
    pub fn new(hub: Hub, tokens: impl IntoIterator<Item = String>) -> Self {
        Self { hub, tokens: Arc::new(tokens.into_iter().filter(|t| !t.is_empty()).collect()) }
    }

    #[allow(clippy::result_large_err)] // tonic's Status is what handlers return
    fn check<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let peer = req.remote_addr().map_or_else(|| "an unknown address".to_string(), |a| a.to_string());
        let given =
            req.metadata().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let Some(given) = given else {
            tracing::warn!(%peer, "refused a worker call without a token");
            return Err(Status::unauthenticated("missing worker token: send `authorization: Bearer <token>`"));
        };
        if self.tokens.contains(given) {
            Ok(())
        } else {
            // The token itself is never logged.
            tracing::warn!(%peer, "refused a worker call: unknown token (check ZKR_WORKER_TOKENS and the worker's token)");
            Err(Status::unauthenticated("unknown worker token: the coordinator does not accept it"))
        }
    }

    pub fn into_server(self) -> CoordinatorServer<Self> {
        CoordinatorServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }
}

fn status(e: SourceError) -> Status {
    match e {
        SourceError::Refused { .. } | SourceError::BadInput { .. } => Status::invalid_argument(e.to_string()),
        // The coordinator's misconfiguration: the worker waits and asks again.
        SourceError::MissingInput { .. } => Status::unavailable(e.to_string()),
        SourceError::UnknownJob { .. } | SourceError::Queue { source: QueueError::NotFound { .. } } => {
            Status::not_found(e.to_string())
        }
        // Not retryable: the caller does not hold the lease, or the job cannot take a result any more.
        SourceError::Queue {
            source: QueueError::NotLeaseHolder { .. } | QueueError::JobDead { .. } | QueueError::WrongState { .. },
        } => Status::failed_precondition(e.to_string()),
        other => Status::unavailable(other.to_string()),
    }
}

#[allow(clippy::result_large_err)]
fn worker_id(id: &str) -> Result<&str, Status> {
    if id.is_empty() || id.len() > 128 {
        return Err(Status::invalid_argument("worker_id must be 1 to 128 characters"));
    }
    Ok(id)
}

#[tonic::async_trait]
impl Coordinator for CoordinatorService {
    async fn hello(&self, req: Request<proto::HelloRequest>) -> Result<Response<proto::HelloResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let worker = worker_id(&r.worker_id)?;
        let (capacity, height) = (self.hub.circuits.capacity() as u32, self.hub.circuits.height());
        if (r.capacity, r.epoch_height) != (capacity, height) {
            let reason = format!(
                "worker {worker} has circuits for batch capacity {} and epoch height {}, this coordinator's are \
                 capacity {capacity} and epoch height {height}: set the worker's batch_capacity and epoch_height to match",
                r.capacity, r.epoch_height
            );
            tracing::warn!(worker, %reason, "refused a worker");
            return Err(Status::failed_precondition(reason));
        }
        let wrap = self.hub.circuits.wrap_params();
        let theirs = if r.wrap.is_empty() { "devnet" } else { r.wrap.as_str() };
        match WrapParams::parse(theirs) {
            Ok(p) if p == wrap => {}
            _ => {
                let reason = format!(
                    "worker {worker} wraps with parameters {theirs:?}, this coordinator's are {wrap:?}: set the worker's \
                     wrap to match",
                    wrap = wrap.to_string()
                );
                tracing::warn!(worker, %reason, "refused a worker");
                return Err(Status::failed_precondition(reason));
            }
        }
        if let Some(m) = &self.hub.metrics {
            m.worker_seen(worker);
        }
        tracing::info!(worker, backend = %r.backend, "worker connected");
        Ok(Response::new(proto::HelloResponse {
            lease_ms: self.hub.lease_ms,
            capacity,
            epoch_height: height,
            wrap: wrap.to_string(),
        }))
    }

    async fn lease(&self, req: Request<LeaseRequest>) -> Result<Response<LeaseResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let worker = worker_id(&r.worker_id)?;
        if let Some(m) = &self.hub.metrics {
            m.worker_seen(worker);
        }
        let job = self.hub.lease(worker).await.map_err(status)?;
        let job = job.map(|j| {
            tracing::info!(job = j.id, worker, backend = %r.backend, "leased to a remote worker");
            let (kind, inputs) = match j.input {
                WorkInput::ProveBatch { trace } => (proto::JobKind::ProveBatch, vec![trace]),
                WorkInput::Aggregate { left, right, .. } => (proto::JobKind::Aggregate, vec![left, right]),
                WorkInput::Wrap { root } => (proto::JobKind::Wrap, vec![root]),
            };
            proto::Job {
                id: j.id,
                kind: kind as i32,
                batch_start: j.batch_start,
                batch_end: j.batch_end,
                level: j.level,
                capacity: self.hub.circuits.capacity() as u32,
                inputs,
            }
        });
        Ok(Response::new(LeaseResponse { job, lease_ms: self.hub.lease_ms }))
    }

    async fn heartbeat(
        &self,
        req: Request<proto::HeartbeatRequest>,
    ) -> Result<Response<proto::HeartbeatResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let worker = worker_id(&r.worker_id)?;
        if let Some(m) = &self.hub.metrics {
            m.worker_seen(worker);
        }
        let held = self.hub.heartbeat(r.job_id, worker).await.map_err(status)?;
        Ok(Response::new(proto::HeartbeatResponse { held }))
    }

    async fn submit(&self, req: Request<proto::SubmitRequest>) -> Result<Response<proto::SubmitResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let worker = worker_id(&r.worker_id)?;
        let job = self.hub.queue.get(r.job_id).await.ok().flatten();
        let done = self.hub.accept(r.job_id, worker, &r.proof).await.map_err(status)?;
        if let (Some(m), Some(job)) = (&self.hub.metrics, job) {
            // Remote workers report their proving time and backend.
            let backend = match r.backend.as_str() {
                "cpu" | "cuda" => r.backend.as_str(),
                _ => "unknown",
            };
            if r.prove_seconds.is_finite() && r.prove_seconds >= 0.0 {
                m.proving_seconds
                    .with_label_values(&[zkr_worker::metrics::kind_label(job.kind), &job.level.to_string(), backend])
                    .observe(r.prove_seconds);
            }
            if done == zkr_worker::source::Submitted::Accepted {
                m.proof_accepted(job.kind, backend, r.prove_seconds);
            }
        }
        Ok(Response::new(proto::SubmitResponse { accepted: done == zkr_worker::source::Submitted::Accepted }))
    }

    async fn fail(&self, req: Request<proto::FailRequest>) -> Result<Response<proto::FailResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let error: String = r.error.chars().take(4096).collect();
        self.hub.fail(r.job_id, worker_id(&r.worker_id)?, &error).await.map_err(status)?;
        Ok(Response::new(proto::FailResponse {}))
    }

    async fn release(&self, req: Request<proto::ReleaseRequest>) -> Result<Response<proto::ReleaseResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let worker = worker_id(&r.worker_id)?;
        self.hub.release(r.job_id, worker).await.map_err(status)?;
        if let Some(m) = &self.hub.metrics {
            // Workers hand jobs back when they stop: do not count this one as present any more.
            m.worker_gone(worker);
        }
        Ok(Response::new(proto::ReleaseResponse {}))
    }
}

/// Serves the coordinator until `shutdown` resolves.
pub async fn serve(
    service: CoordinatorService,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder().add_service(service.into_server()).serve_with_shutdown(addr, shutdown).await
}

/// Serves on an already bound listener (lets callers bind port 0 and learn the address).
pub async fn serve_on(
    service: CoordinatorService,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tonic::transport::Server::builder()
        .add_service(service.into_server())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}
