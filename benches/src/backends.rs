//! `zkr bench backends`: the same batch proof through plonky2's stock prover and through zkr's
//! own pipeline on every available backend, per phase, in one run.

use std::time::Duration;

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use zkr_circuits::circuit::BatchCircuit;
use zkr_circuits::demo;
use zkr_engine::{time_stock_prove, PhaseTimings};
use zkr_worker::backend::{BackendChoice, ProvingBackend};

/// One prover's run on one capacity.
#[derive(Clone, Debug, Serialize)]
pub struct BackendRun {
    pub capacity: usize,
    pub rows: usize,
    /// "stock plonky2", "engine/cpu", "engine/cuda".
    pub prover: String,
    /// (phase, milliseconds), in pipeline order; the stock prover reports its total only.
    pub phases: Vec<(String, f64)>,
    pub total_ms: f64,
    pub verified: bool,
}

fn ms(d: Duration) -> f64 {
    1e3 * d.as_secs_f64()
}

fn run_of(capacity: usize, rows: usize, prover: &str, t: &PhaseTimings, verified: bool) -> BackendRun {
    BackendRun {
        capacity,
        rows,
        prover: prover.to_string(),
        phases: t.phases.iter().map(|(p, d)| (p.to_string(), ms(*d))).collect(),
        total_ms: ms(t.total()),
        verified,
    }
}

/// The backends to compare: CPU always; CUDA when a device answers (`auto` would pick it).
pub fn available_backends() -> Vec<ProvingBackend> {
    let mut v = vec![ProvingBackend::cpu()];
    if let Ok(b) = BackendChoice::Cuda.resolve() {
        v.push(b);
    }
    v
}

/// Proves one random capacity-`capacity` batch `reps` times with every prover (best time kept).
pub fn measure(capacity: usize, reps: usize, seed: u64) -> Result<Vec<BackendRun>> {
    let circuit = BatchCircuit::build(capacity);
    let rows = circuit.rows();
    let keys = demo::keys(seed, 8);
    let mut state = demo::genesis(&keys);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let batch = demo::random_batch(&mut rng, &keys, &mut state, capacity, capacity, demo::Mix::Transfers);
    let witness = circuit.witness_for(&batch)?;
    let best = |runs: Vec<PhaseTimings>| runs.into_iter().min_by_key(|t| t.total()).expect("reps >= 1");

    let mut out = Vec::new();
    let mut stock = Vec::new();
    let mut ok = true;
    for _ in 0..reps.max(1) {
        let (proof, t) = time_stock_prove(&circuit.data.prover_only, &circuit.data.common, witness.clone())?;
        ok &= circuit.verify(&proof).is_ok();
        stock.push(t);
    }
    out.push(run_of(capacity, rows, "stock plonky2", &best(stock), ok));
    for b in available_backends() {
        let mut runs = Vec::new();
        let mut ok = true;
        for _ in 0..reps.max(1) {
            let (proof, t) = zkr_engine::prove_circuit(&*b.engine, &circuit.data, witness.clone())
                .with_context(|| format!("proving on backend {}", b.kind))?;
            ok &= circuit.verify(&proof).is_ok();
            runs.push(t);
        }
        out.push(run_of(capacity, rows, &format!("engine/{}", b.kind), &best(runs), ok));
    }
    Ok(out)
}

/// Markdown: one table per capacity, phases as rows and provers as columns.
pub fn render_markdown(runs: &[BackendRun]) -> String {
    let mut s = String::from("# Proving backends\n\nBest of the repetitions, milliseconds. Every proof was checked with plonky2's verifier.\n");
    let mut caps: Vec<usize> = runs.iter().map(|r| r.capacity).collect();
    caps.dedup();
    for cap in caps {
        let rs: Vec<&BackendRun> = runs.iter().filter(|r| r.capacity == cap).collect();
        let rows = rs.first().map_or(0, |r| r.rows);
        s += &format!("\n## capacity {cap} ({rows} rows)\n\n| phase |");
        for r in &rs {
            s += &format!(" {} |", r.prover);
        }
        s += "\n|---|";
        s += &"---:|".repeat(rs.len());
        s += "\n";
        let mut phases: Vec<String> = Vec::new();
        for r in &rs {
            for (p, _) in &r.phases {
                if !phases.contains(p) {
                    phases.push(p.clone());
                }
            }
        }
        for p in phases {
            s += &format!("| {p} |");
            for r in &rs {
                match r.phases.iter().find(|(q, _)| *q == p) {
                    Some((_, v)) => s += &format!(" {v:.1} |"),
                    None => s += " – |",
                }
            }
            s += "\n";
        }
        s += "| verified |";
        for r in &rs {
            s += if r.verified { " yes |" } else { " **NO** |" };
        }
        s += "\n";
    }
    s
}
