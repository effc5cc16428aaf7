//! `zkr bench pipeline`: the whole pipeline in one process (sequencer behind its real gRPC
//! API, SQLite queue, in-process workers) under load.
//!
//! Measures soft-confirmation latency (submit → acknowledgement over gRPC) at a nominal
//! rate and at a burst, the time from submit to proven and to aggregated, queue depth over
//! time, and the pipeline's overhead: enqueue → accepted proof per batch job, against
//! proving the very same batch directly with the circuit.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use zkr_circuits::batch::Batch;
use zkr_circuits::tx::{Transfer, Tx};
use zkr_node::node::{LocalNode, LocalNodeConfig};
use zkr_queue::{JobKind, JobState};
use zkr_sequencer::proto::wallet_client::WalletClient;
use zkr_sequencer::{SequencerConfig, TxHash, TxStage};
use zkr_worker::backend::ProvingBackend;
use zkr_worker::exec::Circuits;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PipelineBenchConfig {
    pub capacity: usize,
    pub epoch_height: u32,
    pub workers: usize,
    /// Nominal load in transactions per second; the burst is `burst_factor` times that.
    pub nominal_tps: f64,
    pub burst_factor: f64,
    /// Seconds of load per phase.
    pub phase_secs: f64,
    /// Batches proven one at a time for the overhead measurement.
    pub overhead_batches: usize,
}

