//! `zkr l1 …`: deploying zkr's contracts to an Ethereum JSON-RPC chain.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use zkr_rollup::calldata::genesis_accounts;
use zkr_rollup::pack_digest;
use zkr_settle::{deploy_contracts, ContractSet, RollupSetup, RpcL1, L1};

#[derive(Debug, Subcommand)]
pub enum L1Command {
    /// Deploy the verifier (its part contracts, then `ZkrVerifier`), Poseidon and the rollup, and write their
    /// addresses to --out. The sender becomes governor, guardian and operator unless given otherwise. A devnet
    /// settles on this deployment with `[l1] mode = "rpc"` and `deployment = "<--out>"` in its config.
    Deploy {
        /// The chain's JSON-RPC endpoint, e.g. http://127.0.0.1:8545.
        #[arg(long)]
        rpc_url: String,
        /// Name of the environment variable holding the sender's hex private key (never the key itself).
        #[arg(long)]
        private_key_env: String,
        /// Where the deployment record goes (TOML: chain_id, verifier, rollup, poseidon, verifier_parts, deploy_block).
        #[arg(long, default_value = "l1.toml")]
        out: PathBuf,
        /// Batch capacity of the circuits (4 and epoch height 1 use the committed contracts; others compile now
        /// with npm solc).
        #[arg(long, default_value_t = zkr_generator::DEVNET_CAPACITY)]
        capacity: usize,
        #[arg(long, default_value_t = zkr_generator::DEVNET_EPOCH_HEIGHT)]
        epoch_height: u32,
        /// Genesis: demo accounts of this seed (the sequencer's `genesis.demo_seed`).
        #[arg(long, default_value_t = 1)]
        demo_seed: u64,
        /// Genesis: number of demo accounts (the sequencer's `genesis.demo_accounts`).
        #[arg(long, default_value_t = 8)]
        demo_accounts: usize,
        /// The rollup's id on the L1 chain (the sequencer's `genesis.rollup_id`): with the chain id, the domain every
        /// L2 signature is made for. The L1 must report the sequencer's `genesis.chain_id`.
        #[arg(long, default_value_t = zkr_circuits::tx::Domain::DEVNET.rollup_id)]
        rollup_id: u64,
        /// The L2 account fees are credited to (the sequencer's `genesis.fee_account`).
        #[arg(long, default_value_t = 0)]
        fee_account: u32,
        /// Guardian (may pause); defaults to the sender.
        #[arg(long)]
        guardian: Option<zkr_settle::Address>,
        /// Operator (commits, proves, executes); defaults to the sender.
        #[arg(long)]
        operator: Option<zkr_settle::Address>,
        /// Seconds before an unprocessed priority operation (deposit, forced exit) puts the rollup into exit mode
        /// (at least 2 days: longer than the guardian's longest pause).
        #[arg(long, default_value_t = 3 * 24 * 3600)]
        priority_expiry: u64,
        /// Seconds a verifier or parameter change waits in the timelock: more than --priority-expiry, so users who
        /// reject a change can leave before it lands.
        #[arg(long, default_value_t = 4 * 24 * 3600)]
        timelock_delay: u64,
    },
}

pub fn run(cmd: L1Command) -> Result<()> {
    match cmd {
        L1Command::Deploy {
            rpc_url,
            private_key_env,
            out,
            capacity,
            epoch_height,
            demo_seed,
            demo_accounts,
            rollup_id,
            fee_account,
            guardian,
            operator,
            priority_expiry,
            timelock_delay,
        } => {
            anyhow::ensure!((1..=1024).contains(&capacity), "--capacity {capacity} out of range 1..=1024");
            anyhow::ensure!(epoch_height <= 10, "--epoch-height {epoch_height} out of range 0..=10");
            anyhow::ensure!(demo_accounts >= 1, "--demo-accounts must be at least 1");
            anyhow::ensure!(
                priority_expiry >= 2 * 24 * 3600,
                "--priority-expiry {priority_expiry} is below the contract's minimum of 172800 s (2 days)"
            );
            anyhow::ensure!(
                timelock_delay > priority_expiry,
                "--timelock-delay {timelock_delay} must exceed --priority-expiry {priority_expiry}"
            );
            let set = contract_set(capacity, epoch_height)?;
            let genesis = zkr_circuits::demo::genesis(&zkr_circuits::demo::keys(demo_seed, demo_accounts));
            let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            rt.block_on(async move {
                let l1 = RpcL1::connect(&rpc_url, &private_key_env)
                    .await
                    .with_context(|| format!("connecting to {rpc_url}"))?;
                let sender = l1.sender();
                let setup = RollupSetup {
                    governor: sender,
                    guardian: guardian.unwrap_or(sender),
                    operator: operator.unwrap_or(sender),
                    batches_per_epoch: 1 << epoch_height,
                    batch_capacity: capacity as u64,
                    genesis_root: pack_digest(&genesis.root()),
                    genesis_data: genesis.data_digest().into(),
                    genesis_accounts: genesis_accounts(&genesis, |_| sender).context("genesis accounts")?,
                    priority_expiry,
                    timelock_delay,
                    // the chain is the L1's own (the node's genesis.chain_id must match it)
                    domain: zkr_circuits::tx::Domain { chain_id: l1.chain_id().await?, rollup_id },
                    fee_account,
                };
                eprintln!("deploying {} contracts from {sender} …", set.verifier_parts.len() + 3);
                let mut total = 0u64;
                let d = deploy_contracts(&l1, &set, &setup, |name, gas| {
                    total += gas;
                    eprintln!("  {name:<20} {gas:>10} gas");
                })
                .await
                .context("deploying")?;
                d.save(&out).with_context(|| format!("writing {}", out.display()))?;
                println!(
                    "chain {}: verifier {}, rollup {}, poseidon {} ({} gas in total); written to {}",
                    d.chain_id,
                    d.verifier,
                    d.rollup,
                    d.poseidon,
                    total,
                    out.display()
                );
                Ok(())
            })
        }
    }
}

/// The committed devnet contracts, or the verifier for other circuits generated and compiled now.
pub fn contract_set(capacity: usize, epoch_height: u32) -> Result<ContractSet> {
    if (capacity, epoch_height) == (zkr_generator::DEVNET_CAPACITY, zkr_generator::DEVNET_EPOCH_HEIGHT) {
        return ContractSet::devnet().context("reading the committed devnet contracts");
    }
    eprintln!("generating the verifier for capacity {capacity}, epoch height {epoch_height} …");
    let source = zkr_generator::verifier_for(capacity, epoch_height).context("generating the verifier")?;
    ContractSet::compile(&source, capacity, epoch_height)
        .context("compiling the contracts (needs `npm ci --prefix verifier-contracts`)")
}
