//! A cheap periodic read of the rollup contract for the operators' metrics: whether it is paused or in exit mode,
//! its L1 priority queue (how many deposits and forced exits it has not executed, the oldest one's age and the time
//! left until it expires: past that, anyone may switch the rollup into exit mode) and, where this process holds the
//! operator's key, that account's balance. Run by every role that reaches L1: the sequencer's bridge (read only),
//! the coordinator and the devnet (they settle).
//!
//! The ages are measured against this machine's clock (the contract uses block timestamps) and refreshed at every
//! round, also when the read fails: a stale read still shows the expiry coming closer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{Gauge, GaugeVec, IntGauge, Opts, Registry};
use tokio_util::sync::CancellationToken;
use zkr_rollup::IZkrRollup;
use zkr_settle::{view, Address, L1Error, L1, U256};

/// The label values of a vector with no labels (its one series can be removed, unlike a plain gauge's).
const NO_LABELS: &[&str] = &[];

/// How often the rollup is read.
pub const WATCH_EVERY: Duration = Duration::from_secs(5);

/// Where the rollup is: unknown until it is deployed (a coordinator deploys it at its first epoch).
#[derive(Clone, Debug, Default)]
pub struct RollupAddress(Arc<Mutex<Option<Address>>>);

impl RollupAddress {
    pub fn new(rollup: Option<Address>) -> Self {
        Self(Arc::new(Mutex::new(rollup)))
    }

    pub fn set(&self, rollup: Address) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(rollup);
    }

    pub fn get(&self) -> Option<Address> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What one read found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollupState {
    pub paused: bool,
    pub exit_mode: bool,
    /// Priority operations queued on L1 and not executed yet.
    pub queue_length: u64,
    /// The oldest of them: (its expiry, when it was queued), unix seconds.
    pub oldest: Option<(u64, u64)>,
}

/// Reads the rollup's state with view calls.
pub async fn read_rollup(l1: &dyn L1, rollup: Address) -> Result<RollupState, L1Error> {
    use IZkrRollup as R;
    let paused = view(l1, rollup, R::pausedCall {}).await?;
    let exit_mode = view(l1, rollup, R::exitModeCall {}).await?;
    let length = view(l1, rollup, R::priorityQueueLengthCall {}).await?;
    let executed = view(l1, rollup, R::priorityOpsExecutedCall {}).await?;
    let oldest = if executed < length {
        let op = view(l1, rollup, R::priorityOpCall { priorityId: executed }).await?;
        // queued at block.timestamp with expiry = that + priorityExpiry (the expiry in force when it was queued;
        // a change through the timelock since then makes the age approximate)
        let window = view(l1, rollup, R::priorityExpiryCall {}).await?;
        let expiry = u64::from(op.expiry);
        Some((expiry, expiry.saturating_sub(window)))
    } else {
        None
    };
    Ok(RollupState { paused, exit_mode, queue_length: length.saturating_sub(executed), oldest })
}

struct Metrics {
    paused: IntGauge,
    exit_mode: IntGauge,
    queue_length: IntGauge,
    /// No series while the queue is empty.
    oldest_age: GaugeVec,
    oldest_expiry: GaugeVec,
    balance: Option<Gauge>,
}

impl Metrics {
    fn register(registry: &Registry, with_balance: bool) -> prometheus::Result<Self> {
        let m = Metrics {
            paused: IntGauge::new(
                "zkr_rollup_paused",
                "1 while the rollup contract is paused (no commit, prove or execute)",
            )?,
            exit_mode: IntGauge::new("zkr_rollup_exit_mode", "1 once the rollup contract is in exit mode")?,
            queue_length: IntGauge::new(
                "zkr_bridge_priority_queue_length",
                "Priority operations (deposits, forced exits) queued on L1 and not executed by the rollup yet",
            )?,
            oldest_age: GaugeVec::new(
                Opts::new(
                    "zkr_bridge_oldest_priority_op_age_seconds",
                    "Age of the oldest priority operation the rollup has not executed (absent when there is none)",
                ),
                &[],
            )?,
            oldest_expiry: GaugeVec::new(
                Opts::new(
                    "zkr_bridge_oldest_priority_op_expiry_seconds",
                    "Seconds until the oldest unexecuted priority operation expires and exit mode may be activated \
                     (negative once expired; absent when there is none)",
                ),
                &[],
            )?,
            balance: if with_balance {
                Some(Gauge::new(
                    "zkr_l1_operator_balance_ether",
                    "ETH balance of the account this process settles from (the operator), in ether",
                )?)
            } else {
                None
            },
        };
        registry.register(Box::new(m.paused.clone()))?;
        registry.register(Box::new(m.exit_mode.clone()))?;
        registry.register(Box::new(m.queue_length.clone()))?;
        registry.register(Box::new(m.oldest_age.clone()))?;
        registry.register(Box::new(m.oldest_expiry.clone()))?;
        if let Some(b) = &m.balance {
            registry.register(Box::new(b.clone()))?;
        }
        Ok(m)
    }

