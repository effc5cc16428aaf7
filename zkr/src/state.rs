//! `zkr state …`: the L2 state rebuilt from L1 data alone, for users who leave without the operator.

use anyhow::{Context, Result};
use clap::Subcommand;
use zkr_settle::{rebuild_over_rpc, Address, PrivateKeySigner, RpcL1, L1};

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Rebuild every account, the tree and the last executed root from a rollup's L1 data only (its genesis events
    /// and the calldata of each executed epoch's commit), checking each epoch's root against the contract's. With
    /// --account, print that account and its Merkle proof (the arguments of `exit`); with --exit, also send `exit`
    /// (the rollup must be in exit mode; it pays the account's L1 exit owner, whoever sends it).
    Rebuild {
        /// The chain's JSON-RPC endpoint, e.g. http://127.0.0.1:8545.
        #[arg(long)]
        rpc_url: String,
        /// The rollup contract's address (`rollup` in the deployment record).
        #[arg(long)]
        rollup: Address,
        /// First block to read logs from (the rollup's deploy block, `deploy_block` in the record).
        #[arg(long, default_value_t = 0)]
        from_block: u64,
        /// The account to prove.
        #[arg(long)]
        account: Option<u32>,
        /// Send `exit` for --account (needs --private-key-env).
        #[arg(long, requires = "account", requires = "private_key_env")]
        exit: bool,
        /// Name of the environment variable holding the sender's hex private key (for --exit only).
        #[arg(long)]
        private_key_env: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: StateCommand) -> Result<()> {
    let StateCommand::Rebuild { rpc_url, rollup, from_block, account, exit, private_key_env, json } = cmd;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        // reading needs no key: a throwaway signer stands in unless --exit sends a transaction
        let l1 = match &private_key_env {
            Some(var) => RpcL1::connect(&rpc_url, var).await,
            None => RpcL1::connect_with_signer(&rpc_url, PrivateKeySigner::random()).await,
        }
        .with_context(|| format!("connecting to {rpc_url}"))?;
        eprintln!("reading rollup {rollup} from block {from_block} …");
        let r = rebuild_over_rpc(&l1, rollup, from_block).await.context("rebuilding the state from L1")?;
        let state = r.rebuilder.state();
        eprintln!(
            "rebuilt {} accounts through epoch {}: root {} (the contract's executedRoot)",
            state.accounts().count(),
            r.executed,
            r.executed_root
        );
        let Some(id) = account else {
            if json {
                let out = serde_json::json!({
                    "executed_epoch": r.executed,
                    "executed_root": r.executed_root.to_string(),
                    "accounts": state.accounts().count(),
                });
                println!("{out}");
            } else {
                println!("epoch {} root {} accounts {}", r.executed, r.executed_root, state.accounts().count());
            }
            return Ok(());
        };
        let call = r.rebuilder.exit_call(id).with_context(|| format!("account {id}"))?;
        if json {
            let out = serde_json::json!({
                "executed_epoch": r.executed,
                "executed_root": r.executed_root.to_string(),
                "account": id,
                "pubkey": call.pubkey,
                "balance": call.balance,
                "nonce": call.nonce,
                "siblings": call.siblings.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            });
            println!("{out}");
        } else {
            println!(
                "account {id}: balance {} (gwei units), nonce {}, proven against {}",
                call.balance, call.nonce, r.executed_root
            );
        }
        if exit {
            use alloy_sol_types::SolCall;
            let receipt = l1
                .send(rollup, call.abi_encode(), zkr_settle::U256::ZERO)
                .await
                .with_context(|| format!("sending exit for account {id}"))?;
            eprintln!("exit sent: transaction {} in block {}", receipt.tx_hash, receipt.block_number);
        }
        Ok(())
    })
}
