//! An [`L1`] that counts the gas of every transaction sent through it (`zkr_l1_gas_used_total{step}`): the
//! settlement's commit, prove and execute, contract deployments, anything else. A transaction that reverted after it
//! was mined paid its gas too: its receipt is read for it.

use std::sync::Arc;

use alloy_sol_types::SolCall;
use async_trait::async_trait;
use zkr_rollup::IZkrRollup;
use zkr_settle::{Address, ChainLog, L1Error, Receipt, B256, L1, U256};
use zkr_worker::metrics::ProverMetrics;

pub(crate) struct MeteredL1 {
    pub inner: Arc<dyn L1>,
    pub metrics: Arc<ProverMetrics>,
}

/// The `step` label of a call to the rollup, by its selector.
pub(crate) fn step_of(calldata: &[u8]) -> &'static str {
    match calldata.get(..4) {
        Some(s) if s == IZkrRollup::commitEpochCall::SELECTOR => "commit",
        Some(s) if s == IZkrRollup::proveEpochCall::SELECTOR => "prove",
        Some(s) if s == IZkrRollup::executeEpochCall::SELECTOR => "execute",
        _ => "other",
    }
}

impl MeteredL1 {
    async fn count(&self, step: &'static str, sent: &Result<Receipt, L1Error>) {
        let gas = match sent {
            Ok(receipt) => Some(receipt.gas_used),
            Err(L1Error::Reverted { tx_hash: Some(h), .. }) => {
                self.inner.receipt(*h).await.ok().flatten().map(|r| r.gas_used)
            }
            Err(_) => None,
        };
        if let Some(gas) = gas {
            self.metrics.l1_gas.with_label_values(&[step]).inc_by(gas);
        }
    }
}

#[async_trait]
impl L1 for MeteredL1 {
    async fn chain_id(&self) -> Result<u64, L1Error> {
        self.inner.chain_id().await
    }

    fn sender(&self) -> Address {
        self.inner.sender()
    }

    async fn deploy(&self, creation_code: Vec<u8>, value: U256) -> Result<Receipt, L1Error> {
        let sent = self.inner.deploy(creation_code, value).await;
        self.count("deploy", &sent).await;
        sent
    }

    async fn send(&self, to: Address, calldata: Vec<u8>, value: U256) -> Result<Receipt, L1Error> {
        let step = step_of(&calldata);
        let sent = self.inner.send(to, calldata, value).await;
        self.count(step, &sent).await;
        sent
    }

    async fn call(&self, to: Address, calldata: Vec<u8>) -> Result<Vec<u8>, L1Error> {
        self.inner.call(to, calldata).await
    }

    async fn block_number(&self) -> Result<u64, L1Error> {
        self.inner.block_number().await
    }

    async fn receipt(&self, tx_hash: B256) -> Result<Option<Receipt>, L1Error> {
        self.inner.receipt(tx_hash).await
    }

    async fn code_at(&self, address: Address) -> Result<Vec<u8>, L1Error> {
        self.inner.code_at(address).await
    }

    async fn balance(&self, address: Address) -> Result<U256, L1Error> {
        self.inner.balance(address).await
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, L1Error> {
        self.inner.block_hash(number).await
    }

    async fn logs(&self, address: Address, topics0: &[B256], from: u64, to: u64) -> Result<Vec<ChainLog>, L1Error> {
        self.inner.logs(address, topics0, from, to).await
    }

    async fn confirmations(&self, tx_hash: B256) -> Result<u64, L1Error> {
        self.inner.confirmations(tx_hash).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gas_is_counted_by_step_and_reads_pass_through() {
        use zkr_settle::InProcessL1;
        let registry = prometheus::Registry::new();
        let metrics = Arc::new(ProverMetrics::register(&registry).unwrap());
        let inner: Arc<dyn L1> = Arc::new(InProcessL1::new());
        let l1 = MeteredL1 { inner: inner.clone(), metrics: metrics.clone() };
        let gas = |step: &str| metrics.l1_gas.with_label_values(&[step]).get();
        // a plain transfer of value is no settlement step
        let to = Address::repeat_byte(7);
        let r = l1.send(to, Vec::new(), U256::from(5)).await.unwrap();
        assert_eq!(gas("other"), r.gas_used);
        assert!(r.gas_used >= 21_000);
        assert_eq!(gas("commit") + gas("prove") + gas("execute") + gas("deploy"), 0);
        assert_eq!(l1.balance(to).await.unwrap(), U256::from(5));
        assert_eq!(l1.block_number().await.unwrap(), inner.block_number().await.unwrap());
        // selectors name the steps
        let commit = IZkrRollup::commitEpochCall {
            c: IZkrRollup::EpochCommit { epoch: 1, oldRoot: B256::ZERO, newRoot: B256::ZERO, pubdata: Vec::new() },
        }
        .abi_encode();
        assert_eq!(step_of(&commit), "commit");
        let prove = IZkrRollup::proveEpochCall { epoch: 1, proof: Default::default() }.abi_encode();
        assert_eq!(step_of(&prove), "prove");
        let execute = IZkrRollup::executeEpochCall { epoch: 1, withdrawals: Vec::new() }.abi_encode();
        assert_eq!(step_of(&execute), "execute");
        assert_eq!(step_of(&[1, 2]), "other");
    }
}
