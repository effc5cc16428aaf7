//! Calls to the rollup contract built from zkr's native types.

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::SolInterface;
use plonky2::field::types::{Field, PrimeField64};
use thiserror::Error;
use zkr_circuits::aggregate::combine;
use zkr_circuits::batch::{is_withdrawal_slot, Batch, BatchPublicInputs};
use zkr_circuits::config::{Digest, F};
use zkr_circuits::schnorr::PublicKey;
use zkr_circuits::smt::{MerkleProof, DEPTH};
use zkr_circuits::state::{Account, State};
use zkr_circuits::tx::{layout, Deposit, ForcedExit, Tx};

use crate::abi::IZkrRollup;

/// One L2 amount unit in wei (the contract's `AMOUNT_UNIT`: 1 gwei).
pub const AMOUNT_UNIT_WEI: u64 = 1_000_000_000;
/// The Goldilocks modulus.
const P: u64 = 0xFFFF_FFFF_0000_0001;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum L1Error {
    #[error("an epoch needs at least one batch")]
    EmptyEpoch,
    #[error("an epoch holds a power-of-two number of batches, got {batches}")]
    NotPowerOfTwo { batches: usize },
    #[error("batch {batch} has capacity {got}, expected {expected} like the first batch of the epoch")]
    MixedCapacity { batch: usize, expected: usize, got: usize },
    #[error("batch {batch} does not start at the root the previous batch ended at")]
    RootsDoNotChain { batch: usize },
    #[error("batch {batch}'s data chain does not start at the digest the previous batch ended at")]
    DataDoesNotChain { batch: usize },
    #[error("packed digest {digest} has a non-canonical element at position {position}")]
    NonCanonicalDigest { digest: B256, position: usize },
    #[error("Merkle proof for index {proof_index} used for account {account}")]
    ProofIndexMismatch { account: u32, proof_index: u32 },
    #[error("Merkle proof has {got} siblings, expected {expected}")]
    WrongSiblingCount { expected: usize, got: usize },
    #[error("genesis account ids must be 0, 1, … without gaps; id {id} is at position {position}")]
    GenesisIdsNotContiguous { position: usize, id: u32 },
    #[error("deposit {priority_id}: public key element {index} is not canonical")]
    NonCanonicalPubkey { priority_id: u64, index: usize },
}

/// A digest packed as the contract stores it: `e0 << 192 | e1 << 128 | e2 << 64 | e3`.
pub fn pack_digest(d: &Digest) -> B256 {
    let mut out = [0u8; 32];
    for (i, e) in d.elements.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&e.to_canonical_u64().to_be_bytes());
    }
    B256::from(out)
}

/// The inverse of [`pack_digest`]; refuses non-canonical elements.
pub fn unpack_digest(b: B256) -> Result<Digest, L1Error> {
    let mut elements = [F::ZERO; 4];
    for (i, e) in elements.iter_mut().enumerate() {
        let v = u64::from_be_bytes(b[8 * i..8 * i + 8].try_into().expect("8 bytes"));
        if v >= P {
            return Err(L1Error::NonCanonicalDigest { digest: b, position: i });
        }
        *e = F::from_canonical_u64(v);
    }
    Ok(Digest { elements })
}

/// The 24 verifier public inputs of a statement, as `uint256` words.
pub fn public_input_words(pis: &BatchPublicInputs) -> [U256; 24] {
    let f = pis.to_fields();
    std::array::from_fn(|i| U256::from(f[i].to_canonical_u64()))
}

/// The statement of an epoch: the batches' statements folded by the aggregation tree (`aggregate::combine`,
/// level by level, left to right). Checks what the aggregation circuit checks: consecutive batches chain, in roots and
/// in data.
pub fn epoch_public_inputs(batches: &[BatchPublicInputs]) -> Result<BatchPublicInputs, L1Error> {
    if batches.is_empty() {
        return Err(L1Error::EmptyEpoch);
    }
    if !batches.len().is_power_of_two() {
        return Err(L1Error::NotPowerOfTwo { batches: batches.len() });
    }
    for (i, pair) in batches.windows(2).enumerate() {
        if pair[0].new_root != pair[1].old_root {
            return Err(L1Error::RootsDoNotChain { batch: i + 1 });
        }
        if pair[0].data_out != pair[1].data_in {
            return Err(L1Error::DataDoesNotChain { batch: i + 1 });
        }
    }
    let mut level = batches.to_vec();
    while level.len() > 1 {
        level = level.chunks(2).map(|p| combine(&p[0], &p[1])).collect();
    }
    Ok(level[0])
}

