//! A prover worker: picker (async) → executor (blocking thread) → saver (async).
//!
//! The picker leases a job only when the executor is free, a heartbeat task keeps the
//! lease alive while the job is proven, and the saver submits the proof while the next
//! job is already being proven. On shutdown a job still in hand is released, so another
//! worker takes it at once instead of waiting for the lease to expire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::backend::{Backend, ProvingBackend};
use crate::exec::{Circuits, ProofOutput};
use crate::metrics::ProverMetrics;
use crate::source::{JobSource, Leased, SourceError, Submitted};

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub id: String,
    pub backend: ProvingBackend,
    /// How long to wait before asking again when no job is ready.
    pub poll_ms: u64,
    /// In-process producers signal new work here, so an idle worker need not wait a poll.
    pub wake: Option<Arc<tokio::sync::Notify>>,
}

/// What a worker did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub proven: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub released: u64,
    /// Submissions tried again because the coordinator did not answer (the proof was kept meanwhile).
    pub resubmitted: u64,
    /// Why the worker stopped on its own: the coordinator refused it (a wrong token, say). `None` after a shutdown.
    pub stopped_by: Option<String>,
}

struct Done {
    job: Leased,
    result: Result<ProofOutput, String>,
    heartbeat: CancellationToken,
}

/// Runs until `shutdown` is cancelled (or the source fails persistently).
pub async fn run_worker(
    source: Arc<dyn JobSource>,
    circuits: Arc<Circuits>,
    cfg: WorkerConfig,
    metrics: Option<Arc<ProverMetrics>>,
    shutdown: CancellationToken,
) -> WorkerStats {
    let span = tracing::info_span!("worker", id = %cfg.id, backend = %cfg.backend.kind);
    async move {
        if let Some(m) = &metrics {
            m.active_workers.inc();
        }
        let stats = pipeline(source, circuits, &cfg, metrics.clone(), shutdown).await;
        if let Some(m) = &metrics {
            m.active_workers.dec();
        }
        tracing::info!(?stats, "worker stopped");
        stats
    }
    .instrument(span)
    .await
}

async fn pipeline(
    source: Arc<dyn JobSource>,
    circuits: Arc<Circuits>,
    cfg: &WorkerConfig,
    metrics: Option<Arc<ProverMetrics>>,
    shutdown: CancellationToken,
) -> WorkerStats {
    let executor_free = Arc::new(Semaphore::new(1));
    let (done_tx, mut done_rx) = mpsc::channel::<Done>(4);
    let mut stats = WorkerStats::default();

    // saver: submits results while the executor proves the next job. It stops retrying a submission only when
    // the worker is stopped for good (a shutdown, then one last try).
    let stop_saving = shutdown.clone();
    let saver = {
        let source = source.clone();
        let id = cfg.id.clone();
        let backend = cfg.backend.kind;
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut s = WorkerStats::default();
            while let Some(d) = done_rx.recv().await {
                save(&*source, &id, backend, d, &mut s, metrics.as_deref(), &stop_saving).await;
            }
            s
        })
    };

    loop {
        // picker: wait for a free executor, then lease
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = executor_free.clone().acquire_owned() => p.expect("semaphore open"),
        };
        let lease = source.lease(&cfg.id);
        tokio::pin!(lease);
        let leased = tokio::select! {
            r = &mut lease => r,
            _ = shutdown.cancelled() => {
                // The coordinator may have granted the lease already: take the answer (briefly) and give the job
                // back, rather than leave it leased to a stopped worker until the lease expires.
                if let Ok(Ok(Some(job))) = tokio::time::timeout(Duration::from_secs(5), lease).await {
                    match source.release(job.id, &cfg.id).await {
                        Ok(()) => stats.released += 1,
                        Err(e) => tracing::warn!(job = job.id, error = %e, "could not release the lease"),
                    }
                }
                break;
            }
        };
        let job = match leased {
            Ok(Some(job)) => job,
            Ok(None) => {
                drop(permit);
                sleep_or_stop(&shutdown, cfg.poll_ms, cfg.wake.as_deref()).await;
                continue;
            }
            Err(e) if e.is_fatal() => {
                tracing::error!(error = %e, "the coordinator refuses this worker; stopping");
                stats.stopped_by = Some(e.to_string());
                drop(permit);
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "lease failed; retrying");
                drop(permit);
                sleep_or_stop(&shutdown, cfg.poll_ms.max(500), None).await;
                continue;
            }
        };
        tracing::info!(job = job.id, kind = ?job.kind, level = job.level, batches = %format!("{}..={}", job.batch_start, job.batch_end), "leased");

        let heartbeat = spawn_heartbeat(source.clone(), cfg.id.clone(), job.id, shutdown.clone());
        // executor: proving runs on a blocking thread
        let c = circuits.clone();
        let engine = cfg.backend.engine.clone();
        let input = job.input.clone();
        let span = tracing::info_span!("prove", job = job.id, kind = ?job.kind, level = job.level);
        let handle = tokio::task::spawn_blocking(move || span.in_scope(|| c.execute(&input, &*engine)));
        let result = tokio::select! {
            _ = shutdown.cancelled() => {
                // The proving thread cannot be interrupted; hand the job back now.
                heartbeat.cancel();
                match source.release(job.id, &cfg.id).await {
                    Ok(()) => stats.released += 1,
                    Err(e) => tracing::warn!(job = job.id, error = %e, "could not release the lease"),
                }
                break;
            }
            r = handle => r,
        };
        drop(permit);
        let result = match result {
            Ok(Ok(out)) => {
                stats.proven += 1;
                Ok(out)
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(join) => Err(format!("proving thread died: {join}")),
        };
        if done_tx.send(Done { job, result, heartbeat }).await.is_err() {
            break;
        }
    }
    drop(done_tx);
    let saved = saver.await.unwrap_or_default();
    stats.accepted = saved.accepted;
    stats.duplicates = saved.duplicates;
    stats.failed = saved.failed;
    stats.resubmitted = saved.resubmitted;
    stats
}

