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
use zkr_sequencer::{GenesisConfig, SequencerConfig};

use crate::bridge::{spawn_bridge, BridgeConfig};
use crate::health::{BlobStoreCheck, CoordinatorCheck, DatabaseCheck, L1Check, SequencerCheck};
use crate::parts::{self, SequencerWiring};
use crate::rollup_watch::{spawn_rollup_watch, RollupAddress, WATCH_EVERY};
use zkr_circuits::wrap::WrapParams;
use zkr_coordinator::epochs::EpochPlan;
use zkr_coordinator::hub::Hub;
use zkr_coordinator::service::CoordinatorService;
use zkr_coordinator::settlement::{EpochSettler, Finalized, L1Mode, SettleOutcome, SettledEpoch};
use zkr_worker::backend::BackendChoice;
use zkr_worker::metrics::{register_up, serve_metrics, ProverMetrics, Readiness};
use zkr_worker::source::RemoteSource;
use zkr_worker::worker::{run_worker, WorkerConfig, WorkerStats};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequencerNodeConfig {
    pub sequencer: SequencerConfig,
    /// The job queue shared with the coordinator (`postgres://…`, or `sqlite://…` on one machine). Required: a fleet
    /// sequencer on a queue of its own would hand its batches to nobody.
    pub database_url: String,
    /// The blob store shared with the coordinator (`[blobs] kind = "fs" | "s3"`).
    pub blobs: BlobConfig,
    /// Epochs hold 2^epoch_height batches (must match the coordinator's).
    pub epoch_height: u32,
    /// An epoch that has begun is completed with empty batches after this long.
    pub epoch_timeout_ms: u64,
    pub metrics_listen: Option<SocketAddr>,
    /// The writer lease in the shared queue that makes this the only sequencer handing batches to it: held for
    /// this long, renewed every third of it. A sequencer that stops uncleanly blocks a different one for at most
    /// this long (its own restart takes the lease back at once).
    pub writer_lease_ms: u64,
    /// The bridge: where the rollup is, to take its deposits and forced exits (off unless `rpc_url` and
    /// `deployment` are set).
    pub bridge: SequencerBridgeConfig,
}

/// `[bridge]` of a fleet sequencer: it reads the rollup's priority queue over JSON-RPC (no key: it sends nothing).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequencerBridgeConfig {
    /// The L1's JSON-RPC endpoint.
    pub rpc_url: Option<String>,
    /// The deployment record (`zkr l1 deploy --out`, or the coordinator's `l1.toml`).
    pub deployment: Option<PathBuf>,
    /// Blocks a priority operation's block needs, its own included, before it is taken (default 1).
    pub confirmations: Option<u64>,
    /// How often L1 is read, in milliseconds (default 500).
    pub poll_ms: Option<u64>,
}

