//! Prometheus metrics of the prover side (the coordinator's and the devnet's: queue, proofs, workers, epochs,
//! settlement), and the small HTTP endpoint every role serves them on: `/metrics`, `/healthz` (the process answers)
//! and `/readyz` (its dependencies answer, see [`ReadyCheck`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use zkr_queue::{JobKind, JobState, Queue};

use crate::backend::Backend;

/// The settlement steps, as the `step` label of the settlement metrics names them.
pub const SETTLEMENT_STEPS: [&str; 3] = ["commit", "prove", "execute"];

/// Why a settlement attempt failed, the `reason` label of `zkr_settlement_errors_total`: the L1 reverted the
/// transaction; the L1 node did not answer or refused the request; the transaction was not mined or confirmed in
/// time; it was reorganised out of the chain; the epoch's wrap proof is missing (a dead wrap job) or does not
/// check; anything else (an epoch whose data does not match its proof, a store that cannot be read).
pub const SETTLEMENT_REASONS: [&str; 6] = ["reverted", "rpc", "timeout", "reorged", "wrap", "other"];

/// The `step` label of `zkr_l1_gas_used_total`: the settlement steps, contract deployments, anything else sent.
pub const GAS_STEPS: [&str; 5] = ["commit", "prove", "execute", "deploy", "other"];

/// Proving times of the latest accepted proofs kept to estimate a worker's throughput for `zkr_workers_wanted`.
const THROUGHPUT_SAMPLES: usize = 200;

#[derive(Clone, Debug)]
pub struct ProverMetrics {
    pub queue_depth: IntGaugeVec,
    pub proving_seconds: HistogramVec,
    pub job_attempts: HistogramVec,
    pub jobs_completed: IntCounterVec,
    pub active_workers: IntGauge,
    pub remote_workers: IntGauge,
    pub job_duration: HistogramVec,
    pub epochs_verified: IntGauge,
    pub epochs_finalized: IntGauge,
    pub epochs_awaiting_settlement: IntGauge,
    /// Accepted proofs by kind and by the backend that made them.
    pub proofs: IntCounterVec,
    /// Workers needed to clear the backlog within the target lag ([`workers_wanted`]).
    pub workers_wanted: IntGauge,
    /// An epoch's last batch sealed → the epoch finalized on L1.
    pub epoch_l2_to_l1: Histogram,
    pub settlement_attempts: IntCounterVec,
    pub settlement_errors: IntCounterVec,
    pub l1_gas: IntCounterVec,
    pub deposits_finalized: IntCounter,
    pub withdrawals_finalized: IntCounter,
    /// Remote workers by id → when last seen (for `remote_workers`).
    seen: Arc<Mutex<std::collections::HashMap<String, std::time::Instant>>>,
    /// A worker not heard from for this long no longer counts (milliseconds; see [`Self::set_worker_window`]).
    worker_window_ms: Arc<AtomicU64>,
    /// Proving seconds of the latest accepted proofs.
    recent: Arc<Mutex<VecDeque<f64>>>,
    /// `zkr_workers_wanted` sizes the fleet to clear the backlog within this many seconds.
    target_lag_s: Arc<AtomicU64>,
}

pub fn kind_label(k: JobKind) -> &'static str {
    match k {
        JobKind::ProveBatch => "prove_batch",
        JobKind::Aggregate => "aggregate",
        JobKind::Wrap => "wrap",
    }
}

fn state_label(s: JobState) -> String {
    format!("{s:?}").to_lowercase()
}

const SECONDS_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0, 120.0, 300.0];
/// Seal → L1 finality: tens of seconds on a devnet, up to hours on a chain with many confirmations.
const FINALITY_BUCKETS: &[f64] =
    &[10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0];

/// Workers needed so that `backlog` jobs are done within `target_lag_s`, one worker proving a job in
/// `mean_prove_s` on average: ceil(backlog ÷ (1 / mean_prove_s) ÷ target_lag_s). Without a measurement yet, the
/// workers there are (at least one while there is work).
pub fn workers_wanted(backlog: u64, mean_prove_s: Option<f64>, target_lag_s: u64, workers_now: u64) -> u64 {
    if backlog == 0 {
        return 0;
    }
    match mean_prove_s.filter(|m| m.is_finite() && *m > 0.0) {
        Some(mean) => ((backlog as f64 * mean) / target_lag_s.max(1) as f64).ceil().max(1.0) as u64,
        None => workers_now.max(1),
    }
}

