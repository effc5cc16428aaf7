//! The wallet API over HTTP/JSON, for browsers and scripts that do not speak gRPC.
//!
//! A gateway in front of the gRPC service implementation ([`WalletApi`]): every route calls the same method a gRPC
//! client reaches, and a refusal keeps its message and its `zkr-reason` label.
//!
//! | route | gRPC |
//! |---|---|
//! | `POST /v1/tx` (body: the signed transaction's bytes in hex, or `{"tx": "<hex>"}`) | `SubmitTx` |
//! | `GET /v1/tx/{hash}` | `GetTxStatus` |
//! | `GET /v1/tx/{hash}/events` (Server-Sent Events) | `StreamStatus` with one hash |
//! | `GET /v1/account/{id}[?proven=true]` | `GetAccount` |
//! | `GET /v1/info` | `GetInfo` |
//!
//! Defences: request bodies above `max_request_bytes` are refused (413) before they are read in full, a client must
//! send its request head within [`HEADER_TIMEOUT`] and its body within [`BODY_TIMEOUT`], at most
//! `http_max_connections` connections are served at once (further ones wait in the listen backlog), and event streams
//! have the limits of gRPC status streams (`max_status_streams` in total, `max_status_streams_per_client` per client
//! address; the gateway counts its own streams apart from the gRPC server's). CORS: no route uses cookies or other
//! credentials, so any origin listed in `http_cors_origins` (by default `*`, every origin) may call it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::TcpConnectInfo;
use tonic::{Code, Status};
use tracing::{debug, info, warn};

use crate::error::SequencerError;
use crate::grpc::proto::wallet_server::Wallet;
use crate::grpc::{proto, WalletApi, REASON_KEY};
use crate::Sequencer;

/// A client must send its whole request head within this long.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A client must send its whole request body within this long.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// An event stream sends a comment line this often, so that proxies and clients see it is alive.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

type Body = BoxBody<Bytes, Infallible>;

/// Serves the HTTP gateway on `addr` until `shutdown` completes (or the sequencer shuts down).
pub async fn serve_http(
    seq: Sequencer,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), SequencerError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| SequencerError::Bind { addr, source })?;
    serve_http_with_listener(seq, listener, shutdown).await
}

/// Like [`serve_http`], on a listener the caller bound (e.g. to `127.0.0.1:0` in tests).
pub async fn serve_http_with_listener(
    seq: Sequencer,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), SequencerError> {
    let stop = seq.shutdown_token().child_token();
    let local = listener.local_addr().ok();
    if let Some(addr) = local {
        info!(%addr, "wallet HTTP API listening");
    }
    let cfg = seq.config();
    let connections = Arc::new(Semaphore::new(cfg.http_max_connections));
    let gateway = Arc::new(Gateway {
        cors: Cors::new(&cfg.http_cors_origins),
        max_body: cfg.max_request_bytes,
        api: WalletApi::new(seq.clone(), stop.clone()),
    });
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            _ = stop.cancelled() => break,
            p = Arc::clone(&connections).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (socket, peer) = tokio::select! {
            _ = &mut shutdown => break,
            _ = stop.cancelled() => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // out of file descriptors and the like: wait a little instead of spinning
                    warn!(error = %e, "wallet HTTP API: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (gateway, stop) = (Arc::clone(&gateway), stop.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| {
                let gateway = Arc::clone(&gateway);
                async move { Ok::<_, Infallible>(gateway.handle(req, peer, local).await) }
            });
            let mut builder = http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).max_buf_size(64 * 1024);
            let conn = builder.serve_connection(TokioIo::new(socket), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                debug!(%peer, error = %e, "wallet HTTP API connection ended with an error");
            }
        });
    }
    stop.cancel();
    Ok(())
}

/// Which origins may call the API from a browser.
#[derive(Debug, Clone)]
enum Cors {
    Any,
    Listed(Vec<String>),
}

