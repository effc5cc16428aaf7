//! Integration tests of the sequencer over a real gRPC socket (127.0.0.1:0, tonic client).

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::Code;
use zkr_circuits::batch::{Batch, BatchBuilder};
use zkr_circuits::demo::{self, GENESIS_FUNDS};
use zkr_circuits::schnorr::{PublicKey, SecretKey};
use zkr_circuits::smt::MerkleProof;
use zkr_circuits::state::{Account, State};
use zkr_circuits::tx::{Deposit, Domain, ForcedExit, SignedTx, Transfer, Tx, Withdraw};
use zkr_sequencer::proto::wallet_client::WalletClient;
use zkr_sequencer::proto::{self, TxStage as PStage};
use zkr_sequencer::types::{digest_from_bytes, digest_to_bytes};
use zkr_sequencer::{
    BatchProgress, BatchSink, Finality, HookError, L1Cursor, PriorityOp, ProgressSource, Sequencer, SequencerConfig,
    SequencerError, TxHash, TxStage,
};

mod crash;
mod http_gateway;

// ---------------------------------------------------------------- fixtures

/// Records every batch; fails while `failing` is set (with `fatal`, if set, instead of an unavailable store).
#[derive(Default)]
struct TestSink {
    failing: AtomicBool,
    fatal: Mutex<Option<HookError>>,
    calls: Mutex<u32>,
    batches: Mutex<Vec<(u64, Vec<u8>)>>,
}

#[async_trait]
impl BatchSink for TestSink {
    async fn sealed(&self, number: u64, batch: &Batch) -> Result<(), HookError> {
        *self.calls.lock().unwrap() += 1;
        if let Some(e) = self.fatal.lock().unwrap().clone() {
            return Err(e);
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(HookError::Unavailable { what: "test sink", reason: "failing on purpose".into() });
        }
        self.batches.lock().unwrap().push((number, batch.to_bytes()));
        Ok(())
    }
}

impl TestSink {
    fn failing() -> Arc<Self> {
        let s = Arc::new(Self::default());
        s.failing.store(true, Ordering::SeqCst);
        s
    }
    fn numbers(&self) -> Vec<u64> {
        self.batches.lock().unwrap().iter().map(|(n, _)| *n).collect()
    }
    fn batch(&self, n: u64) -> Batch {
        let b = self.batches.lock().unwrap();
        let (_, bytes) = b.iter().find(|(m, _)| *m == n).expect("batch delivered");
        Batch::from_bytes(bytes).expect("the trace decodes")
    }
}

/// Progress and finality records set by the test.
#[derive(Default)]
struct TestProgress {
    progress: Mutex<HashMap<u64, BatchProgress>>,
    records: Mutex<HashMap<u64, Finality>>,
    /// How often the sequencer asked for a finality record.
    asked: AtomicU32,
}

#[async_trait]
impl ProgressSource for TestProgress {
    async fn batch_progress(&self, number: u64) -> Result<BatchProgress, HookError> {
        Ok(self.progress.lock().unwrap().get(&number).copied().unwrap_or_default())
    }

    async fn finality(&self, number: u64) -> Result<Option<Finality>, HookError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Ok(self.records.lock().unwrap().get(&number).copied())
    }
}

impl TestProgress {
    fn set(&self, n: u64, p: BatchProgress) {
        self.progress.lock().unwrap().insert(n, p);
    }

    fn record(&self, n: u64, f: Option<Finality>) {
        let mut r = self.records.lock().unwrap();
        match f {
            Some(f) => r.insert(n, f),
            None => r.remove(&n),
        };
    }

    /// Waits until the sequencer has asked for finality records twice more: the answer to the first is then
    /// handled (the poller's report goes through the same ordered channel as the next query).
    async fn asked_twice_more(&self) {
        let from = self.asked.load(Ordering::SeqCst);
        eventually("two more finality polls", || async { self.asked.load(Ordering::SeqCst) >= from + 2 }).await;
    }
}

const PROVEN: BatchProgress = BatchProgress { proven: true, aggregated: false, finalized: false };
const FINALIZED: BatchProgress = BatchProgress { proven: true, aggregated: true, finalized: true };

fn config(dir: &Path, capacity: usize, max_wait_ms: u64) -> SequencerConfig {
    SequencerConfig {
        data_dir: dir.to_path_buf(),
        batch_capacity: capacity,
        max_wait_ms,
        progress_poll_ms: 25,
        handoff_retry_ms: 25,
        ..Default::default()
    }
}

fn keys() -> Vec<SecretKey> {
    let g = SequencerConfig::default().genesis;
    demo::keys(g.demo_seed, g.demo_accounts)
}

fn transfer(k: &[SecretKey], from: u32, to: u32, amount: u64, nonce: u32) -> SignedTx {
    Tx::Transfer(Transfer { from, to, amount, fee: 0, nonce }).sign(&k[from as usize], &Domain::DEVNET)
}

fn hash(tx: &SignedTx) -> TxHash {
    TxHash::of(&tx.tx.id())
}

struct Node {
    seq: Sequencer,
    client: WalletClient<Channel>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), SequencerError>>>,
}

impl Node {
    async fn start(cfg: &SequencerConfig, sink: Arc<dyn BatchSink>, progress: Arc<dyn ProgressSource>) -> Node {
        let seq = Sequencer::open(cfg, sink, progress, &prometheus::Registry::new()).await.expect("open");
        Self::serve(seq).await
    }

    async fn serve(seq: Sequencer) -> Node {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(zkr_sequencer::serve_with_listener(seq.clone(), listener, async {
            let _ = stopped.await;
        }));
        let client = WalletClient::connect(format!("http://{addr}")).await.expect("connect");
        Node { seq, client, stop: Some(stop), server: Some(server) }
    }

