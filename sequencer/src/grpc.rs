//! The wallet gRPC API (`zkr.wallet.v1.Wallet`) over a [`Sequencer`].

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request, Response, Status};
use tracing::info;

use crate::error::{SequencerError, SubmitError};
use crate::types::{digest_to_bytes, HashLengthError, StatusUpdate, TxHash, TxStage, TxStatus};
use crate::Sequencer;

/// The generated protobuf types, server and client (`proto::wallet_client::WalletClient`).
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("zkr.wallet.v1");
}

use proto::wallet_server::{Wallet, WalletServer};

/// Trailer carrying a refusal's machine-readable label.
pub const REASON_KEY: &str = "zkr-reason";

fn status_with_reason(code: Code, message: String, reason: &'static str) -> Status {
    let mut s = Status::new(code, message);
    s.metadata_mut().insert(REASON_KEY, MetadataValue::from_static(reason));
    s
}

impl From<SubmitError> for Status {
    fn from(e: SubmitError) -> Self {
        status_with_reason(e.code(), e.to_string(), e.label())
    }
}

impl From<SequencerError> for Status {
    fn from(e: SequencerError) -> Self {
        match e {
            SequencerError::ShutDown | SequencerError::Failed(_) => {
                status_with_reason(Code::Unavailable, e.to_string(), "unavailable")
            }
            e => status_with_reason(Code::Internal, e.to_string(), "internal"),
        }
    }
}

impl From<TxStage> for proto::TxStage {
    fn from(s: TxStage) -> Self {
        match s {
            TxStage::Received => proto::TxStage::Received,
            TxStage::Sequenced => proto::TxStage::Sequenced,
            TxStage::Proven => proto::TxStage::Proven,
            TxStage::Aggregated => proto::TxStage::Aggregated,
            TxStage::Finalized => proto::TxStage::Finalized,
            TxStage::Rejected => proto::TxStage::Rejected,
        }
    }
}

impl From<&TxStatus> for proto::TxStatus {
    fn from(s: &TxStatus) -> Self {
        proto::TxStatus {
            stage: proto::TxStage::from(s.stage) as i32,
            batch: s.batch,
            reason: s.reason.clone().unwrap_or_default(),
            l1_tx: s.l1_tx.map(|h| h.to_vec()).unwrap_or_default(),
            execute_tx: s.execute_tx.map(|h| h.to_vec()).unwrap_or_default(),
        }
    }
}

impl From<&StatusUpdate> for proto::TxStatusUpdate {
    fn from(u: &StatusUpdate) -> Self {
        proto::TxStatusUpdate { tx_hash: u.hash.0.to_vec(), status: Some((&u.status).into()) }
    }
}

fn invalid_hash(e: HashLengthError) -> Status {
    status_with_reason(Code::InvalidArgument, e.to_string(), "malformed")
}

/// Labels tonic's own refusal of an oversized request (sent before any handler runs) with the
/// `zkr-reason` every other refusal carries. tonic answers it trailers-only, so the status is
/// in the response headers.
pub fn label_oversized(mut response: http::Response<tonic::body::BoxBody>) -> http::Response<tonic::body::BoxBody> {
    let headers = response.headers();
    let out_of_range = headers.get("grpc-status").is_some_and(|v| v.as_bytes() == b"11");
    let too_large = headers.get("grpc-message").and_then(|v| v.to_str().ok()).is_some_and(|m| {
        // grpc-message is percent-encoded.
        m.contains("too%20large") || m.contains("too large")
    });
    if out_of_range && too_large && !headers.contains_key(REASON_KEY) {
        response.headers_mut().insert(REASON_KEY, http::HeaderValue::from_static("too_large"));
    }
    response
}

/// Open status streams, in total and per client address; a stream holds a [`StreamSlot`].
#[derive(Debug)]
struct StreamSlots {
    max_total: usize,
    max_per_client: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One open stream; gives its slot back when the stream ends.
struct StreamSlot {
    slots: Arc<StreamSlots>,
    client: IpAddr,
}

impl StreamSlots {
    #[allow(clippy::result_large_err)] // tonic's Status is what handlers return
    fn acquire(self: &Arc<Self>, client: IpAddr) -> Result<StreamSlot, Status> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.0 >= self.max_total {
            let msg =
                format!("the sequencer serves at most {} status streams at once; try again later", self.max_total);
            return Err(status_with_reason(Code::ResourceExhausted, msg, "too_many_streams"));
        }
        let mine = open.1.entry(client).or_insert(0);
        if *mine >= self.max_per_client {
            let msg = format!(
                "{client} already has {} open status streams (the limit per client); close one first",
                self.max_per_client
            );
            return Err(status_with_reason(Code::ResourceExhausted, msg, "too_many_streams"));
        }
        *mine += 1;
        open.0 += 1;
        Ok(StreamSlot { slots: Arc::clone(self), client })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.client);
            }
        }
    }
}

