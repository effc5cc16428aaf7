//! zkr's durable job queue.
//!
//! The queue keeps proof jobs (batch proofs and aggregation nodes) in SQLite (embedded, the default) or
//! Postgres (for fleets), through sqlx with embedded migrations. A job moves
//! `waiting → queued → leased → done`, or back to `queued` when a worker fails, releases it or lets its lease
//! expire, and to `dead` once its attempts are exhausted (the error text is kept). An expired lease (a crashed or
//! vanished worker) does not use up an attempt: it is counted apart, against a much higher bound. Aggregation jobs depend on
//! their children and stay `waiting` until every child is `done`.
//!
//! Traces and proofs live in a blob store (`zkr-blobs`); the database keeps only their keys.

mod error;
mod queue;
#[cfg(feature = "test-utils")]
pub mod test_utils;
mod types;

pub use error::QueueError;
// The blob store lives in zkr-blobs; re-exported for the callers that open both.
pub use queue::Queue;
pub use types::{Completion, Fence, Job, JobEvent, JobId, JobKind, JobState, NewJob, QueueConfig};
pub use zkr_blobs::{BlobError, FsBlobStore};
