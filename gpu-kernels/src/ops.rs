//! The public operations, generic over the device; [`crate::Kernels`] forwards here for every backend.

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::polynomial::{PolynomialCoeffs, PolynomialValues};
use plonky2::field::types::{Field, PrimeField64};
use plonky2::hash::hash_types::HashOut;
use plonky2::hash::merkle_tree::{MerkleCap, MerkleTree};
use plonky2::hash::poseidon::PoseidonHash;
use tracing::debug_span;

use crate::error::GpuError;
use crate::exec::{self, common_log_len, Exec, HASH_LEN, MAX_LOG_SIZE, WIDTH};
use crate::Commitment;

type F = GoldilocksField;

fn flatten<'a>(cols: impl Iterator<Item = &'a [F]>) -> Vec<u64> {
    cols.flat_map(|c| c.iter().map(|x| x.to_canonical_u64())).collect()
}

fn to_field(v: &[u64]) -> Vec<F> {
    v.iter().map(|&x| F::from_canonical_u64(x)).collect()
}

fn to_digests(v: &[u64]) -> Vec<HashOut<F>> {
    v.chunks_exact(HASH_LEN)
        .map(|c| HashOut { elements: [c[0], c[1], c[2], c[3]].map(F::from_canonical_u64) })
        .collect()
}

fn check_rate(op: &'static str, log_n: usize, rate_bits: usize) -> Result<(), GpuError> {
    if log_n + rate_bits > MAX_LOG_SIZE {
        return Err(GpuError::invalid(
            op,
            format!("LDE size 2^({log_n}+{rate_bits}) exceeds the 2^{MAX_LOG_SIZE} two-adicity"),
        ));
    }
    Ok(())
}

fn check_leaves(op: &'static str, leaves: &[Vec<F>], cap_height: usize) -> Result<(usize, usize), GpuError> {
    let n = leaves.len();
    if n == 0 || !n.is_power_of_two() {
        return Err(GpuError::invalid(op, format!("{n} leaves: expected a non-zero power of two")));
    }
    let log = n.trailing_zeros() as usize;
    if cap_height > log {
        return Err(GpuError::invalid(op, format!("cap height {cap_height} exceeds log2(leaves) = {log}")));
    }
    let leaf_len = leaves[0].len();
    if let Some(i) = leaves.iter().position(|l| l.len() != leaf_len) {
        return Err(GpuError::invalid(op, format!("leaf {i} has {} elements, leaf 0 has {leaf_len}", leaves[i].len())));
    }
    Ok((log, leaf_len))
}

pub(crate) fn ifft_batch<E: Exec>(e: &E, values: &[PolynomialValues<F>]) -> Result<Vec<PolynomialCoeffs<F>>, GpuError> {
    let _span = debug_span!("ifft_batch", polys = values.len()).entered();
    let (batch, log_n) = common_log_len("ifft_batch", values.iter().map(|v| v.values.len()))?;
    e.check_fits("ifft_batch", 3 * ((batch as u64) << log_n) * 8)?;
    let buf = e.upload(&flatten(values.iter().map(|v| v.values.as_slice())))?;
    let coeffs = exec::ifft_cols(e, buf, batch, log_n)?;
    let flat = e.download(&coeffs, batch << log_n)?;
    Ok(flat.chunks_exact(1 << log_n).map(|c| PolynomialCoeffs::new(to_field(c))).collect())
}

pub(crate) fn fft_batch<E: Exec>(e: &E, coeffs: &[PolynomialCoeffs<F>]) -> Result<Vec<PolynomialValues<F>>, GpuError> {
    let _span = debug_span!("fft_batch", polys = coeffs.len()).entered();
    let (batch, log_n) = common_log_len("fft_batch", coeffs.iter().map(|v| v.coeffs.len()))?;
    e.check_fits("fft_batch", 3 * ((batch as u64) << log_n) * 8)?;
    let buf = e.upload(&flatten(coeffs.iter().map(|v| v.coeffs.as_slice())))?;
    let values = exec::fft_cols(e, buf, batch, log_n)?;
    let flat = e.download(&values, batch << log_n)?;
    Ok(flat.chunks_exact(1 << log_n).map(|c| PolynomialValues::new(to_field(c))).collect())
}

pub(crate) fn coset_lde_leaves<E: Exec>(
    e: &E,
    coeffs: &[PolynomialCoeffs<F>],
    rate_bits: usize,
) -> Result<Vec<Vec<F>>, GpuError> {
    let _span = debug_span!("coset_lde_leaves", polys = coeffs.len(), rate_bits).entered();
    let (batch, log_n) = common_log_len("coset_lde_leaves", coeffs.iter().map(|v| v.coeffs.len()))?;
    check_rate("coset_lde_leaves", log_n, rate_bits)?;
    e.check_fits("coset_lde_leaves", exec::commit_bytes(batch, log_n, rate_bits))?;
    let buf = e.upload(&flatten(coeffs.iter().map(|v| v.coeffs.as_slice())))?;
    let rows = exec::lde_rows(e, &buf, batch, log_n, rate_bits)?;
    let flat = e.download(&rows, batch << (log_n + rate_bits))?;
    Ok(flat.chunks_exact(batch).map(to_field).collect())
}

