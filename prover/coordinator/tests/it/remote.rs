//! A remote worker (`RemoteSource` + `run_worker`) proves a whole epoch leased from a coordinator over gRPC.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use zkr_circuits::aggregate::combine;
use zkr_coordinator::epochs::{EpochPlan, EpochWatcher, QueueProgress};
use zkr_queue::{JobKind, JobState};
use zkr_worker::backend::ProvingBackend;
use zkr_worker::source::RemoteSource;
use zkr_worker::worker::{run_worker, WorkerConfig, WorkerStats};

use crate::common::{batches, with_postgres, Coordinator, CAPACITY, HEIGHT, TOKEN};

/// Two batches and their aggregation, proven by one remote worker; the epoch proof verifies and says what the
/// batches say.
async fn remote_worker_proves_an_epoch(url: Option<String>) {
    let t = Instant::now();
    let c = Coordinator::start(url.as_deref()).await;
    c.seal_batches().await;
    let jobs = c.queue.list(None, 100).await.unwrap();
    assert_eq!(jobs.len(), 3, "two prove jobs and one aggregation: {jobs:?}");
    let agg = jobs.iter().find(|j| j.kind == JobKind::Aggregate).unwrap();
    assert_eq!((agg.state, agg.batch_start, agg.batch_end, agg.level), (JobState::Waiting, 0, 1, 1));

    let source = RemoteSource::new(&c.url(), TOKEN, "cpu", CAPACITY, HEIGHT).unwrap();
    let stop = CancellationToken::new();
    let cfg = WorkerConfig { id: "remote-1".into(), backend: ProvingBackend::cpu(), poll_ms: 100, wake: None };
    let worker = tokio::spawn(run_worker(Arc::new(source), c.circuits.clone(), cfg, None, stop.clone()));

    let plan = EpochPlan { height: HEIGHT };
    let mut watcher = EpochWatcher {
        progress: QueueProgress { queue: c.queue.clone(), plan },
        blobs: c.blobs.clone(),
        circuits: c.circuits.clone(),
        next_epoch: 0,
    };
    let epochs = loop {
        let done = watcher.poll().await.unwrap();
        if !done.is_empty() {
            break done;
        }
        assert!(!worker.is_finished(), "the worker stopped early: {:?}", worker.await);
        assert!(t.elapsed() < Duration::from_secs(240), "no epoch proof after {:?}", t.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop.cancel();
    let stats = worker.await.unwrap();
    assert_eq!(stats, WorkerStats { proven: 3, accepted: 3, ..WorkerStats::default() });

    assert_eq!(epochs.len(), 1);
    let b = batches();
    let e = &epochs[0];
    assert_eq!(e.epoch, 0);
    assert_eq!(e.public.old_root, b.genesis_root);
    assert_eq!(e.public.new_root, b.final_root);
    assert_eq!(e.public, combine(&b.batches[0].public_inputs(), &b.batches[1].public_inputs()));

    for j in c.queue.list(None, 100).await.unwrap() {
        assert_eq!(j.state, JobState::Done, "{j:?}");
        assert_eq!(j.attempts, 1, "{j:?}");
        assert_eq!(j.picked_by.as_deref(), Some("remote-1"));
        let key = j.result_key.as_deref().unwrap();
        let level_of = c.circuits.verify(j.level, &c.blobs.get(key).unwrap(), "stored").unwrap();
        let expected = match j.kind {
            JobKind::ProveBatch => b.batches[j.batch_start as usize].public_inputs(),
            JobKind::Aggregate | JobKind::Wrap => e.public,
        };
        assert_eq!(level_of, expected, "stored proof of {j:?}");
    }
    assert_eq!(c.completed("prove_batch", "accepted"), 2);
    assert_eq!(c.completed("aggregate", "accepted"), 1);
    assert_eq!(c.completed("prove_batch", "duplicate") + c.completed("aggregate", "duplicate"), 0);
    c.shutdown().await;
    eprintln!("epoch proven remotely in {:.1} s", t.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_worker_proves_an_epoch_sqlite() {
    remote_worker_proves_an_epoch(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_worker_proves_an_epoch_postgres() {
    with_postgres(|url| remote_worker_proves_an_epoch(Some(url))).await;
}
