//! Queue behaviour, run against SQLite and Postgres.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zkr_queue::{Completion, JobKind, JobState, NewJob, Queue, QueueConfig, QueueError};

/// Generates `sqlite::NAME` and `postgres::NAME` tokio tests that run the body `NAME(url)`.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::common::with_sqlite(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::common::with_postgres(super::$name).await;
                }
            )*
        }
    };
}

backend_tests!(
    concurrent_workers_complete_each_job_once,
    expired_lease_is_requeued_and_late_result_counted_once,
    max_attempts_dead_letters_with_error_text,
    dead_job_requeued_by_an_operator_is_proven_again,
    dag_release_and_priority_order,
    heartbeat_extends_lease,
    release_does_not_count_attempt,
    enqueue_is_idempotent,
    unknown_dependency_is_refused,
    reconnect_keeps_jobs,
    one_writer_at_a_time_and_fenced_writes,
    wrap_job_waits_for_the_epoch_root,
    upgrade_to_wrap_jobs_keeps_every_row,
    ping_answers_and_the_url_hides_the_password,
);

async fn ping_answers_and_the_url_hides_the_password(url: String) {
    let q = Queue::connect(&url, QueueConfig::default()).await.unwrap();
    q.ping().await.expect("the database answers");
    assert!(!q.url().is_empty() && url.starts_with(q.url().split(':').next().unwrap()), "{}", q.url());
    // the same database named with a password: shown without it
    if let Some(rest) = url.strip_prefix("postgres://postgres@") {
        let with_password = format!("postgres://postgres:s3cret@{rest}");
        if let Ok(q2) = Queue::connect(&with_password, QueueConfig::default()).await {
            assert!(!q2.url().contains("s3cret"), "{}", q2.url());
        }
    }
    q.close().await;
    assert!(q.ping().await.is_err(), "a closed pool does not answer");
}

fn prove(batch: u64) -> NewJob {
    NewJob {
        kind: JobKind::ProveBatch,
        batch_start: batch,
        batch_end: batch,
        level: 0,
        input_key: format!("traces/{batch}.bin"),
        deps: vec![],
    }
}

fn aggregate(start: u64, end: u64, level: u32, deps: Vec<i64>) -> NewJob {
    NewJob {
        kind: JobKind::Aggregate,
        batch_start: start,
        batch_end: end,
        level,
        input_key: format!("agg/{level}/{start}-{end}"),
        deps,
    }
}

/// The wrap job of the epoch of batches 0 and 1 (height 1), over the root job `root`.
fn wrap_job(root: i64) -> NewJob {
    NewJob {
        kind: JobKind::Wrap,
        batch_start: 0,
        batch_end: 1,
        level: 2,
        input_key: "proofs/L1-0-1".into(),
        deps: vec![root],
    }
}

async fn connect(url: &str, lease_ms: u64, max_attempts: u32) -> Queue {
    Queue::connect(url, QueueConfig { lease_ms, max_attempts, max_lost_leases: 2 }).await.unwrap()
}

async fn state_of(q: &Queue, id: i64) -> JobState {
    q.get(id).await.unwrap().unwrap().state
}

