//! zkr's L1 settlement (issue #5).
//!
//! - [`L1`]: the chain zkr settles on, object-safe (`Arc<dyn L1>`), with two implementations: [`InProcessL1`]
//!   (zkr-evm's revm chain, a block per transaction: the devnet and tests) and [`RpcL1`] (an Ethereum JSON-RPC
//!   endpoint through alloy, signing locally with a key read from an environment variable).
//! - [`deploy_all`] and [`Deployment`]: deploy the verifier and the rollup; the TOML record of where they are.
//! - [`Settler`]: sends an epoch's commit, prove and execute calls in order and reports
//!   Committed / Proven / Executed / Finalized; the calldata comes from a [`RollupCalls`] implementation.
//! - [`hardhat::HardhatNode`]: a local hardhat node for tests.

mod deploy;
mod error;
pub mod hardhat;
mod inprocess;
mod l1;
mod rollup;
mod rpc;
mod settler;

pub use alloy::signers::local::PrivateKeySigner;
pub use alloy_primitives::{Address, Bytes, Log, B256, U256};
pub use deploy::{deploy_all, DeployError, Deployment};
pub use error::{describe_revert, L1Error};
pub use inprocess::{InProcessL1, IN_PROCESS_CHAIN_ID};
pub use l1::{Receipt, L1};
pub use rollup::ZkrRollupCalls;
pub use rpc::RpcL1;
pub use settler::{
    CallBuildError, EpochSubmission, RollupCalls, SettleError, SettleEvent, Settled, Settler, SettlerConfig, Stage,
};
