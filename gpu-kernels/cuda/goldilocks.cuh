// Goldilocks field arithmetic, p = 2^64 - 2^32 + 1.
// Every function takes canonical inputs (< p) and returns canonical outputs, so results can be compared
// bit for bit with plonky2's `to_canonical_u64()`.
// No standard headers: NVRTC compiles this without a libc, and the host build maps CUDA names in compat.cuh.
#ifndef ZKR_GOLDILOCKS_CUH
#define ZKR_GOLDILOCKS_CUH

typedef unsigned long long zkr_u64;
typedef unsigned int zkr_u32;

#define ZKR_P 0xFFFFFFFF00000001ULL
// 2^64 mod p = 2^32 - 1.
#define ZKR_EPS 0xFFFFFFFFULL

// Global thread index of a 1-D launch; 64-bit because blockIdx.x * blockDim.x can exceed 2^32.
__device__ __forceinline__ zkr_u64 zkr_tid() {
    return (zkr_u64)blockIdx.x * (zkr_u64)blockDim.x + (zkr_u64)threadIdx.x;
}

__device__ __forceinline__ zkr_u64 zkr_mulhi(zkr_u64 a, zkr_u64 b) {
#if defined(__CUDACC__)
    return __umul64hi(a, b);
#else
    return (zkr_u64)(((unsigned __int128)a * (unsigned __int128)b) >> 64);
#endif
}

__device__ __forceinline__ zkr_u64 gl_add(zkr_u64 a, zkr_u64 b) {
    zkr_u64 s = a + b;
    // The true sum is below 2p, so one correction suffices; on 64-bit overflow, 2^64 == EPS (mod p).
    if (s < a) {
        s += ZKR_EPS;
    } else if (s >= ZKR_P) {
        s -= ZKR_P;
    }
    return s;
}

__device__ __forceinline__ zkr_u64 gl_sub(zkr_u64 a, zkr_u64 b) {
    zkr_u64 d = a - b;
    // On borrow d = a - b + 2^64; adding p means subtracting 2^64 - p = EPS.
    if (a < b) {
        d -= ZKR_EPS;
    }
    return d;
}

// Reduces hi * 2^64 + lo using 2^64 == 2^32 - 1 and 2^96 == -1 (mod p).
__device__ __forceinline__ zkr_u64 gl_reduce128(zkr_u64 lo, zkr_u64 hi) {
    zkr_u64 hi_hi = hi >> 32;
    zkr_u64 hi_lo = hi & ZKR_EPS;
    zkr_u64 t0 = lo - hi_hi;
    if (lo < hi_hi) {
        t0 -= ZKR_EPS;
    }
    zkr_u64 t1 = hi_lo * ZKR_EPS;
    zkr_u64 r = t0 + t1;
    if (r < t1) {
        r += ZKR_EPS;
    }
    if (r >= ZKR_P) {
        r -= ZKR_P;
    }
    return r;
}

__device__ __forceinline__ zkr_u64 gl_mul(zkr_u64 a, zkr_u64 b) {
    return gl_reduce128(a * b, zkr_mulhi(a, b));
}

__device__ __forceinline__ zkr_u64 gl_pow(zkr_u64 base, zkr_u64 exp) {
    zkr_u64 acc = 1;
    while (exp != 0) {
        if (exp & 1) {
            acc = gl_mul(acc, base);
        }
        base = gl_mul(base, base);
        exp >>= 1;
    }
    return acc;
}

// Reverses the low `bits` bits of `x` (bits <= 63).
__device__ __forceinline__ zkr_u64 zkr_bitrev(zkr_u64 x, zkr_u32 bits) {
#if defined(__CUDACC__)
    return bits == 0 ? 0 : (__brevll(x) >> (64 - bits));
#else
    zkr_u64 r = 0;
    for (zkr_u32 i = 0; i < bits; i++) {
        r = (r << 1) | ((x >> i) & 1);
    }
    return r;
#endif
}

#endif
