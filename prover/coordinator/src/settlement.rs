//! Settling verified epochs on an L1: each epoch proof is wrapped (the EVM-friendly wrap circuit) by a worker, as a
//! wrap job in the queue, then the rollup contract gets commit → prove → execute, and the epoch's batches become
//! "finalized" for the sequencer. Settlement proves nothing itself: it enqueues the wrap job, waits for the proof the
//! hub accepted, and checks it once more before sending it.
//!
//! The devnet settles on an in-process EVM (zkr-evm's revm) by default, or on a JSON-RPC node.
//!
//! In process, the contracts are deployed when the first epoch settles, with that epoch's old root as the
//! rollup's genesis root: that L1 lives in memory, so a resumed devnet starts a fresh chain at the state it resumes
//! from. On a JSON-RPC chain the deployment lasts: the devnet uses the one recorded in `deployment` (written by
//! `zkr l1 deploy`, or by an earlier run), else deploys at the first epoch and records it there. Which devnet
//! epoch is the rollup's epoch 1 is kept in `l1-epochs.toml` beside the record, so a resumed devnet picks up each
//! epoch at the step the contract's counters say it needs (commit, prove or execute).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use zkr_blobs::BlobStore;
use zkr_circuits::artifact::digest_from_hex;
use zkr_circuits::batch::Batch;
use zkr_circuits::state::State;
use zkr_circuits::tx::Tx;
use zkr_queue::{JobKind, JobState, NewJob, Queue};
use zkr_rollup::{calldata::genesis_accounts, pack_digest, EpochData, IZkrRollup};
use zkr_sequencer::types::{digest_to_bytes, root_hex};
use zkr_sequencer::{BatchProgress, Finality, HookError, ProgressSource};
use zkr_settle::{
    deploy_contracts, view, ContractSet, Deployment, EpochSubmission, InProcessL1, RollupProgress, RollupSetup, RpcL1,
    SettleEvent, Settler, SettlerConfig, Stage, ZkrRollupCalls, L1,
};

use crate::epochs::{EpochPlan, EpochProof, QueueProgress};
use crate::hub::Hub;
use crate::metered::MeteredL1;
use zkr_settle::{L1Error, SettleError};
use zkr_worker::exec::Circuits;
use zkr_worker::metrics::ProverMetrics;
use zkr_worker::source::trace_key;

/// Where the devnet settles.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode", deny_unknown_fields)]
pub enum L1Mode {
    /// No settlement: epochs end at "proof verified".
    Off,
    /// zkr-evm's revm in this process, running the real contracts.
    #[default]
    InProcess,
    /// An Ethereum JSON-RPC node; transactions are signed with the key in the environment variable
    /// `private_key_env`.
    Rpc {
        url: String,
        private_key_env: String,
        /// The deployment record (`zkr l1 deploy --out`): used when it exists, else written at the first
        /// deployment. Default: `l1.toml` in the data dir.
        #[serde(default)]
        deployment: Option<PathBuf>,
        /// Blocks an execute transaction needs (its own included) before its epoch counts as finalized.
        #[serde(default = "default_confirmations")]
        confirmations: u64,
        /// Longest wait for those confirmations, in seconds.
        #[serde(default = "default_confirmation_timeout_s")]
        confirmation_timeout_s: u64,
    },
}

fn default_confirmations() -> u64 {
    1
}

fn default_confirmation_timeout_s() -> u64 {
    900
}

/// Which devnet epoch is the rollup's epoch 1 (kept beside the deployment record).
#[derive(Debug, Serialize, Deserialize)]
struct EpochOffset {
    first_epoch: u64,
}

/// Seconds before an unprocessed priority operation sends the devnet's rollup into exit mode (3 days).
const PRIORITY_EXPIRY_S: u64 = 3 * 24 * 3600;
/// Timelock of the devnet's rollup (4 days: it must exceed the priority expiry).
const TIMELOCK_S: u64 = 4 * 24 * 3600;

/// One settled epoch.
#[derive(Clone, Debug)]
pub struct SettledEpoch {
    /// The devnet's epoch number (from 0).
    pub epoch: u64,
    /// The rollup contract's epoch number (from 1).
    pub l1_epoch: u64,
    pub l1_block: u64,
    /// From enqueuing the wrap job to holding its checked proof (queueing and a worker's proving included); 0 when
    /// the step needed no proof.
    pub wrap_seconds: f64,
    pub gas_commit: u64,
    pub gas_prove: u64,
    pub gas_execute: u64,
}

/// Which epochs are finalized on L1, with what each finalized, shared with the sequencer's progress source. With a
/// blob store each one is also recorded there (`l1/finalized-<epoch>`), so a sequencer in another process sharing
/// the store sees it; the sequencer takes it only if the record's roots are those of its own batches.
#[derive(Clone, Debug, Default)]
pub struct Finalized {
    seen: Arc<Mutex<HashMap<u64, Finality>>>,
    store: Option<Arc<dyn BlobStore>>,
}

/// The blob key recording that `epoch` is finalized on L1.
pub fn finalized_key(epoch: u64) -> String {
    format!("l1/finalized-{epoch}")
}