    /// Stops the server and the sequencer and waits until the store is closed.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.server.take().unwrap().await.unwrap().expect("server ends cleanly");
        self.seq.shutdown().await;
    }

    async fn submit(&mut self, tx: &SignedTx) -> Result<proto::SubmitTxResponse, tonic::Status> {
        self.submit_bytes(tx.to_bytes()).await
    }

    async fn submit_bytes(&mut self, tx: Vec<u8>) -> Result<proto::SubmitTxResponse, tonic::Status> {
        self.client.submit_tx(proto::SubmitTxRequest { tx }).await.map(|r| r.into_inner())
    }

    async fn status(&mut self, h: TxHash) -> Result<proto::TxStatus, tonic::Status> {
        self.client.get_tx_status(proto::GetTxStatusRequest { tx_hash: h.0.to_vec() }).await.map(|r| r.into_inner())
    }

    async fn account(&mut self, account: u32, proven: bool) -> proto::GetAccountResponse {
        self.client.get_account(proto::GetAccountRequest { account, proven }).await.expect("get account").into_inner()
    }

    async fn root(&self) -> [u8; 32] {
        digest_to_bytes(&self.seq.root().await.unwrap())
    }
}

fn stage(s: &proto::TxStatus) -> PStage {
    PStage::try_from(s.stage).expect("known stage")
}

async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The batches the native spec produces for these transactions and boundaries.
fn native_batches(groups: &[(usize, Vec<SignedTx>)]) -> Vec<Batch> {
    let mut state = demo::genesis(&keys());
    groups
        .iter()
        .map(|(cap, txs)| {
            let mut b = BatchBuilder::new(*cap);
            for t in txs {
                b.push(&mut state, t).expect("valid");
            }
            b.seal(&mut state)
        })
        .collect()
}

// ---------------------------------------------------------------- tests

/// Fees: GetInfo reports the minimum and the fee account; a lower fee is refused with the minimum in the message; the
/// fee is debited with the amount (so it cannot overspend) and credited to the fee account when the batch seals.
#[tokio::test]
async fn fees_have_a_minimum_are_debited_with_the_amount_and_credited_at_the_seal() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let cfg = SequencerConfig { min_fee: 2, ..config(dir.path(), 2, 60_000) };
    let mut n = Node::start(&cfg, Arc::new(TestSink::default()), Arc::new(TestProgress::default())).await;
    let info = n.client.get_info(proto::GetInfoRequest {}).await.expect("get info").into_inner();
    assert_eq!((info.min_fee, info.fee_account, info.batch_capacity), (2, 0, 2));
    let pay = |from: u32, amount, fee, nonce| {
        Tx::Transfer(Transfer { from, to: 1, amount, fee, nonce }).sign(&k[from as usize], &Domain::DEVNET)
    };
    let err = n.submit(&pay(2, 5, 1, 0)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(err.message(), "fee too low: 1 is below this sequencer's minimum fee 2");
    assert_eq!(err.metadata().get("zkr-reason").unwrap(), "fee_too_low");
    // amount + fee above the balance: refused now, and for a waiting nonce too
    for nonce in [0, 3] {
        let err = n.submit(&pay(2, GENESIS_FUNDS - 2, 3, nonce)).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "nonce {nonce}");
        assert!(err.message().starts_with("insufficient balance in account 2"), "{}", err.message());
    }
    let fee0 = n.account(0, false).await.balance;
    n.submit(&pay(2, GENESIS_FUNDS - 2, 2, 0)).await.expect("the whole balance, fee included");
    n.submit(&pay(3, 10, 7, 0)).await.expect("a higher fee");
    // the batch (capacity 2) is sealed: the fees are in the fee account
    assert_eq!(n.account(2, false).await.balance, 0);
    assert_eq!(n.account(0, false).await.balance, fee0 + 9);
    n.stop().await;
}

#[tokio::test]
async fn submit_status_and_account_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let mut n =
        Node::start(&config(dir.path(), 4, 60_000), Arc::new(TestSink::default()), Arc::new(TestProgress::default()))
            .await;
    let genesis_root = n.root().await;

    let t = transfer(&k, 0, 1, 250, 0);
    let r = n.submit(&t).await.expect("accepted");
    assert_eq!(r.tx_hash, hash(&t).0.to_vec(), "the hash is Tx::id() as 4 LE u64");
    let st = r.status.unwrap();
    assert_eq!((stage(&st), st.batch), (PStage::Sequenced, Some(0)));
    let st = n.status(hash(&t)).await.unwrap();
    assert_eq!((stage(&st), st.batch, st.reason.as_str()), (PStage::Sequenced, Some(0), ""));

    // Latest state, with a Merkle proof that checks against the returned root.
    let a = n.account(0, false).await;
    assert!(a.exists);
    assert_eq!((a.balance, a.nonce, a.batches), (GENESIS_FUNDS - 250, 1, 0));
    let pubkey = PublicKey::from_bytes(&a.pubkey).unwrap();
    assert_eq!(pubkey, k[0].public_key());
    let root = digest_from_bytes(&a.root.clone().try_into().unwrap()).unwrap();
    let siblings = a.siblings.iter().map(|s| digest_from_bytes(&s.clone().try_into().unwrap()).unwrap()).collect();
    let proof = MerkleProof { index: 0, siblings };
    assert!(proof.verify(root, Account { pubkey, balance: a.balance, nonce: a.nonce }.leaf()));
    assert_eq!(a.root, n.root().await.to_vec());
    assert_eq!(n.account(1, false).await.balance, GENESIS_FUNDS + 250);

    // The proven state is still genesis.
    let p = n.account(0, true).await;
    assert_eq!((p.balance, p.nonce, p.root.as_slice()), (GENESIS_FUNDS, 0, &genesis_root[..]));

    // An empty leaf: exists = false with a proof of the zero leaf.
    let e = n.account(77, false).await;
    assert!(!e.exists && e.pubkey.is_empty());
    let siblings = e.siblings.iter().map(|s| digest_from_bytes(&s.clone().try_into().unwrap()).unwrap()).collect();
    assert!(MerkleProof { index: 77, siblings }.verify(root, zkr_circuits::config::ZERO_DIGEST));

    // A withdrawal is a wallet transaction too.
    let w = Tx::Withdraw(Withdraw { from: 1, l1_address: [7; 20], amount: 10, fee: 0, nonce: 0 })
        .sign(&k[1], &Domain::DEVNET);
    assert_eq!(stage(&n.submit(&w).await.unwrap().status.unwrap()), PStage::Sequenced);
    n.stop().await;
}

