//! The wrap circuit: re-proves an epoch's root proof in an EVM-friendly configuration.
//!
//! The root proof of the aggregation tree (Poseidon Merkle trees, rate 1/8, 28 FRI queries) is
//! verified inside a circuit built with [`KeccakGoldilocksConfig`]: its Merkle trees and
//! Fiat–Shamir transcript use Keccak-256 (a cheap EVM opcode), while its public-inputs hash stays
//! Poseidon. The wrap circuit exposes exactly the root proof's 24 public inputs, in the same order:
//! old root, new root (4 elements each), data in, data out (eight 32-bit limbs each).
//!
//! FRI parameters ([`WrapParams::DEFAULT`]): rate_bits 7 (blowup 128), 12 query rounds,
//! 20 proof-of-work bits, Merkle cap height 4, arity-16 folding down to a final polynomial of
//! at most 2^5 coefficients. Conjectured security: rate_bits × queries + pow_bits
//! = 7 × 12 + 20 = 104 bits. A higher rate with fewer queries makes the proof (hence the L1
//! calldata and the number of Merkle paths the verifier contract checks) smaller, at the cost of
//! a 128× LDE on the prover side.
//!
//! The root circuit's verifier data is a constant of the wrap circuit, so a proof of any other
//! circuit cannot be wrapped.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use plonky2::fri::reduction_strategies::FriReductionStrategy;
use plonky2::fri::FriConfig;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData, VerifierCircuitData};
use plonky2::plonk::config::KeccakGoldilocksConfig;
use plonky2::plonk::proof::{ProofWithPublicInputs, ProofWithPublicInputsTarget};
use thiserror::Error;

use crate::aggregate::AggregationTree;
use crate::batch::{BatchPublicInputs, NUM_PUBLIC_INPUTS};
use crate::config::{C, D, F};

/// The wrap proof's configuration: Keccak Merkle trees and transcript, Poseidon public-inputs hash.
pub type WrapConfig = KeccakGoldilocksConfig;
/// A wrap proof, what the L1 verifier checks.
pub type WrapProof = ProofWithPublicInputs<F, WrapConfig, D>;
/// A proof of the tree's root circuit (the epoch proof).
pub type RootProof = ProofWithPublicInputs<F, C, D>;

/// FRI parameters of the wrap proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrapParams {
    pub rate_bits: usize,
    pub num_query_rounds: usize,
    pub proof_of_work_bits: u32,
    pub cap_height: usize,
}

impl WrapParams {
    /// rate 1/128, 12 queries, 20 PoW bits, cap height 4: 104 bits of conjectured security.
    pub const DEFAULT: WrapParams =
        WrapParams { rate_bits: 7, num_query_rounds: 12, proof_of_work_bits: 20, cap_height: 4 };

    /// Conjectured security in bits: `rate_bits × num_query_rounds + proof_of_work_bits`.
    pub fn security_bits(&self) -> usize {
        self.rate_bits * self.num_query_rounds + self.proof_of_work_bits as usize
    }

    /// plonky2's standard recursion config with these FRI parameters.
    pub fn circuit_config(&self) -> CircuitConfig {
        CircuitConfig {
            fri_config: FriConfig {
                rate_bits: self.rate_bits,
                cap_height: self.cap_height,
                proof_of_work_bits: self.proof_of_work_bits,
                reduction_strategy: FriReductionStrategy::ConstantArityBits(4, 5),
                num_query_rounds: self.num_query_rounds,
            },
            ..CircuitConfig::standard_recursion_config()
        }
    }
}

impl Default for WrapParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Least conjectured security the wrap proof may have.
pub const MIN_SECURITY_BITS: usize = 100;

#[derive(Debug, Error)]
pub enum WrapError {
    #[error("the root circuit has {got} public inputs, the zkr layout has {expected}")]
    PublicInputCount { expected: usize, got: usize },
    #[error("FRI parameters give {got} bits of conjectured security, at least {expected} are required")]
    Security { expected: usize, got: usize },
    #[error("the root proof is not a valid proof of the root circuit: {reason}")]
    InvalidRoot { reason: String },
    #[error("wrap proving failed: {reason}")]
    Prove { reason: String },
    #[error("the wrap proof does not verify: {reason}")]
    Verify { reason: String },
}

