//! The launch sequences, written once over an [`Exec`] (a device: host emulation or CUDA), so that the host
//! tests exercise exactly the orchestration the GPU runs.

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, PrimeField64};

use crate::error::GpuError;

type F = GoldilocksField;

/// Digest size in field elements.
pub(crate) const HASH_LEN: usize = 4;
/// Poseidon state width.
pub(crate) const WIDTH: usize = 12;
/// Goldilocks two-adicity: the largest supported transform is 2^32 points.
pub(crate) const MAX_LOG_SIZE: usize = 32;

/// One device's buffers and kernel launches. Buffers hold canonical Goldilocks elements as u64.
pub(crate) trait Exec {
    type Buf;

    /// Errors out when a job needing `bytes` of device memory cannot fit.
    fn check_fits(&self, job: &str, bytes: u64) -> Result<(), GpuError>;
    fn upload(&self, data: &[u64]) -> Result<Self::Buf, GpuError>;
    fn zeros(&self, len: usize) -> Result<Self::Buf, GpuError>;
    /// Copies the first `len` elements back.
    fn download(&self, buf: &Self::Buf, len: usize) -> Result<Vec<u64>, GpuError>;

    fn powers(&self, out: &mut Self::Buf, base: u64, count: u64) -> Result<(), GpuError>;
    fn dif_stage(
        &self,
        data: &mut Self::Buf,
        tw: &Self::Buf,
        log_n: u32,
        stage: u32,
        total: u64,
    ) -> Result<(), GpuError>;
    fn bitrev_scale(
        &self,
        src: &Self::Buf,
        dst: &mut Self::Buf,
        log_n: u32,
        scale: u64,
        total: u64,
    ) -> Result<(), GpuError>;
    #[allow(clippy::too_many_arguments)]
    fn coset_expand(
        &self,
        coeffs: &Self::Buf,
        shift_powers: &Self::Buf,
        lde: &mut Self::Buf,
        log_n: u32,
        rate_bits: u32,
        total: u64,
    ) -> Result<(), GpuError>;
    fn transpose(
        &self,
        cols: &Self::Buf,
        rows: &mut Self::Buf,
        len: u64,
        batch: u64,
        total: u64,
    ) -> Result<(), GpuError>;
    fn permute(&self, states: &mut Self::Buf, count: u64) -> Result<(), GpuError>;
    fn hash_or_noop(&self, inputs: &Self::Buf, len: u64, digests: &mut Self::Buf, count: u64) -> Result<(), GpuError>;
    #[allow(clippy::too_many_arguments)]
    fn merkle_leaves(
        &self,
        leaves: &Self::Buf,
        leaf_len: u64,
        digests: &mut Self::Buf,
        cap: &mut Self::Buf,
        sub_layers: u32,
        num_leaves: u64,
    ) -> Result<(), GpuError>;
    fn merkle_layer(
        &self,
        digests: &mut Self::Buf,
        cap: &mut Self::Buf,
        layer: u32,
        sub_layers: u32,
        nodes: u64,
    ) -> Result<(), GpuError>;
}

/// Checks that `lens` are all equal to one power of two and returns its log2.
pub(crate) fn common_log_len(op: &'static str, lens: impl Iterator<Item = usize>) -> Result<(usize, usize), GpuError> {
    let mut count = 0;
    let mut first = None;
    for (i, len) in lens.enumerate() {
        count += 1;
        match first {
            None => first = Some(len),
            Some(f) if f != len => {
                return Err(GpuError::invalid(op, format!("polynomial {i} has {len} elements, polynomial 0 has {f}")))
            }
            Some(_) => {}
        }
    }
    let len = first.ok_or_else(|| GpuError::invalid(op, "empty batch: expected at least one polynomial"))?;
    if !len.is_power_of_two() {
        return Err(GpuError::invalid(op, format!("length {len} is not a power of two")));
    }
    let log = len.trailing_zeros() as usize;
    if log > MAX_LOG_SIZE {
        return Err(GpuError::invalid(op, format!("length 2^{log} exceeds the 2^{MAX_LOG_SIZE} two-adicity")));
    }
    Ok((count, log))
}

/// Twiddle table of the size-2^log_n transform with root `root` (root^k for k < n/2, at least one entry).
fn twiddles<E: Exec>(e: &E, root: F, log_n: usize) -> Result<E::Buf, GpuError> {
    let count = (1u64 << log_n) / 2;
    let count = count.max(1);
    let mut tw = e.zeros(count as usize)?;
    e.powers(&mut tw, root.to_canonical_u64(), count)?;
    Ok(tw)
}

/// In-place DIF transform of `batch` columns of 2^log_n: natural order in, bit-reversed order out.
fn dif_in_place<E: Exec>(e: &E, data: &mut E::Buf, batch: usize, log_n: usize, tw: &E::Buf) -> Result<(), GpuError> {
    if log_n == 0 {
        return Ok(());
    }
    let butterflies = (batch as u64) << (log_n - 1);
    for stage in (0..log_n as u32).rev() {
        e.dif_stage(data, tw, log_n as u32, stage, butterflies)?;
    }
    Ok(())
}

