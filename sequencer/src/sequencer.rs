//! The `Sequencer` handle and its background tasks (executor, batch hand-off, progress poller).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};
use zkr_circuits::artifact::digest_hex;
use zkr_circuits::batch::Batch;
use zkr_circuits::config::Digest;

use crate::config::SequencerConfig;
use crate::error::{SequencerError, SubmitError};
use crate::executor::{Cmd, Core, Info, Params};
use crate::metrics::Metrics;
use crate::types::{AccountView, BatchProgress, L1Cursor, PriorityOp, StatusUpdate, Submitted, TxHash, TxStatus};
use crate::{store, BatchSink, Finality, HookError, ProgressSource};

/// Commands waiting for the executor; submitters wait (back-pressure) beyond this.
const COMMAND_QUEUE: usize = 8192;
/// Status updates buffered per subscriber before it lags.
const UPDATE_BUFFER: usize = 16384;
/// Most batches asked about per progress poll.
const POLL_LIMIT: usize = 1024;

/// A handle to a running sequencer. Cheap to clone; every clone talks to the same executor.
///
/// Background work (the executor, the batch hand-off to the [`BatchSink`], the
/// [`ProgressSource`] poller and the `max_wait` seal timer) is started by [`Sequencer::open`]
/// and runs until [`Sequencer::shutdown`] is called, the token from
/// [`Sequencer::shutdown_token`] is cancelled, or the last handle is dropped.
#[derive(Clone)]
pub struct Sequencer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer").field("data_dir", &self.inner.config.data_dir).finish_non_exhaustive()
    }
}

struct Inner {
    config: SequencerConfig,
    cmd: mpsc::Sender<Cmd>,
    updates: broadcast::Sender<StatusUpdate>,
    cancel: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    metrics: Metrics,
    /// Set once when a hook fails fatally ([`HookError::is_fatal`]).
    halted: watch::Receiver<Option<HookError>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Sequencer {
    /// Opens (or creates) the store at `<data_dir>/sequencer.db`, replays its execution log
    /// from genesis (checking every sealed batch's root), restores the open batch and the
    /// mempool, re-emits the sealed batches the sink has not accepted, and starts the
    /// background tasks. Must be called inside a tokio runtime. Registers the metrics into
    /// `registry` (so one registry serves one sequencer).
    pub async fn open(
        config: &SequencerConfig,
        sink: Arc<dyn BatchSink>,
        progress: Arc<dyn ProgressSource>,
        registry: &prometheus::Registry,
    ) -> Result<Sequencer, SequencerError> {
        config.validate().map_err(SequencerError::Config)?;
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| SequencerError::DataDir { path: config.data_dir.clone(), source })?;
        let metrics = Metrics::register(registry)?;
        let path = config.db_path();
        let mut conn = store::connect(&path).await?;
        let genesis = config.genesis.state();
        let description =
            format!("demo_seed={} demo_accounts={}", config.genesis.demo_seed, config.genesis.demo_accounts);
        store::check_genesis(&mut conn, &path, &description, &digest_hex(&genesis.root())).await?;

        let (updates, _) = broadcast::channel(UPDATE_BUFFER);
        let (handoff_tx, handoff_rx) = mpsc::unbounded_channel();
        let params = Params {
            capacity: config.batch_capacity,
            max_wait: Duration::from_millis(config.max_wait_ms),
            window: config.mempool_window,
            min_fee: config.min_fee,
            priority_margin: Duration::from_secs(config.priority_seal_margin_s),
        };
        let started = Instant::now();
        let (core, initial) =
            Core::load(&mut conn, genesis, params, updates.clone(), handoff_tx, metrics.clone()).await?;
        info!(path = %path.display(), elapsed_ms = started.elapsed().as_millis() as u64, "sequencer store opened");

        let (cmd, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
        let cancel = CancellationToken::new();
        let (halt, halted) = watch::channel(None);
        let tasks = vec![
            tokio::spawn(core.run(conn, initial, cmd_rx, cancel.clone())),
            tokio::spawn(handoff_task(
                sink,
                handoff_rx,
                cmd.clone(),
                cancel.clone(),
                Duration::from_millis(config.handoff_retry_ms),
                metrics.clone(),
                halt,
            )),
            tokio::spawn(progress_task(
                progress,
                cmd.clone(),
                cancel.clone(),
                Duration::from_millis(config.progress_poll_ms),
            )),
        ];
        Ok(Sequencer {
            inner: Arc::new(Inner {
                config: config.clone(),
                cmd,
                updates,
                cancel,
                tasks: Mutex::new(tasks),
                metrics,
                halted,
            }),
        })
    }

    /// Waits until a hook fails in a way retrying cannot mend (fenced off the queue, a conflicting history) and
    /// returns why. From then on the sequencer refuses submissions with that reason; the process composing it
    /// should stop. Never returns while the sequencer is healthy.
    pub async fn halted(&self) -> HookError {
        let mut rx = self.inner.halted.clone();
        loop {
            if let Some(e) = rx.borrow_and_update().clone() {
                return e;
            }
            if rx.changed().await.is_err() {
                // the hand-off task ended without halting (shut down): nothing more will come
                std::future::pending::<()>().await;
            }
        }
    }

    /// Why the sequencer halted, if it did (see [`Sequencer::halted`]).
    pub fn halt_reason(&self) -> Option<HookError> {
        self.inner.halted.borrow().clone()
    }

    pub fn config(&self) -> &SequencerConfig {
        &self.inner.config
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, SequencerError>>) -> Cmd,
    ) -> Result<T, SequencerError> {
        let (tx, rx) = oneshot::channel();
        self.inner.cmd.send(make(tx)).await.map_err(|_| SequencerError::ShutDown)?;
        rx.await.map_err(|_| SequencerError::ShutDown)?
    }

