//! The coordinator's control loop, one for the devnet and for `zkr coordinator`: requeue expired leases, refresh
//! the queue metrics, verify finished epochs in order, hand them to settlement, and collect its outcomes.

use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use zkr_queue::Queue;

use crate::epochs::{EpochProof, EpochWatcher};
use crate::settlement::{spawn_settlement, Backoff, EpochSettler, Finalized, SettleOutcome};
use zkr_worker::metrics::ProverMetrics;

/// What one tick found.
#[derive(Debug, Default)]
pub struct Tick {
    /// Epochs verified in this tick, in order.
    pub verified: Vec<EpochProof>,
    /// Settlement outcomes reported since the last tick, in order.
    pub settlement: Vec<SettleOutcome>,
}

/// Verifies epochs as they finish and settles them, in order.
pub struct EpochControl {
    queue: Queue,
    metrics: Arc<ProverMetrics>,
    watcher: EpochWatcher,
    settling: bool,
    to_settle: UnboundedSender<EpochProof>,
    outcomes: UnboundedReceiver<SettleOutcome>,
    verified: u64,
    /// Epochs handed to settlement (for the settlement lag).
    sent: u64,
    /// Epochs finalized on L1 (a set: an epoch can be reported again after a restart).
    counted: std::collections::HashSet<u64>,
    finality: Finalized,
}

impl std::fmt::Debug for EpochControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochControl").field("verified", &self.verified).field("settling", &self.settling).finish()
    }
}

impl EpochControl {
    /// Starts settlement (when `settler` is set) and verifies the epochs finished before this start. Those count as
    /// done; on a lasting L1 they are handed to settlement too (it skips what the rollup executed already), while a
    /// fresh in-process chain starts with the epochs that finish from now on.
    pub async fn start(
        queue: Queue,
        metrics: Arc<ProverMetrics>,
        mut watcher: EpochWatcher,
        settler: Option<EpochSettler>,
        finalized: Finalized,
        backoff: Backoff,
    ) -> anyhow::Result<(Self, Vec<EpochProof>)> {
        let settling = settler.is_some();
        let history = settler.as_ref().is_some_and(EpochSettler::settles_history);
        let (to_settle, outcomes) = spawn_settlement(settler, finalized.clone(), backoff);
        let earlier = watcher.poll().await?;
        if history {
            for e in &earlier {
                let _ = to_settle.send(e.clone());
            }
        }
        let verified = earlier.len() as u64;
        // Both gauges describe the chain: what earlier runs finalized counts (a durable record; an in-process chain
        // starts empty).
        let mut counted = std::collections::HashSet::new();
        for e in &earlier {
            if finalized.contains(e.epoch).await? {
                counted.insert(e.epoch);
            }
        }
        metrics.epochs_verified.set(verified as i64);
        metrics.epochs_finalized.set(counted.len() as i64);
        let sent = if history { verified } else { 0 };
        let control = EpochControl {
            sent,
            queue,
            metrics,
            watcher,
            settling,
            to_settle,
            outcomes,
            verified,
            counted,
            finality: finalized,
        };
        Ok((control, earlier))
    }

    /// Whether verified epochs go on to L1.
    pub fn settling(&self) -> bool {
        self.settling
    }

    /// Epochs verified since the queue began (earlier runs included).
    pub fn verified(&self) -> u64 {
        self.verified
    }

    /// Epochs finalized on L1, earlier runs included where finality is recorded durably.
    pub fn finalized(&self) -> u64 {
        self.counted.len() as u64
    }

    /// One round. Queue errors are logged and retried next tick; an epoch proof that fails verification is an error
    /// (the queue accepted a proof its own circuits refuse).
    pub async fn tick(&mut self) -> anyhow::Result<Tick> {
        match self.queue.requeue_expired().await {
            Ok(n) if n > 0 => tracing::warn!(jobs = n, "requeued jobs with expired leases"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "requeue of expired leases failed"),
        }
        self.metrics.refresh_depth(&self.queue).await;
        self.metrics.refresh_workers();
        let verified = self.watcher.poll().await?;
        if self.settling {
            for e in &verified {
                let _ = self.to_settle.send(e.clone());
            }
            self.sent += verified.len() as u64;
        }
        self.verified += verified.len() as u64;
        self.metrics.epochs_verified.set(self.verified as i64);
        let mut settlement = Vec::new();
        while let Ok(o) = self.outcomes.try_recv() {
            // `settled: None` is an epoch executed by an earlier run (now recorded) or one before the rollup's genesis.
            if let SettleOutcome::Settled { epoch, settled } = &o {
                let is_final = settled.is_some() || self.finality.contains(*epoch).await.unwrap_or(false);
                if is_final {
                    self.counted.insert(*epoch);
                }
            }
            settlement.push(o);
        }
        self.metrics.epochs_finalized.set(self.finalized() as i64);
        let awaiting = if self.settling { self.sent.saturating_sub(self.finalized()) } else { 0 };
        self.metrics.epochs_awaiting_settlement.set(awaiting as i64);
        Ok(Tick { verified, settlement })
    }
}