impl Cors {
    fn new(origins: &[String]) -> Self {
        if origins.iter().any(|o| o == "*") {
            Cors::Any
        } else {
            Cors::Listed(origins.iter().map(|o| o.trim_end_matches('/').to_ascii_lowercase()).collect())
        }
    }

    /// The CORS headers for a request from `origin` (none when the origin is not allowed: the browser then keeps
    /// the answer from the page).
    fn headers(&self, origin: Option<&HeaderValue>, out: &mut HeaderMap) {
        match self {
            Cors::Any => {
                out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            }
            Cors::Listed(list) => {
                out.append(header::VARY, HeaderValue::from_static("origin"));
                let Some(origin) = origin else { return };
                let allowed =
                    origin.to_str().is_ok_and(|o| list.iter().any(|l| l.eq_ignore_ascii_case(o.trim_end_matches('/'))));
                if allowed {
                    out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                }
            }
        }
    }
}

struct Gateway {
    api: WalletApi,
    cors: Cors,
    max_body: usize,
}

/// A refusal as the gateway answers it: the HTTP status, the stable label and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ApiError {
    status: StatusCode,
    reason: String,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, reason: &str, message: impl Into<String>) -> Self {
        Self { status, reason: reason.to_string(), message: message.into() }
    }

    fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    /// A gRPC status from the service, for the route `op`.
    fn from_status(s: &Status, op: Op) -> Self {
        let status = match (s.code(), op) {
            // a submitted transaction naming an unknown account is refused input, not a missing resource
            (Code::NotFound, Op::Submit) => StatusCode::BAD_REQUEST,
            (Code::NotFound, _) => StatusCode::NOT_FOUND,
            (
                Code::InvalidArgument
                | Code::FailedPrecondition
                | Code::OutOfRange
                | Code::Unauthenticated
                | Code::PermissionDenied,
                _,
            ) => StatusCode::BAD_REQUEST,
            (Code::AlreadyExists, _) => StatusCode::CONFLICT,
            (Code::ResourceExhausted, _) => StatusCode::TOO_MANY_REQUESTS,
            (Code::Unavailable | Code::Aborted | Code::Cancelled | Code::DeadlineExceeded, _) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let reason = s
            .metadata()
            .get(REASON_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| if status.is_server_error() { "unavailable" } else { "refused" }.to_string());
        let reason = if status == StatusCode::INTERNAL_SERVER_ERROR { "internal".to_string() } else { reason };
        Self { status, reason, message: s.message().to_string() }
    }

    fn to_json(&self) -> Value {
        json!({ "error": { "status": self.status.as_u16(), "reason": self.reason, "message": self.message } })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Submit,
    Read,
}

/// What the service answered, or its refusal as the gateway answers it on a route of kind `op`.
fn answer<T>(r: Result<tonic::Response<T>, Status>, op: Op) -> Result<T, ApiError> {
    r.map(tonic::Response::into_inner).map_err(|s| ApiError::from_status(&s, op))
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let mut r = Response::new(full(v.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.status, &e.to_json())
}

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// Empty bytes (an unset optional field) as `null`.
fn hex_or_null(b: &[u8]) -> Value {
    if b.is_empty() {
        Value::Null
    } else {
        Value::String(hex0x(b))
    }
}

fn stage_name(stage: i32) -> &'static str {
    match proto::TxStage::try_from(stage) {
        Ok(proto::TxStage::Received) => "received",
        Ok(proto::TxStage::Sequenced) => "sequenced",
        Ok(proto::TxStage::Proven) => "proven",
        Ok(proto::TxStage::Aggregated) => "aggregated",
        Ok(proto::TxStage::Finalized) => "finalized",
        Ok(proto::TxStage::Rejected) => "rejected",
        _ => "unspecified",
    }
}

fn status_json(s: &proto::TxStatus) -> Value {
    json!({
        "stage": stage_name(s.stage),
        "batch": s.batch,
        "reason": if s.reason.is_empty() { Value::Null } else { Value::String(s.reason.clone()) },
        "l1_tx": hex_or_null(&s.l1_tx),
        "execute_tx": hex_or_null(&s.execute_tx),
    })
}

fn update_json(u: &proto::TxStatusUpdate) -> Value {
    json!({
        "hash": hex0x(&u.tx_hash),
        "status": u.status.as_ref().map(status_json).unwrap_or(Value::Null),
    })
}

/// Hex with or without `0x`, surrounding whitespace ignored.
fn parse_hex(what: &str, s: &str) -> Result<Vec<u8>, ApiError> {
    let s = s.trim();
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    hex::decode(digits).map_err(|e| ApiError::malformed(format!("{what} is not hex: {e}")))
}

/// The signed transaction in a `POST /v1/tx` body: hex, or a JSON object `{"tx": "<hex>"}`.
fn submitted_bytes(body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::malformed("the request body is not UTF-8 text"))?;
    let text = text.trim();
    if text.starts_with('{') {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| ApiError::malformed(format!("the request body is not valid JSON: {e}")))?;
        let tx = v.get("tx").and_then(Value::as_str).ok_or_else(|| {
            ApiError::malformed("the JSON body needs a string field \"tx\" (the signed transaction in hex)")
        })?;
        return parse_hex("\"tx\"", tx);
    }
    if text.is_empty() {
        return Err(ApiError::malformed("the request body is empty: send the signed transaction's bytes in hex"));
    }
    parse_hex("the request body", text)
}

