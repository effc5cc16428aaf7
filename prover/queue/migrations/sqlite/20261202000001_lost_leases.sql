-- A lease that expires (its worker crashed or vanished) is not the job's failure: it gives the attempt back and is
-- counted here instead, against a much higher bound than max_attempts.
ALTER TABLE jobs ADD COLUMN lost_leases INTEGER NOT NULL DEFAULT 0 CHECK (lost_leases >= 0);

-- What happened to each job, in order, for operators (`zkr queue show`).
CREATE TABLE job_events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at     INTEGER NOT NULL,
    event  TEXT    NOT NULL,
    worker TEXT,
    detail TEXT
);
CREATE INDEX job_events_job_idx ON job_events (job_id, id);

-- Single-writer leases (the sequencer's): one holder at a time, with a fencing token that grows at every
-- acquisition. Hand-offs carry the token and are refused once it is not the current one.
CREATE TABLE writers (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    token      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
