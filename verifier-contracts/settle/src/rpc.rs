//! An L1 over JSON-RPC (alloy, HTTP) with a local private-key signer.

use std::time::{Duration, Instant};

use alloy::eips::BlockNumberOrTag;
use alloy::network::TransactionBuilder;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use alloy::transports::RpcError;
use alloy::transports::TransportError;
use alloy_primitives::{Address, Bytes, B256, U256};
use async_trait::async_trait;
use tracing::debug;

use crate::chain::{ChainLog, Receipt, L1};
use crate::error::{describe_revert, L1Error};

/// Osaka's per-transaction gas cap (EIP-7825); gas headroom never pushes a limit past it.
const TX_GAS_CAP: u64 = 1 << 24;

/// [`L1`] over an Ethereum JSON-RPC endpoint. Transactions are EIP-1559, signed locally; their nonce, gas limit
/// (estimate + 20 %) and fees are filled here, one send at a time, so a send refused at gas estimation (a
/// revert) consumes no nonce.
pub struct RpcL1 {
    provider: DynProvider,
    url: String,
    sender: Address,
    chain_id: u64,
    /// Serialises sends: the nonce is read from the node's pending count, so two concurrent sends would share one.
    send_lock: tokio::sync::Mutex<()>,
    receipt_timeout: Duration,
    poll_interval: Duration,
}

impl std::fmt::Debug for RpcL1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcL1")
            .field("url", &self.url)
            .field("sender", &self.sender)
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