#[tokio::test]
async fn bad_input_gets_its_code_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let registry = prometheus::Registry::new();
    let seq = Sequencer::open(
        &config(dir.path(), 4, 60_000),
        Arc::new(TestSink::default()),
        Arc::new(TestProgress::default()),
        &registry,
    )
    .await
    .unwrap();
    let mut n = Node::serve(seq).await;
    // what a wallet signs for: the configured domain
    let info = n.client.get_info(proto::GetInfoRequest {}).await.expect("get info").into_inner();
    assert_eq!((info.chain_id, info.rollup_id), (Domain::DEVNET.chain_id, Domain::DEVNET.rollup_id));
    n.submit(&transfer(&k, 0, 1, 5, 0)).await.expect("first transfer");
    let root = n.root().await;
    let spare = k.len() - 1; // owns no account

    let deposit = Tx::Deposit(Deposit { priority_id: 1, to: 2, pubkey: k[2].public_key(), amount: 5 })
        .sign(&k[0], &Domain::DEVNET)
        .to_bytes();
    let forced_exit = Tx::ForcedExit(ForcedExit { priority_id: 2, account: 1, l1_address: [3; 20] })
        .sign(&k[0], &Domain::DEVNET)
        .to_bytes();
    let cases: Vec<(&str, Vec<u8>, Code, &str)> = vec![
        (
            "truncated",
            transfer(&k, 0, 1, 5, 1).to_bytes()[..50].to_vec(),
            Code::InvalidArgument,
            "malformed transaction: wrong length for a signed transfer: expected 101 bytes, got 50",
        ),
        ("empty", vec![], Code::InvalidArgument, "malformed transaction: empty input"),
        ("unknown tag", vec![9; 93], Code::InvalidArgument, "malformed transaction: unknown transaction tag 0x09"),
        (
            "bad signature",
            transfer(&k, 0, 1, 5, 1).tx.sign(&k[3], &Domain::DEVNET).to_bytes(),
            Code::Unauthenticated,
            "bad signature for account 0",
        ),
        (
            "signed for another rollup",
            transfer(&k, 0, 1, 5, 1).tx.sign(&k[0], &Domain { rollup_id: 2, ..Domain::DEVNET }).to_bytes(),
            Code::Unauthenticated,
            "bad signature for account 0",
        ),
        (
            "signed for another chain, waiting nonce",
            transfer(&k, 0, 1, 5, 3).tx.sign(&k[0], &Domain { chain_id: 1, ..Domain::DEVNET }).to_bytes(),
            Code::Unauthenticated,
            "bad signature for account 0",
        ),
        (
            "bad signature, waiting nonce",
            transfer(&k, 0, 1, 5, 3).tx.sign(&k[3], &Domain::DEVNET).to_bytes(),
            Code::Unauthenticated,
            "bad signature for account 0",
        ),
        (
            "replayed nonce",
            transfer(&k, 0, 1, 6, 0).to_bytes(),
            Code::FailedPrecondition,
            "nonce too low: account 0 expects 1, got 0",
        ),
        (
            "nonce beyond the window",
            transfer(&k, 0, 1, 5, 18).to_bytes(),
            Code::FailedPrecondition,
            "nonce too high: account 0 expects 1, got 18 (at most 16 ahead may wait)",
        ),
        (
            "insufficient balance",
            transfer(&k, 2, 1, GENESIS_FUNDS + 1, 0).to_bytes(),
            Code::FailedPrecondition,
            "insufficient balance in account 2: balance 1000000, needed 1000001",
        ),
        (
            "insufficient balance, waiting nonce",
            transfer(&k, 2, 1, GENESIS_FUNDS + 1, 4).to_bytes(),
            Code::FailedPrecondition,
            "insufficient balance in account 2",
        ),
        (
            "unknown sender",
            Tx::Transfer(Transfer { from: 50, to: 1, amount: 5, fee: 0, nonce: 0 })
                .sign(&k[spare], &Domain::DEVNET)
                .to_bytes(),
            Code::NotFound,
            "unknown account 50",
        ),
        ("unknown recipient", transfer(&k, 2, 60, 5, 0).to_bytes(), Code::NotFound, "unknown account 60"),
        ("zero amount", transfer(&k, 2, 1, 0, 0).to_bytes(), Code::InvalidArgument, "invalid transaction: zero amount"),
        (
            "self transfer",
            transfer(&k, 2, 2, 5, 0).to_bytes(),
            Code::InvalidArgument,
            "invalid transaction: self-transfer",
        ),
        (
            "withdraw to the zero address, waiting nonce",
            Tx::Withdraw(Withdraw { from: 2, l1_address: [0; 20], amount: 5, fee: 0, nonce: 3 })
                .sign(&k[2], &Domain::DEVNET)
                .to_bytes(),
            Code::InvalidArgument,
            "invalid transaction: withdrawal from account 2 to the zero L1 address",
        ),
        ("deposit", deposit, Code::PermissionDenied, "deposits come from the L1 priority queue"),
        ("forced exit", forced_exit, Code::PermissionDenied, "forced exits come from the L1 priority queue"),
        ("oversized request", vec![1; 100 * 1024], Code::OutOfRange, "message length too large"),
    ];
    for (what, bytes, code, msg) in cases {
        let h = SignedTx::from_bytes(&bytes).ok().map(|t| hash(&t));
        let e = n.submit_bytes(bytes).await.expect_err(what);
        assert_eq!(e.code(), code, "{what}: {}", e.message());
        assert!(e.message().contains(msg), "{what}: message {:?} lacks {msg:?}", e.message());
        if let Some(h) = h {
            assert_eq!(n.status(h).await.unwrap_err().code(), Code::NotFound, "{what}: stored");
        }
        assert_eq!(n.root().await, root, "{what}: state changed");
    }
    // Every refusal carries a machine-readable reason, tonic's size refusal included.
    let e = n.submit_bytes(vec![1; 100 * 1024]).await.unwrap_err();
    assert_eq!(e.metadata().get("zkr-reason").map(|v| v.to_str().unwrap()), Some("too_large"));
    let e = n.submit(&transfer(&k, 0, 1, 6, 0)).await.unwrap_err();
    assert_eq!(e.metadata().get("zkr-reason").unwrap(), "nonce_too_low");
    // Exact resubmission of an accepted transaction.
    let e = n.submit(&transfer(&k, 0, 1, 5, 0)).await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{}", e.message());
    assert!(e.message().contains("already submitted (sequenced in batch 0)"), "{}", e.message());
    // Hash queries.
    let e = n.client.get_tx_status(proto::GetTxStatusRequest { tx_hash: vec![1; 31] }).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::InvalidArgument, "transaction hash must be 32 bytes, got 31"));
    let e = n.status(TxHash([3; 32])).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = n.client.stream_status(proto::StreamStatusRequest { tx_hashes: vec![vec![0; 5]] }).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.metadata().get("zkr-reason").map(|v| v.to_str().unwrap()), Some("malformed"));

    let info = n.seq.info().await.unwrap();
    assert_eq!((info.mempool, info.open_batch_txs, info.batches_sealed), (0, 1, 0));
    // Metrics count the refusals by reason.
    let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap();
    assert!(text.contains(r#"zkr_sequencer_txs_rejected_total{phase="submit",reason="nonce_too_low"} 2"#), "{text}");
    assert!(text.contains("zkr_sequencer_txs_accepted_total 1"), "{text}");
    assert!(text.contains("zkr_sequencer_soft_confirmation_seconds_count 1"), "{text}");
    n.stop().await;
}

#[tokio::test]
async fn nonce_gap_waits_then_executes_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let mut n =
        Node::start(&config(dir.path(), 16, 60_000), Arc::new(TestSink::default()), Arc::new(TestProgress::default()))
            .await;
    let mut updates = n.seq.subscribe();

    let t2 = transfer(&k, 2, 0, 30, 2);
    let t1 = transfer(&k, 2, 0, 20, 1);
    let t0 = transfer(&k, 2, 0, 10, 0);
    for t in [&t2, &t1] {
        let s = n.submit(t).await.unwrap().status.unwrap();
        assert_eq!((stage(&s), s.batch), (PStage::Received, None));
        assert_eq!(stage(&n.status(hash(t)).await.unwrap()), PStage::Received);
    }
    // A second transaction for a waiting nonce is refused.
    let e = n.submit(&transfer(&k, 2, 0, 99, 1)).await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{}", e.message());
    assert_eq!(n.seq.info().await.unwrap().mempool, 2);
    assert_eq!(n.account(2, false).await.nonce, 0);

    // Filling the gap runs the waiting ones, in nonce order.
    assert_eq!(stage(&n.submit(&t0).await.unwrap().status.unwrap()), PStage::Sequenced);
    for t in [&t0, &t1, &t2] {
        let s = n.status(hash(t)).await.unwrap();
        assert_eq!((stage(&s), s.batch), (PStage::Sequenced, Some(0)));
    }
    let a = n.account(2, false).await;
    assert_eq!((a.nonce, a.balance), (3, GENESIS_FUNDS - 60));
    assert_eq!(n.seq.info().await.unwrap().mempool, 0);
    let mut seen = Vec::new();
    while let Ok(u) = updates.try_recv() {
        seen.push((u.hash, u.status.stage));
    }
    assert_eq!(
        seen,
        vec![
            (hash(&t2), TxStage::Received),
            (hash(&t1), TxStage::Received),
            (hash(&t0), TxStage::Sequenced),
            (hash(&t1), TxStage::Sequenced),
            (hash(&t2), TxStage::Sequenced),
        ]
    );

    // A waiting transaction that no longer applies when its turn comes is rejected with the
    // state transition's reason; the next nonce keeps waiting.
    let big1 = transfer(&k, 3, 0, 600_000, 1);
    let next2 = transfer(&k, 3, 0, 1, 2);
    n.submit(&big1).await.unwrap();
    n.submit(&next2).await.unwrap();
    n.submit(&transfer(&k, 3, 0, 600_000, 0)).await.unwrap();
    let s = n.status(hash(&big1)).await.unwrap();
    assert_eq!(stage(&s), PStage::Rejected);
    assert_eq!(s.reason, "insufficient balance in account 3: balance 400000, needed 600000");
    assert_eq!(stage(&n.status(hash(&next2)).await.unwrap()), PStage::Received);
    // A different nonce-1 transaction fills the gap; the rejected one may even be resubmitted
    // later (as the same bytes) once it would apply.
    let small1 = transfer(&k, 3, 0, 1000, 1);
    assert_eq!(stage(&n.submit(&small1).await.unwrap().status.unwrap()), PStage::Sequenced);
    assert_eq!(stage(&n.status(hash(&next2)).await.unwrap()), PStage::Sequenced);
    assert_eq!(n.account(3, false).await.nonce, 3);
    n.stop().await;
}