async fn concurrent_workers_complete_each_job_once(url: String) {
    const JOBS: u64 = 50;
    const WORKERS: usize = 4;
    let q = connect(&url, 30_000, 3).await;
    let mut ids = Vec::new();
    for b in 0..JOBS {
        ids.push(q.enqueue(prove(b)).await.unwrap());
    }
    let claims: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let accepted: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let leased_now: Arc<Mutex<HashMap<i64, String>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (q, claims, accepted, leased_now) = (q.clone(), claims.clone(), accepted.clone(), leased_now.clone());
        tasks.push(tokio::spawn(async move {
            let me = format!("worker-{w}");
            let mut done = 0;
            while let Some(job) = q.claim(&me, &[JobKind::ProveBatch]).await.unwrap() {
                assert_eq!(job.state, JobState::Leased);
                assert_eq!(job.picked_by.as_deref(), Some(me.as_str()));
                *claims.lock().unwrap().entry(job.id).or_default() += 1;
                if let Some(other) = leased_now.lock().unwrap().insert(job.id, me.clone()) {
                    panic!("job {} claimed by {me} while leased to {other}", job.id);
                }
                tokio::task::yield_now().await;
                leased_now.lock().unwrap().remove(&job.id);
                let result = format!("proofs/{}.bin", job.batch_start);
                if q.complete(job.id, &me, &result).await.unwrap() == Completion::Accepted {
                    *accepted.lock().unwrap().entry(job.id).or_default() += 1;
                }
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, JOBS);
    let claims = claims.lock().unwrap().clone();
    let accepted = accepted.lock().unwrap().clone();
    for &id in &ids {
        assert_eq!(claims.get(&id), Some(&1), "job {id} claims");
        assert_eq!(accepted.get(&id), Some(&1), "job {id} accepted completions");
        let job = q.get(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Done);
        assert_eq!(job.attempts, 1, "job {id} attempts");
        assert_eq!(job.result_key, Some(format!("proofs/{}.bin", job.batch_start)));
    }
    assert_eq!(q.depth().await.unwrap(), vec![(JobKind::ProveBatch, JobState::Done, JOBS)]);
    q.close().await;
}

async fn expired_lease_is_requeued_and_late_result_counted_once(url: String) {
    let q = connect(&url, 200, 3).await;
    let id = q.enqueue(prove(7)).await.unwrap();
    let first = q.claim("slow", &JobKind::ALL).await.unwrap().unwrap();
    assert_eq!(first.id, id);
    assert_eq!(q.requeue_expired().await.unwrap(), 0, "lease not yet expired");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(q.requeue_expired().await.unwrap(), 1);
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.last_error.as_deref(), Some("lease expired"));
    assert_eq!(job.lease_deadline, None);
    // The crashed worker's claim is not the job's failure: the attempt is given back, the lost lease counted.
    assert_eq!((job.attempts, job.lost_leases), (0, 1));

    let second = q.claim("fast", &JobKind::ALL).await.unwrap().unwrap();
    assert_eq!(second.id, id);
    assert_eq!((second.attempts, second.lost_leases), (1, 1));
    assert!(!q.heartbeat(id, "slow").await.unwrap(), "the expired worker lost the lease");
    assert!(!q.release(id, "slow").await.unwrap());
    match q.fail(id, "slow", "late failure").await {
        Err(QueueError::NotLeaseHolder { id: e_id, state: JobState::Leased, holder, .. }) => {
            assert_eq!(e_id, id);
            assert_eq!(holder.as_deref(), Some("fast"));
        }
        other => panic!("expected NotLeaseHolder, got {other:?}"),
    }

    // The slow worker's (verified) result arrives late: accepted once; every later completion is a no-op.
    let mut accepted = 0;
    for (worker, key) in [("slow", "proofs/slow"), ("fast", "proofs/fast"), ("slow", "proofs/slow-again")] {
        if q.complete(id, worker, key).await.unwrap() == Completion::Accepted {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.result_key.as_deref(), Some("proofs/slow"));
    assert_eq!(job.attempts, 1);
    assert!(!q.heartbeat(id, "fast").await.unwrap());
    assert!(q.claim("fast", &JobKind::ALL).await.unwrap().is_none());
    q.close().await;
}

async fn max_attempts_dead_letters_with_error_text(url: String) {
    let q = connect(&url, 200, 2).await;
    let id = q.enqueue(prove(1)).await.unwrap();
    let job = q.claim("w", &[JobKind::ProveBatch]).await.unwrap().unwrap();
    assert_eq!((job.id, job.attempts, job.max_attempts), (id, 1, 2));
    assert_eq!(q.fail(id, "w", "witness generation failed").await.unwrap(), JobState::Queued);
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!(job.last_error.as_deref(), Some("witness generation failed"));
    q.claim("w", &[JobKind::ProveBatch]).await.unwrap().unwrap();
    assert_eq!(q.fail(id, "w", "prover ran out of memory at row 4096").await.unwrap(), JobState::Dead);
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Dead);
    assert_eq!(job.attempts, 2);
    assert_eq!(job.last_error.as_deref(), Some("prover ran out of memory at row 4096"));
    assert!(q.claim("w", &JobKind::ALL).await.unwrap().is_none());
    assert!(matches!(q.complete(id, "w", "proofs/x").await, Err(QueueError::JobDead { .. })));
    assert_eq!(q.list(Some(JobState::Dead), 10).await.unwrap().len(), 1);
    // Its history says what happened, in order, with the error texts.
    let h: Vec<(String, Option<String>)> =
        q.history(id).await.unwrap().into_iter().map(|e| (e.event, e.detail)).collect();
    let d = |s: &str| Some(s.to_string());
    assert_eq!(
        h,
        vec![
            ("leased".into(), d("attempt 1")),
            ("failed".into(), d("witness generation failed")),
            ("leased".into(), d("attempt 2")),
            ("failed; dead: attempts exhausted".into(), d("prover ran out of memory at row 4096")),
        ]
    );

    // An expired lease on the last attempt does not use it up: crashed workers are counted apart, and only
    // max_lost_leases (2 here) of them make the job dead.
    let id2 = q.enqueue(prove(2)).await.unwrap();
    q.claim("w", &JobKind::ALL).await.unwrap().unwrap();
    q.fail(id2, "w", "transient").await.unwrap();
    for lost in 1..=2 {
        let j = q.claim("w", &JobKind::ALL).await.unwrap().unwrap();
        assert_eq!((j.id, j.attempts), (id2, 2), "the last attempt, again");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(q.requeue_expired().await.unwrap(), 1);
        let job = q.get(id2).await.unwrap().unwrap();
        assert_eq!((job.attempts, job.lost_leases), (1, lost), "{job:?}");
        if lost == 1 {
            assert_eq!((job.state, job.last_error.as_deref()), (JobState::Queued, Some("lease expired")));
        } else {
            assert_eq!(job.state, JobState::Dead);
            assert!(job.last_error.as_deref().unwrap().contains("lease expired too many times"), "{job:?}");
        }
    }
    let last: Vec<String> = q.history(id2).await.unwrap().into_iter().map(|e| e.event).rev().take(2).collect();
    assert_eq!(last, ["lease expired; dead: too many leases lost", "leased"]);
    // An operator's requeue starts both counts afresh.
    assert!(q.requeue_dead(id2).await.unwrap());
    let job = q.get(id2).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts, job.lost_leases), (JobState::Queued, 0, 0));
    q.close().await;
}

