//! The pipeline commands: devnet and the three fleet roles.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;
use zkr_prover::devnet::{self, DevnetConfig};
use zkr_prover::fleet::{self, CoordinatorConfig, SequencerNodeConfig, WorkerNodeConfig};

use crate::cli::DevnetArgs;
use crate::config;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

/// A token cancelled on Ctrl-C or SIGTERM.
fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = match signal(SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("shutting down …");
        t.cancel();
    });
    token
}

pub fn devnet(args: DevnetArgs) -> Result<()> {
    let mut cfg: DevnetConfig = config::load(args.config.as_deref(), "ZKR_DEVNET")?;
    if let Some(d) = args.data_dir {
        cfg.data_dir = d;
    }
    if args.demo {
        cfg.demo = true;
    }
    if let Some(t) = args.tps {
        cfg.demo_tps = t;
    }
    if let Some(c) = args.capacity {
        cfg.capacity = c;
    }
    if let Some(h) = args.epoch_height {
        cfg.epoch_height = h;
    }
    if let Some(w) = args.workers {
        cfg.workers = w;
    }
    if let Some(b) = args.backend {
        cfg.backend = b;
    }
    if args.forever {
        cfg.stop_after_epochs = None;
    }
    if let Some(g) = args.grpc {
        cfg.grpc_listen =
            if g == "off" { None } else { Some(g.parse().with_context(|| format!("--grpc {g}: not an address"))?) };
    }
    if args.metrics.is_some() {
        cfg.metrics_listen = args.metrics;
    }
    match args.l1.as_deref() {
        Some("off") => cfg.l1 = zkr_prover::settlement::L1Mode::Off,
        Some(_) => cfg.l1 = zkr_prover::settlement::L1Mode::InProcess,
        None => {}
    }
    anyhow::ensure!((1..=1024).contains(&cfg.capacity), "capacity {} out of range 1..=1024", cfg.capacity);
    anyhow::ensure!(cfg.epoch_height <= 10, "epoch_height {} out of range 0..=10", cfg.epoch_height);
    if !cfg.demo {
        eprintln!(
            "no --demo: waiting for wallets to submit transactions (an epoch closes {} s after it begins)",
            cfg.epoch_timeout_ms / 1000
        );
    }
    eprintln!(
        "devnet: data dir {}, capacity {}, {} batches per epoch, {} workers — building circuits …",
        cfg.data_dir.display(),
        cfg.capacity,
        1u64 << cfg.epoch_height,
        cfg.workers
    );
    let rt = runtime()?;
    rt.block_on(async move {
        let shutdown = shutdown_on_signals();
        let pb = ProgressBar::new_spinner();
        pb.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        pb.enable_steady_tick(Duration::from_millis(150));
        let plain = !console_is_tty();
        let report = devnet::run(cfg, shutdown, |s| {
            let line = format!(
                "[{:>5.0}s] txs {} (refused {}) | batches sealed {} proven {} | aggregations {} | queue: {} queued {} leased {} waiting {} dead | epochs {} (L1 {}) | root {}…",
                s.elapsed_s, s.txs_submitted, s.txs_refused, s.batches_sealed, s.batches_proven, s.aggregations_done,
                s.queued, s.leased, s.waiting, s.dead, s.epochs_verified, s.epochs_finalized, s.root
            );
            if plain {
                eprintln!("{line}");
            } else {
                pb.set_message(line);
            }
        })
        .await;
        pb.finish_and_clear();
        let report = report?;
        if let Some(a) = report.grpc_addr {
            eprintln!("wallet API was at {a}");
        }
        for e in &report.epochs {
            println!(
                "epoch {} proof verified: batches {}..={}, old root {}, new root {}, {} bytes ({})",
                e.epoch,
                e.epoch << report_height(&e.key),
                ((e.epoch + 1) << report_height(&e.key)) - 1,
                zkr_circuits::artifact::digest_hex(&e.public.old_root),
                zkr_circuits::artifact::digest_hex(&e.public.new_root),
                e.bytes,
                e.key
            );
        }
        if let Some(d) = &report.deployment {
            println!("L1 (chain {}): rollup {}, verifier {}", d.chain_id, d.rollup, d.verifier);
        }
        for s in &report.settled {
            println!(
                "epoch {} finalized on L1: rollup epoch {}, block {}, wrap proof {:.1} s, gas commit {} prove {} execute {}",
                s.epoch, s.l1_epoch, s.l1_block, s.wrap_seconds, s.gas_commit, s.gas_prove, s.gas_execute
            );
        }
        Ok(())
    })
}

/// The epoch height is encoded in the proof key as `L<level>`.
fn report_height(key: &str) -> u32 {
    key.split("/L").nth(1).and_then(|r| r.split('-').next()).and_then(|l| l.parse().ok()).unwrap_or(0)
}

fn console_is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

pub fn sequencer(config: Option<&Path>) -> Result<()> {
    let cfg: SequencerNodeConfig = config::load(config, "ZKR_SEQUENCER")?;
    runtime()?.block_on(async move { fleet::run_sequencer(cfg, shutdown_on_signals()).await })
}

pub fn coordinator(
    config: Option<&Path>,
    database_url: Option<String>,
    listen: Option<std::net::SocketAddr>,
) -> Result<()> {
    let mut cfg: CoordinatorConfig = config::load(config, "ZKR_COORDINATOR")?;
    if let Some(u) = database_url {
        cfg.database_url = u;
    }
    if let Some(l) = listen {
        cfg.listen = l;
    }
    let tokens: Vec<String> = std::env::var("ZKR_WORKER_TOKENS")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    runtime()?.block_on(async move { fleet::run_coordinator(cfg, tokens, shutdown_on_signals()).await })
}

pub fn worker(
    config: Option<&Path>,
    coordinator: Option<String>,
    token: &str,
    backend: Option<zkr_prover::backend::BackendChoice>,
) -> Result<()> {
    // ZKR_WORKER_TOKEN (this worker's token) and ZKR_WORKER_TOKENS (the coordinator's list) share the
    // ZKR_WORKER_ prefix but are secrets, not config fields: keep them out of the overrides.
    let env = std::env::vars().filter(|(k, _)| k != "ZKR_WORKER_TOKEN" && k != "ZKR_WORKER_TOKENS");
    let mut cfg: WorkerNodeConfig = config::load_with_env(config, "ZKR_WORKER", env)?;
    if let Some(c) = coordinator {
        cfg.coordinator = c;
    }
    if let Some(b) = backend {
        cfg.backend = b;
    }
    let token = token.to_string();
    let rt = runtime()?;
    let stats = rt.block_on(async move { fleet::run_remote_worker(cfg, &token, shutdown_on_signals()).await });
    // A proof still running on a blocking thread belongs to a lease already given back: do not wait for it
    // (dropping the runtime would block until the proof is done).
    rt.shutdown_background();
    eprintln!("worker stopped: {:?}", stats?);
    Ok(())
}