fn query_flag(query: Option<&str>, name: &str) -> Result<bool, ApiError> {
    let Some(q) = query else { return Ok(false) };
    let mut value = false;
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, "true"));
        if k == name {
            value = match v {
                "true" | "1" | "" => true,
                "false" | "0" => false,
                other => return Err(ApiError::malformed(format!("{name} must be true or false, got {other:?}"))),
            };
        }
    }
    Ok(value)
}

impl Gateway {
    async fn handle(&self, req: Request<Incoming>, peer: SocketAddr, local: Option<SocketAddr>) -> Response<Body> {
        let origin = req.headers().get(header::ORIGIN).cloned();
        let mut response = if req.method() == Method::OPTIONS {
            preflight(&req)
        } else {
            match self.route(req, peer, local).await {
                Ok(r) => r,
                Err(e) => error_response(&e),
            }
        };
        self.cors.headers(origin.as_ref(), response.headers_mut());
        response
    }

    async fn route(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        local: Option<SocketAddr>,
    ) -> Result<Response<Body>, ApiError> {
        let path = req.uri().path().to_string();
        let query = req.uri().query().map(str::to_string);
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let method = req.method().clone();
        let allowed = |m: &Method, want: Method| {
            if *m == want {
                Ok(())
            } else {
                Err(ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    format!("{path} takes {want}, not {m}"),
                ))
            }
        };
        match segments.as_slice() {
            ["v1", "tx"] => {
                allowed(&method, Method::POST)?;
                let body = self.read_body(req).await?;
                let tx = submitted_bytes(&body)?;
                let request = tonic::Request::new(proto::SubmitTxRequest { tx });
                let r = answer(self.api.submit_tx(request).await, Op::Submit)?;
                let v = json!({
                    "hash": hex0x(&r.tx_hash),
                    "status": r.status.as_ref().map(status_json).unwrap_or(Value::Null),
                });
                Ok(json_response(StatusCode::OK, &v))
            }
            ["v1", "tx", hash] => {
                allowed(&method, Method::GET)?;
                let tx_hash = parse_hex("the transaction hash", hash)?;
                let request = tonic::Request::new(proto::GetTxStatusRequest { tx_hash });
                let s = answer(self.api.get_tx_status(request).await, Op::Read)?;
                Ok(json_response(StatusCode::OK, &status_json(&s)))
            }
            ["v1", "tx", hash, "events"] => {
                allowed(&method, Method::GET)?;
                let tx_hash = parse_hex("the transaction hash", hash)?;
                self.events(tx_hash, peer, local).await
            }
            ["v1", "account", id] => {
                allowed(&method, Method::GET)?;
                let account: u32 =
                    id.parse().map_err(|_| ApiError::malformed(format!("account id must be a u32, got {id:?}")))?;
                let proven = query_flag(query.as_deref(), "proven")?;
                let request = tonic::Request::new(proto::GetAccountRequest { account, proven });
                let a = answer(self.api.get_account(request).await, Op::Read)?;
                let v = json!({
                    "account": account,
                    "proven": proven,
                    "exists": a.exists,
                    "balance": a.balance.to_string(),
                    "nonce": a.nonce,
                    "pubkey": hex_or_null(&a.pubkey),
                    "root": hex0x(&a.root),
                    "siblings": a.siblings.iter().map(|s| hex0x(s)).collect::<Vec<_>>(),
                    "batches": a.batches,
                });
                Ok(json_response(StatusCode::OK, &v))
            }
            ["v1", "info"] => {
                allowed(&method, Method::GET)?;
                let i = answer(self.api.get_info(tonic::Request::new(proto::GetInfoRequest {})).await, Op::Read)?;
                let v = json!({
                    "chain_id": i.chain_id.to_string(),
                    "rollup_id": i.rollup_id.to_string(),
                    "batch_capacity": i.batch_capacity,
                    "min_fee": i.min_fee.to_string(),
                    "fee_account": i.fee_account,
                });
                Ok(json_response(StatusCode::OK, &v))
            }
            _ => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no route {path}"))),
        }
    }

    /// The request body, refused when larger than the limit (before it is read in full) or sent too slowly.
    async fn read_body(&self, req: Request<Incoming>) -> Result<Bytes, ApiError> {
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the request body is larger than this sequencer's limit of {} bytes", self.max_body),
            )
        };
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body as u64) {
            return Err(too_large());
        }
        let body = Limited::new(req.into_body(), self.max_body);
        match tokio::time::timeout(BODY_TIMEOUT, body.collect()).await {
            Err(_) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!("the request body did not arrive within {} s", BODY_TIMEOUT.as_secs()),
            )),
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
            Ok(Err(e)) => Err(ApiError::malformed(format!("reading the request body failed: {e}"))),
            Ok(Ok(c)) => Ok(c.to_bytes()),
        }
    }

    /// `GET /v1/tx/{hash}/events`: the StreamStatus stream of one transaction as Server-Sent Events. Each status is
    /// an `event: status` whose data is `{"hash", "status"}`; the stream ends after `finalized` or `rejected`. A
    /// failure after the stream began is an `event: error` with the error object, and ends it.
    async fn events(
        &self,
        tx_hash: Vec<u8>,
        peer: SocketAddr,
        local: Option<SocketAddr>,
    ) -> Result<Response<Body>, ApiError> {
        let mut request = tonic::Request::new(proto::StreamStatusRequest { tx_hashes: vec![tx_hash] });
        // the service counts open streams per client address, as for gRPC clients
        request.extensions_mut().insert(TcpConnectInfo { local_addr: local, remote_addr: Some(peer) });
        let mut updates = answer(self.api.stream_status(request).await, Op::Read)?.into_inner();
        let (out, rx) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(16);
        tokio::spawn(async move {
            let event =
                |name: &str, data: &Value| Ok(Frame::data(Bytes::from(format!("event: {name}\ndata: {data}\n\n"))));
            let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
            keep_alive.tick().await;
            loop {
                let frame = tokio::select! {
                    _ = out.closed() => return, // the client went away: dropping `updates` ends the service's stream
                    _ = keep_alive.tick() => Ok(Frame::data(Bytes::from_static(b": keep-alive\n\n"))),
                    next = updates.recv() => match next {
                        None => return,
                        Some(Ok(u)) => event("status", &update_json(&u)),
                        Some(Err(s)) => {
                            let _ = out.send(event("error", &ApiError::from_status(&s, Op::Read).to_json())).await;
                            return;
                        }
                    },
                };
                if out.send(frame).await.is_err() {
                    return;
                }
            }
        });
        let mut r = Response::new(StreamBody::new(ReceiverStream::new(rx)).boxed());
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // nginx and similar proxies would otherwise hold the events back
        h.insert("x-accel-buffering", HeaderValue::from_static("no"));
        Ok(r)
    }
}