async fn save(
    source: &dyn JobSource,
    worker: &str,
    backend: Backend,
    d: Done,
    stats: &mut WorkerStats,
    metrics: Option<&ProverMetrics>,
    shutdown: &CancellationToken,
) {
    let Done { job, result, heartbeat } = d;
    let t = Instant::now();
    let outcome = match &result {
        Ok(out) => {
            if let Some(m) = metrics {
                m.observe_proving(job.kind, job.level, backend, out.seconds);
            }
            // A finished proof is kept until the coordinator answers: an outage of the coordinator (or of its
            // database) costs a wait, not the proof. The heartbeat keeps the lease meanwhile.
            let mut wait = SUBMIT_RETRY_FIRST;
            loop {
                let r = source.submit(job.id, worker, out).await;
                match &r {
                    Err(e) if e.is_transient() && !shutdown.is_cancelled() => {
                        stats.resubmitted += 1;
                        tracing::warn!(
                            job = job.id,
                            error = %e,
                            retry_in_ms = wait.as_millis() as u64,
                            "could not submit the proof; keeping it and trying again"
                        );
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = shutdown.cancelled() => {}
                        }
                        wait = (wait * 2).min(SUBMIT_RETRY_MAX);
                    }
                    _ => break r,
                }
            }
        }
        Err(reason) => {
            tracing::error!(job = job.id, %reason, "job failed");
            source.fail(job.id, worker, reason).await.map(|()| Submitted::AlreadyDone).map_err(|e| {
                tracing::warn!(job = job.id, error = %e, "could not report the failure");
                e
            })
        }
    };
    heartbeat.cancel();
    match (result.is_ok(), outcome) {
        (true, Ok(Submitted::Accepted)) => {
            stats.accepted += 1;
            if let (Some(m), Ok(out)) = (metrics, &result) {
                m.proof_accepted(job.kind, backend.name(), out.seconds);
            }
            tracing::info!(job = job.id, save_ms = t.elapsed().as_millis() as u64, "proof accepted");
        }
        (true, Ok(Submitted::AlreadyDone)) => {
            stats.duplicates += 1;
            tracing::info!(job = job.id, "job was already done; result discarded");
        }
        (true, Err(SourceError::Refused { reason, .. })) => {
            stats.failed += 1;
            tracing::error!(job = job.id, %reason, "proof refused");
        }
        (true, Err(e)) => {
            stats.failed += 1;
            tracing::error!(job = job.id, error = %e, "could not submit the proof");
        }
        (false, _) => stats.failed += 1,
    }
}

/// First and longest wait between tries of a proof submission the coordinator did not answer.
const SUBMIT_RETRY_FIRST: Duration = Duration::from_millis(250);
const SUBMIT_RETRY_MAX: Duration = Duration::from_secs(10);

fn spawn_heartbeat(
    source: Arc<dyn JobSource>,
    worker: String,
    job: i64,
    shutdown: CancellationToken,
) -> CancellationToken {
    let stop = shutdown.child_token();
    let token = stop.clone();
    let every = Duration::from_millis((source.lease_ms() / 3).max(50));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            match source.heartbeat(job, &worker).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(job, "lease lost; the result will be offered anyway and counted at most once");
                    return;
                }
                Err(e) => tracing::warn!(job, error = %e, "heartbeat failed"),
            }
        }
    });
    stop
}

async fn sleep_or_stop(shutdown: &CancellationToken, ms: u64, wake: Option<&tokio::sync::Notify>) {
    let woken = async {
        match wake {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = woken => {}
        _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
    }
}