/// The finality record as stored (TOML): an operator reads which batches and roots it names.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FinalityRecord {
    epoch: u64,
    batches: [u64; 2],
    old_root: String,
    new_root: String,
    /// The L1 transaction that executed the epoch (0x + 64 hex digits), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    execute_tx: Option<String>,
}

impl FinalityRecord {
    fn parse(epoch: u64, bytes: &[u8]) -> Result<Finality> {
        let key = finalized_key(epoch);
        let text = std::str::from_utf8(bytes).with_context(|| format!("finality record {key} is not UTF-8"))?;
        let r: FinalityRecord = toml::from_str(text).with_context(|| format!("finality record {key} is malformed"))?;
        if r.epoch != epoch || r.batches[0] > r.batches[1] {
            bail!("finality record {key} names epoch {} and batches {:?}; expected epoch {epoch}", r.epoch, r.batches);
        }
        let root = |name: &str, hex: &str| {
            digest_from_hex(hex)
                .map(|d| digest_to_bytes(&d))
                .with_context(|| format!("finality record {key}: {name} {hex:?} is not a digest (64 hex digits)"))
        };
        let execute_tx = match &r.execute_tx {
            None => None,
            Some(h) => Some(
                h.strip_prefix("0x")
                    .and_then(|h| hex::decode(h).ok())
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .with_context(|| format!("finality record {key}: execute_tx {h:?} is not 0x + 64 hex digits"))?,
            ),
        };
        Ok(Finality {
            batches: (r.batches[0], r.batches[1]),
            old_root: root("old_root", &r.old_root)?,
            new_root: root("new_root", &r.new_root)?,
            execute_tx,
        })
    }
}

impl Finalized {
    /// Finality recorded in (and read from) `store`.
    pub fn shared(store: Arc<dyn BlobStore>) -> Self {
        Finalized { seen: Arc::default(), store: Some(store) }
    }

    /// Records `ep` as finalized, naming what it finalized: its batches and the roots it went from and to, and the
    /// L1 transaction that executed it when known.
    pub async fn record(&self, ep: &EpochProof, execute_tx: Option<[u8; 32]>) -> Result<()> {
        let finality = Finality {
            batches: ep.batches,
            old_root: digest_to_bytes(&ep.public.old_root),
            new_root: digest_to_bytes(&ep.public.new_root),
            execute_tx,
        };
        self.put(ep.epoch, finality).await
    }

    /// Records that `epoch` finalized `finality` (what [`Finalized::record`] writes for an epoch proof).
    pub async fn put(&self, epoch: u64, finality: Finality) -> Result<()> {
        if let Some(store) = &self.store {
            let record = FinalityRecord {
                epoch,
                batches: [finality.batches.0, finality.batches.1],
                old_root: root_hex(&finality.old_root),
                new_root: root_hex(&finality.new_root),
                execute_tx: finality.execute_tx.map(|h| format!("0x{}", hex::encode(h))),
            };
            let text = format!("# finalized on L1\n{}", toml::to_string(&record)?);
            store.put(&finalized_key(epoch), text.as_bytes()).await.context("recording L1 finality")?;
        }
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).insert(epoch, finality);
        Ok(())
    }

    /// What `epoch` finalized, if it is finalized; an unreadable store or a malformed record is an error, never a
    /// "no".
    pub async fn get(&self, epoch: u64) -> Result<Option<Finality>, HookError> {
        if let Some(f) = self.seen.lock().unwrap_or_else(|p| p.into_inner()).get(&epoch) {
            return Ok(Some(*f));
        }
        let Some(store) = &self.store else { return Ok(None) };
        let key = finalized_key(epoch);
        let unavailable = |e: zkr_blobs::BlobError| HookError::Unavailable {
            what: "blob store",
            reason: format!("reading the L1 finality record {key}: {e}"),
        };
        if !store.exists(&key).await.map_err(unavailable)? {
            return Ok(None);
        }
        let bytes = store.get(&key).await.map_err(unavailable)?;
        let f = FinalityRecord::parse(epoch, &bytes)
            .map_err(|e| HookError::Corrupt { what: "L1 finality record", reason: format!("{e:#}") })?;
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).insert(epoch, f);
        Ok(Some(f))
    }

    /// Whether `epoch` is finalized (see [`Finalized::get`]).
    pub async fn contains(&self, epoch: u64) -> Result<bool, HookError> {
        Ok(self.get(epoch).await?.is_some())
    }
}

/// The queue's progress plus L1 finality.
#[derive(Clone)]
pub struct SettledProgress {
    pub queue: QueueProgress,
    pub finalized: Finalized,
}

#[async_trait]
impl ProgressSource for SettledProgress {
    async fn batch_progress(&self, number: u64) -> Result<BatchProgress, HookError> {
        let mut p = self.queue.batch_progress(number).await?;
        if p.aggregated && self.finalized.contains(self.queue.plan.epoch_of(number)).await? {
            p.finalized = true;
        }
        Ok(p.normalized())
    }

    async fn finality(&self, number: u64) -> Result<Option<Finality>, HookError> {
        self.finalized.get(self.queue.plan.epoch_of(number)).await
    }
}

struct Deployed {
    deployment: Deployment,
    settler: Settler,
    /// Devnet epoch that is the rollup's epoch 1; `None` until the first epoch is settled on a deployment made
    /// elsewhere (`zkr l1 deploy`).
    first_epoch: Option<u64>,
}