/// Inverse transform of value columns (natural order, evaluations on <w_n>) into natural-order coefficients.
/// Consumes `values` (used as scratch).
pub(crate) fn ifft_cols<E: Exec>(e: &E, mut values: E::Buf, batch: usize, log_n: usize) -> Result<E::Buf, GpuError> {
    let n = 1usize << log_n;
    let inv_root = F::primitive_root_of_unity(log_n).inverse();
    let tw = twiddles(e, inv_root, log_n)?;
    dif_in_place(e, &mut values, batch, log_n, &tw)?;
    let mut coeffs = e.zeros(batch * n)?;
    let n_inv = F::from_canonical_usize(n).inverse();
    e.bitrev_scale(&values, &mut coeffs, log_n as u32, n_inv.to_canonical_u64(), (batch * n) as u64)?;
    Ok(coeffs)
}

/// Forward transform of coefficient columns into natural-order values on <w_n>. Consumes `coeffs`.
pub(crate) fn fft_cols<E: Exec>(e: &E, mut coeffs: E::Buf, batch: usize, log_n: usize) -> Result<E::Buf, GpuError> {
    let n = 1usize << log_n;
    let tw = twiddles(e, F::primitive_root_of_unity(log_n), log_n)?;
    dif_in_place(e, &mut coeffs, batch, log_n, &tw)?;
    let mut values = e.zeros(batch * n)?;
    e.bitrev_scale(&coeffs, &mut values, log_n as u32, 1, (batch * n) as u64)?;
    Ok(values)
}

/// Coset LDE of coefficient columns, returned as plonky2's Merkle leaves: 2^(log_n + rate_bits) rows of `batch`
/// elements, row k holding every polynomial at shift * w^bitrev(k) (shift = F::coset_shift()).
pub(crate) fn lde_rows<E: Exec>(
    e: &E,
    coeffs: &E::Buf,
    batch: usize,
    log_n: usize,
    rate_bits: usize,
) -> Result<E::Buf, GpuError> {
    let n = 1usize << log_n;
    let log_big = log_n + rate_bits;
    let big = 1usize << log_big;
    let mut shift_powers = e.zeros(n)?;
    e.powers(&mut shift_powers, F::coset_shift().to_canonical_u64(), n as u64)?;
    let mut lde = e.zeros(batch * big)?;
    e.coset_expand(coeffs, &shift_powers, &mut lde, log_n as u32, rate_bits as u32, (batch * big) as u64)?;
    drop(shift_powers);
    let tw = twiddles(e, F::primitive_root_of_unity(log_big), log_big)?;
    // The DIF output order is bit-reversed, which is exactly plonky2's leaf order: no permutation needed.
    dif_in_place(e, &mut lde, batch, log_big, &tw)?;
    drop(tw);
    let mut rows = e.zeros(batch * big)?;
    e.transpose(&lde, &mut rows, big as u64, batch as u64, (batch * big) as u64)?;
    Ok(rows)
}

/// Digests and cap of a Merkle tree over `2^log_leaves` leaves of `leaf_len` elements (row-major in `leaves`),
/// in plonky2's `MerkleTree` layout, as flat u64 (4 per digest).
pub(crate) fn merkle<E: Exec>(
    e: &E,
    leaves: &E::Buf,
    leaf_len: usize,
    log_leaves: usize,
    cap_height: usize,
) -> Result<(Vec<u64>, Vec<u64>), GpuError> {
    let sub_layers = log_leaves - cap_height;
    let num_leaves = 1usize << log_leaves;
    let num_digests = 2 * (num_leaves - (1 << cap_height));
    let mut digests = e.zeros((num_digests * HASH_LEN).max(1))?;
    let mut cap = e.zeros((1usize << cap_height) * HASH_LEN)?;
    e.merkle_leaves(leaves, leaf_len as u64, &mut digests, &mut cap, sub_layers as u32, num_leaves as u64)?;
    for layer in 1..=sub_layers {
        e.merkle_layer(&mut digests, &mut cap, layer as u32, sub_layers as u32, (num_leaves >> layer) as u64)?;
    }
    Ok((e.download(&digests, num_digests * HASH_LEN)?, e.download(&cap, (1usize << cap_height) * HASH_LEN)?))
}

/// Bytes of device memory `commit` needs at its peak (values/coeffs, the LDE columns and rows, tables, tree).
pub(crate) fn commit_bytes(batch: usize, log_n: usize, rate_bits: usize) -> u64 {
    let n = 1u64 << log_n.min(63);
    let big = n.saturating_mul(1u64 << rate_bits.min(63));
    let b2 = (batch as u64).saturating_mul(2);
    // values/coeffs + LDE columns + rows + tables + digests and cap.
    let words = b2
        .saturating_mul(n)
        .saturating_add(b2.saturating_mul(big))
        .saturating_add(big / 2 + n)
        .saturating_add(big.saturating_mul(3 * HASH_LEN as u64));
    words.saturating_mul(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_bytes_counts_the_lde_and_saturates() {
        // 100 polys of 2^12 at rate 3: the two LDE buffers alone are 2 * 100 * 2^15 words.
        let bytes = commit_bytes(100, 12, 3);
        assert!(bytes >= 2 * 100 * (1 << 15) * 8);
        assert!(bytes < 4 * 100 * (1 << 15) * 8);
        assert_eq!(commit_bytes(usize::MAX, 32, 40), u64::MAX);
    }
}
