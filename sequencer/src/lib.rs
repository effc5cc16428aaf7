//! The zkr sequencer: mempool, executor, batcher, durable store and the wallet API (gRPC, and HTTP/JSON through a
//! gateway over the same service, `http.rs`).
//!
//! ```text
//! wallet ──gRPC (grpc.rs)──▶ Sequencer handle ──cmd channel──▶ executor task (executor.rs)
//!                                                               │ State, mempool, open batch
//!                                                               │ group commit → SQLite (store.rs)
//!                         BatchSink ◀── hand-off task ◀─────────┤ sealed batches (after commit)
//!                    ProgressSource ──▶ poller task ───────────▶│ proven / aggregated / finalized
//! ```
//!
//! - **Ordering.** One executor task owns the state. A transaction whose nonce is the account's
//!   next executes at once into the open batch (`SEQUENCED`); one up to `mempool_window` ahead
//!   waits durably (`RECEIVED`) and executes when the gap fills; a failure at that point makes
//!   it `REJECTED` with the `TxError` text. Replays and stale nonces are refused.
//! - **Durability.** Every acknowledgement follows the commit (WAL, `synchronous=FULL`) of the
//!   transaction row; the execution log (`exec_seq`) and batch boundaries are stored, so
//!   [`Sequencer::open`] rebuilds the same state root and the same sealed batches. Commands
//!   are handled in groups with one commit each (group commit).
//! - **Hand-off.** Sealed batches go to the [`BatchSink`] in order, after their commit; a batch
//!   is marked handed off only when the sink returns `Ok`; on error it is retried with back-off,
//!   and batches not marked are re-emitted by the next `open` (at-least-once).
//! - **Progress.** The [`ProgressSource`] is polled for sealed, unfinalized batches (or progress
//!   is pushed with [`Sequencer::report_progress`]); changes are stored and broadcast, and the
//!   proven state advances over the proven prefix of batches. Finality is taken only with a record
//!   ([`Finality`]) whose batch range covers the batch and whose roots are the sequencer's own.
//! - **Background work** starts in [`Sequencer::open`] and stops with
//!   [`Sequencer::shutdown`] (or [`Sequencer::shutdown_token`], or when the last handle drops).

mod ages;
pub mod client;
pub mod config;
pub mod error;
mod executor;
pub mod grpc;
pub mod http;
mod metrics;
mod sequencer;
mod store;
pub mod types;

pub use config::{GenesisConfig, SequencerConfig};
pub use error::{HookError, SequencerError, SubmitError};
pub use executor::Info;
pub use grpc::{proto, serve, serve_with_listener, wallet_service, WalletApi};
pub use http::{serve_http, serve_http_with_listener};
pub use sequencer::Sequencer;
pub use types::{
    AccountView, BatchProgress, Finality, L1Cursor, PriorityOp, StatusUpdate, Submitted, TxHash, TxStage, TxStatus,
};

use async_trait::async_trait;

/// Where sealed batches go (the job queue). Called in batch order, one at a time, after the
/// batch is durable; a batch may be delivered again after an error or a restart, so an
/// implementation must be idempotent in `number`. What the sequencer does with each error is [`HookError`]'s to say.
#[async_trait]
pub trait BatchSink: Send + Sync {
    async fn sealed(&self, number: u64, batch: &zkr_circuits::batch::Batch) -> Result<(), HookError>;
}

/// Where proving progress comes from (the job queue / L1 watcher).
#[async_trait]
pub trait ProgressSource: Send + Sync {
    async fn batch_progress(&self, number: u64) -> Result<BatchProgress, HookError>;

    /// The finality record covering `number`, asked when [`ProgressSource::batch_progress`] reports it finalized.
    /// The sequencer checks the record's roots against its own batches and refuses finality without one.
    async fn finality(&self, _number: u64) -> Result<Option<Finality>, HookError> {
        Ok(None)
    }
}

/// A sink that accepts and drops every batch (for tools and tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct NullSink;

#[async_trait]
impl BatchSink for NullSink {
    async fn sealed(&self, _number: u64, _batch: &zkr_circuits::batch::Batch) -> Result<(), HookError> {
        Ok(())
    }
}

/// A progress source that never reports progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

#[async_trait]
impl ProgressSource for NoProgress {
    async fn batch_progress(&self, _number: u64) -> Result<BatchProgress, HookError> {
        Ok(BatchProgress::default())
    }
}