impl ProverMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            queue_depth: IntGaugeVec::new(
                Opts::new("zkr_queue_depth", "Jobs in the queue by kind and state"),
                &["kind", "state"],
            )?,
            proving_seconds: HistogramVec::new(
                HistogramOpts::new("zkr_proving_seconds", "Time to prove one job").buckets(SECONDS_BUCKETS.to_vec()),
                &["kind", "level", "backend"],
            )?,
            job_attempts: HistogramVec::new(
                HistogramOpts::new("zkr_job_attempts", "Attempts a job took until it completed")
                    .buckets(vec![1.0, 2.0, 3.0, 5.0, 10.0]),
                &["kind"],
            )?,
            jobs_completed: IntCounterVec::new(
                Opts::new("zkr_jobs_completed_total", "Completed jobs; outcome=duplicate for late results"),
                &["kind", "outcome"],
            )?,
            active_workers: IntGauge::new("zkr_active_workers", "Workers running in this process")?,
            remote_workers: IntGauge::new(
                "zkr_remote_workers",
                "Remote workers heard from recently (within half a lease; workers call at least every third of one)",
            )?,
            job_duration: HistogramVec::new(
                HistogramOpts::new("zkr_job_duration_seconds", "Enqueue to accepted proof, per job")
                    .buckets(SECONDS_BUCKETS.to_vec()),
                &["kind"],
            )?,
            seen: Default::default(),
            worker_window_ms: Arc::new(AtomicU64::new(15_000)),
            epochs_verified: IntGauge::new("zkr_epochs_verified", "Epoch proofs verified (the whole queue history)")?,
            epochs_awaiting_settlement: IntGauge::new(
                "zkr_epochs_awaiting_settlement",
                "Epochs verified but not yet finalized on L1 (settlement lag; 0 without L1 settlement)",
            )?,
            epochs_finalized: IntGauge::new(
                "zkr_epochs_finalized",
                "Epochs finalized on L1 (recorded durably across restarts)",
            )?,
            proofs: IntCounterVec::new(
                Opts::new("zkr_proofs_total", "Proofs accepted, by job kind and by the backend that made them"),
                &["kind", "backend"],
            )?,
            workers_wanted: IntGauge::new(
                "zkr_workers_wanted",
                "Workers needed to clear the backlog (waiting, queued and leased jobs) within the target lag, at the \
                 mean proving time of the latest accepted proofs",
            )?,
            epoch_l2_to_l1: Histogram::with_opts(
                HistogramOpts::new(
                    "zkr_epoch_l2_to_l1_seconds",
                    "Per epoch settled by this process: its last batch sealed to the epoch finalized on L1",
                )
                .buckets(FINALITY_BUCKETS.to_vec()),
            )?,
            settlement_attempts: IntCounterVec::new(
                Opts::new(
                    "zkr_settlement_attempts_total",
                    "Settlement attempts by step: each time an epoch's commit, prove or execute is started",
                ),
                &["step"],
            )?,
            settlement_errors: IntCounterVec::new(
                Opts::new("zkr_settlement_errors_total", "Failed settlement attempts by step and reason"),
                &["step", "reason"],
            )?,
            l1_gas: IntCounterVec::new(
                Opts::new(
                    "zkr_l1_gas_used_total",
                    "Gas of the L1 transactions this process sent (reverted ones included), by step",
                ),
                &["step"],
            )?,
            deposits_finalized: IntCounter::new(
                "zkr_bridge_deposits_finalized_total",
                "Deposits in the epochs this process finalized on L1 (counted per epoch)",
            )?,
            withdrawals_finalized: IntCounter::new(
                "zkr_bridge_withdrawals_finalized_total",
                "Withdrawals and forced exits in the epochs this process finalized on L1 (counted per epoch)",
            )?,
            recent: Default::default(),
            target_lag_s: Arc::new(AtomicU64::new(60)),
        };
        registry.register(Box::new(m.queue_depth.clone()))?;
        registry.register(Box::new(m.proving_seconds.clone()))?;
        registry.register(Box::new(m.job_attempts.clone()))?;
        registry.register(Box::new(m.jobs_completed.clone()))?;
        registry.register(Box::new(m.active_workers.clone()))?;
        registry.register(Box::new(m.remote_workers.clone()))?;
        registry.register(Box::new(m.job_duration.clone()))?;
        registry.register(Box::new(m.epochs_verified.clone()))?;
        registry.register(Box::new(m.epochs_finalized.clone()))?;
        registry.register(Box::new(m.epochs_awaiting_settlement.clone()))?;
        registry.register(Box::new(m.proofs.clone()))?;
        registry.register(Box::new(m.workers_wanted.clone()))?;
        registry.register(Box::new(m.epoch_l2_to_l1.clone()))?;
        registry.register(Box::new(m.settlement_attempts.clone()))?;
        registry.register(Box::new(m.settlement_errors.clone()))?;
        registry.register(Box::new(m.l1_gas.clone()))?;
        registry.register(Box::new(m.deposits_finalized.clone()))?;
        registry.register(Box::new(m.withdrawals_finalized.clone()))?;
        // every label of a fixed set exists from the start (at 0), so rate() and alerts see the first increment
        for step in SETTLEMENT_STEPS {
            m.settlement_attempts.with_label_values(&[step]);
            for reason in SETTLEMENT_REASONS {
                m.settlement_errors.with_label_values(&[step, reason]);
            }
        }
        for step in GAS_STEPS {
            m.l1_gas.with_label_values(&[step]);
        }
        for kind in JobKind::ALL {
            for state in JobState::ALL {
                m.queue_depth.with_label_values(&[kind_label(kind), &state_label(state)]);
            }
        }
        Ok(m)
    }

    pub fn observe_proving(&self, kind: JobKind, level: u32, backend: Backend, seconds: f64) {
        self.proving_seconds
            .with_label_values(&[kind_label(kind), &level.to_string(), backend.name()])
            .observe(seconds);
    }

    /// A proof the hub accepted: counts it for its backend (`cpu`, `cuda`, `unknown`) and keeps its proving time
    /// for the throughput estimate.
    pub fn proof_accepted(&self, kind: JobKind, backend: &str, prove_seconds: f64) {
        self.proofs.with_label_values(&[kind_label(kind), backend]).inc();
        if prove_seconds.is_finite() && prove_seconds > 0.0 {
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            if recent.len() == THROUGHPUT_SAMPLES {
                recent.pop_front();
            }
            recent.push_back(prove_seconds);
        }
    }

    /// The mean proving time of the latest accepted proofs, if any.
    pub fn mean_prove_seconds(&self) -> Option<f64> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        (!recent.is_empty()).then(|| recent.iter().sum::<f64>() / recent.len() as f64)
    }

    /// The lag `zkr_workers_wanted` aims at, in seconds (the coordinator's and the devnet's `target_lag_s`).
    pub fn set_target_lag(&self, seconds: u64) {
        self.target_lag_s.store(seconds.max(1), Ordering::Relaxed);
    }

    pub fn job_completed(&self, kind: JobKind, accepted: bool, attempts: u32) {
        let outcome = if accepted { "accepted" } else { "duplicate" };
        self.jobs_completed.with_label_values(&[kind_label(kind), outcome]).inc();
        if accepted {
            self.job_attempts.with_label_values(&[kind_label(kind)]).observe(attempts as f64);
        }
    }

    /// A settlement step of an epoch started (`step`: one of [`SETTLEMENT_STEPS`]).
    pub fn settlement_attempt(&self, step: &str) {
        self.settlement_attempts.with_label_values(&[step]).inc();
    }

    /// A settlement attempt failed at `step` for `reason` (one of [`SETTLEMENT_REASONS`]).
    pub fn settlement_failed(&self, step: &str, reason: &str) {
        self.settlement_errors.with_label_values(&[step, reason]).inc();
    }

    /// An epoch this process settled is finalized: `delay_s` after its last batch was sealed (when known), with
    /// these bridge operations.
    pub fn epoch_finalized(&self, delay_s: Option<f64>, deposits: u64, withdrawals: u64) {
        if let Some(d) = delay_s {
            self.epoch_l2_to_l1.observe(d.max(0.0));
        }
        self.deposits_finalized.inc_by(deposits);
        self.withdrawals_finalized.inc_by(withdrawals);
    }

    /// How long a remote worker counts as present after its last call: half the lease, since a worker calls at
    /// least every third of one (heartbeats while proving, lease polls while idle).
    pub fn set_worker_window(&self, lease_ms: u64) {
        self.worker_window_ms.store((lease_ms / 2).max(1_000), Ordering::Relaxed);
        self.refresh_workers();
    }

    /// Records a remote worker's call and refreshes the count of workers seen recently.
    pub fn worker_seen(&self, id: &str) {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), std::time::Instant::now());
        self.refresh_workers();
    }

    /// A worker said it is leaving (it handed its job back).
    pub fn worker_gone(&self, id: &str) {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        self.refresh_workers();
    }

    /// Drops workers not heard from within the window (a killed worker says nothing); called on every tick too.
    pub fn refresh_workers(&self) {
        let window = Duration::from_millis(self.worker_window_ms.load(Ordering::Relaxed));
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, t| t.elapsed() < window);
        self.remote_workers.set(seen.len() as i64);
    }

    /// Refreshes the queue-depth gauges (every kind and state, 0 when it has no job) and `zkr_workers_wanted`.
    pub async fn refresh_depth(&self, queue: &Queue) {
        let Ok(rows) = queue.depth().await else { return };
        let mut backlog = 0;
        for kind in JobKind::ALL {
            for state in JobState::ALL {
                let n = rows.iter().find(|(k, s, _)| (*k, *s) == (kind, state)).map_or(0, |(_, _, n)| *n);
                self.queue_depth.with_label_values(&[kind_label(kind), &state_label(state)]).set(n as i64);
                if matches!(state, JobState::Waiting | JobState::Queued | JobState::Leased) {
                    backlog += n;
                }
            }
        }
        let workers_now = (self.remote_workers.get() + self.active_workers.get()).max(0) as u64;
        let wanted =
            workers_wanted(backlog, self.mean_prove_seconds(), self.target_lag_s.load(Ordering::Relaxed), workers_now);
        self.workers_wanted.set(wanted as i64);
    }
}