/// Where a lasting chain's deployment record and epoch offset live.
struct Records {
    deployment: PathBuf,
    offset: PathBuf,
}

impl Records {
    fn save_offset(&self, first_epoch: u64) -> Result<()> {
        let text = toml::to_string(&EpochOffset { first_epoch })?;
        std::fs::write(&self.offset, text).with_context(|| format!("writing {}", self.offset.display()))
    }

    fn load_offset(&self) -> Result<Option<u64>> {
        match std::fs::read_to_string(&self.offset) {
            Ok(text) => {
                let o: EpochOffset =
                    toml::from_str(&text).with_context(|| format!("reading {}", self.offset.display()))?;
                Ok(Some(o.first_epoch))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", self.offset.display())),
        }
    }
}

/// Has epochs wrapped (by the workers) and settles them, in order.
pub struct EpochSettler {
    l1: Arc<dyn L1>,
    contracts: ContractSet,
    circuits: Arc<Circuits>,
    blobs: Arc<dyn BlobStore>,
    queue: Queue,
    wake: Option<Arc<tokio::sync::Notify>>,
    plan: EpochPlan,
    genesis: State,
    /// Set for a lasting chain (JSON-RPC); `None` in process.
    records: Option<Records>,
    config: SettlerConfig,
    deployed: Option<Deployed>,
    pub finalized: Finalized,
    /// Settlement attempts and errors, gas (through the metered L1), bridge operations, finality delay.
    metrics: Option<Arc<ProverMetrics>>,
}

impl std::fmt::Debug for EpochSettler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochSettler").field("plan", &self.plan).finish_non_exhaustive()
    }
}

impl EpochSettler {
    /// Builds the wrap circuit (to check wrap proofs and to find its verifier) and finds its contracts (the
    /// committed devnet set when it matches, else compiled now with npm solc); connects to the L1. Wrap jobs go to
    /// the hub's queue. `None` for [`L1Mode::Off`].
    pub async fn start(
        mode: &L1Mode,
        hub: &Hub,
        plan: EpochPlan,
        genesis: State,
        data_dir: &std::path::Path,
    ) -> Result<Option<Self>> {
        let (l1, records, config): (Arc<dyn L1>, _, _) = match mode {
            L1Mode::Off => return Ok(None),
            L1Mode::InProcess => (Arc::new(InProcessL1::new()), None, SettlerConfig::default()),
            L1Mode::Rpc { url, private_key_env, deployment, confirmations, confirmation_timeout_s } => {
                // The epoch offset is written there at the first settlement; a missing directory must not fail it.
                std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
                let l1 = RpcL1::connect(url, private_key_env).await.with_context(|| format!("connecting to {url}"))?;
                let deployment = deployment.clone().unwrap_or_else(|| data_dir.join("l1.toml"));
                let offset = data_dir.join("l1-epochs.toml");
                let config = SettlerConfig {
                    confirmations: *confirmations,
                    confirmation_timeout: Duration::from_secs(*confirmation_timeout_s),
                    ..SettlerConfig::default()
                };
                (Arc::new(l1), Some(Records { deployment, offset }), config)
            }
        };
        // every transaction sent from here counts its gas
        let l1: Arc<dyn L1> = match &hub.metrics {
            Some(m) => Arc::new(MeteredL1 { inner: l1, metrics: m.clone() }),
            None => l1,
        };
        let deployed = match &records {
            Some(r) if r.deployment.exists() => {
                let d = Deployment::load(&r.deployment)?;
                d.check(&*l1).await.with_context(|| {
                    format!("checking the deployment recorded in {} against {}", r.deployment.display(), mode_url(mode))
                })?;
                let domain = genesis.domain();
                anyhow::ensure!(
                    d.chain_id == domain.chain_id,
                    "the L2 signs for {domain}, but the deployment in {} is on chain {}: set genesis.chain_id to {}",
                    r.deployment.display(),
                    d.chain_id,
                    d.chain_id
                );
                tracing::info!(rollup = %d.rollup, record = %r.deployment.display(), "using the recorded L1 deployment");
                let settler = Settler::new(l1.clone(), d.rollup, Arc::new(ZkrRollupCalls), config.clone());
                Some(Deployed { deployment: d, settler, first_epoch: r.load_offset()? })
            }
            _ => None,
        };
        let circuits = hub.circuits.clone();
        let c = circuits.clone();
        let source = tokio::task::spawn_blocking(move || -> Result<_> {
            let wrap = c.wrap().context("building the wrap circuit")?;
            zkr_generator::generate_verifier(&wrap.data.common, &wrap.data.verifier_only)
                .context("generating the verifier")
        })
        .await??;
        let devnet = ContractSet::devnet().context("reading the committed devnet contracts")?;
        let contracts = if devnet.matches_source(&source) {
            devnet
        } else {
            tracing::info!(capacity = circuits.capacity(), height = circuits.height(), "compiling the L1 contracts");
            let (cap, h) = (circuits.capacity(), circuits.height());
            tokio::task::spawn_blocking(move || ContractSet::compile(&source, cap, h)).await?.context(
                "compiling the verifier for these circuits (needs `npm ci --prefix verifier-contracts`; the committed \
                 contracts are for capacity 4, epoch height 1; or settle nowhere with l1.mode = \"off\")",
            )?
        };
        Ok(Some(EpochSettler {
            l1,
            contracts,
            circuits,
            blobs: hub.blobs.clone(),
            queue: hub.queue.clone(),
            wake: hub.wake.clone(),
            plan,
            genesis,
            records,
            config,
            deployed,
            finalized: Finalized::default(),
            metrics: hub.metrics.clone(),
        }))
    }

