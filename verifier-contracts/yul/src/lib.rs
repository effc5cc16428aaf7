//! Yul code generation for Goldilocks arithmetic, Poseidon and plonky2 gate constraints.
//!
//! Everything here returns Yul source text meant to be pasted into a Yul object or a Solidity `assembly {}` block
//! (see `field::yul_functions`, `poseidon::poseidon_yul`, `gates::gate_constraints_yul`).

mod expr;
pub mod field;
pub mod gates;
pub mod poseidon;
