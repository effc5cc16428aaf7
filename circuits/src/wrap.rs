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
    /// Re-prove the root proof once more (Poseidon, [`SHRINK_FRI`]) before wrapping it. The root proof has 28 FRI
    /// queries; the shrink proof has 14, so the wrap circuit that verifies it has room to spare in 2^12 rows, which
    /// it spends on fewer routed wires ([`SHRUNK_WRAP_ROUTED_WIRES`]): fewer columns for the L1 verifier to read.
    pub shrink: bool,
}

/// Routed wires of a wrap circuit over a shrink proof (the standard config has 80). Each routed wire is a
/// permutation column: an opening, a leaf element per query and a factor of the permutation argument in the L1
/// verifier, and 8 of them one more partial-product polynomial. The verifier of the 14-query shrink proof still
/// fits 2^12 rows with 40 (3,247 gates), where that of the 28-query root proof would not (4,983); 37 is the least
/// that plonky2's coset interpolation gate for arity 16 needs.
pub const SHRUNK_WRAP_ROUTED_WIRES: usize = 40;

/// FRI parameters of the shrink layer: rate 1/64, 14 queries, 16 PoW bits (6 × 14 + 16 = 100 conjectured bits),
/// arity-16 folding.
pub const SHRINK_FRI: FriConfig = FriConfig {
    rate_bits: 6,
    cap_height: 4,
    proof_of_work_bits: 16,
    reduction_strategy: FriReductionStrategy::ConstantArityBits(4, 5),
    num_query_rounds: 14,
};

impl WrapParams {
    /// rate 1/128, 12 queries, 20 PoW bits, cap height 4: 104 bits of conjectured security.
    pub const DEFAULT: WrapParams =
        WrapParams { rate_bits: 7, num_query_rounds: 12, proof_of_work_bits: 20, cap_height: 4, shrink: false };

    /// The cheapest verification on L1 measured here: a shrink layer, then rate 1/1024, 8 queries, 20 PoW bits,
    /// cap height 3 (100 bits of conjectured security). Slower to prove than [`Self::DEFAULT`] (see
    /// bench-results/wrap.md), so it is a deployment's choice, not the devnet's.
    pub const L1: WrapParams =
        WrapParams { rate_bits: 10, num_query_rounds: 8, proof_of_work_bits: 20, cap_height: 3, shrink: true };

    /// Conjectured security in bits: `rate_bits × num_query_rounds + proof_of_work_bits`.
    pub fn security_bits(&self) -> usize {
        self.rate_bits * self.num_query_rounds + self.proof_of_work_bits as usize
    }

    /// plonky2's standard recursion config with these FRI parameters; over a shrink proof, with
    /// [`SHRUNK_WRAP_ROUTED_WIRES`] routed wires.
    pub fn circuit_config(&self) -> CircuitConfig {
        let standard = CircuitConfig::standard_recursion_config();
        CircuitConfig {
            num_routed_wires: if self.shrink { SHRUNK_WRAP_ROUTED_WIRES } else { standard.num_routed_wires },
            fri_config: FriConfig {
                rate_bits: self.rate_bits,
                cap_height: self.cap_height,
                proof_of_work_bits: self.proof_of_work_bits,
                reduction_strategy: FriReductionStrategy::ConstantArityBits(4, 5),
                num_query_rounds: self.num_query_rounds,
            },
            ..standard
        }
    }
}

impl Default for WrapParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl WrapParams {
    /// Parses `devnet` ([`Self::DEFAULT`]), `l1` ([`Self::L1`]) or `rate_bits:queries:pow_bits:cap_height`, with
    /// `:shrink` appended for a shrink layer. Refuses parameters below [`MIN_SECURITY_BITS`] and ones this prover
    /// cannot run (rate_bits 1..=12, 1..=64 queries, at most 30 PoW bits, cap height at most 8).
    pub fn parse(s: &str) -> Result<Self, WrapError> {
        let bad = |reason: String| WrapError::Params { given: s.to_string(), reason };
        let p = match s.trim() {
            "devnet" | "default" => Self::DEFAULT,
            "l1" => Self::L1,
            t => {
                let v: Vec<&str> = t.split(':').collect();
                let shrink = match (v.len(), v.get(4)) {
                    (4, _) => false,
                    (5, Some(&"shrink")) => true,
                    _ => {
                        return Err(bad(
                            "expected devnet, l1 or rate_bits:queries:pow_bits:cap_height[:shrink], e.g. 7:12:20:4"
                                .into(),
                        ))
                    }
                };
                let n = |i: usize, what: &str| {
                    v[i].parse::<usize>().map_err(|_| bad(format!("{what} {:?} is not a number", v[i])))
                };
                WrapParams {
                    rate_bits: n(0, "rate_bits")?,
                    num_query_rounds: n(1, "queries")?,
                    proof_of_work_bits: n(2, "pow_bits")?.min(u32::MAX as usize) as u32,
                    cap_height: n(3, "cap_height")?,
                    shrink,
                }
            }
        };
        if !(1..=12).contains(&p.rate_bits)
            || !(1..=64).contains(&p.num_query_rounds)
            || p.proof_of_work_bits > 30
            || p.cap_height > 8
        {
            return Err(bad(
                "rate_bits must be 1..=12, queries 1..=64, pow_bits at most 30, cap_height at most 8".into()
            ));
        }
        if p.security_bits() < MIN_SECURITY_BITS {
            return Err(WrapError::Security { expected: MIN_SECURITY_BITS, got: p.security_bits() });
        }
        Ok(p)
    }
}