    /// Whether the chain outlives the process, so epochs verified in earlier runs may still need settling.
    pub fn settles_history(&self) -> bool {
        self.records.is_some()
    }

    /// The deployment, once the first epoch settled.
    pub fn deployment(&self) -> Option<&Deployment> {
        self.deployed.as_ref().map(|d| &d.deployment)
    }

    /// The chain this settles on.
    pub fn l1(&self) -> Arc<dyn L1> {
        self.l1.clone()
    }

    /// Deploys the contracts now, with the L2 genesis as the rollup's genesis and the node's epoch 0 as its epoch 1,
    /// unless a deployment exists: the bridge needs the rollup before the first epoch settles (deposits are made on
    /// L1 first). Only for a node whose sequencer has sealed nothing yet. Returns the deployment.
    pub async fn deploy_at_genesis(&mut self) -> Result<Deployment> {
        if self.deployed.is_none() {
            let (root, data) = (self.genesis.root(), self.genesis.data_digest());
            self.deploy_from(root, data, 0).await?;
        }
        self.deployment().cloned().context("no deployment")
    }

    async fn deploy(&mut self, first: &EpochProof) -> Result<()> {
        self.deploy_from(first.public.old_root, first.public.data_in, first.epoch).await
    }

    async fn deploy_from(
        &mut self,
        old_root: zkr_circuits::config::Digest,
        data_in: [u8; 32],
        first_epoch: u64,
    ) -> Result<()> {
        let sender = self.l1.sender();
        let accounts = if old_root == self.genesis.root() {
            genesis_accounts(&self.genesis, |_| sender).context("listing the genesis accounts")?
        } else {
            Vec::new() // resumed mid-chain: exits only for accounts the rollup sees from here on
        };
        let setup = RollupSetup {
            governor: sender,
            guardian: sender,
            operator: sender,
            batches_per_epoch: self.plan.batches(),
            batch_capacity: self.circuits.capacity() as u64,
            genesis_root: pack_digest(&old_root),
            genesis_data: data_in.into(),
            genesis_accounts: accounts,
            priority_expiry: PRIORITY_EXPIRY_S,
            timelock_delay: TIMELOCK_S,
            domain: self.genesis.domain(),
            fee_account: self.genesis.fee_account(),
        };
        let mut gas = 0;
        let deployment = deploy_contracts(&*self.l1, &self.contracts, &setup, |_, g| gas += g)
            .await
            .context("deploying the L1 contracts")?;
        tracing::info!(rollup = %deployment.rollup, verifier = %deployment.verifier, gas, "L1 contracts deployed");
        if let Some(r) = &self.records {
            deployment.save(&r.deployment).with_context(|| format!("writing {}", r.deployment.display()))?;
            r.save_offset(first_epoch)?;
        }
        let settler = Settler::new(self.l1.clone(), deployment.rollup, Arc::new(ZkrRollupCalls), self.config.clone());
        self.deployed = Some(Deployed { deployment, settler, first_epoch: Some(first_epoch) });
        Ok(())
    }

    /// The first epoch settled on a deployment made elsewhere becomes its epoch 1, if the rollup is untouched and
    /// was deployed for this epoch's old root and the devnet's epoch shape.
    async fn adopt(&mut self, first: &EpochProof) -> Result<()> {
        let Some(d) = self.deployed.as_mut() else { bail!("no deployment") };
        let rollup = d.deployment.rollup;
        let p = RollupProgress::read(&*self.l1, rollup).await.context("reading the rollup's counters")?;
        if p.committed > 0 {
            bail!(
                "the rollup at {rollup} already has {} committed epochs, but this data dir has no record of which \
                 devnet epoch is its epoch 1 (l1-epochs.toml): settle with the data dir that committed them, or \
                 deploy a fresh rollup",
                p.committed
            );
        }
        let (batches, capacity) = (self.plan.batches(), self.circuits.capacity() as u64);
        if (p.batches_per_epoch, p.batch_capacity) != (batches, capacity) {
            bail!(
                "the rollup at {rollup} takes epochs of {} batches of capacity {}, this devnet makes {batches} of \
                 {capacity} (deploy with matching --capacity and --epoch-height)",
                p.batches_per_epoch,
                p.batch_capacity
            );
        }
        let old = pack_digest(&first.public.old_root);
        if p.executed_root != old {
            bail!(
                "the rollup at {rollup} starts from root {}, but devnet epoch {} starts from {old} (deploy with the \
                 devnet's genesis: matching --demo-seed and --demo-accounts)",
                p.executed_root,
                first.epoch
            );
        }
        let genesis = view(&*self.l1, rollup, IZkrRollup::epochInfoCall { epoch: 0 })
            .await
            .context("reading the rollup's genesis")?;
        if genesis.dataHash.0 != first.public.data_in {
            bail!(
                "the rollup at {rollup} continues the data chain from {}, but devnet epoch {} continues it from 0x{} \
                 (deploy with the devnet's genesis, before any batch is sealed)",
                genesis.dataHash,
                first.epoch,
                hex::encode(first.public.data_in)
            );
        }
        if let Some(r) = &self.records {
            r.save_offset(first.epoch)?;
        }
        d.first_epoch = Some(first.epoch);
        Ok(())
    }

