//! The executor task: the only owner of the state, the mempool, the open batch and the store.
//!
//! Commands arrive on a channel and are handled in groups: every command of a group runs in
//! memory (collecting store writes, replies, status updates and sealed batches), then the
//! group's writes are committed in one SQLite transaction, and only then are the replies sent
//! and the updates and batches released. So an acknowledgement always follows the commit
//! (group commit: one fsync serves every submission that arrived meanwhile).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::SqliteConnection;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};
use zkr_circuits::batch::{Batch, BatchBuilder};
use zkr_circuits::config::Digest;
use zkr_circuits::state::State;
use zkr_circuits::tx::{SignedTx, Tx};

use crate::ages::{Ages, STAGES};
use crate::error::{tx_error_label, SequencerError, SubmitError};
use crate::metrics::Metrics;
use crate::store::{self, BatchRow, PriorityRow, TxRow, Write, TX_EXECUTED, TX_PENDING, TX_REJECTED};
use crate::types::{
    digest_to_bytes, root_hex, AccountView, BatchProgress, Finality, L1Cursor, PriorityOp, StatusUpdate, Submitted,
    TxHash, TxStage, TxStatus,
};

/// Most commands handled (and committed) together.
const MAX_GROUP: usize = 512;

type Reply<T> = oneshot::Sender<Result<T, SequencerError>>;

/// A request to the executor task.
pub(crate) enum Cmd {
    Submit {
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<Submitted, SubmitError>>,
    },
    Status {
        hash: TxHash,
        reply: Reply<Option<TxStatus>>,
    },
    Account {
        id: u32,
        proven: bool,
        reply: Reply<AccountView>,
    },
    Info {
        reply: Reply<Info>,
    },
    SealNow {
        allow_empty: bool,
        reply: Reply<Option<u64>>,
    },
    /// The sink accepted batch `number`.
    HandedOff {
        number: u64,
    },
    /// Progress of a sealed batch (from the poller or pushed by the caller).
    Progress {
        number: u64,
        progress: BatchProgress,
        /// The record behind a reported finality (checked against this sequencer's roots).
        finality: Option<Finality>,
    },
    /// A hook failed fatally: refuse all work from now on, with this reason.
    Halt {
        reason: String,
    },
    /// Priority operations from L1, in queue order, and the watcher's cursor after them.
    Priority {
        ops: Vec<PriorityOp>,
        cursor: Option<L1Cursor>,
        reply: Reply<Vec<TxHash>>,
    },
    L1Cursor {
        reply: Reply<Option<L1Cursor>>,
    },
    /// Sealed batches that are not finalized yet, with their known progress.
    Unfinished {
        limit: usize,
        reply: Reply<Vec<(u64, BatchProgress)>>,
    },
}

/// A summary of the sequencer's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// Root of the latest state (open batch included).
    pub root: Digest,
    /// Number of sealed batches (the open batch's number).
    pub batches_sealed: u64,
    /// Transactions in the open batch.
    pub open_batch_txs: usize,
    /// Transactions waiting for a nonce gap to fill.
    pub mempool: usize,
    /// Length of the proven prefix of batches (the proven state is the one after them).
    pub proven_batches: u64,
    /// Root of the proven state.
    pub proven_root: Digest,
    /// Sealed batches the sink has accepted (and that are so marked in the store).
    pub batches_handed_off: u64,
    /// The id the next priority operation from L1 must have (= how many were taken).
    pub next_priority_id: u64,
}

/// What a group of commands produced, released after its commit.
#[derive(Default)]
pub(crate) struct Effects {
    writes: Vec<Write>,
    replies: Vec<Pending>,
    updates: Vec<StatusUpdate>,
    sealed: Vec<(u64, Arc<Batch>)>,
    seal_latencies: Vec<Duration>,
    rejected_at_execution: Vec<&'static str>,
}

/// Sends a held-back answer; given the storage failure, if the group's commit failed.
type Deferred = Box<dyn FnOnce(Option<&str>) + Send>;

/// A reply held back until the group is committed.
enum Pending {
    Submit(oneshot::Sender<Result<Submitted, SubmitError>>, Result<Submitted, SubmitError>),
    Other(Deferred),
}

fn other<T: Send + 'static>(reply: Reply<T>, value: T) -> Pending {
    Pending::Other(Box::new(move |failure: Option<&str>| {
        let _ = reply.send(match failure {
            None => Ok(value),
            Some(f) => Err(SequencerError::Failed(f.to_string())),
        });
    }))
}

/// Where a known transaction is.
#[derive(Clone, Debug)]
enum Rec {
    Pending,
    Executed(u64),
    Rejected(String),
}

/// A transaction waiting in the mempool.
struct Waiting {
    hash: TxHash,
    tx: SignedTx,
    /// Unix milliseconds.
    received_ms: i64,
}