/// Registers `zkr_up{role}` (1 while the process answers) and sets it.
pub fn register_up(registry: &Registry, role: &str) -> prometheus::Result<IntGauge> {
    let up = IntGauge::with_opts(
        Opts::new("zkr_up", "1 while this zkr process runs (a scrape that fails leaves no series)")
            .const_label("role", role),
    )?;
    registry.register(Box::new(up.clone()))?;
    up.set(1);
    Ok(up)
}

/// A dependency `/readyz` asks.
#[async_trait::async_trait]
pub trait ReadyCheck: Send + Sync {
    /// What is checked, for the reason a 503 gives ("database postgres://…", "coordinator http://…").
    fn name(&self) -> String;
    /// `Err(reason)` when the dependency does not answer as it should.
    async fn check(&self) -> Result<(), String>;
}

/// Longest wait for one readiness check: a dependency that does not answer within it is not ready.
pub const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What `/readyz` answers from: the role's dependency checks, and while it is still starting, what it is doing.
#[derive(Clone, Default)]
pub struct Readiness {
    inner: Arc<Mutex<ReadinessState>>,
}

#[derive(Default)]
struct ReadinessState {
    starting: Option<String>,
    checks: Vec<Arc<dyn ReadyCheck>>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("Readiness")
            .field("starting", &s.starting)
            .field("checks", &s.checks.iter().map(|c| c.name()).collect::<Vec<_>>())
            .finish()
    }
}

