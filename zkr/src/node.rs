//! The node commands: devnet and the three fleet roles. Runs them on a runtime with signal handling and prints
//! what they report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;
use zkr_blobs::BlobConfig;
use zkr_node::devnet::{self, DevnetConfig};
use zkr_node::fleet::{self, CoordinatorConfig, NodeEvent, SequencerNodeConfig, WorkerNodeConfig};

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

/// `zkr devnet` with its config resolved (file, environment, then flags).
pub fn devnet(cfg: DevnetConfig) -> Result<()> {
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
    let api: Vec<String> =
        [cfg.grpc_listen.map(|a| format!("gRPC {a}")), cfg.http_listen.map(|a| format!("HTTP http://{a}/v1/info"))]
            .into_iter()
            .flatten()
            .collect();
    if !api.is_empty() {
        eprintln!("wallet API: {} (served once the circuits are built)", api.join(", "));
    }
    let rt = runtime()?;
    rt.block_on(async move {
        let shutdown = shutdown_on_signals();
        let pb = ProgressBar::new_spinner();
        pb.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        pb.enable_steady_tick(Duration::from_millis(150));
        let plain = !console_is_tty();
        let mut incident_shown = false;
        let report = devnet::run(cfg, shutdown, |s| {
            let line = format!(
                "[{:>5.0}s] txs {} (refused {}) | L1 deposits/exits {} | batches sealed {} proven {} | aggregations {} wraps {} | queue: {} queued {} leased {} waiting {} dead | epochs {} (L1 {}) | root {}…",
                s.elapsed_s, s.txs_submitted, s.txs_refused, s.bridge_taken, s.batches_sealed, s.batches_proven,
                s.aggregations_done, s.wraps_done, s.queued, s.leased, s.waiting, s.dead, s.epochs_verified,
                s.epochs_finalized, s.root
            );
            if let (Some(i), false) = (&s.bridge_incident, incident_shown) {
                eprintln!("bridge stopped: {i}");
                incident_shown = true;
            }
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
        if let Some(a) = report.http_addr {
            eprintln!("wallet HTTP API was at http://{a}");
        }
        for d in &report.deposits {
            println!(
                "deposit of {} units on L1 (transaction {}) opened account {}: on L2 {} ms after it was sent",
                d.amount, d.l1_tx, d.account, d.soft_confirmation_ms
            );
        }
        for e in &report.epochs {
            println!(
                "epoch {} proof verified: batches {}..={}, old root {}, new root {}, {} bytes ({})",
                e.epoch,
                e.batches.0,
                e.batches.1,
                zkr_circuits::artifact::digest_hex(&e.public.old_root),
                zkr_circuits::artifact::digest_hex(&e.public.new_root),
                e.bytes,
                e.key
            );
        }
        // the same lines a fleet coordinator prints
        if let Some(d) = report.deployment {
            println!("{}", NodeEvent::Deployed(d));
        }
        for s in report.settled {
            println!("{}", NodeEvent::EpochFinalized(s));
        }
        Ok(())
    })
}

/// A fleet role's events, one line each on stderr (its logs go there too).
fn print_event(e: &NodeEvent) {
    eprintln!("{e}");
}

fn console_is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

pub fn sequencer(config: Option<&Path>, database_url: Option<String>, blob_dir: Option<PathBuf>) -> Result<()> {
    let mut cfg: SequencerNodeConfig = config::load(config, "ZKR_SEQUENCER")?;
    if let Some(u) = database_url {
        cfg.database_url = u;
    }
    if let Some(dir) = blob_dir {
        cfg.blobs = BlobConfig::Fs { dir };
    }
    runtime()?.block_on(async move { fleet::run_sequencer(cfg, shutdown_on_signals(), &print_event).await })
}

pub fn coordinator(
    config: Option<&Path>,
    database_url: Option<String>,
    listen: Option<std::net::SocketAddr>,
    blob_dir: Option<PathBuf>,
) -> Result<()> {
    let mut cfg: CoordinatorConfig = config::load(config, "ZKR_COORDINATOR")?;
    if let Some(u) = database_url {
        cfg.database_url = u;
    }
    if let Some(dir) = blob_dir {
        cfg.blobs = BlobConfig::Fs { dir };
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
    runtime()?.block_on(async move { fleet::run_coordinator(cfg, tokens, shutdown_on_signals(), &print_event).await })
}

pub fn worker(
    config: Option<&Path>,
    coordinator: Option<String>,
    token: &str,
    backend: Option<zkr_worker::backend::BackendChoice>,
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
    let stats =
        rt.block_on(async move { fleet::run_remote_worker(cfg, &token, shutdown_on_signals(), &print_event).await });
    // A proof still running on a blocking thread belongs to a lease already given back: do not wait for it
    // (dropping the runtime would block until the proof is done).
    rt.shutdown_background();
    eprintln!("worker stopped: {:?}", stats?);
    Ok(())
}