/// A sealed batch not yet applied to the proven state.
struct Unproven {
    txs: Vec<SignedTx>,
    new_root: [u8; 32],
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

pub(crate) struct Params {
    pub capacity: usize,
    pub max_wait: Duration,
    pub window: u32,
    pub min_fee: u64,
    /// A batch holding a priority operation is sealed at the latest this long before the operation expires.
    pub priority_margin: Duration,
}

pub(crate) struct Core {
    params: Params,
    state: State,
    open: BatchBuilder,
    open_capacity: usize,
    /// Number of the open batch = number of sealed batches.
    open_number: u64,
    open_txs: Vec<TxHash>,
    open_first: Option<Instant>,
    next_exec: i64,
    mempool: HashMap<u32, BTreeMap<u32, Waiting>>,
    mempool_len: usize,
    txs: HashMap<TxHash, Rec>,
    /// Progress of every sealed batch, by number.
    progress: Vec<BatchProgress>,
    /// The state root after every sealed batch, by number, and before the first: what a finality record must name.
    roots: Vec<[u8; 32]>,
    genesis_root: [u8; 32],
    /// Batches whose finality was refused already (logged once each).
    refused_finality: HashSet<u64>,
    /// Transactions of sealed batches that are not finalized (to announce their progress).
    batch_txs: HashMap<u64, Vec<TxHash>>,
    proven: State,
    proven_batches: u64,
    unproven: BTreeMap<u64, Unproven>,
    handed_off: u64,
    updates: broadcast::Sender<StatusUpdate>,
    handoff: mpsc::UnboundedSender<(u64, Arc<Batch>)>,
    metrics: Metrics,
    failed: Option<String>,
    /// Every priority operation taken, by transaction hash.
    priority: HashMap<TxHash, PriorityRow>,
    next_priority: u64,
    /// The earliest expiry (unix seconds) of the priority operations in the open batch.
    open_priority_expiry: Option<u64>,
    l1_cursor: Option<L1Cursor>,
    /// The L1 execute transaction of finalized batches, where the finality record named it.
    execute_txs: HashMap<u64, [u8; 32]>,
    /// What the age gauges are computed from.
    ages: Ages,
}

fn replay_err(msg: impl Into<String>) -> SequencerError {
    SequencerError::Replay(msg.into())
}

impl Core {
    /// Rebuilds everything from the store: replays the execution log from genesis batch by
    /// batch, checks each sealed batch's root, restores the open batch and the mempool, and
    /// queues the batches the sink has not accepted yet.
    pub(crate) async fn load(
        conn: &mut SqliteConnection,
        genesis: State,
        params: Params,
        updates: broadcast::Sender<StatusUpdate>,
        handoff: mpsc::UnboundedSender<(u64, Arc<Batch>)>,
        metrics: Metrics,
    ) -> Result<(Core, Effects), SequencerError> {
        let batches = store::load_batches(conn).await?;
        let rows = store::load_txs(conn).await?;
        let capacity = params.capacity;
        let genesis_root = digest_to_bytes(&genesis.root());
        let mut core = Core {
            params,
            proven: genesis.clone(),
            state: genesis,
            open: BatchBuilder::new(capacity),
            open_capacity: capacity,
            open_number: 0,
            open_txs: Vec::new(),
            open_first: None,
            next_exec: 0,
            mempool: HashMap::new(),
            mempool_len: 0,
            txs: HashMap::new(),
            progress: Vec::new(),
            roots: Vec::new(),
            genesis_root,
            refused_finality: HashSet::new(),
            batch_txs: HashMap::new(),
            proven_batches: 0,
            unproven: BTreeMap::new(),
            handed_off: 0,
            updates,
            handoff,
            metrics,
            failed: None,
            priority: HashMap::new(),
            next_priority: 0,
            open_priority_expiry: None,
            l1_cursor: store::load_l1_cursor(conn).await?.map(|(block, hash)| L1Cursor { block, hash }),
            execute_txs: HashMap::new(),
            ages: Ages::default(),
        };
        for row in store::load_priority(conn).await? {
            if row.priority_id != core.next_priority {
                return Err(replay_err(format!(
                    "priority operations are not contiguous: expected id {}, found {}",
                    core.next_priority, row.priority_id
                )));
            }
            core.next_priority += 1;
            core.priority.insert(row.hash, row);
        }

        // Group executed transactions by batch, in execution order.
        let mut by_batch: BTreeMap<u64, Vec<(TxRow, SignedTx)>> = BTreeMap::new();
        for row in rows {
            let decode = |b: &[u8]| {
                SignedTx::from_bytes(b)
                    .map_err(|e| replay_err(format!("stored transaction {} does not decode: {e}", row.hash)))
            };
            match row.status {
                TX_EXECUTED => {
                    let batch =
                        row.batch.ok_or_else(|| replay_err(format!("executed tx {} has no batch", row.hash)))?;
                    let exec =
                        row.exec_seq.ok_or_else(|| replay_err(format!("executed tx {} has no position", row.hash)))?;
                    core.next_exec = core.next_exec.max(exec + 1);
                    core.txs.insert(row.hash, Rec::Executed(batch));
                    let tx = decode(&row.bytes)?;
                    by_batch.entry(batch).or_default().push((row, tx));
                }
                TX_PENDING => {
                    let tx = decode(&row.bytes)?;
                    let (account, nonce) = sender_nonce(&tx.tx)
                        .ok_or_else(|| replay_err(format!("pending tx {} is a deposit", row.hash)))?;
                    core.txs.insert(row.hash, Rec::Pending);
                    core.ages.mempool_add(row.received_ms);
                    let received_ms = row.received_ms;
                    core.mempool.entry(account).or_default().insert(nonce, Waiting { hash: row.hash, tx, received_ms });
                    core.mempool_len += 1;
                }
                TX_REJECTED => {
                    core.txs.insert(row.hash, Rec::Rejected(row.reason.unwrap_or_default()));
                }
                s => return Err(replay_err(format!("unknown status {s} of tx {}", row.hash))),
            }
        }

        // The proven prefix: batches 0.. that are all proven.
        let proven_prefix = batches.iter().take_while(|b| b.progress.proven).count() as u64;
        let mut fx = Effects::default();
        for BatchRow { number, capacity, tx_count, new_root, handed_off, progress, execute_tx, sealed_ms } in batches {
            if let Some(h) = execute_tx {
                core.execute_txs.insert(number, h);
            }
            if number != core.open_number {
                return Err(replay_err(format!(
                    "batch numbers are not contiguous: expected {}, found {number}",
                    core.open_number
                )));
            }
            let txs = by_batch.remove(&number).unwrap_or_default();
            let oldest = txs.iter().map(|(r, _)| r.received_ms).min();
            core.ages.restore_batch(number, oldest, progress.normalized(), sealed_ms);
            if txs.len() != tx_count || capacity == 0 || tx_count > capacity {
                return Err(replay_err(format!(
                    "batch {number} should hold {tx_count} of {capacity} slots, the log has {} transactions",
                    txs.len()
                )));
            }
            let mut builder = BatchBuilder::new(capacity);
            let mut hashes = Vec::with_capacity(txs.len());
            let mut signed = Vec::with_capacity(txs.len());
            for (row, tx) in txs {
                builder
                    .push(&mut core.state, &tx)
                    .map_err(|e| replay_err(format!("tx {} of batch {number} no longer applies: {e}", row.hash)))?;
                hashes.push(row.hash);
                signed.push(tx);
            }
            let batch = builder.seal(&mut core.state);
            if digest_to_bytes(&batch.public_inputs().new_root) != new_root {
                return Err(replay_err(format!("replayed batch {number} ends at another root than the stored one")));
            }
            core.open_number += 1;
            core.progress.push(progress.normalized());
            core.roots.push(new_root);
            if !progress.finalized {
                core.batch_txs.insert(number, hashes);
            }
            if number < proven_prefix {
                if number + 1 == proven_prefix {
                    core.proven = core.state.clone();
                    core.proven_batches = proven_prefix;
                }
            } else {
                core.unproven.insert(number, Unproven { txs: signed, new_root });
            }
            if handed_off {
                core.handed_off += 1;
            } else {
                info!(batch = number, "re-emitting a sealed batch the sink has not accepted");
                let _ = core.handoff.send((number, Arc::new(batch)));
            }
        }
        core.metrics.sealed.inc_by(core.open_number);
        // Counters describe the chain, not this process: both start from the store.
        core.metrics.handed_off.inc_by(core.handed_off);
        core.metrics.proven.set(core.proven_batches as i64);

        // The open batch: executed transactions after the last sealed batch.
        let mut open = by_batch.into_iter();
        if let Some((number, txs)) = open.next() {
            if number != core.open_number {
                return Err(replay_err(format!(
                    "executed transactions in batch {number}, but {} is the open batch",
                    core.open_number
                )));
            }
            if let Some((n, _)) = open.next() {
                return Err(replay_err(format!("executed transactions in batch {n}, beyond the open batch {number}")));
            }
            if txs.len() > capacity {
                // The capacity was lowered since these executed: this batch keeps its size.
                warn!(batch = number, txs = txs.len(), capacity, "open batch is larger than batch_capacity");
                core.open = BatchBuilder::new(txs.len());
                core.open_capacity = txs.len();
            }
            let first_ms = txs.iter().filter_map(|(r, _)| r.executed_ms).min().unwrap_or_else(now_ms);
            let age = Duration::from_millis(now_ms().saturating_sub(first_ms).max(0) as u64);
            core.open_first = Some(Instant::now().checked_sub(age).unwrap_or_else(Instant::now));
            for (row, tx) in txs {
                core.open
                    .push(&mut core.state, &tx)
                    .map_err(|e| replay_err(format!("tx {} of the open batch no longer applies: {e}", row.hash)))?;
                core.open_txs.push(row.hash);
                core.ages.executed(row.received_ms);
                core.note_open_priority(&row.hash);
            }
            core.seal_if_full(&mut fx);
        }
        // Waiting transactions whose gap is filled (cannot happen with this writer, but a
        // store is cheap to heal): run them now.
        let accounts: Vec<u32> = core.mempool.keys().copied().collect();
        for a in accounts {
            core.cascade(a, &mut fx);
        }
        core.sync_gauges();
        info!(
            batches = core.open_number,
            open_txs = core.open_txs.len(),
            mempool = core.mempool_len,
            proven_batches = core.proven_batches,
            "sequencer state restored from the store"
        );
        // Writes from sealing or cascading at load are committed before anything else.
        Ok((core, fx))
    }

