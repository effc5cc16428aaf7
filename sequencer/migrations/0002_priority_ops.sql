-- The bridge's L1 → L2 side: priority operations (deposits, forced exits) taken from L1, in queue order. Each one
-- is also a row of `txs` (executed at once, account = the account it concerns, nonce = 0).
CREATE TABLE priority_ops (
    priority_id INTEGER PRIMARY KEY,          -- the L1 queue's id: 0, 1, 2, … without gaps
    hash        BLOB    NOT NULL UNIQUE,      -- Tx::id() of its row in txs
    l1_tx       BLOB    NOT NULL,             -- the L1 transaction that queued it (32 bytes)
    expiry_s    INTEGER NOT NULL              -- unix seconds: after this, L1 lets anyone switch to exit mode
);

-- The L1 transaction that executed a finalized batch's epoch (32 bytes), when the finality record names it.
ALTER TABLE batches ADD COLUMN execute_tx BLOB;