    fn show(&self, state: &RollupState, now_s: u64) {
        self.paused.set(i64::from(state.paused));
        self.exit_mode.set(i64::from(state.exit_mode));
        self.queue_length.set(state.queue_length as i64);
        match state.oldest {
            Some((expiry, queued)) => {
                self.oldest_age.with_label_values(NO_LABELS).set(now_s.saturating_sub(queued) as f64);
                self.oldest_expiry.with_label_values(NO_LABELS).set(expiry as f64 - now_s as f64);
            }
            None => {
                self.oldest_age.reset();
                self.oldest_expiry.reset();
            }
        }
    }
}

/// Wei as ether (f64: the gauge's precision is far below a wei, and an alert threshold needs no more).
pub fn wei_to_ether(wei: U256) -> f64 {
    // 2^128 wei is far beyond all ETH in existence: saturate there
    let w: u128 = wei.try_into().unwrap_or(u128::MAX);
    w as f64 / 1e18
}

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Reads `rollup` on `l1` every `every` until `stop`, exporting what it finds into `registry`. With `operator`,
/// that account's balance too. A failed read is logged (once until a read succeeds again) and tried next round.
pub fn spawn_rollup_watch(
    l1: Arc<dyn L1>,
    rollup: RollupAddress,
    operator: Option<Address>,
    registry: &Registry,
    every: Duration,
    stop: CancellationToken,
) -> prometheus::Result<()> {
    let metrics = Metrics::register(registry, operator.is_some())?;
    tokio::spawn(async move {
        let mut last: Option<RollupState> = None;
        let mut failing = false;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let Some(address) = rollup.get() else { continue };
            let read = read_rollup(&*l1, address).await;
            let balance = match operator {
                Some(a) => Some(l1.balance(a).await),
                None => None,
            };
            match (read, balance.transpose()) {
                (Ok(state), Ok(balance)) => {
                    if failing {
                        tracing::info!(rollup = %address, "reading the rollup's state works again");
                        failing = false;
                    }
                    if let (Some(g), Some(wei)) = (&metrics.balance, balance) {
                        g.set(wei_to_ether(wei));
                    }
                    last = Some(state);
                }
                (Err(e), _) | (_, Err(e)) => {
                    if !failing {
                        tracing::warn!(rollup = %address, error = %e, "reading the rollup's state for the metrics failed; retrying");
                        failing = true;
                    }
                }
            }
            if let Some(state) = &last {
                metrics.show(state, now_s());
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wei_converts_to_ether() {
        assert_eq!(wei_to_ether(U256::from(1_500_000_000_000_000_000u128)), 1.5);
        assert_eq!(wei_to_ether(U256::ZERO), 0.0);
        assert!(wei_to_ether(U256::MAX) > 1e20, "saturates instead of wrapping");
    }

    #[test]
    fn the_oldest_operation_shows_its_age_and_time_left_and_disappears_when_executed() {
        use prometheus::Encoder;
        let registry = Registry::new();
        let m = Metrics::register(&registry, false).unwrap();
        let text = |r: &Registry| {
            let mut out = Vec::new();
            prometheus::TextEncoder::new().encode(&r.gather(), &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let state = RollupState { paused: true, exit_mode: false, queue_length: 3, oldest: Some((10_000, 4_000)) };
        m.show(&state, 9_000);
        let t = text(&registry);
        assert!(t.contains("zkr_rollup_paused 1"), "{t}");
        assert!(t.contains("zkr_bridge_priority_queue_length 3"), "{t}");
        assert!(t.contains("zkr_bridge_oldest_priority_op_age_seconds 5000"), "{t}");
        assert!(t.contains("zkr_bridge_oldest_priority_op_expiry_seconds 1000"), "{t}");
        assert!(!t.contains("zkr_l1_operator_balance_ether"), "no operator key, no balance: {t}");
        m.show(&state, 10_500);
        assert!(text(&registry).contains("zkr_bridge_oldest_priority_op_expiry_seconds -500"));
        m.show(&RollupState { paused: false, exit_mode: false, queue_length: 0, oldest: None }, 11_000);
        let t = text(&registry);
        assert!(t.contains("zkr_rollup_paused 0"), "{t}");
        assert!(!t.contains("zkr_bridge_oldest_priority_op"), "an empty queue has no oldest operation: {t}");
    }
}
