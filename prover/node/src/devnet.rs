//! `zkr devnet`: the whole pipeline in one process on the embedded SQLite default —
//! sequencer, W workers, aggregator — with an optional load generator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use zkr_circuits::tx::{Transfer, Tx};
use zkr_queue::{JobKind, JobState, Queue};
use zkr_sequencer::{Sequencer, SequencerConfig};

use crate::bridge::{spawn_bridge, BridgeConfig};
pub use crate::demo::DemoDeposit;
use crate::health::{BlobStoreCheck, DatabaseCheck, L1Check, SequencerCheck};
use crate::node::{LocalNode, LocalNodeConfig};
use crate::parts;
use crate::rollup_watch::{spawn_rollup_watch, RollupAddress, WATCH_EVERY};
use zkr_coordinator::epochs::EpochProof;
use zkr_coordinator::settlement::{EpochSettler, L1Mode, SettleOutcome, SettledEpoch};
use zkr_worker::backend::BackendChoice;
use zkr_worker::metrics::{register_up, serve_metrics, Readiness};
use zkr_worker::worker::WorkerStats;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevnetConfig {
    /// Everything lives here: sequencer.db, queue.db, blobs/. Reusing it resumes.
    pub data_dir: PathBuf,
    /// Transactions per batch (the batch circuit's capacity).
    pub capacity: usize,
    /// Epochs hold 2^epoch_height batches.
    pub epoch_height: u32,
    /// In-process prover workers.
    pub workers: usize,
    pub backend: BackendChoice,
    /// Run the load generator.
    pub demo: bool,
    /// Load generator rate (signed transfers per second).
    pub demo_tps: f64,
    /// A non-empty open batch is sealed this long after its first transaction.
    pub max_wait_ms: u64,
    /// An epoch that has begun is completed with empty batches after this long.
    pub epoch_timeout_ms: u64,
    /// Stop after this many new epochs are verified; `None`: run until Ctrl-C.
    pub stop_after_epochs: Option<u64>,
    /// Wallet gRPC API; `None` to run without it.
    pub grpc_listen: Option<SocketAddr>,
    /// The wallet API's HTTP/JSON gateway (for browsers); `None` to run without it.
    pub http_listen: Option<SocketAddr>,
    /// Prometheus `/metrics`; `None` to run without it.
    pub metrics_listen: Option<SocketAddr>,
    pub lease_ms: u64,
    /// Where verified epochs are settled (`[l1] mode = "in_process" | "off" | "rpc"`).
    pub l1: L1Mode,
    /// The bridge's L1 → L2 side: deposits and forced exits taken from the rollup's priority queue.
    pub bridge: BridgeConfig,
    /// `zkr_workers_wanted` is the number of workers that clears the backlog within this many seconds.
    pub target_lag_s: u64,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./zkr-data"),
            capacity: 4,
            epoch_height: 1,
            workers: 2,
            backend: BackendChoice::Auto,
            demo: false,
            demo_tps: 4.0,
            max_wait_ms: 2000,
            epoch_timeout_ms: 10_000,
            stop_after_epochs: Some(1),
            grpc_listen: Some(SocketAddr::from(([127, 0, 0, 1], 50051))),
            http_listen: Some(SocketAddr::from(([127, 0, 0, 1], 50080))),
            metrics_listen: None,
            lease_ms: 30_000,
            l1: L1Mode::InProcess,
            bridge: BridgeConfig::default(),
            target_lag_s: 60,
        }
    }
}

/// A snapshot for the progress display.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DevnetStatus {
    pub elapsed_s: f64,
    pub txs_submitted: u64,
    pub txs_refused: u64,
    pub batches_sealed: u64,
    pub batches_proven: u64,
    pub aggregations_done: u64,
    /// Epoch proofs wrapped for L1 (by the workers, as `wrap` jobs).
    pub wraps_done: u64,
    pub queued: u64,
    pub leased: u64,
    pub waiting: u64,
    pub dead: u64,
    pub epochs_verified: u64,
    /// Epochs finalized on L1 in this run.
    pub epochs_finalized: u64,
    /// Failed settlement attempts in this run (each is retried with backoff).
    pub settlement_failures: u64,
    /// L1 priority operations (deposits, forced exits) the bridge handed to the sequencer in this run.
    pub bridge_taken: u64,
    /// Why the bridge stopped, if it did.
    pub bridge_incident: Option<String>,
    /// The latest failure, while the epoch it concerns is still being retried.
    pub last_settlement_error: Option<String>,
    pub root: String,
}

