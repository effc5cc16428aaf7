//! The zkr statement: native spec (accounts, Poseidon sparse Merkle tree, transactions,
//! state transition, batches) and the plonky2 batch circuit that enforces it.

pub mod aggregate;
pub mod artifact;
pub mod batch;
pub mod circuit;
pub mod config;
pub mod demo;
pub mod pubdata;
pub mod smt;
pub mod state;
pub mod tx;
pub mod wrap;

pub use zkr_ecgfp5::schnorr;
pub use zkr_keccak as keccak;
