//! Fleet mode: the sequencer, the coordinator and remote workers as separate processes.
//! The sequencer and the coordinator share the job queue (Postgres for fleets) and the
//! blob store (a directory on one machine, an S3 bucket across machines); workers reach the
//! coordinator over gRPC with a token and touch neither.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use zkr_blobs::BlobConfig;
use zkr_queue::{Queue, QueueConfig};
use zkr_sequencer::{GenesisConfig, Sequencer, SequencerConfig};

use crate::backend::BackendChoice;
use crate::control::EpochControl;
use crate::coordinator::CoordinatorService;
use crate::exec::Circuits;
use crate::metrics::{serve_metrics, ProverMetrics};
use crate::pipeline::{EpochCloser, EpochPlan, EpochWatcher, QueueProgress, QueueSink};
use crate::settlement::{Backoff, EpochSettler, Finalized, L1Mode, SettleOutcome, SettledEpoch, SettledProgress};
use crate::source::{Hub, RemoteSource};
use crate::worker::{run_worker, WorkerConfig, WorkerStats};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequencerNodeConfig {
    pub sequencer: SequencerConfig,
    /// The job queue shared with the coordinator (`sqlite://…` or `postgres://…`).
    pub queue_url: String,
    /// The blob store shared with the coordinator (`[blobs] kind = "fs" | "s3"`).
    pub blobs: BlobConfig,
    /// Epochs hold 2^epoch_height batches (must match the coordinator's).
    pub epoch_height: u32,
    /// An epoch that has begun is completed with empty batches after this long.
    pub epoch_timeout_ms: u64,
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for SequencerNodeConfig {
    fn default() -> Self {
        Self {
            sequencer: SequencerConfig::default(),
            queue_url: "sqlite://./zkr-data/queue.db".into(),
            blobs: BlobConfig::default(),
            epoch_height: 1,
            epoch_timeout_ms: 10_000,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9100))),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoordinatorConfig {
    /// The job queue (`postgres://…` for fleets, `sqlite://…` works for one machine).
    pub database_url: String,
    /// The blob store shared with the sequencer (`[blobs] kind = "fs" | "s3"`).
    pub blobs: BlobConfig,
    pub listen: SocketAddr,
    /// Batch capacity and epoch height of the circuits (must match the sequencer's).
    pub capacity: usize,
    pub epoch_height: u32,
    pub lease_ms: u64,
    pub max_attempts: u32,
    pub metrics_listen: Option<SocketAddr>,
    /// Where verified epochs settle (`[l1] mode = "off" | "in_process" | "rpc"`); off by default.
    pub l1: L1Mode,
    /// The rollup's genesis when the coordinator deploys it (must match the sequencer's `genesis`).
    pub genesis: GenesisConfig,
    /// Holds the L1 deployment record (`l1.toml`) and epoch offset (`l1-epochs.toml`) in `rpc` mode.
    pub data_dir: PathBuf,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            database_url: "sqlite://./zkr-data/queue.db".into(),
            blobs: BlobConfig::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 50052)),
            capacity: 4,
            epoch_height: 1,
            lease_ms: 30_000,
            max_attempts: 3,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9101))),
            l1: L1Mode::Off,
            genesis: GenesisConfig::default(),
            data_dir: PathBuf::from("./zkr-data"),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerNodeConfig {
    /// The coordinator's URL, e.g. `http://10.0.0.5:50052`.
    pub coordinator: String,
    /// Must match the coordinator's circuits.
    pub capacity: usize,
    pub epoch_height: u32,
    pub backend: BackendChoice,
    /// Defaults to `<hostname>-<pid>`.
    pub id: Option<String>,
    pub poll_ms: u64,
}

impl Default for WorkerNodeConfig {
    fn default() -> Self {
        Self {
            coordinator: "http://127.0.0.1:50052".into(),
            capacity: 4,
            epoch_height: 1,
            backend: BackendChoice::Auto,
            id: None,
            poll_ms: 500,
        }
    }
}

/// What a fleet role reports to its operator. The binary prints them; each is also logged with `tracing`.
#[derive(Debug)]
pub enum NodeEvent {
    /// A socket is bound: `what` names the service.
    Listening {
        what: &'static str,
        addr: SocketAddr,
    },
    /// Circuits are being built (tens of seconds).
    BuildingCircuits {
        who: String,
        capacity: usize,
        epoch_height: u32,
    },
    /// A remote worker is connected and its circuits are built.
    WorkerReady {
        id: String,
        backend: String,
    },
    EpochVerified {
        epoch: u64,
        new_root: String,
    },
    /// The L1 contracts epochs settle on.
    Deployed(zkr_settle::Deployment),
    EpochFinalized(SettledEpoch),
    /// A settlement attempt failed; the epoch is tried again after `retry_in`.
    SettlementFailed {
        epoch: u64,
        attempt: u32,
        error: String,
        retry_in: Duration,
    },
}

