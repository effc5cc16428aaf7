//! Command definitions and their (thin) implementations.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::json;
use zkr_circuits::artifact::{digest_hex, ProofFile};
use zkr_circuits::circuit::BatchCircuit;
use zkr_circuits::demo;
use zkr_circuits::schnorr::SecretKey;

#[derive(Debug, Parser)]
#[command(
    name = "zkr",
    version,
    about = "zkr: a ZK-rollup prover pipeline (plonky2 batch proofs over EcGFp5-signed transactions)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an EcGFp5 Schnorr key pair; prints the public key (and the secret key unless --out is given).
    Keygen {
        /// Write the secret key (hex) to this file (mode 0600) instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Build a random valid batch from funded genesis accounts, prove it, and write
    /// proof.bin, public_inputs.json and trace.json.
    ProveBatch {
        /// Number of transactions in the batch.
        #[arg(long, default_value_t = 4)]
        txs: usize,
        /// Batch capacity (padded with no-ops); defaults to --txs.
        #[arg(long)]
        capacity: Option<usize>,
        /// Output directory.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Seed for the genesis keys and the transactions.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Mix withdrawals and deposits in with the transfers.
        #[arg(long)]
        all_kinds: bool,
    },
    /// Verify a proof file: exit 0 if valid, otherwise a one-line reason and exit 1.
    Verify {
        /// The proof file written by `zkr prove-batch`.
        proof: PathBuf,
        /// Largest batch capacity whose circuit this command will build to check a proof; a
        /// header naming more is refused before anything is built (large circuits take minutes
        /// and gigabytes).
        #[arg(long, default_value_t = 64)]
        max_capacity: u32,
    },
    /// The whole pipeline in one process on embedded SQLite: sequencer, workers, aggregator.
    /// Stops once the first new epoch is finalized on L1 (an in-process EVM by default; with --l1 off, once its
    /// proof verifies), or runs until Ctrl-C with --forever.
    Devnet(DevnetArgs),
    /// Fleet mode: the wallet API and batcher, handing batches to the shared job queue.
    Sequencer {
        /// TOML config (see docs/operations.md); env overrides ZKR_SEQUENCER_*.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The job queue shared with the coordinator (required, here or in the config), e.g.
        /// postgres://postgres@127.0.0.1/zkr.
        #[arg(long)]
        database_url: Option<String>,
        /// The blob directory shared with the coordinator (overrides the config's [blobs]; use an S3
        /// bucket in the config when they run on different machines).
        #[arg(long)]
        blob_dir: Option<PathBuf>,
    },
    /// Fleet mode: lends jobs to remote workers, verifies their proofs and the epoch proofs.
    /// Worker tokens come from ZKR_WORKER_TOKENS (comma-separated).
    Coordinator {
        #[arg(long)]
        config: Option<PathBuf>,
        /// The job queue (overrides the config), e.g. postgres://postgres@127.0.0.1/zkr.
        #[arg(long)]
        database_url: Option<String>,
        /// gRPC listen address (overrides the config).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// The blob directory shared with the sequencer (overrides the config's [blobs]).
        #[arg(long)]
        blob_dir: Option<PathBuf>,
    },
    /// Fleet mode: a prover worker that leases jobs from a coordinator.
    Worker {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Coordinator URL, e.g. http://127.0.0.1:50052 (overrides the config).
        #[arg(long)]
        coordinator: Option<String>,
        /// Worker token (prefer the environment variable).
        #[arg(long, env = "ZKR_WORKER_TOKEN", hide_env_values = true)]
        token: String,
        /// auto | cpu | cuda (overrides the config).
        #[arg(long)]
        backend: Option<zkr_worker::backend::BackendChoice>,
    },
    /// Benchmarks; reports go to the terminal and to bench-results/.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// L1 contracts: generate the Solidity verifier from the wrap circuit.
    #[command(subcommand)]
    Contracts(crate::contracts::ContractsCommand),
    /// L1 chain operations: deploy the contracts over JSON-RPC; a deployed rollup's status, the guardian's pause,
    /// the governor's timelock and the operator's revert of unexecuted epochs.
    #[command(subcommand)]
    L1(crate::l1::L1Command),
    /// The job queue, for operators: list jobs, show one, requeue a dead one.
    Queue(crate::queue::QueueArgs),
    /// One screen about a running node or fleet: heights per stage, finality lag, the job queue, workers seen and
    /// wanted, the priority queue, pause and exit mode, read from the roles' /metrics and optionally from L1. Exits
    /// non-zero when a source does not answer.
    Status(crate::status::StatusArgs),
    /// The L2 state from L1 data alone: rebuild it, prove an account, send its exit.
    #[command(subcommand)]
    State(crate::state::StateCommand),
    /// A user's own actions: keys, accounts, transfers and withdrawals through a sequencer's wallet API, deposits
    /// and forced exits on L1, following a transaction's status, and leaving a rollup in exit mode without the
    /// operator.
    #[command(subcommand)]
    Wallet(crate::wallet::WalletCommand),
}

