//! Poseidon sparse Merkle tree of depth 32 over account leaves.
//!
//! Only non-empty nodes are stored; an absent node equals the precomputed hash of an
//! empty subtree of its height. A leaf's index is its account id (`u32`), bit `i` of the
//! index says whether the node at height `i` on its path is a right child.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::config::{hash_pair, Digest, ZERO_DIGEST};

/// Tree depth: one leaf per `u32` account id.
pub const DEPTH: usize = 32;

/// `empty_hashes()[h]` is the root of an empty subtree of height `h` (`h = 0`: an empty leaf).
pub fn empty_hashes() -> &'static [Digest; DEPTH + 1] {
    static EMPTY: OnceLock<[Digest; DEPTH + 1]> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut out = [ZERO_DIGEST; DEPTH + 1];
        for h in 1..=DEPTH {
            out[h] = hash_pair(out[h - 1], out[h - 1]);
        }
        out
    })
}

/// An inclusion proof: the siblings from the leaf level (index 0) up to just below the root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    pub index: u32,
    pub siblings: Vec<Digest>,
}

impl MerkleProof {
    /// The root obtained by hashing `leaf` up this path.
    pub fn root_for(&self, leaf: Digest) -> Digest {
        let mut node = leaf;
        for (h, sib) in self.siblings.iter().enumerate() {
            node = if (self.index >> h) & 1 == 1 { hash_pair(*sib, node) } else { hash_pair(node, *sib) };
        }
        node
    }

    /// Whether `leaf` sits at `self.index` under `root` (and the path has the right length).
    pub fn verify(&self, root: Digest, leaf: Digest) -> bool {
        self.siblings.len() == DEPTH && self.root_for(leaf) == root
    }
}

/// The sparse tree. Keys of `nodes` are `(height, index at that height)`.
#[derive(Clone, Debug, Default)]
pub struct SparseMerkleTree {
    nodes: HashMap<(u8, u64), Digest>,
}

impl SparseMerkleTree {
    pub fn new() -> Self {
        Self::default()
    }

    fn node(&self, height: usize, index: u64) -> Digest {
        self.nodes.get(&(height as u8, index)).copied().unwrap_or(empty_hashes()[height])
    }

    pub fn root(&self) -> Digest {
        self.node(DEPTH, 0)
    }

    pub fn leaf(&self, index: u32) -> Digest {
        self.node(0, index as u64)
    }

    /// Number of stored (non-empty) nodes, leaves included.
    pub fn stored_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Sets a leaf and rehashes its path. Writing the empty value removes stored nodes.
    pub fn set(&mut self, index: u32, leaf: Digest) {
        let mut idx = index as u64;
        let mut node = leaf;
        for h in 0..=DEPTH {
            if node == empty_hashes()[h] {
                self.nodes.remove(&(h as u8, idx));
            } else {
                self.nodes.insert((h as u8, idx), node);
            }
            if h == DEPTH {
                break;
            }
            let sib = self.node(h, idx ^ 1);
            node = if idx & 1 == 1 { hash_pair(sib, node) } else { hash_pair(node, sib) };
            idx >>= 1;
        }
    }

    pub fn prove(&self, index: u32) -> MerkleProof {
        let mut idx = index as u64;
        let mut siblings = Vec::with_capacity(DEPTH);
        for h in 0..DEPTH {
            siblings.push(self.node(h, idx ^ 1));
            idx >>= 1;
        }
        MerkleProof { index, siblings }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{hash, F};
    use plonky2::field::types::Field;

    fn leaf(v: u64) -> Digest {
        hash(&[F::from_canonical_u64(v)])
    }

    /// Root of a dense tree computed level by level, to check the sparse one against.
    fn dense_root(leaves: &[(u32, Digest)]) -> Digest {
        let mut level: HashMap<u64, Digest> = leaves.iter().map(|(i, d)| (*i as u64, *d)).collect();
        for h in 0..DEPTH {
            let mut next = HashMap::new();
            let parents: std::collections::BTreeSet<u64> = level.keys().map(|i| i >> 1).collect();
            for p in parents {
                let l = level.get(&(2 * p)).copied().unwrap_or(empty_hashes()[h]);
                let r = level.get(&(2 * p + 1)).copied().unwrap_or(empty_hashes()[h]);
                next.insert(p, hash_pair(l, r));
            }
            level = next;
        }
        level.get(&0).copied().unwrap_or(empty_hashes()[DEPTH])
    }

    #[test]
    fn empty_tree_root_is_precomputed() {
        assert_eq!(SparseMerkleTree::new().root(), empty_hashes()[DEPTH]);
        assert_ne!(empty_hashes()[DEPTH], ZERO_DIGEST);
    }

    #[test]
    fn matches_dense_computation_and_proofs_verify() {
        let mut t = SparseMerkleTree::new();
        let entries = [(0u32, leaf(1)), (1, leaf(2)), (7, leaf(3)), (u32::MAX, leaf(4)), (1 << 20, leaf(5))];
        for (i, d) in entries {
            t.set(i, d);
        }
        assert_eq!(t.root(), dense_root(&entries));
        for (i, d) in entries {
            let p = t.prove(i);
            assert!(p.verify(t.root(), d));
            assert!(!p.verify(t.root(), leaf(99)));
        }
        // an empty slot proves as empty
        assert!(t.prove(5).verify(t.root(), ZERO_DIGEST));
        // a wrong sibling breaks the proof
        let mut p = t.prove(7);
        p.siblings[3] = leaf(42);
        assert!(!p.verify(t.root(), leaf(3)));
    }

    #[test]
    fn clearing_leaves_restores_empty_root_and_frees_nodes() {
        let mut t = SparseMerkleTree::new();
        t.set(3, leaf(1));
        t.set(9, leaf(2));
        assert_eq!(t.stored_nodes(), 2 * (DEPTH + 1) - 29); // paths share heights 4..=32
        t.set(3, ZERO_DIGEST);
        t.set(9, ZERO_DIGEST);
        assert_eq!(t.root(), empty_hashes()[DEPTH]);
        assert_eq!(t.stored_nodes(), 0);
    }
}
