//! The sequencer's public value types: transaction hashes, statuses, account views.

use std::fmt;

use plonky2::field::types::{Field, Field64, PrimeField64};
use zkr_circuits::config::{Digest, F};
use zkr_circuits::smt::MerkleProof;
use zkr_circuits::state::Account;

/// The 32-byte wire form of a digest (4 × u64 little-endian).
pub fn digest_to_bytes(d: &Digest) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, e) in d.elements.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&e.to_canonical_u64().to_le_bytes());
    }
    out
}

/// A root in [`digest_to_bytes`] form written as `zkr_circuits::artifact::digest_hex` writes the digest (each
/// element as 16 hex digits), so logs and records compare by eye.
pub fn root_hex(b: &[u8; 32]) -> String {
    b.chunks_exact(8).map(|c| format!("{:016x}", u64::from_le_bytes(c.try_into().expect("8 bytes")))).collect()
}

/// The inverse of [`digest_to_bytes`]; `None` if an element is not canonical (≥ p).
pub fn digest_from_bytes(b: &[u8; 32]) -> Option<Digest> {
    let mut elements = [F::ZERO; 4];
    for (i, e) in elements.iter_mut().enumerate() {
        let v = u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().expect("8 bytes"));
        if v >= F::ORDER {
            return None;
        }
        *e = F::from_canonical_u64(v);
    }
    Some(Digest { elements })
}

/// A transaction hash: `Tx::id()` as 32 bytes (4 × u64 little-endian).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxHash(pub [u8; 32]);

/// A hash of the wrong length.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("transaction hash must be 32 bytes, got {got}")]
pub struct HashLengthError {
    pub got: usize,
}

impl TxHash {
    pub fn of(id: &Digest) -> Self {
        TxHash(digest_to_bytes(id))
    }

    pub fn from_slice(b: &[u8]) -> Result<Self, HashLengthError> {
        b.try_into().map(TxHash).map_err(|_| HashLengthError { got: b.len() })
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for TxHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", self.to_hex())
    }
}

impl fmt::Debug for TxHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxHash({self})")
    }
}

/// Where a transaction is in the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxStage {
    /// Durably stored, waiting for earlier nonces of its account.
    Received,
    /// Executed into a batch (soft confirmation).
    Sequenced,
    Proven,
    Aggregated,
    Finalized,
    /// Failed when it finally executed.
    Rejected,
}

impl TxStage {
    pub fn as_str(&self) -> &'static str {
        match self {
            TxStage::Received => "received",
            TxStage::Sequenced => "sequenced",
            TxStage::Proven => "proven",
            TxStage::Aggregated => "aggregated",
            TxStage::Finalized => "finalized",
            TxStage::Rejected => "rejected",
        }
    }

    /// No further change will happen.
    pub fn is_terminal(&self) -> bool {
        matches!(self, TxStage::Finalized | TxStage::Rejected)
    }
}

/// A transaction's status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxStatus {
    pub stage: TxStage,
    /// The batch it executed into (from `Sequenced` on).
    pub batch: Option<u64>,
    /// Why it was rejected (only for `Rejected`).
    pub reason: Option<String>,
    /// A priority operation (deposit, forced exit): the L1 transaction that queued it.
    pub l1_tx: Option<[u8; 32]>,
    /// `Finalized`: the L1 transaction that executed its epoch (a withdrawal's funds are claimable from then on),
    /// when the finality record names it.
    pub execute_tx: Option<[u8; 32]>,
}

impl TxStatus {
    pub fn received() -> Self {
        Self { stage: TxStage::Received, batch: None, reason: None, l1_tx: None, execute_tx: None }
    }

    pub fn in_batch(stage: TxStage, batch: u64) -> Self {
        Self { stage, batch: Some(batch), reason: None, l1_tx: None, execute_tx: None }
    }

    pub fn rejected(reason: impl Into<String>) -> Self {
        Self { stage: TxStage::Rejected, batch: None, reason: Some(reason.into()), l1_tx: None, execute_tx: None }
    }
}

/// A priority operation taken from L1 by the bridge's watcher, for [`crate::Sequencer::submit_priority`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityOp {
    /// `Tx::Deposit` or `Tx::ForcedExit`; its priority id is its place in the L1 queue.
    pub tx: zkr_circuits::tx::Tx,
    /// The L1 transaction that queued it.
    pub l1_tx: [u8; 32],
    /// Unix seconds after which L1 lets anyone switch the rollup into exit mode unless it is executed.
    pub expiry_s: u64,
}

