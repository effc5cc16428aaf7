//! `zkr bench wrap`: the wrap proof's FRI parameters against the L1 verifier's gas, its proof size and its proving
//! time. Each parameter set gets its own wrap circuit, proof, generated verifier (compiled by solc, parts pinned) and
//! one `verifyProof` call in revm.

use std::time::Instant;

use alloy_sol_types::SolCall;
use anyhow::{bail, Context, Result};
use plonky2::field::types::PrimeField64;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use zkr_circuits::aggregate::AggregationTree;
use zkr_circuits::demo;
use zkr_circuits::wrap::{WrapCircuit, WrapParams, MIN_SECURITY_BITS};
use zkr_settle::{ContractSet, InProcessL1, L1, U256};

use crate::l1::verifyProofCall;

/// One measured parameter set.
#[derive(Clone, Debug, Serialize)]
pub struct WrapRow {
    pub rate_bits: usize,
    pub num_query_rounds: usize,
    pub proof_of_work_bits: u32,
    pub cap_height: usize,
    /// Degree bits of the shrink layer, when the root proof is shrunk before it is wrapped.
    pub shrink_degree_bits: Option<usize>,
    /// `rate_bits × queries + PoW bits`.
    pub conjectured_bits: usize,
    /// Johnson-bound estimate: `queries × rate_bits / 2 + PoW bits` (see [`johnson_bits`]).
    pub proven_bits: f64,
    pub degree_bits: usize,
    pub prove_s: f64,
    pub proof_bytes: usize,
    pub verify_gas: u64,
}

/// Proven security of FRI's query phase when the verifier may only rely on the Johnson bound: each query catches a
/// far word with probability `1 − √ρ` (ρ = 2^−rate_bits), that is `rate_bits / 2` bits per query, plus the PoW bits.
/// The commit phase's field-size terms are not included (they stay above 100 bits for these degrees over
/// Goldilocks²).
pub fn johnson_bits(p: &WrapParams) -> f64 {
    p.num_query_rounds as f64 * p.rate_bits as f64 / 2.0 + p.proof_of_work_bits as f64
}

/// Parses one parameter set as [`WrapParams::parse`] does (`devnet`, `l1` or `rate:queries:pow:cap[:shrink]`).
pub fn parse_params(s: &str) -> Result<WrapParams> {
    Ok(WrapParams::parse(s)?)
}

