//! The coordinator verifies every submitted proof: junk and valid proofs of other statements are refused with
//! INVALID_ARGUMENT and the attempt fails (the job goes back to the queue with the error kept); a late duplicate is
//! `accepted: false` and counted once.

use std::sync::Arc;

use tonic::Code;
use zkr_queue::{JobKind, JobState};
use zkr_worker::exec::{Circuits, WorkInput};
use zkr_worker::proto;

use crate::common::{authed, batches, lease_req, submit_req, Coordinator, CAPACITY, TOKEN};

async fn prove_batch(circuits: &Arc<Circuits>, n: usize) -> Vec<u8> {
    let c = circuits.clone();
    let trace = batches().batches[n].to_bytes();
    tokio::task::spawn_blocking(move || c.execute(&WorkInput::ProveBatch { trace }, &zkr_engine::CpuBackend))
        .await
        .unwrap()
        .unwrap()
        .bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_proofs_are_refused_and_the_job_goes_back() {
    let c = Coordinator::start(None).await;
    c.seal_batches().await;
    let mut client = c.client().await;
    let (proof0, proof1) = (prove_batch(&c.circuits, 0).await, prove_batch(&c.circuits, 1).await);

    // The lease carries the trace of batch 0 (the oldest).
    let leased = client.lease(authed(lease_req("w1"), Some(TOKEN))).await.unwrap().into_inner();
    let job = leased.job.expect("a job");
    assert_eq!(job.kind, proto::JobKind::ProveBatch as i32);
    assert_eq!((job.batch_start, job.batch_end, job.level, job.capacity), (0, 0, 0, CAPACITY as u32));
    assert_eq!(job.inputs, vec![batches().batches[0].to_bytes()]);
    let id = job.id;

    // Junk from a worker that does not hold the lease: refused, and the holder's lease is untouched.
    let s = client.submit(authed(submit_req(id, "w2", vec![0xab; 1000]), Some(TOKEN))).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    let j = c.job(id).await;
    assert_eq!(
        (j.state, j.attempts, j.picked_by.as_deref(), j.last_error.as_deref()),
        (JobState::Leased, 1, Some("w1"), None)
    );
    let held = client
        .heartbeat(authed(proto::HeartbeatRequest { job_id: id, worker_id: "w1".into() }, Some(TOKEN)))
        .await
        .unwrap()
        .into_inner()
        .held;
    assert!(held);

    // Junk from the holder: refused, attempt counted, job queued again with the reason kept.
    let s = client.submit(authed(submit_req(id, "w1", vec![0xab; 1000]), Some(TOKEN))).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    assert!(s.message().contains("refused"), "{}", s.message());
    let j = c.job(id).await;
    assert_eq!((j.state, j.attempts), (JobState::Queued, 1), "{j:?}");
    let err = j.last_error.unwrap();
    assert!(err.contains("refused proof"), "{err}");
    assert!(j.result_key.is_none());
    // The lost lease shows in heartbeats.
    let held = client
        .heartbeat(authed(proto::HeartbeatRequest { job_id: id, worker_id: "w1".into() }, Some(TOKEN)))
        .await
        .unwrap()
        .into_inner()
        .held;
    assert!(!held);

    // A truncated real proof is junk too.
    let job = client.lease(authed(lease_req("w1"), Some(TOKEN))).await.unwrap().into_inner().job.unwrap();
    assert_eq!(job.id, id, "batch 0 is still the oldest job");
    let s = client
        .submit(authed(submit_req(id, "w1", proof0[..proof0.len() / 2].to_vec()), Some(TOKEN)))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    let j = c.job(id).await;
    assert_eq!((j.state, j.attempts), (JobState::Queued, 2), "{j:?}");

    // A valid proof of another batch: valid, but for other public inputs.
    let job = client.lease(authed(lease_req("w1"), Some(TOKEN))).await.unwrap().into_inner().job.unwrap();
    assert_eq!(job.id, id);
    assert_eq!(c.job(id).await.attempts, 3);
    let s = client.submit(authed(submit_req(id, "w1", proof1.clone()), Some(TOKEN))).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    assert!(s.message().contains("other public inputs"), "{}", s.message());
    let j = c.job(id).await;
    // Third refused attempt of three: dead-lettered, the reason kept.
    assert_eq!((j.state, j.attempts), (JobState::Dead, 3), "{j:?}");
    assert!(j.last_error.as_deref().unwrap().contains("other public inputs"), "{j:?}");
    assert!(c.blobs.get(&zkr_worker::source::proof_key(0, 0, 0)).is_err(), "no proof stored for a refused job");
    assert_eq!(c.completed("prove_batch", "accepted"), 0);
    // Even the right proof cannot complete a dead job: FAILED_PRECONDITION (not retryable), nothing changes.
    let s = client.submit(authed(submit_req(id, "w1", proof0), Some(TOKEN))).await.unwrap_err();
    assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
    assert_eq!(c.job(id).await, j);

    // Batch 1's job: the right proof is accepted once; late duplicates are `accepted: false`, not counted again.
    let job = client.lease(authed(lease_req("w3"), Some(TOKEN))).await.unwrap().into_inner().job.unwrap();
    assert_eq!((job.batch_start, job.kind), (1, proto::JobKind::ProveBatch as i32));
    let id1 = job.id;
    let r = client.submit(authed(submit_req(id1, "w3", proof1.clone()), Some(TOKEN))).await.unwrap().into_inner();
    assert!(r.accepted);
    let done = c.job(id1).await;
    assert_eq!((done.state, done.attempts, done.picked_by.as_deref()), (JobState::Done, 1, Some("w3")));
    for worker in ["w3", "w4"] {
        let r = client.submit(authed(submit_req(id1, worker, proof1.clone()), Some(TOKEN))).await.unwrap().into_inner();
        assert!(!r.accepted, "duplicate from {worker} accepted again");
    }
    let again = c.job(id1).await;
    assert_eq!(again, done, "a duplicate changed the job");
    assert_eq!(c.completed("prove_batch", "accepted"), 1);
    assert_eq!(c.completed("prove_batch", "duplicate"), 2);
    let stored = c.blobs.get(done.result_key.as_deref().unwrap()).unwrap();
    assert_eq!(c.circuits.verify(0, &stored, "stored").unwrap(), batches().batches[1].public_inputs());

    // Unknown jobs are NOT_FOUND.
    let s = client.submit(authed(submit_req(9999, "w3", proof1), Some(TOKEN))).await.unwrap_err();
    assert_eq!(s.code(), Code::NotFound, "{s:?}");

    // The dead batch-0 job keeps the aggregation waiting.
    let agg = c.queue.find(JobKind::Aggregate, 0, 1, 1).await.unwrap().unwrap();
    assert_eq!(agg.state, JobState::Waiting);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_returns_the_lease_without_counting_and_fail_keeps_the_error() {
    let c = Coordinator::start(None).await;
    c.seal_batches().await;
    let mut client = c.client().await;
    let job = client.lease(authed(lease_req("w1"), Some(TOKEN))).await.unwrap().into_inner().job.unwrap();
    // Only the holder may release.
    client
        .release(authed(proto::ReleaseRequest { job_id: job.id, worker_id: "w2".into() }, Some(TOKEN)))
        .await
        .unwrap();
    assert_eq!(c.job(job.id).await.state, JobState::Leased);
    client
        .release(authed(proto::ReleaseRequest { job_id: job.id, worker_id: "w1".into() }, Some(TOKEN)))
        .await
        .unwrap();
    let j = c.job(job.id).await;
    assert_eq!((j.state, j.attempts), (JobState::Queued, 0), "{j:?}");

    let job = client.lease(authed(lease_req("w1"), Some(TOKEN))).await.unwrap().into_inner().job.unwrap();
    // A worker that does not hold the lease cannot fail the job: FAILED_PRECONDITION, not a retryable error.
    let s = client
        .fail(authed(proto::FailRequest { job_id: job.id, worker_id: "w2".into(), error: "x".into() }, Some(TOKEN)))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
    assert_eq!((c.job(job.id).await.state, c.job(job.id).await.last_error), (JobState::Leased, None));
    let s = client
        .fail(authed(proto::FailRequest { job_id: 9999, worker_id: "w1".into(), error: "x".into() }, Some(TOKEN)))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::NotFound, "{s:?}");
    client
        .fail(authed(
            proto::FailRequest { job_id: job.id, worker_id: "w1".into(), error: "out of memory".into() },
            Some(TOKEN),
        ))
        .await
        .unwrap();
    let j = c.job(job.id).await;
    assert_eq!((j.state, j.attempts, j.last_error.as_deref()), (JobState::Queued, 1, Some("out of memory")), "{j:?}");
    c.shutdown().await;
}

/// A trace the coordinator cannot find (sequencer and coordinator on different blob stores) is a configuration
/// error: the worker is told so (UNAVAILABLE, it asks again later), the job stays queued with no attempt used, and
/// once the trace is where it belongs the job is leased as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_trace_is_a_configuration_error_not_a_dead_job() {
    let c = Coordinator::start(None).await;
    c.seal_batches().await;
    let key = zkr_worker::source::trace_key(0);
    let path = c.blobs.root().join(&key);
    let saved = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut client = c.client().await;
    for _ in 0..5 {
        let e = client.lease(authed(lease_req("w"), Some(TOKEN))).await.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{e:?}");
        assert!(e.message().contains("must share one blob store"), "{}", e.message());
    }
    let jobs = c.queue.list(None, 10).await.unwrap();
    let j = jobs.iter().find(|j| j.kind == JobKind::ProveBatch && j.batch_start == 0).unwrap();
    assert_eq!((j.state, j.attempts), (JobState::Queued, 0), "{j:?}");
    std::fs::write(&path, saved).unwrap();
    let leased = client.lease(authed(lease_req("w"), Some(TOKEN))).await.unwrap().into_inner();
    assert_eq!(leased.job.unwrap().batch_start, 0);
    c.shutdown().await;
}

