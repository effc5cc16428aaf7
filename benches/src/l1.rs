//! `zkr bench l1`: gas of deploying zkr's contracts, of one verification, and of settling one real epoch
//! (commit → prove → execute) on the in-process EVM (revm, Osaka rules), with the devnet's circuits; then the L1 gas
//! per transfer for epochs of 8 to the largest number of transfers one `commitEpoch` can carry under the 2^24 cap.

use std::sync::Arc;
use std::time::Instant;

use alloy_sol_types::{sol, SolCall};
use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use zkr_circuits::aggregate::AggregationTree;
use zkr_circuits::demo;
use zkr_circuits::wrap::{WrapCircuit, WrapParams};
use zkr_rollup::calldata::genesis_accounts;
use zkr_rollup::{pack_digest, EpochData};
use zkr_settle::{
    deploy_contracts, ContractSet, EpochSubmission, InProcessL1, RollupSetup, Settler, SettlerConfig, ZkrRollupCalls,
    L1,
};

sol! {
    function verifyProof(bytes proof, uint256[24] publicInputs) external view returns (bool);
}

/// Osaka's per-transaction gas cap (EIP-7825).
pub const TX_GAS_CAP: u64 = 1 << 24;

#[derive(Clone, Debug, Serialize)]
pub struct GasRow {
    pub what: String,
    pub gas: u64,
    /// Calldata or runtime-code bytes, where that is what drives the cost.
    pub bytes: Option<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct L1Report {
    pub capacity: usize,
    pub epoch_height: u32,
    /// The wrap parameters (`devnet`, `l1` or `rate:queries:pow:cap[:shrink]`).
    pub wrap: String,
    pub wrap_security_bits: usize,
    /// Proving one devnet batch (seconds, mean over the epoch's batches).
    pub batch_prove_s: f64,
    /// Folding the devnet epoch's batch proofs into its root proof.
    pub aggregate_s: f64,
    pub wrap_prove_s: f64,
    pub proof_bytes: usize,
    pub deployment: Vec<GasRow>,
    pub calls: Vec<GasRow>,
    /// Gas per transfer by epoch size.
    pub scale: Vec<ScaleRow>,
}

/// One epoch size of the per-transfer table.
#[derive(Clone, Debug, Serialize)]
pub struct ScaleRow {
    pub transfers: usize,
    pub batches: usize,
    pub capacity: usize,
    pub pubdata_bytes: usize,
    /// Non-zero bytes of the pubdata (40 gas each under EIP-7623's floor, zero bytes 10).
    pub pubdata_nonzero: usize,
    pub commit_gas: u64,
    pub prove_gas: u64,
    pub execute_gas: u64,
}

impl ScaleRow {
    pub fn total_gas(&self) -> u64 {
        self.commit_gas + self.prove_gas + self.execute_gas
    }

