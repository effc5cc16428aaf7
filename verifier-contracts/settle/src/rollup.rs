//! [`RollupCalls`] for zkr's own rollup contract (`ZkrRollup.sol`), through zkr-rollup's ABI bindings, and
//! [`RollupProgress`], its lifecycle counters.

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::{SolCall, SolInterface};
use zkr_rollup::IZkrRollup;

use crate::chain::L1;
use crate::error::L1Error;
use crate::settler::{CallBuildError, EpochSubmission, RollupCalls, Stage};

/// The Goldilocks modulus: every public input word must be below it.
const P: u64 = 0xFFFF_FFFF_0000_0001;

/// Builds `commitEpoch` / `proveEpoch` / `executeEpoch` calldata for `ZkrRollup` from an [`EpochSubmission`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ZkrRollupCalls;

/// Public-input root `k` (0 old root, 1 new root), packed as the contract stores digests (`e0 << 192 | e1 << 128 | e2 << 64 | e3`).
fn packed(pis: &[U256; 24], k: usize) -> Result<B256, CallBuildError> {
    let mut out = [0u8; 32];
    for i in 0..4 {
        let w = pis[4 * k + i];
        if w >= U256::from(P) {
            return Err(format!("public input {} is {w}, not a field element (below {P})", 4 * k + i).into());
        }
        out[8 * i..8 * i + 8].copy_from_slice(&w.to::<u64>().to_be_bytes());
    }
    Ok(B256::from(out))
}

impl RollupCalls for ZkrRollupCalls {
    fn commit(&self, e: &EpochSubmission) -> Result<Vec<u8>, CallBuildError> {
        let c = IZkrRollup::EpochCommit {
            epoch: e.epoch,
            oldRoot: packed(&e.public_inputs, 0)?,
            newRoot: packed(&e.public_inputs, 1)?,
            pubdata: e.pubdata.iter().cloned().map(Bytes::from).collect(),
        };
        // the data chain is recomputed on-chain from the posted bytes; its limbs must be 32-bit words
        if let Some((i, w)) = e.public_inputs[8..].iter().enumerate().find(|(_, w)| **w > U256::from(u32::MAX)) {
            return Err(format!("public input {} is {w}, not a 32-bit data-digest limb", 8 + i).into());
        }
        Ok(IZkrRollup::commitEpochCall { c }.abi_encode())
    }

    fn prove(&self, e: &EpochSubmission) -> Result<Vec<u8>, CallBuildError> {
        Ok(IZkrRollup::proveEpochCall { epoch: e.epoch, proof: Bytes::from(e.proof.clone()) }.abi_encode())
    }

    fn execute(&self, e: &EpochSubmission) -> Result<Vec<u8>, CallBuildError> {
        let withdrawals =
            e.withdrawals.iter().map(|&(to, amount)| IZkrRollup::Withdrawal { to, amount }).collect::<Vec<_>>();
        Ok(IZkrRollup::executeEpochCall { epoch: e.epoch, withdrawals }.abi_encode())
    }

    fn describe_revert(&self, data: &[u8]) -> Option<String> {
        IZkrRollup::IZkrRollupErrors::abi_decode(data).ok().map(|e| format!("{e:?}"))
    }
}

/// A view call of the rollup, decoded.
pub async fn view<C: SolCall>(l1: &dyn L1, rollup: Address, call: C) -> Result<C::Return, L1Error> {
    let out = l1.call(rollup, call.abi_encode()).await?;
    C::abi_decode_returns(&out).map_err(|e| L1Error::Rpc {
        method: "eth_call",
        reason: format!("{} at {rollup} returned {} bytes that do not decode: {e}", C::SIGNATURE, out.len()),
    })
}

/// How far a `ZkrRollup` has come: its lifecycle counters and roots, read with view calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollupProgress {
    pub committed: u64,
    pub proven: u64,
    pub executed: u64,
    /// The state root after the last executed epoch (the genesis root before any).
    pub executed_root: B256,
    pub batches_per_epoch: u64,
    pub batch_capacity: u64,
}

impl RollupProgress {
    /// Reads the rollup's counters from `l1`.
    pub async fn read(l1: &dyn L1, rollup: Address) -> Result<Self, L1Error> {
        use IZkrRollup as R;
        Ok(RollupProgress {
            committed: view(l1, rollup, R::totalCommittedCall {}).await?,
            proven: view(l1, rollup, R::totalProvenCall {}).await?,
            executed: view(l1, rollup, R::totalExecutedCall {}).await?,
            executed_root: view(l1, rollup, R::executedRootCall {}).await?,
            batches_per_epoch: view(l1, rollup, R::batchesPerEpochCall {}).await?,
            batch_capacity: view(l1, rollup, R::batchCapacityCall {}).await?,
        })
    }

    /// The step rollup epoch `epoch` (from 1) needs next; `None` once it is executed.
    pub fn next_stage(&self, epoch: u64) -> Option<Stage> {
        if epoch <= self.executed {
            None
        } else if epoch <= self.proven {
            Some(Stage::Execute)
        } else if epoch <= self.committed {
            Some(Stage::Prove)
        } else {
            Some(Stage::Commit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stage_follows_the_counters() {
        let p = RollupProgress {
            committed: 4,
            proven: 3,
            executed: 2,
            executed_root: B256::ZERO,
            batches_per_epoch: 2,
            batch_capacity: 4,
        };
        assert_eq!(p.next_stage(1), None);
        assert_eq!(p.next_stage(2), None);
        assert_eq!(p.next_stage(3), Some(Stage::Execute));
        assert_eq!(p.next_stage(4), Some(Stage::Prove));
        assert_eq!(p.next_stage(5), Some(Stage::Commit));
    }
}