/// An epoch's wrap job goes through the coordinator like any other: leased with the root proof as its one input,
/// a valid proof of another circuit (the root proof itself) is refused, and the worker's wrap proof is accepted,
/// stored under the wrap key and verifies in the wrap circuit with the epoch's public inputs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrap_job_is_leased_proven_by_the_worker_and_checked() {
    let c = Coordinator::start(None).await;
    c.seal_batches().await;
    let mut client = c.client().await;
    // Prove the epoch: two batches, then their aggregation, each leased and submitted over gRPC.
    let mut proofs = Vec::new();
    for n in 0..2 {
        let job = client.lease(authed(lease_req("w"), Some(TOKEN))).await.unwrap().into_inner().job.unwrap();
        assert_eq!((job.kind, job.batch_start), (proto::JobKind::ProveBatch as i32, n));
        let proof = prove_batch(&c.circuits, n as usize).await;
        assert!(
            client
                .submit(authed(submit_req(job.id, "w", proof.clone()), Some(TOKEN)))
                .await
                .unwrap()
                .into_inner()
                .accepted
        );
        proofs.push(proof);
    }
    let job = client.lease(authed(lease_req("w"), Some(TOKEN))).await.unwrap().into_inner().job.unwrap();
    assert_eq!(job.kind, proto::JobKind::Aggregate as i32);
    let (circuits, left, right) = (c.circuits.clone(), proofs[0].clone(), proofs[1].clone());
    let input = WorkInput::Aggregate { level: 1, left, right };
    let root = tokio::task::spawn_blocking(move || circuits.execute(&input, &zkr_engine::CpuBackend))
        .await
        .unwrap()
        .unwrap()
        .bytes;
    assert!(
        client.submit(authed(submit_req(job.id, "w", root.clone()), Some(TOKEN))).await.unwrap().into_inner().accepted
    );

    // The settlement's wrap job: level height + 1, depending on the root.
    let wrap = zkr_queue::NewJob {
        kind: JobKind::Wrap,
        batch_start: 0,
        batch_end: 1,
        level: c.circuits.wrap_level(),
        input_key: "proofs/L1-00000000-00000001.proof".into(),
        deps: vec![job.id],
    };
    let id = c.queue.enqueue(wrap).await.unwrap();
    let job = client.lease(authed(lease_req("w"), Some(TOKEN))).await.unwrap().into_inner().job.unwrap();
    assert_eq!((job.id, job.kind, job.level), (id, proto::JobKind::Wrap as i32, 2));
    assert_eq!(job.inputs, vec![root.clone()], "the root proof is the one input");

    // The root proof itself is a valid proof, but not of the wrap circuit.
    let s = client.submit(authed(submit_req(id, "w", root.clone()), Some(TOKEN))).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    assert_eq!(c.job(id).await.state, JobState::Queued);

    let job = client.lease(authed(lease_req("w"), Some(TOKEN))).await.unwrap().into_inner().job.unwrap();
    assert_eq!(job.id, id);
    let circuits = c.circuits.clone();
    let out = tokio::task::spawn_blocking(move || {
        circuits.execute(&WorkInput::Wrap { root: job.inputs[0].clone() }, &zkr_engine::CpuBackend)
    })
    .await
    .unwrap()
    .unwrap();
    let expected =
        zkr_circuits::aggregate::combine(&batches().batches[0].public_inputs(), &batches().batches[1].public_inputs());
    assert_eq!(out.public, expected, "the wrap exposes the epoch's public inputs");
    assert!(
        client.submit(authed(submit_req(id, "w", out.bytes.clone()), Some(TOKEN))).await.unwrap().into_inner().accepted
    );
    let done = c.job(id).await;
    assert_eq!(
        (done.state, done.result_key.as_deref()),
        (JobState::Done, Some(zkr_worker::source::wrap_key(0, 1).as_str()))
    );
    let stored = c.blobs.get(&zkr_worker::source::wrap_key(0, 1)).unwrap();
    assert_eq!(c.circuits.verify(c.circuits.wrap_level(), &stored, "stored").unwrap(), expected);
    assert_eq!(c.completed("wrap", "accepted"), 1);
    c.shutdown().await;
}
