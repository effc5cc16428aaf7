//! ABI bindings of the rollup contract, generated from its Solidity interface file.
//!
//! `IZkrRollup::commitEpochCall`, `IZkrRollup::EpochCommit`, `IZkrRollup::IZkrRollupErrors` (every custom error),
//! `IZkrRollup::IZkrRollupEvents`, and so on.

#![allow(missing_docs, clippy::too_many_arguments)]

alloy_sol_types::sol!(
    #[sol(all_derives)]
    "contracts/IZkrRollup.sol"
);