#[tokio::test]
async fn batches_seal_on_capacity_and_max_wait_and_chain() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let sink = Arc::new(TestSink::default());
    let mut n = Node::start(&config(dir.path(), 2, 300), sink.clone(), Arc::new(TestProgress::default())).await;

    let a = [transfer(&k, 0, 1, 1, 0), transfer(&k, 1, 2, 2, 0)];
    for t in &a {
        n.submit(t).await.unwrap();
    }
    // Full at capacity: sealed with the second transaction, before its acknowledgement.
    assert_eq!(n.seq.batches_sealed().await.unwrap(), 1);
    let b = transfer(&k, 4, 5, 3, 0);
    let started = Instant::now();
    n.submit(&b).await.unwrap();
    assert_eq!(n.seq.batches_sealed().await.unwrap(), 1);
    let seq = n.seq.clone();
    eventually("max_wait seal", || {
        let seq = seq.clone();
        async move { seq.batches_sealed().await.unwrap() == 2 }
    })
    .await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250), "sealed after {waited:?}, before max_wait");
    // Never an empty batch by itself, but on request.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(n.seq.batches_sealed().await.unwrap(), 2);
    assert_eq!(n.seq.seal_now(false).await.unwrap(), None);
    assert_eq!(n.seq.seal_now(true).await.unwrap(), Some(2));
    let c = transfer(&k, 6, 7, 4, 0);
    n.submit(&c).await.unwrap();
    assert_eq!(n.seq.seal_now(false).await.unwrap(), Some(3));

    let s2 = sink.clone();
    eventually("four batches handed off", move || {
        let s = s2.clone();
        async move { s.numbers().len() == 4 }
    })
    .await;
    assert_eq!(sink.numbers(), vec![0, 1, 2, 3]);
    let expected = native_batches(&[(2, a.to_vec()), (2, vec![b]), (2, vec![]), (2, vec![c])]);
    let mut prev = None;
    for (i, want) in expected.iter().enumerate() {
        let got = sink.batch(i as u64);
        assert_eq!(got.to_bytes(), want.to_bytes(), "batch {i} differs from the native spec");
        let pi = got.public_inputs();
        if let Some(prev_new) = prev {
            assert_eq!(pi.old_root, prev_new, "batch {i} does not chain");
        }
        prev = Some(pi.new_root);
    }
    assert_eq!(prev.unwrap(), n.seq.root().await.unwrap());
    assert_eq!(expected.iter().map(|b| b.num_txs()).collect::<Vec<_>>(), vec![2, 1, 0, 1]);
    let info = n.seq.info().await.unwrap();
    assert_eq!((info.batches_sealed, info.batches_handed_off), (4, 4));
    n.stop().await;
}

