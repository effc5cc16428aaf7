//! The wallet API's HTTP/JSON gateway over a real socket, spoken to with hand-written HTTP/1.1 so that the tests
//! control every byte: JSON answers, refusals with their HTTP status and reason, CORS, body limits, event streams
//! and their limits, and the connection limit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use zkr_circuits::demo::GENESIS_FUNDS;
use zkr_circuits::tx::{Domain, Transfer, Tx};
use zkr_sequencer::{Sequencer, SequencerConfig, SequencerError};

use super::{config, hash, keys, transfer, TestProgress, TestSink, PROVEN};

struct Gateway {
    seq: Sequencer,
    addr: SocketAddr,
    progress: Arc<TestProgress>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), SequencerError>>>,
}

impl Gateway {
    async fn start(cfg: &SequencerConfig) -> Gateway {
        let progress = Arc::new(TestProgress::default());
        let seq = Sequencer::open(cfg, Arc::new(TestSink::default()), progress.clone(), &prometheus::Registry::new())
            .await
            .expect("open");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(zkr_sequencer::serve_http_with_listener(seq.clone(), listener, async {
            let _ = stopped.await;
        }));
        Gateway { seq, addr, progress, stop: Some(stop), server: Some(server) }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.server.take().unwrap().await.unwrap().expect("the gateway ends cleanly");
        self.seq.shutdown().await;
    }

    /// Sends `head` (request line and headers, without the blank line) and `body`; the answer.
    async fn raw(&self, head: &str, body: &[u8]) -> Answer {
        let mut s = TcpStream::connect(self.addr).await.unwrap();
        let req = format!("{head}\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len());
        s.write_all(req.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        read_answer(&mut s).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.raw(&format!("GET {path} HTTP/1.1"), b"").await
    }

    async fn post(&self, path: &str, body: &[u8]) -> Answer {
        self.raw(&format!("POST {path} HTTP/1.1\r\nContent-Type: text/plain"), body).await
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    /// Header names in lowercase.
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        assert_eq!(self.header("content-type"), Some("application/json"), "{self:?}");
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// A refusal: its HTTP status, `error.reason` and `error.message`.
    fn refusal(&self) -> (u16, String, String) {
        let v = self.json();
        let e = &v["error"];
        assert_eq!(e["status"], self.status, "{v}");
        (self.status, e["reason"].as_str().unwrap().to_string(), e["message"].as_str().unwrap().to_string())
    }
}

async fn read_answer(s: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw)).await.expect("an answer").unwrap();
    parse_answer(&raw)
}

fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no header end in {text:?}"));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer { status, headers, body: body.to_string() }
}

fn hex_of(tx: &zkr_circuits::tx::SignedTx) -> String {
    format!("0x{}", hex::encode(tx.to_bytes()))
}