impl Default for PipelineBenchConfig {
    fn default() -> Self {
        Self {
            capacity: 4,
            epoch_height: 1,
            workers: 1,
            nominal_tps: 4.0,
            burst_factor: 5.0,
            phase_secs: 15.0,
            overhead_batches: 6,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Percentiles {
    pub n: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of(mut v: Vec<f64>) -> Self {
        if v.is_empty() {
            return Self::default();
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
        Self { n: v.len(), p50_ms: at(0.5), p99_ms: at(0.99), max_ms: v[v.len() - 1] }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoadPhase {
    pub name: String,
    pub target_tps: f64,
    pub submitted: usize,
    pub refused: usize,
    pub soft_confirmation: Percentiles,
    pub to_proven: Percentiles,
    pub to_aggregated: Percentiles,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Overhead {
    pub batches: usize,
    /// Per batch: enqueue → proof accepted (queue wait, blob I/O, (de)serialization,
    /// proving, verification, completion).
    pub pipeline_ms: Vec<f64>,
    /// Per batch: `BatchCircuit::prove` on the same batch, directly.
    pub direct_ms: Vec<f64>,
    pub overhead_pct: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PipelineReport {
    pub config: Option<PipelineBenchConfig>,
    pub phases: Vec<LoadPhase>,
    pub overhead: Overhead,
    /// (seconds since start, queued + leased + waiting jobs)
    pub queue_depth: Vec<(f64, u64)>,
}

/// Latency samples in milliseconds, shared between tasks.
type Samples = Arc<Mutex<Vec<f64>>>;

/// The devnet's node (the one builder) with its wallet API on a free port and a client of it: the load profile runs
/// against this.
struct Rig {
    node: LocalNode,
    client: WalletClient<tonic::transport::Channel>,
    keys: Vec<zkr_circuits::schnorr::SecretKey>,
    /// What the wallet API says signatures are for.
    domain: zkr_circuits::tx::Domain,
    nonces: Arc<Mutex<HashMap<u32, u32>>>,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

async fn rig(cfg: &PipelineBenchConfig, circuits: Arc<Circuits>) -> Result<Rig> {
    let dir = tempfile::tempdir()?;
    let mut sequencer = SequencerConfig {
        data_dir: dir.path().to_path_buf(),
        batch_capacity: cfg.capacity,
        max_wait_ms: 1000,
        progress_poll_ms: 100,
        ..SequencerConfig::default()
    };
    sequencer.genesis.demo_accounts = 32;
    let node_cfg = LocalNodeConfig { epoch_height: cfg.epoch_height, lease_ms: 30_000, sequencer };
    let node = LocalNode::open(node_cfg, Some(circuits)).await?;
    let stop = CancellationToken::new();
    let addr = node.serve_wallet_api("127.0.0.1:0".parse()?, &stop).await?;
    let client = WalletClient::connect(format!("http://{addr}")).await.context("connecting to the wallet API")?;
    node.spawn_workers(cfg.workers, "bench", &ProvingBackend::cpu(), &stop);
    let keys = node.seq.config().genesis.keys();
    // as a wallet does: ask the API which deployment to sign for
    let info = client.clone().get_info(zkr_sequencer::proto::GetInfoRequest {}).await?.into_inner();
    let domain = zkr_circuits::tx::Domain { chain_id: info.chain_id, rollup_id: info.rollup_id };
    Ok(Rig { node, client, keys, domain, nonces: Arc::new(Mutex::new(HashMap::new())), stop, _dir: dir })
}

impl Rig {
    /// Signs and submits one random transfer over gRPC; returns its hash and the ack latency.
    async fn submit_random(&self, seed: u64) -> Result<(TxHash, f64), String> {
        let rng = &mut ChaCha20Rng::seed_from_u64(seed);
        let accounts = (self.keys.len() - 1) as u32;
        let from = rng.gen_range(0..accounts);
        let to = (from + rng.gen_range(1..accounts)) % accounts;
        let nonce = {
            let mut n = self.nonces.lock().await;
            let e = n.entry(from).or_insert(0);
            let v = *e;
            *e += 1;
            v
        };
        let tx =
            Tx::Transfer(Transfer { from, to, amount: 1, fee: 0, nonce }).sign(&self.keys[from as usize], &self.domain);
        let hash = TxHash::of(&tx.tx.id());
        let mut c = self.client.clone();
        let t = Instant::now();
        match c.submit_tx(zkr_sequencer::proto::SubmitTxRequest { tx: tx.to_bytes() }).await {
            Ok(_) => Ok((hash, 1e3 * t.elapsed().as_secs_f64())),
            Err(s) => Err(s.message().to_string()),
        }
    }

    async fn depth(&self) -> u64 {
        self.node
            .queue
            .depth()
            .await
            .map(|rows| {
                rows.iter()
                    .filter(|(_, s, _)| matches!(s, JobState::Queued | JobState::Leased | JobState::Waiting))
                    .map(|r| r.2)
                    .sum()
            })
            .unwrap_or(0)
    }
}

async fn load_phase(
    rig: &Rig,
    epoch_batches: u64,
    name: &str,
    tps: f64,
    secs: f64,
    depth: &Arc<Mutex<Vec<(f64, u64)>>>,
    t0: Instant,
) -> Result<LoadPhase> {
    let mut updates = rig.node.seq.subscribe();
    let submitted_at: Arc<Mutex<HashMap<TxHash, Instant>>> = Arc::default();
    let acks: Arc<Mutex<Vec<f64>>> = Arc::default();
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let proven: Samples = Arc::default();
    let aggregated: Samples = Arc::default();

    let listen_stop = CancellationToken::new();
    let listener = {
        let (sa, p, a, stop) = (submitted_at.clone(), proven.clone(), aggregated.clone(), listen_stop.clone());
        tokio::spawn(async move {
            loop {
                let u = tokio::select! {
                    _ = stop.cancelled() => return,
                    u = updates.recv() => u,
                };
                let Ok(u) = u else { continue };
                let Some(start) = sa.lock().await.get(&u.hash).copied() else { continue };
                let ms = 1e3 * start.elapsed().as_secs_f64();
                match u.status.stage {
                    TxStage::Proven => p.lock().await.push(ms),
                    TxStage::Aggregated => a.lock().await.push(ms),
                    _ => {}
                }
            }
        })
    };

    let every = Duration::from_secs_f64(1.0 / tps);
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut rng = ChaCha20Rng::seed_from_u64(tps.to_bits());
    let mut tick = tokio::time::interval(every);
    let mut last_sample = Instant::now();
    let mut n = 0;
    let mut inflight = Vec::new();
    while Instant::now() < end {
        tick.tick().await;
        n += 1;
        let seed: u64 = rng.gen();
        let (sa, acks, refused) = (submitted_at.clone(), acks.clone(), refused.clone());
        let fut = rig.submit_random(seed);
        // Submissions overlap, as from many wallets.
        let started = Instant::now();
        inflight.push(async move {
            match fut.await {
                Ok((hash, ms)) => {
                    sa.lock().await.insert(hash, started);
                    acks.lock().await.push(ms);
                }
                Err(_) => {
                    refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        if inflight.len() >= 8 {
            futures_join(std::mem::take(&mut inflight)).await;
        }
        if last_sample.elapsed() >= Duration::from_millis(250) {
            depth.lock().await.push((t0.elapsed().as_secs_f64(), rig.depth().await));
            last_sample = Instant::now();
        }
    }
    futures_join(inflight).await;
    // Let the tail of the phase be proven and aggregated (padding the epoch if needed).
    let drain_end = Instant::now() + Duration::from_secs(120);
    let want = submitted_at.lock().await.len();
    while Instant::now() < drain_end && aggregated.lock().await.len() < want {
        tokio::time::sleep(Duration::from_millis(250)).await;
        depth.lock().await.push((t0.elapsed().as_secs_f64(), rig.depth().await));
        let info = rig.node.seq.info().await?;
        if info.open_batch_txs > 0 || !info.batches_sealed.is_multiple_of(epoch_batches) {
            let _ = rig.node.seq.seal_now(true).await;
        }
    }
    listen_stop.cancel();
    let _ = listener.await;
    let phase = LoadPhase {
        name: name.to_string(),
        target_tps: tps,
        submitted: n,
        refused: refused.load(std::sync::atomic::Ordering::Relaxed),
        soft_confirmation: Percentiles::of(acks.lock().await.clone()),
        to_proven: Percentiles::of(proven.lock().await.clone()),
        to_aggregated: Percentiles::of(aggregated.lock().await.clone()),
    };
    Ok(phase)
}

async fn futures_join<F: std::future::Future<Output = ()>>(v: Vec<F>) {
    for f in v {
        f.await;
    }
}

async fn wait_idle(rig: &Rig) {
    while rig.depth().await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn overhead(rig: &Rig, cfg: &PipelineBenchConfig) -> Result<Overhead> {
    let mut out = Overhead::default();
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    for _ in 0..cfg.overhead_batches {
        // Both sides are measured on an otherwise idle machine: aggregation jobs of
        // finished epochs would compete with the batch being timed.
        wait_idle(rig).await;
        let first = rig.node.seq.batches_sealed().await?;
        for _ in 0..cfg.capacity {
            rig.submit_random(rng.gen()).await.map_err(|e| anyhow::anyhow!("submit refused: {e}"))?;
        }
        // the batch seals on capacity; wait for its proof to be accepted
        let job = loop {
            if let Some(j) = rig.node.queue.find(JobKind::ProveBatch, first, first, 0).await? {
                if j.state == JobState::Done {
                    break j;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        out.pipeline_ms.push((job.updated_at - job.created_at) as f64);
        wait_idle(rig).await;
        let trace = rig.node.blobs.get(&job.input_key).await?;
        let circuits = rig.node.circuits.clone();
        let ms = tokio::task::spawn_blocking(move || -> Result<f64> {
            let batch = Batch::from_bytes(&trace)?;
            let t = Instant::now();
            circuits.tree.batch.prove(&batch)?;
            Ok(1e3 * t.elapsed().as_secs_f64())
        })
        .await??;
        out.direct_ms.push(ms);
    }
    out.batches = out.pipeline_ms.len();
    let (p, d): (f64, f64) = (out.pipeline_ms.iter().sum(), out.direct_ms.iter().sum());
    out.overhead_pct = if d > 0.0 { 100.0 * (p - d) / d } else { 0.0 };
    Ok(out)
}

/// Runs the whole benchmark; `log` receives status lines.
pub async fn run(cfg: PipelineBenchConfig, mut log: impl FnMut(&str)) -> Result<PipelineReport> {
    log(&format!("building circuits (capacity {}, epoch height {}) …", cfg.capacity, cfg.epoch_height));
    let (c, h) = (cfg.capacity, cfg.epoch_height);
    let circuits = Arc::new(tokio::task::spawn_blocking(move || Circuits::build(c, h)).await?);
    let t0 = Instant::now();
    let depth: Arc<Mutex<Vec<(f64, u64)>>> = Arc::default();
    let mut report = PipelineReport { config: Some(cfg.clone()), ..PipelineReport::default() };

    log(&format!("overhead: {} batches, one at a time …", cfg.overhead_batches));
    let r = rig(&cfg, circuits.clone()).await?;
    report.overhead = overhead(&r, &cfg).await?;
    r.stop.cancel();
    r.node.shutdown().await;

    for (name, tps) in [("nominal", cfg.nominal_tps), ("burst", cfg.nominal_tps * cfg.burst_factor)] {
        log(&format!("{name}: {tps} tx/s for {} s, then drain …", cfg.phase_secs));
        let r = rig(&cfg, circuits.clone()).await?;
        let phase = load_phase(&r, 1 << cfg.epoch_height, name, tps, cfg.phase_secs, &depth, t0).await?;
        log(&format!(
            "  soft confirmation p50 {:.1} ms p99 {:.1} ms; to proven p50 {:.0} ms; to aggregated p50 {:.0} ms",
            phase.soft_confirmation.p50_ms,
            phase.soft_confirmation.p99_ms,
            phase.to_proven.p50_ms,
            phase.to_aggregated.p50_ms
        ));
        report.phases.push(phase);
        r.stop.cancel();
        r.node.shutdown().await;
    }
    report.queue_depth = depth.lock().await.clone();
    Ok(report)
}

pub fn render_markdown(r: &PipelineReport, machine: &str) -> String {
    let mut s = String::from("# zkr bench pipeline\n\n");
    if let Some(c) = &r.config {
        s.push_str(&format!(
            "Machine: {machine}. Sequencer behind its gRPC API, SQLite queue, {} in-process CPU worker(s), batch capacity {}, epochs of {} batches.\n\n",
            c.workers,
            c.capacity,
            1u64 << c.epoch_height
        ));
    }
    s.push_str("## Latency under load\n\n| phase | target tx/s | submitted | refused | soft confirmation p50 / p99 ms | submit → proven p50 / p99 ms | submit → aggregated p50 / p99 ms |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for p in &r.phases {
        s.push_str(&format!(
            "| {} | {:.0} | {} | {} | {:.1} / {:.1} | {:.0} / {:.0} | {:.0} / {:.0} |\n",
            p.name,
            p.target_tps,
            p.submitted,
            p.refused,
            p.soft_confirmation.p50_ms,
            p.soft_confirmation.p99_ms,
            p.to_proven.p50_ms,
            p.to_proven.p99_ms,
            p.to_aggregated.p50_ms,
            p.to_aggregated.p99_ms
        ));
    }
    let o = &r.overhead;
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    s.push_str(&format!(
        "\n## Pipeline overhead\n\nPer batch, enqueue → proof accepted (queue, blob I/O, serialization, worker, proving, verification, completion) against proving the same batch directly, {} batches one at a time:\n\n| pipeline mean ms | direct prove mean ms | overhead |\n|---:|---:|---:|\n| {:.0} | {:.0} | {:+.1} % |\n",
        o.batches,
        mean(&o.pipeline_ms),
        mean(&o.direct_ms),
        o.overhead_pct
    ));
    s.push_str("\n![queue depth](pipeline.svg)\n");
    s
}
