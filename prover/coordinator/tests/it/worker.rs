//! Graceful shutdown of `run_worker`: a job in hand is given back (queued again, attempt not counted), including
//! one whose lease the coordinator granted while the worker was stopping.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use zkr_queue::{JobId, JobState};
use zkr_worker::backend::ProvingBackend;
use zkr_worker::exec::ProofOutput;
use zkr_worker::source::{JobSource, Leased, RemoteSource, SourceError, Submitted};
use zkr_worker::worker::{run_worker, WorkerConfig, WorkerStats};

use crate::common::{Coordinator, CAPACITY, HEIGHT, TOKEN};

/// A source whose lease answers arrive late (a slow network): the job is leased in the queue well before the
/// worker hears of it.
struct SlowLease {
    inner: RemoteSource,
    delay: Duration,
}

#[async_trait]
impl JobSource for SlowLease {
    async fn lease(&self, worker: &str) -> Result<Option<Leased>, SourceError> {
        let r = self.inner.lease(worker).await;
        tokio::time::sleep(self.delay).await;
        r
    }
    async fn heartbeat(&self, id: JobId, worker: &str) -> Result<bool, SourceError> {
        self.inner.heartbeat(id, worker).await
    }
    async fn submit(&self, id: JobId, worker: &str, out: &ProofOutput) -> Result<Submitted, SourceError> {
        self.inner.submit(id, worker, out).await
    }
    async fn fail(&self, id: JobId, worker: &str, error: &str) -> Result<(), SourceError> {
        self.inner.fail(id, worker, error).await
    }
    async fn release(&self, id: JobId, worker: &str) -> Result<(), SourceError> {
        self.inner.release(id, worker).await
    }
    fn lease_ms(&self) -> u64 {
        self.inner.lease_ms()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_a_lease_is_granted_gives_the_job_back() {
    let c = Coordinator::start(None).await;
    c.seal_batches().await;
    let inner = RemoteSource::new(&c.url(), TOKEN, "cpu", CAPACITY, HEIGHT).unwrap();
    let source = Arc::new(SlowLease { inner, delay: Duration::from_millis(800) });
    let stop = CancellationToken::new();
    let cfg = WorkerConfig { id: "slow-1".into(), backend: ProvingBackend::cpu(), poll_ms: 100, wake: None };
    let worker = tokio::spawn(run_worker(source, c.circuits.clone(), cfg, None, stop.clone()));

    // The queue has leased a job to the worker, which has not got the answer yet: stop it now.
    let mut leased = None;
    for _ in 0..100 {
        leased = c.queue.list(Some(JobState::Leased), 10).await.unwrap().pop();
        if leased.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let leased = leased.expect("no job leased within 2 s");
    assert_eq!(leased.picked_by.as_deref(), Some("slow-1"));
    stop.cancel();
    let stats = tokio::time::timeout(Duration::from_secs(10), worker).await.expect("the worker stops").unwrap();
    assert_eq!(stats, WorkerStats { released: 1, ..WorkerStats::default() });
    let j = c.job(leased.id).await;
    assert_eq!((j.state, j.attempts, j.last_error.as_deref()), (JobState::Queued, 0, None), "{j:?}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_proving_gives_the_job_back() {
    let c = Coordinator::start(None).await;
    c.seal_batches().await;
    let source = Arc::new(RemoteSource::new(&c.url(), TOKEN, "cpu", CAPACITY, HEIGHT).unwrap());
    let stop = CancellationToken::new();
    let cfg = WorkerConfig { id: "stop-1".into(), backend: ProvingBackend::cpu(), poll_ms: 100, wake: None };
    let worker = tokio::spawn(run_worker(source, c.circuits.clone(), cfg, None, stop.clone()));
    let mut leased = None;
    for _ in 0..250 {
        leased = c.queue.list(Some(JobState::Leased), 10).await.unwrap().pop();
        if leased.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let leased = leased.expect("no job leased within 5 s");
    // Let the lease answer arrive, so that the stop comes while the proof runs (~0.5 s at capacity 2).
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    let stats = tokio::time::timeout(Duration::from_secs(10), worker).await.expect("the worker stops").unwrap();
    let j = c.job(leased.id).await;
    if stats.accepted == 0 {
        // stopped mid-proof: handed back, attempt not counted
        assert_eq!(stats, WorkerStats { released: 1, ..WorkerStats::default() });
        assert_eq!((j.state, j.attempts, j.last_error.as_deref()), (JobState::Queued, 0, None), "{j:?}");
    } else {
        // the proof was already on its way: it is saved, not dropped
        assert_eq!(j.state, JobState::Done, "{j:?}");
    }
    c.shutdown().await;
}
