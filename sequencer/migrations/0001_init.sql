-- The sequencer's durable store. One writer (the sequencer's executor task), WAL, synchronous=FULL.

-- Store identity: the genesis it was created with (checked at every open).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Every acknowledged transaction. The execution log is the rows with status = 1 ordered by
-- exec_seq; a row with status = 0 waits in the mempool for its account's nonce gap to fill.
CREATE TABLE txs (
    seq         INTEGER PRIMARY KEY,          -- acknowledgement order
    hash        BLOB    NOT NULL UNIQUE,      -- Tx::id(), 32 bytes
    account     INTEGER NOT NULL,             -- sender
    nonce       INTEGER NOT NULL,
    bytes       BLOB    NOT NULL,             -- SignedTx::to_bytes()
    status      INTEGER NOT NULL,             -- 0 pending, 1 executed, 2 rejected
    exec_seq    INTEGER UNIQUE,               -- position in the execution log (status = 1)
    batch       INTEGER,                      -- batch it executed into (status = 1)
    reason      TEXT,                         -- why it was rejected (status = 2)
    received_ms INTEGER NOT NULL,             -- unix milliseconds
    executed_ms INTEGER
);
CREATE INDEX txs_by_status ON txs (status, exec_seq);

-- Sealed batches: boundaries of the execution log and hand-off / progress bookkeeping.
CREATE TABLE batches (
    number     INTEGER PRIMARY KEY,           -- 0, 1, 2, …
    capacity   INTEGER NOT NULL,
    tx_count   INTEGER NOT NULL,
    old_root   BLOB    NOT NULL,
    new_root   BLOB    NOT NULL,
    sealed_ms  INTEGER NOT NULL,
    handed_off INTEGER NOT NULL DEFAULT 0,    -- the BatchSink returned Ok
    proven     INTEGER NOT NULL DEFAULT 0,
    aggregated INTEGER NOT NULL DEFAULT 0,
    finalized  INTEGER NOT NULL DEFAULT 0
);