    /// The epoch's wrap proof, encoded for the verifier contract. A worker proves it: the wrap job is enqueued once
    /// (a restart finds the same job, or its finished proof) with the epoch's root job as its dependency; the hub
    /// checked the proof when it accepted it, and it is checked again here against this epoch's statement before it
    /// goes to L1.
    async fn wrapped(&self, ep: &EpochProof) -> Result<Vec<u8>> {
        let (start, end) = ep.batches;
        let height = self.plan.height;
        let root_kind = if height == 0 { JobKind::ProveBatch } else { JobKind::Aggregate };
        let root = self
            .queue
            .find(root_kind, start, end, height)
            .await
            .context("finding the epoch's root job")?
            .with_context(|| format!("epoch {}: no root job for batches {start}..={end} in the queue", ep.epoch))?;
        let job = NewJob {
            kind: JobKind::Wrap,
            batch_start: start,
            batch_end: end,
            level: self.circuits.wrap_level(),
            input_key: ep.key.clone(),
            deps: vec![root.id],
        };
        let id = self.queue.enqueue(job).await.context("enqueuing the wrap job")?;
        if let Some(w) = &self.wake {
            w.notify_waiters();
        }
        let mut announced = false;
        let key = loop {
            let job = self
                .queue
                .get(id)
                .await
                .context("reading the wrap job")?
                .with_context(|| format!("wrap job {id} is gone"))?;
            match (job.state, job.result_key) {
                (JobState::Done, Some(key)) => break key,
                (JobState::Dead, _) => bail!(
                    "the wrap job {id} of epoch {} is dead ({}); once its cause is fixed, `zkr queue requeue {id}`",
                    ep.epoch,
                    job.last_error.as_deref().unwrap_or("no error recorded")
                ),
                _ => {
                    if !announced {
                        tracing::info!(epoch = ep.epoch, job = id, "waiting for a worker to wrap the epoch proof");
                        announced = true;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        let bytes = self.blobs.get(&key).await.with_context(|| format!("reading the wrap proof {key}"))?;
        let circuits = self.circuits.clone();
        let (epoch, expected) = (ep.epoch, ep.public);
        tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
            let wrap = circuits.wrap().context("building the wrap circuit")?;
            let proof = wrap.parse(&bytes).with_context(|| format!("parsing the wrap proof {key}"))?;
            let public = wrap.verify(&proof).with_context(|| format!("checking the wrap proof {key}"))?;
            if public != expected {
                bail!("the wrap proof {key} is for other public inputs than epoch {epoch}'s proof");
            }
            Ok(zkr_generator::encode_proof(&proof))
        })
        .await?
    }

    /// Has the epoch's proof wrapped and runs commit → prove → execute, from the step the rollup's counters say it needs;
    /// marks the epoch finalized. `None` when nothing was sent: the epoch was executed already (in an earlier run)
    /// or comes before the rollup's genesis. Counts the attempt of each step and a failure with its step and reason.
    pub async fn settle(&mut self, ep: &EpochProof) -> Result<Option<SettledEpoch>> {
        let mut at = Attempt::default();
        let settled = self.settle_steps(ep, &mut at).await;
        if let (Some(m), Err(e)) = (&self.metrics, &settled) {
            let step = match at.step {
                Some(s) => s,
                None => {
                    // failed before a step was known (deploying, reading the counters): the epoch's first step
                    m.settlement_attempt("commit");
                    Stage::Commit
                }
            };
            let reason = if at.wrapping { "wrap" } else { failure_reason(e) };
            m.settlement_failed(&step.to_string(), reason);
        }
        settled
    }

    async fn settle_steps(&mut self, ep: &EpochProof, at: &mut Attempt) -> Result<Option<SettledEpoch>> {
        if self.deployed.is_none() {
            self.deploy(ep).await?;
        }
        if self.deployed.as_ref().is_some_and(|d| d.first_epoch.is_none()) {
            self.adopt(ep).await?;
        }
        let Some(d) = self.deployed.as_ref() else { bail!("no deployment") };
        let first = d.first_epoch.unwrap_or(ep.epoch);
        let Some(l1_epoch) = ep.epoch.checked_sub(first).map(|n| n + 1) else {
            tracing::info!(epoch = ep.epoch, first, "epoch precedes the rollup's genesis: not settled");
            return Ok(None);
        };
        let progress =
            RollupProgress::read(&*self.l1, d.deployment.rollup).await.context("reading the rollup's counters")?;
        let Some(stage) = progress.next_stage(l1_epoch) else {
            tracing::info!(epoch = ep.epoch, l1_epoch, "executed on L1 in an earlier run");
            self.finalized.record(ep, None).await?;
            return Ok(None);
        };
        if l1_epoch > progress.committed + 1 {
            bail!(
                "epoch {} is rollup epoch {l1_epoch}, but the rollup has committed only {} (epochs are settled in order)",
                ep.epoch,
                progress.committed
            );
        }
        let (start, end) = self.plan.range(ep.epoch);
        let mut batches = Vec::new();
        for n in start..=end {
            let bytes =
                self.blobs.get(&trace_key(n)).await.with_context(|| format!("reading the trace of batch {n}"))?;
            batches.push(Batch::from_bytes(&bytes).with_context(|| format!("decoding the trace of batch {n}"))?);
        }
        let data = EpochData::from_batches(l1_epoch, &batches).context("building the epoch's L1 data")?;
        if data.statement != ep.public {
            bail!("epoch {}: the batches' statement differs from the epoch proof's public inputs", ep.epoch);
        }
        let metrics = self.metrics.clone();
        let attempt = |step: Stage| {
            if let Some(m) = &metrics {
                m.settlement_attempt(&step.to_string());
            }
        };
        at.step = Some(stage);
        attempt(stage);
        let t = Instant::now();
        let epoch = ep.epoch;
        // execute takes no proof
        at.wrapping = true;
        let proof = if stage <= Stage::Prove { self.wrapped(ep).await? } else { Vec::new() };
        at.wrapping = false;
        let wrap_seconds = t.elapsed().as_secs_f64();
        let sub = EpochSubmission {
            epoch: l1_epoch,
            pubdata: data.pubdata.clone(),
            public_inputs: data.public_input_words(),
            proof,
            withdrawals: data.withdrawals.iter().map(|w| (w.to, w.amount)).collect(),
        };
        if stage > Stage::Commit {
            tracing::info!(epoch, l1_epoch, %stage, "resuming the epoch's settlement");
        }
        let settled = d
            .settler
            .settle_from(&sub, stage, |ev| match ev {
                SettleEvent::Committed { tx_hash, .. } => {
                    tracing::info!(epoch, %tx_hash, "committed on L1");
                    at.step = Some(Stage::Prove);
                    attempt(Stage::Prove);
                }
                SettleEvent::Proven { tx_hash, .. } => {
                    tracing::info!(epoch, %tx_hash, "proven on L1");
                    at.step = Some(Stage::Execute);
                    attempt(Stage::Execute);
                }
                SettleEvent::Executed { tx_hash, .. } => tracing::info!(epoch, %tx_hash, "executed on L1"),
                SettleEvent::Finalized { l1_block, .. } => tracing::info!(epoch, l1_block, "finalized on L1"),
            })
            .await
            .with_context(|| format!("settling epoch {epoch} on L1"))?;
        self.finalized.record(ep, Some(settled.execute.tx_hash.0)).await?;
        if let Some(m) = &self.metrics {
            let deposits = batches
                .iter()
                .flat_map(|b| &b.slots)
                .filter(|s| matches!(s.tx.as_ref().map(|t| &t.tx), Some(Tx::Deposit(_))))
                .count() as u64;
            // the epoch was sealed when its last batch was handed to the queue
            let sealed_ms =
                self.queue.find(JobKind::ProveBatch, end, end, 0).await.ok().flatten().map(|j| j.created_at);
            let delay = sealed_ms.map(|t| now_ms().saturating_sub(t).max(0) as f64 / 1e3);
            m.epoch_finalized(delay, deposits, data.withdrawals.len() as u64);
        }
        Ok(Some(SettledEpoch {
            epoch: ep.epoch,
            l1_epoch,
            l1_block: settled.l1_block,
            wrap_seconds,
            gas_commit: settled.commit.map_or(0, |r| r.gas_used),
            gas_prove: settled.prove.map_or(0, |r| r.gas_used),
            gas_execute: settled.execute.gas_used,
        }))
    }
}

/// Where a settlement attempt got to: the step it was at (none before the rollup's counters are read), and whether
/// it was waiting for the epoch's wrap proof.
#[derive(Debug, Default)]
struct Attempt {
    step: Option<Stage>,
    wrapping: bool,
}

/// The `reason` label of a failed attempt (see [`zkr_worker::metrics::SETTLEMENT_REASONS`]).
fn failure_reason(e: &anyhow::Error) -> &'static str {
    for cause in e.chain() {
        if let Some(s) = cause.downcast_ref::<SettleError>() {
            return match s {
                SettleError::Send { source, .. } | SettleError::Confirmations { source, .. } => l1_reason(source),
                SettleError::Dropped { .. } => "reorged",
                SettleError::ConfirmationTimeout { .. } => "timeout",
                SettleError::Build { .. } => "other",
            };
        }
        if let Some(l) = cause.downcast_ref::<L1Error>() {
            return l1_reason(l);
        }
    }
    "other"
}

fn l1_reason(e: &L1Error) -> &'static str {
    match e {
        L1Error::Reverted { .. } | L1Error::Evm { .. } => "reverted",
        L1Error::Unreachable { .. } | L1Error::Rpc { .. } => "rpc",
        L1Error::ReceiptTimeout { .. } => "timeout",
        _ => "other",
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// What the settlement task reports, in order.
#[derive(Debug)]
pub enum SettleOutcome {
    /// The contracts settled on, at the first epoch that needed them.
    Deployed(Deployment),
    /// An epoch is finalized on L1; `None` when the rollup had executed it already (nothing was sent).
    Settled { epoch: u64, settled: Option<SettledEpoch> },
    /// An attempt failed; the same epoch is tried again after `retry_in`, from the step the rollup's counters say.
    Failed { epoch: u64, attempt: u32, error: anyhow::Error, retry_in: Duration },
}

/// Waits between settlement attempts of one epoch: doubling from `first` up to `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { first: Duration::from_secs(1), max: Duration::from_secs(60) }
    }
}