impl std::fmt::Display for NodeEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeEvent::Listening { what: "metrics", addr } => write!(f, "metrics: http://{addr}/metrics"),
            NodeEvent::Listening { what, addr } => write!(f, "{what}: {addr}"),
            NodeEvent::BuildingCircuits { who, capacity, epoch_height } => {
                write!(f, "{who}: building circuits (capacity {capacity}, epoch height {epoch_height}) …")
            }
            NodeEvent::WorkerReady { id, backend } => write!(f, "worker {id}: ready, backend {backend}"),
            NodeEvent::EpochVerified { epoch, new_root } => write!(f, "epoch {epoch} verified: new root {new_root}"),
            NodeEvent::Deployed(d) => write!(f, "L1 (chain {}): rollup {}, verifier {}", d.chain_id, d.rollup, d.verifier),
            NodeEvent::EpochFinalized(s) => write!(
                f,
                "epoch {} finalized on L1: rollup epoch {}, block {}, wrap proof {:.1} s, gas commit {} prove {} execute {}",
                s.epoch, s.l1_epoch, s.l1_block, s.wrap_seconds, s.gas_commit, s.gas_prove, s.gas_execute
            ),
            NodeEvent::SettlementFailed { epoch, attempt, error, retry_in } => write!(
                f,
                "settling epoch {epoch} on L1 failed (attempt {attempt}, retrying in {:.0} s): {error}",
                retry_in.as_secs_f64()
            ),
        }
    }
}

/// Where a role sends its [`NodeEvent`]s.
pub type Events<'a> = &'a (dyn Fn(&NodeEvent) + Send + Sync);

fn emit(events: Events<'_>, e: NodeEvent) {
    match &e {
        NodeEvent::SettlementFailed { .. } => tracing::warn!("{e}"),
        _ => tracing::info!("{e}"),
    }
    events(&e);
}

fn ensure_height(h: u32) -> Result<()> {
    anyhow::ensure!(h <= 10, "epoch_height {h} is too large: at most 10 (1024 batches per epoch)");
    Ok(())
}

/// `zkr sequencer`: wallet API + batcher, handing batches to the shared queue.
pub async fn run_sequencer(cfg: SequencerNodeConfig, shutdown: CancellationToken, events: Events<'_>) -> Result<()> {
    ensure_height(cfg.epoch_height)?;
    let queue = Queue::connect(&cfg.queue_url, QueueConfig::default()).await.context("opening the job queue")?;
    let blobs = cfg.blobs.open().await.context("opening the blob store")?;
    let plan = EpochPlan { height: cfg.epoch_height };
    let registry = prometheus::Registry::new();
    // the coordinator records L1 finality in the shared blob store; transaction status reads it there
    let finalized = Finalized::shared(blobs.clone());
    let sink = Arc::new(QueueSink { queue: queue.clone(), blobs, plan, wake: None });
    let progress = Arc::new(SettledProgress { queue: QueueProgress { queue, plan }, finalized });
    let seq = Sequencer::open(&cfg.sequencer, sink, progress, &registry).await.context("opening the sequencer")?;
    if let Some(addr) = cfg.metrics_listen {
        let a = serve_metrics(registry, addr, shutdown.clone())
            .await
            .with_context(|| format!("binding metrics to {addr}"))?;
        emit(events, NodeEvent::Listening { what: "metrics", addr: a });
    }
    let listener = tokio::net::TcpListener::bind(cfg.sequencer.listen)
        .await
        .with_context(|| format!("binding the wallet API to {}", cfg.sequencer.listen))?;
    emit(events, NodeEvent::Listening { what: "wallet API (gRPC)", addr: listener.local_addr()? });
    let (s, stop) = (seq.clone(), shutdown.clone());
    let mut closer = EpochCloser::new(plan, Duration::from_millis(cfg.epoch_timeout_ms));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = closer.tick(&s).await {
                tracing::warn!(error = %e, "could not pad the open epoch");
            }
        }
    });
    let stop = shutdown.clone();
    zkr_sequencer::serve_with_listener(seq.clone(), listener, async move { stop.cancelled().await }).await?;
    seq.shutdown().await;
    Ok(())
}

