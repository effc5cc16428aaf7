-- zkr job queue (SQLite). Times are unix milliseconds; batch numbers are u64 values that fit in i64.
-- States: waiting (dependencies not all done), queued, leased, done, dead.
CREATE TABLE jobs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL CHECK (kind IN ('prove_batch', 'aggregate')),
    batch_start    INTEGER NOT NULL CHECK (batch_start >= 0),
    batch_end      INTEGER NOT NULL,
    level          INTEGER NOT NULL CHECK (level >= 0),
    state          TEXT    NOT NULL CHECK (state IN ('waiting', 'queued', 'leased', 'done', 'dead')),
    input_key      TEXT    NOT NULL,
    result_key     TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts   INTEGER NOT NULL CHECK (max_attempts >= 1),
    picked_by      TEXT,
    lease_deadline INTEGER,
    last_error     TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CHECK (batch_end >= batch_start),
    UNIQUE (kind, batch_start, batch_end, level)
);

-- Claim order: oldest batch first, then lowest aggregation level, then id.
CREATE INDEX jobs_claim_idx ON jobs (batch_start, level, id) WHERE state = 'queued';
-- Lease expiry scan.
CREATE INDEX jobs_lease_idx ON jobs (lease_deadline) WHERE state = 'leased';
-- Range look-ups (per-transaction status) and listing by state.
CREATE INDEX jobs_range_idx ON jobs (batch_start, batch_end);
CREATE INDEX jobs_state_idx ON jobs (state, id);

-- A job may start only when every job it depends on is done.
CREATE TABLE job_deps (
    job_id   INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    dep_id   INTEGER NOT NULL REFERENCES jobs (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (job_id, dep_id)
);
CREATE INDEX job_deps_dep_idx ON job_deps (dep_id);
