//! The parts every node is built from, one function each: the one-process node ([`crate::node::LocalNode`], hence
//! the devnet and the pipeline bench) and the fleet roles ([`crate::fleet`]) assemble themselves from these, so their
//! wiring cannot drift apart.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use zkr_blobs::BlobStore;
use zkr_circuits::wrap::WrapParams;
use zkr_coordinator::control::EpochControl;
use zkr_coordinator::epochs::{EpochCloser, EpochPlan, EpochProof, EpochWatcher, QueueProgress, QueueSink};
use zkr_coordinator::settlement::{Backoff, EpochSettler, Finalized, SettledProgress};
use zkr_queue::{Fence, Queue};
use zkr_sequencer::{Sequencer, SequencerConfig};
use zkr_worker::exec::Circuits;
use zkr_worker::metrics::ProverMetrics;

/// The circuits for batches of `capacity`, epochs of 2^`height` batches and wrap proofs with `wrap`: `given` when it
/// has that shape (one build shared across nodes), else built now on a blocking thread (seconds).
pub async fn circuits(
    capacity: usize,
    height: u32,
    wrap: WrapParams,
    given: Option<Arc<Circuits>>,
) -> Result<Arc<Circuits>> {
    match given {
        Some(c) if (c.capacity(), c.height(), c.wrap_params()) == (capacity, height, wrap) => Ok(c),
        Some(c) => anyhow::bail!(
            "the circuits given have capacity {}, epoch height {} and wrap {}, the node needs {capacity}, {height} and \
             {wrap}",
            c.capacity(),
            c.height(),
            c.wrap_params()
        ),
        None => {
            let c = tokio::task::spawn_blocking(move || Circuits::build_with(capacity, height, wrap))
                .await
                .context("building circuits")?;
            tracing::info!(capacity, height, %wrap, "circuits built");
            Ok(Arc::new(c))
        }
    }
}

/// Where a sequencer hands its batches and reads their progress back.
pub struct SequencerWiring {
    pub queue: Queue,
    pub blobs: Arc<dyn BlobStore>,
    pub plan: EpochPlan,
    /// Signalled on every hand-off (in-process workers); `None` in a fleet, whose workers poll.
    pub wake: Option<Arc<Notify>>,
    /// The writer lease every hand-off carries (a fleet's one sequencer per queue); `None` in one process.
    pub fence: Option<Fence>,
    /// Where L1 finality is read: in memory in one process, the shared blob store in a fleet.
    pub finalized: Finalized,
}

/// Opens the sequencer of `cfg` on `wiring`: batches go to the queue (traces to the blob store, jobs to the queue),
/// transaction status comes from the queue's progress and L1 finality.
pub async fn sequencer(
    cfg: &SequencerConfig,
    wiring: SequencerWiring,
    registry: &prometheus::Registry,
) -> Result<Sequencer> {
    let SequencerWiring { queue, blobs, plan, wake, fence, finalized } = wiring;
    let sink = Arc::new(QueueSink { queue: queue.clone(), blobs, plan, wake, fence });
    let progress = Arc::new(SettledProgress { queue: QueueProgress { queue, plan }, finalized });
    Sequencer::open(cfg, sink, progress, registry).await.context("opening the sequencer")
}

/// Pads an epoch that has begun but stalls, once a second until `stop`: after `timeout` it is completed with empty
/// batches, so an epoch proof comes every 2^height batches or every `timeout`. A failed padding (the queue or the
/// blob store away) is logged and tried again at the next tick, in every kind of node.
pub fn spawn_epoch_closer(seq: Sequencer, plan: EpochPlan, timeout: Duration, stop: CancellationToken) {
    let mut closer = EpochCloser::new(plan, timeout);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = closer.tick(&seq).await {
                tracing::warn!(error = format!("{e:#}"), "could not pad the open epoch; trying again");
            }
        }
    });
}

/// The epoch control loop over the queue: verifies finished epochs in order (from the first) and hands them to
/// `settler` when there is one. Also returns the epochs that were finished before this start.
pub async fn epoch_control(
    queue: Queue,
    blobs: Arc<dyn BlobStore>,
    circuits: Arc<Circuits>,
    plan: EpochPlan,
    metrics: Arc<ProverMetrics>,
    settler: Option<EpochSettler>,
    finalized: Finalized,
) -> Result<(EpochControl, Vec<EpochProof>)> {
    let watcher =
        EpochWatcher { progress: QueueProgress { queue: queue.clone(), plan }, blobs, circuits, next_epoch: 0 };
    EpochControl::start(queue, metrics, watcher, settler, finalized, Backoff::default()).await
}