/// What a devnet run did.
#[derive(Clone, Debug, Default)]
pub struct DevnetReport {
    pub epochs: Vec<EpochProof>,
    /// Epochs settled on L1 in this run, in order.
    pub settled: Vec<SettledEpoch>,
    /// Where the L1 contracts are, once deployed.
    pub deployment: Option<zkr_settle::Deployment>,
    pub status: DevnetStatus,
    pub workers: Vec<WorkerStats>,
    pub grpc_addr: Option<SocketAddr>,
    /// Where the wallet API's HTTP gateway was served.
    pub http_addr: Option<SocketAddr>,
    /// The demo's deposits on L1 and how long each took to reach the L2.
    pub deposits: Vec<DemoDeposit>,
}

/// Runs the devnet until the target epochs are verified or `shutdown` is cancelled.
/// `on_status` is called about once a second.
pub async fn run(
    cfg: DevnetConfig,
    shutdown: CancellationToken,
    mut on_status: impl FnMut(&DevnetStatus),
) -> Result<DevnetReport> {
    let started = Instant::now();
    let backend = cfg.backend.resolve()?;
    let node = LocalNode::open(
        LocalNodeConfig {
            epoch_height: cfg.epoch_height,
            lease_ms: cfg.lease_ms,
            sequencer: SequencerConfig {
                data_dir: cfg.data_dir.clone(),
                batch_capacity: cfg.capacity,
                max_wait_ms: cfg.max_wait_ms,
                ..SequencerConfig::default()
            },
        },
        None,
    )
    .await?;
    let (queue, seq, plan) = (node.queue.clone(), node.seq.clone(), node.plan);
    node.metrics.set_target_lag(cfg.target_lag_s);
    register_up(&node.registry, "devnet")?;
    let mut settler = EpochSettler::start(&cfg.l1, &node.hub(), plan, seq.config().genesis.state(), &cfg.data_dir)
        .await
        .context("preparing L1 settlement")?;
    let mut report = DevnetReport::default();
    let bridge_stop = shutdown.child_token();
    let _bridge_guard = bridge_stop.clone().drop_guard();
    // The bridge needs the rollup before anything settles (deposits are made on L1 first): a fresh devnet deploys
    // it now. An in-process L1 lives in memory, so a resumed devnet's new chain has lost the earlier deposits and
    // queue: it settles from where it resumes, without the bridge.
    let mut l1_bridge = None;
    if let (Some(s), true) = (settler.as_mut(), cfg.bridge.enabled) {
        let info = seq.info().await?;
        let fresh = info.batches_sealed == 0 && info.open_batch_txs == 0;
        let deployment = match (s.deployment().cloned(), fresh) {
            (Some(d), _) => Some(d),
            (None, true) => Some(s.deploy_at_genesis().await.context("deploying the L1 contracts")?),
            (None, false) => None,
        };
        let in_memory_resumed = cfg.l1 == L1Mode::InProcess && !fresh;
        match deployment {
            Some(d) if !in_memory_resumed => {
                let b = spawn_bridge(
                    seq.clone(),
                    s.l1(),
                    d.rollup,
                    d.deploy_block,
                    cfg.bridge,
                    &node.registry,
                    bridge_stop.clone(),
                )?;
                tracing::info!(rollup = %d.rollup, confirmations = cfg.bridge.confirmations, "bridge: following the rollup's priority queue");
                l1_bridge = Some((b, s.l1(), d.rollup));
                report.deployment = Some(d);
            }
            _ if in_memory_resumed => tracing::info!(
                "bridge off: this devnet resumes on a new in-process chain, which has lost the earlier deposits \
                 (deposits need a fresh data dir or a JSON-RPC L1)"
            ),
            _ => tracing::info!(
                "bridge off: no rollup is deployed yet (it is at the first epoch to settle); restart the devnet then to \
                 follow its priority queue"
            ),
        }
    }

    // the rollup is known once deployed (above, or at the first epoch it settles)
    let rollup = RollupAddress::new(settler.as_ref().and_then(|s| s.deployment()).map(|d| d.rollup));
    let ready = Readiness::default();
    ready.add(DatabaseCheck(queue.clone()));
    ready.add(BlobStoreCheck(node.blobs.clone()));
    ready.add(SequencerCheck(seq.clone()));
    if let Some(s) = &settler {
        let l1 = s.l1();
        let what = match &cfg.l1 {
            L1Mode::Rpc { url, .. } => url.clone(),
            _ => "in process".to_string(),
        };
        ready.add(L1Check { l1: l1.clone(), what });
        let operator = l1.sender();
        spawn_rollup_watch(l1, rollup.clone(), Some(operator), &node.registry, WATCH_EVERY, shutdown.clone())?;
    }
    let grpc_addr = match cfg.grpc_listen {
        Some(addr) => Some(node.serve_wallet_api(addr, &shutdown).await?),
        None => None,
    };
    let http_addr = match cfg.http_listen {
        Some(addr) => Some(node.serve_wallet_http(addr, &shutdown).await?),
        None => None,
    };
    if let Some(addr) = cfg.metrics_listen {
        let a = serve_metrics(node.registry.clone(), ready.clone(), addr, shutdown.clone()).await?;
        tracing::info!(%a, "metrics at http://{a}/metrics");
    }

    let workers_stop = shutdown.child_token();
    let worker_handles =
        node.spawn_workers(cfg.workers, &format!("devnet-{}", std::process::id()), &backend, &workers_stop);

    let submitted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let load_stop = shutdown.child_token();
    let (seq_for_demo, tps, submitted_d, refused_d) = (seq.clone(), cfg.demo_tps, submitted.clone(), refused.clone());
    let demo_stop = load_stop.clone();
    let demo_deposits = Arc::new(std::sync::Mutex::new(Vec::new()));
    let deposits_seen = demo_deposits.clone();
    if cfg.demo {
        let bridge = l1_bridge.as_ref().map(|(_, l1, rollup)| (l1.clone(), *rollup));
        tokio::spawn(async move {
            if let Some((l1, rollup)) = bridge {
                let d = crate::demo::BridgeDemo {
                    seq: seq_for_demo.clone(),
                    l1,
                    rollup,
                    stop: demo_stop.clone(),
                    deposits: demo_deposits,
                };
                match d.run(&submitted_d).await {
                    Ok(Some(withdrawal)) => {
                        tokio::spawn(async move {
                            if let Err(e) = d.pull_when_finalized(withdrawal).await {
                                tracing::warn!(error = %format!("{e:#}"), "demo: pulling the withdrawal failed");
                            }
                        });
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "demo: the bridge flows failed; random transfers go on")
                    }
                }
            }
            load_generator(seq_for_demo, tps, submitted_d, refused_d, demo_stop).await
        });
    }

    let (mut control, earlier_epochs) = parts::epoch_control(
        queue.clone(),
        node.blobs.clone(),
        node.circuits.clone(),
        plan,
        node.metrics.clone(),
        settler,
        node.finalized.clone(),
    )
    .await?;
    // Epochs finished in an earlier run count as done already.
    let earlier = earlier_epochs.len() as u64;
    let target = cfg.stop_after_epochs.map(|n| earlier + n);
    report.grpc_addr = grpc_addr;
    report.http_addr = http_addr;
    // Close an epoch that has begun but stalls (no load): pad it with empty batches.
    let closer_stop = shutdown.child_token();
    parts::spawn_epoch_closer(seq.clone(), plan, Duration::from_millis(cfg.epoch_timeout_ms), closer_stop.clone());
    // stopped however this function returns
    let _closer = closer_stop.drop_guard();
    let mut tick = tokio::time::interval(Duration::from_millis(1000));
    let (mut failures, mut last_error) = (0u64, None);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Some(e) = seq.halt_reason() {
            // the sequencer refuses all work now (another history in the blob store): stop, saying why
            anyhow::bail!("the sequencer stopped: {e}");
        }
        let round = control.tick().await?;
        report.epochs.extend(round.verified);
        for o in round.settlement {
            match o {
                SettleOutcome::Deployed(d) => {
                    rollup.set(d.rollup);
                    report.deployment = Some(d)
                }
                SettleOutcome::Settled { settled, .. } => {
                    last_error = None;
                    report.settled.extend(settled);
                }
                SettleOutcome::Failed { epoch, attempt, error, retry_in } => {
                    failures += 1;
                    last_error = Some(format!(
                        "epoch {epoch}, attempt {attempt} (retrying in {:.0} s): {error:#}",
                        retry_in.as_secs_f64()
                    ));
                }
            }
        }

        let mut status = snapshot(&queue, &seq, started, &submitted, &refused, control.verified()).await;
        status.epochs_finalized = control.finalized();
        status.settlement_failures = failures;
        status.last_settlement_error = last_error.clone();
        if let Some((b, _, _)) = &l1_bridge {
            let bs = b.status();
            status.bridge_taken = bs.taken;
            status.bridge_incident = bs.incident;
        }
        let settled_new = report.settled.iter().filter(|s| s.epoch >= earlier).count() as u64;
        on_status(&status);
        report.status = status;
        // with settlement on, an epoch counts once it is finalized on L1
        let done = if control.settling() { settled_new } else { report.epochs.len() as u64 };
        if target.is_some_and(|t| earlier + done >= t) {
            break;
        }
    }
    load_stop.cancel();
    report.deposits = deposits_seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    workers_stop.cancel();
    for h in worker_handles {
        report.workers.push(h.await.unwrap_or_default());
    }
    node.shutdown().await;
    shutdown.cancel();
    Ok(report)
}

