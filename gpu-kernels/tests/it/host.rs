//! The CUDA sources, compiled as host C++, against plonky2's CPU code.

use plonky2::field::polynomial::{PolynomialCoeffs, PolynomialValues};
use plonky2::field::types::Field;
use zkr_gpu_kernels::{GpuError, HostKernels, Kernels, F};

use crate::check;

#[test]
fn poseidon_permutation_matches_plonky2() {
    check::poseidon(&HostKernels::new(), 300, 1);
}

#[test]
fn hash_or_noop_matches_plonky2() {
    // <= 4 is the no-hash path; 8 / 16 are exact sponge chunks; the rest leave partial chunks.
    check::hash_or_noop(&HostKernels::new(), &[0, 1, 3, 4, 5, 7, 8, 9, 12, 16, 17, 100], 33, 2);
}

#[test]
fn ntt_and_inverse_match_plonky2() {
    check::ntt(&HostKernels::new(), 0..=12, 3, 3);
}

#[test]
fn coset_lde_leaves_match_polynomial_batch() {
    let mut cases = vec![];
    for log_n in 0..=9 {
        for rate_bits in 1..=3 {
            cases.push((log_n, rate_bits, if log_n % 2 == 0 { 1 } else { 5 }));
        }
    }
    cases.push((12, 1, 3));
    cases.push((4, 0, 2));
    check::coset_lde(&HostKernels::new(), &cases, 4);
}

#[test]
fn merkle_tree_matches_plonky2() {
    check::merkle(&HostKernels::new(), 0..=8, &[1, 4, 5, 12], 5);
    check::merkle(&HostKernels::new(), 10..=10, &[0, 7], 6);
}

#[test]
fn commit_matches_polynomial_batch_from_values() {
    let cases = [(0, 1, 1, 0), (1, 1, 2, 1), (3, 2, 7, 2), (5, 3, 4, 8), (7, 1, 10, 4), (8, 3, 2, 0), (12, 1, 4, 4)];
    check::commit(&HostKernels::new(), &cases, 7);
}

#[test]
fn invalid_inputs_are_errors_not_panics() {
    let k = HostKernels::new();
    let v = |n: usize| PolynomialValues { values: vec![F::ONE; n] };
    let c = |n: usize| PolynomialCoeffs::new(vec![F::ONE; n]);
    let invalid = |r: Result<_, GpuError>| matches!(r, Err(GpuError::InvalidInput { .. }));
    assert!(invalid(k.ifft_batch(&[]).map(|_| ())));
    assert!(invalid(k.ifft_batch(&[v(3)]).map(|_| ())));
    assert!(invalid(k.fft_batch(&[c(4), c(8)]).map(|_| ())));
    assert!(invalid(k.coset_lde_leaves(&[c(16)], 29).map(|_| ())));
    assert!(invalid(k.commit_values(&[v(4)], 1, 4).map(|_| ())));
    assert!(invalid(k.merkle_tree(vec![vec![F::ONE]; 3], 0).map(|_| ())));
    assert!(invalid(k.merkle_tree(vec![vec![F::ONE]; 4], 3).map(|_| ())));
    assert!(invalid(k.merkle_tree(vec![vec![F::ONE], vec![F::ONE; 2]], 0).map(|_| ())));
    assert!(invalid(k.hash_or_noop_batch(&[vec![F::ONE], vec![]]).map(|_| ())));
}