/// The L1 address of a withdraw or forced-exit slot (tx.rs `l1_address_limbs`, inverted).
fn slot_l1_address(fields: &[F; 16]) -> Address {
    let mut a = [0u8; 20];
    for i in 0..5 {
        let limb = fields[layout::L1_ADDRESS + i].to_canonical_u64() as u32;
        a[4 * i..4 * i + 4].copy_from_slice(&limb.to_le_bytes());
    }
    Address::from(a)
}

/// The withdrawals of some batches (withdraw and forced-exit slots) in pubdata order, as `executeEpoch` takes them.
pub fn withdrawals(batches: &[Batch]) -> Vec<IZkrRollup::Withdrawal> {
    batches
        .iter()
        .flat_map(|b| &b.slots)
        .filter(|s| is_withdrawal_slot(&s.fields))
        .map(|s| IZkrRollup::Withdrawal {
            to: slot_l1_address(&s.fields),
            amount: s.fields[layout::AMOUNT].to_canonical_u64(),
        })
        .collect()
}

/// Everything the settlement side sends for one epoch.
#[derive(Clone, Debug)]
pub struct EpochData {
    pub epoch: u64,
    /// The epoch statement: what the wrap proof's public inputs carry.
    pub statement: BatchPublicInputs,
    /// `Batch::pubdata_bytes` of each batch: its compact records.
    pub pubdata: Vec<Vec<u8>>,
    pub withdrawals: Vec<IZkrRollup::Withdrawal>,
}

impl EpochData {
    /// Epoch `epoch` (numbered from 1) made of `batches`, in order.
    pub fn from_batches(epoch: u64, batches: &[Batch]) -> Result<Self, L1Error> {
        let capacity = batches.first().ok_or(L1Error::EmptyEpoch)?.capacity();
        if let Some((batch, b)) = batches.iter().enumerate().find(|(_, b)| b.capacity() != capacity) {
            return Err(L1Error::MixedCapacity { batch, expected: capacity, got: b.capacity() });
        }
        let statements: Vec<_> = batches.iter().map(Batch::public_inputs).collect();
        Ok(EpochData {
            epoch,
            statement: epoch_public_inputs(&statements)?,
            pubdata: batches.iter().map(Batch::pubdata_bytes).collect(),
            withdrawals: withdrawals(batches),
        })
    }

    pub fn commit_call(&self) -> IZkrRollup::commitEpochCall {
        IZkrRollup::commitEpochCall {
            c: IZkrRollup::EpochCommit {
                epoch: self.epoch,
                oldRoot: pack_digest(&self.statement.old_root),
                newRoot: pack_digest(&self.statement.new_root),
                pubdata: self.pubdata.iter().map(|p| Bytes::from(p.clone())).collect(),
            },
        }
    }

    /// `proof`: the verifier's calldata encoding of the epoch's wrap proof (`zkr_generator::encode_proof`).
    pub fn prove_call(&self, proof: Vec<u8>) -> IZkrRollup::proveEpochCall {
        IZkrRollup::proveEpochCall { epoch: self.epoch, proof: Bytes::from(proof) }
    }

    pub fn execute_call(&self) -> IZkrRollup::executeEpochCall {
        IZkrRollup::executeEpochCall { epoch: self.epoch, withdrawals: self.withdrawals.clone() }
    }

    /// The public inputs `proveEpoch` passes to the verifier for this epoch.
    pub fn public_input_words(&self) -> [U256; 24] {
        public_input_words(&self.statement)
    }
}

/// A public key as the contract takes it.
pub fn pubkey_words(pk: &PublicKey) -> [u64; 5] {
    pk.to_fields().map(|f| f.to_canonical_u64())
}

/// The wei value of an L2 amount.
pub fn amount_wei(amount: u64) -> U256 {
    U256::from(amount) * U256::from(AMOUNT_UNIT_WEI)
}