    fn sync_gauges(&self) {
        self.metrics.mempool.set(self.mempool_len as i64);
        self.metrics.open_batch.set(self.open_txs.len() as i64);
        let now = now_ms();
        let age = |since: Option<i64>| since.map_or(0.0, |t| now.saturating_sub(t).max(0) as f64 / 1e3);
        let (mempool, open) = self.ages.oldest_waiting();
        self.metrics.oldest_waiting.with_label_values(&["mempool"]).set(age(mempool));
        self.metrics.oldest_waiting.with_label_values(&["open_batch"]).set(age(open));
        for (i, stage) in STAGES.iter().enumerate() {
            self.metrics.finality_lag.with_label_values(&[stage]).set(age(self.ages.not_reached_since(i)));
        }
        self.metrics.last_sealed.set(self.ages.last_sealed_ms().map_or(0.0, |ms| ms as f64 / 1e3));
    }

    fn status_of(&self, hash: &TxHash) -> Option<TxStatus> {
        Some(match self.txs.get(hash)? {
            Rec::Pending => TxStatus::received(),
            Rec::Executed(b) => self.executed_status(hash, *b),
            Rec::Rejected(r) => TxStatus::rejected(r.clone()),
        })
    }

    /// The status of a transaction executed into batch `b`, with its L1 transactions.
    fn executed_status(&self, hash: &TxHash, b: u64) -> TxStatus {
        let stage = self.progress.get(b as usize).map_or(TxStage::Sequenced, |p| p.stage());
        let mut status = TxStatus::in_batch(stage, b);
        status.l1_tx = self.priority.get(hash).map(|m| m.l1_tx);
        if stage == TxStage::Finalized {
            status.execute_tx = self.execute_txs.get(&b).copied();
        }
        status
    }

