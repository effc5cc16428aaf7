//! Error types.

use crate::types::{JobId, JobKind, JobState};

/// Errors of the job queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("job queue URL {url:?} is not supported: expected sqlite://PATH, sqlite::memory: or postgres://…")]
    UnsupportedUrl { url: String },

    #[error("queue config {field} = {value} is invalid: expected {expected}")]
    InvalidConfig { field: &'static str, value: u64, expected: &'static str },

    #[error("cannot connect to the job queue database at {url}")]
    Connect {
        /// The URL with any password replaced by `***`.
        url: String,
        #[source]
        source: sqlx::Error,
    },

    #[error("cannot migrate the job queue database at {url}")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    #[error("job queue database error while {op}")]
    Database {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },

    #[error("invalid new job: {field} = {value}: expected {expected}")]
    InvalidJob { field: &'static str, value: String, expected: &'static str },

    #[error(
        "new {kind} job for batches {batch_start}..={batch_end} (level {level}) depends on job {dep}, \
         which does not exist: dependencies must be enqueued first"
    )]
    UnknownDependency { dep: JobId, kind: JobKind, batch_start: u64, batch_end: u64, level: u32 },

    #[error("job {id} does not exist")]
    NotFound { id: JobId },

    #[error("job {id} is dead (last error: {last_error}): it cannot be completed")]
    JobDead { id: JobId, last_error: String },

    #[error("job {id} is {state}: expected {expected}")]
    WrongState { id: JobId, state: JobState, expected: &'static str },

    #[error("worker {worker:?} does not hold the lease of job {id}: the job is {state}, last picked by {holder:?}")]
    NotLeaseHolder { id: JobId, worker: String, state: JobState, holder: Option<String> },

    #[error(
        "the {name} lease is held by {holder} for another {remaining_ms} ms: only one {name} may write to this queue \
         (stop the other one, or wait for its lease to run out if it died)"
    )]
    WriterHeld { name: String, holder: String, remaining_ms: i64 },

    #[error(
        "fenced: this {name} (token {token}) no longer holds the writer lease ({current}); another one took over, so \
         nothing more is accepted from this one"
    )]
    Fenced { name: String, token: i64, current: String },

    #[error("job {id}: column {column} holds {value:?}: expected {expected}")]
    CorruptRow { id: JobId, column: &'static str, value: String, expected: String },
}