#[tokio::test]
async fn submit_status_account_and_info_as_json_with_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let g = Gateway::start(&config(dir.path(), 4, 60_000)).await;

    let info = g.get("/v1/info").await;
    assert_eq!(info.status, 200, "{info:?}");
    let info = info.json();
    assert_eq!(info["chain_id"], Domain::DEVNET.chain_id.to_string());
    assert_eq!(info["rollup_id"], Domain::DEVNET.rollup_id.to_string());
    assert_eq!((info["batch_capacity"].as_u64(), info["min_fee"].as_str()), (Some(4), Some("0")), "{info}");

    // accepted: the hash, and the status the gRPC answer carries
    let t = transfer(&k, 1, 2, 500, 0);
    let ok = g.post("/v1/tx", hex_of(&t).as_bytes()).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let ok = ok.json();
    assert_eq!(ok["hash"], hash(&t).to_string());
    assert_eq!((ok["status"]["stage"].as_str(), ok["status"]["batch"].as_u64()), (Some("sequenced"), Some(0)));
    let status = g.get(&format!("/v1/tx/{}", hash(&t))).await.json();
    assert_eq!(status["stage"], "sequenced");
    assert_eq!(status["reason"], Value::Null);
    // the JSON form of the body is the same request
    let t2 = transfer(&k, 1, 2, 1, 1);
    let wrapped = g.post("/v1/tx", format!("{{\"tx\": \"{}\"}}", hex_of(&t2)).as_bytes()).await;
    assert_eq!(wrapped.status, 200, "{wrapped:?}");

    let account = g.get("/v1/account/1").await.json();
    assert_eq!(account["exists"], true);
    assert_eq!(account["balance"], (GENESIS_FUNDS - 501).to_string());
    assert_eq!(account["nonce"], 2);
    assert_eq!(account["pubkey"], format!("0x{}", hex::encode(k[1].public_key().to_bytes())));
    assert_eq!(account["siblings"].as_array().unwrap().len(), 32);
    let proven = g.get("/v1/account/1?proven=true").await.json();
    assert_eq!((proven["proven"].as_bool(), proven["nonce"].as_u64()), (Some(true), Some(0)), "{proven}");
    let missing = g.get("/v1/account/4000000").await.json();
    assert_eq!((missing["exists"].as_bool(), missing["pubkey"].is_null()), (Some(false), true), "{missing}");

    // refusals: the sequencer's reason and message, with an HTTP status
    let cases: Vec<(Vec<u8>, u16, &str, &str)> = vec![
        (b"0x0102".to_vec(), 400, "malformed", "malformed transaction"),
        (b"not hex".to_vec(), 400, "malformed", "the request body is not hex"),
        (b"".to_vec(), 400, "malformed", "the request body is empty"),
        // signed by account 3's key for account 1
        (
            hex_of(
                &Tx::Transfer(Transfer { from: 1, to: 2, amount: 5, fee: 0, nonce: 2 }).sign(&k[3], &Domain::DEVNET),
            )
            .into_bytes(),
            400,
            "bad_signature",
            "bad signature for account 1",
        ),
        // signed for another rollup
        (
            hex_of(
                &Tx::Transfer(Transfer { from: 1, to: 2, amount: 5, fee: 0, nonce: 2 }).sign(
                    &k[1],
                    &Domain { chain_id: Domain::DEVNET.chain_id, rollup_id: Domain::DEVNET.rollup_id + 1 },
                ),
            )
            .into_bytes(),
            400,
            "bad_signature",
            "bad signature for account 1",
        ),
        (
            hex_of(&transfer(&k, 1, 2, 5, 0)).into_bytes(),
            400,
            "nonce_too_low",
            "nonce too low: account 1 expects 2, got 0",
        ),
        (hex_of(&transfer(&k, 1, 2, 5, 40)).into_bytes(), 400, "nonce_too_high", "nonce too high: account 1 expects 2"),
        (
            hex_of(&transfer(&k, 3, 2, GENESIS_FUNDS + 1, 0)).into_bytes(),
            400,
            "insufficient_balance",
            "insufficient balance in account 3",
        ),
        (hex_of(&transfer(&k, 3, 3, 5, 0)).into_bytes(), 400, "invalid", "invalid transaction"),
        (hex_of(&t).into_bytes(), 409, "duplicate", "was already submitted"),
    ];
    for (body, status, reason, message) in cases {
        let a = g.post("/v1/tx", &body).await;
        let (s, r, m) = a.refusal();
        assert_eq!((s, r.as_str()), (status, reason), "{}: {m}", String::from_utf8_lossy(&body));
        assert!(m.contains(message), "{m:?} does not contain {message:?}");
    }
    let unknown = format!("0x{}", "00".repeat(32));
    assert_eq!(g.get(&format!("/v1/tx/{unknown}")).await.refusal().1, "unknown_tx");
    assert_eq!(g.get(&format!("/v1/tx/{unknown}")).await.status, 404);
    let short = g.get("/v1/tx/0x0011").await.refusal();
    assert_eq!((short.0, short.1.as_str()), (400, "malformed"), "{short:?}");
    assert!(short.2.contains("must be 32 bytes"), "{short:?}");
    assert_eq!(g.get("/v1/tx/zz").await.refusal().0, 400);
    assert_eq!(g.get("/v1/account/-1").await.refusal().1, "malformed");
    assert_eq!(g.get("/v1/account/1?proven=maybe").await.refusal().1, "malformed");
    assert_eq!(g.get(&format!("/v1/tx/{unknown}/events")).await.refusal().0, 404);
    assert_eq!(g.get("/v1/nothing").await.refusal(), (404, "not_found".into(), "no route /v1/nothing".into()));
    assert_eq!(g.get("/v1/tx").await.refusal().1, "method_not_allowed");
    assert_eq!(g.post("/v1/info", b"").await.status, 405);

    // nothing refused was stored: account 3 is untouched
    let a3 = g.get("/v1/account/3").await.json();
    assert_eq!((a3["balance"].as_str(), a3["nonce"].as_u64()), (Some(GENESIS_FUNDS.to_string().as_str()), Some(0)));

    // the gateway stops with the sequencer, as the gRPC server does
    let mut g = g;
    g.seq.shutdown().await;
    let server = g.server.take().unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), server).await.expect("the gateway stops");
    ended.unwrap().expect("cleanly");
}