/// Runs `f`, turning a panic inside plonky2 into an error message.
fn no_panic<T, E: std::fmt::Display>(f: impl FnOnce() -> Result<T, E>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(p) => Err(p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "plonky2 panicked".into())),
    }
}

/// The wrap circuit over one fixed root circuit.
pub struct WrapCircuit {
    pub params: WrapParams,
    pub data: CircuitData<F, WrapConfig, D>,
    /// The wrapped (root) circuit.
    pub root: VerifierCircuitData<F, C, D>,
    root_proof: ProofWithPublicInputsTarget<D>,
}

impl std::fmt::Debug for WrapCircuit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrapCircuit")
            .field("params", &self.params)
            .field("degree_bits", &self.data.common.degree_bits())
            .field("root_degree_bits", &self.root.common.degree_bits())
            .finish()
    }
}

impl WrapCircuit {
    /// The wrap circuit over `root` (the circuit whose proofs are wrapped) with [`WrapParams::DEFAULT`].
    pub fn build(root: &VerifierCircuitData<F, C, D>) -> Result<Self, WrapError> {
        Self::build_with(root, WrapParams::DEFAULT)
    }

    /// The wrap circuit over the root of an aggregation tree (the batch circuit if the tree has no levels).
    pub fn for_tree(tree: &AggregationTree) -> Result<Self, WrapError> {
        let root = match tree.levels.last() {
            Some(level) => level.data.verifier_data(),
            None => tree.batch.data.verifier_data(),
        };
        Self::build(&root)
    }

    /// As [`Self::build`] with explicit FRI parameters (at least [`MIN_SECURITY_BITS`]).
    pub fn build_with(root: &VerifierCircuitData<F, C, D>, params: WrapParams) -> Result<Self, WrapError> {
        if root.common.num_public_inputs != NUM_PUBLIC_INPUTS {
            return Err(WrapError::PublicInputCount {
                expected: NUM_PUBLIC_INPUTS,
                got: root.common.num_public_inputs,
            });
        }
        if params.security_bits() < MIN_SECURITY_BITS {
            return Err(WrapError::Security { expected: MIN_SECURITY_BITS, got: params.security_bits() });
        }
        let _span = tracing::info_span!("wrap_build").entered();
        let mut b = CircuitBuilder::<F, D>::new(params.circuit_config());
        let vd = b.constant_verifier_data::<C>(&root.verifier_only);
        let root_proof = b.add_virtual_proof_with_pis(&root.common);
        b.verify_proof::<C>(&root_proof, &vd, &root.common);
        b.register_public_inputs(&root_proof.public_inputs);
        let data = b.build::<WrapConfig>();
        tracing::debug!(degree_bits = data.common.degree_bits(), "wrap circuit built");
        Ok(Self { params, data, root: root.clone(), root_proof })
    }

    /// Wraps a root proof, after checking it natively against the root circuit.
    pub fn prove(&self, root_proof: &RootProof) -> Result<WrapProof, WrapError> {
        if root_proof.public_inputs.len() != NUM_PUBLIC_INPUTS {
            return Err(WrapError::PublicInputCount {
                expected: NUM_PUBLIC_INPUTS,
                got: root_proof.public_inputs.len(),
            });
        }
        no_panic(|| self.root.verify(root_proof.clone())).map_err(|reason| WrapError::InvalidRoot { reason })?;
        self.prove_unchecked(root_proof)
    }

    /// Wraps a root proof without the native check: the circuit alone must refuse an invalid one
    /// (soundness tests use this).
    pub fn prove_unchecked(&self, root_proof: &RootProof) -> Result<WrapProof, WrapError> {
        let _span = tracing::info_span!("wrap_prove", degree_bits = self.data.common.degree_bits()).entered();
        let start = Instant::now();
        let pw = self.witness(root_proof)?;
        let proof = no_panic(|| self.data.prove(pw)).map_err(|reason| WrapError::Prove { reason })?;
        tracing::info!(prove_ms = start.elapsed().as_millis() as u64, "wrap proof done");
        Ok(proof)
    }