    /// Validates and stores a signed transaction (`SignedTx::to_bytes`). Returns once it is
    /// committed to the store: `Sequenced` if it executed now, `Received` if it waits for
    /// earlier nonces of its account. A refusal stores nothing.
    pub async fn submit(&self, bytes: &[u8]) -> Result<Submitted, SubmitError> {
        let m = &self.inner.metrics;
        m.received.inc();
        let start = Instant::now();
        let (tx, rx) = oneshot::channel();
        let shut = || SubmitError::Unavailable("the sequencer has shut down".into());
        let r = match self.inner.cmd.send(Cmd::Submit { bytes: bytes.to_vec(), reply: tx }).await {
            Ok(()) => rx.await.unwrap_or_else(|_| Err(shut())),
            Err(_) => Err(shut()),
        };
        match &r {
            Ok(_) => {
                m.accepted.inc();
                m.soft_confirmation.observe(start.elapsed().as_secs_f64());
            }
            Err(e) => m.rejected.with_label_values(&["submit", e.label()]).inc(),
        }
        r
    }

    /// Takes priority operations from L1 (the bridge's watcher hands them on once confirmed) in queue order: each
    /// executes into the open batch at once; `cursor` (the last L1 block they came from) is stored with them, so a
    /// restarted watcher resumes after it ([`Sequencer::l1_cursor`]). An operation taken before is skipped when it
    /// is the same one, and refused ([`SequencerError::PriorityConflict`]) when the id names another; a gap is
    /// [`SequencerError::PriorityOutOfOrder`]. Returns the operations' transaction hashes.
    pub async fn submit_priority(
        &self,
        ops: Vec<PriorityOp>,
        cursor: Option<L1Cursor>,
    ) -> Result<Vec<TxHash>, SequencerError> {
        self.ask(|reply| Cmd::Priority { ops, cursor, reply }).await
    }

    /// The last L1 block whose priority operations were taken, if any.
    pub async fn l1_cursor(&self) -> Result<Option<L1Cursor>, SequencerError> {
        self.ask(|reply| Cmd::L1Cursor { reply }).await
    }

    /// The status of a transaction; `None` if it is unknown (never accepted).
    pub async fn tx_status(&self, hash: TxHash) -> Result<Option<TxStatus>, SequencerError> {
        self.ask(|reply| Cmd::Status { hash, reply }).await
    }

    /// An account with its Merkle proof in the latest state (`proven = false`) or in the
    /// state after the last proven batch of the proven prefix (`proven = true`).
    pub async fn account(&self, id: u32, proven: bool) -> Result<AccountView, SequencerError> {
        self.ask(|reply| Cmd::Account { id, proven, reply }).await
    }

    /// The root of the latest state (open batch included).
    pub async fn root(&self) -> Result<Digest, SequencerError> {
        Ok(self.info().await?.root)
    }

    /// The number of sealed batches (= the number of the open batch).
    pub async fn batches_sealed(&self) -> Result<u64, SequencerError> {
        Ok(self.info().await?.batches_sealed)
    }

    /// Roots, counters and sizes in one consistent snapshot.
    pub async fn info(&self) -> Result<Info, SequencerError> {
        self.ask(|reply| Cmd::Info { reply }).await
    }

