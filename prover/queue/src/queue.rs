//! The job queue over sqlx: one code path for SQLite and Postgres, differing only in how a writer locks.
//!
//! Concurrency:
//! - Postgres: claims use `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING`; multi-statement
//!   operations lock the rows they depend on (`FOR UPDATE` / `FOR SHARE`) so that a dependent job is released by
//!   whichever completion commits last.
//! - SQLite: single statements are atomic; multi-statement operations run in `BEGIN IMMEDIATE` transactions, which
//!   take the database's single write lock up front.

use std::collections::HashMap;
use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Database, Postgres, Sqlite, Transaction};
use tracing::{debug, info, warn};

use crate::error::QueueError;
use crate::types::{Completion, Fence, Job, JobEvent, JobId, JobKind, JobState, NewJob, QueueConfig};

/// Columns of `jobs`, in [`JobRow`] order.
const COLS: &str = "id, kind, batch_start, batch_end, level, state, input_key, result_key, attempts, max_attempts, \
                    lost_leases, picked_by, lease_deadline, last_error, created_at, updated_at";

/// Most ids bound in one `IN (…)` list.
const IN_CHUNK: usize = 500;

/// A handle on the job queue; cheap to clone (it wraps a connection pool).
#[derive(Clone, Debug)]
pub struct Queue {
    backend: Backend,
    cfg: QueueConfig,
    /// The URL connected to, password redacted (for operators' messages).
    url: String,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool and `$pg` telling whether it is Postgres.
macro_rules! dispatch {
    ($self:ident, |$pool:ident, $pg:ident| $body:expr) => {
        match &$self.backend {
            Backend::Sqlite($pool) => {
                #[allow(unused_variables)]
                let $pg = false;
                $body
            }
            Backend::Postgres($pool) => {
                #[allow(unused_variables)]
                let $pg = true;
                $body
            }
        }
    };
}

/// Opens a transaction that writes: `BEGIN IMMEDIATE` on SQLite (the write lock is taken at once, so two writers
/// never deadlock on a lock upgrade), a plain `BEGIN` on Postgres (rows are locked explicitly).
trait BeginWrite {
    type Db: Database;
    fn begin_write(&self) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl BeginWrite for SqlitePool {
    type Db = Sqlite;
    fn begin_write(&self) -> impl Future<Output = Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Db = Postgres;
    fn begin_write(&self) -> impl Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send {
        self.begin()
    }
}

fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> QueueError {
    move |source| QueueError::Database { op, source }
}

/// Current time in unix milliseconds.
fn now_ms() -> i64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `url` with the password (in the user info or a `password=` parameter) replaced by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    let url = redact_userinfo(url);
    match url.find("password=") {
        Some(i) => {
            let value_start = i + "password=".len();
            let value_end = url[value_start..].find('&').map_or(url.len(), |e| value_start + e);
            format!("{}***{}", &url[..value_start], &url[value_end..])
        }
        None => url,
    }
}

fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else { return url.to_string() };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else { return url.to_string() };
    format!("{}{}:***{}", &url[..rest_start], &userinfo[..colon], &rest[at..])
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    batch_start: i64,
    batch_end: i64,
    level: i64,
    state: String,
    input_key: String,
    result_key: Option<String>,
    attempts: i64,
    max_attempts: i64,
    lost_leases: i64,
    picked_by: Option<String>,
    lease_deadline: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

fn corrupt(id: JobId, column: &'static str, value: impl ToString, expected: impl ToString) -> QueueError {
    QueueError::CorruptRow { id, column, value: value.to_string(), expected: expected.to_string() }
}

fn parse_state(id: JobId, s: &str) -> Result<JobState, QueueError> {
    JobState::from_str(s).map_err(|e| corrupt(id, "state", s, e))
}

impl JobRow {
    fn into_job(self, deps: Vec<JobId>) -> Result<Job, QueueError> {
        let id = self.id;
        let u64_col = |column, v: i64| u64::try_from(v).map_err(|_| corrupt(id, column, v, "a non-negative integer"));
        let u32_col = |column, v: i64| u32::try_from(v).map_err(|_| corrupt(id, column, v, "an integer in u32 range"));
        Ok(Job {
            id,
            kind: JobKind::from_str(&self.kind).map_err(|e| corrupt(id, "kind", &self.kind, e))?,
            batch_start: u64_col("batch_start", self.batch_start)?,
            batch_end: u64_col("batch_end", self.batch_end)?,
            level: u32_col("level", self.level)?,
            state: parse_state(id, &self.state)?,
            input_key: self.input_key,
            result_key: self.result_key,
            attempts: u32_col("attempts", self.attempts)?,
            max_attempts: u32_col("max_attempts", self.max_attempts)?,
            lost_leases: u32_col("lost_leases", self.lost_leases)?,
            picked_by: self.picked_by,
            lease_deadline: self.lease_deadline,
            last_error: self.last_error,
            deps,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn to_i64(field: &'static str, v: u64) -> Result<i64, QueueError> {
    i64::try_from(v).map_err(|_| QueueError::InvalidJob {
        field,
        value: v.to_string(),
        expected: "a value at most i64::MAX (9223372036854775807)",
    })
}

fn check_fence(f: &Fence, current: Option<(String, i64)>) -> Result<(), QueueError> {
    match current {
        Some((_, token)) if token == f.token => Ok(()),
        Some((holder, token)) => Err(QueueError::Fenced {
            name: f.name.clone(),
            token: f.token,
            current: format!("{holder} holds it with token {token}"),
        }),
        None => Err(QueueError::Fenced { name: f.name.clone(), token: f.token, current: "nobody holds it".into() }),
    }
}

/// Placeholders `$first, …, $(first+n-1)`.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl Queue {
    /// Connects to `url` (`sqlite://PATH`, `sqlite::memory:` or `postgres://…`) and runs the migrations.
    ///
    /// SQLite: the file (and its directory) is created if missing, in WAL mode with a busy timeout.
    pub async fn connect(url: &str, cfg: QueueConfig) -> Result<Queue, QueueError> {
        if cfg.lease_ms == 0 || cfg.lease_ms > i64::MAX as u64 / 2 {
            return Err(QueueError::InvalidConfig {
                field: "lease_ms",
                value: cfg.lease_ms,
                expected: "a positive number of milliseconds",
            });
        }
        if cfg.max_attempts == 0 {
            return Err(QueueError::InvalidConfig { field: "max_attempts", value: 0, expected: "at least 1" });
        }
        if cfg.max_lost_leases == 0 {
            return Err(QueueError::InvalidConfig { field: "max_lost_leases", value: 0, expected: "at least 1" });
        }
        let shown = redact_url(url);
        let connect_err = |source| QueueError::Connect { url: shown.clone(), source };
        let backend = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(connect_err)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let memory = url.contains(":memory:") || url.contains("mode=memory");
            if !memory {
                if let Some(dir) = opts.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| connect_err(sqlx::Error::Io(e)))?;
                }
            }
            // An in-memory database lives as long as its one connection: keep exactly one, forever.
            let pool_opts = if memory {
                SqlitePoolOptions::new().min_connections(1).max_connections(1).idle_timeout(None).max_lifetime(None)
            } else {
                SqlitePoolOptions::new().max_connections(4)
            };
            let pool =
                pool_opts.acquire_timeout(Duration::from_secs(30)).connect_with(opts).await.map_err(connect_err)?;
            let mut migrator = sqlx::migrate!("./migrations/sqlite");
            // Other components may keep their own migrations in the same database.
            migrator.set_ignore_missing(true);
            migrator.run(&pool).await.map_err(|source| QueueError::Migrate { url: shown.clone(), source })?;
            Backend::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).map_err(connect_err)?;
            // One direct attempt first: the pool would retry a refused connection until its acquire timeout.
            opts.connect().await.map_err(connect_err)?.close().await.map_err(connect_err)?;
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .map_err(connect_err)?;
            let mut migrator = sqlx::migrate!("./migrations/postgres");
            migrator.set_ignore_missing(true);
            migrator.run(&pool).await.map_err(|source| QueueError::Migrate { url: shown.clone(), source })?;
            Backend::Postgres(pool)
        } else {
            return Err(QueueError::UnsupportedUrl { url: shown });
        };
        info!(url = %shown, lease_ms = cfg.lease_ms, max_attempts = cfg.max_attempts, "job queue connected");
        Ok(Queue { backend, cfg, url: shown })
    }

