//! zkr's L1 verifier: the calldata encoding of a wrap proof and the generator of the Solidity
//! contract `ZkrVerifier` that checks it (see `generator` for what the contract verifies).
//!
//! Owns the wrap circuit → Solidity translation and the proof encoding; its output is source text. Must not know
//! the rollup contract that calls the verifier, how the text is compiled or deployed, nor where generated files
//! are committed (`zkr-settle` keeps the devnet's).

pub mod encoding;
pub mod generator;

use zkr_circuits::aggregate::AggregationTree;
use zkr_circuits::wrap::{WrapCircuit, WrapError, WrapParams};

pub use encoding::{decode_proof, encode_proof, EncodingError, ProofLayout};
pub use generator::{
    generate_verifier, part_contract_name, pin_parts, verifier_constructor_args, GenError, NUM_PUBLIC_INPUTS,
    PROOF_CALLDATA_OFFSET, UNPINNED_PARTS_CODEHASH,
};

/// Batch capacity of the devnet's circuits.
pub const DEVNET_CAPACITY: usize = 4;
/// Epoch height of the devnet (an epoch folds `2^height` batches).
pub const DEVNET_EPOCH_HEIGHT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Wrap(#[from] WrapError),
    #[error(transparent)]
    Gen(#[from] GenError),
}

/// Builds the aggregation tree and the wrap circuit for (capacity, epoch height, wrap parameters).
pub fn wrap_circuit(
    capacity: usize,
    epoch_height: u32,
    wrap: WrapParams,
) -> Result<(AggregationTree, WrapCircuit), BuildError> {
    let _span = tracing::info_span!("wrap_circuit", capacity, epoch_height, %wrap).entered();
    let tree = AggregationTree::build(capacity, epoch_height);
    let wrap = WrapCircuit::for_tree_with(&tree, wrap)?;
    Ok((tree, wrap))
}

/// The Solidity verifier for the wrap circuit of (capacity, epoch height, wrap parameters).
pub fn verifier_for(capacity: usize, epoch_height: u32, wrap: WrapParams) -> Result<String, BuildError> {
    let (_, wrap) = wrap_circuit(capacity, epoch_height, wrap)?;
    Ok(generate_verifier(&wrap.data.common, &wrap.data.verifier_only)?)
}

/// The devnet verifier (capacity [`DEVNET_CAPACITY`], height [`DEVNET_EPOCH_HEIGHT`]).
pub fn devnet_verifier() -> Result<String, BuildError> {
    verifier_for(DEVNET_CAPACITY, DEVNET_EPOCH_HEIGHT, WrapParams::DEFAULT)
}
