//! `/healthz`, `/readyz` and `/metrics` of a real role on a real listener: a fleet sequencer on a Postgres queue
//! (reached through a TCP relay this test can cut) and a blob directory. Ready while both answer; once the
//! database is unreachable, `/readyz` answers 503 naming it while `/healthz` stays 200 (the process is alive).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use zkr_node::fleet::{run_sequencer, NodeEvent, SequencerNodeConfig};
use zkr_queue::test_utils::with_postgres;

/// `GET path` on `addr`: the status code and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.expect("the metrics listener accepts");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: zkr\r\n\r\n").as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // a readiness check may wait for a dependency's timeout; the server closes the connection after its answer
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut raw))
        .await
        .expect("an answer within a minute")
        .unwrap();
    let text = String::from_utf8(raw).expect("a text answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("a status code");
    (code, body.to_string())
}

/// A TCP relay to `target` that can be cut: the connections through it close and new ones are refused.
struct Relay {
    addr: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let t = tasks.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                t.lock().unwrap().push(conn);
            }
        });
        tasks.lock().unwrap().push(accept);
        Relay { addr, tasks }
    }

    /// Closes every relayed connection and the listener.
    fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

/// `url` with its host and port replaced by `addr`; also returns the `host:port` it named.
fn via(url: &str, addr: SocketAddr) -> (String, String) {
    let scheme_end = url.find("://").expect("a URL") + 3;
    let path_start = url[scheme_end..].find('/').map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..path_start];
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (&authority[..=i], &authority[i + 1..]),
        None => ("", authority),
    };
    let hostport = if hostport.contains(':') { hostport.to_string() } else { format!("{hostport}:5432") };
    (format!("{}{userinfo}{addr}{}", &url[..scheme_end], &url[path_start..]), hostport)
}

#[test]
fn a_url_is_rewritten_to_go_through_the_relay() {
    let addr: SocketAddr = "127.0.0.1:7".parse().unwrap();
    assert_eq!(
        via("postgres://postgres@10.0.0.1:5433/zkr_t_1?sslmode=disable", addr),
        ("postgres://postgres@127.0.0.1:7/zkr_t_1?sslmode=disable".to_string(), "10.0.0.1:5433".to_string())
    );
    assert_eq!(via("postgres://db/zkr", addr), ("postgres://127.0.0.1:7/zkr".to_string(), "db:5432".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequencer_is_ready_while_its_dependencies_answer_and_says_which_does_not() {
    with_postgres(|url| async move {
        let dir = tempfile::tempdir().unwrap();
        let (_, target) = via(&url, "127.0.0.1:1".parse().unwrap());
        let relay = Relay::start(target).await;
        let (relayed, _) = via(&url, relay.addr);
        let mut cfg = SequencerNodeConfig {
            database_url: relayed.clone(),
            metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
            ..SequencerNodeConfig::default()
        };
        cfg.sequencer.data_dir = dir.path().join("sequencer");
        cfg.sequencer.listen = "127.0.0.1:0".parse().unwrap();
        cfg.blobs = zkr_blobs::BlobConfig::Fs { dir: dir.path().join("blobs") };
        let metrics_addr: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let seen = metrics_addr.clone();
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        // the role on a runtime of its own, as in its own process
        let role = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            let events = move |e: &NodeEvent| {
                if let NodeEvent::Listening { what: "metrics", addr } = e {
                    *seen.lock().unwrap() = Some(*addr);
                }
            };
            rt.block_on(run_sequencer(cfg, stop, &events))
        });
        let addr = loop {
            if let Some(a) = *metrics_addr.lock().unwrap() {
                break a;
            }
            assert!(!role.is_finished(), "the sequencer stopped at start: {:?}", role.join());
            tokio::time::sleep(Duration::from_millis(50)).await;
        };

        // served from the start: alive at once, ready once the sequencer is open
        assert_eq!(get(addr, "/healthz").await, (200, "ok\n".to_string()));
        let t = std::time::Instant::now();
        loop {
            match get(addr, "/readyz").await {
                (200, body) => {
                    assert_eq!(body, "ready\n");
                    break;
                }
                (503, body) => assert!(body.contains("starting: "), "only starting may delay readiness: {body}"),
                other => panic!("{other:?}"),
            }
            assert!(t.elapsed() < Duration::from_secs(60), "the sequencer did not get ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (code, metrics) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        for line in [
            "zkr_up{role=\"sequencer\"} 1",
            "zkr_sequencer_last_batch_sealed_timestamp_seconds 0",
            "zkr_sequencer_oldest_waiting_tx_age_seconds{queue=\"open_batch\"} 0",
            "zkr_finality_lag_seconds{stage=\"finalized\"} 0",
        ] {
            assert!(metrics.lines().any(|l| l == line), "no line {line:?} in\n{metrics}");
        }
        assert_eq!(get(addr, "/nothing").await.0, 404);

        // the database goes away: not ready, and the reason names it; the process itself is still alive
        relay.cut();
        let (code, body) = get(addr, "/readyz").await;
        assert_eq!(code, 503, "{body}");
        assert!(body.starts_with("not ready\n"), "{body}");
        let shown = relayed.split('?').next().unwrap();
        assert!(body.contains(&format!("database {shown}: ")), "the reason names the database:\n{body}");
        assert!(!body.contains("blob store"), "the blob store still answers:\n{body}");
        assert_eq!(get(addr, "/healthz").await.0, 200);

        // a second dependency failing is listed too
        std::fs::remove_dir_all(dir.path().join("blobs")).unwrap();
        let (code, body) = get(addr, "/readyz").await;
        assert_eq!(code, 503, "{body}");
        assert!(body.contains("database ") && body.contains("blob store file://"), "{body}");

        shutdown.cancel();
        let stopped = tokio::task::spawn_blocking(move || role.join()).await.unwrap();
        assert!(stopped.is_ok(), "the sequencer panicked");
    })
    .await;
}
