//! Integration tests: the engine's proofs verify with plonky2's own verifier, match the stock
//! prover step by step, and bad witnesses do not yield accepted proofs.

mod real;

use std::sync::Arc;

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, Sample};
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::generator::generate_partial_witness;
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::config::{GenericConfig, KeccakGoldilocksConfig, PoseidonGoldilocksConfig};
use plonky2::plonk::proof::ProofWithPublicInputs;
use plonky2::util::timing::TimingTree;
use zkr_engine::{prove_circuit, prove_with_partition_witness, timings, CpuBackend, EngineError};

type F = GoldilocksField;
type C = PoseidonGoldilocksConfig;
const D: usize = 2;

/// Proves with the engine, checks plonky2 accepts, and returns the proof.
fn engine_proves<Cfg: GenericConfig<D, F = F> + 'static>(
    data: &CircuitData<F, Cfg, D>,
    pw: PartialWitness<F>,
) -> ProofWithPublicInputs<F, Cfg, D> {
    let (proof, t) = prove_circuit(&CpuBackend, data, pw).expect("engine proves");
    let names: Vec<&str> = t.phases.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        names,
        [
            timings::WITNESS,
            timings::WIRES_COMMIT,
            timings::ZS_COMMIT,
            timings::QUOTIENT,
            timings::OPENINGS,
            timings::FRI_COMMIT,
            timings::POW,
            timings::QUERIES,
            timings::TOTAL
        ]
    );
    data.verify(proof.clone()).expect("plonky2 verifies the engine's proof");
    proof
}

/// `y <- y*y + x`, `ops` times, with x and the result public.
fn arithmetic_chain(config: CircuitConfig, ops: usize) -> (CircuitData<F, C, D>, Target) {
    let mut b = CircuitBuilder::<F, D>::new(config);
    let x = b.add_virtual_target();
    b.register_public_input(x);
    let mut y = x;
    for _ in 0..ops {
        let sq = b.mul(y, y);
        y = b.add(sq, x);
    }
    b.register_public_input(y);
    (b.build::<C>(), x)
}

/// A chain of `n` Poseidon hashes starting from 4 private inputs.
fn poseidon_chain<Cfg: GenericConfig<D, F = F>>(
    config: CircuitConfig,
    n: usize,
) -> (CircuitData<F, Cfg, D>, Vec<Target>) {
    let mut b = CircuitBuilder::<F, D>::new(config);
    let inputs = b.add_virtual_targets(4);
    let mut h = HashOutTarget::from_vec(inputs.clone());
    for _ in 0..n {
        h = b.hash_n_to_hash_no_pad::<PoseidonHash>(h.elements.to_vec());
    }
    b.register_public_inputs(&h.elements);
    (b.build::<Cfg>(), inputs)
}

fn poseidon_witness(inputs: &[Target], seed: u64) -> PartialWitness<F> {
    let mut pw = PartialWitness::new();
    for (i, &t) in inputs.iter().enumerate() {
        pw.set_target(t, F::from_canonical_u64(seed * 31 + i as u64)).unwrap();
    }
    pw
}

#[test]
fn arithmetic_chains_of_several_sizes_verify() {
    for ops in [1, 40, 300] {
        let (data, x) = arithmetic_chain(CircuitConfig::standard_recursion_config(), ops);
        let mut pw = PartialWitness::new();
        pw.set_target(x, F::from_canonical_u64(3)).unwrap();
        let proof = engine_proves(&data, pw);
        assert_eq!(proof.public_inputs[0], F::from_canonical_u64(3));
    }
}

#[test]
fn poseidon_chains_up_to_2_12_rows_verify() {
    for (hashes, bits) in [(100, 7), (2500, 12)] {
        let (data, inputs) = poseidon_chain::<C>(CircuitConfig::standard_recursion_config(), hashes);
        assert_eq!(data.common.degree_bits(), bits);
        engine_proves(&data, poseidon_witness(&inputs, 7));
    }
}

#[test]
fn random_access_verifies() {
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let list = b.add_virtual_targets(16);
    let index = b.add_virtual_target();
    let picked = b.random_access(index, list.clone());
    b.register_public_input(picked);
    let data = b.build::<C>();
    let values = F::rand_vec(16);
    let mut pw = PartialWitness::new();
    pw.set_target_arr(&list, &values).unwrap();
    pw.set_target(index, F::from_canonical_u64(11)).unwrap();
    let proof = engine_proves(&data, pw);
    assert_eq!(proof.public_inputs[0], values[11]);
}

