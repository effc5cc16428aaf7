//! Prometheus metrics of the prover side, and a minimal `/metrics` HTTP endpoint.

use std::net::SocketAddr;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use zkr_queue::{JobKind, Queue};

use crate::backend::Backend;

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
    /// Remote workers by id → when last seen (for `remote_workers`).
    seen: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>,
    /// A worker not heard from for this long no longer counts (milliseconds; see [`Self::set_worker_window`]).
    worker_window_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

pub fn kind_label(k: JobKind) -> &'static str {
    match k {
        JobKind::ProveBatch => "prove_batch",
        JobKind::Aggregate => "aggregate",
        JobKind::Wrap => "wrap",
    }
}

const SECONDS_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0, 120.0, 300.0];

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
            worker_window_ms: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(15_000)),
            epochs_verified: IntGauge::new("zkr_epochs_verified", "Epoch proofs verified (the whole queue history)")?,
            epochs_awaiting_settlement: IntGauge::new(
                "zkr_epochs_awaiting_settlement",
                "Epochs verified but not yet finalized on L1 (settlement lag; 0 without L1 settlement)",
            )?,
            epochs_finalized: IntGauge::new(
                "zkr_epochs_finalized",
                "Epochs finalized on L1 (recorded durably across restarts)",
            )?,
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
        Ok(m)
    }

    pub fn observe_proving(&self, kind: JobKind, level: u32, backend: Backend, seconds: f64) {
        self.proving_seconds
            .with_label_values(&[kind_label(kind), &level.to_string(), backend.name()])
            .observe(seconds);
    }

    pub fn job_completed(&self, kind: JobKind, accepted: bool, attempts: u32) {
        let outcome = if accepted { "accepted" } else { "duplicate" };
        self.jobs_completed.with_label_values(&[kind_label(kind), outcome]).inc();
        if accepted {
            self.job_attempts.with_label_values(&[kind_label(kind)]).observe(attempts as f64);
        }
    }

    /// How long a remote worker counts as present after its last call: half the lease, since a worker calls at
    /// least every third of one (heartbeats while proving, lease polls while idle).
    pub fn set_worker_window(&self, lease_ms: u64) {
        self.worker_window_ms.store((lease_ms / 2).max(1_000), std::sync::atomic::Ordering::Relaxed);
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
        let window = std::time::Duration::from_millis(self.worker_window_ms.load(std::sync::atomic::Ordering::Relaxed));
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, t| t.elapsed() < window);
        self.remote_workers.set(seen.len() as i64);
    }

    /// Refreshes the queue-depth gauges.
    pub async fn refresh_depth(&self, queue: &Queue) {
        if let Ok(rows) = queue.depth().await {
            self.queue_depth.reset();
            for (kind, state, n) in rows {
                self.queue_depth
                    .with_label_values(&[kind_label(kind), &format!("{state:?}").to_lowercase()])
                    .set(n as i64);
            }
        }
    }
}

/// What the metrics endpoint answers for one request line: status line, content type, body.
fn route(request: &[u8], registry: &Registry) -> (&'static str, &'static str, Vec<u8>) {
    let line = request.split(|b| *b == b'\n').next().unwrap_or_default();
    let mut parts = std::str::from_utf8(line).unwrap_or_default().split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let path = target.split('?').next().unwrap_or_default();
    const TEXT: &str = "text/plain; charset=utf-8";
    match (method, path) {
        ("GET", "/metrics") => {
            let mut body = Vec::new();
            let _ = TextEncoder::new().encode(&registry.gather(), &mut body);
            ("200 OK", "text/plain; version=0.0.4", body)
        }
        ("GET", "/healthz") => ("200 OK", TEXT, b"ok\n".to_vec()),
        ("GET", _) => ("404 Not Found", TEXT, b"not found: this endpoint serves /metrics and /healthz\n".to_vec()),
        _ => ("405 Method Not Allowed", TEXT, b"only GET is served\n".to_vec()),
    }
}

/// Serves `GET /metrics` in the Prometheus text format and `GET /healthz` (the process answers) until
/// cancelled; other paths get 404.
pub async fn serve_metrics(
    registry: Registry,
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
            let registry = registry.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                // A client that sends nothing does not hold the connection for ever.
                let n = match tokio::time::timeout(std::time::Duration::from_secs(5), sock.read(&mut buf)).await {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
                let (status, content_type, body) = route(&buf[..n], &registry);
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

    #[test]
    fn only_known_paths_are_served() {
        let registry = Registry::new();
        let m = ProverMetrics::register(&registry).unwrap();
        m.epochs_verified.set(3);
        let (status, _, body) = route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &registry);
        assert_eq!(status, "200 OK");
        assert!(String::from_utf8(body).unwrap().contains("zkr_epochs_verified 3"));
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", &registry).0, "200 OK");
        assert_eq!(route(b"GET /healthz HTTP/1.1\r\n\r\n", &registry).0, "200 OK");
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n", &registry).0, "404 Not Found");
        assert_eq!(route(b"GET /metricsx HTTP/1.1\r\n\r\n", &registry).0, "404 Not Found");
        assert_eq!(route(b"POST /metrics HTTP/1.1\r\n\r\n", &registry).0, "405 Method Not Allowed");
        assert_eq!(route(b"\xff\xfe", &registry).0, "405 Method Not Allowed");
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
