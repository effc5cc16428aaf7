//! Merkle trees over flat, row-major leaf buffers, in plonky2's exact digest layout.
//!
//! plonky2's `MerkleTree` stores every leaf as its own `Vec`; the engine keeps all leaves in one
//! row-major buffer (what an LDE produces and what a GPU kernel consumes) and reproduces the
//! same `digests` order so that caps and authentication paths are identical.
//!
//! Layout (per cap subtree of `m` leaves, `2(m-1)` digests): the buffer splits into a left and
//! a right half; the left half ends with the left child's digest, the right half starts with the
//! right child's digest, and the remaining parts hold the two sub-subtrees recursively.

use plonky2::hash::hash_types::RichField;
use plonky2::hash::merkle_proofs::MerkleProof;
use plonky2::hash::merkle_tree::MerkleCap;
use plonky2::plonk::config::Hasher;
use rayon::prelude::*;

use crate::EngineError;

/// Below this many leaves a subtree is hashed on the current thread (rayon overhead dominates).
const SEQUENTIAL_LEAVES: usize = 64;

/// A Merkle tree whose leaves are rows of a flat row-major buffer.
#[derive(Clone, Debug)]
pub struct FlatMerkleTree<F: RichField, H: Hasher<F>> {
    /// `num_leaves * width` elements, leaf `i` at `[i * width, (i + 1) * width)`.
    pub leaves: Vec<F>,
    /// Elements per leaf.
    pub width: usize,
    /// Inner digests in plonky2's layout (`2 * (num_leaves - cap_len)` of them).
    pub digests: Vec<H::Hash>,
    /// The cap (`2^cap_height` digests).
    pub cap: MerkleCap<F, H>,
}

impl<F: RichField, H: Hasher<F>> FlatMerkleTree<F, H> {
    /// Builds the tree on the CPU (rayon), for any hasher.
    pub fn build_cpu(leaves: Vec<F>, width: usize, cap_height: usize) -> Result<Self, EngineError> {
        let (digests, cap) = cpu_digests::<F, H>(&leaves, width, cap_height)?;
        Ok(Self { leaves, width, digests, cap: MerkleCap(cap) })
    }

    /// Number of leaves.
    pub fn num_leaves(&self) -> usize {
        self.leaves.len().checked_div(self.width).unwrap_or(0)
    }

    /// Leaf `i`.
    pub fn leaf(&self, i: usize) -> &[F] {
        &self.leaves[i * self.width..(i + 1) * self.width]
    }

    /// Authentication path of leaf `index` up to the cap, in plonky2's order (bottom first).
    pub fn prove(&self, index: usize) -> MerkleProof<F, H> {
        MerkleProof { siblings: path_from_digests::<F, H>(&self.digests, self.num_leaves(), self.cap.0.len(), index) }
    }
}

/// Checks the tree shape: a power-of-two leaf count, at least `2^cap_height` leaves.
pub(crate) fn check_shape(num_elems: usize, width: usize, cap_height: usize) -> Result<usize, EngineError> {
    if width == 0 || !num_elems.is_multiple_of(width) {
        return Err(EngineError::Shape {
            what: "Merkle leaf buffer",
            detail: format!("{num_elems} elements is not a multiple of the leaf width {width}"),
        });
    }
    let n = num_elems / width;
    if !n.is_power_of_two() || n < (1 << cap_height) {
        return Err(EngineError::Shape {
            what: "Merkle leaf count",
            detail: format!("{n} leaves; expected a power of two of at least 2^cap_height = {}", 1usize << cap_height),
        });
    }
    Ok(n)
}

/// `(inner digests, cap)` of a tree.
pub type DigestsAndCap<F, H> = (Vec<<H as Hasher<F>>::Hash>, Vec<<H as Hasher<F>>::Hash>);

/// Computes `(digests, cap)` in plonky2's layout for a flat leaf buffer, on the CPU.
pub fn cpu_digests<F: RichField, H: Hasher<F>>(
    leaves: &[F],
    width: usize,
    cap_height: usize,
) -> Result<DigestsAndCap<F, H>, EngineError> {
    let n = check_shape(leaves.len(), width, cap_height)?;
    let cap_len = 1usize << cap_height;
    let sub_leaves = n / cap_len;
    let sub_digests = 2 * (sub_leaves - 1);
    // A placeholder value; every slot is overwritten below.
    let filler = H::hash_or_noop(&[]);
    let mut digests = vec![filler; cap_len * sub_digests];
    let mut cap = vec![filler; cap_len];
    if sub_digests == 0 {
        cap.par_iter_mut().enumerate().for_each(|(i, c)| *c = H::hash_or_noop(&leaves[i * width..(i + 1) * width]));
    } else {
        digests
            .par_chunks_mut(sub_digests)
            .zip(cap.par_iter_mut())
            .zip(leaves.par_chunks(sub_leaves * width))
            .for_each(|((buf, c), lv)| *c = fill::<F, H>(buf, lv, width));
    }
    Ok((digests, cap))
}

