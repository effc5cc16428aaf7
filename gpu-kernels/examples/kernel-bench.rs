//! Times each kernel operation against plonky2's CPU code and prints a markdown table.
//!
//! ```text
//! cargo run --release -p zkr-gpu-kernels --example kernel-bench -- [--backend cuda|host] [--sizes 12,16,18]
//!     [--polys 100] [--rate-bits 3] [--cap-height 4] [--reps 3] [--device 0]
//! ```
//! Backend times are end to end as a prover sees them: conversion, upload, kernels, download. Every row also
//! checks that the backend's output equals plonky2's (`match` column); a mismatch makes the exit status 1.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use plonky2::field::polynomial::{PolynomialCoeffs, PolynomialValues};
use plonky2::field::types::{Field, Sample};
use plonky2::fri::oracle::PolynomialBatch;
use plonky2::hash::merkle_tree::MerkleTree;
use plonky2::hash::poseidon::{Poseidon, PoseidonHash};
use plonky2::plonk::config::PoseidonGoldilocksConfig;
use plonky2::util::timing::TimingTree;
use plonky2::util::{reverse_index_bits_in_place, transpose};
use rayon::prelude::*;
use zkr_gpu_kernels::cuda::CudaKernels;
use zkr_gpu_kernels::{HostKernels, Kernels, F};

type C = PoseidonGoldilocksConfig;

struct Args {
    backend: String,
    sizes: Vec<usize>,
    polys: usize,
    rate_bits: usize,
    cap_height: usize,
    reps: usize,
    device: usize,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        backend: "cuda".into(),
        sizes: vec![12, 16, 18],
        polys: 100,
        rate_bits: 3,
        cap_height: 4,
        reps: 3,
        device: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let num = || value.parse::<usize>().with_context(|| format!("{flag} {value}: expected a number"));
        match flag.as_str() {
            "--backend" => a.backend = value.clone(),
            "--sizes" => {
                a.sizes = value
                    .split(',')
                    .map(|s| s.trim().parse::<usize>().with_context(|| format!("--sizes {value}: expected e.g. 12,16")))
                    .collect::<Result<_>>()?
            }
            "--polys" => a.polys = num()?,
            "--rate-bits" => a.rate_bits = num()?,
            "--cap-height" => a.cap_height = num()?,
            "--reps" => a.reps = num()?.max(1),
            "--device" => a.device = num()?,
            _ => bail!("unknown flag {flag}; see the doc comment of examples/kernel-bench.rs"),
        }
    }
    Ok(a)
}

/// Median wall time of `reps` runs, and the last result.
fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(reps);
    let mut out = None;
    for _ in 0..reps {
        let start = Instant::now();
        out = Some(f());
        times.push(start.elapsed());
    }
    times.sort();
    (times[times.len() / 2], out.expect("reps >= 1"))
}