    pub fn gas_per_transfer(&self) -> f64 {
        self.total_gas() as f64 / self.transfers as f64
    }
}

/// The goal: everything included, at most this much L1 gas per transfer at the largest epoch.
pub const GAS_PER_TRANSFER_GOAL: f64 = 1000.0;

impl L1Report {
    pub fn deployment_total(&self) -> u64 {
        self.deployment.iter().map(|r| r.gas).sum()
    }
}

/// Proves an epoch of random transfers with the devnet's circuits, wraps it with `wrap_params`, deploys and settles it.
pub async fn measure(seed: u64, wrap_params: WrapParams, mut on_line: impl FnMut(&str)) -> Result<L1Report> {
    let (capacity, height) = (zkr_generator::DEVNET_CAPACITY, zkr_generator::DEVNET_EPOCH_HEIGHT);
    on_line(&format!("building the circuits (capacity {capacity}, epoch height {height}) and the wrap circuit …"));
    let keys = demo::keys(1, 8);
    let genesis = demo::genesis(&keys);
    let (tree, wrap, batches, epoch_proof, batch_prove_s, aggregate_s) = tokio::task::spawn_blocking({
        let keys = keys.clone();
        let mut state = genesis.clone();
        move || -> Result<_> {
            let tree = AggregationTree::build(capacity, height);
            let wrap = WrapCircuit::for_tree_with(&tree, wrap_params).context("building the wrap circuit")?;
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let mut batches = Vec::new();
            let mut proofs = Vec::new();
            let t = Instant::now();
            for _ in 0..(1usize << height) {
                let b = demo::random_batch(&mut rng, &keys, &mut state, capacity, capacity, demo::Mix::Transfers);
                proofs.push(tree.batch.prove(&b).context("proving a batch")?);
                batches.push(b);
            }
            let batch_prove_s = t.elapsed().as_secs_f64() / batches.len() as f64;
            let t = Instant::now();
            let epoch = tree.fold(proofs).context("aggregating the epoch")?;
            let aggregate_s = t.elapsed().as_secs_f64();
            Ok((tree, wrap, batches, epoch, batch_prove_s, aggregate_s))
        }
    })
    .await??;
    drop(tree);
    on_line("wrapping the epoch proof …");
    let t = Instant::now();
    let wrap = Arc::new(wrap);
    let w = wrap.clone();
    let wrapped = tokio::task::spawn_blocking(move || w.prove(&epoch_proof)).await??;
    let wrap_prove_s = t.elapsed().as_secs_f64();
    let proof = zkr_generator::encode_proof(&wrapped);
    let source = zkr_generator::generate_verifier(&wrap.data.common, &wrap.data.verifier_only)?;
    let set = if wrap_params == WrapParams::DEFAULT {
        let set = ContractSet::devnet()?;
        if !set.matches_source(&source) {
            bail!("the committed devnet contracts do not match the wrap circuit: run `zkr contracts generate`");
        }
        set
    } else {
        on_line(&format!("compiling the verifier for wrap parameters {wrap_params} …"));
        ContractSet::compile(&source, capacity, height).context("compiling the generated verifier")?
    };

    on_line("deploying on the in-process EVM …");
    let l1 = Arc::new(InProcessL1::new());
    let me = l1.sender();
    let setup = RollupSetup {
        governor: me,
        guardian: me,
        operator: me,
        batches_per_epoch: 1 << height,
        batch_capacity: capacity as u64,
        genesis_root: pack_digest(&genesis.root()),
        genesis_data: genesis.data_digest().into(),
        genesis_accounts: genesis_accounts(&genesis, |_| me)?,
        priority_expiry: 3 * 24 * 3600,
        timelock_delay: 4 * 24 * 3600,
        domain: genesis.domain(),
        fee_account: genesis.fee_account(),
    };
    let mut deployment = Vec::new();
    let d = deploy_contracts(&*l1, &set, &setup, |name, gas| {
        deployment.push(GasRow { what: format!("deploy {name}"), gas, bytes: None })
    })
    .await?;
    let mut code_addrs = d.verifier_parts.clone();
    code_addrs.extend([d.verifier, d.poseidon, d.rollup]);
    for (row, addr) in deployment.iter_mut().zip(code_addrs) {
        row.bytes = Some(l1.code_at(addr).await?.len());
    }

    let data = EpochData::from_batches(1, &batches)?;
    let pis = data.public_input_words();
    let verify = verifyProofCall { proof: proof.clone().into(), publicInputs: pis }.abi_encode();
    let verify_len = verify.len();
    let verifier = d.verifier;
    let out = l1.with_evm(move |evm| evm.view(verifier, verify))?;
    if !out.success || out.output.last() != Some(&1) {
        bail!("the verifier refused the epoch's wrap proof: {:?}", out.failure);
    }
    let mut calls =
        vec![GasRow { what: "verifyProof (one wrap proof)".into(), gas: out.gas_used, bytes: Some(verify_len) }];

    on_line("settling the epoch: commit → prove → execute …");
    let sub =
        EpochSubmission { epoch: 1, pubdata: data.pubdata.clone(), public_inputs: pis, proof, withdrawals: vec![] };
    let settler = Settler::new(l1.clone(), d.rollup, Arc::new(ZkrRollupCalls), SettlerConfig::default());
    let settled = settler.settle(&sub, |_| {}).await?;
    let pubdata_bytes: usize = data.pubdata.iter().map(Vec::len).sum();
    let nb = batches.len();
    if let Some(r) = &settled.commit {
        calls.push(GasRow {
            what: format!("commitEpoch ({nb} batches x {capacity} transfers)"),
            gas: r.gas_used,
            bytes: Some(pubdata_bytes),
        });
    }
    if let Some(r) = &settled.prove {
        calls.push(GasRow {
            what: "proveEpoch (verification included)".into(),
            gas: r.gas_used,
            bytes: Some(sub.proof.len()),
        });
    }
    calls.push(GasRow { what: "executeEpoch (no withdrawals)".into(), gas: settled.execute.gas_used, bytes: None });
    let prove_gas = settled.prove.map(|r| r.gas_used).context("the epoch was proven in this run")?;
    on_line("gas per transfer by epoch size …");
    let scale = measure_scale(seed, prove_gas, sub.proof.len(), &mut on_line)?;
    Ok(L1Report {
        capacity,
        epoch_height: height,
        wrap: wrap_params.to_string(),
        wrap_security_bits: wrap.params.security_bits(),
        batch_prove_s,
        aggregate_s,
        wrap_prove_s,
        proof_bytes: sub.proof.len(),
        deployment,
        calls,
        scale,
    })
}

/// Epoch shapes of the per-transfer table: (batches, capacity), all slots transfers.
const SHAPES: [(usize, usize); 4] = [(1, 8), (1, 64), (1, 512), (8, 512)];
/// Batches per epoch of the largest epoch (its capacity is fitted to the gas cap).
const MAX_BATCHES: usize = 64;

/// A verifier that accepts every proof: it stands in for the real one only so that `executeEpoch` can run on
/// epochs too large to prove here (the prove column takes the real verifier's gas from the proven devnet epoch).
const ACCEPT_ALL_SOL: &str = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\ncontract AcceptAll {\n    function verifyProof(bytes calldata, uint256[24] calldata) external pure returns (bool) { return true; }\n}\n";

/// Random transfer records as a busy rollup would post them: ids below 2^20, amounts log-uniform between 10^3 and
/// 10^10 units (1 µETH to 10 ETH at 1 gwei per unit), fees log-uniform between 10^2 and 10^5.
fn transfer_records(rng: &mut ChaCha20Rng, n: usize) -> Vec<u8> {
    use rand::Rng;
    let mut out = Vec::with_capacity(25 * n);
    let log_uniform = |rng: &mut ChaCha20Rng, lo: f64, hi: f64| 10f64.powf(rng.gen_range(lo..hi)) as u64;
    for _ in 0..n {
        let from = rng.gen_range(0..1u32 << 20);
        let to = (from + rng.gen_range(1..1u32 << 20)) % (1 << 20);
        let amount = log_uniform(rng, 3.0, 10.0);
        let fee = log_uniform(rng, 2.0, 5.0);
        zkr_circuits::pubdata::Record::Transfer { from, to, amount, fee }.encode(&mut out);
    }
    out
}

/// Commit and execute gas of one epoch of `batches` × `capacity` transfers on a fresh rollup of that shape.
fn settle_gas(
    rollup_code: &zkr_rollup::sources::RollupArtifacts,
    accept_all: &[u8],
    rng: &mut ChaCha20Rng,
    batches: usize,
    capacity: usize,
    proof_len: usize,
) -> Result<ScaleRow> {
    use alloy_primitives::{Bytes, U256};
    use zkr_evm::Evm;
    use zkr_rollup::sources::deploy_code;
    use zkr_rollup::IZkrRollup;

    let mut evm = Evm::new();
    let me = Evm::account(0);
    let verifier = evm.deploy(me, accept_all.to_vec())?;
    let poseidon = evm.deploy(me, rollup_code.poseidon.creation_code.clone())?;
    let genesis = demo::genesis(&demo::keys(1, 2));
    let params = IZkrRollup::InitParams {
        governor: me,
        guardian: me,
        operator: me,
        verifier,
        poseidon,
        batchesPerEpoch: batches as u64,
        batchCapacity: capacity as u64,
        genesisRoot: pack_digest(&genesis.root()),
        genesisData: alloy_primitives::B256::ZERO,
        priorityExpiry: 3 * 24 * 3600,
        timelockDelay: 4 * 24 * 3600,
        rollupId: genesis.domain().rollup_id,
        feeAccount: genesis.fee_account(),
    };
    let accounts = genesis_accounts(&genesis, |_| me)?;
    let funding = zkr_rollup::calldata::genesis_funding_wei(&accounts);
    let out =
        evm.deploy_with_outcome(me, deploy_code(&rollup_code.rollup.creation_code, &params, &accounts), funding)?;
    let rollup = out.created.with_context(|| format!("deploying the rollup: {:?}", out.failure))?;

    let pubdata: Vec<Vec<u8>> = (0..batches).map(|_| transfer_records(rng, capacity)).collect();
    let pubdata_bytes = pubdata.iter().map(Vec::len).sum();
    let pubdata_nonzero = pubdata.iter().flatten().filter(|b| **b != 0).count();
    // the new root is any canonical digest: nothing checks it before proveEpoch
    let new_root = pack_digest(&demo::genesis(&demo::keys(2, 2)).root());
    let commit = IZkrRollup::commitEpochCall {
        c: IZkrRollup::EpochCommit {
            epoch: 1,
            oldRoot: params.genesisRoot,
            newRoot: new_root,
            pubdata: pubdata.into_iter().map(Bytes::from).collect(),
        },
    };
    let call = |evm: &mut Evm, data: Vec<u8>, what: &str| -> Result<u64> {
        let out = evm.call(me, rollup, data, U256::ZERO)?;
        if !out.success {
            bail!("{what} of {batches} x {capacity} transfers failed: {:?}", out.failure);
        }
        Ok(out.gas_used)
    };
    let commit_gas = call(&mut evm, commit.abi_encode(), "commitEpoch")?;
    let prove = IZkrRollup::proveEpochCall { epoch: 1, proof: Bytes::from(vec![0x5a; proof_len]) };
    call(&mut evm, prove.abi_encode(), "proveEpoch")?;
    let execute = IZkrRollup::executeEpochCall { epoch: 1, withdrawals: vec![] };
    let execute_gas = call(&mut evm, execute.abi_encode(), "executeEpoch")?;
    Ok(ScaleRow {
        transfers: batches * capacity,
        batches,
        capacity,
        pubdata_bytes,
        pubdata_nonzero,
        commit_gas,
        prove_gas: 0,
        execute_gas,
    })
}

/// The per-transfer table: commit and execute measured on epochs of real-format records, `prove_gas` from the
/// proven devnet epoch (verification does not depend on the epoch's size), and the largest epoch whose
/// `commitEpoch` fits the 2^24 cap (found from the measured per-transfer slope, then measured itself).
fn measure_scale(seed: u64, prove_gas: u64, proof_len: usize, on_line: &mut impl FnMut(&str)) -> Result<Vec<ScaleRow>> {
    let settings = zkr_evm::SolcSettings::default();
    let rollup_code = zkr_rollup::sources::compile_rollup(&settings)?;
    let arts = zkr_evm::compile_solidity(&[("AcceptAll.sol".to_string(), ACCEPT_ALL_SOL.to_string())], &settings)?;
    let accept_all = zkr_evm::Artifact::named(&arts, "AcceptAll")?.creation_code.clone();
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x11);
    let mut rows = Vec::new();
    for (batches, capacity) in SHAPES {
        on_line(&format!("  {batches} x {capacity} transfers …"));
        rows.push(settle_gas(&rollup_code, &accept_all, &mut rng, batches, capacity, proof_len)?);
    }
    // commit gas is linear in the transfers: fit the slope between the two largest shapes, aim below the cap
    let (a, b) = (&rows[rows.len() - 2], &rows[rows.len() - 1]);
    let slope = (b.commit_gas - a.commit_gas) as f64 / (b.transfers - a.transfers) as f64;
    let fixed = b.commit_gas as f64 - slope * b.transfers as f64;
    let mut capacity = (((TX_GAS_CAP as f64 - fixed) / slope) as usize / MAX_BATCHES).min(4096);
    loop {
        on_line(&format!("  {MAX_BATCHES} x {capacity} transfers (largest under the cap?) …"));
        match settle_gas(&rollup_code, &accept_all, &mut rng, MAX_BATCHES, capacity, proof_len) {
            Ok(row) if row.commit_gas <= TX_GAS_CAP => {
                rows.push(row);
                break;
            }
            // over the cap (the EVM stops it at 2^24): one percent smaller
            _ if capacity > 8 => capacity -= capacity.div_ceil(100),
            Err(e) => return Err(e),
            Ok(row) => bail!("even {} transfers exceed the cap: {} gas", row.transfers, row.commit_gas),
        }
    }
    for r in &mut rows {
        r.prove_gas = prove_gas;
    }
    Ok(rows)
}