/// Fills `buf` (`2(m-1)` slots) for the `m` leaves in `leaves`; returns the subtree root.
fn fill<F: RichField, H: Hasher<F>>(buf: &mut [H::Hash], leaves: &[F], width: usize) -> H::Hash {
    if buf.is_empty() {
        return H::hash_or_noop(leaves);
    }
    let half = buf.len() / 2;
    let (left, right) = buf.split_at_mut(half);
    let (left_root_slot, left_rest) = left.split_last_mut().expect("non-empty left half");
    let (right_root_slot, right_rest) = right.split_first_mut().expect("non-empty right half");
    let (left_leaves, right_leaves) = leaves.split_at(leaves.len() / 2);
    let (l, r) = if leaves.len() / width > SEQUENTIAL_LEAVES {
        rayon::join(|| fill::<F, H>(left_rest, left_leaves, width), || fill::<F, H>(right_rest, right_leaves, width))
    } else {
        (fill::<F, H>(left_rest, left_leaves, width), fill::<F, H>(right_rest, right_leaves, width))
    };
    *left_root_slot = l;
    *right_root_slot = r;
    H::two_to_one(l, r)
}

/// Sibling path for leaf `index` given digests in plonky2's layout.
pub fn path_from_digests<F: RichField, H: Hasher<F>>(
    digests: &[H::Hash],
    num_leaves: usize,
    cap_len: usize,
    index: usize,
) -> Vec<H::Hash> {
    let layers = (num_leaves / cap_len).trailing_zeros() as usize;
    let sub_len = digests.len() / cap_len;
    let sub = &digests[sub_len * (index >> layers)..sub_len * ((index >> layers) + 1)];
    // Walk up the recursive layout: at each level the subtree occupies `sub[lo..lo+len]`.
    // Collect top-down, then reverse to plonky2's bottom-up order.
    let mut path = Vec::with_capacity(layers);
    let mut lo = 0usize;
    let mut len = sub.len();
    for level in (0..layers).rev() {
        let bit = (index >> level) & 1;
        let half = len / 2;
        // Left child's root sits at lo + half - 1, right child's root at lo + half.
        if bit == 0 {
            path.push(sub[lo + half]);
            len = half - 1;
        } else {
            path.push(sub[lo + half - 1]);
            lo += half + 1;
            len = half - 1;
        }
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use plonky2::field::goldilocks_field::GoldilocksField as F;
    use plonky2::field::types::Sample;
    use plonky2::hash::keccak::KeccakHash;
    use plonky2::hash::merkle_tree::MerkleTree;
    use plonky2::hash::poseidon::PoseidonHash;

    use super::*;

    fn same_as_plonky2<H: Hasher<F>>(log_n: usize, width: usize, cap_height: usize) {
        let n = 1 << log_n;
        let flat = F::rand_vec(n * width);
        let rows: Vec<Vec<F>> = flat.chunks(width).map(|c| c.to_vec()).collect();
        let theirs = MerkleTree::<F, H>::new(rows, cap_height);
        let ours = FlatMerkleTree::<F, H>::build_cpu(flat, width, cap_height).unwrap();
        assert_eq!(ours.cap, theirs.cap, "cap log_n={log_n} width={width} cap_height={cap_height}");
        assert_eq!(ours.digests, theirs.digests);
        for i in [0, n / 3, n / 2, n - 1] {
            assert_eq!(ours.prove(i), theirs.prove(i), "path {i}");
            assert_eq!(ours.leaf(i), theirs.get(i));
        }
    }

    #[test]
    fn poseidon_trees_match_plonky2() {
        for (log_n, width, cap) in [(0, 3, 0), (3, 4, 0), (4, 5, 2), (7, 135, 4), (10, 8, 4), (8, 2, 8)] {
            same_as_plonky2::<PoseidonHash>(log_n, width, cap);
        }
    }

    #[test]
    fn keccak_trees_match_plonky2() {
        for (log_n, width, cap) in [(3, 4, 0), (6, 20, 2), (9, 7, 4)] {
            same_as_plonky2::<KeccakHash<25>>(log_n, width, cap);
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(cpu_digests::<F, PoseidonHash>(&F::rand_vec(12), 5, 0).is_err());
        assert!(cpu_digests::<F, PoseidonHash>(&F::rand_vec(12), 4, 0).is_err());
        assert!(cpu_digests::<F, PoseidonHash>(&F::rand_vec(16), 4, 3).is_err());
    }
}