impl std::str::FromStr for WrapParams {
    type Err = WrapError;
    fn from_str(s: &str) -> Result<Self, WrapError> {
        Self::parse(s)
    }
}

impl std::fmt::Display for WrapParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == Self::DEFAULT {
            return f.write_str("devnet");
        }
        if *self == Self::L1 {
            return f.write_str("l1");
        }
        write!(f, "{}:{}:{}:{}", self.rate_bits, self.num_query_rounds, self.proof_of_work_bits, self.cap_height)?;
        if self.shrink {
            f.write_str(":shrink")?;
        }
        Ok(())
    }
}

// In configuration files the parameters are one string, as `parse` reads it.
impl serde::Serialize for WrapParams {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for WrapParams {
    fn deserialize<De: serde::Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Least conjectured security the wrap proof may have.
pub const MIN_SECURITY_BITS: usize = 100;

#[derive(Debug, Error)]
pub enum WrapError {
    #[error("the root circuit has {got} public inputs, the zkr layout has {expected}")]
    PublicInputCount { expected: usize, got: usize },
    #[error("wrap parameters {given:?}: {reason}")]
    Params { given: String, reason: String },
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

/// A fresh witness holding `proof` in `target`; a proof of another shape is an error, not a panic.
fn set_proof(
    target: &ProofWithPublicInputsTarget<D>,
    proof: &RootProof,
    what: &str,
) -> Result<PartialWitness<F>, WrapError> {
    no_panic(|| -> anyhow::Result<PartialWitness<F>> {
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(target, proof)?;
        Ok(pw)
    })
    .map_err(|reason| WrapError::Prove { reason: format!("setting {what}: {reason}") })
}

/// The wrap circuit over one fixed root circuit.
pub struct WrapCircuit {
    pub params: WrapParams,
    pub data: CircuitData<F, WrapConfig, D>,
    /// The wrapped (root) circuit.
    pub root: VerifierCircuitData<F, C, D>,
    /// The proof the wrap circuit verifies: the root proof, or the shrink proof when there is a shrink layer.
    inner_proof: ProofWithPublicInputsTarget<D>,
    shrink: Option<ShrinkLayer>,
}

/// The optional layer between the root and the wrap: the root proof verified in a Poseidon circuit with fewer FRI
/// queries ([`SHRINK_FRI`]).
struct ShrinkLayer {
    data: CircuitData<F, C, D>,
    root_proof: ProofWithPublicInputsTarget<D>,
}

/// A circuit (built with `config`) that verifies a proof of `inner` and exposes its public inputs in order.
fn verifying_circuit<Outer: plonky2::plonk::config::GenericConfig<D, F = F>>(
    inner: &VerifierCircuitData<F, C, D>,
    config: CircuitConfig,
) -> (CircuitData<F, Outer, D>, ProofWithPublicInputsTarget<D>) {
    let mut b = CircuitBuilder::<F, D>::new(config);
    let vd = b.constant_verifier_data::<C>(&inner.verifier_only);
    let proof = b.add_virtual_proof_with_pis(&inner.common);
    b.verify_proof::<C>(&proof, &vd, &inner.common);
    b.register_public_inputs(&proof.public_inputs);
    let gates_used = b.num_gates();
    let data = b.build::<Outer>();
    tracing::debug!(gates_used, degree_bits = data.common.degree_bits(), "verifying circuit built");
    (data, proof)
}

impl std::fmt::Debug for WrapCircuit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrapCircuit")
            .field("params", &self.params)
            .field("degree_bits", &self.data.common.degree_bits())
            .field("root_degree_bits", &self.root.common.degree_bits())
            .field("shrink_degree_bits", &self.shrink.as_ref().map(|s| s.data.common.degree_bits()))
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
        Self::for_tree_with(tree, WrapParams::DEFAULT)
    }

    /// As [`Self::for_tree`] with explicit parameters.
    pub fn for_tree_with(tree: &AggregationTree, params: WrapParams) -> Result<Self, WrapError> {
        let root = match tree.levels.last() {
            Some(level) => level.data.verifier_data(),
            None => tree.batch.data.verifier_data(),
        };
        Self::build_with(&root, params)
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
        let _span = tracing::info_span!("wrap_build", shrink = params.shrink).entered();
        let (shrink, inner) = if params.shrink {
            let config = CircuitConfig { fri_config: SHRINK_FRI, ..CircuitConfig::standard_recursion_config() };
            let (data, root_proof) = verifying_circuit::<C>(root, config);
            let inner = data.verifier_data();
            (Some(ShrinkLayer { data, root_proof }), inner)
        } else {
            (None, root.clone())
        };
        let (data, inner_proof) = verifying_circuit::<WrapConfig>(&inner, params.circuit_config());
        Ok(Self { params, data, root: root.clone(), inner_proof, shrink })
    }

