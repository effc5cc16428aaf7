//! The one place that wires the roles of a node that runs in one process: an embedded SQLite queue and a blob
//! directory under one data dir, the circuits, the sequencer handing its batches to the queue and reading its
//! progress (and L1 finality) back from it, the job hub, and in-process workers. `zkr devnet` builds its node here and
//! adds the epoch control loop (verification and settlement); `zkr bench pipeline` builds the same node and puts its
//! load profile on it. A fleet runs one role per process (`fleet`), from the same parts.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use zkr_blobs::{BlobStore, FsBlobStore};
use zkr_queue::{Queue, QueueConfig};
use zkr_sequencer::{Sequencer, SequencerConfig, SequencerError};

use crate::parts::{self, SequencerWiring};
use zkr_circuits::wrap::WrapParams;
use zkr_coordinator::epochs::{EpochPlan, QueueProgress};
use zkr_coordinator::hub::Hub;
use zkr_coordinator::settlement::Finalized;
use zkr_worker::backend::ProvingBackend;
use zkr_worker::exec::Circuits;
use zkr_worker::metrics::ProverMetrics;
use zkr_worker::worker::{run_worker, WorkerConfig, WorkerStats};

/// What a one-process node is built from.
#[derive(Clone, Debug)]
pub struct LocalNodeConfig {
    /// Epochs hold 2^epoch_height batches.
    pub epoch_height: u32,
    /// Job lease length of the queue and of the hub's leases.
    pub lease_ms: u64,
    /// The sequencer's settings; its `batch_capacity` is the circuits' capacity, and its `data_dir` holds the
    /// whole node (`sequencer.db`, `queue.db`, `blobs/`).
    pub sequencer: SequencerConfig,
}

/// The roles of a one-process node, wired together. Dropping it stops nothing: call [`LocalNode::shutdown`].
pub struct LocalNode {
    pub queue: Queue,
    pub blobs: Arc<dyn BlobStore>,
    pub plan: EpochPlan,
    pub circuits: Arc<Circuits>,
    pub registry: prometheus::Registry,
    pub metrics: Arc<ProverMetrics>,
    /// Signalled on every enqueue, so idle in-process workers need not wait for their poll.
    pub wake: Arc<Notify>,
    pub seq: Sequencer,
    /// The queue's view of proof progress (proven, aggregated).
    pub progress: QueueProgress,
    /// Epochs finalized on L1, as the settler records them and the sequencer reads them.
    pub finalized: Finalized,
    lease_ms: u64,
}

impl std::fmt::Debug for LocalNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalNode").field("plan", &self.plan).field("circuits", &self.circuits).finish_non_exhaustive()
    }
}

impl LocalNode {
    /// Opens (or resumes) the node under `cfg.sequencer.data_dir`. `circuits` are built when not given (seconds);
    /// pass them to reuse one build across nodes.
    pub async fn open(cfg: LocalNodeConfig, circuits: Option<Arc<Circuits>>) -> Result<Self> {
        let dir = &cfg.sequencer.data_dir;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let queue_url = format!("sqlite://{}", dir.join("queue.db").display());
        let queue = Queue::connect(&queue_url, QueueConfig { lease_ms: cfg.lease_ms, ..QueueConfig::default() })
            .await
            .context("opening the job queue")?;
        let blobs: Arc<dyn BlobStore> =
            Arc::new(FsBlobStore::new(dir.join("blobs")).context("opening the blob store")?);
        let plan = EpochPlan { height: cfg.epoch_height };
        let circuits =
            parts::circuits(cfg.sequencer.batch_capacity, cfg.epoch_height, WrapParams::DEFAULT, circuits).await?;
        let registry = prometheus::Registry::new();
        let metrics = Arc::new(ProverMetrics::register(&registry)?);
        let wake = Arc::new(Notify::new());
        let finalized = Finalized::default();
        let wiring = SequencerWiring {
            queue: queue.clone(),
            blobs: blobs.clone(),
            plan,
            wake: Some(wake.clone()),
            fence: None,
            finalized: finalized.clone(),
        };
        let seq = parts::sequencer(&cfg.sequencer, wiring, &registry).await?;
        let progress = QueueProgress { queue: queue.clone(), plan };
        Ok(Self {
            queue,
            blobs,
            plan,
            circuits,
            registry,
            metrics,
            wake,
            seq,
            progress,
            finalized,
            lease_ms: cfg.lease_ms,
        })
    }

    /// The job hub the in-process workers take their jobs from.
    pub fn hub(&self) -> Hub {
        Hub {
            queue: self.queue.clone(),
            blobs: self.blobs.clone(),
            circuits: self.circuits.clone(),
            lease_ms: self.lease_ms,
            metrics: Some(self.metrics.clone()),
            wake: Some(self.wake.clone()),
        }
    }

    /// Starts `n` (at least one) in-process workers named `<name>-<i>`, until `stop` is cancelled.
    pub fn spawn_workers(
        &self,
        n: usize,
        name: &str,
        backend: &ProvingBackend,
        stop: &CancellationToken,
    ) -> Vec<JoinHandle<WorkerStats>> {
        let hub = Arc::new(self.hub());
        (0..n.max(1))
            .map(|i| {
                let w = WorkerConfig {
                    id: format!("{name}-{i}"),
                    backend: backend.clone(),
                    poll_ms: 500,
                    wake: Some(self.wake.clone()),
                };
                tokio::spawn(run_worker(
                    hub.clone(),
                    self.circuits.clone(),
                    w,
                    Some(self.metrics.clone()),
                    stop.clone(),
                ))
            })
            .collect()
    }

    /// Serves the wallet gRPC API on `addr` (port 0: any free port) until `stop` is cancelled; returns the address.
    pub async fn serve_wallet_api(&self, addr: SocketAddr, stop: &CancellationToken) -> Result<SocketAddr> {
        self.serve_wallet("wallet API", addr, stop, zkr_sequencer::serve_with_listener).await
    }

    /// Serves the wallet API's HTTP/JSON gateway on `addr` (port 0: any free port) until `stop` is cancelled; returns
    /// the address.
    pub async fn serve_wallet_http(&self, addr: SocketAddr, stop: &CancellationToken) -> Result<SocketAddr> {
        self.serve_wallet("wallet HTTP API", addr, stop, zkr_sequencer::serve_http_with_listener).await
    }

    /// Binds `addr` and runs `serve` (one of the sequencer's servers, `what` in messages) on it in a task until
    /// `stop` is cancelled; returns the bound address.
    async fn serve_wallet<F, S>(
        &self,
        what: &'static str,
        addr: SocketAddr,
        stop: &CancellationToken,
        serve: S,
    ) -> Result<SocketAddr>
    where
        S: FnOnce(Sequencer, tokio::net::TcpListener, WaitForCancellationFutureOwned) -> F,
        F: std::future::Future<Output = Result<(), SequencerError>> + Send + 'static,
    {
        let listener =
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding the {what} to {addr}"))?;
        let bound = listener.local_addr()?;
        let server = serve(self.seq.clone(), listener, stop.clone().cancelled_owned());
        tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "{what} stopped");
            }
        });
        Ok(bound)
    }

    /// Stops the sequencer (its open batch stays in its store for the next run).
    pub async fn shutdown(&self) {
        self.seq.shutdown().await;
    }
}