pub fn render_markdown(r: &L1Report, machine: &str) -> String {
    let mut s = String::new();
    s.push_str("# zkr bench l1\n\n");
    s.push_str(&format!(
        "Devnet circuits: batch capacity {}, {} batches per epoch. Wrap proof (parameters `{}`): {} bits of conjectured \
         security, {} bytes encoded, proven in {:.1} s on {machine}. Gas as a receipt reports it (intrinsic and calldata included), in \
         revm with Osaka rules; every transaction must fit the 2^24 = {TX_GAS_CAP} gas cap (EIP-7825).\n\n",
        r.capacity,
        1u64 << r.epoch_height,
        r.wrap,
        r.wrap_security_bits,
        r.proof_bytes,
        r.wrap_prove_s
    ));
    s.push_str("| transaction | gas | bytes | fits 2^24 |\n|---|---:|---:|:---:|\n");
    for row in r.calls.iter().chain(&r.deployment) {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.what,
            row.gas,
            row.bytes.map_or("".into(), |b| b.to_string()),
            if row.gas <= TX_GAS_CAP { "yes" } else { "NO" }
        ));
    }
    s.push_str(&format!("| deployment, all {} contracts | {} | | |\n", r.deployment.len(), r.deployment_total()));
    s.push_str("\nBytes: calldata for verifyProof, pubdata for commitEpoch, the encoded proof for proveEpoch, runtime code for deployments (EIP-170 allows 24,576).\n");
    s.push_str(&format!(
        "\nProving on {machine}: {:.2} s per devnet batch, {:.1} s to aggregate the epoch, {:.1} s to wrap it.\n",
        r.batch_prove_s, r.aggregate_s, r.wrap_prove_s
    ));
    s.push_str(&render_scale(r));
    s
}

