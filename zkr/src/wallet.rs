//! `zkr wallet …`: what a user does on their own. `exit` leaves a rollup in exit mode with a proof rebuilt from L1
//! data alone (no operator, no operator database).

use alloy_sol_types::SolCall;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use zkr_rollup::IZkrRollup;
use zkr_settle::{rebuild_over_rpc, view, Address, RpcL1, L1, U256};

#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// Leave a rollup that is in exit mode: rebuild the state from L1 (as `zkr state rebuild`), send `exit` for the
    /// account with its Merkle proof against the last executed root, then, when the sender is the account's exit
    /// owner, pull the ETH with `withdrawPending`. With --activate, first switch the rollup into exit mode (anyone
    /// may, once a deposit or forced exit has waited past its expiry).
    Exit {
        /// The chain's JSON-RPC endpoint, e.g. http://127.0.0.1:8545.
        #[arg(long)]
        rpc_url: String,
        /// The rollup contract's address.
        #[arg(long)]
        rollup: Address,
        /// The L2 account to exit.
        #[arg(long)]
        account: u32,
        /// Name of the environment variable holding the sender's hex private key.
        #[arg(long)]
        private_key_env: String,
        /// First block to read logs from (the rollup's deploy block).
        #[arg(long, default_value_t = 0)]
        from_block: u64,
        /// Send `activateExitMode` first when the rollup is not in exit mode yet.
        #[arg(long)]
        activate: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: WalletCommand) -> Result<()> {
    let WalletCommand::Exit { rpc_url, rollup, account, private_key_env, from_block, activate, json } = cmd;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let l1 =
            RpcL1::connect(&rpc_url, &private_key_env).await.with_context(|| format!("connecting to {rpc_url}"))?;
        if !view(&l1, rollup, IZkrRollup::exitModeCall {}).await.context("reading exitMode")? {
            if !activate {
                bail!(
                    "rollup {rollup} is not in exit mode: exits open once a deposit or forced exit has waited past its \
                     expiry and someone activates it (pass --activate to try)"
                );
            }
            let r = l1
                .send(rollup, IZkrRollup::activateExitModeCall {}.abi_encode(), U256::ZERO)
                .await
                .context("activating exit mode (refused while no priority operation has expired)")?;
            eprintln!("exit mode activated: transaction {}", r.tx_hash);
        }
        if view(&l1, rollup, IZkrRollup::exitedCall { accountId: account }).await.context("reading exited")? {
            bail!("account {account} has exited already");
        }
        eprintln!("rebuilding the state of rollup {rollup} from L1 (block {from_block} on) …");
        let r = rebuild_over_rpc(&l1, rollup, from_block).await.context("rebuilding the state from L1")?;
        let call = r.rebuilder.exit_call(account).with_context(|| format!("account {account}"))?;
        let balance = call.balance;
        let exit = l1
            .send(rollup, call.abi_encode(), U256::ZERO)
            .await
            .with_context(|| format!("sending exit for account {account}"))?;
        eprintln!("exit sent: transaction {} in block {}", exit.tx_hash, exit.block_number);
        let owner = view(&l1, rollup, IZkrRollup::accountInfoCall { accountId: account }).await?.owner;
        let pending = view(&l1, rollup, IZkrRollup::pendingWithdrawalsCall { account: owner }).await?;
        // nothing to pull for an empty account (withdrawPending refuses a zero balance)
        let pulled = if owner == l1.sender() && pending > U256::ZERO {
            let p = l1
                .send(rollup, IZkrRollup::withdrawPendingCall {}.abi_encode(), U256::ZERO)
                .await
                .context("pulling the ETH with withdrawPending")?;
            eprintln!("withdrawPending: {pending} wei to {owner}, transaction {}", p.tx_hash);
            Some((pending, p.tx_hash))
        } else {
            eprintln!("the exit owner {owner} pulls the ETH with withdrawPending");
            None
        };
        if json {
            let out = serde_json::json!({
                "account": account,
                "balance": balance,
                "owner": owner.to_string(),
                "exit_tx": exit.tx_hash.to_string(),
                "pulled_wei": pulled.map(|(w, _)| w.to_string()),
                "withdraw_tx": pulled.map(|(_, h)| h.to_string()),
            });
            println!("{out}");
        } else {
            println!(
                "account {account} exited: {balance} units (gwei) credited to {owner} on L1 by {}{}",
                exit.tx_hash,
                pulled.map(|(w, h)| format!("; {w} wei pulled by {h}")).unwrap_or_default()
            );
        }
        Ok(())
    })
}
