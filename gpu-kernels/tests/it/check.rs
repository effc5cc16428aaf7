//! Comparisons of a [`Kernels`] backend with plonky2 =1.1.0's CPU code, shared by the host and device tests.

use plonky2::field::polynomial::{PolynomialCoeffs, PolynomialValues};
use plonky2::field::types::{Field, PrimeField64};
use plonky2::fri::oracle::PolynomialBatch;
use plonky2::hash::hash_types::HashOut;
use plonky2::hash::merkle_tree::MerkleTree;
use plonky2::hash::poseidon::{Poseidon, PoseidonHash};
use plonky2::plonk::config::{Hasher, PoseidonGoldilocksConfig};
use plonky2::util::timing::TimingTree;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zkr_gpu_kernels::{Kernels, F};

type C = PoseidonGoldilocksConfig;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Random elements, with the edge values 0, 1 and p - 1 mixed in.
pub fn elems(rng: &mut ChaCha8Rng, n: usize) -> Vec<F> {
    (0..n)
        .map(|_| match rng.gen_range(0..16) {
            0 => F::ZERO,
            1 => F::ONE,
            2 => F::NEG_ONE,
            _ => F::from_noncanonical_u64(rng.gen()),
        })
        .collect()
}

fn canon(v: &[F]) -> Vec<u64> {
    v.iter().map(|x| x.to_canonical_u64()).collect()
}

fn canon_digests(v: &[HashOut<F>]) -> Vec<u64> {
    v.iter().flat_map(|h| canon(&h.elements)).collect()
}

pub fn poseidon<K: Kernels>(k: &K, count: usize, seed: u64) {
    let mut r = rng(seed);
    let mut states: Vec<[F; 12]> = (0..count).map(|_| elems(&mut r, 12).try_into().unwrap()).collect();
    states.push([F::ZERO; 12]);
    states.push([F::NEG_ONE; 12]);
    let got = k.poseidon_permute_batch(&states).unwrap();
    assert_eq!(got.len(), states.len());
    for (i, (s, g)) in states.iter().zip(&got).enumerate() {
        assert_eq!(canon(g), canon(&F::poseidon(*s)), "permutation of state {i}");
    }
}

pub fn hash_or_noop<K: Kernels>(k: &K, lens: &[usize], count: usize, seed: u64) {
    let mut r = rng(seed);
    for &len in lens {
        let inputs: Vec<Vec<F>> = (0..count).map(|_| elems(&mut r, len)).collect();
        let got = k.hash_or_noop_batch(&inputs).unwrap();
        let want: Vec<HashOut<F>> = inputs.iter().map(|x| PoseidonHash::hash_or_noop(x)).collect();
        assert_eq!(canon_digests(&got), canon_digests(&want), "hash_or_noop of {count} inputs of length {len}");
    }
}

pub fn ntt<K: Kernels>(k: &K, log_sizes: impl Iterator<Item = usize>, batch: usize, seed: u64) {
    let mut r = rng(seed);
    for log_n in log_sizes {
        let n = 1 << log_n;
        let values: Vec<PolynomialValues<F>> = (0..batch).map(|_| PolynomialValues::new(elems(&mut r, n))).collect();
        let got = k.ifft_batch(&values).unwrap();
        for (i, (v, g)) in values.iter().zip(&got).enumerate() {
            assert_eq!(canon(&g.coeffs), canon(&v.clone().ifft().coeffs), "ifft 2^{log_n}, poly {i}");
        }
        let coeffs: Vec<PolynomialCoeffs<F>> = (0..batch).map(|_| PolynomialCoeffs::new(elems(&mut r, n))).collect();
        let got = k.fft_batch(&coeffs).unwrap();
        for (i, (c, g)) in coeffs.iter().zip(&got).enumerate() {
            assert_eq!(canon(&g.values), canon(&c.clone().fft().values), "fft 2^{log_n}, poly {i}");
        }
    }
}