struct Row {
    op: String,
    size: String,
    cpu: Duration,
    backend: Duration,
    matches: bool,
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn bench(k: &dyn Kernels, a: &Args, rows: &mut Vec<Row>) -> Result<()> {
    for &log_n in &a.sizes {
        let n = 1usize << log_n;
        let size = format!("2^{log_n} x {}", a.polys);
        let values: Vec<PolynomialValues<F>> = (0..a.polys).map(|_| PolynomialValues::new(F::rand_vec(n))).collect();

        let (cpu, want) = time(a.reps, || values.par_iter().map(|v| v.clone().ifft()).collect::<Vec<_>>());
        let (gpu, got) = time(a.reps, || k.ifft_batch(&values));
        let coeffs = want;
        rows.push(Row { op: "IFFT".into(), size: size.clone(), cpu, backend: gpu, matches: got? == coeffs });

        let lde_cpu = || {
            let cols: Vec<Vec<F>> = coeffs
                .par_iter()
                .map(|p: &PolynomialCoeffs<F>| p.lde(a.rate_bits).coset_fft(F::coset_shift()).values)
                .collect();
            let mut leaves = transpose(&cols);
            reverse_index_bits_in_place(&mut leaves);
            leaves
        };
        let (cpu, want) = time(a.reps, lde_cpu);
        let (gpu, got) = time(a.reps, || k.coset_lde_leaves(&coeffs, a.rate_bits));
        let lde_size = format!("2^{} x {}", log_n + a.rate_bits, a.polys);
        rows.push(Row {
            op: "coset LDE -> leaves".into(),
            size: lde_size.clone(),
            cpu,
            backend: gpu,
            matches: got? == want,
        });

        let cap = a.cap_height.min(log_n + a.rate_bits);
        let leaves = want;
        let (cpu, want) = time(a.reps, || MerkleTree::<F, PoseidonHash>::new(leaves.clone(), cap));
        let (gpu, got) = time(a.reps, || k.merkle_tree(leaves.clone(), cap));
        let got = got?;
        let ok = got.cap == want.cap && got.digests == want.digests;
        rows.push(Row { op: "Merkle tree (Poseidon)".into(), size: lde_size.clone(), cpu, backend: gpu, matches: ok });

        let (cpu, want) = time(a.reps, || {
            PolynomialBatch::<F, C, 2>::from_values(
                values.clone(),
                a.rate_bits,
                false,
                cap,
                &mut TimingTree::default(),
                None,
            )
        });
        let (gpu, got) = time(a.reps, || k.commit_values(&values, a.rate_bits, cap));
        let got = got?;
        let ok = got.merkle_tree.cap == want.merkle_tree.cap && got.polynomials == want.polynomials;
        rows.push(Row {
            op: "commit = PolynomialBatch::from_values".into(),
            size: lde_size,
            cpu,
            backend: gpu,
            matches: ok,
        });

        let states: Vec<[F; 12]> = (0..n).map(|_| F::rand_array()).collect();
        let (cpu, want) = time(a.reps, || states.par_iter().map(|s| F::poseidon(*s)).collect::<Vec<_>>());
        let (gpu, got) = time(a.reps, || k.poseidon_permute_batch(&states));
        rows.push(Row {
            op: "Poseidon permutation".into(),
            size: format!("2^{log_n} states"),
            cpu,
            backend: gpu,
            matches: got? == want,
        });
    }
    Ok(())
}

fn main() -> Result<()> {
    let a = parse_args()?;
    let kernels: Box<dyn Kernels> = match a.backend.as_str() {
        "cuda" => {
            let start = Instant::now();
            let k = CudaKernels::new(a.device).context("opening the CUDA device and compiling the kernels")?;
            println!("CUDA: {:?}; NVRTC compile + module load {} ms", k.info(), ms(start.elapsed()));
            Box::new(k)
        }
        "host" => Box::new(HostKernels::new()),
        other => bail!("--backend {other}: expected cuda or host"),
    };
    println!(
        "backend: {}; CPU: plonky2 1.1.0 with {} rayon threads; rate_bits {}, median of {} runs\n",
        kernels.backend_name(),
        rayon::current_num_threads(),
        a.rate_bits,
        a.reps
    );
    let mut rows = Vec::new();
    bench(kernels.as_ref(), &a, &mut rows)?;
    println!("| operation | size | plonky2 CPU (ms) | {} (ms) | speed-up | match |", a.backend);
    println!("|---|---|---:|---:|---:|---|");
    for r in &rows {
        let speedup = r.cpu.as_secs_f64() / r.backend.as_secs_f64().max(1e-9);
        println!(
            "| {} | {} | {} | {} | {:.2}x | {} |",
            r.op,
            r.size,
            ms(r.cpu),
            ms(r.backend),
            speedup,
            if r.matches { "yes" } else { "NO" }
        );
    }
    if rows.iter().any(|r| !r.matches) {
        bail!("a backend output differs from plonky2's (see the match column)");
    }
    Ok(())
}