#[test]
fn recursive_verification_of_an_engine_proof_verifies() {
    let (inner, x) = arithmetic_chain(CircuitConfig::standard_recursion_config(), 10);
    let mut pw = PartialWitness::new();
    pw.set_target(x, F::from_canonical_u64(5)).unwrap();
    let inner_proof = engine_proves(&inner, pw);

    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let pt = b.add_virtual_proof_with_pis(&inner.common);
    let vd = b.constant_verifier_data::<C>(&inner.verifier_only);
    b.verify_proof::<C>(&pt, &vd, &inner.common);
    b.register_public_inputs(&pt.public_inputs);
    let outer = b.build::<C>();
    assert!(outer.common.degree_bits() >= 11, "a recursive verifier is a 2^11+ circuit");
    let mut pw = PartialWitness::new();
    pw.set_proof_with_pis_target(&pt, &inner_proof).unwrap();
    let proof = engine_proves(&outer, pw);
    assert_eq!(proof.public_inputs, inner_proof.public_inputs);
}

/// With zero_knowledge off, everything but the PoW witness (and so the query indices) is
/// deterministic: compare with stock plonky2 field by field.
#[test]
fn matches_stock_prover_step_by_step() {
    let (data, inputs) = poseidon_chain::<C>(CircuitConfig::standard_recursion_config(), 30);
    // Witness generation randomises the unused public-input-gate wires: generate it once.
    let witness = generate_partial_witness(poseidon_witness(&inputs, 3), &data.prover_only, &data.common).unwrap();
    let stock = plonky2::plonk::prover::prove_with_partition_witness(
        &data.prover_only,
        &data.common,
        witness.clone(),
        &mut TimingTree::default(),
    )
    .unwrap();
    let (ours, _) = prove_with_partition_witness(&CpuBackend, &data.prover_only, &data.common, witness).unwrap();
    data.verify(ours.clone()).unwrap();
    let (s, o) = (&stock.proof, &ours.proof);
    assert_eq!(o.wires_cap, s.wires_cap, "wires cap");
    assert_eq!(o.plonk_zs_partial_products_cap, s.plonk_zs_partial_products_cap, "zs cap");
    assert_eq!(o.quotient_polys_cap, s.quotient_polys_cap, "quotient cap");
    assert_eq!(o.openings, s.openings, "openings");
    assert_eq!(
        o.opening_proof.commit_phase_merkle_caps, s.opening_proof.commit_phase_merkle_caps,
        "FRI commit-phase caps"
    );
    assert_eq!(o.opening_proof.final_poly, s.opening_proof.final_poly, "final poly");
    assert_eq!(ours.public_inputs, stock.public_inputs);
    if o.opening_proof.pow_witness == s.opening_proof.pow_witness {
        assert_eq!(o, s, "same PoW witness, so the whole proof must match");
    }
}

/// The wires commitment equals `PolynomialBatch::from_values` on the same witness.
#[test]
fn wires_cap_matches_polynomial_batch() {
    use plonky2::field::polynomial::PolynomialValues;
    use plonky2::fri::oracle::PolynomialBatch;
    let (data, inputs) = poseidon_chain::<C>(CircuitConfig::standard_recursion_config(), 5);
    let witness = generate_partial_witness(poseidon_witness(&inputs, 1), &data.prover_only, &data.common).unwrap();
    let n = data.common.degree();
    let matrix = witness.clone().full_witness();
    let values: Vec<PolynomialValues<F>> = (0..data.common.config.num_wires)
        .map(|c| PolynomialValues::new((0..n).map(|r| matrix.get_wire(r, c)).collect()))
        .collect();
    let batch = PolynomialBatch::<F, C, D>::from_values(
        values,
        data.common.config.fri_config.rate_bits,
        false,
        data.common.config.fri_config.cap_height,
        &mut TimingTree::default(),
        None,
    );
    let (proof, _) = prove_with_partition_witness(&CpuBackend, &data.prover_only, &data.common, witness).unwrap();
    assert_eq!(proof.proof.wires_cap, batch.merkle_tree.cap);
}