/// The per-transfer table and the goal line.
pub fn render_scale(r: &L1Report) -> String {
    let mut s = String::from(
        "\n## L1 gas per transfer\n\nEpochs of transfers only. Commit and execute: measured on a rollup of that epoch \
         shape, given compact records of random transfers (ids below 2^20, amounts log-uniform 10^3 to 10^10 units, \
         fees 10^2 to 10^5); its verifier accepts every proof so that executeEpoch can run (these epochs are not \
         proven here). Prove: the real proveEpoch of the devnet epoch above (the real verifier and proof: its gas does \
         not depend on the epoch's size). The last row is the largest epoch whose commitEpoch fits the 2^24 cap.\n\n\
         | transfers | batches x capacity | pubdata bytes (non-zero) | commit gas | prove gas | execute gas | gas per transfer |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in &r.scale {
        s.push_str(&format!(
            "| {} | {} x {} | {} ({}) | {} | {} | {} | {:.0} |\n",
            row.transfers,
            row.batches,
            row.capacity,
            row.pubdata_bytes,
            row.pubdata_nonzero,
            row.commit_gas,
            row.prove_gas,
            row.execute_gas,
            row.gas_per_transfer()
        ));
    }
    if let Some(last) = r.scale.last() {
        s.push_str(&format!("\n{}\n", goal_line(last)));
    }
    s
}

/// `L1 gas per transfer: N (goal ≤ 1000: met|not met)` for the largest epoch.
pub fn goal_line(largest: &ScaleRow) -> String {
    let g = largest.gas_per_transfer();
    format!(
        "L1 gas per transfer: {g:.0} (goal ≤ {GAS_PER_TRANSFER_GOAL:.0}: {})",
        if g <= GAS_PER_TRANSFER_GOAL { "met" } else { "not met" }
    )
}
