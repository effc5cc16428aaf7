//! The L1 a rollup settles on: deploy, send, call, block number, confirmations.

use alloy_primitives::{Address, Log, B256, U256};
use async_trait::async_trait;

use crate::error::L1Error;

/// A mined transaction, as its receipt reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub tx_hash: B256,
    pub block_number: u64,
    pub gas_used: u64,
    /// False when the transaction reverted (only [`L1::receipt`] returns such receipts: [`L1::send`] turns a
    /// revert into [`L1Error::Reverted`]).
    pub success: bool,
    pub logs: Vec<Log>,
    /// The created contract of a deployment.
    pub contract_address: Option<Address>,
}

/// A log as the chain holds it: where it is (block, transaction, index) and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainLog {
    pub block_number: u64,
    pub block_hash: B256,
    pub tx_hash: B256,
    pub log_index: u64,
    pub log: Log,
}

/// A chain zkr settles on. Object-safe (`Arc<dyn L1>`); every transaction is sent from one account, the sender.
///
/// Implementations: [`crate::InProcessL1`] (zkr-evm, a block per transaction) and [`crate::RpcL1`] (JSON-RPC).
#[async_trait]
pub trait L1: Send + Sync {
    /// The chain id (`eth_chainId`).
    async fn chain_id(&self) -> Result<u64, L1Error>;
    /// The account transactions are sent from.
    fn sender(&self) -> Address;
    /// Deploys creation code (constructor arguments appended), sending `value` wei to the constructor; returns the
    /// receipt, `contract_address` set.
    async fn deploy(&self, creation_code: Vec<u8>, value: U256) -> Result<Receipt, L1Error>;
    /// Sends a transaction and waits until it is mined. A revert is [`L1Error::Reverted`] with decoded data.
    async fn send(&self, to: Address, calldata: Vec<u8>, value: U256) -> Result<Receipt, L1Error>;
    /// Runs a call against the latest state without sending a transaction (`eth_call`); a revert is an error.
    async fn call(&self, to: Address, calldata: Vec<u8>) -> Result<Vec<u8>, L1Error>;
    /// The latest block number.
    async fn block_number(&self) -> Result<u64, L1Error>;
    /// The receipt of a transaction, None when it is not (or no longer) in the chain.
    async fn receipt(&self, tx_hash: B256) -> Result<Option<Receipt>, L1Error>;
    /// Deployed code at an address (empty when none).
    async fn code_at(&self, address: Address) -> Result<Vec<u8>, L1Error>;
    /// The ETH balance of an address at the latest block.
    async fn balance(&self, address: Address) -> Result<U256, L1Error>;
    /// The hash of block `number` as the chain holds it now; `None` above the head.
    async fn block_hash(&self, number: u64) -> Result<Option<B256>, L1Error>;
    /// Logs of `address` whose first topic is one of `topics0`, in blocks `from..=to`, in chain order.
    async fn logs(&self, address: Address, topics0: &[B256], from: u64, to: u64) -> Result<Vec<ChainLog>, L1Error>;

    /// Blocks that include the transaction, counting its own: 0 when it is not (or no longer) in the chain,
    /// 1 right after it was mined.
    async fn confirmations(&self, tx_hash: B256) -> Result<u64, L1Error> {
        let Some(r) = self.receipt(tx_hash).await? else {
            return Ok(0);
        };
        let head = self.block_number().await?;
        Ok(head.saturating_sub(r.block_number) + 1)
    }
}