async fn dag_release_and_priority_order(url: String) {
    let q = connect(&url, 30_000, 3).await;
    let all = JobKind::ALL;
    // Enqueued out of order on purpose.
    let p3 = q.enqueue(prove(3)).await.unwrap();
    let p2 = q.enqueue(prove(2)).await.unwrap();
    let p1 = q.enqueue(prove(1)).await.unwrap();
    let a12 = q.enqueue(aggregate(1, 2, 1, vec![p2, p1])).await.unwrap();
    let agg = q.get(a12).await.unwrap().unwrap();
    assert_eq!(agg.state, JobState::Waiting);
    assert_eq!(agg.deps, vec![p2, p1], "deps keep their order");
    assert!(q.claim("w", &[JobKind::Aggregate]).await.unwrap().is_none(), "a waiting job is not claimable");

    let j = q.claim("w", &all).await.unwrap().unwrap();
    assert_eq!(j.id, p1, "lowest batch first");
    assert_eq!(q.complete(p1, "w", "proofs/1").await.unwrap(), Completion::Accepted);
    assert_eq!(state_of(&q, a12).await, JobState::Waiting, "one child is not done yet");

    let j = q.claim("w", &all).await.unwrap().unwrap();
    assert_eq!(j.id, p2);
    assert_eq!(q.complete(p2, "w", "proofs/2").await.unwrap(), Completion::Accepted);
    assert_eq!(state_of(&q, a12).await, JobState::Queued, "both children done");

    let j = q.claim("w", &all).await.unwrap().unwrap();
    assert_eq!(j.id, a12, "batch 1 aggregation before batch 3 proof");
    assert_eq!(j.deps, vec![p2, p1]);
    let covering: Vec<i64> = q.jobs_covering(2).await.unwrap().iter().map(|j| j.id).collect();
    assert_eq!(covering, vec![p2, a12]);
    assert_eq!(q.complete(a12, "w", "proofs/agg-1-2").await.unwrap(), Completion::Accepted);

    // Same batch: the lower level goes first, whatever the enqueue order.
    let a56 = q.enqueue(aggregate(5, 6, 1, vec![])).await.unwrap();
    assert_eq!(state_of(&q, a56).await, JobState::Queued, "no deps: queued at once");
    let p5 = q.enqueue(prove(5)).await.unwrap();
    let order: Vec<i64> = [
        q.claim("w", &all).await.unwrap().unwrap().id,
        q.claim("w", &all).await.unwrap().unwrap().id,
        q.claim("w", &all).await.unwrap().unwrap().id,
    ]
    .to_vec();
    assert_eq!(order, vec![p3, p5, a56]);

    // A dependency done before enqueue: the new job is queued at once; the kind filter holds.
    let a13 = q.enqueue(aggregate(1, 3, 2, vec![a12])).await.unwrap();
    assert_eq!(state_of(&q, a13).await, JobState::Queued);
    assert!(q.claim("w", &[JobKind::ProveBatch]).await.unwrap().is_none());
    assert_eq!(q.claim("w", &[JobKind::Aggregate]).await.unwrap().unwrap().id, a13);
    assert!(q.claim("w", &[]).await.unwrap().is_none());

    let depth: HashMap<(JobKind, JobState), u64> =
        q.depth().await.unwrap().into_iter().map(|(k, s, n)| ((k, s), n)).collect();
    assert_eq!(depth.get(&(JobKind::ProveBatch, JobState::Done)), Some(&2));
    assert_eq!(depth.get(&(JobKind::ProveBatch, JobState::Leased)), Some(&2));
    assert_eq!(depth.get(&(JobKind::Aggregate, JobState::Done)), Some(&1));
    assert_eq!(depth.get(&(JobKind::Aggregate, JobState::Leased)), Some(&2));
    assert_eq!(q.list(None, 100).await.unwrap().len(), 7);
    assert_eq!(q.list(Some(JobState::Leased), 3).await.unwrap().len(), 3);
    q.close().await;
}