pub(crate) fn poseidon_permute_batch<E: Exec>(e: &E, states: &[[F; WIDTH]]) -> Result<Vec<[F; WIDTH]>, GpuError> {
    if states.is_empty() {
        return Ok(Vec::new());
    }
    e.check_fits("poseidon_permute_batch", (states.len() * WIDTH * 8) as u64)?;
    let mut buf = e.upload(&flatten(states.iter().map(|s| s.as_slice())))?;
    e.permute(&mut buf, states.len() as u64)?;
    let flat = e.download(&buf, states.len() * WIDTH)?;
    Ok(flat.chunks_exact(WIDTH).map(|c| core::array::from_fn(|i| F::from_canonical_u64(c[i]))).collect())
}

pub(crate) fn hash_or_noop_batch<E: Exec>(e: &E, inputs: &[Vec<F>]) -> Result<Vec<HashOut<F>>, GpuError> {
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let len = inputs[0].len();
    if let Some(i) = inputs.iter().position(|l| l.len() != len) {
        return Err(GpuError::invalid(
            "hash_or_noop_batch",
            format!("input {i} has {} elements, input 0 has {len}", inputs[i].len()),
        ));
    }
    let count = inputs.len();
    e.check_fits("hash_or_noop_batch", ((count * len + count * HASH_LEN) * 8) as u64)?;
    let mut flat = flatten(inputs.iter().map(|l| l.as_slice()));
    if flat.is_empty() {
        flat.push(0); // device buffers cannot be empty; a zero-length leaf reads nothing
    }
    let buf = e.upload(&flat)?;
    let mut digests = e.zeros(count * HASH_LEN)?;
    e.hash_or_noop(&buf, len as u64, &mut digests, count as u64)?;
    Ok(to_digests(&e.download(&digests, count * HASH_LEN)?))
}

pub(crate) fn merkle_tree<E: Exec>(
    e: &E,
    leaves: Vec<Vec<F>>,
    cap_height: usize,
) -> Result<MerkleTree<F, PoseidonHash>, GpuError> {
    let _span = debug_span!("merkle_tree", leaves = leaves.len(), cap_height).entered();
    let (log, leaf_len) = check_leaves("merkle_tree", &leaves, cap_height)?;
    let n = leaves.len() as u64;
    e.check_fits("merkle_tree", (n * leaf_len as u64 + 3 * n * HASH_LEN as u64) * 8)?;
    let mut flat = flatten(leaves.iter().map(|l| l.as_slice()));
    if flat.is_empty() {
        flat.push(0);
    }
    let buf = e.upload(&flat)?;
    let (digests, cap) = exec::merkle(e, &buf, leaf_len, log, cap_height)?;
    Ok(MerkleTree { leaves, digests: to_digests(&digests), cap: MerkleCap(to_digests(&cap)) })
}

/// IFFT (optional) + coset LDE + Merkle tree, all on the device with one upload.
pub(crate) fn commit<E: Exec>(
    e: &E,
    input: CommitInput<'_>,
    rate_bits: usize,
    cap_height: usize,
) -> Result<Commitment, GpuError> {
    let op = "commit";
    let (batch, log_n, flat) = match input {
        CommitInput::Values(v) => {
            let (b, l) = common_log_len(op, v.iter().map(|p| p.values.len()))?;
            (b, l, flatten(v.iter().map(|p| p.values.as_slice())))
        }
        CommitInput::Coeffs(c) => {
            let (b, l) = common_log_len(op, c.iter().map(|p| p.coeffs.len()))?;
            (b, l, flatten(c.iter().map(|p| p.coeffs.as_slice())))
        }
    };
    check_rate(op, log_n, rate_bits)?;
    let log_big = log_n + rate_bits;
    if cap_height > log_big {
        return Err(GpuError::invalid(op, format!("cap height {cap_height} exceeds log2(LDE size) = {log_big}")));
    }
    let _span = debug_span!("commit", polys = batch, log_n, rate_bits, cap_height).entered();
    e.check_fits(
        &format!("commit of {batch} x 2^{log_n} at rate_bits {rate_bits}"),
        exec::commit_bytes(batch, log_n, rate_bits),
    )?;
    let buf = e.upload(&flat)?;
    drop(flat);
    let coeffs = match input {
        CommitInput::Values(_) => exec::ifft_cols(e, buf, batch, log_n)?,
        CommitInput::Coeffs(_) => buf,
    };
    let coeffs_host = e.download(&coeffs, batch << log_n)?;
    let rows = exec::lde_rows(e, &coeffs, batch, log_n, rate_bits)?;
    drop(coeffs);
    let (digests, cap) = exec::merkle(e, &rows, batch, log_big, cap_height)?;
    let rows_host = e.download(&rows, batch << log_big)?;
    drop(rows);
    let polynomials = coeffs_host.chunks_exact(1 << log_n).map(|c| PolynomialCoeffs::new(to_field(c))).collect();
    let leaves = rows_host.chunks_exact(batch).map(to_field).collect();
    Ok(Commitment {
        polynomials,
        merkle_tree: MerkleTree { leaves, digests: to_digests(&digests), cap: MerkleCap(to_digests(&cap)) },
        degree_log: log_n,
        rate_bits,
    })
}

/// What `commit` starts from.
#[derive(Clone, Copy)]
pub(crate) enum CommitInput<'a> {
    Values(&'a [PolynomialValues<F>]),
    Coeffs(&'a [PolynomialCoeffs<F>]),
}