    /// The settings this handle uses.
    pub fn config(&self) -> &QueueConfig {
        &self.cfg
    }

    /// The database's URL, password redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the database answers a query (`SELECT 1`), for readiness probes.
    pub async fn ping(&self) -> Result<(), QueueError> {
        dispatch!(self, |pool, pg| {
            sqlx::query("SELECT 1").execute(pool).await.map_err(db("asking the database for SELECT 1"))?;
        });
        Ok(())
    }

    /// Closes the connection pool (waits for connections in use to come back).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(p) => p.close().await,
            Backend::Postgres(p) => p.close().await,
        }
    }

    /// Adds a job, or returns the id of the job already stored for `(kind, batch_start, batch_end, level)`.
    ///
    /// A new job is `Waiting` while any dependency is not done, else `Queued`. Every dependency must exist.
    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(kind = %job.kind, batch_start = job.batch_start, batch_end = job.batch_end, level = job.level)
    )]
    pub async fn enqueue(&self, job: NewJob) -> Result<JobId, QueueError> {
        self.enqueue_fenced(job, None).await
    }

    /// [`Queue::enqueue`] by the holder of `fence`: refused with [`QueueError::Fenced`] once another writer took the
    /// lease over (checked in the enqueue's own transaction, so no write slips in after a takeover).
    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(kind = %job.kind, batch_start = job.batch_start, batch_end = job.batch_end, level = job.level)
    )]
    pub async fn enqueue_fenced(&self, job: NewJob, fence: Option<&Fence>) -> Result<JobId, QueueError> {
        let start = to_i64("batch_start", job.batch_start)?;
        let end = to_i64("batch_end", job.batch_end)?;
        if job.batch_end < job.batch_start {
            return Err(QueueError::InvalidJob {
                field: "batch_end",
                value: job.batch_end.to_string(),
                expected: "batch_end >= batch_start (the range is inclusive)",
            });
        }
        let mut deps: Vec<JobId> = Vec::with_capacity(job.deps.len());
        for d in &job.deps {
            if !deps.contains(d) {
                deps.push(*d);
            }
        }
        let level = i64::from(job.level);
        let now = now_ms();
        let select_existing =
            "SELECT id FROM jobs WHERE kind = $1 AND batch_start = $2 AND batch_end = $3 AND level = $4";

        dispatch!(self, |pool, pg| {
            let mut tx = pool.begin_write().await.map_err(db("starting the enqueue transaction"))?;
            if let Some(f) = fence {
                // FOR SHARE holds off a takeover until this enqueue commits (SQLite's write lock does the same).
                let sql = if pg {
                    "SELECT holder, token FROM writers WHERE name = $1 FOR SHARE"
                } else {
                    "SELECT holder, token FROM writers WHERE name = $1"
                };
                let row: Option<(String, i64)> = sqlx::query_as(sql)
                    .bind(&f.name)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("checking the writer lease"))?;
                check_fence(f, row)?;
            }
            let existing: Option<i64> = sqlx::query_scalar(select_existing)
                .bind(job.kind.as_str())
                .bind(start)
                .bind(end)
                .bind(level)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("looking up an existing job"))?;
            if let Some(id) = existing {
                tx.commit().await.map_err(db("committing the enqueue transaction"))?;
                debug!(job_id = id, "job already enqueued");
                return Ok(id);
            }

            // Lock each dependency (Postgres) so that a concurrent completion waits for this job to be visible.
            let dep_sql = if pg {
                "SELECT state FROM jobs WHERE id = $1 FOR SHARE"
            } else {
                "SELECT state FROM jobs WHERE id = $1"
            };
            let mut all_done = true;
            for &dep in &deps {
                let state: Option<String> = sqlx::query_scalar(dep_sql)
                    .bind(dep)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("reading a dependency's state"))?;
                let Some(state) = state else {
                    return Err(QueueError::UnknownDependency {
                        dep,
                        kind: job.kind,
                        batch_start: job.batch_start,
                        batch_end: job.batch_end,
                        level: job.level,
                    });
                };
                match parse_state(dep, &state)? {
                    JobState::Done => {}
                    JobState::Dead => {
                        warn!(dep, "new job depends on a dead job: it will wait until that job is redone");
                        all_done = false;
                    }
                    _ => all_done = false,
                }
            }
            let state = if all_done { JobState::Queued } else { JobState::Waiting };

            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO jobs (kind, batch_start, batch_end, level, state, input_key, attempts, max_attempts, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $8) \
                 ON CONFLICT (kind, batch_start, batch_end, level) DO NOTHING RETURNING id",
            )
            .bind(job.kind.as_str())
            .bind(start)
            .bind(end)
            .bind(level)
            .bind(state.as_str())
            .bind(&job.input_key)
            .bind(i64::from(self.cfg.max_attempts))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("inserting a job"))?;

            let Some(id) = inserted else {
                // A concurrent enqueue of the same job committed first.
                let id: i64 = sqlx::query_scalar(select_existing)
                    .bind(job.kind.as_str())
                    .bind(start)
                    .bind(end)
                    .bind(level)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db("looking up a concurrently enqueued job"))?;
                tx.commit().await.map_err(db("committing the enqueue transaction"))?;
                debug!(job_id = id, "job already enqueued");
                return Ok(id);
            };
            for (position, &dep) in deps.iter().enumerate() {
                sqlx::query("INSERT INTO job_deps (job_id, dep_id, position) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(dep)
                    .bind(position as i64)
                    .execute(&mut *tx)
                    .await
                    .map_err(db("inserting a job dependency"))?;
            }
            tx.commit().await.map_err(db("committing the enqueue transaction"))?;
            info!(job_id = id, state = %state, deps = ?deps, input_key = %job.input_key, "job enqueued");
            Ok(id)
        })
    }

    /// Leases the next queued job of one of `kinds` to `worker`: lowest `batch_start` first, then lowest level, then
    /// lowest id. Counts an attempt and sets the lease deadline to now + `lease_ms`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn claim(&self, worker: &str, kinds: &[JobKind]) -> Result<Option<Job>, QueueError> {
        let mut wanted: Vec<&'static str> = Vec::with_capacity(kinds.len());
        for k in kinds {
            if !wanted.contains(&k.as_str()) {
                wanted.push(k.as_str());
            }
        }
        if wanted.is_empty() {
            return Ok(None);
        }
        let now = now_ms();
        let deadline = now.saturating_add(self.cfg.lease_ms as i64);
        let row: Option<JobRow> = dispatch!(self, |pool, pg| {
            let sql = format!(
                "UPDATE jobs SET state = 'leased', attempts = attempts + 1, picked_by = $1, lease_deadline = $2, \
                 updated_at = $3 WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND kind IN ({}) \
                 ORDER BY batch_start, level, id LIMIT 1{}) RETURNING {COLS}",
                placeholders(4, wanted.len()),
                if pg { " FOR UPDATE SKIP LOCKED" } else { "" }
            );
            let mut q = sqlx::query_as(&sql).bind(worker).bind(deadline).bind(now);
            for k in &wanted {
                q = q.bind(*k);
            }
            q.fetch_optional(pool).await.map_err(db("claiming a job"))?
        });
        let Some(row) = row else { return Ok(None) };
        let deps = self.deps_of(&[row.id]).await?.remove(&row.id).unwrap_or_default();
        let job = row.into_job(deps)?;
        info!(
            job_id = job.id, kind = %job.kind, batch_start = job.batch_start, batch_end = job.batch_end,
            level = job.level, attempt = job.attempts, worker, "job leased"
        );
        self.record(job.id, "leased", Some(worker), Some(&format!("attempt {}", job.attempts))).await;
        Ok(Some(job))
    }

    /// Extends the lease to now + `lease_ms` if `worker` still holds it; false otherwise.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn heartbeat(&self, id: JobId, worker: &str) -> Result<bool, QueueError> {
        let now = now_ms();
        let deadline = now.saturating_add(self.cfg.lease_ms as i64);
        let sql = "UPDATE jobs SET lease_deadline = $3, updated_at = $4 \
                   WHERE id = $1 AND state = 'leased' AND picked_by = $2";
        let n = dispatch!(self, |pool, pg| {
            sqlx::query(sql)
                .bind(id)
                .bind(worker)
                .bind(deadline)
                .bind(now)
                .execute(pool)
                .await
                .map_err(db("extending a lease"))?
                .rows_affected()
        });
        if n == 0 {
            debug!(job_id = id, worker, "heartbeat refused: the worker does not hold the lease");
        }
        Ok(n > 0)
    }

    /// Accepts a verified result for job `id`. Idempotent: a job already done is left as is (`AlreadyDone`).
    /// Otherwise the job becomes done even if `worker`'s lease expired or another worker holds it now, and the
    /// jobs waiting on it whose dependencies are now all done become queued, in the same transaction.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn complete(&self, id: JobId, worker: &str, result_key: &str) -> Result<Completion, QueueError> {
        let done = self.complete_once(id, worker, result_key).await?;
        if done == Completion::Accepted {
            self.record(id, "done", Some(worker), Some(result_key)).await;
        }
        Ok(done)
    }

    async fn complete_once(&self, id: JobId, worker: &str, result_key: &str) -> Result<Completion, QueueError> {
        let now = now_ms();
        dispatch!(self, |pool, pg| {
            let mut tx = pool.begin_write().await.map_err(db("starting the completion transaction"))?;
            let sql = if pg {
                "SELECT state, last_error FROM jobs WHERE id = $1 FOR UPDATE"
            } else {
                "SELECT state, last_error FROM jobs WHERE id = $1"
            };
            let row: Option<(String, Option<String>)> =
                sqlx::query_as(sql).bind(id).fetch_optional(&mut *tx).await.map_err(db("reading a job's state"))?;
            let Some((state, last_error)) = row else { return Err(QueueError::NotFound { id }) };
            match parse_state(id, &state)? {
                JobState::Done => {
                    debug!(job_id = id, worker, "late result for a job already done: discarded");
                    return Ok(Completion::AlreadyDone);
                }
                JobState::Dead => {
                    return Err(QueueError::JobDead { id, last_error: last_error.unwrap_or_else(|| "none".into()) })
                }
                JobState::Waiting => {
                    return Err(QueueError::WrongState {
                        id,
                        state: JobState::Waiting,
                        expected: "a job that was queued or leased (its dependencies are not all done)",
                    })
                }
                JobState::Queued | JobState::Leased => {}
            }
            sqlx::query(
                "UPDATE jobs SET state = 'done', result_key = $2, picked_by = $3, lease_deadline = NULL, \
                 updated_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(result_key)
            .bind(worker)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db("marking a job done"))?;

            if pg {
                // Lock the dependents before reading their other dependencies' states: of two children completing
                // at once, the second to get these locks sees the first one's commit and releases the parent.
                sqlx::query(
                    "SELECT id FROM jobs WHERE id IN (SELECT job_id FROM job_deps WHERE dep_id = $1) \
                     AND state = 'waiting' ORDER BY id FOR UPDATE",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await
                .map_err(db("locking dependent jobs"))?;
            }
            let released: Vec<i64> = sqlx::query_scalar(
                "UPDATE jobs SET state = 'queued', updated_at = $2 \
                 WHERE id IN (SELECT job_id FROM job_deps WHERE dep_id = $1) AND state = 'waiting' \
                 AND NOT EXISTS (SELECT 1 FROM job_deps d JOIN jobs p ON p.id = d.dep_id \
                                 WHERE d.job_id = jobs.id AND p.state <> 'done') \
                 RETURNING id",
            )
            .bind(id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await
            .map_err(db("releasing dependent jobs"))?;
            tx.commit().await.map_err(db("committing the completion transaction"))?;
            info!(job_id = id, worker, result_key, "job done");
            for dependent in released {
                info!(job_id = dependent, after = id, "job queued: all its dependencies are done");
            }
            Ok(Completion::Accepted)
        })
    }

    /// Records a failed attempt by `worker`, which must hold the lease: the error text goes to `last_error`; the job
    /// is queued again while attempts remain, else dead. Returns the new state.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn fail(&self, id: JobId, worker: &str, error: &str) -> Result<JobState, QueueError> {
        let now = now_ms();
        let sql = "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
                   last_error = $3, lease_deadline = NULL, updated_at = $4 \
                   WHERE id = $1 AND state = 'leased' AND picked_by = $2 RETURNING state";
        let state: Option<String> = dispatch!(self, |pool, pg| {
            sqlx::query_scalar(sql)
                .bind(id)
                .bind(worker)
                .bind(error)
                .bind(now)
                .fetch_optional(pool)
                .await
                .map_err(db("recording a failed attempt"))?
        });
        match state {
            Some(s) => {
                let state = parse_state(id, &s)?;
                if state == JobState::Dead {
                    warn!(job_id = id, worker, error, "job dead: attempts exhausted");
                    self.record(id, "failed; dead: attempts exhausted", Some(worker), Some(error)).await;
                } else {
                    warn!(job_id = id, worker, error, "job attempt failed: queued again");
                    self.record(id, "failed", Some(worker), Some(error)).await;
                }
                Ok(state)
            }
            None => Err(self.not_lease_holder(id, worker).await?),
        }
    }

    /// Gives the lease back without counting the attempt (graceful shutdown). False if `worker` does not hold it.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn release(&self, id: JobId, worker: &str) -> Result<bool, QueueError> {
        let now = now_ms();
        let sql = "UPDATE jobs SET state = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
                   lease_deadline = NULL, updated_at = $3 WHERE id = $1 AND state = 'leased' AND picked_by = $2";
        let n = dispatch!(self, |pool, pg| {
            sqlx::query(sql)
                .bind(id)
                .bind(worker)
                .bind(now)
                .execute(pool)
                .await
                .map_err(db("releasing a lease"))?
                .rows_affected()
        });
        if n > 0 {
            info!(job_id = id, worker, "lease returned: job queued again");
            self.record(id, "released", Some(worker), None).await;
        }
        Ok(n > 0)
    }

    /// Requeues every job whose lease has expired. The worker crashed or vanished: that is not the job's failure, so
    /// the attempt is given back and the loss counted in `lost_leases` instead; only a job that lost
    /// `max_lost_leases` leases goes dead (something kills every worker that takes it). Returns how many jobs it
    /// moved.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn requeue_expired(&self) -> Result<u64, QueueError> {
        let now = now_ms();
        // Every right-hand side reads the row as it was before this update.
        let sql = "UPDATE jobs SET state = CASE WHEN lost_leases + 1 >= $2 THEN 'dead' ELSE 'queued' END, \
                   attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, lost_leases = lost_leases + 1, \
                   last_error = CASE WHEN lost_leases + 1 >= $2 THEN 'lease expired too many times: every worker \
                   that took this job crashed or vanished before finishing it' ELSE 'lease expired' END, \
                   lease_deadline = NULL, updated_at = $1 \
                   WHERE state = 'leased' AND lease_deadline < $1 RETURNING id, state, picked_by, lost_leases";
        let rows: Vec<(i64, String, Option<String>, i64)> = dispatch!(self, |pool, pg| {
            sqlx::query_as(sql)
                .bind(now)
                .bind(i64::from(self.cfg.max_lost_leases))
                .fetch_all(pool)
                .await
                .map_err(db("requeueing expired leases"))?
        });
        for (id, state, worker, lost) in &rows {
            let detail = format!("lost leases: {lost}");
            if state == JobState::Dead.as_str() {
                warn!(job_id = id, worker = ?worker, lost_leases = lost, "lease expired: job dead, too many leases lost");
                self.record(*id, "lease expired; dead: too many leases lost", worker.as_deref(), Some(&detail)).await;
            } else {
                warn!(job_id = id, worker = ?worker, lost_leases = lost, "lease expired: job queued again");
                self.record(*id, "lease expired", worker.as_deref(), Some(&detail)).await;
            }
        }
        Ok(rows.len() as u64)
    }

    /// Gives a dead job a fresh start (an operator's decision, after fixing what killed it): queued again with its
    /// attempts reset; its last error is kept until the next attempt. Returns false, changing nothing, when the job
    /// is not dead (or does not exist).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn requeue_dead(&self, id: JobId) -> Result<bool, QueueError> {
        let now = now_ms();
        let sql = "UPDATE jobs SET state = 'queued', attempts = 0, lost_leases = 0, lease_deadline = NULL, \
                   updated_at = $2 WHERE id = $1 AND state = 'dead'";
        let n = dispatch!(self, |pool, pg| {
            sqlx::query(sql)
                .bind(id)
                .bind(now)
                .execute(pool)
                .await
                .map_err(db("requeueing a dead job"))?
                .rows_affected()
        });
        if n > 0 {
            info!(job_id = id, "dead job queued again by an operator");
            self.record(id, "requeued by an operator", None, None).await;
        }
        Ok(n > 0)
    }

    /// Takes the single-writer lease `name` for `holder` for `ttl_ms`: granted when nobody holds it, when the
    /// holder's lease ran out, or to the same holder again (a restart); refused with [`QueueError::WriterHeld`]
    /// otherwise. Every grant gets a new, larger fencing token.
    pub async fn acquire_writer(&self, name: &str, holder: &str, ttl_ms: u64) -> Result<Fence, QueueError> {
        let now = now_ms();
        let until = now.saturating_add(ttl_ms.min(i64::MAX as u64 / 4) as i64);
        let previous = self.writer(name).await?;
        let sql = "INSERT INTO writers (name, holder, token, expires_at) VALUES ($1, $2, 1, $3) \
                   ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = writers.token + 1, \
                   expires_at = excluded.expires_at WHERE writers.expires_at < $4 OR writers.holder = excluded.holder \
                   RETURNING token";
        let token: Option<i64> = dispatch!(self, |pool, pg| {
            sqlx::query_scalar(sql)
                .bind(name)
                .bind(holder)
                .bind(until)
                .bind(now)
                .fetch_optional(pool)
                .await
                .map_err(db("taking the writer lease"))?
        });
        match token {
            Some(token) => {
                info!(name, holder, token, "writer lease taken");
                Ok(Fence {
                    name: name.to_string(),
                    holder: holder.to_string(),
                    token,
                    previous_holder: previous.map(|(h, _)| h),
                })
            }
            None => {
                // Read again: the holder refusing us may not be the one read before the upsert.
                let (holder, expires_at) = self.writer(name).await?.unwrap_or_default();
                Err(QueueError::WriterHeld { name: name.to_string(), holder, remaining_ms: (expires_at - now).max(0) })
            }
        }
    }

    /// The holder of the writer lease `name` (expired or not) and the unix milliseconds its lease runs until.
    pub async fn writer(&self, name: &str) -> Result<Option<(String, i64)>, QueueError> {
        Ok(dispatch!(self, |pool, pg| {
            sqlx::query_as("SELECT holder, expires_at FROM writers WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
                .map_err(db("reading the writer lease"))?
        }))
    }

    /// Extends a held writer lease by `ttl_ms` from now; [`QueueError::Fenced`] if another writer took it over.
    pub async fn renew_writer(&self, fence: &Fence, ttl_ms: u64) -> Result<(), QueueError> {
        let until = now_ms().saturating_add(ttl_ms.min(i64::MAX as u64 / 4) as i64);
        let n = dispatch!(self, |pool, pg| {
            sqlx::query("UPDATE writers SET expires_at = $3 WHERE name = $1 AND token = $2")
                .bind(&fence.name)
                .bind(fence.token)
                .bind(until)
                .execute(pool)
                .await
                .map_err(db("renewing the writer lease"))?
                .rows_affected()
        });
        if n == 1 {
            return Ok(());
        }
        self.check_writer(fence).await.and(Err(QueueError::Fenced {
            name: fence.name.clone(),
            token: fence.token,
            current: "it changed hands".into(),
        }))
    }

    /// [`QueueError::Fenced`] unless `fence` is still the current holder's.
    pub async fn check_writer(&self, fence: &Fence) -> Result<(), QueueError> {
        let row: Option<(String, i64)> = dispatch!(self, |pool, pg| {
            sqlx::query_as("SELECT holder, token FROM writers WHERE name = $1")
                .bind(&fence.name)
                .fetch_optional(pool)
                .await
                .map_err(db("checking the writer lease"))?
        });
        check_fence(fence, row)
    }

    /// Gives a writer lease up (a clean stop), so that another writer need not wait for it to run out.
    pub async fn release_writer(&self, fence: &Fence) -> Result<(), QueueError> {
        dispatch!(self, |pool, pg| {
            sqlx::query("UPDATE writers SET expires_at = 0 WHERE name = $1 AND token = $2")
                .bind(&fence.name)
                .bind(fence.token)
                .execute(pool)
                .await
                .map_err(db("releasing the writer lease"))?;
        });
        Ok(())
    }

    /// Whether any batch was ever handed to this queue (a prove job exists).
    pub async fn has_batches(&self) -> Result<bool, QueueError> {
        let n: i64 = dispatch!(self, |pool, pg| {
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'prove_batch'")
                .fetch_one(pool)
                .await
                .map_err(db("counting batches"))?
        });
        Ok(n > 0)
    }

    /// Appends to a job's history. Best effort: the history is for people, and a job's state never depends on it.
    async fn record(&self, id: JobId, event: &str, worker: Option<&str>, detail: Option<&str>) {
        let sql = "INSERT INTO job_events (job_id, at, event, worker, detail) VALUES ($1, $2, $3, $4, $5)";
        let r = dispatch!(self, |pool, pg| {
            sqlx::query(sql)
                .bind(id)
                .bind(now_ms())
                .bind(event)
                .bind(worker)
                .bind(detail)
                .execute(pool)
                .await
                .map(|_| ())
        });
        if let Err(e) = r {
            warn!(job_id = id, event, error = %e, "could not record a job event");
        }
    }

    /// What happened to a job, oldest first (leases, failures with their error text, lost leases, completion,
    /// operators' requeues).
    pub async fn history(&self, id: JobId) -> Result<Vec<JobEvent>, QueueError> {
        let sql = "SELECT at, event, worker, detail FROM job_events WHERE job_id = $1 ORDER BY id";
        let rows: Vec<(i64, String, Option<String>, Option<String>)> = dispatch!(self, |pool, pg| {
            sqlx::query_as(sql).bind(id).fetch_all(pool).await.map_err(db("reading a job's history"))?
        });
        Ok(rows.into_iter().map(|(at, event, worker, detail)| JobEvent { at, event, worker, detail }).collect())
    }

    /// The job with this id.
    pub async fn get(&self, id: JobId) -> Result<Option<Job>, QueueError> {
        let sql = format!("SELECT {COLS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = dispatch!(self, |pool, pg| {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await.map_err(db("reading a job"))?
        });
        Ok(self.attach_deps(row.into_iter().collect()).await?.pop())
    }

    /// The job stored for this key.
    pub async fn find(
        &self,
        kind: JobKind,
        batch_start: u64,
        batch_end: u64,
        level: u32,
    ) -> Result<Option<Job>, QueueError> {
        let (Ok(start), Ok(end)) = (i64::try_from(batch_start), i64::try_from(batch_end)) else { return Ok(None) };
        let sql =
            format!("SELECT {COLS} FROM jobs WHERE kind = $1 AND batch_start = $2 AND batch_end = $3 AND level = $4");
        let row: Option<JobRow> = dispatch!(self, |pool, pg| {
            sqlx::query_as(&sql)
                .bind(kind.as_str())
                .bind(start)
                .bind(end)
                .bind(i64::from(level))
                .fetch_optional(pool)
                .await
                .map_err(db("finding a job"))?
        });
        Ok(self.attach_deps(row.into_iter().collect()).await?.pop())
    }

    /// Jobs whose batch range contains `batch`, by level then id.
    pub async fn jobs_covering(&self, batch: u64) -> Result<Vec<Job>, QueueError> {
        let Ok(batch) = i64::try_from(batch) else { return Ok(Vec::new()) };
        let sql = format!("SELECT {COLS} FROM jobs WHERE batch_start <= $1 AND batch_end >= $1 ORDER BY level, id");
        let rows: Vec<JobRow> = dispatch!(self, |pool, pg| {
            sqlx::query_as(&sql).bind(batch).fetch_all(pool).await.map_err(db("listing jobs covering a batch"))?
        });
        self.attach_deps(rows).await
    }

    /// Number of jobs per (kind, state); pairs with no job are left out.
    pub async fn depth(&self) -> Result<Vec<(JobKind, JobState, u64)>, QueueError> {
        let sql = "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state ORDER BY kind, state";
        let rows: Vec<(String, String, i64)> =
            dispatch!(self, |pool, pg| sqlx::query_as(sql).fetch_all(pool).await.map_err(db("counting jobs"))?);
        rows.into_iter()
            .map(|(kind, state, n)| {
                let kind = JobKind::from_str(&kind).map_err(|e| corrupt(0, "kind", &kind, e))?;
                Ok((kind, parse_state(0, &state)?, n.max(0) as u64))
            })
            .collect()
    }

    /// Up to `limit` jobs, in `state` if given, oldest (lowest id) first.
    pub async fn list(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>, QueueError> {
        let rows: Vec<JobRow> = dispatch!(self, |pool, pg| {
            match state {
                Some(s) => sqlx::query_as(&format!("SELECT {COLS} FROM jobs WHERE state = $1 ORDER BY id LIMIT $2"))
                    .bind(s.as_str())
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await
                    .map_err(db("listing jobs"))?,
                None => sqlx::query_as(&format!("SELECT {COLS} FROM jobs ORDER BY id LIMIT $1"))
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await
                    .map_err(db("listing jobs"))?,
            }
        });
        self.attach_deps(rows).await
    }

    async fn attach_deps(&self, rows: Vec<JobRow>) -> Result<Vec<Job>, QueueError> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut deps = self.deps_of(&ids).await?;
        rows.into_iter()
            .map(|r| {
                let d = deps.remove(&r.id).unwrap_or_default();
                r.into_job(d)
            })
            .collect()
    }

    /// Dependencies of each of `ids`, in enqueue order.
    async fn deps_of(&self, ids: &[JobId]) -> Result<HashMap<JobId, Vec<JobId>>, QueueError> {
        let mut out: HashMap<JobId, Vec<JobId>> = HashMap::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT job_id, dep_id FROM job_deps WHERE job_id IN ({}) ORDER BY job_id, position",
                placeholders(1, chunk.len())
            );
            let rows: Vec<(i64, i64)> = dispatch!(self, |pool, pg| {
                let mut q = sqlx::query_as(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await.map_err(db("reading job dependencies"))?
            });
            for (job, dep) in rows {
                out.entry(job).or_default().push(dep);
            }
        }
        Ok(out)
    }

    /// The error for a lease operation by a worker that does not hold the lease.
    async fn not_lease_holder(&self, id: JobId, worker: &str) -> Result<QueueError, QueueError> {
        let sql = "SELECT state, picked_by FROM jobs WHERE id = $1";
        let row: Option<(String, Option<String>)> = dispatch!(self, |pool, pg| {
            sqlx::query_as(sql).bind(id).fetch_optional(pool).await.map_err(db("reading a job's lease"))?
        });
        Ok(match row {
            None => QueueError::NotFound { id },
            Some((state, holder)) => {
                QueueError::NotLeaseHolder { id, worker: worker.to_string(), state: parse_state(id, &state)?, holder }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{placeholders, redact_url};

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h/db?password=x&sslmode=off"), "postgres://h/db?password=***&sslmode=off");
        assert_eq!(redact_url("sqlite://data/q.db"), "sqlite://data/q.db");
        assert_eq!(redact_url("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn placeholder_lists() {
        assert_eq!(placeholders(1, 3), "$1, $2, $3");
    }
}