async fn heartbeat_extends_lease(url: String) {
    let q = connect(&url, 1_000, 3).await;
    let id = q.enqueue(prove(1)).await.unwrap();
    let job = q.claim("w", &JobKind::ALL).await.unwrap().unwrap();
    let first_deadline = job.lease_deadline.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!(q.heartbeat(id, "w").await.unwrap());
    let deadline = q.get(id).await.unwrap().unwrap().lease_deadline.unwrap();
    assert!(deadline >= before + 1_000, "deadline {deadline} extended from now {before}");
    assert!(deadline > first_deadline);
    assert!(!q.heartbeat(id, "intruder").await.unwrap());
    assert!(!q.heartbeat(id + 1000, "w").await.unwrap(), "unknown job");
    assert_eq!(q.requeue_expired().await.unwrap(), 0);
    assert_eq!(state_of(&q, id).await, JobState::Leased);
    q.close().await;
}

async fn release_does_not_count_attempt(url: String) {
    let q = connect(&url, 30_000, 3).await;
    let id = q.enqueue(prove(1)).await.unwrap();
    assert_eq!(q.claim("w", &JobKind::ALL).await.unwrap().unwrap().attempts, 1);
    assert!(!q.release(id, "other").await.unwrap());
    assert!(q.release(id, "w").await.unwrap());
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts, job.lease_deadline), (JobState::Queued, 0, None));
    assert!(!q.release(id, "w").await.unwrap(), "no longer leased");
    let again = q.claim("w2", &JobKind::ALL).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (id, 1));
    q.close().await;
}

async fn enqueue_is_idempotent(url: String) {
    let q = connect(&url, 30_000, 3).await;
    let id = q.enqueue(prove(9)).await.unwrap();
    let mut other_input = prove(9);
    other_input.input_key = "traces/other".into();
    assert_eq!(q.enqueue(other_input).await.unwrap(), id);
    let job = q.find(JobKind::ProveBatch, 9, 9, 0).await.unwrap().unwrap();
    assert_eq!((job.id, job.input_key.as_str(), job.state), (id, "traces/9.bin", JobState::Queued));
    // Same range, different kind or level: a different job.
    let agg = q.enqueue(aggregate(9, 9, 1, vec![id])).await.unwrap();
    assert_ne!(agg, id);
    assert_eq!(q.enqueue(aggregate(9, 9, 1, vec![id])).await.unwrap(), agg);
    assert_eq!(q.list(None, 10).await.unwrap().len(), 2);
    assert!(q.find(JobKind::ProveBatch, 9, 9, 1).await.unwrap().is_none());
    // Concurrent enqueues of the same job agree on one id.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn({
                let q = q.clone();
                async move { q.enqueue(prove(10)).await }
            })
        })
        .collect();
    let mut got = Vec::new();
    for h in handles {
        got.push(h.await.unwrap().unwrap());
    }
    got.dedup();
    assert_eq!(got.len(), 1, "{got:?}");
    q.close().await;
}