/// The last L1 block whose priority operations the sequencer took, with its hash: where the watcher resumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L1Cursor {
    pub block: u64,
    pub hash: [u8; 32],
}

impl fmt::Display for TxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stage.as_str())?;
        if let Some(b) = self.batch {
            write!(f, " in batch {b}")?;
        }
        if let Some(r) = &self.reason {
            write!(f, ": {r}")?;
        }
        if let Some(h) = &self.l1_tx {
            write!(f, " (queued by L1 tx 0x{})", hex::encode(h))?;
        }
        if let Some(h) = &self.execute_tx {
            write!(f, " (executed on L1 by tx 0x{})", hex::encode(h))?;
        }
        Ok(())
    }
}

/// A status change, as broadcast to [`crate::Sequencer::subscribe`] receivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusUpdate {
    pub hash: TxHash,
    pub status: TxStatus,
}

/// The answer to a successful submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
    pub hash: TxHash,
    /// `Received` (waiting for a nonce gap) or `Sequenced` with its batch.
    pub status: TxStatus,
}

/// An account in the latest or the last proven state, with its Merkle proof against `root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountView {
    pub id: u32,
    /// `None`: the leaf is empty (the proof then shows the zero leaf under `root`).
    pub account: Option<Account>,
    pub root: Digest,
    pub proof: MerkleProof,
    /// Number of sealed batches included in this state.
    pub batches: u64,
}

/// What a finality record says it finalized: a range of batches and the state roots before the first and after the
/// last (bytes as [`digest_to_bytes`] writes them). The sequencer takes a batch as finalized only when such a record
/// covers it and both roots are those of its own history, so a record written for another chain (a store shared by
/// mistake, a stale bucket) can never make its transactions `FINALIZED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finality {
    /// First and last batch, inclusive.
    pub batches: (u64, u64),
    pub old_root: [u8; 32],
    pub new_root: [u8; 32],
    /// The L1 transaction that executed the epoch, when the record names it.
    pub execute_tx: Option<[u8; 32]>,
}

/// How far a sealed batch got, as reported by the [`crate::ProgressSource`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchProgress {
    pub proven: bool,
    pub aggregated: bool,
    pub finalized: bool,
}

impl BatchProgress {
    /// Each later stage implies the earlier ones.
    pub fn normalized(self) -> Self {
        let finalized = self.finalized;
        let aggregated = self.aggregated || finalized;
        Self { proven: self.proven || aggregated, aggregated, finalized }
    }

    /// Progress never goes back: the union of two reports.
    pub fn merge(self, other: Self) -> Self {
        Self {
            proven: self.proven || other.proven,
            aggregated: self.aggregated || other.aggregated,
            finalized: self.finalized || other.finalized,
        }
        .normalized()
    }

    /// The stage of a transaction in a sealed batch with this progress.
    pub fn stage(&self) -> TxStage {
        if self.finalized {
            TxStage::Finalized
        } else if self.aggregated {
            TxStage::Aggregated
        } else if self.proven {
            TxStage::Proven
        } else {
            TxStage::Sequenced
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_bytes_round_trip() {
        let d = Digest { elements: [F::ONE, F::NEG_ONE, F::ZERO, F::from_canonical_u64(7)] };
        let b = digest_to_bytes(&d);
        assert_eq!(&b[0..8], &1u64.to_le_bytes());
        assert_eq!(digest_from_bytes(&b), Some(d));
        assert_eq!(digest_from_bytes(&[0xff; 32]), None);
        assert_eq!(TxHash::from_slice(&b[..31]), Err(HashLengthError { got: 31 }));
        assert_eq!(TxHash::from_slice(&b).unwrap(), TxHash::of(&d));
    }

    #[test]
    fn progress_is_monotone_and_normalized() {
        let f = BatchProgress { finalized: true, ..Default::default() }.normalized();
        assert_eq!(f, BatchProgress { proven: true, aggregated: true, finalized: true });
        let p = BatchProgress { proven: true, ..Default::default() };
        assert_eq!(p.merge(BatchProgress::default()), p);
        assert_eq!(p.stage(), TxStage::Proven);
        assert_eq!(BatchProgress::default().stage(), TxStage::Sequenced);
    }
}
