//! Worker tokens: every RPC refuses a missing or unknown token with UNAUTHENTICATED, and changes nothing.

use tonic::metadata::MetadataValue;
use tonic::Code;
use zkr_circuits::wrap::WrapParams;
use zkr_queue::JobState;
use zkr_worker::proto;

use zkr_worker::source::RemoteSource;

use crate::common::{authed, lease_req, submit_req, Coordinator, CAPACITY, HEIGHT, OTHER_TOKEN, TOKEN};

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
        let hello = proto::HelloRequest {
            worker_id: "w1".into(),
            backend: "cpu".into(),
            capacity: CAPACITY as u32,
            epoch_height: HEIGHT,
            wrap: String::new(),
        };
        let codes = [
            ("hello", client.hello(req(hello, creds)).await.map(|_| ()).err()),
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

/// The handshake refuses a worker whose circuits are not the coordinator's (a wrong capacity or epoch height would
/// lease and release for ever, or fail every aggregation it takes) and a wrong token, each as a fatal refusal that
/// names the reason; a matching worker is welcomed with the lease length.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_refuses_mismatched_circuits_and_wrong_tokens() {
    let c = Coordinator::start(None).await;
    let ok = RemoteSource::new(&c.url(), TOKEN, "cpu", CAPACITY, HEIGHT).unwrap();
    let welcome = ok.hello("good").await.unwrap();
    assert_eq!((welcome.capacity, welcome.epoch_height, welcome.lease_ms), (CAPACITY as u32, HEIGHT, 30_000));

    for (capacity, height) in [(CAPACITY * 2, HEIGHT), (CAPACITY, 0), (CAPACITY, HEIGHT + 1)] {
        let src = RemoteSource::new(&c.url(), TOKEN, "cpu", capacity, height).unwrap();
        let e = src.hello("mismatched").await.unwrap_err();
        let zkr_worker::source::SourceError::Rpc { status } = &e else { panic!("{e}") };
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        let want = format!("batch capacity {capacity} and epoch height {height}");
        assert!(status.message().contains(&want), "{}", status.message());
        assert!(!e.is_transient(), "a mismatch is not retried");
    }
    // the same shape wrapped with other parameters: its wrap proofs would not verify on this deployment's verifier
    let src = RemoteSource::new(&c.url(), TOKEN, "cpu", CAPACITY, HEIGHT).unwrap().with_wrap(WrapParams::L1);
    let e = src.hello("other-wrap").await.unwrap_err();
    let zkr_worker::source::SourceError::Rpc { status } = &e else { panic!("{e}") };
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("wraps with parameters \"l1\""), "{}", status.message());
    assert_eq!(welcome.wrap, "devnet");
    let e = RemoteSource::new(&c.url(), "wrong", "cpu", CAPACITY, HEIGHT).unwrap().hello("w").await.unwrap_err();
    assert!(e.is_fatal() && !e.is_transient(), "{e}");
    // Nothing answers on a closed port: transient (the worker waits for its coordinator).
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let e = RemoteSource::new(&format!("http://{free}"), TOKEN, "cpu", CAPACITY, HEIGHT)
        .unwrap()
        .hello("early")
        .await
        .unwrap_err();
    assert!(e.is_transient() && !e.is_fatal(), "{e}");
    c.shutdown().await;
}