impl Default for SequencerNodeConfig {
    fn default() -> Self {
        Self {
            sequencer: SequencerConfig::default(),
            database_url: String::new(),
            blobs: BlobConfig::default(),
            epoch_height: 1,
            epoch_timeout_ms: 10_000,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9100))),
            writer_lease_ms: 10_000,
            bridge: SequencerBridgeConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoordinatorConfig {
    /// The job queue shared with the sequencer (`postgres://…`, or `sqlite://…` on one machine). Required.
    pub database_url: String,
    /// The blob store shared with the sequencer (`[blobs] kind = "fs" | "s3"`).
    pub blobs: BlobConfig,
    pub listen: SocketAddr,
    /// Batch capacity and epoch height of the circuits (must match the sequencer's `batch_capacity`).
    pub batch_capacity: usize,
    pub epoch_height: u32,
    /// The wrap proof's parameters: `devnet` (fast to prove), `l1` (cheapest to verify on L1: a shrink layer, rate
    /// 1/1024, 8 queries) or `rate:queries:pow:cap[:shrink]`. The deployed verifier is generated for them, and
    /// workers must use the same.
    pub wrap: WrapParams,
    pub lease_ms: u64,
    /// Failed attempts (proving errors, refused proofs) before a job is dead.
    pub max_attempts: u32,
    /// Leases lost to crashed or vanished workers before a job is dead (counted apart from attempts).
    pub max_lost_leases: u32,
    pub metrics_listen: Option<SocketAddr>,
    /// Where verified epochs settle (`[l1] mode = "off" | "in_process" | "rpc"`); off by default.
    pub l1: L1Mode,
    /// The rollup's genesis when the coordinator deploys it (must match the sequencer's `genesis`).
    pub genesis: GenesisConfig,
    /// Holds the L1 deployment record (`l1.toml`) and epoch offset (`l1-epochs.toml`) in `rpc` mode.
    pub data_dir: PathBuf,
    /// Allows `l1.mode = "in_process"`: a chain that lives and dies with this process, so a restart starts a new
    /// rollup and strands what the old one had not settled. For tests and demos only.
    pub throwaway_l1: bool,
    /// `zkr_workers_wanted` is the number of workers that clears the backlog within this many seconds.
    pub target_lag_s: u64,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            database_url: String::new(),
            blobs: BlobConfig::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 50052)),
            batch_capacity: 4,
            epoch_height: 1,
            wrap: WrapParams::DEFAULT,
            lease_ms: 30_000,
            max_attempts: 3,
            max_lost_leases: 20,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9101))),
            l1: L1Mode::Off,
            genesis: GenesisConfig::default(),
            data_dir: PathBuf::from("./zkr-data"),
            throwaway_l1: false,
            target_lag_s: 60,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerNodeConfig {
    /// The coordinator's URL, e.g. `http://10.0.0.5:50052`.
    pub coordinator: String,
    /// Must match the coordinator's circuits (refused at the handshake otherwise).
    pub batch_capacity: usize,
    pub epoch_height: u32,
    /// The wrap proof's parameters (the coordinator's `wrap`).
    pub wrap: WrapParams,
    pub backend: BackendChoice,
    /// Defaults to `<hostname>-<pid>`.
    pub id: Option<String>,
    pub poll_ms: u64,
    /// `/metrics`, `/healthz` and `/readyz` (the coordinator answers); off by default (workers share machines).
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for WorkerNodeConfig {
    fn default() -> Self {
        Self {
            coordinator: "http://127.0.0.1:50052".into(),
            batch_capacity: 4,
            epoch_height: 1,
            wrap: WrapParams::DEFAULT,
            backend: BackendChoice::Auto,
            id: None,
            poll_ms: 500,
            metrics_listen: None,
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
    /// The sequencer holds the queue's writer lease.
    WriterLease {
        holder: String,
        token: i64,
    },
    /// A worker's coordinator does not answer (yet): it tries again after `retry_in`.
    WaitingForCoordinator {
        url: String,
        error: String,
        retry_in: Duration,
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
            NodeEvent::WriterLease { holder, token } => {
                write!(f, "sequencer {holder}: holds the queue's writer lease (fencing token {token})")
            }
            NodeEvent::WaitingForCoordinator { url, error, retry_in } => write!(
                f,
                "waiting for the coordinator at {url} ({error}); trying again in {:.1} s",
                retry_in.as_secs_f64()
            ),
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

/// A fleet role needs the shared queue named explicitly (a default would be a queue of its own).
fn require_queue(url: &str, env: &str) -> Result<()> {
    anyhow::ensure!(
        !url.trim().is_empty(),
        "no job queue: the sequencer and the coordinator must share one; set database_url (--database-url or {env}), \
         e.g. postgres://postgres@127.0.0.1/zkr"
    );
    Ok(())
}

fn ensure_height(h: u32) -> Result<()> {
    anyhow::ensure!(h <= 10, "epoch_height {h} is too large: at most 10 (1024 batches per epoch)");
    Ok(())
}

/// `zkr sequencer`: wallet API + batcher, handing batches to the shared queue.
/// Serves /metrics, /healthz and /readyz on `addr` when one is configured, and reports the bound address.
async fn listen_metrics(
    registry: &prometheus::Registry,
    ready: &Readiness,
    addr: Option<SocketAddr>,
    shutdown: &CancellationToken,
    events: Events<'_>,
) -> Result<()> {
    if let Some(addr) = addr {
        let a = serve_metrics(registry.clone(), ready.clone(), addr, shutdown.clone())
            .await
            .with_context(|| format!("binding metrics to {addr}"))?;
        emit(events, NodeEvent::Listening { what: "metrics", addr: a });
    }
    Ok(())
}

pub async fn run_sequencer(cfg: SequencerNodeConfig, shutdown: CancellationToken, events: Events<'_>) -> Result<()> {
    ensure_height(cfg.epoch_height)?;
    require_queue(&cfg.database_url, "ZKR_SEQUENCER_DATABASE_URL")?;
    let queue = Queue::connect(&cfg.database_url, QueueConfig::default()).await.context("opening the job queue")?;
    let blobs = cfg.blobs.open().await.context("opening the blob store")?;
    let plan = EpochPlan { height: cfg.epoch_height };
    let registry = prometheus::Registry::new();
    anyhow::ensure!(cfg.writer_lease_ms >= 1_000, "writer_lease_ms must be at least 1000, got {}", cfg.writer_lease_ms);
    register_up(&registry, "sequencer")?;
    // served from here on: /healthz answers while the sequencer replays its log, /readyz says what it waits for
    let ready = Readiness::starting("taking the writer lease and replaying the log");
    ready.add(DatabaseCheck(queue.clone()));
    ready.add(BlobStoreCheck(blobs.clone()));
    listen_metrics(&registry, &ready, cfg.metrics_listen, &shutdown, events).await?;
    // One sequencer per queue: the writer lease, held under this data dir's identity (locked, so that a second
    // process on the same data dir cannot take the lease from the first), with its token on every hand-off.
    let identity = WriterIdentity::open(&cfg.sequencer.data_dir)?;
    // A sequencer with another identity than the last holder's does not hold the queue's history: refused before it
    // takes anything (so its attempt does not change who the history belongs to).
    let last = queue.writer("sequencer").await.context("reading the sequencer's writer lease")?;
    if let Some((previous, until)) = last.filter(|(h, _)| *h != identity.id) {
        let live = until > now_ms();
        if !live && queue.has_batches().await? {
            anyhow::bail!(
                "the queue's batches were written by another sequencer ({previous}), and this one ({}, data dir {}) \
                 does not hold their history: start the sequencer with the data dir that wrote them, or point this \
                 one at a fresh queue and blob store",
                identity.id,
                cfg.sequencer.data_dir.display()
            );
        }
    }
    let fence = queue
        .acquire_writer("sequencer", &identity.id, cfg.writer_lease_ms)
        .await
        .context("taking the sequencer's writer lease")?;
    emit(events, NodeEvent::WriterLease { holder: identity.id.clone(), token: fence.token });
    let fenced = CancellationToken::new();
    spawn_lease_renewal(queue.clone(), fence.clone(), cfg.writer_lease_ms, shutdown.clone(), fenced.clone());
    // the coordinator records L1 finality in the shared blob store; transaction status reads it there
    let finalized = Finalized::shared(blobs.clone());
    let wiring =
        SequencerWiring { queue: queue.clone(), blobs, plan, wake: None, fence: Some(fence.clone()), finalized };
    let seq = parts::sequencer(&cfg.sequencer, wiring, &registry).await?;
    ready.add(SequencerCheck(seq.clone()));
    let listener = tokio::net::TcpListener::bind(cfg.sequencer.listen)
        .await
        .with_context(|| format!("binding the wallet API to {}", cfg.sequencer.listen))?;
    emit(events, NodeEvent::Listening { what: "wallet API (gRPC)", addr: listener.local_addr()? });
    if let Some(addr) = cfg.sequencer.http_listen {
        let http = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the wallet HTTP API to {addr}"))?;
        emit(events, NodeEvent::Listening { what: "wallet API (HTTP)", addr: http.local_addr()? });
        let (seq, stop) = (seq.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = zkr_sequencer::serve_http_with_listener(seq, http, stop.cancelled_owned()).await {
                tracing::error!(error = %e, "wallet HTTP API stopped");
            }
        });
    }
    parts::spawn_epoch_closer(seq.clone(), plan, Duration::from_millis(cfg.epoch_timeout_ms), shutdown.clone());
    let _bridge = match (&cfg.bridge.rpc_url, &cfg.bridge.deployment) {
        (Some(url), Some(record)) => {
            let d = zkr_settle::Deployment::load(record)
                .with_context(|| format!("reading the deployment record {}", record.display()))?;
            // reading needs no key: a throwaway signer stands in (the bridge sends nothing)
            let l1 = zkr_settle::RpcL1::connect_with_signer(url, zkr_settle::PrivateKeySigner::random())
                .await
                .with_context(|| format!("connecting to {url}"))?;
            let chain = cfg.sequencer.genesis.chain_id;
            anyhow::ensure!(
                d.chain_id == chain,
                "the deployment in {} is on chain {}, the L2 signs for chain {chain}",
                record.display(),
                d.chain_id
            );
            let defaults = BridgeConfig::default();
            let bc = BridgeConfig {
                enabled: true,
                confirmations: cfg.bridge.confirmations.unwrap_or(defaults.confirmations),
                poll_ms: cfg.bridge.poll_ms.unwrap_or(defaults.poll_ms),
            };
            tracing::info!(rollup = %d.rollup, url, "bridge: following the rollup's priority queue");
            let l1: Arc<dyn zkr_settle::L1> = Arc::new(l1);
            ready.add(L1Check { l1: l1.clone(), what: url.clone() });
            let rollup = RollupAddress::new(Some(d.rollup));
            spawn_rollup_watch(l1.clone(), rollup, None, &registry, WATCH_EVERY, shutdown.clone())?;
            Some(spawn_bridge(seq.clone(), l1, d.rollup, d.deploy_block, bc, &registry, shutdown.clone())?)
        }
        (None, None) => None,
        _ => anyhow::bail!("[bridge] needs both rpc_url and deployment"),
    };
    ready.started();
    let (stop, lost, s) = (shutdown.clone(), fenced.clone(), seq.clone());
    zkr_sequencer::serve_with_listener(seq.clone(), listener, async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = lost.cancelled() => {}
            _ = s.halted() => {}
        }
    })
    .await?;
    seq.shutdown().await;
    if fenced.is_cancelled() {
        anyhow::bail!("another sequencer took over this queue's writer lease; this one stopped and wrote nothing more");
    }
    if let Some(e) = seq.halt_reason() {
        anyhow::bail!("the sequencer stopped: {e}");
    }
    queue.release_writer(&fence).await.ok();
    drop(identity);
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A sequencer data dir's identity in writer leases (`<data_dir>/writer-id`), locked while the process runs.
struct WriterIdentity {
    id: String,
    _lock: std::fs::File,
}

impl WriterIdentity {
    fn open(data_dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let path = data_dir.join("writer-id");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                anyhow::bail!("{} is in use: another sequencer runs on this data dir", data_dir.display())
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
        let mut id = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        if id.trim().is_empty() {
            let host = std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_string()).unwrap_or_default();
            let host = if host.is_empty() { "sequencer".to_string() } else { host };
            id = format!("{host}-{}", hex::encode(rand::random::<[u8; 6]>()));
            std::fs::write(&path, format!("{id}\n")).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(Self { id: id.trim().to_string(), _lock: file })
    }
}

/// Renews the writer lease every third of its length; on losing it to another sequencer, cancels `fenced`.
fn spawn_lease_renewal(
    queue: Queue,
    fence: zkr_queue::Fence,
    lease_ms: u64,
    shutdown: CancellationToken,
    fenced: CancellationToken,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(lease_ms / 3));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            match queue.renew_writer(&fence, lease_ms).await {
                Ok(()) => {}
                Err(e @ zkr_queue::QueueError::Fenced { .. }) => {
                    tracing::error!(error = %e, "writer lease lost: stopping this sequencer");
                    fenced.cancel();
                    return;
                }
                // The database may be back before the lease runs out; if not, the hand-offs are refused.
                Err(e) => tracing::warn!(error = %e, "could not renew the writer lease"),
            }
        }
    });
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
    require_queue(&cfg.database_url, "ZKR_COORDINATOR_DATABASE_URL")?;
    anyhow::ensure!(
        cfg.l1 != L1Mode::InProcess || cfg.throwaway_l1,
        "l1.mode = \"in_process\" keeps the chain inside this coordinator: a restart would start a new rollup and \
         strand the epochs the old one had not settled. A fleet settles on a lasting chain (l1.mode = \"rpc\"); for a \
         throw-away test chain set throwaway_l1 = true (ZKR_COORDINATOR_THROWAWAY_L1=true)"
    );
    let queue = Queue::connect(
        &cfg.database_url,
        QueueConfig { lease_ms: cfg.lease_ms, max_attempts: cfg.max_attempts, max_lost_leases: cfg.max_lost_leases },
    )
    .await
    .context("opening the job queue")?;
    let blobs = cfg.blobs.open().await.context("opening the blob store")?;
    let registry = prometheus::Registry::new();
    let metrics = Arc::new(ProverMetrics::register(&registry)?);
    metrics.set_worker_window(cfg.lease_ms);
    metrics.set_target_lag(cfg.target_lag_s);
    register_up(&registry, "coordinator")?;
    // served while the circuits are built: /healthz answers, /readyz says what it waits for
    let ready = Readiness::starting("building the circuits");
    ready.add(DatabaseCheck(queue.clone()));
    ready.add(BlobStoreCheck(blobs.clone()));
    listen_metrics(&registry, &ready, cfg.metrics_listen, &shutdown, events).await?;
    let (capacity, epoch_height) = (cfg.batch_capacity, cfg.epoch_height);
    emit(events, NodeEvent::BuildingCircuits { who: "coordinator".into(), capacity, epoch_height });
    let circuits = parts::circuits(capacity, epoch_height, cfg.wrap, None).await?;
    let hub = Hub {
        queue: queue.clone(),
        blobs: blobs.clone(),
        circuits: circuits.clone(),
        lease_ms: cfg.lease_ms,
        metrics: Some(metrics.clone()),
        wake: None,
    };
    let service = CoordinatorService::new(hub.clone(), tokens);
    let listener =
        tokio::net::TcpListener::bind(cfg.listen).await.with_context(|| format!("binding {}", cfg.listen))?;
    emit(events, NodeEvent::Listening { what: "coordinator (gRPC)", addr: listener.local_addr()? });
    let stop = shutdown.clone();
    let server =
        tokio::spawn(zkr_coordinator::service::serve_on(service, listener, async move { stop.cancelled().await }));

    let plan = EpochPlan { height: cfg.epoch_height };
    ready.set_starting("preparing L1 settlement");
    let settler = EpochSettler::start(&cfg.l1, &hub, plan, cfg.genesis.state(), &cfg.data_dir)
        .await
        .context("preparing L1 settlement")?;
    // the rollup is known once deployed (here, or at the first epoch it settles)
    let rollup = RollupAddress::new(settler.as_ref().and_then(|s| s.deployment()).map(|d| d.rollup));
    if let Some(s) = &settler {
        let l1 = s.l1();
        ready.add(L1Check { l1: l1.clone(), what: l1_name(&cfg.l1) });
        let operator = l1.sender();
        spawn_rollup_watch(l1, rollup.clone(), Some(operator), &registry, WATCH_EVERY, shutdown.clone())?;
    }
    let finalized = Finalized::shared(blobs.clone());
    let (mut control, _earlier) =
        parts::epoch_control(queue, blobs, circuits, plan, metrics, settler, finalized).await?;
    ready.started();
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
                SettleOutcome::Deployed(d) => {
                    rollup.set(d.rollup);
                    emit(events, NodeEvent::Deployed(d))
                }
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

