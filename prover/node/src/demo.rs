//! The devnet's demo of the bridge: deposits on its L1 open new accounts, which then transfer and withdraw, and the
//! withdrawal is pulled on L1 once its epoch is executed — so the first finalized epoch holds every flow.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_sol_types::{SolCall, SolEvent};
use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio_util::sync::CancellationToken;
use zkr_circuits::schnorr::SecretKey;
use zkr_circuits::tx::{Transfer, Tx, Withdraw};
use zkr_rollup::calldata::{amount_wei, open_account_call};
use zkr_rollup::IZkrRollup;
use zkr_sequencer::{Sequencer, TxHash, TxStage};
use zkr_settle::{Address, B256, L1};

/// L2 units each demo account is opened with.
const DEPOSIT: u64 = 1_000_000;

pub(crate) struct BridgeDemo {
    pub seq: Sequencer,
    pub l1: Arc<dyn L1>,
    pub rollup: Address,
    pub stop: CancellationToken,
    /// Each demo deposit, once the L2 has it.
    pub deposits: Arc<Mutex<Vec<DemoDeposit>>>,
}

/// A deposit the demo made, and how long the L2 took to take it.
#[derive(Clone, Debug)]
pub struct DemoDeposit {
    pub account: u32,
    pub amount: u64,
    pub l1_tx: B256,
    /// From sending the L1 transaction to the account existing on L2 (soft confirmation).
    pub soft_confirmation_ms: u64,
}

impl BridgeDemo {
    /// Opens two accounts by deposit, has the first transfer to a genesis account and the second withdraw to the L1
    /// sender; returns the withdrawal's hash (for [`BridgeDemo::pull_when_finalized`]).
    pub(crate) async fn run(&self, submitted: &AtomicU64) -> Result<Option<TxHash>> {
        let mut rng = ChaCha20Rng::from_entropy();
        let keys = [SecretKey::random(&mut rng), SecretKey::random(&mut rng)];
        let mut ids = Vec::new();
        for sk in &keys {
            ids.push(self.deposit(sk).await?);
        }
        let cfg = self.seq.config();
        let (domain, fee) = (cfg.genesis.domain(), cfg.min_fee);
        let transfer = Tx::Transfer(Transfer { from: ids[0], to: 0, amount: DEPOSIT / 4, fee, nonce: 0 });
        let to = self.l1.sender();
        let withdraw = Tx::Withdraw(Withdraw { from: ids[1], amount: DEPOSIT / 2, fee, nonce: 0, l1_address: to.0 .0 });
        let mut withdrawal = None;
        for (tx, sk) in [(transfer, &keys[0]), (withdraw, &keys[1])] {
            let s = self.seq.submit(&tx.sign(sk, &domain).to_bytes()).await.context("submitting a demo transaction")?;
            submitted.fetch_add(1, Ordering::Relaxed);
            tracing::info!(kind = tx.kind(), hash = %s.hash, status = %s.status, "demo: bridged account's transaction");
            if matches!(tx, Tx::Withdraw(_)) {
                withdrawal = Some(s.hash);
            }
        }
        Ok(withdrawal)
    }

    /// Opens an account under `sk`'s key with [`DEPOSIT`] on L1 and waits until the L2 has sequenced it; returns its
    /// account id.
    async fn deposit(&self, sk: &SecretKey) -> Result<u32> {
        let call = open_account_call(&sk.public_key()).abi_encode();
        let sent = Instant::now();
        let r =
            self.l1.send(self.rollup, call, amount_wei(DEPOSIT)).await.context("demo deposit: openAccount on L1")?;
        let queued = r
            .logs
            .iter()
            .find_map(|l| IZkrRollup::DepositQueued::decode_log(l).ok())
            .context("demo deposit: openAccount emitted no DepositQueued")?
            .data;
        let id = queued.accountId;
        let l1_mined_ms = sent.elapsed().as_millis() as u64;
        loop {
            if self.seq.account(id, false).await?.account.is_some() {
                break;
            }
            tokio::select! {
                _ = self.stop.cancelled() => bail!("stopped while waiting for the deposit"),
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
        let soft_confirmation_ms = sent.elapsed().as_millis() as u64;
        tracing::info!(
            account = id,
            priority_id = queued.priorityId,
            amount = DEPOSIT,
            l1_tx = %r.tx_hash,
            l1_mined_ms,
            soft_confirmation_ms,
            "demo: deposit on L1 opened an L2 account (time from sending the L1 transaction to L2 soft confirmation)"
        );
        let d = DemoDeposit { account: id, amount: DEPOSIT, l1_tx: r.tx_hash, soft_confirmation_ms };
        self.deposits.lock().unwrap_or_else(|p| p.into_inner()).push(d);
        Ok(id)
    }

    /// Waits for `hash` (a withdrawal) to be finalized, then calls `withdrawPending` as its L1 recipient.
    pub(crate) async fn pull_when_finalized(&self, hash: TxHash) -> Result<()> {
        loop {
            let st = self.seq.tx_status(hash).await?.context("the demo withdrawal is unknown")?;
            match st.stage {
                TxStage::Finalized => break,
                TxStage::Rejected => bail!("the demo withdrawal was rejected: {st}"),
                _ => {}
            }
            tokio::select! {
                _ = self.stop.cancelled() => return Ok(()),
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
        let r = self
            .l1
            .send(self.rollup, IZkrRollup::withdrawPendingCall {}.abi_encode(), Default::default())
            .await
            .context("demo: withdrawPending on L1")?;
        tracing::info!(%hash, l1_tx = %r.tx_hash, "demo: the finalized withdrawal was pulled on L1");
        Ok(())
    }
}