async fn snapshot(
    queue: &Queue,
    seq: &Sequencer,
    started: Instant,
    submitted: &AtomicU64,
    refused: &AtomicU64,
    epochs: u64,
) -> DevnetStatus {
    let mut s = DevnetStatus {
        elapsed_s: started.elapsed().as_secs_f64(),
        txs_submitted: submitted.load(Ordering::Relaxed),
        txs_refused: refused.load(Ordering::Relaxed),
        batches_sealed: seq.batches_sealed().await.unwrap_or(0),
        epochs_verified: epochs,
        root: seq.root().await.map(|r| zkr_circuits::artifact::digest_hex(&r)[..16].to_string()).unwrap_or_default(),
        ..DevnetStatus::default()
    };
    if let Ok(rows) = queue.depth().await {
        for (kind, state, n) in rows {
            match (kind, state) {
                (JobKind::ProveBatch, JobState::Done) => s.batches_proven += n,
                (JobKind::Aggregate, JobState::Done) => s.aggregations_done += n,
                (JobKind::Wrap, JobState::Done) => s.wraps_done += n,
                (_, JobState::Queued) => s.queued += n,
                (_, JobState::Leased) => s.leased += n,
                (_, JobState::Waiting) => s.waiting += n,
                (_, JobState::Dead) => s.dead += n,
            }
        }
    }
    s
}

