//! On a real GPU (`--features gpu-device-tests`): CudaKernels against plonky2's CPU code. These FAIL when no
//! usable GPU is present; that is the point of enabling the feature.

use zkr_gpu_kernels::cuda::{probe, CudaKernels};
use zkr_gpu_kernels::Kernels;

use crate::check;

fn kernels() -> CudaKernels {
    let info = probe(0).unwrap_or_else(|e| panic!("gpu-device-tests need a CUDA GPU: {e}"));
    eprintln!("device: {info:?}");
    CudaKernels::new(0).unwrap_or_else(|e| panic!("CudaKernels::new(0): {e}"))
}

#[test]
fn device_poseidon_and_hashing_match_plonky2() {
    let k = kernels();
    check::poseidon(&k, 5000, 11);
    check::hash_or_noop(&k, &[0, 1, 4, 5, 8, 9, 100, 135], 1000, 12);
}

#[test]
fn device_ntt_matches_plonky2() {
    let k = kernels();
    check::ntt(&k, 0..=16, 3, 13);
    check::ntt(&k, 20..=20, 2, 14);
}

#[test]
fn device_lde_merkle_and_commit_match_plonky2() {
    let k = kernels();
    let mut cases = vec![];
    for log_n in 0..=14 {
        for rate_bits in 1..=4 {
            cases.push((log_n, rate_bits, 1 + log_n % 7));
        }
    }
    check::coset_lde(&k, &cases, 15);
    check::merkle(&k, 0..=14, &[1, 4, 5, 135], 16);
    let cases = [(0, 1, 1, 0), (4, 2, 3, 4), (10, 3, 50, 4), (14, 3, 100, 4), (16, 1, 20, 4), (18, 1, 4, 4)];
    check::commit(&k, &cases, 17);
}

#[test]
fn device_job_too_large_is_a_clear_error() {
    let k = kernels();
    let free = k.free_memory_bytes().unwrap();
    // Enough polynomials of 2^20 at rate 8 (2 GiB of LDE each) that the job exceeds free memory; the check runs
    // before anything is uploaded.
    let poly = plonky2::field::polynomial::PolynomialCoeffs::new(vec![zkr_gpu_kernels::F::default(); 1 << 20]);
    let count = (free / ((8u64 << 28) * 2)) as usize + 2;
    let polys = vec![poly; count];
    let err = k.coset_lde_leaves(&polys, 8).unwrap_err();
    assert!(matches!(err, zkr_gpu_kernels::GpuError::OutOfDeviceMemory { .. }), "{err}");
    eprintln!("expected error: {err}");
}