    /// Tracks the earliest expiry among the open batch's priority operations.
    fn note_open_priority(&mut self, hash: &TxHash) {
        if let Some(m) = self.priority.get(hash) {
            let e = self.open_priority_expiry.map_or(m.expiry_s, |e| e.min(m.expiry_s));
            self.open_priority_expiry = Some(e);
        }
    }

    /// Takes priority operations from L1 in queue order: each one executes into the open batch now. An operation
    /// taken before (a watcher resuming from an older cursor) is skipped if it is the same; the cursor is stored
    /// with them, only when all of them were taken.
    fn take_priority(
        &mut self,
        ops: Vec<PriorityOp>,
        cursor: Option<L1Cursor>,
        fx: &mut Effects,
    ) -> Result<Vec<TxHash>, SequencerError> {
        let mut hashes = Vec::with_capacity(ops.len());
        for op in ops {
            let (id, account) = match &op.tx {
                Tx::Deposit(d) => (d.priority_id, d.to),
                Tx::ForcedExit(f) => (f.priority_id, f.account),
                other => return Err(SequencerError::NotPriority { kind: other.kind() }),
            };
            let hash = TxHash::of(&op.tx.id());
            if id < self.next_priority {
                match self.priority.get(&hash) {
                    Some(m) if m.priority_id == id => {
                        hashes.push(hash);
                        continue;
                    }
                    _ => return Err(SequencerError::PriorityConflict { priority_id: id }),
                }
            }
            if id > self.next_priority {
                return Err(SequencerError::PriorityOutOfOrder { expected: self.next_priority, got: id });
            }
            let stx = SignedTx { tx: op.tx, signature: None };
            self.open
                .push(&mut self.state, &stx)
                .map_err(|e| SequencerError::PriorityRefused { priority_id: id, reason: e.to_string() })?;
            self.next_priority += 1;
            let row = PriorityRow { priority_id: id, hash, l1_tx: op.l1_tx, expiry_s: op.expiry_s };
            self.priority.insert(hash, row.clone());
            fx.writes.push(Write::Priority(row));
            // after the priority row: the status it announces names the L1 transaction
            let received_ms = now_ms();
            let (batch, exec) = self.executed(hash, received_ms, fx);
            fx.writes.push(Write::InsertTx {
                hash,
                account,
                nonce: 0,
                bytes: stx.to_bytes(),
                status: TX_EXECUTED,
                exec_seq: Some(exec),
                batch: Some(batch),
                received_ms,
            });
            self.note_open_priority(&hash);
            info!(priority_id = id, %hash, batch, kind = %stx.tx.kind(), "priority operation from L1 sequenced");
            self.seal_if_full(fx);
            hashes.push(hash);
        }
        if let Some(c) = cursor {
            if self.l1_cursor.is_none_or(|old| old.block < c.block || old == c) {
                self.l1_cursor = Some(c);
                fx.writes.push(Write::L1Cursor { block: c.block, hash: c.hash });
            }
        }
        Ok(hashes)
    }