impl Readiness {
    /// Not ready until [`Readiness::started`]: `/readyz` answers 503 with "starting: `what`".
    pub fn starting(what: &str) -> Self {
        let r = Self::default();
        r.set_starting(what);
        r
    }

    /// Says what the role is doing before it is ready (building circuits, waiting for its coordinator).
    pub fn set_starting(&self, what: &str) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).starting = Some(what.to_string());
    }

    /// The role has started: from now on it is ready when every check passes.
    pub fn started(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).starting = None;
    }

    /// Adds a dependency to ask.
    pub fn add(&self, check: impl ReadyCheck + 'static) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).checks.push(Arc::new(check));
    }

    /// Asks every dependency at once (each within [`READY_CHECK_TIMEOUT`]); `Err` lists what is not ready, one
    /// line each.
    pub async fn check(&self) -> Result<(), String> {
        let (starting, checks) = {
            let s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            (s.starting.clone(), s.checks.clone())
        };
        if let Some(what) = starting {
            return Err(format!("starting: {what}"));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (i, c) in checks.into_iter().enumerate() {
            tasks.spawn(async move {
                let r = match tokio::time::timeout(READY_CHECK_TIMEOUT, c.check()).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("no answer within {} s", READY_CHECK_TIMEOUT.as_secs())),
                };
                (i, c.name(), r)
            });
        }
        let mut failed = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok((i, name, Err(reason))) => failed.push((i, format!("{name}: {reason}"))),
                Ok((_, _, Ok(()))) => {}
                Err(e) => failed.push((usize::MAX, format!("a readiness check failed to run: {e}"))),
            }
        }
        failed.sort();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.into_iter().map(|(_, line)| line).collect::<Vec<_>>().join("\n"))
        }
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