/// Opens a new account under `pubkey` (the contract assigns its id) with a first deposit (send
/// [`amount_wei`]`(amount)` with it); the caller becomes its exit owner.
pub fn open_account_call(pubkey: &PublicKey) -> IZkrRollup::openAccountCall {
    IZkrRollup::openAccountCall { pubkey: pubkey_words(pubkey) }
}

/// A deposit of `amount` L2 units (send [`amount_wei`]`(amount)` with it) to the existing `account_id` under its
/// `pubkey`.
pub fn deposit_call(account_id: u32, pubkey: &PublicKey) -> IZkrRollup::depositCall {
    IZkrRollup::depositCall { accountId: account_id, pubkey: pubkey_words(pubkey) }
}

/// The L2 deposit transaction for a `DepositQueued` event (what the sequencer applies, in priority order).
///
/// The key is taken as the five elements the depositor named, not validated as a curve point: a deposit must never
/// be unprocessable on L2. One whose key is unusable credits nothing and is refunded on L1 (the circuit proves which).
pub fn deposit_tx(ev: &IZkrRollup::DepositQueued) -> Result<Tx, L1Error> {
    let mut f = [F::ZERO; 5];
    for (i, (dst, &w)) in f.iter_mut().zip(ev.pubkey.iter()).enumerate() {
        if w >= P {
            return Err(L1Error::NonCanonicalPubkey { priority_id: ev.priorityId, index: i });
        }
        *dst = F::from_canonical_u64(w);
    }
    Ok(Tx::Deposit(Deposit {
        priority_id: ev.priorityId,
        to: ev.accountId,
        pubkey: PublicKey::from_fields(f),
        amount: ev.amount,
    }))
}

/// The L2 forced exit for a `ForcedExitQueued` event (applied in priority order with the deposits).
pub fn forced_exit_tx(ev: &IZkrRollup::ForcedExitQueued) -> Tx {
    Tx::ForcedExit(ForcedExit { priority_id: ev.priorityId, account: ev.accountId, l1_address: ev.owner.into_array() })
}

/// A forced-exit request for `account_id` (sent by its exit owner).
pub fn forced_exit_call(account_id: u32) -> IZkrRollup::requestForcedExitCall {
    IZkrRollup::requestForcedExitCall { accountId: account_id }
}

/// An exit of `account` (at `account_id`) with its Merkle proof against the last executed root.
pub fn exit_call(account_id: u32, account: &Account, proof: &MerkleProof) -> Result<IZkrRollup::exitCall, L1Error> {
    if proof.index != account_id {
        return Err(L1Error::ProofIndexMismatch { account: account_id, proof_index: proof.index });
    }
    if proof.siblings.len() != DEPTH {
        return Err(L1Error::WrongSiblingCount { expected: DEPTH, got: proof.siblings.len() });
    }
    Ok(IZkrRollup::exitCall {
        accountId: account_id,
        pubkey: pubkey_words(&account.pubkey),
        balance: account.balance,
        nonce: account.nonce,
        siblings: std::array::from_fn(|h| pack_digest(&proof.siblings[h])),
    })
}

/// Constructor list of a genesis state's accounts (ids must be 0, 1, … like `State::genesis` makes them), each
/// with the L1 address its exit pays.
pub fn genesis_accounts(
    state: &State,
    owner: impl Fn(u32) -> Address,
) -> Result<Vec<IZkrRollup::GenesisAccount>, L1Error> {
    state
        .accounts()
        .enumerate()
        .map(|(position, (id, acct))| {
            if id as usize != position {
                return Err(L1Error::GenesisIdsNotContiguous { position, id });
            }
            Ok(IZkrRollup::GenesisAccount {
                pubkey: pubkey_words(&acct.pubkey),
                balance: acct.balance,
                owner: owner(id),
            })
        })
        .collect()
}

/// The wei the rollup's constructor must receive to back the genesis accounts' balances.
pub fn genesis_funding_wei(accounts: &[IZkrRollup::GenesisAccount]) -> U256 {
    accounts.iter().map(|a| amount_wei(a.balance)).fold(U256::ZERO, |acc, x| acc + x)
}

