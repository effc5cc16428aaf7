//! The real zkr circuits: a capacity-2 batch and an aggregation node over two engine proofs;
//! plus an #[ignore]d measurement against the stock prover.

use std::time::Instant;

use plonky2::field::types::Field;
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CircuitConfig;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkr_circuits::aggregate::AggregationCircuit;
use zkr_circuits::batch::Batch;
use zkr_circuits::circuit::{BatchCircuit, SlotWitness};
use zkr_circuits::demo;
use zkr_engine::{prove_circuit, time_stock_prove, CpuBackend, PhaseTimings};

use super::{C, D, F};

fn batches(capacity: usize, count: usize) -> Vec<Batch> {
    let keys = demo::keys(11, 4);
    let mut state = demo::genesis(&keys);
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    (0..count).map(|_| demo::random_batch(&mut rng, &keys, &mut state, capacity, capacity, demo::Mix::All)).collect()
}

fn batch_witness(circuit: &BatchCircuit, batch: &Batch) -> PartialWitness<F> {
    let slots: Vec<SlotWitness> = batch.slots.iter().map(SlotWitness::from).collect();
    circuit.witness(&batch.domain, &batch.data_in, &slots, &batch.fees.leaf).expect("valid batch witness")
}

#[test]
fn batch_and_aggregation_circuits_verify() {
    let circuit = BatchCircuit::build(2);
    let bs = batches(2, 2);
    let proofs: Vec<_> = bs
        .iter()
        .map(|b| {
            let (p, t) = prove_circuit(&CpuBackend, &circuit.data, batch_witness(&circuit, b)).expect("batch proves");
            eprintln!("batch (2^{}): {t}", circuit.data.common.degree_bits());
            circuit.verify(&p).expect("batch circuit accepts the engine's proof");
            p
        })
        .collect();

    let node = AggregationCircuit::build(1, &circuit.data.common, &circuit.data.verifier_only);
    let pw = node.witness(&proofs[0], &proofs[1]).expect("children fit");
    let (agg, t) = prove_circuit(&CpuBackend, &node.data, pw).expect("aggregation proves");
    eprintln!("aggregation (2^{}): {t}", node.data.common.degree_bits());
    node.verify(&agg).expect("aggregation circuit accepts the engine's proof");
}

fn print_pair(label: &str, stock: &PhaseTimings, ours: &PhaseTimings) {
    println!("{label}: stock total {:.3}s | engine {ours}", stock.total().as_secs_f64());
}

/// A 2^12-row circuit: a Poseidon chain sized to fill the rows.
fn random_2_12() -> (plonky2::plonk::circuit_data::CircuitData<F, C, D>, Vec<Target>) {
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let inputs = b.add_virtual_targets(4);
    let mut h = HashOutTarget::from_vec(inputs.clone());
    for _ in 0..3000 {
        h = b.hash_n_to_hash_no_pad::<PoseidonHash>(h.elements.to_vec());
    }
    b.register_public_inputs(&h.elements);
    (b.build::<C>(), inputs)
}

/// `cargo test -p zkr-engine --release -- --ignored --nocapture measure`
#[test]
#[ignore = "measurement: run in release with --nocapture"]
fn measure_stock_vs_engine() {
    let (data, inputs) = random_2_12();
    let pw = || {
        let mut pw = PartialWitness::new();
        for (i, &t) in inputs.iter().enumerate() {
            pw.set_target(t, F::from_canonical_u64(i as u64 + 1)).unwrap();
        }
        pw
    };
    for round in 0..2 {
        let (sp, st) = time_stock_prove(&data.prover_only, &data.common, pw()).unwrap();
        let (op, ot) = prove_circuit(&CpuBackend, &data, pw()).unwrap();
        data.verify(sp).unwrap();
        data.verify(op).unwrap();
        print_pair(&format!("poseidon chain 2^{} round {round}", data.common.degree_bits()), &st, &ot);
    }

    let start = Instant::now();
    let circuit = BatchCircuit::build(4);
    println!(
        "batch circuit capacity 4 built in {:.1}s, 2^{} rows",
        start.elapsed().as_secs_f64(),
        circuit.data.common.degree_bits()
    );
    let b = &batches(4, 1)[0];
    for round in 0..2 {
        let (sp, st) =
            time_stock_prove(&circuit.data.prover_only, &circuit.data.common, batch_witness(&circuit, b)).unwrap();
        let (op, ot) = prove_circuit(&CpuBackend, &circuit.data, batch_witness(&circuit, b)).unwrap();
        circuit.data.verify(sp).unwrap();
        circuit.data.verify(op).unwrap();
        print_pair(&format!("batch capacity 4 round {round}"), &st, &ot);
    }
}