impl Backoff {
    /// The wait after failed attempt number `attempt` (1 for the first failure).
    pub fn wait(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// Settles epochs in order on a task of its own (wrapping takes seconds) and reports each outcome on the returned
/// channel. A failed epoch is retried with `backoff` until it settles (a node outlives an L1 outage); later epochs
/// wait behind it, so settlement never skips one. Without a settler, sent epochs are dropped.
pub fn spawn_settlement(
    settler: Option<EpochSettler>,
    finalized: Finalized,
    backoff: Backoff,
) -> (tokio::sync::mpsc::UnboundedSender<EpochProof>, tokio::sync::mpsc::UnboundedReceiver<SettleOutcome>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<EpochProof>();
    let (out, outcomes) = tokio::sync::mpsc::unbounded_channel();
    if let Some(mut settler) = settler {
        settler.finalized = finalized;
        tokio::spawn(async move {
            let mut reported_deployment = false;
            while let Some(ep) = rx.recv().await {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let r = settler.settle(&ep).await;
                    if !reported_deployment {
                        if let Some(d) = settler.deployment() {
                            reported_deployment = true;
                            let _ = out.send(SettleOutcome::Deployed(d.clone()));
                        }
                    }
                    match r {
                        Ok(settled) => {
                            if let Some(s) = &settled {
                                tracing::info!(epoch = s.epoch, l1_block = s.l1_block, "epoch finalized on L1");
                            }
                            let _ = out.send(SettleOutcome::Settled { epoch: ep.epoch, settled });
                            break;
                        }
                        Err(error) => {
                            let retry_in = backoff.wait(attempt);
                            tracing::warn!(
                                epoch = ep.epoch,
                                attempt,
                                error = format!("{error:#}"),
                                retry_in_s = retry_in.as_secs_f64(),
                                "settling on L1 failed"
                            );
                            let _ = out.send(SettleOutcome::Failed { epoch: ep.epoch, attempt, error, retry_in });
                            tokio::time::sleep(retry_in).await;
                        }
                    }
                }
            }
        });
    }
    (tx, outcomes)
}

fn mode_url(mode: &L1Mode) -> &str {
    match mode {
        L1Mode::Rpc { url, .. } => url,
        _ => "the in-process L1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_labelled_with_a_fixed_reason() {
        let reverted = L1Error::Reverted { tx_hash: None, to: None, data: Default::default(), reason: "x".into() };
        let send = |source| SettleError::Send { epoch: 1, stage: Stage::Prove, reason: "r".into(), source };
        let e = anyhow::Error::new(send(reverted)).context("settling epoch 1 on L1");
        assert_eq!(failure_reason(&e), "reverted");
        let unreachable = L1Error::Unreachable { url: "http://l1".into(), reason: "refused".into() };
        assert_eq!(failure_reason(&anyhow::Error::new(send(unreachable))), "rpc");
        let dropped = SettleError::Dropped { epoch: 1, tx_hash: Default::default() };
        assert_eq!(failure_reason(&anyhow::Error::new(dropped)), "reorged");
        let late =
            SettleError::ConfirmationTimeout { epoch: 1, tx_hash: Default::default(), got: 1, wanted: 3, waited_s: 9 };
        assert_eq!(failure_reason(&anyhow::Error::new(late)), "timeout");
        let read = anyhow::Error::new(L1Error::Rpc { method: "eth_call", reason: "x".into() }).context("reading");
        assert_eq!(failure_reason(&read), "rpc");
        assert_eq!(failure_reason(&anyhow::anyhow!("the batches' statement differs")), "other");
        for r in ["reverted", "rpc", "reorged", "timeout", "other"] {
            assert!(zkr_worker::metrics::SETTLEMENT_REASONS.contains(&r));
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff { first: Duration::from_secs(1), max: Duration::from_secs(60) };
        let waits: Vec<u64> = (1..=8).map(|a| b.wait(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.wait(0), Duration::from_secs(1));
        assert_eq!(b.wait(u32::MAX), Duration::from_secs(60), "no overflow on a very long outage");
    }

    #[tokio::test]
    async fn finality_recorded_in_a_blob_store_is_seen_by_another_process() {
        use zkr_blobs::FsBlobStore;
        let dir = tempfile::tempdir().unwrap();
        let settler_side = Finalized::shared(Arc::new(FsBlobStore::new(dir.path()).unwrap()));
        let sequencer_side = Finalized::shared(Arc::new(FsBlobStore::new(dir.path()).unwrap()));
        assert!(!sequencer_side.contains(3).await.unwrap());
        let f = Finality { batches: (6, 7), old_root: root(1), new_root: root(2), execute_tx: None };
        settler_side.put(3, f).await.unwrap();
        assert_eq!(sequencer_side.get(3).await.unwrap(), Some(f), "the record carries its batches and roots");
        assert!(!sequencer_side.contains(4).await.unwrap());
        // in memory only: nothing is shared
        let local = Finalized::default();
        local.put(4, f).await.unwrap();
        assert!(local.contains(4).await.unwrap() && !sequencer_side.contains(4).await.unwrap());
    }

    /// A root as `digest_to_bytes` writes it, distinct per `seed`.
    fn root(seed: u64) -> [u8; 32] {
        let mut b = [0u8; 32];
        for i in 0..4 {
            b[8 * i..8 * i + 8].copy_from_slice(&(seed * 1000 + i as u64).to_le_bytes());
        }
        b
    }

    #[tokio::test]
    async fn a_malformed_finality_record_is_an_error_not_a_no() {
        use zkr_blobs::MemBlobStore;
        let store: Arc<dyn BlobStore> = Arc::new(MemBlobStore::default());
        let f = Finalized::shared(store.clone());
        let good = format!(
            "epoch = 2\nbatches = [4, 5]\nold_root = \"{}\"\nnew_root = \"{}\"\n",
            root_hex(&root(1)),
            root_hex(&root(2))
        );
        store.put(&finalized_key(2), good.as_bytes()).await.unwrap();
        assert_eq!(
            f.get(2).await.unwrap(),
            Some(Finality { batches: (4, 5), old_root: root(1), new_root: root(2), execute_tx: None })
        );
        let bad = [
            "finalized on L1\n".to_string(),                    // the old contentless form
            good.replace("epoch = 2", "epoch = 9"),             // another epoch's record
            good.replace("[4, 5]", "[5, 4]"),                   // an empty range
            good.replace(&root_hex(&root(2)), &"f".repeat(64)), // not a field element
            good.replace(&root_hex(&root(2)), &format!("+{}", &root_hex(&root(2))[1..])), // not hex digits
        ];
        for (i, text) in bad.iter().enumerate() {
            let epoch = 10 + i as u64;
            let text = text.replace("epoch = 2", &format!("epoch = {epoch}"));
            store.put(&finalized_key(epoch), text.as_bytes()).await.unwrap();
            let e = f.get(epoch).await.expect_err(&text);
            assert!(format!("{e:#}").contains(&finalized_key(epoch)), "{e:#}");
        }
    }

    /// A transaction's batch reports `finalized` only once its epoch is proven, aggregated and finalized on L1.
    #[tokio::test]
    async fn batch_progress_is_finalized_only_after_l1() {
        use rand::SeedableRng;
        use zkr_blobs::FsBlobStore;
        use zkr_circuits::demo;
        use zkr_queue::{JobKind, Queue, QueueConfig};
        use zkr_sequencer::BatchSink;

        use crate::epochs::QueueSink;

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("queue.db").display());
        let queue = Queue::connect(&url, QueueConfig::default()).await.unwrap();
        let blobs = Arc::new(FsBlobStore::new(dir.path().join("blobs")).unwrap());
        let plan = EpochPlan { height: 1 };
        let sink = QueueSink { queue: queue.clone(), blobs: blobs.clone(), plan, wake: None, fence: None };
        let keys = demo::keys(3, 4);
        let mut state = demo::genesis(&keys);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        for n in 0..3 {
            let b = demo::random_batch(&mut rng, &keys, &mut state, 2, 2, demo::Mix::Transfers);
            sink.sealed(n, &b).await.unwrap();
        }
        let progress = SettledProgress {
            queue: QueueProgress { queue: queue.clone(), plan },
            finalized: Finalized::shared(blobs.clone()),
        };
        let stages = |p: BatchProgress| (p.proven, p.aggregated, p.finalized);
        // finality recorded early does not skip the proving stages
        let f = Finality { batches: (0, 1), old_root: root(1), new_root: root(2), execute_tx: None };
        progress.finalized.put(0, f).await.unwrap();
        assert_eq!(stages(progress.batch_progress(0).await.unwrap()), (false, false, false));
        // every job done: epoch 0 (batches 0, 1) aggregated, batch 2 proven only
        while let Some(job) = queue.claim("w", &JobKind::ALL).await.unwrap() {
            queue.complete(job.id, "w", &format!("result-{}", job.id)).await.unwrap();
        }
        assert_eq!(stages(progress.batch_progress(1).await.unwrap()), (true, true, true));
        assert_eq!(progress.finality(1).await.unwrap(), Some(f), "the sequencer gets the record to check");
        assert_eq!(stages(progress.batch_progress(2).await.unwrap()), (true, false, false));
        // epoch 1 finalized by another process (a coordinator) would still wait for its aggregation
        Finalized::shared(blobs).put(1, f).await.unwrap();
        assert_eq!(stages(progress.batch_progress(2).await.unwrap()), (true, false, false));
    }

    #[test]
    fn rpc_mode_defaults_and_unknown_fields() {
        let m: L1Mode = toml::from_str("mode = \"rpc\"\nurl = \"http://x\"\nprivate_key_env = \"K\"").unwrap();
        assert_eq!(
            m,
            L1Mode::Rpc {
                url: "http://x".into(),
                private_key_env: "K".into(),
                deployment: None,
                confirmations: 1,
                confirmation_timeout_s: 900
            }
        );
        let bad = toml::from_str::<L1Mode>("mode = \"rpc\"\nurl = \"u\"\nprivate_key_env = \"K\"\nconfirmatons = 2");
        assert!(bad.unwrap_err().to_string().contains("confirmatons"));
    }
}