    fn info(&self) -> Info {
        Info {
            root: self.state.root(),
            batches_sealed: self.open_number,
            open_batch_txs: self.open_txs.len(),
            mempool: self.mempool_len,
            proven_batches: self.proven_batches,
            proven_root: self.proven.root(),
            batches_handed_off: self.handed_off,
            next_priority_id: self.next_priority,
        }
    }

    fn account_view(&self, id: u32, proven: bool) -> AccountView {
        let (s, batches) = if proven { (&self.proven, self.proven_batches) } else { (&self.state, self.open_number) };
        AccountView { id, account: s.account(id).copied(), root: s.root(), proof: s.proof(id), batches }
    }

    /// Records a transaction (received at `received_ms`) just executed into the open batch: `(batch, exec_seq)`.
    fn executed(&mut self, hash: TxHash, received_ms: i64, fx: &mut Effects) -> (u64, i64) {
        self.ages.executed(received_ms);
        let batch = self.open_number;
        let exec = self.next_exec;
        self.next_exec += 1;
        self.txs.insert(hash, Rec::Executed(batch));
        self.open_txs.push(hash);
        self.open_first.get_or_insert_with(Instant::now);
        fx.updates.push(StatusUpdate { hash, status: self.executed_status(&hash, batch) });
        (batch, exec)
    }

    fn seal_if_full(&mut self, fx: &mut Effects) {
        if self.open.is_full() {
            self.seal(fx);
        }
    }

    fn submit(&mut self, bytes: &[u8], fx: &mut Effects) -> Result<Submitted, SubmitError> {
        let stx = SignedTx::from_bytes(bytes).map_err(SubmitError::Malformed)?;
        let (from, nonce, amount, to) = match &stx.tx {
            Tx::Transfer(t) => (t.from, t.nonce, t.amount, Some(t.to)),
            Tx::Withdraw(w) => (w.from, w.nonce, w.amount, None),
            Tx::Deposit(_) | Tx::ForcedExit(_) => return Err(SubmitError::PriorityOpRefused { kind: stx.tx.kind() }),
        };
        let hash = TxHash::of(&stx.tx.id());
        let resubmission = match self.txs.get(&hash) {
            None => false,
            Some(Rec::Rejected(_)) => true,
            Some(_) => {
                let status = self.status_of(&hash).expect("known");
                return Err(SubmitError::Duplicate { hash, status: Box::new(status) });
            }
        };
        let kind = stx.tx.kind();
        let fee = stx.tx.fee();
        if fee < self.params.min_fee {
            return Err(SubmitError::FeeTooLow { fee, min: self.params.min_fee });
        }
        if amount == 0 {
            return Err(SubmitError::Invalid(zkr_circuits::state::TxError::ZeroAmount { kind }));
        }
        if to == Some(from) {
            return Err(SubmitError::Invalid(zkr_circuits::state::TxError::SelfTransfer { account: from }));
        }
        if matches!(&stx.tx, Tx::Withdraw(w) if w.l1_address == [0; 20]) {
            return Err(SubmitError::Invalid(zkr_circuits::state::TxError::WithdrawToZeroAddress { account: from }));
        }
        let sender = *self.state.account(from).ok_or(SubmitError::UnknownAccount { account: from })?;
        if let Some(to) = to {
            self.state.account(to).ok_or(SubmitError::UnknownAccount { account: to })?;
        }
        let received_ms = now_ms();
        if nonce == sender.nonce {
            // Its turn: execute now (State::apply checks the signature and the balance).
            self.open.push(&mut self.state, &stx).map_err(SubmitError::from_tx_error)?;
            if resubmission {
                fx.writes.push(Write::DeleteRejected { hash });
            }
            let (batch, exec) = self.executed(hash, received_ms, fx);
            fx.writes.push(Write::InsertTx {
                hash,
                account: from,
                nonce,
                bytes: bytes.to_vec(),
                status: TX_EXECUTED,
                exec_seq: Some(exec),
                batch: Some(batch),
                received_ms,
            });
            self.seal_if_full(fx);
            self.cascade(from, fx);
            return Ok(Submitted { hash, status: TxStatus::in_batch(TxStage::Sequenced, batch) });
        }
        // Not its turn: check what can be checked now, then let it wait.
        let sig = stx
            .signature
            .as_ref()
            .ok_or(SubmitError::Invalid(zkr_circuits::state::TxError::MissingSignature { kind }))?;
        sender
            .pubkey
            .verify(&stx.tx.message(&self.state.domain()), sig)
            .map_err(|_| SubmitError::BadSignature { account: from })?;
        if nonce < sender.nonce {
            return Err(SubmitError::NonceTooLow { account: from, expected: sender.nonce, got: nonce });
        }
        if nonce - sender.nonce > self.params.window {
            return Err(SubmitError::NonceTooHigh {
                account: from,
                expected: sender.nonce,
                got: nonce,
                window: self.params.window,
            });
        }
        if let Some(w) = self.mempool.get(&from).and_then(|q| q.get(&nonce)) {
            return Err(SubmitError::NonceTaken { account: from, nonce, by: w.hash });
        }
        // the fee is debited with the amount (each at most 2^62 − 1: the sum fits)
        if amount + fee > sender.balance {
            return Err(SubmitError::InsufficientBalance {
                account: from,
                balance: sender.balance,
                needed: amount + fee,
            });
        }
        if resubmission {
            fx.writes.push(Write::DeleteRejected { hash });
        }
        fx.writes.push(Write::InsertTx {
            hash,
            account: from,
            nonce,
            bytes: bytes.to_vec(),
            status: TX_PENDING,
            exec_seq: None,
            batch: None,
            received_ms,
        });
        self.txs.insert(hash, Rec::Pending);
        self.mempool.entry(from).or_default().insert(nonce, Waiting { hash, tx: stx, received_ms });
        self.ages.mempool_add(received_ms);
        self.mempool_len += 1;
        fx.updates.push(StatusUpdate { hash, status: TxStatus::received() });
        debug!(%hash, account = from, nonce, expected = sender.nonce, "transaction waits for its nonce");
        Ok(Submitted { hash, status: TxStatus::received() })
    }