/// Proves one devnet epoch (capacity 2, two batches), then wraps it and verifies the wrap on L1 for each parameter
/// set.
pub async fn measure(sets: &[WrapParams], seed: u64, mut on_line: impl FnMut(&str)) -> Result<Vec<WrapRow>> {
    on_line("proving an epoch to wrap (capacity 2, two batches) …");
    let (root, epoch) = tokio::task::spawn_blocking(move || -> Result<_> {
        let tree = AggregationTree::build(2, 1);
        let keys = demo::keys(seed, 4);
        let mut state = demo::genesis(&keys);
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut proofs = Vec::new();
        for _ in 0..2 {
            let b = demo::random_batch(&mut rng, &keys, &mut state, 2, 2, demo::Mix::Transfers);
            proofs.push(tree.batch.prove(&b).context("proving a batch")?);
        }
        let epoch = tree.fold(proofs).context("aggregating the epoch")?;
        let root = tree.levels.last().context("an epoch of two batches has one level")?.data.verifier_data();
        Ok((root, epoch))
    })
    .await??;
    let mut rows = Vec::new();
    for (i, &p) in sets.iter().enumerate() {
        on_line(&format!(
            "[{}/{}] rate {} · {} queries · {} PoW bits · cap {}{}: wrapping …",
            i + 1,
            sets.len(),
            p.rate_bits,
            p.num_query_rounds,
            p.proof_of_work_bits,
            p.cap_height,
            if p.shrink { " · shrink layer" } else { "" }
        ));
        let (root, epoch) = (root.clone(), epoch.clone());
        let (wrap, proof, prove_s) = tokio::task::spawn_blocking(move || -> Result<_> {
            let wrap = WrapCircuit::build_with(&root, p).context("building the wrap circuit")?;
            let t = Instant::now();
            let proof = wrap.prove(&epoch).context("wrapping the epoch")?;
            Ok((wrap, proof, t.elapsed().as_secs_f64()))
        })
        .await??;
        on_line("    generating and compiling the verifier, verifying on the in-process EVM …");
        let source = zkr_generator::generate_verifier(&wrap.data.common, &wrap.data.verifier_only)?;
        let set = ContractSet::compile(&source, 2, 1).context("compiling the generated verifier")?;
        let l1 = InProcessL1::new();
        let mut parts = Vec::new();
        for code in &set.verifier_parts {
            let r = l1.deploy(code.clone(), U256::ZERO).await?;
            parts.push(r.contract_address.context("a verifier part deployed no contract")?);
        }
        let mut code = set.verifier.clone();
        code.extend(zkr_generator::verifier_constructor_args(
            &parts.iter().map(|a| a.into_array()).collect::<Vec<_>>(),
        ));
        let verifier =
            l1.deploy(code, U256::ZERO).await?.contract_address.context("the verifier deployed no contract")?;
        let encoded = zkr_generator::encode_proof(&proof);
        let pis: [U256; 24] = std::array::from_fn(|k| U256::from(proof.public_inputs[k].to_canonical_u64()));
        let call = verifyProofCall { proof: encoded.clone().into(), publicInputs: pis }.abi_encode();
        let out = l1.with_evm(move |evm| evm.view(verifier, call))?;
        if !out.success || out.output.last() != Some(&1) {
            bail!("the generated verifier refused its own wrap proof at {p:?}: {:?}", out.failure);
        }
        let row = WrapRow {
            rate_bits: p.rate_bits,
            num_query_rounds: p.num_query_rounds,
            proof_of_work_bits: p.proof_of_work_bits,
            cap_height: p.cap_height,
            shrink_degree_bits: wrap.shrink_degree_bits(),
            conjectured_bits: p.security_bits(),
            proven_bits: johnson_bits(&p),
            degree_bits: wrap.data.common.degree_bits(),
            prove_s,
            proof_bytes: encoded.len(),
            verify_gas: out.gas_used,
        };
        on_line(&format!(
            "    proof {} bytes, verifyProof {} gas, wrap proven in {:.1} s",
            row.proof_bytes, row.verify_gas, row.prove_s
        ));
        rows.push(row);
    }
    Ok(rows)
}

/// Gas target of the L1 verification.
pub const VERIFY_GAS_GOAL: u64 = 2_500_000;

pub fn render_markdown(rows: &[WrapRow], machine: &str) -> String {
    let mut s = String::from("# zkr bench wrap\n\n");
    s.push_str(&format!(
        "The wrap proof's FRI parameters (rate, queries, proof-of-work bits, Merkle cap height) against the L1 \
         verifier: one epoch of the capacity-2 circuits wrapped per parameter set on {machine}, its generated verifier \
         compiled by solc and called once in revm (Osaka rules; gas as a receipt reports it, calldata included). \
         Conjectured security: rate_bits × queries + PoW; proven: the Johnson-bound estimate queries × rate_bits / 2 \
         + PoW. Goal: verifyProof ≤ {VERIFY_GAS_GOAL} gas at ≥ {MIN_SECURITY_BITS} conjectured bits. A shrink layer \
         re-proves the root proof (Poseidon, rate 1/64, 14 queries, 16 PoW bits) so that the wrap circuit verifies \
         14 queries instead of 28; its time is included in the wrap prove time.\n\n"
    ));
    s.push_str("| rate bits | queries | PoW bits | cap height | shrink layer | conjectured bits | proven bits (Johnson) | wrap degree | wrap prove s | proof bytes | verifyProof gas | goal |\n");
    s.push_str("|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|---:|:---:|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | 2^{} | {:.1} | {} | {} | {} |\n",
            r.rate_bits,
            r.num_query_rounds,
            r.proof_of_work_bits,
            r.cap_height,
            r.shrink_degree_bits.map_or("—".to_string(), |d| format!("2^{d}")),
            r.conjectured_bits,
            r.proven_bits,
            r.degree_bits,
            r.prove_s,
            r.proof_bytes,
            r.verify_gas,
            if r.verify_gas <= VERIFY_GAS_GOAL { "met" } else { "not met" }
        ));
    }
    s
}
