-- A third job kind: 'wrap' (an epoch's root proof re-proven in the EVM-friendly wrap circuit).
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('prove_batch', 'aggregate', 'wrap'));
