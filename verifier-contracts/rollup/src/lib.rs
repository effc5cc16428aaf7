//! zkr's rollup contract on L1: the Solidity sources, their ABI bindings and the calldata the settlement side
//! sends.
//!
//! Owns the hand-written Solidity in this crate's `contracts/` folder and everything derived from it. Must not know
//! how the verifier it calls is generated (it sees only `IZkrVerifier`), nor where or how the contracts are
//! deployed and settled on (that is `zkr-settle`).
//!
//! - [`sources`]: the hand-written Solidity (`ZkrRollup.sol`, `IZkrRollup.sol`, `IZkrVerifier.sol`,
//!   `ZkrPoseidon.sol`) embedded with `include_str!`, together with the generated `PoseidonGoldilocks` library, and
//!   [`sources::compile_rollup`]. A deployment is two contracts: `ZkrPoseidon` (the generated library behind an
//!   external interface; linked in, it would push the rollup past EIP-170's code size limit) and `ZkrRollup`.
//! - [`abi`]: `alloy_sol_types::sol!` bindings generated from `IZkrRollup.sol` itself, so the Rust side and the
//!   contract cannot drift apart.
//! - [`calldata`]: commit / prove / execute / deposit / exit calls built from zkr's native types (`Batch`,
//!   `BatchPublicInputs`, `aggregate::combine`, `smt::MerkleProof`).
//! - [`rebuild`]: the L2 state rebuilt from L1 data alone (genesis accounts and commit calldata), for exits.
//!
//! Lifecycle on L1: an *epoch* is `batches_per_epoch` (a power of two) L2 batches proven by one wrap proof.
//! `commitEpoch` posts the pubdata and recomputes its commitment on-chain; `proveEpoch` verifies the wrap proof
//! against `[old root, new root, pubdata, deposits, withdrawals]`; `executeEpoch` finalises the root, pops the
//! epoch's deposits off the priority queue and credits withdrawals as pending balances (pulled by their owners).

pub mod abi;
pub mod calldata;
pub mod rebuild;
pub mod sources;
pub mod units;

pub use abi::IZkrRollup;
pub use calldata::{
    decode_revert, epoch_public_inputs, pack_digest, public_input_words, unpack_digest, EpochData, L1Error,
};
pub use rebuild::{RebuildError, Rebuilder};
pub use sources::{compile_rollup, deploy_code, rollup_sources, RollupArtifacts};