/// The answer to a CORS preflight (`OPTIONS`): the methods and headers a page may use. The origin check is the
/// caller's (the allow-origin header is added to every response whose origin is allowed).
fn preflight(req: &Request<Incoming>) -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    h.insert(header::ALLOW, HeaderValue::from_static("GET, POST, OPTIONS"));
    if req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, accept, cache-control, last-event-id"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_queries_parse_strictly() {
        assert_eq!(submitted_bytes(b" 0x0102\n").unwrap(), vec![1, 2]);
        assert_eq!(submitted_bytes(b"0A0b").unwrap(), vec![10, 11]);
        assert_eq!(submitted_bytes(br#"{"tx": "0x0102"}"#).unwrap(), vec![1, 2]);
        for bad in [&b""[..], b"0x", b"xyz", b"0x123", br#"{"tx": 5}"#, br#"{"tx""#, b"\xff"] {
            let e = submitted_bytes(bad).err();
            // "0x" is empty hex: it decodes to nothing and the service refuses it as malformed
            if bad == b"0x" {
                assert_eq!(e, None);
                continue;
            }
            let e = e.unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert_eq!((e.status, e.reason.as_str()), (StatusCode::BAD_REQUEST, "malformed"), "{bad:?}");
        }
        assert!(!query_flag(None, "proven").unwrap());
        assert!(query_flag(Some("proven=true"), "proven").unwrap());
        assert!(query_flag(Some("a=b&proven"), "proven").unwrap());
        assert!(!query_flag(Some("proven=0"), "proven").unwrap());
        assert!(query_flag(Some("proven=yes"), "proven").is_err());
    }

    #[test]
    fn statuses_map_to_http() {
        let with_reason = |code, reason: &'static str| {
            let mut s = Status::new(code, "m");
            s.metadata_mut().insert(REASON_KEY, tonic::metadata::MetadataValue::from_static(reason));
            s
        };
        let e = ApiError::from_status(&with_reason(Code::NotFound, "unknown_account"), Op::Submit);
        assert_eq!((e.status, e.reason.as_str()), (StatusCode::BAD_REQUEST, "unknown_account"));
        let e = ApiError::from_status(&with_reason(Code::NotFound, "unknown_tx"), Op::Read);
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        let e = ApiError::from_status(&with_reason(Code::AlreadyExists, "duplicate"), Op::Submit);
        assert_eq!(e.status, StatusCode::CONFLICT);
        let e = ApiError::from_status(&with_reason(Code::Unavailable, "unavailable"), Op::Submit);
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        let e = ApiError::from_status(&Status::internal("boom"), Op::Read);
        assert_eq!((e.status, e.reason.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
        assert_eq!(e.to_json()["error"]["message"], "boom");
    }

    #[test]
    fn cors_lists_are_exact() {
        let mut h = HeaderMap::new();
        Cors::new(&["*".into()]).headers(None, &mut h);
        assert_eq!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(), "*");
        let listed = Cors::new(&["https://wallet.example/".into()]);
        let mut h = HeaderMap::new();
        listed.headers(Some(&HeaderValue::from_static("https://wallet.example")), &mut h);
        assert_eq!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(), "https://wallet.example");
        let mut h = HeaderMap::new();
        listed.headers(Some(&HeaderValue::from_static("https://wallet.example.evil")), &mut h);
        assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert_eq!(h.get(header::VARY).unwrap(), "origin");
    }
}