/// `zkr coordinator`: lends jobs to remote workers, requeues expired leases, verifies epoch proofs as they
/// complete, and settles them on L1 when `l1` is set.
pub async fn run_coordinator(
    cfg: CoordinatorConfig,
    tokens: Vec<String>,
    shutdown: CancellationToken,
    events: Events<'_>,
) -> Result<()> {
    ensure_height(cfg.epoch_height)?;
    anyhow::ensure!(!tokens.is_empty(), "no worker tokens: set ZKR_WORKER_TOKENS to a comma-separated list");
    let queue =
        Queue::connect(&cfg.database_url, QueueConfig { lease_ms: cfg.lease_ms, max_attempts: cfg.max_attempts })
            .await
            .context("opening the job queue")?;
    let blobs = cfg.blobs.open().await.context("opening the blob store")?;
    let (capacity, epoch_height) = (cfg.capacity, cfg.epoch_height);
    emit(events, NodeEvent::BuildingCircuits { who: "coordinator".into(), capacity, epoch_height });
    let (c, h) = (cfg.capacity, cfg.epoch_height);
    let circuits = Arc::new(tokio::task::spawn_blocking(move || Circuits::build(c, h)).await?);
    let registry = prometheus::Registry::new();
    let metrics = Arc::new(ProverMetrics::register(&registry)?);
    if let Some(addr) = cfg.metrics_listen {
        let a = serve_metrics(registry, addr, shutdown.clone())
            .await
            .with_context(|| format!("binding metrics to {addr}"))?;
        emit(events, NodeEvent::Listening { what: "metrics", addr: a });
    }
    let hub = Hub {
        queue: queue.clone(),
        blobs: blobs.clone(),
        circuits: circuits.clone(),
        lease_ms: cfg.lease_ms,
        metrics: Some(metrics.clone()),
        wake: None,
    };
    let service = CoordinatorService::new(hub, tokens);
    let listener =
        tokio::net::TcpListener::bind(cfg.listen).await.with_context(|| format!("binding {}", cfg.listen))?;
    emit(events, NodeEvent::Listening { what: "coordinator (gRPC)", addr: listener.local_addr()? });
    let stop = shutdown.clone();
    let server = tokio::spawn(crate::coordinator::serve_on(service, listener, async move { stop.cancelled().await }));

    let plan = EpochPlan { height: cfg.epoch_height };
    let settler =
        EpochSettler::start(&cfg.l1, circuits.clone(), blobs.clone(), plan, cfg.genesis.state(), &cfg.data_dir)
            .await
            .context("preparing L1 settlement")?;
    let watcher = EpochWatcher {
        progress: QueueProgress { queue: queue.clone(), plan },
        blobs: blobs.clone(),
        circuits,
        next_epoch: 0,
    };
    let finalized = Finalized::shared(blobs);
    let (mut control, _earlier) =
        EpochControl::start(queue, metrics, watcher, settler, finalized, Backoff::default()).await?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let round = match control.tick().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "epoch check failed");
                continue;
            }
        };
        for e in round.verified {
            let new_root = zkr_circuits::artifact::digest_hex(&e.public.new_root);
            emit(events, NodeEvent::EpochVerified { epoch: e.epoch, new_root });
        }
        for o in round.settlement {
            match o {
                SettleOutcome::Deployed(d) => emit(events, NodeEvent::Deployed(d)),
                SettleOutcome::Settled { settled: Some(s), .. } => emit(events, NodeEvent::EpochFinalized(s)),
                SettleOutcome::Settled { settled: None, .. } => {}
                SettleOutcome::Failed { epoch, attempt, error, retry_in } => {
                    let error = format!("{error:#}");
                    emit(events, NodeEvent::SettlementFailed { epoch, attempt, error, retry_in })
                }
            }
        }
    }
    server.await??;
    Ok(())
}

/// `zkr worker --coordinator URL`: proves jobs leased from a remote coordinator.
pub async fn run_remote_worker(
    cfg: WorkerNodeConfig,
    token: &str,
    shutdown: CancellationToken,
    events: Events<'_>,
) -> Result<WorkerStats> {
    ensure_height(cfg.epoch_height)?;
    let backend = cfg.backend.resolve()?;
    let id = cfg.id.clone().unwrap_or_else(|| {
        let host =
            std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "worker".into());
        format!("{host}-{}", std::process::id())
    });
    let source = RemoteSource::connect(&cfg.coordinator, token, backend.kind.name(), cfg.capacity).await?;
    let (capacity, epoch_height) = (cfg.capacity, cfg.epoch_height);
    emit(events, NodeEvent::BuildingCircuits { who: format!("worker {id}"), capacity, epoch_height });
    let (c, h) = (cfg.capacity, cfg.epoch_height);
    let circuits = Arc::new(tokio::task::spawn_blocking(move || Circuits::build(c, h)).await?);
    emit(events, NodeEvent::WorkerReady { id: id.clone(), backend: backend.kind.to_string() });
    let stats = run_worker(
        Arc::new(source),
        circuits,
        WorkerConfig { id, backend, poll_ms: cfg.poll_ms, wake: None },
        None,
        shutdown,
    )
    .await;
    Ok(stats)
}