/// A hand-off refused for good (fenced off the queue, another history under the number) stops the sequencer at
/// once: no retry, later submissions refused with the reason, and `halted` says why. An unavailable sink is retried.
#[tokio::test]
async fn a_fatal_hand_off_error_halts_the_sequencer() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let sink = TestSink::failing();
    let mut n = Node::start(&config(dir.path(), 1, 60_000), sink.clone(), Arc::new(TestProgress::default())).await;
    n.submit(&transfer(&k, 0, 1, 5, 0)).await.unwrap();
    let s = sink.clone();
    eventually("the unavailable sink is retried", move || {
        let s = s.clone();
        async move { *s.calls.lock().unwrap() >= 3 }
    })
    .await;
    assert_eq!(n.seq.halt_reason(), None, "an unavailable sink does not halt");

    let fenced = HookError::Fenced { reason: "token 3 superseded by token 4".into() };
    *sink.fatal.lock().unwrap() = Some(fenced.clone());
    let halted = tokio::time::timeout(Duration::from_secs(10), n.seq.halted()).await.expect("halts");
    assert_eq!(halted, fenced);
    let calls = *sink.calls.lock().unwrap();
    let e = n.submit(&transfer(&k, 0, 1, 5, 1)).await.expect_err("no work after a halt");
    assert_eq!(e.code(), Code::Unavailable);
    assert!(e.message().contains("fenced off the queue: token 3 superseded"), "{}", e.message());
    let e = n.seq.info().await.expect_err("queries say why too");
    assert!(e.to_string().contains("fenced"), "{e}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*sink.calls.lock().unwrap(), calls, "a fatal error is not retried");
    n.stop().await;
}

