-- A third job kind: 'wrap' (an epoch's root proof re-proven in the EVM-friendly wrap circuit).
-- SQLite cannot change a CHECK constraint in place, so the jobs table is rebuilt. The migration runs in one
-- transaction with foreign keys on, where dropping `jobs` would cascade into its dependants: those are copied aside
-- and dropped first, then restored with every row.
CREATE TABLE jobs_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL CHECK (kind IN ('prove_batch', 'aggregate', 'wrap')),
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
    lost_leases    INTEGER NOT NULL DEFAULT 0 CHECK (lost_leases >= 0),
    CHECK (batch_end >= batch_start),
    UNIQUE (kind, batch_start, batch_end, level)
);
INSERT INTO jobs_new (id, kind, batch_start, batch_end, level, state, input_key, result_key, attempts, max_attempts,
                      picked_by, lease_deadline, last_error, created_at, updated_at, lost_leases)
    SELECT id, kind, batch_start, batch_end, level, state, input_key, result_key, attempts, max_attempts,
           picked_by, lease_deadline, last_error, created_at, updated_at, lost_leases
    FROM jobs;

CREATE TABLE job_deps_copy AS SELECT job_id, dep_id, position FROM job_deps;
CREATE TABLE job_events_copy AS SELECT id, job_id, at, event, worker, detail FROM job_events;
DROP TABLE job_deps;
DROP TABLE job_events;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;

CREATE INDEX jobs_claim_idx ON jobs (batch_start, level, id) WHERE state = 'queued';
CREATE INDEX jobs_lease_idx ON jobs (lease_deadline) WHERE state = 'leased';
CREATE INDEX jobs_range_idx ON jobs (batch_start, batch_end);
CREATE INDEX jobs_state_idx ON jobs (state, id);

CREATE TABLE job_deps (
    job_id   INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    dep_id   INTEGER NOT NULL REFERENCES jobs (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (job_id, dep_id)
);
CREATE INDEX job_deps_dep_idx ON job_deps (dep_id);
INSERT INTO job_deps (job_id, dep_id, position) SELECT job_id, dep_id, position FROM job_deps_copy;

CREATE TABLE job_events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at     INTEGER NOT NULL,
    event  TEXT    NOT NULL,
    worker TEXT,
    detail TEXT
);
CREATE INDEX job_events_job_idx ON job_events (job_id, id);
INSERT INTO job_events (id, job_id, at, event, worker, detail) SELECT id, job_id, at, event, worker, detail FROM job_events_copy;

DROP TABLE job_deps_copy;
DROP TABLE job_events_copy;
