//! Fiat–Shamir transcript that mirrors plonky2's `Challenger` bit for bit.
//!
//! plonky2 keeps the sponge state of its `Challenger` crate-private, and the proof-of-work
//! search needs it (the witness is absorbed together with whatever is still buffered), so the
//! engine keeps its own duplex sponge with the same "overwrite mode" semantics. A unit test
//! checks that both produce the same challenges for the same observations.

use plonky2::field::extension::{Extendable, FieldExtension};
use plonky2::hash::hash_types::RichField;
use plonky2::hash::hashing::PlonkyPermutation;
use plonky2::hash::merkle_tree::MerkleCap;
use plonky2::plonk::config::{GenericHashOut, Hasher};
use rayon::prelude::*;

/// Duplex sponge transcript (same absorb/squeeze schedule as plonky2's `Challenger`).
#[derive(Clone, Debug)]
pub struct Transcript<F: RichField, H: Hasher<F>> {
    state: H::Permutation,
    inputs: Vec<F>,
    outputs: Vec<F>,
}

impl<F: RichField, H: Hasher<F>> Default for Transcript<F, H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: RichField, H: Hasher<F>> Transcript<F, H> {
    /// An empty transcript (all-zero sponge state).
    pub fn new() -> Self {
        Self {
            state: H::Permutation::new(core::iter::repeat(F::ZERO)),
            inputs: Vec::with_capacity(H::Permutation::RATE),
            outputs: Vec::with_capacity(H::Permutation::RATE),
        }
    }

    /// Absorbs one field element.
    pub fn observe_element(&mut self, x: F) {
        // Outputs squeezed before this input no longer reflect the transcript.
        self.outputs.clear();
        self.inputs.push(x);
        if self.inputs.len() == H::Permutation::RATE {
            self.duplex();
        }
    }

    /// Absorbs several field elements in order.
    pub fn observe_elements(&mut self, xs: &[F]) {
        for &x in xs {
            self.observe_element(x);
        }
    }

    /// Absorbs extension elements as their base-field coordinates.
    pub fn observe_extension_elements<const D: usize>(&mut self, xs: &[F::Extension])
    where
        F: Extendable<D>,
    {
        for x in xs {
            self.observe_elements(&x.to_basefield_array());
        }
    }

    /// Absorbs a digest of any hasher (as its field elements).
    pub fn observe_hash<OH: Hasher<F>>(&mut self, h: OH::Hash) {
        self.observe_elements(&h.to_vec());
    }

    /// Absorbs every digest of a Merkle cap.
    pub fn observe_cap<OH: Hasher<F>>(&mut self, cap: &MerkleCap<F, OH>) {
        for &h in &cap.0 {
            self.observe_hash::<OH>(h);
        }
    }

    /// Squeezes one challenge.
    pub fn challenge(&mut self) -> F {
        if !self.inputs.is_empty() || self.outputs.is_empty() {
            self.duplex();
        }
        // plonky2 pops from the back of the squeezed rate.
        self.outputs.pop().unwrap_or(F::ZERO)
    }

    /// Squeezes `n` challenges.
    pub fn challenges(&mut self, n: usize) -> Vec<F> {
        (0..n).map(|_| self.challenge()).collect()
    }

    /// Squeezes one extension-field challenge (D base challenges).
    pub fn extension_challenge<const D: usize>(&mut self) -> F::Extension
    where
        F: Extendable<D>,
    {
        let mut arr = [F::ZERO; D];
        for a in arr.iter_mut() {
            *a = self.challenge();
        }
        F::Extension::from_basefield_array(arr)
    }

    fn duplex(&mut self) {
        self.state.set_from_iter(self.inputs.drain(..), 0);
        self.state.permute();
        self.outputs.clear();
        self.outputs.extend_from_slice(self.state.squeeze());
    }

    /// Grinds a proof-of-work witness in parallel: a value `w` such that absorbing `w` and
    /// squeezing gives a challenge with at least `pow_bits` leading zeros (counted in 64 bits,
    /// plus the bits above the field order, as plonky2 does).
    /// The witness is then absorbed and the response squeezed, exactly as the verifier does.
    pub fn grind(&mut self, pow_bits: u32) -> F {
        let min_leading_zeros = pow_bits + (64 - F::order().bits()) as u32;
        let mut base = self.state;
        let pos = self.inputs.len();
        base.set_from_slice(&self.inputs, 0);
        let check = |candidate: u64| {
            let mut s = base;
            s.set_elt(F::from_canonical_u64(candidate), pos);
            s.permute();
            let last = s.squeeze().last().copied().unwrap_or(F::ZERO);
            last.to_canonical_u64().leading_zeros() >= min_leading_zeros
        };
        // Any hit will do (the verifier only checks the leading zeros), so every core searches
        // and the first to succeed stops the others; chunks bound the range without a cap.
        const CHUNK: u64 = 1 << 22;
        let mut start = 0u64;
        let witness = loop {
            let found = (start..start + CHUNK).into_par_iter().find_any(|&c| check(c));
            if let Some(w) = found {
                break w;
            }
            start += CHUNK;
        };
        let w = F::from_canonical_u64(witness);
        self.observe_element(w);
        let _response = self.challenge();
        w
    }
}

#[cfg(test)]
mod tests {
    use plonky2::field::goldilocks_field::GoldilocksField as F;
    use plonky2::field::types::{Field, PrimeField64};
    use plonky2::hash::hash_types::HashOut;
    use plonky2::hash::keccak::KeccakHash;
    use plonky2::hash::poseidon::PoseidonHash;
    use plonky2::iop::challenger::Challenger;

    use super::*;

    fn same_as_challenger<H: Hasher<F>>() {
        let mut ours = Transcript::<F, H>::new();
        let mut theirs = Challenger::<F, H>::new();
        for round in 0..20usize {
            let xs: Vec<F> = (0..round * 3 + 1).map(|i| F::from_canonical_usize(i * 7 + round)).collect();
            ours.observe_elements(&xs);
            theirs.observe_elements(&xs);
            let h = HashOut::<F> { elements: [xs[0]; 4] };
            ours.observe_hash::<PoseidonHash>(h);
            theirs.observe_hash::<PoseidonHash>(h);
            assert_eq!(ours.challenges(round % 5), theirs.get_n_challenges(round % 5));
            assert_eq!(ours.extension_challenge::<2>(), theirs.get_extension_challenge::<2>());
        }
    }

    #[test]
    fn mirrors_plonky2_challenger_poseidon() {
        same_as_challenger::<PoseidonHash>();
    }

    #[test]
    fn mirrors_plonky2_challenger_keccak() {
        same_as_challenger::<KeccakHash<25>>();
    }

    #[test]
    fn grind_meets_the_target() {
        let mut t = Transcript::<F, PoseidonHash>::new();
        t.observe_elements(&[F::ONE, F::TWO]);
        let mut replay = t.clone();
        let w = t.grind(8);
        replay.observe_element(w);
        let resp = replay.challenge();
        assert!(resp.to_canonical_u64().leading_zeros() >= 8);
        assert_eq!(t.challenge(), replay.challenge());
    }
}