#[tokio::test]
async fn restart_restores_state_and_reemits_unhanded_batches() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let cfg = config(dir.path(), 2, 60_000);
    let progress = Arc::new(TestProgress::default());

    // Life 1: the sink fails; batch 0 seals, one tx sits in the open batch, one waits.
    let sink1 = TestSink::failing();
    let mut n = Node::start(&cfg, sink1.clone(), progress.clone()).await;
    let txs = [transfer(&k, 0, 1, 7, 0), transfer(&k, 1, 2, 8, 0), transfer(&k, 2, 3, 9, 0)];
    for t in &txs {
        n.submit(t).await.unwrap();
    }
    let waiting = transfer(&k, 4, 0, 11, 1);
    n.submit(&waiting).await.unwrap();
    let s1 = sink1.clone();
    eventually("the sink was tried", move || {
        let s = s1.clone();
        async move { *s.calls.lock().unwrap() >= 2 }
    })
    .await;
    let root = n.root().await;
    let mut statuses = Vec::new();
    for t in txs.iter().chain([&waiting]) {
        statuses.push(n.status(hash(t)).await.unwrap());
    }
    assert_eq!(n.seq.info().await.unwrap().batches_handed_off, 0);
    n.stop().await;
    assert!(sink1.numbers().is_empty());

    // Life 2: same root and statuses; batch 0 is re-emitted; the open batch and the waiting
    // transaction are back and complete batch 1.
    let sink2 = Arc::new(TestSink::default());
    let mut n = Node::start(&cfg, sink2.clone(), progress.clone()).await;
    assert_eq!(n.root().await, root);
    for (t, s) in txs.iter().chain([&waiting]).zip(&statuses) {
        assert_eq!(&n.status(hash(t)).await.unwrap(), s);
    }
    let info = n.seq.info().await.unwrap();
    assert_eq!((info.batches_sealed, info.open_batch_txs, info.mempool), (1, 1, 1));
    let fill = transfer(&k, 4, 0, 10, 0);
    n.submit(&fill).await.unwrap(); // completes batch 1, then `waiting` runs into batch 2
    assert_eq!(stage(&n.status(hash(&waiting)).await.unwrap()), PStage::Sequenced);
    assert_eq!(n.seq.batches_sealed().await.unwrap(), 2);
    assert_eq!(n.seq.seal_now(false).await.unwrap(), Some(2));
    let s2 = sink2.clone();
    eventually("batches 0, 1 and 2 handed off", move || {
        let s = s2.clone();
        async move { s.numbers() == vec![0, 1, 2] }
    })
    .await;
    let expected =
        native_batches(&[(2, txs[..2].to_vec()), (2, vec![txs[2].clone(), fill.clone()]), (2, vec![waiting.clone()])]);
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(sink2.batch(i as u64).to_bytes(), want.to_bytes(), "batch {i} differs from the native spec");
    }
    let seq = n.seq.clone();
    eventually("hand-offs recorded", || {
        let seq = seq.clone();
        async move { seq.info().await.unwrap().batches_handed_off == 3 }
    })
    .await;
    let root2 = n.root().await;
    n.stop().await;

    // Life 3: nothing to re-emit; same root; the batch counters describe the chain, not this process.
    let sink3 = Arc::new(TestSink::default());
    let registry = prometheus::Registry::new();
    let seq = Sequencer::open(&cfg, sink3.clone(), progress, &registry).await.expect("open");
    let n = Node::serve(seq).await;
    assert_eq!(n.root().await, root2);
    let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap();
    assert!(text.contains("zkr_sequencer_batches_sealed_total 3"), "{text}");
    assert!(text.contains("zkr_sequencer_batches_handed_off_total 3"), "{text}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(sink3.numbers().is_empty(), "re-emitted {:?}", sink3.numbers());
    n.stop().await;

    // Another genesis is refused on this store.
    let other = SequencerConfig { genesis: zkr_sequencer::GenesisConfig { demo_seed: 2, ..Default::default() }, ..cfg };
    let e = Sequencer::open(
        &other,
        Arc::new(TestSink::default()),
        Arc::new(TestProgress::default()),
        &prometheus::Registry::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, SequencerError::GenesisMismatch { .. }), "{e}");
}

#[tokio::test]
async fn status_streams_are_bounded_and_unknown_hashes_end_them() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let cfg =
        SequencerConfig { max_status_streams: 3, max_status_streams_per_client: 2, ..config(dir.path(), 4, 60_000) };
    let mut n = Node::start(&cfg, Arc::new(TestSink::default()), Arc::new(TestProgress::default())).await;
    let reason = |e: &tonic::Status| e.metadata().get("zkr-reason").map(|v| v.to_str().unwrap().to_string());

    // Only unknown hashes: refused at once instead of a stream that never ends (and holds no slot).
    let unknown = vec![vec![7; 32], vec![8; 32]];
    for _ in 0..5 {
        let e = n.client.stream_status(proto::StreamStatusRequest { tx_hashes: unknown.clone() }).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{}", e.message());
        assert_eq!(reason(&e).as_deref(), Some("unknown_tx"));
        assert!(e.message().contains("none of the 2 requested transactions is known"), "{}", e.message());
    }

    // A known hash beside an unknown one: the stream follows the known one.
    let t0 = transfer(&k, 0, 1, 100, 0);
    n.submit(&t0).await.unwrap();
    let req = || proto::StreamStatusRequest { tx_hashes: vec![vec![7; 32], hash(&t0).0.to_vec()] };
    let mut a = n.client.stream_status(req()).await.unwrap().into_inner();
    let u = a.message().await.unwrap().unwrap();
    assert_eq!(u.tx_hash, hash(&t0).0.to_vec());
    let b = n.client.stream_status(req()).await.unwrap().into_inner();
    // The third stream from this client is refused; closing one frees its slot.
    let e = n.client.stream_status(req()).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{}", e.message());
    assert_eq!(reason(&e).as_deref(), Some("too_many_streams"));
    assert!(e.message().contains("limit per client"), "{}", e.message());
    drop(b);
    let mut freed = None;
    for _ in 0..200 {
        match n.client.stream_status(req()).await {
            Ok(s) => {
                freed = Some(s.into_inner());
                break;
            }
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted, "{}", e.message());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    assert!(freed.is_some(), "a closed stream gives its slot back");
    drop(a);
    n.stop().await;
}

