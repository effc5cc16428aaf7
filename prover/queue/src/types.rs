//! Plain data types of the queue API.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Database id of a job.
pub type JobId = i64;

/// What a job proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Prove one batch (level 0). Stored as `prove_batch`.
    ProveBatch,
    /// Fold child proofs into one (level ≥ 1). Stored as `aggregate`.
    Aggregate,
    /// Re-prove an epoch's root proof in the EVM-friendly wrap circuit, one level above the root (level = epoch
    /// height + 1; its one dependency is the root's job). Stored as `wrap`.
    Wrap,
}

impl JobKind {
    /// Every kind, for claims that take any job.
    pub const ALL: [JobKind; 3] = [JobKind::ProveBatch, JobKind::Aggregate, JobKind::Wrap];

    /// The text stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::ProveBatch => "prove_batch",
            JobKind::Aggregate => "aggregate",
            JobKind::Wrap => "wrap",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "prove_batch" => Ok(JobKind::ProveBatch),
            "aggregate" => Ok(JobKind::Aggregate),
            "wrap" => Ok(JobKind::Wrap),
            other => Err(format!("unknown job kind {other:?}: expected \"prove_batch\", \"aggregate\" or \"wrap\"")),
        }
    }
}

/// Where a job is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Some dependency is not done yet.
    Waiting,
    /// Ready to be claimed.
    Queued,
    /// Claimed by a worker until its lease deadline.
    Leased,
    /// Finished; its result key is stored.
    Done,
    /// Attempts exhausted (dead letter); `last_error` says why.
    Dead,
}

impl JobState {
    /// Every state, e.g. for metrics.
    pub const ALL: [JobState; 5] =
        [JobState::Waiting, JobState::Queued, JobState::Leased, JobState::Done, JobState::Dead];

    /// The text stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Waiting => "waiting",
            JobState::Queued => "queued",
            JobState::Leased => "leased",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "waiting" => Ok(JobState::Waiting),
            "queued" => Ok(JobState::Queued),
            "leased" => Ok(JobState::Leased),
            "done" => Ok(JobState::Done),
            "dead" => Ok(JobState::Dead),
            other => Err(format!("unknown job state {other:?}: expected one of waiting, queued, leased, done, dead")),
        }
    }
}

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewJob {
    pub kind: JobKind,
    /// First batch number covered (inclusive).
    pub batch_start: u64,
    /// Last batch number covered (inclusive).
    pub batch_end: u64,
    /// 0 = batch proof, k = aggregation level.
    pub level: u32,
    /// Blob key of the input (trace, or whatever the aggregator needs).
    pub input_key: String,
    /// Jobs that must be done before this one may be claimed.
    pub deps: Vec<JobId>,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub batch_start: u64,
    pub batch_end: u64,
    pub level: u32,
    pub state: JobState,
    pub input_key: String,
    /// Blob key of the accepted result, once done.
    pub result_key: Option<String>,
    /// Claims counted so far (a released claim, or one whose lease expired, is not counted).
    pub attempts: u32,
    pub max_attempts: u32,
    /// Leases that expired in a worker's hands (it crashed or vanished); bounded by
    /// [`QueueConfig::max_lost_leases`], apart from the attempts.
    pub lost_leases: u32,
    /// The worker that last claimed the job (or that delivered its result).
    pub picked_by: Option<String>,
    /// Unix milliseconds; set while leased.
    pub lease_deadline: Option<i64>,
    pub last_error: Option<String>,
    /// Dependencies, in the order given at enqueue time.
    pub deps: Vec<JobId>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// A held single-writer lease ([`crate::Queue::acquire_writer`]): pass it to the writes it fences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The role, e.g. `sequencer`.
    pub name: String,
    pub holder: String,
    /// Grows at every acquisition; a write carrying an older token is refused.
    pub token: i64,
    /// Who held the lease before (`None` the first time): a new holder may not own the queue's history.
    pub previous_holder: Option<String>,
}

/// One entry of a job's history ([`crate::Queue::history`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEvent {
    /// Unix milliseconds.
    pub at: i64,
    /// What happened: `leased`, `done`, `failed`, `released`, `lease expired`, `requeued by an operator`, …
    pub event: String,
    pub worker: Option<String>,
    /// The attempt number, the error text, the result key or the lost-lease count.
    pub detail: Option<String>,
}

/// Queue settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueConfig {
    /// How long a claim (or a heartbeat) holds a job, in milliseconds.
    pub lease_ms: u64,
    /// Failed attempts (a proving error, a refused proof) a job gets before it is dead-lettered (stored per job at
    /// enqueue time).
    pub max_attempts: u32,
    /// Expired leases a job may lose before it is dead-lettered: a crashed or vanished worker is not the job's
    /// fault, so this bound is much higher than `max_attempts`.
    pub max_lost_leases: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig { lease_ms: 30_000, max_attempts: 3, max_lost_leases: 20 }
    }
}

/// Outcome of [`crate::Queue::complete`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Completion {
    /// This call moved the job to done and stored the result key.
    Accepted,
    /// The job was already done; nothing changed.
    AlreadyDone,
}
