//! `zkr bench l1`: gas of deploying zkr's contracts, of one verification, and of settling one real epoch
//! (commit → prove → execute) on the in-process EVM (revm, Osaka rules), with the devnet's circuits.

use std::sync::Arc;
use std::time::Instant;

use alloy_sol_types::{sol, SolCall};
use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use zkr_circuits::aggregate::AggregationTree;
use zkr_circuits::demo;
use zkr_circuits::wrap::WrapCircuit;
use zkr_rollup::calldata::genesis_accounts;
use zkr_rollup::{pack_digest, EpochData};
use zkr_settle::{
    deploy_contracts, ContractSet, EpochSubmission, InProcessL1, RollupSetup, Settler, SettlerConfig, ZkrRollupCalls,
    L1,
};

sol! {
    function verifyProof(bytes proof, uint256[20] publicInputs) external view returns (bool);
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
    pub wrap_security_bits: usize,
    pub wrap_prove_s: f64,
    pub proof_bytes: usize,
    pub deployment: Vec<GasRow>,
    pub calls: Vec<GasRow>,
}

impl L1Report {
    pub fn deployment_total(&self) -> u64 {
        self.deployment.iter().map(|r| r.gas).sum()
    }
}

/// Proves an epoch of random transfers with the devnet's circuits, wraps it, deploys and settles it.
pub async fn measure(seed: u64, mut on_line: impl FnMut(&str)) -> Result<L1Report> {
    let (capacity, height) = (zkr_generator::DEVNET_CAPACITY, zkr_generator::DEVNET_EPOCH_HEIGHT);
    on_line(&format!("building the circuits (capacity {capacity}, epoch height {height}) and the wrap circuit …"));
    let keys = demo::keys(1, 8);
    let genesis = demo::genesis(&keys);
    let (tree, wrap, batches, epoch_proof) = tokio::task::spawn_blocking({
        let keys = keys.clone();
        let mut state = genesis.clone();
        move || -> Result<_> {
            let tree = AggregationTree::build(capacity, height);
            let wrap = WrapCircuit::for_tree(&tree).context("building the wrap circuit")?;
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let mut batches = Vec::new();
            let mut proofs = Vec::new();
            for _ in 0..(1usize << height) {
                let b = demo::random_batch(&mut rng, &keys, &mut state, capacity, capacity, demo::Mix::Transfers);
                proofs.push(tree.batch.prove(&b).context("proving a batch")?);
                batches.push(b);
            }
            let epoch = tree.fold(proofs).context("aggregating the epoch")?;
            Ok((tree, wrap, batches, epoch))
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
    let set = ContractSet::devnet()?;
    if !set.matches_source(&source) {
        bail!("the committed devnet contracts do not match the wrap circuit: run `zkr contracts generate`");
    }

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
    Ok(L1Report {
        capacity,
        epoch_height: height,
        wrap_security_bits: wrap.params.security_bits(),
        wrap_prove_s,
        proof_bytes: sub.proof.len(),
        deployment,
        calls,
    })
}

pub fn render_markdown(r: &L1Report, machine: &str) -> String {
    let mut s = String::new();
    s.push_str("# zkr bench l1\n\n");
    s.push_str(&format!(
        "Devnet circuits: batch capacity {}, {} batches per epoch. Wrap proof: {} bits of conjectured security, {} bytes \
         encoded, proven in {:.1} s on {machine}. Gas as a receipt reports it (intrinsic and calldata included), in \
         revm with Osaka rules; every transaction must fit the 2^24 = {TX_GAS_CAP} gas cap (EIP-7825).\n\n",
        r.capacity,
        1u64 << r.epoch_height,
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
    s
}
