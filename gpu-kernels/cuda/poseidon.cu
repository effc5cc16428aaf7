// Batched Poseidon kernels: one thread per state / per leaf.
#include "poseidon.cuh"

// states: `count` consecutive 12-element states, permuted in place.
extern "C" __global__ void zkr_poseidon_permute_batch(zkr_u64* states, zkr_u64 count) {
    zkr_u64 t = zkr_tid();
    if (t >= count) return;
    zkr_u64 s[ZKR_WIDTH];
    for (int i = 0; i < ZKR_WIDTH; i++) s[i] = states[t * ZKR_WIDTH + i];
    zkr_poseidon_permute(s);
    for (int i = 0; i < ZKR_WIDTH; i++) states[t * ZKR_WIDTH + i] = s[i];
}

// digests[t] = hash_or_noop(inputs[t * len .. (t + 1) * len]), 4 elements per digest.
extern "C" __global__ void zkr_hash_or_noop_batch(const zkr_u64* inputs, zkr_u64 len, zkr_u64* digests,
                                                  zkr_u64 count) {
    zkr_u64 t = zkr_tid();
    if (t >= count) return;
    zkr_hash_or_noop(inputs + t * len, len, digests + t * ZKR_HASH_LEN);
}