#[tokio::test]
async fn progress_reaches_statuses_streams_and_the_proven_state() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let progress = Arc::new(TestProgress::default());
    let mut n = Node::start(&config(dir.path(), 1, 60_000), Arc::new(TestSink::default()), progress.clone()).await;

    let t0 = transfer(&k, 0, 1, 100, 0);
    let t1 = transfer(&k, 0, 1, 200, 1);
    n.submit(&t0).await.unwrap();
    let mut all = n.client.stream_status(proto::StreamStatusRequest { tx_hashes: vec![] }).await.unwrap().into_inner();
    n.submit(&t1).await.unwrap();
    let mut one = n
        .client
        .stream_status(proto::StreamStatusRequest { tx_hashes: vec![hash(&t0).0.to_vec()] })
        .await
        .unwrap()
        .into_inner();
    let first = one.message().await.unwrap().unwrap();
    assert_eq!(first.tx_hash, hash(&t0).0.to_vec());
    assert_eq!(stage(first.status.as_ref().unwrap()), PStage::Sequenced);
    let u = all.message().await.unwrap().unwrap();
    assert_eq!((u.tx_hash, stage(u.status.as_ref().unwrap())), (hash(&t1).0.to_vec(), PStage::Sequenced));

    // Batch 1 proven first: its tx is PROVEN, but the proven state waits for batch 0.
    progress.set(1, PROVEN);
    let u = all.message().await.unwrap().unwrap();
    assert_eq!((u.tx_hash, stage(u.status.as_ref().unwrap())), (hash(&t1).0.to_vec(), PStage::Proven));
    assert_eq!(n.account(0, true).await.balance, GENESIS_FUNDS);
    assert_eq!(n.account(0, true).await.batches, 0);

    progress.set(0, PROVEN);
    let u = one.message().await.unwrap().unwrap();
    assert_eq!((stage(u.status.as_ref().unwrap()), u.status.unwrap().batch), (PStage::Proven, Some(0)));
    let u = all.message().await.unwrap().unwrap();
    assert_eq!((u.tx_hash, stage(u.status.as_ref().unwrap())), (hash(&t0).0.to_vec(), PStage::Proven));
    let p = n.account(0, true).await;
    assert_eq!((p.balance, p.nonce, p.batches), (GENESIS_FUNDS - 300, 2, 2));
    assert_eq!(p.root, n.root().await.to_vec());
    assert_eq!(n.seq.info().await.unwrap().proven_batches, 2);

    // Finality needs a record whose roots are this sequencer's: none, another history's, or one that does not
    // cover the batch leaves it AGGREGATED (what the queue says), never FINALIZED.
    let natives = native_batches(&[(1, vec![t0.clone()]), (1, vec![t1.clone()])]);
    let roots =
        |b: &Batch| (digest_to_bytes(&b.public_inputs().old_root), digest_to_bytes(&b.public_inputs().new_root));
    let ((old0, new0), (_, new1)) = (roots(&natives[0]), roots(&natives[1]));
    progress.set(0, FINALIZED);
    let forged = [
        None,
        Some(Finality { batches: (0, 0), old_root: old0, new_root: new1, execute_tx: None }),
        Some(Finality { batches: (0, 0), old_root: new0, new_root: new0, execute_tx: None }),
        Some(Finality { batches: (1, 1), old_root: new0, new_root: new1, execute_tx: None }),
        Some(Finality { batches: (0, 5), old_root: old0, new_root: new0, execute_tx: None }),
    ];
    for f in forged {
        progress.record(0, f);
        progress.asked_twice_more().await;
        assert_eq!(stage(&n.status(hash(&t0)).await.unwrap()), PStage::Aggregated, "finality taken from {f:?}");
    }
    let u = one.message().await.unwrap().unwrap();
    assert_eq!(stage(u.status.as_ref().unwrap()), PStage::Aggregated);

    // Finalized: the per-hash stream delivers it and ends.
    progress.record(0, Some(Finality { batches: (0, 0), old_root: old0, new_root: new0, execute_tx: Some([7; 32]) }));
    let u = one.message().await.unwrap().unwrap();
    assert_eq!(stage(u.status.as_ref().unwrap()), PStage::Finalized);
    // the L1 transaction that executed the epoch comes with it
    assert_eq!(u.status.as_ref().unwrap().execute_tx, vec![7; 32]);
    assert!(one.message().await.unwrap().is_none(), "the stream ends once every hash is final");
    assert_eq!(stage(&n.status(hash(&t0)).await.unwrap()), PStage::Finalized);

    // Progress survives a restart.
    n.stop().await;
    let n =
        Node::start(&config(dir.path(), 1, 60_000), Arc::new(TestSink::default()), Arc::new(TestProgress::default()))
            .await;
    let mut n = n;
    let st0 = n.status(hash(&t0)).await.unwrap();
    assert_eq!((stage(&st0), st0.execute_tx), (PStage::Finalized, vec![7; 32]));
    assert_eq!(stage(&n.status(hash(&t1)).await.unwrap()), PStage::Proven);
    let p = n.account(0, true).await;
    assert_eq!((p.balance, p.batches), (GENESIS_FUNDS - 300, 2));
    n.stop().await;
}

#[tokio::test]
async fn in_process_submit_and_default_config_fields() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys();
    let cfg = SequencerConfig { data_dir: dir.path().join("nested/data"), ..Default::default() };
    let seq = Sequencer::open(
        &cfg,
        Arc::new(zkr_sequencer::NullSink),
        Arc::new(zkr_sequencer::NoProgress),
        &prometheus::Registry::new(),
    )
    .await
    .unwrap();
    assert!(cfg.db_path().exists());
    let s = seq.submit(&transfer(&k, 5, 6, 1, 0).to_bytes()).await.unwrap();
    assert_eq!((s.status.stage, s.status.batch), (TxStage::Sequenced, Some(0)));
    let e = seq.submit(&[1, 2, 3]).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let genesis = State::root(&demo::genesis(&k));
    assert_ne!(seq.root().await.unwrap(), genesis);
    assert_eq!(seq.account(5, true).await.unwrap().root, genesis);
    seq.shutdown().await;
    assert!(matches!(seq.info().await, Err(SequencerError::ShutDown)));
    assert_eq!(seq.submit(&[1]).await.unwrap_err().code(), Code::Unavailable);
}

#[tokio::test]
async fn second_sequencer_on_the_same_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 4, 60_000);
    let open = || async {
        let registry = prometheus::Registry::new();
        Sequencer::open(&cfg, Arc::new(TestSink::default()), Arc::new(TestProgress::default()), &registry).await
    };
    let first = open().await.unwrap();
    let e = open().await.unwrap_err(); // waits out the 5 s busy timeout
    assert!(matches!(e, SequencerError::InUse { .. }), "{e}");
    first.submit(&transfer(&keys(), 0, 1, 1, 0).to_bytes()).await.expect("the first one still works");
    first.shutdown().await;
    let again = open().await.expect("free once the first one is shut down");
    assert_eq!(again.account(0, false).await.unwrap().account.unwrap().nonce, 1);
    again.shutdown().await;
}

// ---------------------------------------------------------------- the bridge's L1 → L2 side

fn far_expiry() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3 * 24 * 3600
}

