//! Solidity/Yul compilation through the pinned npm package `solc` and an in-process EVM (revm, Osaka rules)
//! for zkr's contracts: their tests, `zkr bench l1` and the devnet's in-process L1.
//!
//! Owns running the compiler and the EVM; it takes source text and bytecode from its callers. Must not know what
//! zkr's contracts do, nor its circuits or proofs.
//!
//! The compiler is solcjs at the version pinned in `verifier-contracts/package.json`
//! (installed by `npm ci --prefix verifier-contracts`), run through `node` with solc's standard JSON,
//! so every machine compiles the same bytes without downloading a native compiler.

mod evm;
mod solc;

pub use alloy_primitives::{keccak256, Address, Bytes, Log, U256};
pub use evm::{CallOutcome, Evm, EvmError, GasProfile, CHAIN_ID, TX_GAS_CAP};
pub use solc::{compile_solidity, compile_yul, solc_dir, Artifact, SolcError, SolcSettings};
