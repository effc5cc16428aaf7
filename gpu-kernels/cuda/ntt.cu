// Batched NTT building blocks over Goldilocks. Layout: `batch` columns of n = 2^log_n elements each,
// column-major (element i of column c at c * n + i). Every kernel is one independent thread per output
// element or butterfly, with no shared memory and no __syncthreads: a multi-stage transform is a sequence
// of launches, which lets the same source run as host C++ (see host/launchers.cpp).
#include "goldilocks.cuh"

// out[k] = base^k for k < count. Each thread exponentiates on its own (log k multiplications): tables are
// built once per transform size, and this keeps the kernel dependency-free.
extern "C" __global__ void zkr_powers(zkr_u64* out, zkr_u64 base, zkr_u64 count) {
    zkr_u64 k = zkr_tid();
    if (k >= count) return;
    out[k] = gl_pow(base, k);
}

// One Gentleman-Sande (decimation-in-frequency) stage with half-width h = 2^stage, applied to every column.
// `twiddles[k]` = w^k for k < n/2 where w is the primitive n-th root used by the transform. Running stages
// log_n-1 down to 0 maps natural-order input to bit-reversed-order output.
extern "C" __global__ void zkr_ntt_dif_stage(zkr_u64* data, const zkr_u64* twiddles, zkr_u32 log_n, zkr_u32 stage,
                                             zkr_u64 total_butterflies) {
    zkr_u64 t = zkr_tid();
    if (t >= total_butterflies) return;
    zkr_u64 half_n = 1ULL << (log_n - 1);
    zkr_u64 col = t >> (log_n - 1);
    zkr_u64 b = t & (half_n - 1);
    zkr_u64 h = 1ULL << stage;
    zkr_u64 j = b & (h - 1);
    zkr_u64 block = b >> stage;
    zkr_u64* base = data + (col << log_n);
    zkr_u64 i0 = block * 2 * h + j;
    zkr_u64 i1 = i0 + h;
    zkr_u64 x = base[i0];
    zkr_u64 y = base[i1];
    // w_{2h}^j = w_n^(j * n / 2h)
    zkr_u64 w = twiddles[j << (log_n - 1 - stage)];
    base[i0] = gl_add(x, y);
    base[i1] = gl_mul(gl_sub(x, y), w);
}

// dst[c * n + i] = src[c * n + bitrev(i)] * scale: undoes the DIF output order (scale = 1/n finishes an
// inverse transform, scale = 1 a forward one).
extern "C" __global__ void zkr_bitrev_scale(const zkr_u64* src, zkr_u64* dst, zkr_u32 log_n, zkr_u64 scale,
                                            zkr_u64 total) {
    zkr_u64 t = zkr_tid();
    if (t >= total) return;
    zkr_u64 col = t >> log_n;
    zkr_u64 i = t & ((1ULL << log_n) - 1);
    zkr_u64 v = src[(col << log_n) + zkr_bitrev(i, log_n)];
    dst[t] = scale == 1 ? v : gl_mul(v, scale);
}

// Coset low-degree extension input: lde[c * N + i] = coeffs[c * n + i] * shift^i for i < n, and 0 for
// n <= i < N = n << rate_bits. A forward transform of the result evaluates each polynomial on shift * <w_N>.
extern "C" __global__ void zkr_coset_expand(const zkr_u64* coeffs, const zkr_u64* shift_powers, zkr_u64* lde,
                                            zkr_u32 log_n, zkr_u32 rate_bits, zkr_u64 total) {
    zkr_u64 t = zkr_tid();
    if (t >= total) return;
    zkr_u32 log_big = log_n + rate_bits;
    zkr_u64 col = t >> log_big;
    zkr_u64 i = t & ((1ULL << log_big) - 1);
    zkr_u64 n = 1ULL << log_n;
    lde[t] = i < n ? gl_mul(coeffs[(col << log_n) + i], shift_powers[i]) : 0;
}

// rows[r * batch + c] = cols[c * len + r]: turns per-polynomial columns into Merkle leaves (one row per
// evaluation point, one element per polynomial).
extern "C" __global__ void zkr_transpose(const zkr_u64* cols, zkr_u64* rows, zkr_u64 len, zkr_u64 batch,
                                         zkr_u64 total) {
    zkr_u64 t = zkr_tid();
    if (t >= total) return;
    zkr_u64 r = t / batch;
    zkr_u64 c = t - r * batch;
    rows[t] = cols[c * len + r];
}