fn plonky2_batch(values: &[PolynomialValues<F>], rate_bits: usize, cap_height: usize) -> PolynomialBatch<F, C, 2> {
    PolynomialBatch::from_values(values.to_vec(), rate_bits, false, cap_height, &mut TimingTree::default(), None)
}

pub fn coset_lde<K: Kernels>(k: &K, cases: &[(usize, usize, usize)], seed: u64) {
    let mut r = rng(seed);
    for &(log_n, rate_bits, batch) in cases {
        let coeffs: Vec<PolynomialCoeffs<F>> =
            (0..batch).map(|_| PolynomialCoeffs::new(elems(&mut r, 1 << log_n))).collect();
        let want = PolynomialBatch::<F, C, 2>::from_coeffs(
            coeffs.clone(),
            rate_bits,
            false,
            0,
            &mut TimingTree::default(),
            None,
        );
        let got = k.coset_lde_leaves(&coeffs, rate_bits).unwrap();
        assert_eq!(got.len(), want.merkle_tree.leaves.len(), "LDE rows, 2^{log_n} x {batch} at rate {rate_bits}");
        for (row, (g, w)) in got.iter().zip(&want.merkle_tree.leaves).enumerate() {
            assert_eq!(canon(g), canon(w), "LDE leaf {row}, 2^{log_n} x {batch} at rate {rate_bits}");
        }
    }
}

pub fn merkle<K: Kernels>(k: &K, log_leaves: impl Iterator<Item = usize>, leaf_lens: &[usize], seed: u64) {
    let mut r = rng(seed);
    for log in log_leaves {
        for &len in leaf_lens {
            let leaves: Vec<Vec<F>> = (0..1usize << log).map(|_| elems(&mut r, len)).collect();
            for cap_height in (0..=log.min(4)).chain(std::iter::once(log)) {
                let want = MerkleTree::<F, PoseidonHash>::new(leaves.clone(), cap_height);
                let got = k.merkle_tree(leaves.clone(), cap_height).unwrap();
                let what = format!("2^{log} leaves of {len}, cap height {cap_height}");
                assert_eq!(canon_digests(&got.digests), canon_digests(&want.digests), "digests, {what}");
                assert_eq!(canon_digests(&got.cap.0), canon_digests(&want.cap.0), "cap, {what}");
                assert_eq!(got.leaves, want.leaves, "leaves, {what}");
            }
        }
    }
}

/// Full `PolynomialBatch::from_values` equivalence: coefficients, LDE leaves, digests and cap.
pub fn commit<K: Kernels>(k: &K, cases: &[(usize, usize, usize, usize)], seed: u64) {
    let mut r = rng(seed);
    for &(log_n, rate_bits, batch, cap_height) in cases {
        let values: Vec<PolynomialValues<F>> =
            (0..batch).map(|_| PolynomialValues::new(elems(&mut r, 1 << log_n))).collect();
        let want = plonky2_batch(&values, rate_bits, cap_height);
        let got = k.commit_values(&values, rate_bits, cap_height).unwrap().into_polynomial_batch::<C>();
        let what = format!("2^{log_n} x {batch}, rate {rate_bits}, cap height {cap_height}");
        assert_eq!(got.polynomials, want.polynomials, "coefficients, {what}");
        assert_eq!(got.merkle_tree.leaves, want.merkle_tree.leaves, "leaves, {what}");
        assert_eq!(
            canon_digests(&got.merkle_tree.digests),
            canon_digests(&want.merkle_tree.digests),
            "digests, {what}"
        );
        assert_eq!(canon_digests(&got.merkle_tree.cap.0), canon_digests(&want.merkle_tree.cap.0), "cap, {what}");
        assert_eq!((got.degree_log, got.rate_bits, got.blinding), (want.degree_log, want.rate_bits, want.blinding));
        // And from coefficients.
        let got = k.commit_coeffs(&want.polynomials, rate_bits, cap_height).unwrap();
        assert_eq!(got.merkle_tree.cap, want.merkle_tree.cap, "cap from coeffs, {what}");
    }
}
