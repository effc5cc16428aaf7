//! The escape hatch over JSON-RPC: the L2 state rebuilt from a rollup's logs and transaction inputs alone (its
//! `GenesisAccountCreated` events, then the calldata of each executed epoch's last `commitEpoch`), every epoch's
//! root checked against the one the contract stores. No operator database is read.

use alloy::consensus::Transaction as _;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy_primitives::{Address, B256};
use alloy_sol_types::SolEvent;
use thiserror::Error;
use zkr_rollup::{IZkrRollup, RebuildError, Rebuilder};

use crate::error::L1Error;
use crate::rollup::view;
use crate::rpc::RpcL1;

#[derive(Debug, Error)]
pub enum RebuildRpcError {
    #[error("L1: {0}")]
    L1(#[from] L1Error),
    #[error("{method}: {reason}")]
    Rpc { method: &'static str, reason: String },
    #[error("genesis: account ids {got:?} are not 0, 1, … without gaps (from block {from_block}: start at the deploy block)")]
    GenesisIds { got: Vec<u32>, from_block: u64 },
    #[error("no commit transaction for executed epoch {epoch} in the logs from block {from_block}")]
    MissingCommit { epoch: u64, from_block: u64 },
    #[error("transaction {hash} is not on the node")]
    MissingTx { hash: B256 },
    #[error("epoch {epoch}: rebuilt root {rebuilt}, the contract stores {stored}")]
    RootMismatch { epoch: u64, rebuilt: B256, stored: B256 },
    #[error(transparent)]
    Rebuild(#[from] RebuildError),
}

/// The rebuilt state, through the last executed epoch.
pub struct Rebuilt {
    pub rebuilder: Rebuilder,
    /// The last executed epoch (the state is at its root, the one exits are proven against).
    pub executed: u64,
    /// `executedRoot()` as the contract stores it (equal to the rebuilt root).
    pub executed_root: B256,
}

/// Rebuilds the state of the rollup at `rollup`, reading logs from `from_block` (its deploy block, or earlier).
pub async fn rebuild_over_rpc(l1: &RpcL1, rollup: Address, from_block: u64) -> Result<Rebuilt, RebuildRpcError> {
    let logs = |sig: B256| async move {
        let filter = Filter::new().address(rollup).event_signature(sig).from_block(from_block);
        l1.provider()
            .get_logs(&filter)
            .await
            .map_err(|e| RebuildRpcError::Rpc { method: "eth_getLogs", reason: e.to_string() })
    };
    let mut genesis = Vec::new();
    for log in logs(IZkrRollup::GenesisAccountCreated::SIGNATURE_HASH).await? {
        let ev = IZkrRollup::GenesisAccountCreated::decode_log(&log.inner)
            .map_err(|e| RebuildRpcError::Rpc { method: "eth_getLogs", reason: format!("GenesisAccountCreated: {e}") })?
            .data;
        genesis.push(ev);
    }
    genesis.sort_by_key(|e| e.accountId);
    if genesis.iter().enumerate().any(|(i, e)| e.accountId as usize != i) {
        return Err(RebuildRpcError::GenesisIds { got: genesis.iter().map(|e| e.accountId).collect(), from_block });
    }
    let accounts: Vec<IZkrRollup::GenesisAccount> = genesis
        .iter()
        .map(|e| IZkrRollup::GenesisAccount { pubkey: e.pubkey, balance: e.balance, owner: e.owner })
        .collect();
    let fee_account = view(l1, rollup, IZkrRollup::feeAccountCall {}).await?;
    let executed = view(l1, rollup, IZkrRollup::totalExecutedCall {}).await?;
    let executed_root = view(l1, rollup, IZkrRollup::executedRootCall {}).await?;

    // the last commit of each executed epoch (an epoch reverted and committed again counts as finally committed)
    let mut commits: Vec<Option<B256>> = vec![None; executed as usize + 1];
    for log in logs(IZkrRollup::BatchCommitted::SIGNATURE_HASH).await? {
        let ev = IZkrRollup::BatchCommitted::decode_log(&log.inner)
            .map_err(|e| RebuildRpcError::Rpc { method: "eth_getLogs", reason: format!("BatchCommitted: {e}") })?
            .data;
        if ev.epoch >= 1 && ev.epoch <= executed {
            commits[ev.epoch as usize] = log.transaction_hash;
        }
    }
    let mut rebuilder = Rebuilder::from_genesis(&accounts, fee_account)?;
    for epoch in 1..=executed {
        let hash = commits[epoch as usize].ok_or(RebuildRpcError::MissingCommit { epoch, from_block })?;
        let tx = l1
            .provider()
            .get_transaction_by_hash(hash)
            .await
            .map_err(|e| RebuildRpcError::Rpc { method: "eth_getTransactionByHash", reason: e.to_string() })?
            .ok_or(RebuildRpcError::MissingTx { hash })?;
        let rebuilt = rebuilder.apply_commit_calldata(tx.inner.input())?;
        let stored = view(l1, rollup, IZkrRollup::epochInfoCall { epoch }).await?.newRoot;
        if rebuilt != stored {
            return Err(RebuildRpcError::RootMismatch { epoch, rebuilt, stored });
        }
    }
    if rebuilder.root() != executed_root {
        return Err(RebuildRpcError::RootMismatch {
            epoch: executed,
            rebuilt: rebuilder.root(),
            stored: executed_root,
        });
    }
    Ok(Rebuilt { rebuilder, executed, executed_root })
}