/// Signs random transfers between the genesis accounts and submits them in-process.
async fn load_generator(
    seq: Sequencer,
    tps: f64,
    submitted: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    stop: CancellationToken,
) {
    let keys = seq.config().genesis.keys();
    let domain = seq.config().genesis.domain();
    let fee = seq.config().min_fee;
    let accounts = keys.len().saturating_sub(1) as u32;
    if accounts < 2 {
        tracing::warn!("the load generator needs at least two genesis accounts");
        return;
    }
    let mut rng = ChaCha20Rng::from_entropy();
    let mut nonces = std::collections::HashMap::new();
    let every = Duration::from_secs_f64(1.0 / tps.max(0.01));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let from = rng.gen_range(0..accounts);
        let to = (from + rng.gen_range(1..accounts)) % accounts;
        let nonce = match nonces.get(&from) {
            Some(n) => *n,
            None => seq.account(from, false).await.ok().and_then(|a| a.account).map_or(0, |a| a.nonce),
        };
        let tx = Tx::Transfer(Transfer { from, to, amount: rng.gen_range(1..=100), fee, nonce })
            .sign(&keys[from as usize], &domain);
        match seq.submit(&tx.to_bytes()).await {
            Ok(_) => {
                submitted.fetch_add(1, Ordering::Relaxed);
                nonces.insert(from, nonce + 1);
            }
            Err(e) => {
                refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "load generator: transaction refused");
                nonces.remove(&from);
            }
        }
    }
}