/// The request line's method and path (query string dropped).
fn request_target(request: &[u8]) -> (&str, &str) {
    let line = request.split(|b| *b == b'\n').next().unwrap_or_default();
    let mut parts = std::str::from_utf8(line).unwrap_or_default().split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    (method, target.split('?').next().unwrap_or_default())
}

/// What the endpoint answers for one request: status line, content type, body.
async fn respond(request: &[u8], registry: &Registry, ready: &Readiness) -> (&'static str, &'static str, Vec<u8>) {
    match request_target(request) {
        ("GET", "/metrics") => {
            let mut body = Vec::new();
            let _ = TextEncoder::new().encode(&registry.gather(), &mut body);
            ("200 OK", "text/plain; version=0.0.4", body)
        }
        ("GET", "/healthz") => ("200 OK", TEXT, b"ok\n".to_vec()),
        ("GET", "/readyz") => match ready.check().await {
            Ok(()) => ("200 OK", TEXT, b"ready\n".to_vec()),
            Err(reasons) => ("503 Service Unavailable", TEXT, format!("not ready\n{reasons}\n").into_bytes()),
        },
        ("GET", _) => {
            ("404 Not Found", TEXT, b"not found: this endpoint serves /metrics, /healthz and /readyz\n".to_vec())
        }
        _ => ("405 Method Not Allowed", TEXT, b"only GET is served\n".to_vec()),
    }
}

