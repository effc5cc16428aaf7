//! `zkr contracts …`: generating the L1 verifier from the wrap circuit and checking what is committed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use zkr_circuits::wrap::WrapParams;

#[derive(Debug, Subcommand)]
pub enum ContractsCommand {
    /// Write the Solidity verifier of the wrap circuit (`ZkrVerifier.sol`, its part contracts included), the
    /// Poseidon library (`PoseidonGoldilocks.sol`) and the compiled contract set (`devnet-contracts.json` for the
    /// devnet's circuits, else `contracts-c<capacity>-h<height>[-<wrap>].json`: creation code of the verifier parts,
    /// verifier, Poseidon and rollup, compiled with the pinned npm solc) into --out-dir. The defaults are the devnet's
    /// circuits and the committed files.
    Generate {
        /// Batch capacity of the circuits the verifier is for.
        #[arg(long, default_value_t = zkr_generator::DEVNET_CAPACITY)]
        capacity: usize,
        /// Epochs hold 2^epoch_height batches.
        #[arg(long, default_value_t = zkr_generator::DEVNET_EPOCH_HEIGHT)]
        epoch_height: u32,
        /// The wrap proof's parameters: `devnet`, `l1` (a shrink layer, then rate 1/1024, 8 queries: the cheapest
        /// verification) or `rate:queries:pow:cap[:shrink]`; the coordinator's and workers' `wrap` must match.
        #[arg(long, default_value = "devnet")]
        wrap: WrapParams,
        /// Where the generated sources go.
        #[arg(long, default_value = "verifier-contracts/settle/generated")]
        out_dir: PathBuf,
        /// Write nothing; exit 1 if a file in --out-dir differs from a fresh generation (CI's drift check).
        #[arg(long)]
        check: bool,
    },
}

pub fn run(cmd: ContractsCommand) -> Result<()> {
    match cmd {
        ContractsCommand::Generate { capacity, epoch_height, wrap, out_dir, check } => {
            generate(capacity, epoch_height, wrap, &out_dir, check)
        }
    }
}

fn generate(capacity: usize, epoch_height: u32, wrap: WrapParams, out_dir: &Path, check: bool) -> Result<()> {
    if capacity == 0 || epoch_height > 20 {
        bail!("--capacity must be at least 1 and --epoch-height at most 20 (got {capacity} and {epoch_height})");
    }
    eprintln!("building the wrap circuit for capacity {capacity}, epoch height {epoch_height}, wrap {wrap} …");
    let verifier = zkr_generator::verifier_for(capacity, epoch_height, wrap).context("generating the verifier")?;
    eprintln!("compiling the verifier and the rollup (npm solc) …");
    let (set, pinned) = zkr_settle::ContractSet::compile_pinned(&verifier, capacity, epoch_height)
        .context("compiling the contracts")?;
    // the committed verifier is the one deployed: its parts' code hash pinned
    let files = [("ZkrVerifier.sol", pinned), ("PoseidonGoldilocks.sol", zkr_yul::poseidon::solidity_library())];
    let set_name = if (capacity, epoch_height, wrap)
        == (zkr_generator::DEVNET_CAPACITY, zkr_generator::DEVNET_EPOCH_HEIGHT, WrapParams::DEFAULT)
    {
        "devnet-contracts.json".to_string()
    } else if wrap == WrapParams::DEFAULT {
        format!("contracts-c{capacity}-h{epoch_height}.json")
    } else {
        format!("contracts-c{capacity}-h{epoch_height}-{}.json", wrap.to_string().replace(':', "-"))
    };
    let files = [files[0].clone(), files[1].clone(), (set_name.as_str(), set.to_json())];
    let mut stale = Vec::new();
    for (name, text) in &files {
        let path = out_dir.join(name);
        if check {
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if &committed != text {
                stale.push(path.display().to_string());
            } else {
                println!("{} is up to date", path.display());
            }
        } else {
            std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {} ({} bytes)", path.display(), text.len());
        }
    }
    if !stale.is_empty() {
        bail!("generated sources differ from a fresh generation: {} (run `zkr contracts generate`)", stale.join(", "));
    }
    Ok(())
}
