//! Settling an epoch on L1: commit → prove → execute, then wait for the execute transaction's confirmations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256};
use tracing::{info, info_span, Instrument};

use crate::chain::{Receipt, L1};
use crate::error::L1Error;

/// What the aggregator hands over for one epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochSubmission {
    /// Epoch number (the rollup numbers them from 1).
    pub epoch: u64,
    /// Each L2 batch's compact pubdata (`Batch::pubdata_bytes`), in order.
    pub pubdata: Vec<Vec<u8>>,
    /// The wrap proof's 24 public inputs (old root, new root, data in, data out).
    pub public_inputs: [U256; 24],
    /// The wrap proof in the verifier's calldata encoding (`zkr_generator::encode_proof`).
    pub proof: Vec<u8>,
    /// The epoch's withdrawals in pubdata order (L1 recipient, amount in L2 units), credited by `execute`.
    pub withdrawals: Vec<(Address, u64)>,
}

/// Error a [`RollupCalls`] implementation returns when it cannot build a call from an epoch.
pub type CallBuildError = Box<dyn std::error::Error + Send + Sync>;

/// Calldata of the rollup contract's three lifecycle calls; plug the rollup's ABI bindings in here.
pub trait RollupCalls: Send + Sync {
    fn commit(&self, epoch: &EpochSubmission) -> Result<Vec<u8>, CallBuildError>;
    fn prove(&self, epoch: &EpochSubmission) -> Result<Vec<u8>, CallBuildError>;
    fn execute(&self, epoch: &EpochSubmission) -> Result<Vec<u8>, CallBuildError>;
    /// Decodes the contract's custom errors in revert data (None: fall back to the generic decoding).
    fn describe_revert(&self, _data: &[u8]) -> Option<String> {
        None
    }
}

/// The three lifecycle steps, in the order the contract accepts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Commit,
    Prove,
    Execute,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Commit => "commit",
            Stage::Prove => "prove",
            Stage::Execute => "execute",
        })
    }
}

/// Progress of one epoch, reported as it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettleEvent {
    Committed {
        epoch: u64,
        tx_hash: B256,
        l1_block: u64,
    },
    Proven {
        epoch: u64,
        tx_hash: B256,
        l1_block: u64,
    },
    Executed {
        epoch: u64,
        tx_hash: B256,
        l1_block: u64,
    },
    /// The execute transaction (mined in `l1_block`) has the configured number of confirmations.
    Finalized {
        epoch: u64,
        l1_block: u64,
    },
}

