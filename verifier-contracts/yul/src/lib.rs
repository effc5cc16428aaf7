//! Yul code generation for Goldilocks arithmetic, Poseidon and plonky2 gate constraints.
//!
//! Owns the translation of field arithmetic, the Poseidon permutation and gate constraints into Yul (and the
//! `PoseidonGoldilocks` Solidity library around it). Must not know which contract embeds the text, how it is
//! compiled or run, nor where generated files are committed.
//!
//! Everything here returns Yul source text meant to be pasted into a Yul object or a Solidity `assembly {}` block
//! (see `field::yul_functions`, `poseidon::poseidon_yul`, `gates::gate_constraints_yul`).

mod expr;
pub mod field;
pub mod gates;
pub mod poseidon;
