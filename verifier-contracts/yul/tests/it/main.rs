//! Integration tests: every Yul routine is compiled with solc and run in revm, and compared with plonky2.

mod field;
mod gates;
mod harness;
mod poseidon;
