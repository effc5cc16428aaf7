//! `gates::gate_constraints_yul` against plonky2's `eval_unfiltered`, for every gate of a wrap circuit.

use std::sync::{Arc, OnceLock};

use plonky2::field::extension::quadratic::QuadraticExtension;
use plonky2::field::extension::FieldExtension;
use plonky2::gates::gate::GateRef;
use plonky2::gates::lookup::LookupGate;
use plonky2::hash::hash_types::HashOut;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CommonCircuitData};
use plonky2::plonk::config::PoseidonGoldilocksConfig;
use plonky2::plonk::vars::EvaluationVars;
use plonky2_field::goldilocks_field::GoldilocksField as F;
use plonky2_field::types::Sample;
use rand::SeedableRng;
use zkr_yul::gates::{gate_constraints, gate_constraints_yul, GateGenError, GateLayout};

use crate::harness::{to_f, word, YulContract};

type C = PoseidonGoldilocksConfig;
type E = QuadraticExtension<F>;
const D: usize = 2;

struct Circuits {
    /// A standard-recursion node verifying a small leaf proof (the shape of a zkr aggregation node).
    node: CommonCircuitData<F, D>,
    /// zkr's wrap circuit (KeccakGoldilocksConfig, wrap FRI parameters) over that node.
    wrap: CommonCircuitData<F, D>,
}

fn circuits() -> &'static Circuits {
    static CIRCUITS: OnceLock<Circuits> = OnceLock::new();
    CIRCUITS.get_or_init(|| {
        let config = CircuitConfig::standard_recursion_config();
        let mut b = CircuitBuilder::<F, D>::new(config.clone());
        let inputs = b.add_virtual_targets(20);
        let h = b.hash_n_to_hash_no_pad::<PoseidonHash>(inputs.clone());
        b.register_public_inputs(&inputs);
        b.register_public_inputs(&h.elements);
        let leaf = b.build::<C>();

        let mut b = CircuitBuilder::<F, D>::new(config);
        let proof = b.add_virtual_proof_with_pis(&leaf.common);
        let vd = b.constant_verifier_data::<C>(&leaf.verifier_only);
        b.verify_proof::<C>(&proof, &vd, &leaf.common);
        b.register_public_inputs(&proof.public_inputs);
        let node = b.build::<C>();

        let wrap = zkr_circuits::wrap::WrapCircuit::build(&node.verifier_data()).expect("wrap circuit");
        Circuits { node: node.common, wrap: wrap.data.common.clone() }
    })
}

/// Gates of both circuits, deduplicated by id.
fn all_gates() -> Vec<(GateRef<F, D>, usize)> {
    let c = circuits();
    let mut out: Vec<(GateRef<F, D>, usize)> = Vec::new();
    for common in [&c.wrap, &c.node] {
        for g in &common.gates {
            if !out.iter().any(|(o, _)| o.0.id() == g.0.id()) {
                out.push((g.clone(), common.config.num_wires));
            }
        }
    }
    out
}

fn layout(num_wires: usize, num_constants: usize, num_constraints: usize) -> GateLayout {
    let wires = 0x80;
    let constants = wires + 64 * num_wires as u64;
    let public_inputs_hash = constants + 64 * num_constants as u64;
    let gas_word = public_inputs_hash + 128;
    let out = gas_word + 32;
    let scratch = out + 64 * num_constraints as u64;
    GateLayout { wires, constants, public_inputs_hash, out, scratch }
}

/// Evaluates `gate` on random openings in plonky2 and in the EVM; returns the gas of the Yul part.
fn check_gate(gate: &GateRef<F, D>, num_wires: usize, seed: u64, optimize: bool) -> u64 {
    let n_consts = gate.0.num_constants();
    let n_constraints = gate.0.num_constraints();
    let l = layout(num_wires, n_consts, n_constraints);
    let code = gate_constraints_yul(gate, &l).unwrap_or_else(|e| panic!("{e}"));
    let body = format!(
        "calldatacopy({:#x}, 0, calldatasize())\nlet g := gas()\n{code}\ng := sub(g, gas())\nmstore({:#x}, g)\nreturn({:#x}, {})",
        l.wires,
        l.out - 32,
        l.out - 32,
        32 + 64 * n_constraints
    );
    let mut c = YulContract::deploy(&body, optimize);
    let mut gas = 0;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..3 {
        let wires: Vec<E> = (0..num_wires).map(|_| E::sample(&mut rng)).collect();
        let consts: Vec<E> = (0..n_consts).map(|_| E::sample(&mut rng)).collect();
        let pih = HashOut::<F>::sample(&mut rng);
        let vars = EvaluationVars { local_constants: &consts, local_wires: &wires, public_inputs_hash: &pih };
        let expected = gate.0.eval_unfiltered(vars);
        assert_eq!(expected.len(), n_constraints);

        let mut words = Vec::new();
        for e in wires.iter().chain(consts.iter()) {
            words.extend(FieldExtension::<2>::to_basefield_array(e).map(word));
        }
        words.extend(pih.elements.map(word));
        let (out, _) = c.call_words(&words);
        gas = out[0].to::<u64>();
        for (j, exp) in expected.iter().enumerate() {
            let got = E::from_basefield_array([to_f(out[1 + 2 * j]), to_f(out[2 + 2 * j])]);
            assert_eq!(got, *exp, "gate {} constraint {j}", gate.0.id());
        }
    }
    gas
}

#[test]
fn every_wrap_gate_matches_plonky2() {
    let c = circuits();
    println!("wrap circuit: degree_bits {}, gates:", c.wrap.degree_bits());
    for g in &c.wrap.gates {
        println!("  {}", g.0.id());
    }
    println!("node circuit gates:");
    for g in &c.node.gates {
        println!("  {}", g.0.id());
    }
    for (i, (gate, num_wires)) in all_gates().iter().enumerate() {
        // Unoptimised: solcjs's Yul optimizer runs out of memory on the large gates (Poseidon).
        let gas = check_gate(gate, *num_wires, i as u64, false);
        let info = gate_constraints(gate, &layout(*num_wires, gate.0.num_constants(), gate.0.num_constraints()))
            .expect("supported");
        println!(
            "gas {gas:>7}  constraints {:>3}  scratch {:>5} B  {}",
            info.num_constraints,
            info.scratch_bytes,
            gate.0.id()
        );
    }
}

#[test]
fn unsupported_gate_is_a_clear_error() {
    let table = Arc::new(vec![(0u16, 1u16), (1, 2)]);
    let gate = GateRef::new(LookupGate::new_from_table(&CircuitConfig::standard_recursion_config(), table));
    let err = gate_constraints_yul(&gate, &layout(135, 0, 0)).expect_err("lookup gates are not supported");
    assert!(matches!(err, GateGenError::Unsupported { .. }));
    assert!(err.to_string().contains("LookupGate"), "{err}");
}

#[test]
fn random_openings_are_not_trivially_zero() {
    // Guards the comparison above: a random opening violates every constraint of a non-trivial gate.
    let (gate, num_wires) =
        all_gates().into_iter().find(|(g, _)| g.0.id().starts_with("PoseidonGate")).expect("poseidon gate");
    let wires: Vec<E> = (0..num_wires).map(|_| E::rand()).collect();
    let consts: Vec<E> = (0..gate.0.num_constants()).map(|_| E::rand()).collect();
    let pih = HashOut::<F>::rand();
    let vars = EvaluationVars { local_constants: &consts, local_wires: &wires, public_inputs_hash: &pih };
    assert!(gate.0.eval_unfiltered(vars).iter().all(|c| *c != E::from_basefield_array([F::default(); 2])));
}