    /// Runs the waiting transactions of `account` whose nonce has come up, in nonce order.
    fn cascade(&mut self, account: u32, fx: &mut Effects) {
        loop {
            let Some(next) = self.state.account(account).map(|a| a.nonce) else { return };
            let Some(queue) = self.mempool.get_mut(&account) else { return };
            let Some(w) = queue.remove(&next) else { return };
            if queue.is_empty() {
                self.mempool.remove(&account);
            }
            self.mempool_len -= 1;
            self.ages.mempool_remove(w.received_ms);
            match self.open.push(&mut self.state, &w.tx) {
                Ok(()) => {
                    let (batch, exec_seq) = self.executed(w.hash, w.received_ms, fx);
                    fx.writes.push(Write::Execute { hash: w.hash, exec_seq, batch, executed_ms: now_ms() });
                    self.seal_if_full(fx);
                }
                Err(e) => {
                    let reason = e.to_string();
                    info!(hash = %w.hash, %reason, "waiting transaction rejected at execution");
                    fx.rejected_at_execution.push(tx_error_label(&e));
                    fx.writes.push(Write::Reject { hash: w.hash, reason: reason.clone() });
                    self.txs.insert(w.hash, Rec::Rejected(reason.clone()));
                    fx.updates.push(StatusUpdate { hash: w.hash, status: TxStatus::rejected(reason) });
                    return;
                }
            }
        }
    }

    /// Seals the open batch (padding it with no-ops) and opens the next one.
    fn seal(&mut self, fx: &mut Effects) -> u64 {
        let builder = std::mem::replace(&mut self.open, BatchBuilder::new(self.params.capacity));
        let capacity = std::mem::replace(&mut self.open_capacity, self.params.capacity);
        let batch = builder.seal(&mut self.state);
        let number = self.open_number;
        self.open_number += 1;
        let pi = batch.public_inputs();
        let new_root = digest_to_bytes(&pi.new_root);
        let hashes = std::mem::take(&mut self.open_txs);
        self.open_priority_expiry = None;
        let sealed_ms = now_ms();
        self.ages.sealed(number, sealed_ms);
        fx.writes.push(Write::InsertBatch {
            number,
            capacity,
            tx_count: hashes.len(),
            old_root: digest_to_bytes(&pi.old_root),
            new_root,
            sealed_ms,
        });
        if let Some(first) = self.open_first.take() {
            fx.seal_latencies.push(first.elapsed());
        }
        let txs: Vec<SignedTx> = batch.slots.iter().filter_map(|s| s.tx.clone()).collect();
        info!(batch = number, txs = txs.len(), capacity, "batch sealed");
        self.progress.push(BatchProgress::default());
        self.roots.push(new_root);
        self.batch_txs.insert(number, hashes);
        self.unproven.insert(number, Unproven { txs, new_root });
        fx.sealed.push((number, Arc::new(batch)));
        number
    }

