//! The `ProverBackend` trait (the heavy, data-parallel work) and its rayon CPU implementation.
//!
//! Data crosses the trait as plain buffers of `GoldilocksField` (a `u64` newtype), so a CUDA
//! implementation can hand them to kernels that take `&[u64]` without conversions of layout.

use plonky2::field::fft::fft_root_table;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::polynomial::{PolynomialCoeffs, PolynomialValues};
use plonky2::field::types::Field;
use plonky2::hash::hash_types::HashOut;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::util::reverse_index_bits_in_place;
use rayon::prelude::*;

use crate::merkle::cpu_digests;
use crate::EngineError;

type F = GoldilocksField;

/// Digests and cap of a Poseidon Merkle tree, in plonky2's layout (see [`crate::merkle`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoseidonDigests {
    /// Inner digests, `2 * (num_leaves - cap_len)` of them.
    pub digests: Vec<HashOut<F>>,
    /// The cap, `2^cap_height` digests.
    pub cap: Vec<HashOut<F>>,
}

/// The heavy work of proving, behind an object-safe trait (`&dyn ProverBackend`).
///
/// Only [`ProverBackend::name`] is required: every other method has a rayon CPU default, so a
/// backend overrides just what it accelerates.
///
/// Layout conventions (the same as plonky2's `PolynomialBatch`):
/// - a batch of `k` polynomials of `n` coefficients is `k` vectors of length `n`;
/// - an LDE is **row-major** with `n << rate_bits` rows of `k` elements, and row `r` holds the
///   evaluations at the point `shift * w^bitrev(r)` (`w` a primitive `(n << rate_bits)`-th root
///   of unity, `shift` = `GoldilocksField::coset_shift()`): exactly plonky2's Merkle leaves.
pub trait ProverBackend: Send + Sync {
    /// A short name for logs and benchmarks ("cpu", "cuda").
    fn name(&self) -> &str;

    /// Inverse FFT of each column (values on the subgroup of size `n`, natural order) into
    /// coefficients.
    fn ifft_columns(&self, columns: Vec<Vec<F>>) -> Vec<Vec<F>> {
        columns.into_par_iter().map(|c| PolynomialValues::new(c).ifft().coeffs).collect()
    }

    /// Coset low-degree extension of each polynomial by `2^rate_bits`, returned as a flat
    /// row-major, bit-reversed buffer (see the trait docs). All polynomials have the same
    /// power-of-two length.
    fn lde_rows(&self, polys: &[Vec<F>], rate_bits: usize) -> Vec<F> {
        cpu_lde_rows(polys, rate_bits)
    }

    /// Poseidon Merkle tree over the rows of a flat buffer (`width` elements per leaf; leaves of
    /// at most 4 elements are not hashed, as plonky2's `hash_or_noop`). `None` means "not
    /// accelerated here": the engine then builds the tree on the CPU. Poseidon only; trees of
    /// other hashers (Keccak) always take the CPU path.
    fn poseidon_merkle(&self, leaves: &[F], width: usize, cap_height: usize) -> Option<PoseidonDigests> {
        cpu_digests::<F, PoseidonHash>(leaves, width, cap_height)
            .ok()
            .map(|(digests, cap)| PoseidonDigests { digests, cap })
    }
}

/// The rayon CPU backend (all trait defaults).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

impl ProverBackend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }
}

/// The CPU LDE: per column a zero-padded coset FFT, bit-reversal in place, then one blocked
/// transpose straight into the row-major leaf buffer (no per-row allocations).
pub fn cpu_lde_rows(polys: &[Vec<F>], rate_bits: usize) -> Vec<F> {
    let k = polys.len();
    if k == 0 {
        return Vec::new();
    }
    let n = polys[0].len();
    let lde = n << rate_bits;
    let table = fft_root_table::<F>(lde);
    let columns: Vec<Vec<F>> = polys
        .par_iter()
        .map(|p| {
            let mut padded = Vec::with_capacity(lde);
            padded.extend_from_slice(p);
            padded.resize(lde, F::ZERO);
            let mut v = PolynomialCoeffs::new(padded)
                .coset_fft_with_options(F::coset_shift(), Some(rate_bits), Some(&table))
                .values;
            reverse_index_bits_in_place(&mut v);
            v
        })
        .collect();
    transpose_into_rows(&columns, lde)
}

/// Row-major transpose of `columns` (each `rows` long), parallel over blocks of rows.
pub fn transpose_into_rows(columns: &[Vec<F>], rows: usize) -> Vec<F> {
    let k = columns.len();
    let mut out = vec![F::ZERO; rows * k];
    // Blocks of rows sized so that one block of the output stays in L2.
    let block_rows = (1usize << 15).div_ceil(k.max(1)).clamp(1, rows.max(1));
    out.par_chunks_mut(block_rows * k).enumerate().for_each(|(b, chunk)| {
        let r0 = b * block_rows;
        let nr = chunk.len() / k;
        for (c, col) in columns.iter().enumerate() {
            for (i, &v) in col[r0..r0 + nr].iter().enumerate() {
                chunk[i * k + c] = v;
            }
        }
    });
    out
}

/// Checks a backend's LDE output length.
pub(crate) fn check_lde_len(got: usize, rows: usize, width: usize) -> Result<(), EngineError> {
    if got != rows * width {
        return Err(EngineError::Backend {
            detail: format!("LDE buffer has {got} elements; expected {rows} rows x {width} columns"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::Sample;
    use plonky2::fri::oracle::PolynomialBatch;
    use plonky2::plonk::config::PoseidonGoldilocksConfig;
    use plonky2::util::timing::TimingTree;

    use super::*;

    #[test]
    fn lde_rows_match_polynomial_batch() {
        for (log_n, k, rate_bits) in [(0, 3, 1), (2, 1, 3), (5, 7, 1), (8, 20, 3), (10, 4, 2), (3, 135, 3), (7, 135, 3)]
        {
            let n = 1 << log_n;
            let values: Vec<PolynomialValues<F>> = (0..k).map(|_| PolynomialValues::new(F::rand_vec(n))).collect();
            let batch = PolynomialBatch::<F, PoseidonGoldilocksConfig, 2>::from_values(
                values.clone(),
                rate_bits,
                false,
                0,
                &mut TimingTree::default(),
                None,
            );
            let coeffs = CpuBackend.ifft_columns(values.into_iter().map(|v| v.values).collect());
            for (ours, theirs) in coeffs.iter().zip(&batch.polynomials) {
                assert_eq!(ours, &theirs.coeffs);
            }
            let rows = CpuBackend.lde_rows(&coeffs, rate_bits);
            assert_eq!(rows.len(), (n << rate_bits) * k);
            for (r, leaf) in batch.merkle_tree.leaves.iter().enumerate() {
                assert_eq!(&rows[r * k..(r + 1) * k], leaf.as_slice(), "row {r} log_n={log_n}");
            }
            let d = CpuBackend.poseidon_merkle(&rows, k, 0).unwrap();
            assert_eq!(d.cap, batch.merkle_tree.cap.0);
            assert_eq!(d.digests, batch.merkle_tree.digests);
        }
    }
}