/// The service implementation. Build it with [`wallet_service`] (which sets the message size
/// and stream limits) to mount it next to other services; add [`label_oversized`] as a response
/// map on the server so that oversized requests carry their `zkr-reason`.
#[derive(Debug)]
pub struct WalletApi {
    seq: Sequencer,
    /// Ends open status streams (server shutdown or sequencer shutdown).
    stop: CancellationToken,
    streams: Arc<StreamSlots>,
}

/// The wallet service with the configured request size limit (`max_request_bytes`) and status
/// stream limits.
pub fn wallet_service(seq: Sequencer, stop: CancellationToken) -> WalletServer<WalletApi> {
    let limit = seq.config().max_request_bytes;
    WalletServer::new(WalletApi::new(seq, stop)).max_decoding_message_size(limit)
}

impl WalletApi {
    /// The service over `seq`, with its own status stream limits (`max_status_streams`, and
    /// `max_status_streams_per_client` by the client address in the request's `TcpConnectInfo`); `stop` ends its open
    /// status streams. The gRPC server ([`wallet_service`]) and the HTTP gateway (`crate::http`) each build one.
    pub fn new(seq: Sequencer, stop: CancellationToken) -> Self {
        let cfg = seq.config();
        let streams = Arc::new(StreamSlots {
            max_total: cfg.max_status_streams,
            max_per_client: cfg.max_status_streams_per_client,
            open: Mutex::new((0, HashMap::new())),
        });
        WalletApi { seq, stop, streams }
    }
}

/// Serves the wallet API on `addr` until `shutdown` completes (or the sequencer shuts down).
pub async fn serve(
    seq: Sequencer,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), SequencerError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| SequencerError::Bind { addr, source })?;
    serve_with_listener(seq, listener, shutdown).await
}

/// Like [`serve`], on a listener the caller bound (e.g. to `127.0.0.1:0` in tests).
pub async fn serve_with_listener(
    seq: Sequencer,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), SequencerError> {
    let stop = seq.shutdown_token().child_token();
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "wallet API listening");
    }
    let service = wallet_service(seq, stop.clone());
    let stop_on = stop.clone();
    let signal = async move {
        tokio::select! {
            _ = shutdown => {}
            _ = stop_on.cancelled() => {}
        }
        stop_on.cancel();
    };
    tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(label_oversized))
        .add_service(service)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), signal)
        .await?;
    Ok(())
}

#[tonic::async_trait]
impl Wallet for WalletApi {
    async fn submit_tx(
        &self,
        request: Request<proto::SubmitTxRequest>,
    ) -> Result<Response<proto::SubmitTxResponse>, Status> {
        let s = self.seq.submit(&request.into_inner().tx).await?;
        Ok(Response::new(proto::SubmitTxResponse { tx_hash: s.hash.0.to_vec(), status: Some((&s.status).into()) }))
    }

    async fn get_tx_status(
        &self,
        request: Request<proto::GetTxStatusRequest>,
    ) -> Result<Response<proto::TxStatus>, Status> {
        let hash = TxHash::from_slice(&request.into_inner().tx_hash).map_err(invalid_hash)?;
        match self.seq.tx_status(hash).await? {
            Some(s) => Ok(Response::new((&s).into())),
            None => Err(status_with_reason(Code::NotFound, format!("unknown transaction {hash}"), "unknown_tx")),
        }
    }

    async fn get_account(
        &self,
        request: Request<proto::GetAccountRequest>,
    ) -> Result<Response<proto::GetAccountResponse>, Status> {
        let r = request.into_inner();
        let v = self.seq.account(r.account, r.proven).await?;
        let siblings = v.proof.siblings.iter().map(|d| digest_to_bytes(d).to_vec()).collect();
        let root = digest_to_bytes(&v.root).to_vec();
        Ok(Response::new(match v.account {
            Some(a) => proto::GetAccountResponse {
                exists: true,
                balance: a.balance,
                nonce: a.nonce,
                pubkey: a.pubkey.to_bytes().to_vec(),
                root,
                siblings,
                batches: v.batches,
            },
            None => proto::GetAccountResponse {
                exists: false,
                balance: 0,
                nonce: 0,
                pubkey: Vec::new(),
                root,
                siblings,
                batches: v.batches,
            },
        }))
    }

    async fn get_info(
        &self,
        _request: Request<proto::GetInfoRequest>,
    ) -> Result<Response<proto::GetInfoResponse>, Status> {
        let c = self.seq.config();
        let domain = c.genesis.domain();
        Ok(Response::new(proto::GetInfoResponse {
            chain_id: domain.chain_id,
            rollup_id: domain.rollup_id,
            batch_capacity: c.batch_capacity as u32,
            min_fee: c.min_fee,
            fee_account: c.genesis.fee_account,
        }))
    }

    type StreamStatusStream = ReceiverStream<Result<proto::TxStatusUpdate, Status>>;

