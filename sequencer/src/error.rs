//! Errors: why a submission was refused (each maps to one gRPC code), and why the sequencer
//! itself failed.

use std::path::PathBuf;

use thiserror::Error;
use tonic::Code;
use zkr_circuits::state::TxError;
use zkr_circuits::tx::DecodeError;

use crate::types::{TxHash, TxStatus};

/// Why a submitted transaction was refused. A refused transaction is not stored.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SubmitError {
    /// The bytes are not a canonical signed transaction.
    #[error("malformed transaction: {0}")]
    Malformed(#[source] DecodeError),
    /// Priority operations (deposits, forced exits) come from the L1 priority queue, never from wallets.
    #[error("{kind}s come from the L1 priority queue and cannot be submitted by wallets")]
    PriorityOpRefused { kind: &'static str },
    /// Refused by its content alone (zero amount, self-transfer, missing signature).
    #[error("invalid transaction: {0}")]
    Invalid(#[source] TxError),
    #[error("bad signature for account {account}")]
    BadSignature { account: u32 },
    #[error("unknown account {account}")]
    UnknownAccount { account: u32 },
    /// The nonce was already used (a replay, or a stale transaction).
    #[error("nonce too low: account {account} expects {expected}, got {got}")]
    NonceTooLow { account: u32, expected: u32, got: u32 },
    /// The nonce is further ahead than the mempool window lets a transaction wait.
    #[error("nonce too high: account {account} expects {expected}, got {got} (at most {window} ahead may wait)")]
    NonceTooHigh { account: u32, expected: u32, got: u32, window: u32 },
    /// Another transaction with this nonce already waits in the mempool.
    #[error("nonce {nonce} of account {account} is already taken by pending transaction {by}")]
    NonceTaken { account: u32, nonce: u32, by: TxHash },
    #[error("insufficient balance in account {account}: balance {balance}, needed {needed}")]
    InsufficientBalance { account: u32, balance: u64, needed: u64 },
    /// The fee is below this sequencer's minimum (the wallet API's GetInfo reports it).
    #[error("fee too low: {fee} is below this sequencer's minimum fee {min}")]
    FeeTooLow { fee: u64, min: u64 },
    /// This very transaction (same hash) was already accepted.
    #[error("transaction {hash} was already submitted ({status})")]
    Duplicate { hash: TxHash, status: Box<TxStatus> },
    /// Any other refusal by the state transition (e.g. the recipient's balance would overflow).
    #[error("transaction refused: {0}")]
    Refused(#[source] TxError),
    /// The sequencer is shut down, or stopped after a storage failure or a fatal hook error: nothing was stored.
    #[error("sequencer unavailable: {0}")]
    Unavailable(String),
}

impl SubmitError {
    /// The gRPC status code for this refusal.
    pub fn code(&self) -> Code {
        match self {
            SubmitError::Malformed(_) | SubmitError::Invalid(_) => Code::InvalidArgument,
            SubmitError::PriorityOpRefused { .. } => Code::PermissionDenied,
            SubmitError::BadSignature { .. } => Code::Unauthenticated,
            SubmitError::UnknownAccount { .. } => Code::NotFound,
            SubmitError::NonceTooLow { .. }
            | SubmitError::NonceTooHigh { .. }
            | SubmitError::InsufficientBalance { .. }
            | SubmitError::FeeTooLow { .. }
            | SubmitError::Refused(_) => Code::FailedPrecondition,
            SubmitError::NonceTaken { .. } | SubmitError::Duplicate { .. } => Code::AlreadyExists,
            SubmitError::Unavailable(_) => Code::Unavailable,
        }
    }

    /// A stable machine-readable label (metrics label `reason`, gRPC trailer `zkr-reason`).
    pub fn label(&self) -> &'static str {
        match self {
            SubmitError::Malformed(_) => "malformed",
            SubmitError::PriorityOpRefused { .. } => "priority_op_refused",
            SubmitError::Invalid(_) => "invalid",
            SubmitError::BadSignature { .. } => "bad_signature",
            SubmitError::UnknownAccount { .. } => "unknown_account",
            SubmitError::NonceTooLow { .. } => "nonce_too_low",
            SubmitError::NonceTooHigh { .. } => "nonce_too_high",
            SubmitError::NonceTaken { .. } => "nonce_taken",
            SubmitError::InsufficientBalance { .. } => "insufficient_balance",
            SubmitError::FeeTooLow { .. } => "fee_too_low",
            SubmitError::Duplicate { .. } => "duplicate",
            SubmitError::Refused(e) => tx_error_label(e),
            SubmitError::Unavailable(_) => "unavailable",
        }
    }

    /// The refusal for a transaction that failed `State::apply` at submission.
    pub(crate) fn from_tx_error(e: TxError) -> Self {
        match e {
            TxError::BadSignature { account } => SubmitError::BadSignature { account },
            TxError::UnknownAccount { account } => SubmitError::UnknownAccount { account },
            TxError::InsufficientBalance { account, balance, needed } => {
                SubmitError::InsufficientBalance { account, balance, needed }
            }
            TxError::NonceMismatch { account, expected, got } if got < expected => {
                SubmitError::NonceTooLow { account, expected, got }
            }
            e @ (TxError::MissingSignature { .. }
            | TxError::UnexpectedSignature
            | TxError::ZeroAmount { .. }
            | TxError::SelfTransfer { .. }
            | TxError::WithdrawToZeroAddress { .. }) => SubmitError::Invalid(e),
            e => SubmitError::Refused(e),
        }
    }
}

/// The metrics label of a state-transition error (for transactions rejected at execution).
pub fn tx_error_label(e: &TxError) -> &'static str {
    match e {
        TxError::MissingSignature { .. } => "missing_signature",
        TxError::UnexpectedSignature => "unexpected_signature",
        TxError::BadSignature { .. } => "bad_signature",
        TxError::NonceMismatch { .. } => "nonce_mismatch",
        TxError::InsufficientBalance { .. } => "insufficient_balance",
        TxError::AmountOverflow { .. } => "amount_overflow",
        TxError::ZeroAmount { .. } => "zero_amount",
        TxError::UnknownAccount { .. } => "unknown_account",
        TxError::SelfTransfer { .. } => "self_transfer",
        TxError::DepositKeyMismatch { .. } => "deposit_key_mismatch",
        TxError::NonceExhausted { .. } => "nonce_exhausted",
        TxError::FeeAccountMissing { .. } => "fee_account_missing",
        TxError::FeeAccountFull { .. } => "fee_account_full",
        TxError::WithdrawToZeroAddress { .. } => "withdraw_to_zero_address",
    }
}

/// Why the sequencer could not open, serve or answer.
#[derive(Debug, Error)]
pub enum SequencerError {
    #[error("invalid sequencer configuration: {0}")]
    Config(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the store {path} is in use by another sequencer (SQLite lock held for 5 s)")]
    InUse { path: PathBuf },
    #[error("sequencer database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("sequencer database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the store at {path} belongs to another genesis: {detail}")]
    GenesisMismatch { path: PathBuf, detail: String },
    #[error("replaying the execution log failed: {0}")]
    Replay(String),
    #[error("registering sequencer metrics failed: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot bind the wallet API to {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("wallet API transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("the sequencer has shut down")]
    ShutDown,
    #[error("a {kind} is not a priority operation: only deposits and forced exits come from L1")]
    NotPriority { kind: &'static str },
    #[error("priority operation {got} arrived out of queue order: the next one must be {expected}")]
    PriorityOutOfOrder { expected: u64, got: u64 },
    #[error(
        "priority operation {priority_id} differs from the one taken under that id before: the L1 queue was \
         rewritten (a reorganisation deeper than the confirmations, or another rollup)"
    )]
    PriorityConflict { priority_id: u64 },
    #[error("priority operation {priority_id} cannot execute ({reason}); the L1 queue cannot advance past it")]
    PriorityRefused { priority_id: u64, reason: String },
    /// After a storage failure (restart it to recover from its store) or a fatal [`HookError`].
    #[error("the sequencer stopped: {0}")]
    Failed(String),
}

/// Why a hook — the [`crate::BatchSink`] or the [`crate::ProgressSource`] — could not do its part. The sequencer
/// decides by the variant, the same in every composition: a hand-off that failed with [`HookError::Unavailable`]
/// or [`HookError::Corrupt`] is retried with backoff; [`HookError::Fenced`] and [`HookError::Conflict`] stop the
/// sequencer (retrying cannot help and writing on would split the history). A failed progress poll is logged and
/// tried again at the next poll, whatever its variant.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HookError {
    /// The store behind the hook (queue database, blob store) did not answer or failed.
    #[error("{what} is unavailable: {reason}")]
    Unavailable { what: &'static str, reason: String },
    /// Something the hook read does not parse (a damaged record); an operator can repair it.
    #[error("{what} is corrupt: {reason}")]
    Corrupt { what: &'static str, reason: String },
    /// Another sequencer holds the shared queue's writer lease: this one may write nothing more.
    #[error("fenced off the queue: {reason}")]
    Fenced { reason: String },
    /// The queue or the blob store holds another history under this batch's number.
    #[error("conflicting history: {reason}")]
    Conflict { reason: String },
}

impl HookError {
    /// Whether the sequencer must stop instead of retrying.
    pub fn is_fatal(&self) -> bool {
        matches!(self, HookError::Fenced { .. } | HookError::Conflict { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_codes() {
        let e = SubmitError::NonceTooLow { account: 3, expected: 5, got: 4 };
        assert_eq!(e.to_string(), "nonce too low: account 3 expects 5, got 4");
        assert_eq!(e.code(), Code::FailedPrecondition);
        assert_eq!(SubmitError::from_tx_error(TxError::ZeroAmount { kind: "transfer" }).code(), Code::InvalidArgument);
        assert_eq!(SubmitError::from_tx_error(TxError::BadSignature { account: 1 }).code(), Code::Unauthenticated);
        let o = SubmitError::from_tx_error(TxError::AmountOverflow { account: 1, balance: 1, amount: 2 });
        assert_eq!((o.code(), o.label()), (Code::FailedPrecondition, "amount_overflow"));
    }
}