#[tokio::test]
async fn cors_lets_listed_origins_call_and_preflights_answer() {
    let dir = tempfile::tempdir().unwrap();
    let g = Gateway::start(&config(dir.path(), 4, 60_000)).await;
    let pre = g
        .raw(
            "OPTIONS /v1/tx HTTP/1.1\r\nOrigin: http://page.example:8000\r\nAccess-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: content-type",
            b"",
        )
        .await;
    assert_eq!(pre.status, 204, "{pre:?}");
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert!(pre.header("access-control-allow-methods").unwrap().contains("POST"), "{pre:?}");
    assert!(pre.header("access-control-allow-headers").unwrap().contains("content-type"), "{pre:?}");
    // every answer carries it, refusals included
    let refused = g.raw("POST /v1/tx HTTP/1.1\r\nOrigin: http://page.example:8000", b"zz").await;
    assert_eq!((refused.status, refused.header("access-control-allow-origin")), (400, Some("*")));
    assert_eq!(refused.header("access-control-allow-credentials"), None);
    g.stop().await;

    // a list: only its origins get the header (the browser keeps the answer from any other page)
    let dir = tempfile::tempdir().unwrap();
    let cfg =
        SequencerConfig { http_cors_origins: vec!["https://wallet.example".into()], ..config(dir.path(), 4, 60_000) };
    let g = Gateway::start(&cfg).await;
    let mine = g.raw("GET /v1/info HTTP/1.1\r\nOrigin: https://wallet.example", b"").await;
    assert_eq!(mine.header("access-control-allow-origin"), Some("https://wallet.example"));
    assert_eq!(mine.header("vary"), Some("origin"));
    for other in ["https://evil.example", "https://wallet.example.evil.example", "null"] {
        let a = g.raw(&format!("GET /v1/info HTTP/1.1\r\nOrigin: {other}"), b"").await;
        assert_eq!((a.status, a.header("access-control-allow-origin")), (200, None), "{other}");
        let p = g
            .raw(&format!("OPTIONS /v1/tx HTTP/1.1\r\nOrigin: {other}\r\nAccess-Control-Request-Method: POST"), b"")
            .await;
        assert_eq!(p.header("access-control-allow-origin"), None, "{other}");
    }
    g.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SequencerConfig { max_request_bytes: 4096, ..config(dir.path(), 4, 60_000) };
    let g = Gateway::start(&cfg).await;
    // a declared length over the limit: refused at once, without sending a byte of the body
    let mut s = TcpStream::connect(g.addr).await.unwrap();
    s.write_all(b"POST /v1/tx HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n").await.unwrap();
    let a = read_answer(&mut s).await;
    let (status, reason, message) = a.refusal();
    assert_eq!((status, reason.as_str()), (413, "too_large"), "{message}");
    assert!(message.contains("4096 bytes"), "{message}");
    // chunked, with no length declared: cut off at the limit
    let mut s = TcpStream::connect(g.addr).await.unwrap();
    s.write_all(b"POST /v1/tx HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n").await.unwrap();
    let chunk = format!("1000\r\n{}\r\n", "ab".repeat(2048));
    for _ in 0..4 {
        if s.write_all(chunk.as_bytes()).await.is_err() {
            break; // the server may close as soon as it has answered
        }
    }
    let a = read_answer(&mut s).await;
    assert_eq!(a.refusal().1, "too_large", "{a:?}");
    // a body under the limit still goes through to the sequencer's own refusal
    let a = g.post("/v1/tx", "00".repeat(2000).as_bytes()).await;
    assert_eq!(a.refusal().1, "malformed");
    g.stop().await;
}