    fn seal_due(&self) -> Option<Instant> {
        if self.failed.is_some() {
            return None;
        }
        let by_wait = self.open_first.map(|t| t + self.params.max_wait);
        // a priority operation must reach L1 before it expires: seal its batch `priority_margin` ahead at the latest
        let by_expiry = self.open_priority_expiry.map(|e| {
            let deadline_ms = (e as i64 * 1000).saturating_sub(self.params.priority_margin.as_millis() as i64);
            Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms()).max(0) as u64)
        });
        match (by_wait, by_expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Why `claim` cannot finalize batch `number` of this history, if it cannot.
    fn finality_mismatch(&self, number: u64, claim: Option<&Finality>) -> Option<String> {
        let Some(c) = claim else {
            return Some("the progress source reported it finalized without a record of what was finalized".into());
        };
        let (first, last) = c.batches;
        if !(first..=last).contains(&number) {
            return Some(format!("the finality record covers batches {first}..={last}, not this one"));
        }
        let before = if first == 0 { Some(&self.genesis_root) } else { self.roots.get(first as usize - 1) };
        let Some(after) = self.roots.get(last as usize) else {
            return Some(format!("the finality record ends at batch {last}, which this sequencer has not sealed"));
        };
        if before != Some(&c.old_root) || after != &c.new_root {
            return Some(format!(
                "the finality record goes from root {} to {}, this sequencer's batches {first}..={last} from {} to {}",
                root_hex(&c.old_root),
                root_hex(&c.new_root),
                before.map_or_else(|| "?".into(), root_hex),
                root_hex(after)
            ));
        }
        None
    }

    fn on_progress(
        &mut self,
        number: u64,
        mut reported: BatchProgress,
        finality: Option<Finality>,
        fx: &mut Effects,
    ) -> Result<(), String> {
        let Some(known) = self.progress.get(number as usize).copied() else {
            warn!(batch = number, "progress reported for a batch that is not sealed; ignored");
            return Ok(());
        };
        if reported.finalized && !known.finalized {
            if let Some(why) = self.finality_mismatch(number, finality.as_ref()) {
                // Another history's record (or none): the batch stays unfinalized. Proven/aggregated still count,
                // they come from the fenced queue.
                if self.refused_finality.insert(number) {
                    error!(batch = number, reason = %why, "finality refused: the record is not of this chain");
                    self.metrics.finality_refused.inc();
                }
                reported.finalized = false;
            }
        }
        let merged = known.merge(reported);
        if merged == known {
            return Ok(());
        }
        self.progress[number as usize] = merged;
        self.ages.progress(number, merged);
        let execute_tx = finality.and_then(|f| f.execute_tx).filter(|_| merged.finalized);
        if let Some(h) = execute_tx {
            self.execute_txs.insert(number, h);
        }
        fx.writes.push(Write::Progress { number, progress: merged, execute_tx });
        if merged.stage() != known.stage() {
            for h in self.batch_txs.get(&number).into_iter().flatten() {
                fx.updates.push(StatusUpdate { hash: *h, status: self.executed_status(h, number) });
            }
        }
        if merged.finalized {
            self.batch_txs.remove(&number);
        }
        // Advance the proven state over the proven prefix, batch by batch.
        while self.progress.get(self.proven_batches as usize).is_some_and(|p| p.proven) {
            let n = self.proven_batches;
            let Some(b) = self.unproven.remove(&n) else {
                return Err(format!("batch {n} is missing from the unproven batches"));
            };
            for tx in &b.txs {
                self.proven.apply(tx).map_err(|e| format!("applying batch {n} to the proven state failed: {e}"))?;
            }
            if digest_to_bytes(&self.proven.root()) != b.new_root {
                return Err(format!("the proven state after batch {n} does not match the batch's root"));
            }
            self.proven_batches += 1;
            self.metrics.proven.set(self.proven_batches as i64);
            info!(batch = n, "proven state advanced");
        }
        Ok(())
    }

    fn handle(&mut self, cmd: Cmd, fx: &mut Effects) {
        if let Some(f) = &self.failed {
            let f = f.clone();
            return fail(cmd, &f);
        }
        match cmd {
            Cmd::Submit { bytes, reply } => {
                let r = self.submit(&bytes, fx);
                fx.replies.push(Pending::Submit(reply, r));
            }
            Cmd::Status { hash, reply } => fx.replies.push(other(reply, self.status_of(&hash))),
            Cmd::Account { id, proven, reply } => fx.replies.push(other(reply, self.account_view(id, proven))),
            Cmd::Info { reply } => fx.replies.push(other(reply, self.info())),
            Cmd::SealNow { allow_empty, reply } => {
                let sealed = (allow_empty || !self.open_txs.is_empty()).then(|| self.seal(fx));
                fx.replies.push(other(reply, sealed));
            }
            Cmd::HandedOff { number } => {
                self.handed_off += 1;
                fx.writes.push(Write::HandedOff { number });
            }
            Cmd::Halt { reason } => {
                self.failed = Some(reason);
            }
            Cmd::Progress { number, progress, finality } => {
                if let Err(e) = self.on_progress(number, progress, finality, fx) {
                    error!(error = %e, "the proven state is inconsistent");
                    self.failed = Some(e);
                }
            }
            Cmd::Priority { ops, cursor, reply } => {
                let r = self.take_priority(ops, cursor, fx);
                fx.replies.push(Pending::Other(Box::new(move |failure: Option<&str>| {
                    let _ = reply.send(match failure {
                        None => r,
                        Some(f) => Err(SequencerError::Failed(f.to_string())),
                    });
                })));
            }
            Cmd::L1Cursor { reply } => fx.replies.push(other(reply, self.l1_cursor)),
            Cmd::Unfinished { limit, reply } => {
                let list = self
                    .progress
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| !p.finalized)
                    .take(limit)
                    .map(|(n, p)| (n as u64, *p))
                    .collect();
                fx.replies.push(other(reply, list));
            }
        }
    }

