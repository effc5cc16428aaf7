//! `zkr bench prove`: batch proving cost per capacity.

use std::time::Instant;

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use zkr_circuits::circuit::{BatchCircuit, SlotCost};
use zkr_circuits::demo;

/// One measured capacity.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProveRow {
    pub capacity: usize,
    /// Gates of one slot (every kind costs the same slot) and of its parts.
    pub slot_gates: usize,
    pub slot_signature_gates: usize,
    pub slot_merkle_gates: usize,
    /// Gates of one slot's compact record (built for the data chain).
    #[serde(default)]
    pub slot_record_gates: usize,
    /// Gates of the batch's Keccak-256 over its data-chain bytes (digest before, header, every slot's record budget).
    #[serde(default)]
    pub keccak_gates: usize,
    /// Gates actually used by the whole circuit, and the padded power-of-two row count.
    pub circuit_gates: usize,
    pub rows: usize,
    pub build_s: f64,
    pub witness_s: f64,
    pub prove_s: f64,
    pub verify_ms: f64,
    pub proof_bytes: usize,
    pub peak_rss_mib: f64,
}

impl ProveRow {
    pub fn ms_per_tx(&self) -> f64 {
        1e3 * self.prove_s / self.capacity as f64
    }
}

/// Peak resident memory of this process (Linux `VmHWM`), in MiB; 0 where unknown.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Builds the circuit, proves a full batch of random transfers, verifies, and measures.
/// Run one capacity per process so that the peak memory belongs to that capacity.
pub fn measure(capacity: usize, seed: u64) -> Result<ProveRow> {
    let t = Instant::now();
    let (circuit, cost): (BatchCircuit, SlotCost) = BatchCircuit::build_with_cost(capacity);
    let build_s = t.elapsed().as_secs_f64();

    let keys = demo::keys(seed, 8);
    let mut state = demo::genesis(&keys);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let t = Instant::now();
    let batch = demo::random_batch(&mut rng, &keys, &mut state, capacity, capacity, demo::Mix::Transfers);
    let slots: Vec<_> = batch.slots.iter().map(zkr_circuits::circuit::SlotWitness::from).collect();
    let pw = circuit.witness(&batch.domain, &batch.data_in, &slots, &batch.fees.leaf)?;
    let witness_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let proof = circuit.data.prove(pw).context("proving the batch")?;
    let prove_s = t.elapsed().as_secs_f64();
    let proof_bytes = proof.to_bytes().len();

    let t = Instant::now();
    circuit.verify(&proof).context("verifying the batch proof")?;
    let verify_ms = 1e3 * t.elapsed().as_secs_f64();

    Ok(ProveRow {
        capacity,
        slot_gates: cost.total,
        slot_signature_gates: cost.signature,
        slot_merkle_gates: cost.merkle,
        slot_record_gates: cost.record,
        keccak_gates: cost.keccak,
        circuit_gates: circuit.gates_used,
        rows: circuit.rows(),
        build_s,
        witness_s,
        prove_s,
        verify_ms,
        proof_bytes,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// The markdown report.
pub fn render_markdown(rows: &[ProveRow], machine: &str) -> String {
    let mut s = String::new();
    s.push_str("# zkr bench prove\n\n");
    s.push_str(&format!(
        "Machine: {machine}. Batches of random signed transfers, standard recursion config, CPU (plonky2 prover).\n\n"
    ));
    if let Some(r) = rows.first() {
        s.push_str("## Rows per transaction type\n\n");
        s.push_str("Every slot has the same shape (kind flags switch parts on and off), so transfer, withdraw, deposit and padding cost the same:\n\n");
        s.push_str("| tx type | gates per slot | of which signature | of which Merkle (4 paths × 32) | other | compact record |\n|---|---:|---:|---:|---:|---:|\n");
        let other = r.slot_gates - r.slot_signature_gates - r.slot_merkle_gates;
        for kind in ["transfer", "withdraw", "deposit", "padding"] {
            s.push_str(&format!(
                "| {kind} | {} | {} | {} | {} | {} |\n",
                r.slot_gates, r.slot_signature_gates, r.slot_merkle_gates, other, r.slot_record_gates
            ));
        }
        s.push_str("\nPer batch, the data chain's Keccak-256 (digest before, header, a 53-byte record budget per slot) adds, by capacity:\n\n| capacity | Keccak gates | per slot | all gates per slot |\n|---:|---:|---:|---:|\n");
        for r in rows {
            s.push_str(&format!(
                "| {} | {} | {:.0} | {:.0} |\n",
                r.capacity,
                r.keccak_gates,
                r.keccak_gates as f64 / r.capacity as f64,
                r.circuit_gates as f64 / r.capacity as f64
            ));
        }
        s.push('\n');
    }
    s.push_str("## Proving per batch capacity\n\n");
    s.push_str("| capacity | gates used | rows (2^k) | build s | witness s | prove s | ms per tx | proof KiB | verify ms | peak RSS MiB |\n");
    s.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} (2^{}) | {:.1} | {:.2} | {:.2} | {:.0} | {:.1} | {:.1} | {:.0} |\n",
            r.capacity,
            r.circuit_gates,
            r.rows,
            r.rows.trailing_zeros(),
            r.build_s,
            r.witness_s,
            r.prove_s,
            r.ms_per_tx(),
            r.proof_bytes as f64 / 1024.0,
            r.verify_ms,
            r.peak_rss_mib
        ));
    }
    s
}