fn deposit_op(priority_id: u64, to: u32, pubkey: PublicKey, amount: u64, expiry_s: u64) -> PriorityOp {
    PriorityOp {
        tx: Tx::Deposit(Deposit { priority_id, to, pubkey, amount }),
        l1_tx: [priority_id as u8 + 1; 32],
        expiry_s,
    }
}

/// Deposits and forced exits from L1: taken in queue order only (a gap, a wallet transaction, another operation
/// under a taken id are refused), a deposit opens its account (which can sign from then on), the status names the
/// L1 transaction, an operation handed on again is skipped, and the queue position and the watcher's cursor survive
/// a restart.
#[tokio::test]
async fn priority_operations_from_l1_open_accounts_in_queue_order_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 4, 60_000);
    let new_id = cfg.genesis.demo_accounts as u32;
    let key = demo::keys(99, 1).remove(0);
    let mut n = Node::start(&cfg, Arc::new(TestSink::default()), Arc::new(TestProgress::default())).await;

    let dep0 = deposit_op(0, new_id, key.public_key(), 1000, far_expiry());
    let r = n.seq.submit_priority(vec![deposit_op(1, new_id, key.public_key(), 5, far_expiry())], None).await;
    assert!(matches!(r, Err(SequencerError::PriorityOutOfOrder { expected: 0, got: 1 })), "{r:?}");
    let wallet_tx = transfer(&keys(), 0, 1, 1, 0);
    let r = n.seq.submit_priority(vec![PriorityOp { tx: wallet_tx.tx, l1_tx: [0; 32], expiry_s: 0 }], None).await;
    assert!(matches!(r, Err(SequencerError::NotPriority { kind: "transfer" })), "{r:?}");

    // before its deposit the account does not exist
    let spend =
        Tx::Transfer(Transfer { from: new_id, to: 0, amount: 10, fee: 0, nonce: 0 }).sign(&key, &Domain::DEVNET);
    assert_eq!(n.submit(&spend).await.unwrap_err().code(), Code::NotFound);
    let c5 = L1Cursor { block: 5, hash: [5; 32] };
    let h = n.seq.submit_priority(vec![dep0.clone()], Some(c5)).await.unwrap();
    assert_eq!(h, vec![TxHash::of(&dep0.tx.id())]);
    let st = n.status(h[0]).await.unwrap();
    assert_eq!((stage(&st), st.batch, st.l1_tx), (PStage::Sequenced, Some(0), vec![1; 32]));
    assert_eq!(n.account(new_id, false).await.balance, 1000);
    // now it signs
    assert_eq!(stage(n.submit(&spend).await.unwrap().status.as_ref().unwrap()), PStage::Sequenced);

    // handed on again (a watcher resuming from an older cursor) with the next one: the first is skipped
    let exit = PriorityOp {
        tx: Tx::ForcedExit(ForcedExit { priority_id: 1, account: new_id, l1_address: [9; 20] }),
        l1_tx: [2; 32],
        expiry_s: far_expiry(),
    };
    let c6 = L1Cursor { block: 6, hash: [6; 32] };
    let h = n.seq.submit_priority(vec![dep0.clone(), exit.clone()], Some(c6)).await.unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(n.account(new_id, false).await.balance, 0, "the forced exit takes the whole balance");
    // another operation under a taken id: the L1 queue was rewritten
    let other = deposit_op(0, new_id, key.public_key(), 7, far_expiry());
    let r = n.seq.submit_priority(vec![other], None).await;
    assert!(matches!(r, Err(SequencerError::PriorityConflict { priority_id: 0 })), "{r:?}");
    assert_eq!(n.seq.info().await.unwrap().next_priority_id, 2);
    assert_eq!(n.seq.l1_cursor().await.unwrap(), Some(c6));

    n.stop().await;
    let mut n = Node::start(&cfg, Arc::new(TestSink::default()), Arc::new(TestProgress::default())).await;
    assert_eq!(n.seq.l1_cursor().await.unwrap(), Some(c6));
    assert_eq!(n.seq.info().await.unwrap().next_priority_id, 2);
    assert_eq!(n.status(TxHash::of(&exit.tx.id())).await.unwrap().l1_tx, vec![2; 32]);
    assert_eq!(n.account(new_id, false).await.balance, 0);
    let r = n.seq.submit_priority(vec![deposit_op(3, new_id, key.public_key(), 5, far_expiry())], None).await;
    assert!(matches!(r, Err(SequencerError::PriorityOutOfOrder { expected: 2, got: 3 })), "{r:?}");
    n.stop().await;
}

/// A batch holding a deposit is sealed `priority_seal_margin_s` before the deposit expires on L1, however long
/// `max_wait_ms` is; a batch of wallet transactions alone waits for `max_wait_ms`.
#[tokio::test]
async fn a_batch_holding_a_priority_operation_seals_before_the_operation_expires() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 4, 3_600_000);
    cfg.priority_seal_margin_s = 3600;
    let sink = Arc::new(TestSink::default());
    let mut n = Node::start(&cfg, sink.clone(), Arc::new(TestProgress::default())).await;
    n.submit(&transfer(&keys(), 0, 1, 5, 0)).await.unwrap();
    let key = demo::keys(99, 1).remove(0);
    // expires in an hour and a second: the margin leaves a second
    let expiry = far_expiry() - 3 * 24 * 3600 + 3601;
    let op = deposit_op(0, cfg.genesis.demo_accounts as u32, key.public_key(), 1000, expiry);
    n.seq.submit_priority(vec![op], None).await.unwrap();
    eventually("the batch with the deposit is sealed", || async { sink.numbers() == vec![0] }).await;
    assert_eq!(sink.batch(0).slots.iter().filter(|s| s.tx.is_some()).count(), 2);
    n.submit(&transfer(&keys(), 0, 1, 5, 1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(n.seq.info().await.unwrap().open_batch_txs, 1, "no deposit: the batch waits for max_wait_ms");
    n.stop().await;
}