async fn unknown_dependency_is_refused(url: String) {
    let q = connect(&url, 30_000, 3).await;
    let p1 = q.enqueue(prove(1)).await.unwrap();
    match q.enqueue(aggregate(1, 2, 1, vec![p1, 999_999])).await {
        Err(QueueError::UnknownDependency {
            dep: 999_999,
            kind: JobKind::Aggregate,
            batch_start: 1,
            batch_end: 2,
            level: 1,
        }) => {}
        other => panic!("expected UnknownDependency, got {other:?}"),
    }
    assert!(q.find(JobKind::Aggregate, 1, 2, 1).await.unwrap().is_none(), "nothing stored");
    assert!(matches!(
        q.enqueue(NewJob { batch_start: 5, batch_end: 4, ..prove(5) }).await,
        Err(QueueError::InvalidJob { field: "batch_end", .. })
    ));
    assert!(matches!(q.complete(12345, "w", "k").await, Err(QueueError::NotFound { id: 12345 })));
    assert!(matches!(q.fail(12345, "w", "e").await, Err(QueueError::NotFound { id: 12345 })));
    q.close().await;
}

async fn reconnect_keeps_jobs(url: String) {
    let q = connect(&url, 30_000, 3).await;
    let id = q.enqueue(prove(1)).await.unwrap();
    q.close().await;
    // Migrations run again on connect and must be a no-op.
    let q = connect(&url, 30_000, 3).await;
    assert_eq!(q.claim("w", &JobKind::ALL).await.unwrap().unwrap().id, id);
    q.close().await;
}