/// The contract's custom error in some revert data, if it is one.
pub fn decode_revert(output: &[u8]) -> Option<IZkrRollup::IZkrRollupErrors> {
    IZkrRollup::IZkrRollupErrors::abi_decode(output).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkr_circuits::config::hash;

    fn digest(seed: u64) -> Digest {
        hash(&[F::from_canonical_u64(seed)])
    }

    #[test]
    fn digest_packing_round_trips_and_refuses_non_canonical() {
        let d = digest(3);
        let packed = pack_digest(&d);
        assert_eq!(unpack_digest(packed).unwrap(), d);
        // e0 sits in the most significant bytes
        assert_eq!(u64::from_be_bytes(packed[..8].try_into().unwrap()), d.elements[0].to_canonical_u64());
        let mut bad = packed;
        bad[16..24].copy_from_slice(&P.to_be_bytes());
        assert_eq!(unpack_digest(bad), Err(L1Error::NonCanonicalDigest { digest: bad, position: 2 }));
    }

    fn statement(old: u64, new: u64) -> BatchPublicInputs {
        let data = |x: u64| zkr_circuits::keccak::native::keccak256(&x.to_be_bytes());
        BatchPublicInputs { old_root: digest(old), new_root: digest(new), data_in: data(old), data_out: data(new) }
    }

    #[test]
    fn epoch_statement_folds_a_binary_tree() {
        let s: Vec<_> = (0..4).map(|i| statement(i, i + 1)).collect();
        let e = epoch_public_inputs(&s).unwrap();
        let expected = combine(&combine(&s[0], &s[1]), &combine(&s[2], &s[3]));
        assert_eq!(e, expected);
        assert_eq!(e.old_root, digest(0));
        assert_eq!(e.new_root, digest(4));
        assert_eq!((e.data_in, e.data_out), (s[0].data_in, s[3].data_out));
        assert_eq!(epoch_public_inputs(&s[..1]).unwrap(), s[0]);
        assert_eq!(epoch_public_inputs(&[]), Err(L1Error::EmptyEpoch));
        assert_eq!(epoch_public_inputs(&s[..3]), Err(L1Error::NotPowerOfTwo { batches: 3 }));
        let mut broken = s.clone();
        broken[2].old_root = digest(99);
        assert_eq!(epoch_public_inputs(&broken), Err(L1Error::RootsDoNotChain { batch: 2 }));
        let mut broken = s.clone();
        broken[3].data_in = [7; 32];
        assert_eq!(epoch_public_inputs(&broken), Err(L1Error::DataDoesNotChain { batch: 3 }));
    }

    #[test]
    fn public_input_words_follow_the_circuit_order() {
        let s = statement(1, 2);
        let w = public_input_words(&s);
        assert_eq!(w[0], U256::from(s.old_root.elements[0].to_canonical_u64()));
        assert_eq!(w[7], U256::from(s.new_root.elements[3].to_canonical_u64()));
        // the data digests as 32-bit big-endian limbs, most significant first
        let limb = |d: &[u8; 32], k: usize| U256::from(u32::from_be_bytes(d[4 * k..4 * k + 4].try_into().unwrap()));
        assert_eq!(w[8], limb(&s.data_in, 0));
        assert_eq!(w[23], limb(&s.data_out, 7));
    }

    #[test]
    fn exit_call_checks_the_proof_shape() {
        let keys = zkr_circuits::demo::keys(1, 2);
        let state = zkr_circuits::demo::genesis(&keys);
        let acct = *state.account(1).unwrap();
        let proof = state.proof(1);
        let call = exit_call(1, &acct, &proof).unwrap();
        assert_eq!(call.siblings[0], pack_digest(&proof.siblings[0]));
        assert_eq!(call.balance, acct.balance);
        assert_eq!(exit_call(0, &acct, &proof), Err(L1Error::ProofIndexMismatch { account: 0, proof_index: 1 }));
        let mut short = proof.clone();
        short.siblings.pop();
        assert_eq!(exit_call(1, &acct, &short), Err(L1Error::WrongSiblingCount { expected: DEPTH, got: DEPTH - 1 }));
    }

    #[test]
    fn withdraw_address_round_trips_through_the_slot_layout() {
        let addr: [u8; 20] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(1));
        let w = zkr_circuits::tx::Withdraw { from: 1, l1_address: addr, amount: 5, fee: 0, nonce: 0 };
        assert_eq!(slot_l1_address(&Tx::Withdraw(w).to_fields()), Address::from(addr));
    }
}
