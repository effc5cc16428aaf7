//! The proof system parameters and hash, fixed once for the whole statement.
//!
//! Everything else in zkr names these aliases instead of plonky2 types so that a later
//! move to another proof system stays contained.

use plonky2::hash::hash_types::HashOut;
use plonky2::hash::hashing::hash_n_to_hash_no_pad;
use plonky2::hash::poseidon::{PoseidonHash, PoseidonPermutation};
use plonky2::plonk::config::Hasher;

pub use plonky2::field::goldilocks_field::GoldilocksField as F;
pub use plonky2::plonk::config::PoseidonGoldilocksConfig as C;
/// Degree of the extension field used by plonky2's FRI (fixed by the config).
pub const D: usize = 2;

/// A 4-element Poseidon digest.
pub type Digest = HashOut<F>;

/// Poseidon sponge (plonky2's, overwrite mode, no padding) over field elements.
pub fn hash(inputs: &[F]) -> Digest {
    hash_n_to_hash_no_pad::<F, PoseidonPermutation<F>>(inputs)
}

/// Poseidon 2-to-1 compression for Merkle nodes (one permutation).
pub fn hash_pair(left: Digest, right: Digest) -> Digest {
    PoseidonHash::two_to_one(left, right)
}

/// The all-zero digest: the value of an empty leaf.
pub const ZERO_DIGEST: Digest = HashOut { elements: [plonky2::field::goldilocks_field::GoldilocksField(0); 4] };