#[tokio::test]
async fn unreachable_database_is_a_connect_error() {
    let url = "postgres://postgres:hunter2@127.0.0.1:1/x";
    match Queue::connect(url, QueueConfig::default()).await {
        Err(e @ QueueError::Connect { .. }) => {
            let QueueError::Connect { url: shown, .. } = &e else { unreachable!() };
            assert_eq!(shown, "postgres://postgres:***@127.0.0.1:1/x");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        other => panic!("expected QueueError::Connect, got {:?}", other.map(|_| ())),
    }
    assert!(matches!(
        Queue::connect("mysql://localhost/x", QueueConfig::default()).await,
        Err(QueueError::UnsupportedUrl { .. })
    ));
    assert!(matches!(
        Queue::connect("sqlite::memory:", QueueConfig { lease_ms: 0, ..QueueConfig::default() }).await,
        Err(QueueError::InvalidConfig { field: "lease_ms", .. })
    ));
    assert!(matches!(
        Queue::connect("sqlite::memory:", QueueConfig { max_lost_leases: 0, ..QueueConfig::default() }).await,
        Err(QueueError::InvalidConfig { field: "max_lost_leases", .. })
    ));
}

#[tokio::test]
async fn sqlite_in_memory_and_nested_path() {
    let q = Queue::connect("sqlite::memory:", QueueConfig::default()).await.unwrap();
    let id = q.enqueue(prove(1)).await.unwrap();
    assert_eq!(q.claim("w", &JobKind::ALL).await.unwrap().unwrap().id, id);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a/b/queue.db").display());
    let q = Queue::connect(&url, QueueConfig::default()).await.unwrap();
    q.enqueue(prove(1)).await.unwrap();
    assert!(dir.path().join("a/b/queue.db").is_file());
}

async fn dead_job_requeued_by_an_operator_is_proven_again(url: String) {
    let q = connect(&url, 30_000, 1).await;
    let a = q.enqueue(prove(0)).await.unwrap();
    let b = q.enqueue(prove(1)).await.unwrap();
    let root = q.enqueue(aggregate(0, 1, 1, vec![a, b])).await.unwrap();
    q.claim("w", &[JobKind::ProveBatch]).await.unwrap().unwrap();
    assert_eq!(q.fail(a, "w", "out of memory").await.unwrap(), JobState::Dead);
    let job = q.claim("w", &[JobKind::ProveBatch]).await.unwrap().unwrap();
    q.complete(job.id, "w", "proofs/1").await.unwrap();
    // only a dead job can be requeued: a done, a waiting or an unknown one is left alone
    assert!(!q.requeue_dead(b).await.unwrap());
    assert!(!q.requeue_dead(root).await.unwrap());
    assert!(!q.requeue_dead(9_999).await.unwrap());
    assert_eq!(q.get(b).await.unwrap().unwrap().state, JobState::Done);
    assert!(q.requeue_dead(a).await.unwrap());
    let job = q.get(a).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
    assert_eq!(job.last_error.as_deref(), Some("out of memory"), "the error stays visible until the next attempt");
    assert!(!q.requeue_dead(a).await.unwrap(), "requeueing twice changes nothing");
    // it is proven like any job, and its parent is released
    let job = q.claim("w2", &JobKind::ALL).await.unwrap().unwrap();
    assert_eq!((job.id, job.attempts), (a, 1));
    q.complete(a, "w2", "proofs/0").await.unwrap();
    assert_eq!(q.claim("w2", &JobKind::ALL).await.unwrap().unwrap().id, root);
    q.close().await;
}

/// The single-writer lease: a second holder is refused while it runs; after it runs out a new holder gets a larger
/// token, and the old holder's writes and renewals are refused (fenced) from then on.
async fn one_writer_at_a_time_and_fenced_writes(url: String) {
    let q = connect(&url, 30_000, 3).await;
    assert!(!q.has_batches().await.unwrap());
    let a = q.acquire_writer("sequencer", "seq-a", 300).await.unwrap();
    assert_eq!(a.previous_holder, None);
    match q.acquire_writer("sequencer", "seq-b", 300).await {
        Err(QueueError::WriterHeld { holder, remaining_ms, .. }) => {
            assert_eq!(holder, "seq-a");
            assert!(remaining_ms <= 300, "{remaining_ms}");
        }
        other => panic!("expected WriterHeld, got {other:?}"),
    }
    q.renew_writer(&a, 300).await.unwrap();
    q.enqueue_fenced(prove(1), Some(&a)).await.unwrap();
    assert!(q.has_batches().await.unwrap());
    // The same holder again (a restart of the same sequencer) gets it at once, with a new token.
    let a2 = q.acquire_writer("sequencer", "seq-a", 300).await.unwrap();
    assert!(a2.token > a.token);
    assert!(matches!(q.check_writer(&a).await, Err(QueueError::Fenced { .. })));

    tokio::time::sleep(Duration::from_millis(400)).await;
    let b = q.acquire_writer("sequencer", "seq-b", 30_000).await.unwrap();
    assert_eq!(b.previous_holder.as_deref(), Some("seq-a"));
    assert!(b.token > a2.token);
    for stale in [&a, &a2] {
        match q.enqueue_fenced(prove(2), Some(stale)).await {
            Err(QueueError::Fenced { current, .. }) => assert!(current.contains("seq-b"), "{current}"),
            other => panic!("expected Fenced, got {other:?}"),
        }
        assert!(matches!(q.renew_writer(stale, 300).await, Err(QueueError::Fenced { .. })));
    }
    assert!(q.find(JobKind::ProveBatch, 2, 2, 0).await.unwrap().is_none(), "a fenced enqueue wrote nothing");
    q.enqueue_fenced(prove(2), Some(&b)).await.unwrap();
    // A clean stop hands the lease over at once.
    q.release_writer(&b).await.unwrap();
    let c = q.acquire_writer("sequencer", "seq-c", 30_000).await.unwrap();
    assert_eq!(c.previous_holder.as_deref(), Some("seq-b"));
    q.close().await;
}

/// A wrap job (one level above the epoch's root, with the root's job as its one dependency) is stored as `wrap`,
/// becomes claimable only once the root is done, and is claimed only by workers that take wraps.
async fn wrap_job_waits_for_the_epoch_root(url: String) {
    let q = connect(&url, 30_000, 3).await;
    let (a, b) = (q.enqueue(prove(0)).await.unwrap(), q.enqueue(prove(1)).await.unwrap());
    let root = q.enqueue(aggregate(0, 1, 1, vec![a, b])).await.unwrap();
    let id = q.enqueue(wrap_job(root)).await.unwrap();
    assert_eq!(q.enqueue(wrap_job(root)).await.unwrap(), id, "enqueued once");
    assert_eq!(state_of(&q, id).await, JobState::Waiting);
    let job = q.find(JobKind::Wrap, 0, 1, 2).await.unwrap().unwrap();
    assert_eq!((job.id, job.kind, job.deps.clone()), (id, JobKind::Wrap, vec![root]));
    for _ in 0..3 {
        let j = q.claim("w", &[JobKind::ProveBatch, JobKind::Aggregate]).await.unwrap().unwrap();
        assert_ne!(j.kind, JobKind::Wrap);
        q.complete(j.id, "w", &format!("r{}", j.id)).await.unwrap();
    }
    assert_eq!(state_of(&q, id).await, JobState::Queued, "released by its root");
    assert!(q.claim("w", &[JobKind::ProveBatch, JobKind::Aggregate]).await.unwrap().is_none(), "not without wraps");
    let j = q.claim("w", &JobKind::ALL).await.unwrap().unwrap();
    assert_eq!((j.id, j.kind), (id, JobKind::Wrap));
    assert!(q.depth().await.unwrap().contains(&(JobKind::Wrap, JobState::Leased, 1)));
    q.close().await;
}

/// A queue made before wrap jobs existed is upgraded in place: every job, dependency and history entry survives, and
/// a wrap job can be enqueued.
async fn upgrade_to_wrap_jobs_keeps_every_row(url: String) {
    let seed = [
        "INSERT INTO jobs (kind, batch_start, batch_end, level, state, input_key, result_key, attempts, max_attempts, \
         created_at, updated_at, lost_leases) VALUES \
         ('prove_batch', 0, 0, 0, 'done', 'traces/0', 'proofs/0', 1, 3, 1, 2, 0), \
         ('prove_batch', 1, 1, 0, 'done', 'traces/1', 'proofs/1', 2, 3, 1, 3, 1), \
         ('aggregate', 0, 1, 1, 'queued', 'agg/0-1', NULL, 0, 3, 1, 3, 0)",
        "INSERT INTO job_deps (job_id, dep_id, position) VALUES (3, 1, 0), (3, 2, 1)",
        "INSERT INTO job_events (job_id, at, event, worker, detail) VALUES (2, 5, 'lease expired', 'w1', '1'), \
         (2, 6, 'done', 'w2', 'proofs/1')",
    ];
    let applied = zkr_queue::test_utils::old_schema(&url, "wrap jobs", &seed).await;
    assert_eq!(applied, 2, "the schema before wrap jobs");
    let q = connect(&url, 30_000, 3).await;
    let jobs = q.list(None, 10).await.unwrap();
    assert_eq!(jobs.len(), 3);
    let second = q.get(2).await.unwrap().unwrap();
    assert_eq!(
        (second.kind, second.state, second.attempts, second.lost_leases, second.result_key.as_deref()),
        (JobKind::ProveBatch, JobState::Done, 2, 1, Some("proofs/1"))
    );
    assert_eq!(q.get(3).await.unwrap().unwrap().deps, vec![1, 2], "dependencies kept in order");
    let history: Vec<String> = q.history(2).await.unwrap().into_iter().map(|e| e.event).collect();
    assert_eq!(history, ["lease expired", "done"]);
    // The new kind is accepted, and new ids continue after the old ones.
    let id = q.enqueue(wrap_job(3)).await.unwrap();
    assert_eq!(id, 4);
    assert_eq!(q.get(id).await.unwrap().unwrap().deps, vec![3]);
    // Reconnecting runs nothing again.
    q.close().await;
    let q = connect(&url, 30_000, 3).await;
    assert_eq!(q.list(None, 10).await.unwrap().len(), 4);
    q.close().await;
}