/// Serves `GET /metrics` in the Prometheus text format, `GET /healthz` (200 while the process answers) and
/// `GET /readyz` (200 when `ready` says so, else 503 with the reasons in plain text) until cancelled; other paths
/// get 404.
pub async fn serve_metrics(
    registry: Registry,
    ready: Readiness,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = listener.accept() => match r { Ok(s) => s, Err(_) => continue },
            };
            let (registry, ready) = (registry.clone(), ready.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                // A client that sends nothing does not hold the connection for ever.
                let n = match tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
                let (status, content_type, body) = respond(&buf[..n], &registry, &ready).await;
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str, Result<(), String>);

    #[async_trait::async_trait]
    impl ReadyCheck for Fixed {
        fn name(&self) -> String {
            self.0.to_string()
        }
        async fn check(&self) -> Result<(), String> {
            self.1.clone()
        }
    }

    #[tokio::test]
    async fn only_known_paths_are_served() {
        let registry = Registry::new();
        let m = ProverMetrics::register(&registry).unwrap();
        m.epochs_verified.set(3);
        let ready = Readiness::default();
        let status = |req: &'static [u8]| {
            let (registry, ready) = (registry.clone(), ready.clone());
            async move { respond(req, &registry, &ready).await }
        };
        let (code, _, body) = status(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(code, "200 OK");
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains("zkr_epochs_verified 3"), "{body}");
        // fixed label sets are there before anything happened
        assert!(body.contains("zkr_settlement_errors_total{reason=\"reverted\",step=\"prove\"} 0"), "{body}");
        assert!(body.contains("zkr_queue_depth{kind=\"wrap\",state=\"dead\"} 0"), "{body}");
        assert_eq!(status(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n").await.0, "200 OK");
        assert_eq!(status(b"GET /healthz HTTP/1.1\r\n\r\n").await.0, "200 OK");
        assert_eq!(status(b"GET /readyz HTTP/1.1\r\n\r\n").await.0, "200 OK");
        assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n").await.0, "404 Not Found");
        assert_eq!(status(b"GET /metricsx HTTP/1.1\r\n\r\n").await.0, "404 Not Found");
        assert_eq!(status(b"POST /metrics HTTP/1.1\r\n\r\n").await.0, "405 Method Not Allowed");
        assert_eq!(status(b"\xff\xfe").await.0, "405 Method Not Allowed");
    }

    #[tokio::test]
    async fn readiness_names_every_failing_dependency() {
        let ready = Readiness::starting("building circuits");
        assert_eq!(ready.check().await, Err("starting: building circuits".to_string()));
        ready.add(Fixed("database", Ok(())));
        ready.add(Fixed("blob store s3://b", Err("NoSuchBucket".into())));
        ready.add(Fixed("L1 http://l1", Err("connection refused".into())));
        assert!(ready.check().await.is_err(), "still starting");
        ready.started();
        let e = ready.check().await.unwrap_err();
        assert_eq!(e, "blob store s3://b: NoSuchBucket\nL1 http://l1: connection refused");
        let (code, _, body) = respond(b"GET /readyz HTTP/1.1\r\n\r\n", &Registry::new(), &ready).await;
        assert_eq!(code, "503 Service Unavailable");
        assert!(String::from_utf8(body).unwrap().contains("L1 http://l1: connection refused"));
    }

    #[test]
    fn workers_wanted_clears_the_backlog_within_the_target_lag() {
        // 30 jobs of 4 s each within 60 s: 120 worker-seconds, 2 workers
        assert_eq!(workers_wanted(30, Some(4.0), 60, 5), 2);
        // one more job needs a third
        assert_eq!(workers_wanted(31, Some(4.0), 60, 5), 3);
        // a shorter target lag needs more
        assert_eq!(workers_wanted(30, Some(4.0), 10, 5), 12);
        // no work, no workers; work but no measurement yet: keep what is there, at least one
        assert_eq!(workers_wanted(0, Some(4.0), 60, 5), 0);
        assert_eq!(workers_wanted(7, None, 60, 5), 5);
        assert_eq!(workers_wanted(7, None, 60, 0), 1);
        // a tiny backlog still wants one worker
        assert_eq!(workers_wanted(1, Some(0.5), 60, 0), 1);
    }

    #[test]
    fn accepted_proofs_feed_the_throughput_estimate() {
        let m = ProverMetrics::register(&Registry::new()).unwrap();
        assert_eq!(m.mean_prove_seconds(), None);
        m.proof_accepted(JobKind::ProveBatch, "cpu", 2.0);
        m.proof_accepted(JobKind::Wrap, "cuda", 6.0);
        assert_eq!(m.mean_prove_seconds(), Some(4.0));
        assert_eq!(m.proofs.with_label_values(&["wrap", "cuda"]).get(), 1);
        for _ in 0..THROUGHPUT_SAMPLES {
            m.proof_accepted(JobKind::ProveBatch, "cpu", 1.0);
        }
        assert_eq!(m.mean_prove_seconds(), Some(1.0), "only the latest proofs count");
        assert_eq!(m.proofs.with_label_values(&["prove_batch", "cpu"]).get(), 1 + THROUGHPUT_SAMPLES as u64);
    }

    #[test]
    fn silent_and_departed_workers_stop_counting() {
        let m = ProverMetrics::register(&Registry::new()).unwrap();
        m.set_worker_window(2_000); // one second
        m.worker_seen("a");
        m.worker_seen("b");
        assert_eq!(m.remote_workers.get(), 2);
        m.worker_gone("b");
        assert_eq!(m.remote_workers.get(), 1);
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        m.refresh_workers();
        assert_eq!(m.remote_workers.get(), 0, "a worker silent for longer than the window is gone");
    }
}
