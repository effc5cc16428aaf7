//! Native costs: Poseidon, Schnorr sign/verify, tree updates, state transition.

use criterion::{criterion_group, criterion_main, Criterion};
use plonky2::field::types::Field;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkr_circuits::config::{hash, hash_pair, F};
use zkr_circuits::demo;
use zkr_circuits::schnorr::SecretKey;
use zkr_circuits::smt::SparseMerkleTree;

fn bench(c: &mut Criterion) {
    let d = hash(&[F::ONE; 7]);
    c.bench_function("poseidon/leaf (7 elements)", |b| b.iter(|| hash(std::hint::black_box(&[F::ONE; 7]))));
    c.bench_function("poseidon/two_to_one", |b| b.iter(|| hash_pair(std::hint::black_box(d), d)));

    let sk = SecretKey::random(&mut ChaCha20Rng::seed_from_u64(1));
    let pk = sk.public_key();
    c.bench_function("schnorr/sign", |b| b.iter(|| sk.sign(std::hint::black_box(&d))));
    let sig = sk.sign(&d);
    c.bench_function("schnorr/verify", |b| b.iter(|| pk.verify(std::hint::black_box(&d), &sig)));

    let mut tree = SparseMerkleTree::new();
    let mut i = 0u32;
    c.bench_function("smt/set (depth 32)", |b| {
        b.iter(|| {
            i = i.wrapping_add(7919);
            tree.set(i, d)
        })
    });

    let keys = demo::keys(1, 8);
    let state = demo::genesis(&keys);
    c.bench_function("state/random transfer batch of 4 (sign + apply)", |b| {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        b.iter(|| {
            let mut s = state.clone();
            demo::random_batch(&mut rng, &keys, &mut s, 4, 4, demo::Mix::Transfers)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