#[derive(Debug, clap::Args)]
pub struct DevnetArgs {
    /// TOML config (see docs/operations.md); env overrides ZKR_DEVNET_*.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory (reuse it to resume).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Run the load generator (signed transfers from the funded genesis accounts).
    #[arg(long)]
    pub demo: bool,
    /// Transactions per second of the load generator.
    #[arg(long)]
    pub tps: Option<f64>,
    /// Batch capacity.
    #[arg(long)]
    pub capacity: Option<usize>,
    /// Epochs hold 2^epoch_height batches.
    #[arg(long)]
    pub epoch_height: Option<u32>,
    /// In-process workers.
    #[arg(long)]
    pub workers: Option<usize>,
    /// auto | cpu | cuda.
    #[arg(long)]
    pub backend: Option<zkr_worker::backend::BackendChoice>,
    /// Keep running after the first epoch (until Ctrl-C).
    #[arg(long)]
    pub forever: bool,
    /// Wallet gRPC address, or "off" (the HTTP gateway is then off too, unless --http names an address).
    #[arg(long)]
    pub grpc: Option<String>,
    /// Wallet HTTP/JSON gateway address (default 127.0.0.1:50080), or "off".
    #[arg(long)]
    pub http: Option<String>,
    /// Prometheus /metrics address.
    #[arg(long)]
    pub metrics: Option<std::net::SocketAddr>,
    /// Where verified epochs settle: in-process (an in-process EVM running the real contracts; the default) or
    /// off. A JSON-RPC chain is set in the config file (`[l1] mode = "rpc"`).
    #[arg(long, value_parser = ["in-process", "off"])]
    pub l1: Option<String>,
}

impl DevnetArgs {
    /// The devnet's config: defaults, the config file, `ZKR_DEVNET_*`, then these flags.
    pub fn into_config(self) -> Result<zkr_node::devnet::DevnetConfig> {
        let args = self;
        let mut cfg: zkr_node::devnet::DevnetConfig = crate::config::load(args.config.as_deref(), "ZKR_DEVNET")?;
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
            if cfg.grpc_listen.is_none() && args.http.is_none() {
                cfg.http_listen = None; // no wallet API at all
            }
        }
        if let Some(h) = args.http {
            cfg.http_listen =
                if h == "off" { None } else { Some(h.parse().with_context(|| format!("--http {h}: not an address"))?) };
        }
        if args.metrics.is_some() {
            cfg.metrics_listen = args.metrics;
        }
        match args.l1.as_deref() {
            Some("off") => cfg.l1 = zkr_coordinator::settlement::L1Mode::Off,
            Some(_) => cfg.l1 = zkr_coordinator::settlement::L1Mode::InProcess,
            None => {}
        }
        Ok(cfg)
    }
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Devnet(args) => crate::node::devnet(args.into_config()?),
        Command::Sequencer { config, database_url, blob_dir } => {
            crate::node::sequencer(config.as_deref(), database_url, blob_dir)
        }
        Command::Coordinator { config, database_url, listen, blob_dir } => {
            crate::node::coordinator(config.as_deref(), database_url, listen, blob_dir)
        }
        Command::Worker { config, coordinator, token, backend } => {
            crate::node::worker(config.as_deref(), coordinator, &token, backend)
        }
        Command::Keygen { out } => keygen(out.as_deref()),
        Command::ProveBatch { txs, capacity, out, seed, all_kinds } => {
            prove_batch(txs, capacity.unwrap_or(txs), &out, seed, all_kinds)
        }
        Command::Verify { proof, max_capacity } => verify(&proof, max_capacity),
        Command::Bench(cmd) => crate::bench::run(cmd),
        Command::Contracts(cmd) => crate::contracts::run(cmd),
        Command::L1(cmd) => crate::l1::run(cmd),
        Command::Queue(args) => crate::queue::run(args),
        Command::Status(args) => crate::status::run(args),
        Command::State(cmd) => crate::state::run(cmd),
        Command::Wallet(cmd) => crate::wallet::run(cmd),
    }
}

