//! Worker tokens: every RPC refuses a missing or unknown token with UNAUTHENTICATED, and changes nothing.

use tonic::metadata::MetadataValue;
use tonic::Code;
use zkr_prover::proto;
use zkr_queue::JobState;

use crate::common::{authed, lease_req, submit_req, Coordinator, OTHER_TOKEN, TOKEN};

/// How a request may carry (or not) its credentials.
#[derive(Clone, Copy, Debug)]
enum Creds {
    Missing,
    Unknown,
    Empty,
    WrongScheme,
    Valid(&'static str),
}

fn req<T>(msg: T, creds: Creds) -> tonic::Request<T> {
    let raw = |r: &mut tonic::Request<T>, v: &str| {
        r.metadata_mut().insert("authorization", v.parse::<MetadataValue<_>>().unwrap());
    };
    match creds {
        Creds::Missing => authed(msg, None),
        Creds::Unknown => authed(msg, Some("not-a-token")),
        Creds::Valid(t) => authed(msg, Some(t)),
        Creds::Empty => {
            let mut r = tonic::Request::new(msg);
            raw(&mut r, "Bearer ");
            r
        }
        Creds::WrongScheme => {
            let mut r = tonic::Request::new(msg);
            raw(&mut r, &format!("Basic {TOKEN}"));
            r
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_missing_tokens_are_unauthenticated_for_every_rpc() {
    let c = Coordinator::start(None).await;
    c.seal_batches().await;
    let mut client = c.client().await;
    let first = c.queue.list(Some(JobState::Queued), 1).await.unwrap().remove(0);
    let id = first.id;

    for creds in [Creds::Missing, Creds::Unknown, Creds::Empty, Creds::WrongScheme] {
        let codes = [
            ("lease", client.lease(req(lease_req("w1"), creds)).await.map(|_| ()).err()),
            (
                "heartbeat",
                client
                    .heartbeat(req(proto::HeartbeatRequest { job_id: id, worker_id: "w1".into() }, creds))
                    .await
                    .map(|_| ())
                    .err(),
            ),
            ("submit", client.submit(req(submit_req(id, "w1", vec![1, 2, 3]), creds)).await.map(|_| ()).err()),
            (
                "fail",
                client
                    .fail(req(proto::FailRequest { job_id: id, worker_id: "w1".into(), error: "x".into() }, creds))
                    .await
                    .map(|_| ())
                    .err(),
            ),
            (
                "release",
                client
                    .release(req(proto::ReleaseRequest { job_id: id, worker_id: "w1".into() }, creds))
                    .await
                    .map(|_| ())
                    .err(),
            ),
        ];
        for (rpc, status) in codes {
            let status = status.unwrap_or_else(|| panic!("{rpc} with {creds:?} credentials was served"));
            assert_eq!(status.code(), Code::Unauthenticated, "{rpc} with {creds:?}: {status:?}");
            assert!(status.message().contains("token"), "{rpc}: {}", status.message());
        }
    }
    // Nothing was leased, failed or counted.
    let after = c.job(id).await;
    assert_eq!(
        (after.state, after.attempts, after.picked_by.as_deref(), after.last_error.as_deref()),
        (JobState::Queued, 0, None, None)
    );
    assert!(c.queue.list(Some(JobState::Leased), 10).await.unwrap().is_empty());

    // Both configured tokens work.
    for t in [TOKEN, OTHER_TOKEN] {
        let leased = client.lease(req(lease_req(t), Creds::Valid(t))).await.unwrap().into_inner();
        assert!(leased.job.is_some(), "lease with token {t}");
        assert_eq!(leased.lease_ms, 30_000);
    }
    c.shutdown().await;
}
