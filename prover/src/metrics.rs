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
    /// Remote workers by id → when last seen (for `remote_workers`).
    seen: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>,
}

pub fn kind_label(k: JobKind) -> &'static str {
    match k {
        JobKind::ProveBatch => "prove_batch",
        JobKind::Aggregate => "aggregate",
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
                "Remote workers seen by the coordinator in the last minute",
            )?,
            job_duration: HistogramVec::new(
                HistogramOpts::new("zkr_job_duration_seconds", "Enqueue to accepted proof, per job")
                    .buckets(SECONDS_BUCKETS.to_vec()),
                &["kind"],
            )?,
            seen: Default::default(),
            epochs_verified: IntGauge::new("zkr_epochs_verified", "Epoch proofs verified")?,
            epochs_finalized: IntGauge::new("zkr_epochs_finalized", "Epochs finalized on L1 by this process")?,
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

    /// Records a remote worker's call and refreshes the count of workers seen recently.
    pub fn worker_seen(&self, id: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.insert(id.to_string(), std::time::Instant::now());
        seen.retain(|_, t| t.elapsed() < std::time::Duration::from_secs(60));
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

/// Serves `GET /metrics` (any path, really) in the Prometheus text format until cancelled.
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
                let _ = sock.read(&mut buf).await;
                let mut body = Vec::new();
                let _ = TextEncoder::new().encode(&registry.gather(), &mut body);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    Ok(local)
}