    /// Degree bits of the shrink layer's circuit, if there is one.
    pub fn shrink_degree_bits(&self) -> Option<usize> {
        self.shrink.as_ref().map(|s| s.data.common.degree_bits())
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

    /// The wrap circuit's witness for a root proof, with no native check (soundness tests forge from it): the root
    /// proof itself, or, with a shrink layer, the shrink proof of it. A proof whose shape does not fit the root
    /// circuit is an error, not a panic.
    pub fn witness(&self, root_proof: &RootProof) -> Result<PartialWitness<F>, WrapError> {
        let inner = match &self.shrink {
            None => root_proof.clone(),
            Some(layer) => {
                let _span =
                    tracing::info_span!("shrink_prove", degree_bits = layer.data.common.degree_bits()).entered();
                let start = Instant::now();
                let pw = set_proof(&layer.root_proof, root_proof, "the root proof")?;
                let proof = no_panic(|| layer.data.prove(pw)).map_err(|reason| WrapError::Prove { reason })?;
                tracing::info!(prove_ms = start.elapsed().as_millis() as u64, "shrink proof done");
                proof
            }
        };
        set_proof(&self.inner_proof, &inner, "the inner proof")
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

    #[test]
    fn parameters_parse_and_print_as_configuration_writes_them() {
        assert_eq!(WrapParams::parse("devnet").unwrap(), WrapParams::DEFAULT);
        assert_eq!(WrapParams::parse("l1").unwrap(), WrapParams::L1);
        let p = WrapParams::parse("9:9:23:3").unwrap();
        assert_eq!(
            (p.rate_bits, p.num_query_rounds, p.proof_of_work_bits, p.cap_height, p.shrink),
            (9, 9, 23, 3, false)
        );
        assert!(WrapParams::parse("9:9:23:3:shrink").unwrap().shrink);
        for p in [WrapParams::DEFAULT, WrapParams::L1, WrapParams::parse("9:9:23:3:shrink").unwrap()] {
            assert_eq!(WrapParams::parse(&p.to_string()).unwrap(), p, "{p}");
        }
        assert_eq!(WrapParams::L1.to_string(), "l1");
        assert!(matches!(WrapParams::parse("7:8:20:4"), Err(WrapError::Security { got: 76, .. })));
        for bad in
            ["", "7:12:20", "7:12:20:4:fast", "7:12:20:4:shrink:x", "x:12:20:4", "13:8:20:3", "7:12:31:4", "7:0:99:4"]
        {
            let e = WrapParams::parse(bad).unwrap_err();
            assert!(matches!(e, WrapError::Params { .. }), "{bad:?}: {e}");
        }
        // in configuration files, one string
        #[derive(serde::Deserialize)]
        struct Cfg {
            wrap: WrapParams,
        }
        let c: Cfg = serde_json::from_str(r#"{"wrap":"10:8:20:3:shrink"}"#).unwrap();
        assert_eq!(c.wrap, WrapParams { shrink: true, ..WrapParams::parse("10:8:20:3").unwrap() });
        assert!(serde_json::from_str::<Cfg>(r#"{"wrap":"7:8:20:4"}"#).is_err());
        assert_eq!(serde_json::to_string(&WrapParams::L1).unwrap(), r#""l1""#);
    }

    /// A shrink layer (at the devnet's fast wrap parameters): the wrap exposes the root's statement, and a root proof
    /// with another public input is refused by the shrink circuit, without any native check.
    #[test]
    fn wraps_through_a_shrink_layer_and_refuses_a_forged_root() {
        let tree = AggregationTree::build(2, 1);
        let keys = demo::keys(6, 3);
        let mut state = demo::genesis(&keys);
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let proofs: Vec<_> = (0..2)
            .map(|_| {
                let b = demo::random_batch(&mut rng, &keys, &mut state, 2, 2, demo::Mix::Transfers);
                tree.batch.prove(&b).expect("valid batch proves")
            })
            .collect();
        let epoch = tree.fold(proofs).expect("two chained batches fold");
        let params = WrapParams { shrink: true, ..WrapParams::DEFAULT };
        let wrap = WrapCircuit::for_tree_with(&tree, params).expect("wrap circuit builds");
        assert_eq!(wrap.shrink_degree_bits(), Some(12));
        assert_eq!(wrap.data.common.config.num_routed_wires, SHRUNK_WRAP_ROUTED_WIRES);
        let proof = wrap.prove(&epoch).expect("the epoch proof wraps");
        wrap.verify(&proof).expect("the wrap proof verifies");
        assert_eq!(proof.public_inputs, epoch.public_inputs);

        let mut forged = epoch.clone();
        forged.public_inputs[5] += F::ONE;
        assert!(
            wrap.prove_unchecked(&forged).map_or(true, |p| wrap.verify(&p).is_err()),
            "a forged root proof must not wrap through the shrink layer"
        );
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