/// A witness that breaks a gate constraint (tampered after generation) is refused.
#[test]
fn violated_constraint_is_refused() {
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let x = b.add_virtual_target();
    let y = b.add_virtual_target();
    let z = b.mul(x, y);
    b.register_public_input(z);
    let data = b.build::<C>();
    let mut pw = PartialWitness::new();
    pw.set_target(x, F::from_canonical_u64(6)).unwrap();
    pw.set_target(y, F::from_canonical_u64(7)).unwrap();
    let mut witness = generate_partial_witness(pw, &data.prover_only, &data.common).unwrap();
    let idx = z.index(data.common.config.num_wires, data.common.degree());
    let rep = witness.representative_map[idx];
    assert_eq!(witness.values[rep], Some(F::from_canonical_u64(42)));
    witness.values[rep] = Some(F::from_canonical_u64(43));
    match prove_with_partition_witness(&CpuBackend, &data.prover_only, &data.common, witness) {
        Err(EngineError::Unsatisfied { .. }) => {}
        Err(e) => panic!("expected Unsatisfied, got {e}"),
        Ok((proof, _)) => assert!(data.verify(proof).is_err(), "a proof of a false statement was accepted"),
    }
}

/// Conflicting inputs fail in witness generation with a clear error.
#[test]
fn conflicting_witness_is_an_error() {
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let x = b.add_virtual_target();
    let y = b.square(x);
    b.register_public_input(y);
    let data = b.build::<C>();
    let mut pw = PartialWitness::new();
    pw.set_target(x, F::from_canonical_u64(3)).unwrap();
    pw.set_target(y, F::from_canonical_u64(10)).unwrap();
    let err = prove_circuit(&CpuBackend, &data, pw).unwrap_err();
    assert!(matches!(err, EngineError::Witness { .. }), "{err}");
}

#[test]
fn keccak_config_proves_and_verifies() {
    let mut config = CircuitConfig::standard_recursion_config();
    config.fri_config.rate_bits = 3;
    config.fri_config.num_query_rounds = 28;
    let (data, inputs) = poseidon_chain::<KeccakGoldilocksConfig>(config, 20);
    engine_proves(&data, poseidon_witness(&inputs, 9));
}

#[test]
fn lookups_and_zero_knowledge_are_rejected() {
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let x = b.add_virtual_target();
    let table = b.add_lookup_table_from_pairs(Arc::new(vec![(0u16, 1u16), (1, 2), (2, 3)]));
    let y = b.add_lookup_from_index(x, table);
    b.register_public_input(y);
    let data = b.build::<C>();
    let mut pw = PartialWitness::new();
    pw.set_target(x, F::ONE).unwrap();
    let err = prove_circuit(&CpuBackend, &data, pw).unwrap_err();
    assert!(matches!(err, EngineError::Unsupported { .. }), "{err}");

    let (data, x) = arithmetic_chain(CircuitConfig::standard_recursion_zk_config(), 4);
    let mut pw = PartialWitness::new();
    pw.set_target(x, F::ONE).unwrap();
    let err = prove_circuit(&CpuBackend, &data, pw).unwrap_err();
    assert!(matches!(err, EngineError::Unsupported { .. }), "{err}");
}

/// A backend that accelerates nothing for Merkle trees (`None`) falls back to the CPU path.
struct NoMerkle;
impl zkr_engine::ProverBackend for NoMerkle {
    fn name(&self) -> &str {
        "no-merkle"
    }
    fn poseidon_merkle(&self, _: &[F], _: usize, _: usize) -> Option<zkr_engine::PoseidonDigests> {
        None
    }
}

/// A broken backend whose LDE has the wrong size is reported, not trusted.
struct ShortLde;
impl zkr_engine::ProverBackend for ShortLde {
    fn name(&self) -> &str {
        "short-lde"
    }
    fn lde_rows(&self, _: &[Vec<F>], _: usize) -> Vec<F> {
        vec![F::ZERO; 3]
    }
}

#[test]
fn backend_fallback_and_bad_output() {
    let (data, x) = arithmetic_chain(CircuitConfig::standard_recursion_config(), 8);
    let pw = || {
        let mut pw = PartialWitness::new();
        pw.set_target(x, F::TWO).unwrap();
        pw
    };
    let backend: &dyn zkr_engine::ProverBackend = &NoMerkle;
    let (proof, _) = zkr_engine::prove(backend, &data.prover_only, &data.common, pw()).unwrap();
    data.verify(proof).unwrap();
    let err = zkr_engine::prove(&ShortLde, &data.prover_only, &data.common, pw()).unwrap_err();
    assert!(matches!(err, EngineError::Backend { .. }), "{err}");
}