/// Reads an event stream until `until` appears in it; what was read.
async fn read_events_until(s: &mut TcpStream, until: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !String::from_utf8_lossy(&seen).contains(until) {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "the stream ended before {until:?}:\n{}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {until:?} in:\n{}", String::from_utf8_lossy(&seen)));
    String::from_utf8_lossy(&seen).into_owned()
}

async fn open_events(addr: SocketAddr, hash: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /v1/tx/{hash}/events HTTP/1.1\r\nHost: t\r\nOrigin: http://page.example\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s
}

#[tokio::test]
async fn event_streams_follow_a_transaction_within_the_stream_limits() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let cfg = SequencerConfig { max_status_streams_per_client: 1, ..config(dir.path(), 1, 60_000) };
    let g = Gateway::start(&cfg).await;
    let t = transfer(&k, 1, 2, 500, 0);
    assert_eq!(g.post("/v1/tx", hex_of(&t).as_bytes()).await.status, 200);
    let h = hash(&t).to_string();

    let mut first = open_events(g.addr, &h).await;
    let head = read_events_until(&mut first, "\"stage\":\"sequenced\"").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/event-stream"), "{head}");
    assert!(head.to_ascii_lowercase().contains("access-control-allow-origin: *"), "{head}");
    assert!(head.contains("event: status\ndata: {"), "{head}");
    assert!(head.contains(&format!("\"hash\":\"{h}\"")), "{head}");

    // one stream per client here: a second is refused while the first is open
    let mut second = open_events(g.addr, &h).await;
    let a = read_answer(&mut second).await;
    assert_eq!(a.refusal().0, 429, "{a:?}");
    assert_eq!(a.refusal().1, "too_many_streams");

    // a change reaches the open stream
    g.progress.set(0, PROVEN);
    read_events_until(&mut first, "\"stage\":\"proven\"").await;

    // a client that hangs up gives its stream back
    drop(first);
    let mut third = None;
    for _ in 0..200 {
        let mut s = open_events(g.addr, &h).await;
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.unwrap();
        if &buf == b"HTTP/1.1 200" {
            third = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut third = third.expect("the stream slot was never given back");
    read_events_until(&mut third, "\"stage\":\"proven\"").await;
    drop(third);
    g.stop().await;
}

#[tokio::test]
async fn connections_over_the_limit_wait_until_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SequencerConfig { http_max_connections: 2, ..config(dir.path(), 4, 60_000) };
    let g = Gateway::start(&cfg).await;
    // two clients hold every slot without sending anything
    let idle1 = TcpStream::connect(g.addr).await.unwrap();
    let _idle2 = TcpStream::connect(g.addr).await.unwrap();
    let mut third = TcpStream::connect(g.addr).await.unwrap(); // the kernel's backlog takes it
    third.write_all(b"GET /v1/info HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "a third connection was served while the limit is 2");
    drop(idle1);
    let a = read_answer(&mut third).await;
    assert_eq!(a.status, 200, "{a:?}");
    g.stop().await;
}
