//! `zkr bench …`: runs the measurements in `zkr-benches` and writes the reports.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use zkr_benches::plot::{line_chart_log2x, Series};
use zkr_benches::prove::{measure, measure_keccak, render_keccak_markdown, render_markdown, KeccakRow, ProveRow};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Batch proving: rows per tx type, prove time per capacity, ms per tx, proof size,
    /// verify time, peak memory (each capacity in its own process), and the Keccak-256 gadget's
    /// gates per permutation.
    Prove {
        /// Batch capacities to measure.
        #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 4, 16])]
        capacities: Vec<usize>,
        /// Directory for prove.md, prove.svg, prove.json and keccak.json.
        #[arg(long, default_value = "bench-results")]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The pipeline under load: soft-confirmation latency at nominal load and a burst,
    /// submit → proven / aggregated, queue depth over time, and the pipeline's overhead
    /// against proving the same batches directly.
    Pipeline {
        /// Nominal load (tx/s); the burst is 5× that.
        #[arg(long, default_value_t = 4.0)]
        tps: f64,
        /// Seconds of load per phase.
        #[arg(long, default_value_t = 15.0)]
        phase_secs: f64,
        #[arg(long, default_value_t = 4)]
        capacity: usize,
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Directory for pipeline.md, pipeline.svg and pipeline.json.
        #[arg(long, default_value = "bench-results")]
        out: PathBuf,
    },
    /// Proving backends side by side, per phase: plonky2's stock prover and zkr's own pipeline
    /// on the CPU and, where a CUDA device answers, on the GPU. Every proof is verified.
    Backends {
        /// Batch capacities to measure.
        #[arg(long, value_delimiter = ',', default_values_t = vec![4usize, 16])]
        capacities: Vec<usize>,
        /// Repetitions per prover (the best is reported).
        #[arg(long, default_value_t = 2)]
        reps: usize,
        /// Directory for backends.md, backends.svg and backends.json.
        #[arg(long, default_value = "bench-results")]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// L1 gas: deploying the verifier, Poseidon and rollup contracts, one verification, settling one real
    /// epoch of the devnet's circuits (commit, prove, execute) on the in-process EVM, and the L1 gas per transfer for
    /// epochs of 8 transfers up to the largest whose commitEpoch fits the 2^24 cap.
    L1 {
        /// Directory for l1.md, l1.svg, l1-per-transfer.svg and l1.json.
        #[arg(long, default_value = "bench-results")]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The wrap proof's parameters: `l1` (what a deployment uses: the cheapest verification), `devnet` (the
        /// committed contracts) or `rate:queries:pow:cap[:shrink]`.
        #[arg(long, default_value = "l1")]
        wrap: zkr_circuits::wrap::WrapParams,
    },
    /// The wrap proof's FRI parameters against L1: for each set, a wrap proof of one epoch, its generated verifier
    /// compiled and called once in revm: conjectured and Johnson-bound security, proof bytes, verifyProof gas,
    /// wrap proving time.
    Wrap {
        /// Parameter sets as rate_bits:queries:pow_bits:cap_height, `:shrink` appended for a shrink layer (at least
        /// 100 conjectured bits each); `devnet` and `l1` name the presets.
        #[arg(long, value_delimiter = ',', default_values_t = vec![
            "7:12:20:4".to_string(), "9:9:23:3".to_string(), "10:8:20:3".to_string(), "7:12:20:4:shrink".to_string(),
            "9:9:23:3:shrink".to_string(), "10:8:20:3:shrink".to_string()
        ])]
        params: Vec<String>,
        /// Directory for wrap.md, wrap.svg and wrap.json.
        #[arg(long, default_value = "bench-results")]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure one capacity and print it as JSON (used by `bench prove`).
    #[command(hide = true)]
    ProveOne {
        #[arg(long)]
        capacity: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::ProveOne { capacity, seed } => {
            let row = measure(capacity, seed)?;
            println!("{}", serde_json::to_string(&row)?);
            Ok(())
        }
        BenchCommand::Prove { capacities, out, seed } => prove(&capacities, &out, seed),
        BenchCommand::Backends { capacities, reps, out, seed } => backends(&capacities, reps, &out, seed),
        BenchCommand::L1 { out, seed, wrap } => l1(&out, seed, wrap),
        BenchCommand::Wrap { params, out, seed } => wrap(&params, &out, seed),
        BenchCommand::Pipeline { tps, phase_secs, capacity, workers, out } => {
            let cfg = zkr_benches::pipeline::PipelineBenchConfig {
                capacity,
                workers,
                nominal_tps: tps,
                phase_secs,
                ..Default::default()
            };
            pipeline(cfg, &out)
        }
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

fn prove(capacities: &[usize], out: &PathBuf, seed: u64) -> Result<()> {
    let exe = std::env::current_exe().context("locating the zkr binary")?;
    let mut rows: Vec<ProveRow> = Vec::new();
    for (i, &c) in capacities.iter().enumerate() {
        eprintln!("[{}/{}] capacity {c}: building, proving, verifying …", i + 1, capacities.len());
        let output = Command::new(&exe)
            .args(["bench", "prove-one", "--capacity", &c.to_string(), "--seed", &seed.to_string()])
            .output()
            .context("running zkr bench prove-one")?;
        if !output.status.success() {
            bail!("capacity {c} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        let row: ProveRow = serde_json::from_slice(&output.stdout).context("reading the measurement")?;
        eprintln!(
            "    {} rows, prove {:.2} s ({:.0} ms/tx), verify {:.1} ms, proof {:.1} KiB, peak {:.0} MiB",
            row.rows,
            row.prove_s,
            row.ms_per_tx(),
            row.verify_ms,
            row.proof_bytes as f64 / 1024.0,
            row.peak_rss_mib
        );
        rows.push(row);
    }
    let mut keccak: Vec<KeccakRow> = Vec::new();
    for bytes in [135, 8 * 136 - 1] {
        eprintln!("Keccak-256 of {bytes} bytes: building, proving, verifying …");
        let r = measure_keccak(bytes, seed).with_context(|| format!("measuring Keccak-256 of {bytes} bytes"))?;
        eprintln!("    {} permutations, {} gates, prove {:.2} s", r.permutations, r.gates, r.prove_s);
        keccak.push(r);
    }
    let md = format!(
        "{}\n![prove time](prove.svg)\n\n{}",
        render_markdown(&rows, &machine()),
        render_keccak_markdown(&keccak)
    );
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let svg = line_chart_log2x(
        "Batch proving time vs capacity",
        "batch capacity (transactions)",
        "seconds",
        &[
            Series { label: "prove (s)".into(), points: rows.iter().map(|r| (r.capacity as f64, r.prove_s)).collect() },
            Series {
                label: "ms per tx / 1000".into(),
                points: rows.iter().map(|r| (r.capacity as f64, r.ms_per_tx() / 1000.0)).collect(),
            },
        ],
    );
    std::fs::write(out.join("prove.md"), &md)?;
    std::fs::write(out.join("prove.svg"), svg)?;
    std::fs::write(out.join("prove.json"), serde_json::to_string_pretty(&rows)?)?;
    std::fs::write(out.join("keccak.json"), serde_json::to_string_pretty(&keccak)?)?;
    println!("{md}");
    eprintln!("written: {0}/prove.md, {0}/prove.svg, {0}/prove.json, {0}/keccak.json", out.display());
    Ok(())
}

fn pipeline(cfg: zkr_benches::pipeline::PipelineBenchConfig, out: &PathBuf) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = rt.block_on(zkr_benches::pipeline::run(cfg, |line| eprintln!("{line}")))?;
    let md = zkr_benches::pipeline::render_markdown(&report, &machine());
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let svg = zkr_benches::plot::line_chart_linear(
        "Queue depth (queued + leased + waiting jobs)",
        "seconds since start (nominal phase, then 5x burst)",
        "jobs",
        &[Series {
            label: "jobs in flight".into(),
            points: report.queue_depth.iter().map(|&(t, d)| (t, d as f64)).collect(),
        }],
    );
    std::fs::write(out.join("pipeline.md"), &md)?;
    std::fs::write(out.join("pipeline.svg"), svg)?;
    std::fs::write(out.join("pipeline.json"), serde_json::to_string_pretty(&report)?)?;
    println!("{md}");
    eprintln!("written: {0}/pipeline.md, {0}/pipeline.svg, {0}/pipeline.json", out.display());
    Ok(())
}

fn backends(capacities: &[usize], reps: usize, out: &std::path::Path, seed: u64) -> Result<()> {
    use zkr_benches::backends::{measure, render_markdown};
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut runs = Vec::new();
    for &cap in capacities {
        eprintln!("bench backends: capacity {cap} ({reps} repetitions per prover) …");
        let r = measure(cap, reps, seed).with_context(|| format!("measuring capacity {cap}"))?;
        for x in &r {
            eprintln!("  {:<14} {:>9.1} ms  verified: {}", x.prover, x.total_ms, x.verified);
        }
        runs.extend(r);
    }
    let md = render_markdown(&runs);
    print!("{md}");
    let mut provers: Vec<String> = runs.iter().map(|r| r.prover.clone()).collect();
    provers.sort();
    provers.dedup();
    let series: Vec<Series> = provers
        .iter()
        .map(|p| Series {
            label: p.clone(),
            points: runs.iter().filter(|r| &r.prover == p).map(|r| (r.capacity as f64, r.total_ms / 1e3)).collect(),
        })
        .collect();
    let svg = line_chart_log2x("Batch proof time per prover", "batch capacity", "seconds", &series);
    std::fs::write(out.join("backends.md"), &md)?;
    std::fs::write(out.join("backends.svg"), svg)?;
    std::fs::write(out.join("backends.json"), serde_json::to_string_pretty(&runs)?)?;
    eprintln!("wrote {}/backends.{{md,svg,json}}", out.display());
    if runs.iter().any(|r| !r.verified) {
        bail!("a proof failed verification; see the table");
    }
    Ok(())
}

fn l1(out: &std::path::Path, seed: u64, wrap: zkr_circuits::wrap::WrapParams) -> Result<()> {
    use zkr_benches::l1::{measure, render_markdown, TX_GAS_CAP};
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = rt.block_on(measure(seed, wrap, |line| eprintln!("bench l1: {line}")))?;
    let md = render_markdown(&report, &machine());
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let bars: Vec<(String, f64)> =
        report.calls.iter().chain(&report.deployment).map(|r| (r.what.clone(), r.gas as f64 / 1e6)).collect();
    let svg = zkr_benches::plot::bar_chart(
        "Gas per transaction (millions)",
        "M gas",
        &bars,
        Some(("2^24 per-tx cap", TX_GAS_CAP as f64 / 1e6)),
    );
    let per: Vec<(String, f64)> =
        report.scale.iter().map(|r| (format!("{} transfers", r.transfers), r.gas_per_transfer())).collect();
    let per_svg = zkr_benches::plot::bar_chart(
        "L1 gas per transfer, everything included",
        "gas",
        &per,
        Some(("goal", zkr_benches::l1::GAS_PER_TRANSFER_GOAL)),
    );
    std::fs::write(out.join("l1.md"), format!("{md}\n![gas per transfer](l1-per-transfer.svg)\n\n![gas](l1.svg)\n"))?;
    std::fs::write(out.join("l1.svg"), svg)?;
    std::fs::write(out.join("l1-per-transfer.svg"), per_svg)?;
    std::fs::write(out.join("l1.json"), serde_json::to_string_pretty(&report)?)?;
    println!("{md}");
    eprintln!("written: {0}/l1.md, {0}/l1.svg, {0}/l1-per-transfer.svg, {0}/l1.json", out.display());
    if let Some(last) = report.scale.last() {
        println!("{}", zkr_benches::l1::goal_line(last));
    }
    if report.calls.iter().chain(&report.deployment).any(|r| r.gas > TX_GAS_CAP) {
        bail!("a transaction exceeds the 2^24 gas cap; see the table");
    }
    Ok(())
}

fn wrap(params: &[String], out: &std::path::Path, seed: u64) -> Result<()> {
    use zkr_benches::wrap::{measure, parse_params, render_markdown, VERIFY_GAS_GOAL};
    let sets = params.iter().map(|p| parse_params(p)).collect::<Result<Vec<_>>>()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let rows = rt.block_on(measure(&sets, seed, |line| eprintln!("bench wrap: {line}")))?;
    let md = render_markdown(&rows, &machine());
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let bars: Vec<(String, f64)> = rows
        .iter()
        .map(|r| {
            let label = format!(
                "rate {} · {} q · {} PoW ({} B)",
                r.rate_bits, r.num_query_rounds, r.proof_of_work_bits, r.proof_bytes
            );
            (label, r.verify_gas as f64 / 1e6)
        })
        .collect();
    let svg = zkr_benches::plot::bar_chart(
        "verifyProof gas (millions) per wrap parameter set",
        "M gas",
        &bars,
        Some(("goal", VERIFY_GAS_GOAL as f64 / 1e6)),
    );
    std::fs::write(out.join("wrap.md"), format!("{md}\n![verifyProof gas](wrap.svg)\n"))?;
    std::fs::write(out.join("wrap.svg"), svg)?;
    std::fs::write(out.join("wrap.json"), serde_json::to_string_pretty(&rows)?)?;
    println!("{md}");
    eprintln!("written: {0}/wrap.md, {0}/wrap.svg, {0}/wrap.json", out.display());
    Ok(())
}