/// The raw path: an honest wire matrix proves and verifies; a forged one (a product changed everywhere it is copied,
/// so only the arithmetic constraints break), proven by a cheating engine, is refused by plonky2's verifier; forged
/// public inputs likewise. (Here the honest engine's degree check gives no signal either: with this configuration
/// the quotient domain is as large as the quotient's degree bound, as in plonky2's own prover.)
#[test]
fn a_forged_wire_assignment_is_refused_by_the_verifier() {
    use zkr_engine::{prove_from_wires, witness_wires, OnViolation};
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let (x, y) = (b.add_virtual_target(), b.add_virtual_target());
    let z = b.mul(x, y);
    let w = b.add(z, x);
    b.register_public_input(x);
    b.register_public_input(w);
    let data = b.build::<C>();
    let (xv, yv) = (F::from_canonical_u64(1_234_567), F::from_canonical_u64(7_654_321));
    let mut pw = PartialWitness::new();
    pw.set_target(x, xv).unwrap();
    pw.set_target(y, yv).unwrap();
    let (public, wires) = witness_wires(&data.prover_only, &data.common, pw).unwrap();
    let prove = |public: Vec<F>, wires: Vec<Vec<F>>, mode| {
        prove_from_wires(&CpuBackend, &data.prover_only, &data.common, public, wires, mode).map(|(p, _)| p)
    };
    let honest = prove(public.clone(), wires.clone(), OnViolation::Forge).unwrap();
    data.verify(honest).expect("an honest matrix through the raw path verifies");

    // z = x * y + 1 wherever z sits: copy constraints still hold, the multiplication does not.
    let zv = xv * yv;
    let mut forged = wires.clone();
    let mut cells = 0;
    for col in forged.iter_mut() {
        for v in col.iter_mut().filter(|v| **v == zv) {
            *v += F::ONE;
            cells += 1;
        }
    }
    assert!(cells >= 1, "the product is in the matrix");
    let cheat = prove(public.clone(), forged, OnViolation::Forge).expect("a cheating engine proves anyway");
    assert!(data.verify(cheat).is_err(), "plonky2's verifier refuses the forged multiplication");

    // Public inputs that are not the wires': refused by the verifier too.
    let mut claimed = public;
    claimed[1] += F::ONE;
    let cheat = prove(claimed, wires.clone(), OnViolation::Forge).unwrap();
    assert!(data.verify(cheat).is_err(), "plonky2's verifier refuses forged public inputs");

    // A matrix of the wrong shape is an error, not a panic.
    let mut short = wires;
    short.pop();
    assert!(matches!(prove(vec![xv, xv], short, OnViolation::Forge), Err(EngineError::Shape { .. })));
}

/// A cheating prover's own witness generation: a value wider than its range check (plonky2's generator asserts in
/// debug builds) and a conflicting copy (`x * y` connected to a value it is not) still give a matrix, and the proof
/// forged from it is refused by plonky2's verifier; an honest input gives no conflict and a proof that verifies.
#[test]
fn forged_generation_reaches_the_verifier() {
    use zkr_engine::{forge_wires, prove_from_wires, OnViolation};
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let (x, y, claimed) = (b.add_virtual_target(), b.add_virtual_target(), b.add_virtual_target());
    b.range_check(x, 8);
    let z = b.mul(x, y);
    b.connect(z, claimed);
    b.register_public_input(claimed);
    let data = b.build::<C>();
    let run = |xv: u64, claimed_v: u64| {
        let mut pw = PartialWitness::new();
        pw.set_target(x, F::from_canonical_u64(xv)).unwrap();
        pw.set_target(y, F::from_canonical_u64(3)).unwrap();
        pw.set_target(claimed, F::from_canonical_u64(claimed_v)).unwrap();
        let (public, wires, report) = forge_wires(&data.prover_only, &data.common, pw);
        let (proof, _) =
            prove_from_wires(&CpuBackend, &data.prover_only, &data.common, public, wires, OnViolation::Forge).unwrap();
        (report, data.verify(proof).is_ok())
    };
    let (report, ok) = run(200, 600);
    assert_eq!(report, Default::default());
    assert!(ok, "an honest witness through forged generation verifies");
    let (report, ok) = run(200, 601);
    assert_eq!(report.conflicts, 1, "the product conflicts with the claimed value");
    assert!(!ok, "the verifier refuses a product that is not x * y");
    let (_, ok) = run(300, 900);
    assert!(!ok, "the verifier refuses a value wider than its range check");
}