impl RpcL1 {
    /// Connects to `url`, signing with the hex private key held by the environment variable `private_key_env`
    /// (the key is never taken from a file or a command-line argument). Checks the node answers `eth_chainId`.
    pub async fn connect(url: &str, private_key_env: &str) -> Result<Self, L1Error> {
        let key = std::env::var(private_key_env)
            .ok()
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| L1Error::MissingKeyEnv { var: private_key_env.to_string() })?;
        // The parse error names what was wrong with the key, never the key itself.
        let signer: PrivateKeySigner = key.trim().parse().map_err(|e: alloy::signers::local::LocalSignerError| {
            L1Error::BadKey { var: private_key_env.to_string(), reason: e.to_string() }
        })?;
        Self::connect_with_signer(url, signer).await
    }

    /// Connects with an explicit signer (tests, or keys from elsewhere than the environment).
    pub async fn connect_with_signer(url: &str, signer: PrivateKeySigner) -> Result<Self, L1Error> {
        let parsed: Url = url
            .parse()
            .map_err(|e: url_error::Error| L1Error::BadUrl { url: url.to_string(), reason: e.to_string() })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(L1Error::BadUrl {
                url: url.to_string(),
                reason: format!("scheme {} is not http(s)", parsed.scheme()),
            });
        }
        let sender = signer.address();
        let provider = ProviderBuilder::default().wallet(signer).connect_http(parsed).erased();
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|e| L1Error::Unreachable { url: url.to_string(), reason: e.to_string() })?;
        debug!(url, %sender, chain_id, "connected to L1");
        Ok(RpcL1 {
            provider,
            url: url.to_string(),
            sender,
            chain_id,
            send_lock: tokio::sync::Mutex::new(()),
            receipt_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_millis(200),
        })
    }

    /// How long `send`/`deploy` wait for a receipt (default 120 s).
    pub fn with_receipt_timeout(mut self, timeout: Duration) -> Self {
        self.receipt_timeout = timeout;
        self
    }

    /// How often receipts are polled (default 200 ms).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The underlying provider, for requests this trait does not cover (event logs, node-specific methods).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Maps an RPC failure: a revert (the node's message says so) becomes [`L1Error::Reverted`] with its data,
    /// a transport failure [`L1Error::Unreachable`].
    fn error(&self, method: &'static str, e: TransportError, to: Option<Address>) -> L1Error {
        if let Some(payload) = e.as_error_resp() {
            if payload.message.contains("revert") {
                let data = payload.as_revert_data().unwrap_or_default();
                let reason = if data.is_empty() { payload.message.to_string() } else { describe_revert(&data) };
                return L1Error::Reverted { tx_hash: None, to, data, reason };
            }
        }
        match e {
            RpcError::Transport(kind) => L1Error::Unreachable { url: self.url.clone(), reason: kind.to_string() },
            other => L1Error::Rpc { method, reason: other.to_string() },
        }
    }

    async fn transact(&self, tx: TransactionRequest, to: Option<Address>) -> Result<Receipt, L1Error> {
        let tx_hash = {
            let _one_at_a_time = self.send_lock.lock().await;
            let nonce = self
                .provider
                .get_transaction_count(self.sender)
                .pending()
                .await
                .map_err(|e| self.error("eth_getTransactionCount", e, to))?;
            let tx = tx.with_from(self.sender).with_nonce(nonce).with_chain_id(self.chain_id);
            let gas = self.provider.estimate_gas(tx.clone()).await.map_err(|e| self.error("eth_estimateGas", e, to))?;
            let fees = self.provider.estimate_eip1559_fees().await.map_err(|e| self.error("eth_feeHistory", e, to))?;
            let tx = tx
                .with_gas_limit((gas + gas / 5).min(TX_GAS_CAP.max(gas)))
                .with_max_fee_per_gas(fees.max_fee_per_gas)
                .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
            let pending =
                self.provider.send_transaction(tx).await.map_err(|e| self.error("eth_sendRawTransaction", e, to))?;
            *pending.tx_hash()
        };
        let receipt = self.wait_for_receipt(tx_hash).await?;
        if !receipt.success {
            // Gas estimation passed, so the state changed between estimation and inclusion.
            return Err(L1Error::Reverted {
                tx_hash: Some(tx_hash),
                to,
                data: Bytes::new(),
                reason: format!("reverted on-chain in block {} (status 0)", receipt.block_number),
            });
        }
        Ok(receipt)
    }

    async fn wait_for_receipt(&self, tx_hash: B256) -> Result<Receipt, L1Error> {
        let start = Instant::now();
        loop {
            if let Some(r) = self.receipt(tx_hash).await? {
                return Ok(r);
            }
            if start.elapsed() >= self.receipt_timeout {
                return Err(L1Error::ReceiptTimeout { tx_hash, waited_s: start.elapsed().as_secs() });
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }
}

/// The URL parser's error type, named through alloy's re-export.
mod url_error {
    pub type Error = <alloy::transports::http::reqwest::Url as std::str::FromStr>::Err;
}

fn convert(r: &TransactionReceipt) -> Option<Receipt> {
    Some(Receipt {
        tx_hash: r.transaction_hash,
        // A receipt without a block number belongs to a pending transaction: not mined yet.
        block_number: r.block_number?,
        gas_used: r.gas_used,
        success: r.status(),
        logs: r.inner.logs().iter().map(|l| l.inner.clone()).collect(),
        contract_address: r.contract_address,
    })
}

#[async_trait]
impl L1 for RpcL1 {
    async fn chain_id(&self) -> Result<u64, L1Error> {
        Ok(self.chain_id)
    }

    fn sender(&self) -> Address {
        self.sender
    }

    async fn deploy(&self, creation_code: Vec<u8>, value: U256) -> Result<Receipt, L1Error> {
        let tx = TransactionRequest::default().with_deploy_code(creation_code).with_value(value);
        let receipt = self.transact(tx, None).await?;
        if receipt.contract_address.is_none() {
            return Err(L1Error::NoContract { tx_hash: receipt.tx_hash });
        }
        Ok(receipt)
    }

    async fn send(&self, to: Address, calldata: Vec<u8>, value: U256) -> Result<Receipt, L1Error> {
        let tx = TransactionRequest::default().with_to(to).with_input(calldata).with_value(value);
        self.transact(tx, Some(to)).await
    }

    async fn call(&self, to: Address, calldata: Vec<u8>) -> Result<Vec<u8>, L1Error> {
        let tx = TransactionRequest::default().with_from(self.sender).with_to(to).with_input(calldata);
        let out = self.provider.call(tx).await.map_err(|e| self.error("eth_call", e, Some(to)))?;
        Ok(out.to_vec())
    }

    async fn block_number(&self) -> Result<u64, L1Error> {
        self.provider.get_block_number().await.map_err(|e| self.error("eth_blockNumber", e, None))
    }

    async fn receipt(&self, tx_hash: B256) -> Result<Option<Receipt>, L1Error> {
        let r = self
            .provider
            .get_transaction_receipt(tx_hash)
            .await
            .map_err(|e| self.error("eth_getTransactionReceipt", e, None))?;
        Ok(r.as_ref().and_then(convert))
    }

    async fn code_at(&self, address: Address) -> Result<Vec<u8>, L1Error> {
        let code = self.provider.get_code_at(address).await.map_err(|e| self.error("eth_getCode", e, None))?;
        Ok(code.to_vec())
    }

    async fn balance(&self, address: Address) -> Result<U256, L1Error> {
        self.provider.get_balance(address).await.map_err(|e| self.error("eth_getBalance", e, None))
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, L1Error> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(|e| self.error("eth_getBlockByNumber", e, None))?;
        Ok(block.map(|b| b.header.hash))
    }

    async fn logs(&self, address: Address, topics0: &[B256], from: u64, to: u64) -> Result<Vec<ChainLog>, L1Error> {
        let filter = Filter::new().address(address).event_signature(topics0.to_vec()).from_block(from).to_block(to);
        let logs = self.provider.get_logs(&filter).await.map_err(|e| self.error("eth_getLogs", e, Some(address)))?;
        let incomplete =
            |what: &str| L1Error::Rpc { method: "eth_getLogs", reason: format!("a log without its {what}") };
        let mut out = Vec::with_capacity(logs.len());
        for l in logs {
            if l.removed {
                continue;
            }
            out.push(ChainLog {
                block_number: l.block_number.ok_or_else(|| incomplete("block number"))?,
                block_hash: l.block_hash.ok_or_else(|| incomplete("block hash"))?,
                tx_hash: l.transaction_hash.ok_or_else(|| incomplete("transaction hash"))?,
                log_index: l.log_index.ok_or_else(|| incomplete("index"))?,
                log: l.inner,
            });
        }
        out.sort_by_key(|l| (l.block_number, l.log_index));
        Ok(out)
    }
}