    /// Seals the open batch now. With `allow_empty = false` an empty open batch is left
    /// alone (`Ok(None)`); with `true` an empty batch (all no-ops) is sealed, e.g. to pad an
    /// epoch. Returns the sealed batch's number; the batch is durable when this returns.
    pub async fn seal_now(&self, allow_empty: bool) -> Result<Option<u64>, SequencerError> {
        self.ask(|reply| Cmd::SealNow { allow_empty, reply }).await
    }

    /// Reports progress of a sealed batch directly (in addition to polling the
    /// [`ProgressSource`]); progress only moves forward. Finality needs the record that covers the batch, checked
    /// as a polled one is.
    pub async fn report_progress(
        &self,
        number: u64,
        progress: BatchProgress,
        finality: Option<Finality>,
    ) -> Result<(), SequencerError> {
        self.inner.cmd.send(Cmd::Progress { number, progress, finality }).await.map_err(|_| SequencerError::ShutDown)
    }

    /// Status changes from now on (a lagging receiver gets `RecvError::Lagged`).
    pub fn subscribe(&self) -> broadcast::Receiver<StatusUpdate> {
        self.inner.updates.subscribe()
    }

    /// A token that stops the background tasks when cancelled (child tokens, e.g. for
    /// servers, stop with it).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.cancel.clone()
    }

    /// Stops the background tasks and waits until the store is closed. The open batch stays
    /// open (it is restored by the next `open`). Later calls on any handle fail with
    /// `ShutDown` / `Unavailable`.
    pub async fn shutdown(&self) {
        self.inner.cancel.cancel();
        let tasks = std::mem::take(&mut *self.inner.tasks.lock().expect("tasks lock"));
        for t in tasks {
            if let Err(e) = t.await {
                warn!(error = %e, "a sequencer task ended abnormally");
            }
        }
    }
}

/// Hands sealed batches to the sink in order; on error retries the same batch with
/// exponential back-off. Marks a batch handed off only after the sink returned `Ok`.
async fn handoff_task(
    sink: Arc<dyn BatchSink>,
    mut rx: mpsc::UnboundedReceiver<(u64, Arc<Batch>)>,
    cmd: mpsc::Sender<Cmd>,
    cancel: CancellationToken,
    retry: Duration,
    metrics: Metrics,
    halt: watch::Sender<Option<HookError>>,
) {
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            next = rx.recv() => next,
        };
        let Some((number, batch)) = next else { return };
        let mut delay = retry;
        loop {
            let r = tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                r = sink.sealed(number, &batch) => r,
            };
            match r {
                Ok(()) => {
                    debug!(batch = number, "batch handed off");
                    metrics.handed_off.inc();
                    if cmd.send(Cmd::HandedOff { number }).await.is_err() {
                        return;
                    }
                    break;
                }
                Err(e) if e.is_fatal() => {
                    error!(batch = number, error = %e, "batch hand-off refused; the sequencer stops accepting work");
                    let _ = cmd.send(Cmd::Halt { reason: e.to_string() }).await;
                    let _ = halt.send(Some(e));
                    return;
                }
                Err(e) => {
                    warn!(batch = number, error = %e, retry_in_ms = delay.as_millis() as u64, "batch hand-off failed");
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

/// Polls the progress source for every sealed, not yet finalized batch.
async fn progress_task(
    source: Arc<dyn ProgressSource>,
    cmd: mpsc::Sender<Cmd>,
    cancel: CancellationToken,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let (tx, rx) = oneshot::channel();
        if cmd.send(Cmd::Unfinished { limit: POLL_LIMIT, reply: tx }).await.is_err() {
            return;
        }
        let Ok(Ok(list)) = rx.await else { return };
        for (number, known) in list {
            let r = tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                r = source.batch_progress(number) => r,
            };
            let r = match r {
                Ok(p) if p.finalized && !known.finalized => {
                    let f = tokio::select! {
                        biased;
                        _ = cancel.cancelled() => return,
                        f = source.finality(number) => f,
                    };
                    f.map(|f| (p, f))
                }
                Ok(p) => Ok((p, None)),
                Err(e) => Err(e),
            };
            match r {
                Ok((p, finality)) if known.merge(p) != known => {
                    if cmd.send(Cmd::Progress { number, progress: p, finality }).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    warn!(batch = number, error = %e, "polling batch progress failed");
                    break;
                }
            }
        }
    }
}
