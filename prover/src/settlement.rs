//! Settling verified epochs on an L1: each epoch proof is wrapped (the EVM-friendly wrap circuit), then the
//! rollup contract gets commit → prove → execute, and the epoch's batches become "finalized" for the sequencer.
//!
//! The devnet settles on an in-process EVM (zkr-evm's revm) by default, or on a JSON-RPC node. The contracts are
//! deployed when the first epoch settles, with that epoch's old root as the rollup's genesis root: an in-process
//! L1 lives in memory, so a resumed devnet starts a fresh chain at the state it resumes from.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use zkr_circuits::artifact::parse_proof_bytes;
use zkr_circuits::batch::Batch;
use zkr_circuits::state::State;
use zkr_circuits::wrap::WrapCircuit;
use zkr_l1::{calldata::genesis_accounts, pack_digest, EpochData};
use zkr_queue::FsBlobStore;
use zkr_sequencer::{BatchProgress, ProgressSource};
use zkr_settle::{
    deploy_contracts, ContractSet, Deployment, EpochSubmission, InProcessL1, RollupSetup, RpcL1, SettleEvent, Settler,
    SettlerConfig, ZkrRollupCalls, L1,
};

use crate::exec::Circuits;
use crate::pipeline::{EpochPlan, EpochProof, QueueProgress};
use crate::source::trace_key;

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
    /// `private_key_env`. The deployment record is written to the data dir (`l1.toml`).
    Rpc { url: String, private_key_env: String },
}

/// Seconds before an unprocessed deposit sends the devnet's rollup into exit mode (3 days).
const PRIORITY_EXPIRY_S: u64 = 3 * 24 * 3600;
/// Timelock of the devnet's rollup (1 day).
const TIMELOCK_S: u64 = 24 * 3600;

/// One settled epoch.
#[derive(Clone, Debug)]
pub struct SettledEpoch {
    /// The devnet's epoch number (from 0).
    pub epoch: u64,
    /// The rollup contract's epoch number (from 1).
    pub l1_epoch: u64,
    pub l1_block: u64,
    pub wrap_seconds: f64,
    pub gas_commit: u64,
    pub gas_prove: u64,
    pub gas_execute: u64,
}

/// Which epochs are finalized on L1, shared with the sequencer's progress source.
#[derive(Clone, Debug, Default)]
pub struct Finalized(Arc<Mutex<HashSet<u64>>>);

impl Finalized {
    pub fn insert(&self, epoch: u64) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(epoch);
    }

    pub fn contains(&self, epoch: u64) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).contains(&epoch)
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
    async fn batch_progress(&self, number: u64) -> Result<BatchProgress> {
        let mut p = self.queue.batch_progress(number).await?;
        if p.aggregated && self.finalized.contains(self.queue.plan.epoch_of(number)) {
            p.finalized = true;
        }
        Ok(p.normalized())
    }
}

struct Deployed {
    deployment: Deployment,
    settler: Settler,
    /// Devnet epoch that is the rollup's epoch 1.
    first_epoch: u64,
}

/// Wraps and settles epochs, in order.
pub struct EpochSettler {
    l1: Arc<dyn L1>,
    wrap: Arc<WrapCircuit>,
    contracts: ContractSet,
    circuits: Arc<Circuits>,
    blobs: Arc<FsBlobStore>,
    plan: EpochPlan,
    genesis: State,
    record: Option<PathBuf>,
    deployed: Option<Deployed>,
    pub finalized: Finalized,
}

impl std::fmt::Debug for EpochSettler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochSettler").field("plan", &self.plan).finish_non_exhaustive()
    }
}