impl SettleEvent {
    pub fn epoch(&self) -> u64 {
        match self {
            SettleEvent::Committed { epoch, .. }
            | SettleEvent::Proven { epoch, .. }
            | SettleEvent::Executed { epoch, .. }
            | SettleEvent::Finalized { epoch, .. } => *epoch,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SettlerConfig {
    /// Confirmations of the execute transaction (its own block counts as 1) before `Finalized`; 0 or 1 finalize
    /// as soon as it is mined (an in-process L1 mines no further blocks on its own, so use 0 there).
    pub confirmations: u64,
    /// How often confirmations are polled.
    pub poll_interval: Duration,
    /// Longest wait for the confirmations.
    pub confirmation_timeout: Duration,
}

impl Default for SettlerConfig {
    fn default() -> Self {
        SettlerConfig {
            confirmations: 0,
            poll_interval: Duration::from_secs(2),
            confirmation_timeout: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("epoch {epoch}: cannot build the {stage} call: {source}")]
    Build {
        epoch: u64,
        stage: Stage,
        #[source]
        source: CallBuildError,
    },
    #[error("epoch {epoch}: {stage} failed: {reason}")]
    Send {
        epoch: u64,
        stage: Stage,
        /// The L1 error in words, custom errors decoded by [`RollupCalls::describe_revert`].
        reason: String,
        #[source]
        source: L1Error,
    },
    #[error("epoch {epoch}: the execute transaction {tx_hash} is no longer in the chain (reorganised away); resubmit")]
    Dropped { epoch: u64, tx_hash: B256 },
    #[error("epoch {epoch}: execute transaction {tx_hash} has {got} of {wanted} confirmations after {waited_s} s")]
    ConfirmationTimeout { epoch: u64, tx_hash: B256, got: u64, wanted: u64, waited_s: u64 },
    #[error("epoch {epoch}: reading confirmations failed: {source}")]
    Confirmations {
        epoch: u64,
        #[source]
        source: L1Error,
    },
}

/// The receipts of one settled epoch (None for steps skipped by [`Settler::settle_from`]).
#[derive(Clone, Debug)]
pub struct Settled {
    pub epoch: u64,
    pub commit: Option<Receipt>,
    pub prove: Option<Receipt>,
    pub execute: Receipt,
    /// Block of the execute transaction.
    pub l1_block: u64,
}

/// Sends epochs' lifecycle calls to the rollup contract through an [`L1`].
pub struct Settler {
    l1: Arc<dyn L1>,
    rollup: Address,
    calls: Arc<dyn RollupCalls>,
    config: SettlerConfig,
}

impl std::fmt::Debug for Settler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settler").field("rollup", &self.rollup).field("config", &self.config).finish_non_exhaustive()
    }
}

impl Settler {
    pub fn new(l1: Arc<dyn L1>, rollup: Address, calls: Arc<dyn RollupCalls>, config: SettlerConfig) -> Self {
        Settler { l1, rollup, calls, config }
    }

    pub fn l1(&self) -> &Arc<dyn L1> {
        &self.l1
    }

    pub fn rollup(&self) -> Address {
        self.rollup
    }

    /// Commits, proves and executes `epoch`, then waits for finality; `on_event` hears each step.
    pub async fn settle(
        &self,
        epoch: &EpochSubmission,
        on_event: impl FnMut(SettleEvent) + Send,
    ) -> Result<Settled, SettleError> {
        self.settle_from(epoch, Stage::Commit, on_event).await
    }

    /// Like [`Settler::settle`] but starting at `from` (after a restart, when the contract already holds the
    /// earlier steps: read them from its counters).
    pub async fn settle_from(
        &self,
        epoch: &EpochSubmission,
        from: Stage,
        mut on_event: impl FnMut(SettleEvent) + Send,
    ) -> Result<Settled, SettleError> {
        let n = epoch.epoch;
        async move {
            let mut commit = None;
            let mut prove = None;
            if from <= Stage::Commit {
                let r = self.step(epoch, Stage::Commit).await?;
                on_event(SettleEvent::Committed { epoch: n, tx_hash: r.tx_hash, l1_block: r.block_number });
                commit = Some(r);
            }
            if from <= Stage::Prove {
                let r = self.step(epoch, Stage::Prove).await?;
                on_event(SettleEvent::Proven { epoch: n, tx_hash: r.tx_hash, l1_block: r.block_number });
                prove = Some(r);
            }
            let execute = self.step(epoch, Stage::Execute).await?;
            let l1_block = execute.block_number;
            on_event(SettleEvent::Executed { epoch: n, tx_hash: execute.tx_hash, l1_block });
            self.wait_final(n, execute.tx_hash).await?;
            on_event(SettleEvent::Finalized { epoch: n, l1_block });
            Ok(Settled { epoch: n, commit, prove, execute, l1_block })
        }
        .instrument(info_span!("settle", epoch = n))
        .await
    }

    async fn step(&self, epoch: &EpochSubmission, stage: Stage) -> Result<Receipt, SettleError> {
        let n = epoch.epoch;
        let calldata = match stage {
            Stage::Commit => self.calls.commit(epoch),
            Stage::Prove => self.calls.prove(epoch),
            Stage::Execute => self.calls.execute(epoch),
        }
        .map_err(|source| SettleError::Build { epoch: n, stage, source })?;
        let receipt = self.l1.send(self.rollup, calldata, U256::ZERO).await.map_err(|source| {
            let reason = match &source {
                L1Error::Reverted { data, .. } => match self.calls.describe_revert(data) {
                    Some(decoded) => format!("reverted: {decoded}"),
                    None => source.to_string(),
                },
                _ => source.to_string(),
            };
            SettleError::Send { epoch: n, stage, reason, source }
        })?;
        info!(%stage, tx = %receipt.tx_hash, block = receipt.block_number, gas = receipt.gas_used, "sent");
        Ok(receipt)
    }

    /// Waits until the execute transaction has the configured confirmations.
    async fn wait_final(&self, epoch: u64, tx_hash: B256) -> Result<(), SettleError> {
        let wanted = self.config.confirmations;
        if wanted <= 1 {
            return Ok(()); // `send` returned, so it is mined: 1 confirmation.
        }
        let start = Instant::now();
        loop {
            let got =
                self.l1.confirmations(tx_hash).await.map_err(|source| SettleError::Confirmations { epoch, source })?;
            if got == 0 {
                return Err(SettleError::Dropped { epoch, tx_hash });
            }
            if got >= wanted {
                return Ok(());
            }
            if start.elapsed() >= self.config.confirmation_timeout {
                return Err(SettleError::ConfirmationTimeout {
                    epoch,
                    tx_hash,
                    got,
                    wanted,
                    waited_s: start.elapsed().as_secs(),
                });
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }
}
