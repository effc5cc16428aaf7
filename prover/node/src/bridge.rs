//! The bridge's L1 → L2 task: a [`PriorityWatcher`] on the rollup feeding its confirmed priority operations
//! (deposits, forced exits) into the sequencer in queue order, the watcher's cursor stored with them in the
//! sequencer's store so a restart resumes after the last block taken.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{IntCounter, IntGauge, Registry};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use zkr_sequencer::{L1Cursor, PriorityOp, Sequencer};
use zkr_settle::{Address, Cursor, PriorityWatcher, WatchConfig, WatchError, B256, L1};

/// How the bridge follows L1 (`[bridge]` in the devnet's configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BridgeConfig {
    /// Follow the rollup's priority queue at all (off: deposits are never credited and expire into exit mode).
    pub enabled: bool,
    /// Blocks a deposit's or forced exit's L1 block needs, its own included, before the L2 takes it. A reorg of
    /// fewer blocks removes the operation before it is sequenced; a deeper one is an incident.
    pub confirmations: u64,
    /// How often L1 is read.
    pub poll_ms: u64,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        Self { enabled: true, confirmations: 1, poll_ms: 500 }
    }
}

/// What the bridge has done, for the devnet's status line.
#[derive(Clone, Debug, Default)]
pub struct BridgeStatus {
    /// Priority operations handed to the sequencer in this run.
    pub taken: u64,
    /// Set when the bridge stopped: a reorg deeper than the confirmations, or the sequencer refused the queue.
    pub incident: Option<String>,
}

/// A running bridge task (it stops with the token given to [`spawn_bridge`]).
pub struct Bridge {
    status: Arc<Mutex<BridgeStatus>>,
}

impl Bridge {
    pub fn status(&self) -> BridgeStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

struct Metrics {
    taken: IntCounter,
    unconfirmed: IntGauge,
    l1_block: IntGauge,
    incidents: IntCounter,
}

impl Metrics {
    fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Metrics {
            taken: IntCounter::new(
                "zkr_bridge_priority_ops_taken_total",
                "L1 priority operations (deposits, forced exits) handed to the sequencer",
            )?,
            unconfirmed: IntGauge::new(
                "zkr_bridge_unconfirmed_priority_ops",
                "Priority operations seen on L1 that wait for their confirmations",
            )?,
            l1_block: IntGauge::new("zkr_bridge_l1_block", "The last L1 block whose priority operations were taken")?,
            incidents: IntCounter::new(
                "zkr_bridge_incidents_total",
                "Times the bridge stopped: an L1 reorganisation deeper than the confirmations, or a queue the \
                 sequencer refused",
            )?,
        };
        registry.register(Box::new(m.taken.clone()))?;
        registry.register(Box::new(m.unconfirmed.clone()))?;
        registry.register(Box::new(m.l1_block.clone()))?;
        registry.register(Box::new(m.incidents.clone()))?;
        Ok(m)
    }
}

/// Starts the bridge on `rollup` (deployed at `deploy_block`) of `l1`, feeding `seq` until `stop`.
pub fn spawn_bridge(
    seq: Sequencer,
    l1: Arc<dyn L1>,
    rollup: Address,
    deploy_block: u64,
    config: BridgeConfig,
    registry: &Registry,
    stop: CancellationToken,
) -> anyhow::Result<Bridge> {
    let metrics = Metrics::register(registry)?;
    let watcher = PriorityWatcher::new(
        l1,
        rollup,
        deploy_block,
        WatchConfig { confirmations: config.confirmations, ..WatchConfig::default() },
    );
    let status = Arc::new(Mutex::new(BridgeStatus::default()));
    let s = status.clone();
    let every = Duration::from_millis(config.poll_ms.max(1));
    tokio::spawn(async move {
        let set = |f: &dyn Fn(&mut BridgeStatus)| f(&mut s.lock().unwrap_or_else(|p| p.into_inner()));
        loop {
            match round(&seq, &watcher, &metrics).await {
                Ok(taken) => set(&|st| st.taken += taken),
                Err(Stop::Transient(e)) => tracing::warn!(error = %e, "bridge: reading L1 failed; retrying"),
                Err(Stop::Incident(e)) => {
                    tracing::error!(incident = %e, "bridge stopped: no more L1 priority operations are taken");
                    metrics.incidents.inc();
                    set(&|st| st.incident = Some(e.clone()));
                    return;
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    });
    Ok(Bridge { status })
}

enum Stop {
    Transient(String),
    Incident(String),
}

/// One poll of L1; returns how many operations were handed to the sequencer.
async fn round(seq: &Sequencer, watcher: &PriorityWatcher, metrics: &Metrics) -> Result<u64, Stop> {
    let stored = seq.l1_cursor().await.map_err(|e| Stop::Transient(format!("the sequencer: {e}")))?;
    let cursor = stored.map(|c| Cursor { block: c.block, hash: B256::from(c.hash) });
    let r = match watcher.poll(cursor).await {
        Ok(r) => r,
        Err(e @ WatchError::DeepReorg { .. }) => return Err(Stop::Incident(e.to_string())),
        Err(e @ WatchError::BadLog { .. }) => return Err(Stop::Incident(e.to_string())),
        Err(e @ WatchError::L1(_)) => return Err(Stop::Transient(e.to_string())),
    };
    metrics.unconfirmed.set(r.unconfirmed.len() as i64);
    let n = r.confirmed.len() as u64;
    if r.cursor != cursor || n > 0 {
        let ops = r
            .confirmed
            .iter()
            .map(|o| PriorityOp { tx: o.tx, l1_tx: o.l1_tx.0, expiry_s: o.expiry })
            .collect::<Vec<_>>();
        let c = r.cursor.map(|c| L1Cursor { block: c.block, hash: c.hash.0 });
        match seq.submit_priority(ops, c).await {
            Ok(_) => {}
            Err(e @ zkr_sequencer::SequencerError::ShutDown) => return Err(Stop::Transient(e.to_string())),
            Err(e @ zkr_sequencer::SequencerError::Failed(_)) => return Err(Stop::Transient(e.to_string())),
            Err(e) => return Err(Stop::Incident(format!("the sequencer refused the L1 priority queue: {e}"))),
        }
        metrics.taken.inc_by(n);
        if let Some(c) = r.cursor {
            metrics.l1_block.set(c.block as i64);
        }
    }
    Ok(n)
}
