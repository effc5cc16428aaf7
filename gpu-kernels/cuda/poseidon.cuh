// Poseidon over Goldilocks, width 12 (rate 8, capacity 4), 4 + 22 + 4 rounds, x^7 S-box: the permutation
// plonky2's `PoseidonHash` uses. This is the plain round structure (add constants, S-box, MDS in every round);
// plonky2's "fast partial rounds" are an algebraically identical rewrite of the same permutation.
#ifndef ZKR_POSEIDON_CUH
#define ZKR_POSEIDON_CUH
#include "goldilocks.cuh"
#include "poseidon_constants.cuh"

#define ZKR_WIDTH 12
#define ZKR_RATE 8
#define ZKR_HASH_LEN 4

__device__ __forceinline__ zkr_u64 gl_sbox(zkr_u64 x) {
    zkr_u64 x2 = gl_mul(x, x);
    zkr_u64 x4 = gl_mul(x2, x2);
    return gl_mul(gl_mul(x4, x2), x);
}

// state <- M * state, M = circulant(MDS_CIRC) + diag(MDS_DIAG). The entries are below 2^7, so each row is
// accumulated exactly from 32-bit halves (sum of 12 terms < 2^43 per half, no 128-bit products) and reduced once.
__device__ __forceinline__ void zkr_mds(zkr_u64* state) {
    zkr_u64 out[ZKR_WIDTH];
    for (int r = 0; r < ZKR_WIDTH; r++) {
        zkr_u64 sum_lo = 0;  // sum of (v mod 2^32) * c
        zkr_u64 sum_hi = 0;  // sum of (v >> 32) * c
        for (int i = 0; i < ZKR_WIDTH; i++) {
            int idx = i + r;
            if (idx >= ZKR_WIDTH) idx -= ZKR_WIDTH;
            zkr_u64 v = state[idx];
            zkr_u64 c = ZKR_MDS_CIRC[i] + (i == 0 ? ZKR_MDS_DIAG[r] : 0ULL);
            sum_lo += (v & 0xFFFFFFFFULL) * c;
            sum_hi += (v >> 32) * c;
        }
        // value = sum_hi * 2^32 + sum_lo, as a 128-bit (lo, hi) pair.
        zkr_u64 lo = sum_lo + (sum_hi << 32);
        zkr_u64 hi = (sum_hi >> 32) + (lo < sum_lo ? 1ULL : 0ULL);
        out[r] = gl_reduce128(lo, hi);
    }
    for (int r = 0; r < ZKR_WIDTH; r++) state[r] = out[r];
}

__device__ __forceinline__ void zkr_add_round_constants(zkr_u64* state, int round) {
    for (int i = 0; i < ZKR_WIDTH; i++) state[i] = gl_add(state[i], ZKR_POSEIDON_RC[round * ZKR_WIDTH + i]);
}

__device__ __forceinline__ void zkr_poseidon_permute(zkr_u64* state) {
    int round = 0;
    for (int k = 0; k < ZKR_HALF_FULL_ROUNDS; k++, round++) {
        zkr_add_round_constants(state, round);
        for (int i = 0; i < ZKR_WIDTH; i++) state[i] = gl_sbox(state[i]);
        zkr_mds(state);
    }
    for (int k = 0; k < ZKR_PARTIAL_ROUNDS; k++, round++) {
        zkr_add_round_constants(state, round);
        state[0] = gl_sbox(state[0]);
        zkr_mds(state);
    }
    for (int k = 0; k < ZKR_HALF_FULL_ROUNDS; k++, round++) {
        zkr_add_round_constants(state, round);
        for (int i = 0; i < ZKR_WIDTH; i++) state[i] = gl_sbox(state[i]);
        zkr_mds(state);
    }
}

// plonky2's `hash_or_noop`: inputs of at most 4 elements are the digest themselves (zero padded); longer
// inputs go through the overwrite-mode sponge without padding (`hash_no_pad`) and the digest is state[0..4].
__device__ __forceinline__ void zkr_hash_or_noop(const zkr_u64* in, zkr_u64 len, zkr_u64* out) {
    if (len <= ZKR_HASH_LEN) {
        for (zkr_u64 i = 0; i < ZKR_HASH_LEN; i++) out[i] = i < len ? in[i] : 0ULL;
        return;
    }
    zkr_u64 state[ZKR_WIDTH];
    for (int i = 0; i < ZKR_WIDTH; i++) state[i] = 0;
    for (zkr_u64 start = 0; start < len; start += ZKR_RATE) {
        zkr_u64 chunk = len - start < ZKR_RATE ? len - start : ZKR_RATE;
        for (zkr_u64 i = 0; i < chunk; i++) state[i] = in[start + i];
        zkr_poseidon_permute(state);
    }
    for (int i = 0; i < ZKR_HASH_LEN; i++) out[i] = state[i];
}

// plonky2's `two_to_one` for Poseidon: state = left || right || 0^4, permute, take state[0..4].
__device__ __forceinline__ void zkr_two_to_one(const zkr_u64* left, const zkr_u64* right, zkr_u64* out) {
    zkr_u64 state[ZKR_WIDTH];
    for (int i = 0; i < ZKR_HASH_LEN; i++) {
        state[i] = left[i];
        state[ZKR_HASH_LEN + i] = right[i];
        state[2 * ZKR_HASH_LEN + i] = 0;
    }
    zkr_poseidon_permute(state);
    for (int i = 0; i < ZKR_HASH_LEN; i++) out[i] = state[i];
}

#endif