impl EpochSettler {
    /// Builds the wrap circuit and finds its contracts (the committed devnet set when it matches, else compiled
    /// now with npm solc); connects to the L1. `None` for [`L1Mode::Off`].
    pub async fn start(
        mode: &L1Mode,
        circuits: Arc<Circuits>,
        blobs: Arc<FsBlobStore>,
        plan: EpochPlan,
        genesis: State,
        data_dir: &std::path::Path,
    ) -> Result<Option<Self>> {
        let (l1, record): (Arc<dyn L1>, Option<PathBuf>) = match mode {
            L1Mode::Off => return Ok(None),
            L1Mode::InProcess => (Arc::new(InProcessL1::new()), None),
            L1Mode::Rpc { url, private_key_env } => {
                let l1 = RpcL1::connect(url, private_key_env).await.with_context(|| format!("connecting to {url}"))?;
                (Arc::new(l1), Some(data_dir.join("l1.toml")))
            }
        };
        let c = circuits.clone();
        let (wrap, source) = tokio::task::spawn_blocking(move || -> Result<_> {
            let wrap = WrapCircuit::for_tree(&c.tree).context("building the wrap circuit")?;
            let source = zkr_contracts::generate_verifier(&wrap.data.common, &wrap.data.verifier_only)
                .context("generating the verifier")?;
            Ok((wrap, source))
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
            wrap: Arc::new(wrap),
            contracts,
            circuits,
            blobs,
            plan,
            genesis,
            record,
            deployed: None,
            finalized: Finalized::default(),
        }))
    }

    /// The deployment, once the first epoch settled.
    pub fn deployment(&self) -> Option<&Deployment> {
        self.deployed.as_ref().map(|d| &d.deployment)
    }

    async fn deploy(&mut self, first: &EpochProof) -> Result<()> {
        let sender = self.l1.sender();
        let accounts = if first.public.old_root == self.genesis.root() {
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
            genesis_root: pack_digest(&first.public.old_root),
            genesis_accounts: accounts,
            priority_expiry: PRIORITY_EXPIRY_S,
            timelock_delay: TIMELOCK_S,
        };
        let mut gas = 0;
        let deployment = deploy_contracts(&*self.l1, &self.contracts, &setup, |_, g| gas += g)
            .await
            .context("deploying the L1 contracts")?;
        tracing::info!(rollup = %deployment.rollup, verifier = %deployment.verifier, gas, "L1 contracts deployed");
        if let Some(path) = &self.record {
            deployment.save(path).with_context(|| format!("writing {}", path.display()))?;
        }
        let settler =
            Settler::new(self.l1.clone(), deployment.rollup, Arc::new(ZkrRollupCalls), SettlerConfig::default());
        self.deployed = Some(Deployed { deployment, settler, first_epoch: first.epoch });
        Ok(())
    }

    /// Wraps the epoch's proof and runs commit → prove → execute; marks the epoch finalized.
    pub async fn settle(&mut self, ep: &EpochProof) -> Result<SettledEpoch> {
        if self.deployed.is_none() {
            self.deploy(ep).await?;
        }
        let Some(d) = self.deployed.as_ref() else { bail!("no deployment") };
        let Some(l1_epoch) = ep.epoch.checked_sub(d.first_epoch).map(|n| n + 1) else {
            bail!("epoch {} comes before the first settled epoch {}", ep.epoch, d.first_epoch)
        };
        let (start, end) = self.plan.range(ep.epoch);
        let mut batches = Vec::new();
        for n in start..=end {
            let bytes = self.blobs.get(&trace_key(n)).with_context(|| format!("reading the trace of batch {n}"))?;
            batches.push(Batch::from_bytes(&bytes).with_context(|| format!("decoding the trace of batch {n}"))?);
        }
        let data = EpochData::from_batches(l1_epoch, &batches).context("building the epoch's L1 data")?;
        if data.statement != ep.public {
            bail!("epoch {}: the batches' statement differs from the epoch proof's public inputs", ep.epoch);
        }
        let bytes = self.blobs.get(&ep.key).with_context(|| format!("reading {}", ep.key))?;
        let (wrap, circuits) = (self.wrap.clone(), self.circuits.clone());
        let height = self.plan.height;
        let t = Instant::now();
        let epoch = ep.epoch;
        let proof = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
            let common = match circuits.tree.circuit_for_level(height) {
                Some(c) => &c.data.common,
                None => &circuits.tree.batch.data.common,
            };
            let root = parse_proof_bytes(&bytes, common).context("parsing the epoch proof")?;
            let _s = tracing::info_span!("wrap", epoch).entered();
            let wrapped = wrap.prove(&root).context("wrapping the epoch proof")?;
            Ok(zkr_contracts::encode_proof(&wrapped))
        })
        .await??;
        let wrap_seconds = t.elapsed().as_secs_f64();
        let sub = EpochSubmission {
            epoch: l1_epoch,
            pubdata: data.pubdata.clone(),
            public_inputs: data.public_input_words(),
            proof,
            withdrawals: data.withdrawals.iter().map(|w| (w.to, w.amount)).collect(),
        };
        let settled = d
            .settler
            .settle(&sub, |ev| match ev {
                SettleEvent::Committed { tx_hash, .. } => tracing::info!(epoch, %tx_hash, "committed on L1"),
                SettleEvent::Proven { tx_hash, .. } => tracing::info!(epoch, %tx_hash, "proven on L1"),
                SettleEvent::Executed { tx_hash, .. } => tracing::info!(epoch, %tx_hash, "executed on L1"),
                SettleEvent::Finalized { l1_block, .. } => tracing::info!(epoch, l1_block, "finalized on L1"),
            })
            .await
            .with_context(|| format!("settling epoch {epoch} on L1"))?;
        self.finalized.insert(ep.epoch);
        Ok(SettledEpoch {
            epoch: ep.epoch,
            l1_epoch,
            l1_block: settled.l1_block,
            wrap_seconds,
            gas_commit: settled.commit.map_or(0, |r| r.gas_used),
            gas_prove: settled.prove.map_or(0, |r| r.gas_used),
            gas_execute: settled.execute.gas_used,
        })
    }
}