fn keygen(out: Option<&Path>) -> Result<()> {
    let sk = SecretKey::random(&mut rand::rngs::OsRng);
    let pk = hex::encode(sk.public_key().to_bytes());
    match out {
        Some(path) => {
            crate::wallet::write_secret_key(path, &sk)
                .with_context(|| format!("writing the secret key to {}", path.display()))?;
            println!("{}", json!({ "public_key": pk, "secret_key_file": path.display().to_string() }));
        }
        None => println!("{}", json!({ "public_key": pk, "secret_key": hex::encode(sk.to_bytes()) })),
    }
    Ok(())
}

/// A spinner with elapsed time for a blocking phase; hidden when stderr is not a terminal.
pub fn phase<T>(msg: &str, f: impl FnOnce() -> T) -> T {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]").expect("valid template"));
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    let t = Instant::now();
    let r = f();
    pb.finish_and_clear();
    eprintln!("{msg}: done in {:.2} s", t.elapsed().as_secs_f64());
    r
}

fn prove_batch(txs: usize, capacity: usize, out: &Path, seed: u64, all_kinds: bool) -> Result<()> {
    if capacity == 0 || txs > capacity {
        bail!("--txs {txs} must be at most the capacity {capacity}, and the capacity positive");
    }
    if capacity > zkr_circuits::artifact::MAX_CAPACITY as usize {
        bail!("capacity {capacity} is above the maximum {}", zkr_circuits::artifact::MAX_CAPACITY);
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let keys = demo::keys(seed, 8);
    let mut state = demo::genesis(&keys);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mix = if all_kinds { demo::Mix::All } else { demo::Mix::Transfers };
    let batch = phase(&format!("executing {txs} random transactions"), || {
        demo::random_batch(&mut rng, &keys, &mut state, capacity, txs, mix)
    });
    let circuit = phase(&format!("building the batch circuit (capacity {capacity})"), || BatchCircuit::build(capacity));
    eprintln!("circuit: {} gates used, {} rows", circuit.gates_used, circuit.rows());
    let proof = phase("proving", || circuit.prove(&batch)).context("proving the batch")?;
    let public = phase("verifying", || circuit.verify(&proof)).context("verifying the fresh proof")?;

    let file = ProofFile::new(&circuit, &proof);
    let proof_path = out.join("proof.bin");
    std::fs::write(&proof_path, file.to_bytes()).with_context(|| format!("writing {}", proof_path.display()))?;
    let pi = json!({
        "capacity": capacity,
        "txs": batch.num_txs(),
        "circuit_digest": digest_hex(&file.circuit_digest),
        "old_root": digest_hex(&public.old_root),
        "new_root": digest_hex(&public.new_root),
        "data_in": hex::encode(public.data_in),
        "data_out": hex::encode(public.data_out),
        "pubdata": hex::encode(batch.pubdata_bytes()),
    });
    write_json(&out.join("public_inputs.json"), &pi)?;
    let trace = json!({
        "capacity": capacity,
        "transactions": batch.slots.iter().filter_map(|s| s.tx.as_ref()).map(|t| json!({
            "kind": t.tx.kind(),
            "id": digest_hex(&t.tx.id()),
            "bytes": hex::encode(t.to_bytes()),
        })).collect::<Vec<_>>(),
        "roots": batch.slots.iter().map(|s| digest_hex(&s.root_after)).collect::<Vec<_>>(),
        "pubdata": hex::encode(batch.pubdata_bytes()),
    });
    write_json(&out.join("trace.json"), &trace)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({ "proof": proof_path.display().to_string(), "public_inputs": pi }))?
    );
    Ok(())
}

fn write_json(path: &Path, v: &serde_json::Value) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(v)? + "\n").with_context(|| format!("writing {}", path.display()))
}

fn verify(path: &Path, max_capacity: u32) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file =
        ProofFile::from_bytes(&bytes).with_context(|| format!("{} is not a valid proof file", path.display()))?;
    if file.capacity > max_capacity {
        bail!(
            "{} names a batch circuit of capacity {}, above --max-capacity {max_capacity}; pass a larger \
             --max-capacity to build that circuit and check it",
            path.display(),
            file.capacity
        );
    }
    let circuit = phase(&format!("building the batch circuit (capacity {})", file.capacity), || {
        BatchCircuit::build(file.capacity as usize)
    });
    let public = file.verify(&circuit).with_context(|| format!("{} was rejected", path.display()))?;
    println!(
        "valid: batch proof (capacity {}), old root {}, new root {}",
        file.capacity,
        digest_hex(&public.old_root),
        digest_hex(&public.new_root)
    );
    Ok(())
}
