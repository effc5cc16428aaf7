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

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

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
        Ok(m)
    }
}
