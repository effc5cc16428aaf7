// Merkle trees over Poseidon digests, written straight into plonky2's `MerkleTree` layout:
// `digests` holds 2^cap_height contiguous sub-trees of 2 * (2^L - 1) digests each (L = log2(leaves) - cap_height);
// inside a sub-tree the sibling pair p of layer i (layer 0 = leaf digests) sits at pair slot
// p * 2^(i+1) + 2^i - 1, i.e. digests are interleaved "left subtree || left child || right child || right
// subtree". Sub-tree roots are not in `digests`; they form the cap. One launch per layer, one thread per node.
#include "poseidon.cuh"

// Index (in digests, not elements) of node j of layer `layer` (0 = leaf digests), for layers below the cap.
__device__ __forceinline__ zkr_u64 zkr_digest_index(zkr_u64 j, zkr_u32 layer, zkr_u32 sub_layers) {
    zkr_u32 level_bits = sub_layers - layer;  // log2(nodes of this layer per sub-tree)
    zkr_u64 tree = j >> level_bits;
    zkr_u64 local = j & ((1ULL << level_bits) - 1);
    zkr_u64 tree_len = 2 * ((1ULL << sub_layers) - 1);
    zkr_u64 pair_slot = ((local >> 1) << (layer + 1)) + (1ULL << layer) - 1;
    return tree * tree_len + 2 * pair_slot + (local & 1);
}

// Leaf layer: hash leaf j (row j of `leaves`, `leaf_len` elements) and store it where plonky2 keeps it; with no
// layers below the cap (sub_layers == 0) the leaf digests are the cap.
extern "C" __global__ void zkr_merkle_leaves(const zkr_u64* leaves, zkr_u64 leaf_len, zkr_u64* digests,
                                             zkr_u64* cap, zkr_u32 sub_layers, zkr_u64 num_leaves) {
    zkr_u64 j = zkr_tid();
    if (j >= num_leaves) return;
    zkr_u64* out = sub_layers == 0 ? cap + j * ZKR_HASH_LEN : digests + zkr_digest_index(j, 0, sub_layers) * ZKR_HASH_LEN;
    zkr_hash_or_noop(leaves + j * leaf_len, leaf_len, out);
}

// Layer `layer` >= 1: node j = two_to_one(children 2j, 2j + 1 of layer - 1), which plonky2 stores side by side.
// The top layer (layer == sub_layers) goes to the cap.
extern "C" __global__ void zkr_merkle_layer(zkr_u64* digests, zkr_u64* cap, zkr_u32 layer, zkr_u32 sub_layers,
                                            zkr_u64 num_nodes) {
    zkr_u64 j = zkr_tid();
    if (j >= num_nodes) return;
    const zkr_u64* left = digests + zkr_digest_index(2 * j, layer - 1, sub_layers) * ZKR_HASH_LEN;
    zkr_u64* out = layer == sub_layers ? cap + j * ZKR_HASH_LEN : digests + zkr_digest_index(j, layer, sub_layers) * ZKR_HASH_LEN;
    zkr_two_to_one(left, left + ZKR_HASH_LEN, out);
}