/// One measured Keccak-256 circuit: the gadget the compact pubdata's commitment is built on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeccakRow {
    pub message_bytes: usize,
    pub permutations: usize,
    /// Gates of the whole circuit (byte range checks, padding, permutations, digest limbs).
    pub gates: usize,
    pub rows: usize,
    pub prove_s: f64,
}

impl KeccakRow {
    pub fn gates_per_permutation(&self) -> f64 {
        self.gates as f64 / self.permutations as f64
    }
}

/// Builds a circuit hashing `message_bytes` random bytes with Keccak-256 (digest as eight 32-bit public limbs),
/// proves it, checks the digest against the native one, and verifies.
pub fn measure_keccak(message_bytes: usize, seed: u64) -> Result<KeccakRow> {
    use plonky2::field::types::{Field, PrimeField64};
    use plonky2::iop::target::Target;
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use plonky2::plonk::circuit_data::CircuitConfig;
    use rand::Rng;
    use zkr_circuits::config::{C, D, F};
    use zkr_circuits::keccak::{gadget, native};

    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let bytes: Vec<Target> = (0..message_bytes).map(|_| b.add_virtual_target()).collect();
    let bits: Vec<Target> = bytes.iter().flat_map(|&t| gadget::be_bytes_bits(&mut b, t, 1)).collect();
    let digest = gadget::keccak256_bits(&mut b, &bits);
    let limbs = gadget::digest_limbs(&mut b, &digest);
    b.register_public_inputs(&limbs);
    let gates = b.num_gates();
    let data = b.build::<C>();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let msg: Vec<u8> = (0..message_bytes).map(|_| rng.gen()).collect();
    let mut pw = PartialWitness::new();
    for (t, &v) in bytes.iter().zip(&msg) {
        pw.set_target(*t, F::from_canonical_u8(v))?;
    }
    let t = Instant::now();
    let proof = data.prove(pw).context("proving the Keccak-256 circuit")?;
    let prove_s = t.elapsed().as_secs_f64();
    let want = native::digest_limbs(&native::keccak256(&msg));
    let got: Vec<u64> = proof.public_inputs.iter().map(|f| f.to_canonical_u64()).collect();
    anyhow::ensure!(got == want.map(u64::from), "the circuit's digest differs from Keccak-256");
    data.verify(proof).context("verifying the Keccak-256 proof")?;
    Ok(KeccakRow {
        message_bytes,
        permutations: native::permutations(message_bytes),
        gates,
        rows: data.common.degree(),
        prove_s,
    })
}

/// The markdown section for the Keccak-256 gadget.
pub fn render_keccak_markdown(rows: &[KeccakRow]) -> String {
    let mut s = String::from("## Keccak-256 gadget\n\n");
    s.push_str("The circuit-side cost of a Keccak-256 commitment (docs/statement.md, \"Keccak-256 in circuit\"): random messages, digest as eight public 32-bit limbs, standard recursion config.\n\n");
    s.push_str("| message bytes | permutations | gates | gates per permutation | rows (2^k) | prove s |\n|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {:.0} | {} (2^{}) | {:.2} |\n",
            r.message_bytes,
            r.permutations,
            r.gates,
            r.gates_per_permutation(),
            r.rows,
            r.rows.trailing_zeros(),
            r.prove_s
        ));
    }
    if let Some(r) = rows.last() {
        let per_byte = r.gates as f64 / r.message_bytes.max(1) as f64;
        s.push_str(&format!(
            "\nPer compact transfer record (25 bytes): about {:.0} gates at {:.1} gates per message byte (the largest message above).\n",
            25.0 * per_byte,
            per_byte
        ));
    }
    s
}
