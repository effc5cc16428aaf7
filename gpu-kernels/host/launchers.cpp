// Host build of the CUDA kernels: the kernel sources are compiled here as C++ and every launch is emulated by a
// loop over the grid, one "thread" at a time. Used by the Rust `host` module to check every kernel against
// plonky2's CPU code on machines without a GPU.
#include "../cuda/compat.cuh"
#include "../cuda/ntt.cu"
#include "../cuda/poseidon.cu"
#include "../cuda/merkle.cu"

namespace {
const unsigned int kBlock = 256;

// Runs `kernel` for every thread of a 1-D grid covering `total` threads, like <<<ceil(total/256), 256>>>.
template <typename Kernel>
void launch(zkr_u64 total, Kernel kernel) {
    zkr_u64 grid = (total + kBlock - 1) / kBlock;
    blockDim = zkr_dim3{kBlock, 1, 1};
    gridDim = zkr_dim3{(unsigned int)grid, 1, 1};
    for (zkr_u64 b = 0; b < grid; b++) {
        blockIdx = zkr_dim3{(unsigned int)b, 0, 0};
        for (unsigned int t = 0; t < kBlock; t++) {
            threadIdx = zkr_dim3{t, 0, 0};
            kernel();
        }
    }
}
}  // namespace

extern "C" {

void zkr_host_powers(zkr_u64* out, zkr_u64 base, zkr_u64 count) {
    launch(count, [&] { zkr_powers(out, base, count); });
}

void zkr_host_ntt_dif_stage(zkr_u64* data, const zkr_u64* twiddles, zkr_u32 log_n, zkr_u32 stage, zkr_u64 total) {
    launch(total, [&] { zkr_ntt_dif_stage(data, twiddles, log_n, stage, total); });
}

void zkr_host_bitrev_scale(const zkr_u64* src, zkr_u64* dst, zkr_u32 log_n, zkr_u64 scale, zkr_u64 total) {
    launch(total, [&] { zkr_bitrev_scale(src, dst, log_n, scale, total); });
}

void zkr_host_coset_expand(const zkr_u64* coeffs, const zkr_u64* shift_powers, zkr_u64* lde, zkr_u32 log_n,
                           zkr_u32 rate_bits, zkr_u64 total) {
    launch(total, [&] { zkr_coset_expand(coeffs, shift_powers, lde, log_n, rate_bits, total); });
}

void zkr_host_transpose(const zkr_u64* cols, zkr_u64* rows, zkr_u64 len, zkr_u64 batch, zkr_u64 total) {
    launch(total, [&] { zkr_transpose(cols, rows, len, batch, total); });
}

void zkr_host_poseidon_permute_batch(zkr_u64* states, zkr_u64 count) {
    launch(count, [&] { zkr_poseidon_permute_batch(states, count); });
}

void zkr_host_hash_or_noop_batch(const zkr_u64* inputs, zkr_u64 len, zkr_u64* digests, zkr_u64 count) {
    launch(count, [&] { zkr_hash_or_noop_batch(inputs, len, digests, count); });
}

void zkr_host_merkle_leaves(const zkr_u64* leaves, zkr_u64 leaf_len, zkr_u64* digests, zkr_u64* cap,
                            zkr_u32 sub_layers, zkr_u64 num_leaves) {
    launch(num_leaves, [&] { zkr_merkle_leaves(leaves, leaf_len, digests, cap, sub_layers, num_leaves); });
}

void zkr_host_merkle_layer(zkr_u64* digests, zkr_u64* cap, zkr_u32 layer, zkr_u32 sub_layers, zkr_u64 num_nodes) {
    launch(num_nodes, [&] { zkr_merkle_layer(digests, cap, layer, sub_layers, num_nodes); });
}

}  // extern "C"