    async fn stream_status(
        &self,
        request: Request<proto::StreamStatusRequest>,
    ) -> Result<Response<Self::StreamStatusStream>, Status> {
        let client = request.remote_addr().map(|a| a.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let hashes =
            request.into_inner().tx_hashes.iter().map(|h| TxHash::from_slice(h)).collect::<Result<Vec<_>, _>>();
        let hashes = hashes.map_err(invalid_hash)?;
        let slot = self.streams.acquire(client)?;
        // Subscribe before reading the current statuses so that no change falls in between.
        let rx = self.seq.subscribe();
        // A stream follows the requested transactions the sequencer knows when it opens; one
        // that would follow nothing is refused instead of staying open for ever.
        let mut known = Vec::with_capacity(hashes.len());
        for h in &hashes {
            if self.seq.tx_status(*h).await?.is_some() {
                known.push(*h);
            }
        }
        if !hashes.is_empty() && known.is_empty() {
            let msg = match hashes.as_slice() {
                [one] => format!("unknown transaction {one}"),
                many => format!("none of the {} requested transactions is known", many.len()),
            };
            return Err(status_with_reason(Code::NotFound, msg, "unknown_tx"));
        }
        let (tx, out) = mpsc::channel(256);
        let (seq, stop) = (self.seq.clone(), self.stop.clone());
        tokio::spawn(async move {
            follow(seq, known, rx, tx, stop).await;
            drop(slot);
        });
        Ok(Response::new(ReceiverStream::new(out)))
    }
}

type Out = mpsc::Sender<Result<proto::TxStatusUpdate, Status>>;

/// Whether `next` should be sent after `last`: statuses only move forward (a rejected
/// transaction may be submitted again and start over).
fn is_news(last: Option<&TxStatus>, next: &TxStatus) -> bool {
    match last {
        None => true,
        Some(l) if l == next => false,
        Some(l) => l.stage == TxStage::Rejected || next.stage >= l.stage,
    }
}

/// Feeds one status stream: a snapshot of the requested transactions, then their changes.
async fn follow(
    seq: Sequencer,
    hashes: Vec<TxHash>,
    mut rx: broadcast::Receiver<StatusUpdate>,
    tx: Out,
    stop: CancellationToken,
) {
    let filter: HashSet<TxHash> = hashes.iter().copied().collect();
    let mut last: HashMap<TxHash, TxStatus> = HashMap::new();
    let mut done: HashSet<TxHash> = HashSet::new();

    async fn send(tx: &Out, last: &mut HashMap<TxHash, TxStatus>, done: &mut HashSet<TxHash>, u: StatusUpdate) -> bool {
        if !is_news(last.get(&u.hash), &u.status) {
            return true;
        }
        if u.status.stage.is_terminal() {
            done.insert(u.hash);
        } else {
            done.remove(&u.hash);
        }
        let ok = tx.send(Ok((&u).into())).await.is_ok();
        last.insert(u.hash, u.status);
        ok
    }

    async fn snapshot(
        seq: &Sequencer,
        hashes: &[TxHash],
        tx: &Out,
        last: &mut HashMap<TxHash, TxStatus>,
        done: &mut HashSet<TxHash>,
    ) -> bool {
        for h in hashes {
            match seq.tx_status(*h).await {
                Ok(Some(status)) => {
                    if !send(tx, last, done, StatusUpdate { hash: *h, status }).await {
                        return false;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return false;
                }
            }
        }
        true
    }

    if !snapshot(&seq, &hashes, &tx, &mut last, &mut done).await {
        return;
    }
    loop {
        if !filter.is_empty() && done.len() == filter.len() {
            return; // every requested transaction reached a final stage
        }
        let next = tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            _ = tx.closed() => return,
            next = rx.recv() => next,
        };
        match next {
            Ok(u) => {
                if (filter.is_empty() || filter.contains(&u.hash)) && !send(&tx, &mut last, &mut done, u).await {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                if filter.is_empty() {
                    let msg = format!("status stream fell {n} updates behind; reconnect and query what you need");
                    let _ = tx.send(Err(Status::aborted(msg))).await;
                    return;
                }
                // Re-read the requested statuses: nothing is lost for them.
                if !snapshot(&seq, &hashes, &tx, &mut last, &mut done).await {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_forward_changes_are_news() {
        let seq = TxStatus::in_batch(TxStage::Sequenced, 1);
        let proven = TxStatus::in_batch(TxStage::Proven, 1);
        assert!(is_news(None, &seq));
        assert!(is_news(Some(&seq), &proven));
        assert!(!is_news(Some(&proven), &seq));
        assert!(!is_news(Some(&proven), &proven));
        assert!(is_news(Some(&TxStatus::rejected("x")), &TxStatus::received()));
        assert!(is_news(Some(&TxStatus::received()), &TxStatus::rejected("x")));
    }
}