/// Where settlement goes, for readiness reasons.
fn l1_name(mode: &L1Mode) -> String {
    match mode {
        L1Mode::Rpc { url, .. } => url.clone(),
        L1Mode::InProcess => "in process".into(),
        L1Mode::Off => "off".into(),
    }
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
    let source = RemoteSource::new(&cfg.coordinator, token, backend.kind.name(), cfg.batch_capacity, cfg.epoch_height)?
        .with_wrap(cfg.wrap);
    let ready = Readiness::starting("waiting for the coordinator");
    if cfg.metrics_listen.is_some() {
        let registry = prometheus::Registry::new();
        register_up(&registry, "worker")?;
        listen_metrics(&registry, &ready, cfg.metrics_listen, &shutdown, events).await?;
    }
    // The handshake comes before the circuits are built: a refused worker stops in milliseconds, and one started
    // before its coordinator waits for it.
    let mut wait = Duration::from_millis(500);
    loop {
        match source.hello(&id).await {
            Ok(_) => break,
            Err(e) if e.is_transient() => {
                emit(
                    events,
                    NodeEvent::WaitingForCoordinator {
                        url: cfg.coordinator.clone(),
                        error: e.to_string(),
                        retry_in: wait,
                    },
                );
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(WorkerStats::default()),
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(Duration::from_secs(10));
            }
            Err(e) => {
                return Err(anyhow::Error::new(e))
                    .with_context(|| format!("the coordinator at {} refused worker {id}", cfg.coordinator))
            }
        }
    }
    let (capacity, epoch_height) = (cfg.batch_capacity, cfg.epoch_height);
    ready.set_starting("building the circuits");
    emit(events, NodeEvent::BuildingCircuits { who: format!("worker {id}"), capacity, epoch_height });
    let circuits = parts::circuits(capacity, epoch_height, cfg.wrap, None).await?;
    ready.add(CoordinatorCheck { source: source.clone(), url: cfg.coordinator.clone(), worker: id.clone() });
    ready.started();
    emit(events, NodeEvent::WorkerReady { id: id.clone(), backend: backend.kind.to_string() });
    let stats = run_worker(
        Arc::new(source),
        circuits,
        WorkerConfig { id, backend, poll_ms: cfg.poll_ms, wake: None },
        None,
        shutdown,
    )
    .await;
    if let Some(why) = &stats.stopped_by {
        anyhow::bail!("the coordinator at {} refused this worker: {why}", cfg.coordinator);
    }
    Ok(stats)
}
