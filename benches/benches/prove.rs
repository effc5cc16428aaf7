//! Batch proving with plonky2's CPU prover (`zkr bench prove` gives the full table).

use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkr_circuits::circuit::BatchCircuit;
use zkr_circuits::demo;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("prove");
    g.sample_size(10);
    for capacity in [1usize, 4] {
        let circuit = BatchCircuit::build(capacity);
        let keys = demo::keys(1, 8);
        let mut state = demo::genesis(&keys);
        let batch = demo::random_batch(
            &mut ChaCha20Rng::seed_from_u64(3),
            &keys,
            &mut state,
            capacity,
            capacity,
            demo::Mix::Transfers,
        );
        g.bench_function(format!("batch/capacity {capacity}"), |b| b.iter(|| circuit.prove(&batch).expect("proves")));
        let proof = circuit.prove(&batch).expect("proves");
        g.bench_function(format!("verify/capacity {capacity}"), |b| {
            b.iter(|| circuit.verify(&proof).expect("verifies"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