    /// Commits a group's writes, then releases its replies, updates and batches.
    async fn finish(&mut self, conn: &mut SqliteConnection, fx: Effects) {
        let failure = match store::apply(conn, &fx.writes).await {
            Ok(()) => None,
            Err(e) => {
                let msg = format!("committing to the store failed: {e}");
                error!(error = %e, "committing to the store failed; the sequencer stops accepting work");
                self.failed = Some(msg.clone());
                Some(msg)
            }
        };
        for r in fx.replies {
            match r {
                Pending::Submit(reply, result) => {
                    let result = match (&failure, result) {
                        (Some(f), _) => Err(SubmitError::Unavailable(f.clone())),
                        (None, r) => r,
                    };
                    let _ = reply.send(result);
                }
                Pending::Other(f) => f(failure.as_deref()),
            }
        }
        if failure.is_some() {
            return;
        }
        for u in fx.updates {
            let _ = self.updates.send(u);
        }
        for l in fx.seal_latencies {
            self.metrics.seal_latency.observe(l.as_secs_f64());
        }
        for reason in fx.rejected_at_execution {
            self.metrics.rejected.with_label_values(&["execute", reason]).inc();
        }
        for (n, b) in fx.sealed {
            self.metrics.sealed.inc();
            let _ = self.handoff.send((n, b));
        }
        self.sync_gauges();
    }

    /// The executor loop: runs until `cancel` fires or every command sender is gone.
    pub(crate) async fn run(
        mut self,
        mut conn: SqliteConnection,
        initial: Effects,
        mut rx: mpsc::Receiver<Cmd>,
        cancel: CancellationToken,
    ) {
        self.finish(&mut conn, initial).await;
        // the age gauges grow with the clock: refreshed every second when no command comes
        let mut gauges = tokio::time::interval(Duration::from_secs(1));
        gauges.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let due = self.seal_due();
            let mut fx = Effects::default();
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    self.handle(cmd, &mut fx);
                    let mut n = 1;
                    while n < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(cmd) => self.handle(cmd, &mut fx),
                            Err(_) => break,
                        }
                        n += 1;
                    }
                }
                _ = sleep_until(due.unwrap_or_else(Instant::now).into()), if due.is_some() => {
                    if !self.open_txs.is_empty() {
                        self.seal(&mut fx);
                    }
                }
                _ = gauges.tick() => {
                    self.sync_gauges();
                    continue;
                }
            }
            self.finish(&mut conn, fx).await;
        }
        if let Err(e) = sqlx::Connection::close(conn).await {
            warn!(error = %e, "closing the sequencer store failed");
        }
        debug!("sequencer executor stopped");
    }
}

/// Answers a command after a storage failure or a fatal hook error.
fn fail(cmd: Cmd, why: &str) {
    let err = || SequencerError::Failed(why.to_string());
    match cmd {
        Cmd::Submit { reply, .. } => {
            let _ = reply.send(Err(SubmitError::Unavailable(why.to_string())));
        }
        Cmd::Status { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Cmd::Account { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Cmd::Info { reply } => {
            let _ = reply.send(Err(err()));
        }
        Cmd::SealNow { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Cmd::Unfinished { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Cmd::Priority { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Cmd::L1Cursor { reply } => {
            let _ = reply.send(Err(err()));
        }
        Cmd::HandedOff { .. } | Cmd::Progress { .. } | Cmd::Halt { .. } => {}
    }
}

/// Sender and nonce of a signed (wallet) transaction.
fn sender_nonce(tx: &Tx) -> Option<(u32, u32)> {
    match tx {
        Tx::Transfer(t) => Some((t.from, t.nonce)),
        Tx::Withdraw(w) => Some((w.from, w.nonce)),
        Tx::Deposit(_) | Tx::ForcedExit(_) => None,
    }
}
