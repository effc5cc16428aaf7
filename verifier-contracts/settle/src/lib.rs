//! zkr's L1 settlement.
//!
//! Owns talking to a chain, the compiled contract sets (the devnet's is committed in this crate's `generated/`
//! folder, with the sources it was compiled from), deploying them and the commit → prove → execute sequence. Must
//! not know how proofs are made or wrapped (it gets calldata through [`RollupCalls`]), nor the inside of the
//! verifier or the rollup contract beyond their ABIs (`zkr-generator`, `zkr-rollup`).
//!
//! - [`L1`]: the chain zkr settles on, object-safe (`Arc<dyn L1>`), with two implementations: [`InProcessL1`]
//!   (zkr-evm's revm chain, a block per transaction: the devnet and tests) and [`RpcL1`] (an Ethereum JSON-RPC
//!   endpoint through alloy, signing locally with a key read from an environment variable).
//! - [`ContractSet`] (the compiled contracts; the devnet's is committed) and [`deploy_contracts`]: deploy the
//!   verifier parts, the verifier, Poseidon and the rollup; [`Deployment`]: the TOML record of where they are.
//!   [`deploy_all`] deploys any verifier/rollup pair (tests with stand-in contracts).
//! - [`Settler`]: sends an epoch's commit, prove and execute calls in order and reports
//!   Committed / Proven / Executed / Finalized; the calldata comes from a [`RollupCalls`] implementation.
//! - [`rebuild_over_rpc`]: the escape hatch's state, rebuilt from a rollup's logs and commit calldata alone.
//! - [`PriorityWatcher`]: the bridge's L1 → L2 side, the rollup's priority operations once confirmed, with reorgs
//!   deeper than the confirmations reported.
//! - [`wallet`]: a user's own L1 calls (deposits, forced-exit requests) and the key an account is bound to.
//! - [`admin`]: the rollup's administration for operators: its status as the contract reports it, the timelock's
//!   pending operations, and the guardian's, governor's and operator's calls, decoded before they are sent.
//! - `hardhat::HardhatNode` (feature `test-utils`): a local hardhat node for tests.

pub mod admin;
mod chain;
mod contract_set;
mod deploy;
mod error;
#[cfg(feature = "test-utils")]
pub mod hardhat;
mod inprocess;
mod rebuild;
mod rollup;
mod rpc;
mod settler;
pub mod wallet;
mod watch;

pub use alloy::signers::local::PrivateKeySigner;
pub use alloy_primitives::{Address, Bytes, Log, B256, U256};
pub use chain::{ChainLog, Receipt, L1};
pub use contract_set::{
    deploy_contracts, parts_codehash, ContractSet, ContractSetError, RollupSetup, DEVNET_CONTRACTS_JSON,
    DEVNET_CONTRACTS_PATH, DEVNET_POSEIDON_PATH, DEVNET_VERIFIER_PATH,
};
pub use deploy::{deploy_all, DeployError, Deployment};
pub use error::{describe_revert, L1Error};
pub use inprocess::{InProcessL1, IN_PROCESS_CHAIN_ID};
pub use rebuild::{rebuild_over_rpc, RebuildRpcError, Rebuilt};
pub use rollup::{view, RollupProgress, ZkrRollupCalls};
pub use rpc::RpcL1;
pub use settler::{
    CallBuildError, EpochSubmission, RollupCalls, SettleError, SettleEvent, Settled, Settler, SettlerConfig, Stage,
};
pub use watch::{Cursor, ObservedOp, PriorityWatcher, Round, WatchConfig, WatchError};