    /// Sets the root proof into a fresh witness, with no native check (soundness tests forge from it). A proof whose
    /// shape does not fit the root circuit is an error, not a panic.
    pub fn witness(&self, root_proof: &RootProof) -> Result<PartialWitness<F>, WrapError> {
        no_panic(|| -> anyhow::Result<PartialWitness<F>> {
            let mut pw = PartialWitness::new();
            pw.set_proof_with_pis_target(&self.root_proof, root_proof)?;
            Ok(pw)
        })
        .map_err(|reason| WrapError::Prove { reason: format!("setting the root proof: {reason}") })
    }

    /// Parses a wrap proof from its plonky2 bytes (`WrapProof::to_bytes`); strict, never panics.
    pub fn parse(&self, bytes: &[u8]) -> Result<WrapProof, WrapError> {
        crate::artifact::parse_proof_bytes_for::<WrapConfig>(bytes, &self.data.common)
            .map_err(|e| WrapError::Verify { reason: e.to_string() })
    }

    /// Parses and verifies a wrap proof given as bytes, returning its public inputs.
    pub fn verify_bytes(&self, bytes: &[u8]) -> Result<BatchPublicInputs, WrapError> {
        self.verify(&self.parse(bytes)?)
    }

    /// Verifies a wrap proof with plonky2's verifier and returns its public inputs.
    pub fn verify(&self, proof: &WrapProof) -> Result<BatchPublicInputs, WrapError> {
        let pis = BatchPublicInputs::from_fields(&proof.public_inputs)
            .map_err(|_| WrapError::PublicInputCount { expected: NUM_PUBLIC_INPUTS, got: proof.public_inputs.len() })?;
        no_panic(|| self.data.verify(proof.clone())).map_err(|reason| WrapError::Verify { reason })?;
        Ok(pis)
    }
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::Field;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::demo;

    #[test]
    fn security_of_default_params() {
        assert!(WrapParams::DEFAULT.security_bits() >= MIN_SECURITY_BITS);
        let weak = WrapParams { num_query_rounds: 8, ..WrapParams::DEFAULT };
        assert!(weak.security_bits() < MIN_SECURITY_BITS);
    }

    /// One tree (capacity 2, height 1), its epoch proof and its wrap, end to end.
    #[test]
    fn wraps_an_epoch_and_rejects_other_proofs() {
        let tree = AggregationTree::build(2, 1);
        let keys = demo::keys(5, 3);
        let mut state = demo::genesis(&keys);
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let batches: Vec<_> =
            (0..2).map(|_| demo::random_batch(&mut rng, &keys, &mut state, 2, 2, demo::Mix::All)).collect();
        let proofs: Vec<_> = batches.iter().map(|b| tree.batch.prove(b).expect("valid batch proves")).collect();
        let epoch = tree.fold(proofs.clone()).expect("two chained batches fold");

        let wrap = WrapCircuit::for_tree(&tree).expect("wrap circuit builds");
        assert!(matches!(
            WrapCircuit::build_with(&wrap.root, WrapParams { num_query_rounds: 8, ..WrapParams::DEFAULT }),
            Err(WrapError::Security { .. })
        ));
        let proof = wrap.prove(&epoch).expect("the epoch proof wraps");
        let pis = wrap.verify(&proof).expect("the wrap proof verifies");
        assert_eq!(proof.public_inputs, epoch.public_inputs, "the wrap exposes the root's public inputs in order");
        assert_eq!(pis.old_root, batches[0].public_inputs().old_root);
        assert_eq!(pis.new_root, state.root());

        // a batch proof is a proof of another circuit: refused natively ...
        assert!(matches!(wrap.prove(&proofs[0]), Err(WrapError::InvalidRoot { .. })));
        // ... and a root proof with a changed public input is refused by the circuit itself
        let mut forged = epoch.clone();
        forged.public_inputs[3] += F::ONE;
        assert!(matches!(wrap.prove(&forged), Err(WrapError::InvalidRoot { .. })));
        let forged_wrap = wrap.prove_unchecked(&forged);
        assert!(
            forged_wrap.map_or(true, |p| wrap.verify(&p).is_err()),
            "the circuit must not wrap a forged root proof"
        );

        // a tampered wrap proof is refused
        let mut bad = proof.clone();
        bad.public_inputs[0] += F::ONE;
        assert!(matches!(wrap.verify(&bad), Err(WrapError::Verify { .. })));
    }
}
