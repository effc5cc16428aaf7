//! Prometheus metrics, registered into the registry the caller passes to `Sequencer::open`.
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `zkr_sequencer_txs_received_total` | counter | submissions (valid or not) |
//! | `zkr_sequencer_txs_accepted_total` | counter | submissions acknowledged (durably stored) |
//! | `zkr_sequencer_txs_rejected_total{phase,reason}` | counter | `phase="submit"`: refused at submission; `phase="execute"`: a waiting tx failed when its nonce came up |
//! | `zkr_sequencer_soft_confirmation_seconds` | histogram | submit → acknowledgement, accepted txs |
//! | `zkr_sequencer_batch_seal_latency_seconds` | histogram | first tx of a batch executed → batch sealed |
//! | `zkr_sequencer_mempool_size` | gauge | txs waiting for a nonce gap to fill |
//! | `zkr_sequencer_open_batch_txs` | gauge | txs executed into the open batch |
//! | `zkr_sequencer_batches_sealed_total` | counter | sealed batches (restored from the store at open) |
//! | `zkr_sequencer_batches_handed_off_total` | counter | batches the sink accepted (restored from the store at open) |
//! | `zkr_sequencer_proven_batches` | gauge | length of the proven prefix of batches |
//! | `zkr_sequencer_finality_refused_total` | counter | finality records whose roots are not this chain's |
//! | `zkr_sequencer_last_batch_sealed_timestamp_seconds` | gauge | when the last batch was sealed (unix seconds; 0: none yet) |
//! | `zkr_sequencer_oldest_waiting_tx_age_seconds{queue}` | gauge | `queue="mempool"`: the oldest transaction waiting for a nonce gap; `queue="open_batch"`: the oldest one in the open batch (0: none) |
//! | `zkr_finality_lag_seconds{stage}` | gauge | age of the oldest sequenced transaction not yet `proven`, `aggregated`, `finalized` (0: none) |

use prometheus::{Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

#[derive(Clone, Debug)]
pub(crate) struct Metrics {
    pub received: IntCounter,
    pub accepted: IntCounter,
    pub rejected: IntCounterVec,
    pub soft_confirmation: Histogram,
    pub seal_latency: Histogram,
    pub mempool: IntGauge,
    pub open_batch: IntGauge,
    pub sealed: IntCounter,
    pub handed_off: IntCounter,
    pub proven: IntGauge,
    pub finality_refused: IntCounter,
    pub last_sealed: Gauge,
    pub oldest_waiting: GaugeVec,
    pub finality_lag: GaugeVec,
}

impl Metrics {
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = Metrics {
            received: IntCounter::new("zkr_sequencer_txs_received_total", "Transactions submitted")?,
            accepted: IntCounter::new("zkr_sequencer_txs_accepted_total", "Transactions acknowledged (durable)")?,
            rejected: IntCounterVec::new(
                Opts::new("zkr_sequencer_txs_rejected_total", "Transactions refused at submission or at execution"),
                &["phase", "reason"],
            )?,
            soft_confirmation: Histogram::with_opts(
                HistogramOpts::new(
                    "zkr_sequencer_soft_confirmation_seconds",
                    "Time from submission to acknowledgement of accepted transactions",
                )
                .buckets(prometheus::exponential_buckets(0.0005, 2.0, 16)?),
            )?,
            seal_latency: Histogram::with_opts(
                HistogramOpts::new(
                    "zkr_sequencer_batch_seal_latency_seconds",
                    "Time from a batch's first transaction to its sealing",
                )
                .buckets(prometheus::exponential_buckets(0.005, 2.0, 16)?),
            )?,
            mempool: IntGauge::new("zkr_sequencer_mempool_size", "Transactions waiting for a nonce gap to fill")?,
            open_batch: IntGauge::new("zkr_sequencer_open_batch_txs", "Transactions in the open batch")?,
            sealed: IntCounter::new("zkr_sequencer_batches_sealed_total", "Sealed batches")?,
            handed_off: IntCounter::new("zkr_sequencer_batches_handed_off_total", "Batches accepted by the sink")?,
            proven: IntGauge::new("zkr_sequencer_proven_batches", "Batches in the proven prefix")?,
            finality_refused: IntCounter::new(
                "zkr_sequencer_finality_refused_total",
                "Batches whose reported finality named roots other than this sequencer's (another chain's record)",
            )?,
            last_sealed: Gauge::new(
                "zkr_sequencer_last_batch_sealed_timestamp_seconds",
                "When the last batch was sealed, unix seconds (0 before the first)",
            )?,
            oldest_waiting: GaugeVec::new(
                Opts::new(
                    "zkr_sequencer_oldest_waiting_tx_age_seconds",
                    "Age of the oldest transaction waiting in the mempool (for a nonce gap) or in the open batch (0: none)",
                ),
                &["queue"],
            )?,
            finality_lag: GaugeVec::new(
                Opts::new(
                    "zkr_finality_lag_seconds",
                    "Age of the oldest sequenced transaction that has not reached the stage (proven, aggregated, \
                     finalized on L1); 0 when none waits",
                ),
                &["stage"],
            )?,
        };
        registry.register(Box::new(m.received.clone()))?;
        registry.register(Box::new(m.accepted.clone()))?;
        registry.register(Box::new(m.rejected.clone()))?;
        registry.register(Box::new(m.soft_confirmation.clone()))?;
        registry.register(Box::new(m.seal_latency.clone()))?;
        registry.register(Box::new(m.mempool.clone()))?;
        registry.register(Box::new(m.open_batch.clone()))?;
        registry.register(Box::new(m.sealed.clone()))?;
        registry.register(Box::new(m.handed_off.clone()))?;
        registry.register(Box::new(m.proven.clone()))?;
        registry.register(Box::new(m.finality_refused.clone()))?;
        registry.register(Box::new(m.last_sealed.clone()))?;
        registry.register(Box::new(m.oldest_waiting.clone()))?;
        registry.register(Box::new(m.finality_lag.clone()))?;
        Ok(m)
    }
}
