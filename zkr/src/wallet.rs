//! `zkr wallet …`: what a user does on their own. Keys in files; transfers and withdrawals signed here and sent to
//! a sequencer's wallet API (`zkr_sequencer::client`); deposits and forced exits sent to the rollup on L1
//! (`zkr_settle::wallet`); amounts in ETH or gwei (`zkr_rollup::units`); and `exit`, which leaves a rollup in exit
//! mode with a proof rebuilt from L1 data alone (no operator, no operator database).

use std::path::{Path, PathBuf};
use std::time::Instant;

use alloy_sol_types::SolCall;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde_json::{json, Value};
use zkr_circuits::schnorr::SecretKey;
use zkr_circuits::tx::{SignedTx, Transfer, Tx, Withdraw};
use zkr_rollup::units::{describe_amount, format_eth, parse_amount};
use zkr_rollup::IZkrRollup;
use zkr_sequencer::client::{ClientError, WalletApiClient};
use zkr_sequencer::types::{digest_to_bytes, root_hex};
use zkr_sequencer::{AccountView, TxHash, TxStage, TxStatus};
use zkr_settle::wallet::Queued;
use zkr_settle::{rebuild_over_rpc, view, Address, RpcL1, L1, U256};

/// The devnet's and `zkr sequencer`'s default wallet API.
const DEFAULT_GRPC: &str = "http://127.0.0.1:50051";

/// `--key` of `account`: ids read in a row without finding an account before the scan stops.
const SCAN_EMPTY_RUN: u32 = 16;

#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// Create a key file and print its public key.
    ///
    /// An EcGFp5 secret key, written as hex to --out (mode 0600; an existing file is never overwritten). An L1
    /// deposit (`zkr wallet deposit --to-key`) opens an account for its public key.
    New {
        /// Where the secret key goes.
        #[arg(long)]
        out: PathBuf,
        /// Instead of a random key, write the key of the devnet's genesis account N (the demo keys every devnet and
        /// `zkr sequencer` genesis uses: anyone can derive them, so they are for trying things out only).
        #[arg(long)]
        demo_account: Option<u32>,
        /// The demo seed of --demo-account (the sequencer's `genesis.demo_seed`).
        #[arg(long, default_value_t = 1, requires = "demo_account")]
        demo_seed: u64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print the public key of a secret key file (40 bytes, hex).
    Address {
        /// The secret key file.
        #[arg(long)]
        key: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// What a wallet needs before it signs: the domain, the minimum fee, the batch shape (GetInfo).
    Info {
        /// The sequencer's wallet API (gRPC); host:port means http://host:port.
        #[arg(long, default_value = DEFAULT_GRPC)]
        grpc: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// An L2 account: key, balance and nonce, latest and proven, with Merkle proofs.
    ///
    /// What the sequencer's GetAccount reports, twice: the latest state (soft-confirmed transactions included) and
    /// the state after the last proven batch, each with its Merkle proof, checked here against the state root the
    /// answer names.
    Account {
        /// The sequencer's wallet API (gRPC); host:port means http://host:port.
        #[arg(long, default_value = DEFAULT_GRPC)]
        grpc: String,
        /// The account id.
        #[arg(long, required_unless_present = "key", conflicts_with = "key")]
        id: Option<u32>,
        /// Every account holding this key: the API has no lookup by key, so ids 0, 1, … are read until 16 in a
        /// row are empty (fine for a devnet; on a large rollup use --id).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Print one JSON object (siblings included).
        #[arg(long)]
        json: bool,
    },
    /// Sign a transfer and submit it; prints the transaction hash.
    ///
    /// The nonce is the account's next one in the latest state unless --nonce is given; the domain (chain id,
    /// rollup id) and the default fee come from the sequencer's GetInfo; the signature is made here with --key. A
    /// refusal prints the sequencer's reason and exits non-zero.
    Transfer {
        /// The sequencer's wallet API (gRPC); host:port means http://host:port.
        #[arg(long, default_value = DEFAULT_GRPC)]
        grpc: String,
        /// The sender's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The sender's account id.
        #[arg(long)]
        from: u32,
        /// The recipient's account id.
        #[arg(long)]
        to: u32,
        /// 0.1eth, 2500gwei, 1000000000wei, or a plain integer in L2 units (1 unit = 1 gwei).
        #[arg(long, value_parser = amount)]
        amount: u64,
        /// Same units as --amount; defaults to the sequencer's minimum fee (GetInfo).
        #[arg(long, value_parser = amount)]
        fee: Option<u64>,
        /// Sign for this nonce instead of the account's next one (a higher one waits for the gap to fill).
        #[arg(long)]
        nonce: Option<u32>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Sign a withdrawal to an L1 address and submit it; prints the transaction hash.
    ///
    /// Signed and submitted as `transfer` is. Once its epoch is executed on L1 (status finalized) the L1 address
    /// pulls the ETH with the rollup's `withdrawPending()`.
    Withdraw {
        /// The sequencer's wallet API (gRPC); host:port means http://host:port.
        #[arg(long, default_value = DEFAULT_GRPC)]
        grpc: String,
        /// The sender's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The sender's account id.
        #[arg(long)]
        from: u32,
        /// The L1 address that receives the ETH (0x…, 20 bytes).
        #[arg(long)]
        to_l1: Address,
        /// 0.1eth, 2500gwei, 1000000000wei, or a plain integer in L2 units (1 unit = 1 gwei).
        #[arg(long, value_parser = amount)]
        amount: u64,
        /// Same units as --amount; defaults to the sequencer's minimum fee (GetInfo).
        #[arg(long, value_parser = amount)]
        fee: Option<u64>,
        /// Sign for this nonce instead of the account's next one.
        #[arg(long)]
        nonce: Option<u32>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Submit a transaction signed elsewhere (hex bytes); prints the transaction hash.
    ///
    /// For bytes signed by another wallet, e.g. the TypeScript SDK's `signedTxToBytes`. A refusal prints the
    /// sequencer's reason and exits non-zero.
    Submit {
        /// The signed transaction's bytes, hex (0x optional).
        tx: String,
        /// The sequencer's wallet API (gRPC); host:port means http://host:port.
        #[arg(long, default_value = DEFAULT_GRPC)]
        grpc: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// A transaction's status, once or followed until finalized or rejected.
    ///
    /// received, sequenced, proven, aggregated, finalized, or rejected with the reason. Exits non-zero for a
    /// rejected or unknown transaction.
    Status {
        /// The transaction hash (0x…, as `transfer` and `withdraw` print it).
        hash: String,
        /// The sequencer's wallet API (gRPC); host:port means http://host:port.
        #[arg(long, default_value = DEFAULT_GRPC)]
        grpc: String,
        /// Follow the status (StreamStatus) until finalized or rejected, one line per stage change (with --json,
        /// one JSON object per line).
        #[arg(long)]
        follow: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Deposit ETH from L1 into a new or an existing account; prints its L2 transaction hash.
    ///
    /// Into a new account for the key in --to-key (`openAccount`: the rollup picks the id and the sender becomes
    /// its exit owner), or into the existing account --to (`deposit`, naming its key: from --to-key, or else read
    /// from the rollup's events). The sequencer executes it once its L1 block is confirmed; follow it with `zkr
    /// wallet status HASH --follow`.
    Deposit {
        /// The chain's JSON-RPC endpoint, e.g. http://127.0.0.1:8545.
        #[arg(long)]
        rpc_url: String,
        /// The rollup contract's address.
        #[arg(long)]
        rollup: Address,
        /// Name of the environment variable holding the sender's hex private key.
        #[arg(long)]
        private_key_env: String,
        /// The existing account to top up.
        #[arg(long, required_unless_present = "to_key")]
        to: Option<u32>,
        /// The secret key file of the account's owner: alone, a new account is opened for its public key.
        #[arg(long)]
        to_key: Option<PathBuf>,
        /// 0.1eth, 2500gwei, 1000000000wei, or a plain integer in L2 units (1 unit = 1 gwei, the rollup's unit:
        /// the value sent is amount × 10^9 wei).
        #[arg(long, value_parser = amount)]
        amount: u64,
        /// First block to read the rollup's events from when --to has no --to-key (its deploy block).
        #[arg(long, default_value_t = 0)]
        from_block: u64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Ask L1 for a forced exit of an account; prints its L2 transaction hash.
    ///
    /// `requestForcedExit`, sent by the account's exit owner: the L2 must pay the whole balance to the owner's
    /// address before the request expires, or anyone may put the rollup into exit mode.
    ForcedExit {
        /// The chain's JSON-RPC endpoint, e.g. http://127.0.0.1:8545.
        #[arg(long)]
        rpc_url: String,
        /// The rollup contract's address.
        #[arg(long)]
        rollup: Address,
        /// Name of the environment variable holding the exit owner's hex private key.
        #[arg(long)]
        private_key_env: String,
        /// The L2 account to empty.
        #[arg(long)]
        account: u32,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Pull the ETH the rollup owes the sender on L1 (`withdrawPending`).
    ///
    /// Finalized withdrawals, forced exits, exits and refunded deposits are credited to an L1 address as pending;
    /// that address pulls them with this call.
    WithdrawPending {
        /// The chain's JSON-RPC endpoint, e.g. http://127.0.0.1:8545.
        #[arg(long)]
        rpc_url: String,
        /// The rollup contract's address.
        #[arg(long)]
        rollup: Address,
        /// Name of the environment variable holding the receiving address's hex private key.
        #[arg(long)]
        private_key_env: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Leave a rollup that is in exit mode, with a proof rebuilt from L1 alone.
    ///
    /// Rebuilds the state from L1 (as `zkr state rebuild`), sends `exit` for the account with its Merkle proof
    /// against the last executed root, then, when the sender is the account's exit owner, pulls the ETH with
    /// `withdrawPending`. With --activate, first switches the rollup into exit mode (anyone may, once a deposit or
    /// forced exit has waited past its expiry).
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

/// clap's parser for amounts and fees.
fn amount(s: &str) -> Result<u64, String> {
    parse_amount(s).map_err(|e| e.to_string())
}

pub fn run(cmd: WalletCommand) -> Result<()> {
    // the commands that touch no network need no runtime
    match cmd {
        WalletCommand::New { out, demo_account, demo_seed, json } => new_key(&out, demo_account, demo_seed, json),
        WalletCommand::Address { key, json } => {
            let pk = hex::encode(read_secret_key(&key)?.public_key().to_bytes());
            print_out(json, json!({ "public_key": pk }), &pk);
            Ok(())
        }
        cmd => tokio::runtime::Runtime::new().context("starting the async runtime")?.block_on(run_async(cmd)),
    }
}

async fn run_async(cmd: WalletCommand) -> Result<()> {
    match cmd {
        WalletCommand::New { .. } | WalletCommand::Address { .. } => unreachable!("handled without a runtime"),
        WalletCommand::Info { grpc, json } => {
            let i = connect(&grpc).await?.info().await.map_err(|e| refused("GetInfo", e))?;
            let v = json!({
                "chain_id": i.domain.chain_id,
                "rollup_id": i.domain.rollup_id,
                "batch_capacity": i.batch_capacity,
                "min_fee": i.min_fee,
                "fee_account": i.fee_account,
            });
            let plain = format!(
                "domain: chain {}, rollup {}\nminimum fee: {}\nfees are credited to account {}\nbatches of {} \
                 transactions",
                i.domain.chain_id,
                i.domain.rollup_id,
                describe_amount(i.min_fee),
                i.fee_account,
                i.batch_capacity
            );
            print_out(json, v, &plain);
            Ok(())
        }
        WalletCommand::Account { grpc, id, key, json } => account(&grpc, id, key.as_deref(), json).await,
        WalletCommand::Transfer { grpc, key, from, to, amount, fee, nonce, json } => {
            let make = |fee, nonce| Tx::Transfer(Transfer { from, to, amount, fee, nonce });
            sign_and_submit(&grpc, &key, from, fee, nonce, make, json).await
        }
        WalletCommand::Withdraw { grpc, key, from, to_l1, amount, fee, nonce, json } => {
            let l1_address = to_l1.into_array();
            let make = |fee, nonce| Tx::Withdraw(Withdraw { from, l1_address, amount, fee, nonce });
            sign_and_submit(&grpc, &key, from, fee, nonce, make, json).await
        }
        WalletCommand::Submit { tx, grpc, json } => {
            let bytes = hex::decode(tx.trim().trim_start_matches("0x")).context("the transaction is not hex")?;
            let mut client = connect(&grpc).await?;
            submit(&mut client, &bytes, json).await
        }
        WalletCommand::Status { hash, grpc, follow, json } => status(&grpc, &hash, follow, json).await,
        WalletCommand::Deposit { rpc_url, rollup, private_key_env, to, to_key, amount, from_block, json } => {
            deposit(&rpc_url, rollup, &private_key_env, to, to_key.as_deref(), amount, from_block, json).await
        }
        WalletCommand::ForcedExit { rpc_url, rollup, private_key_env, account, json } => {
            let l1 = rpc(&rpc_url, &private_key_env).await?;
            let q = zkr_settle::wallet::request_forced_exit(&l1, rollup, account)
                .await
                .with_context(|| format!("requesting a forced exit of account {account}"))?;
            print_queued(&q, &format!("forced exit of account {account} to {}", l1.sender()), false, json);
            Ok(())
        }
        WalletCommand::WithdrawPending { rpc_url, rollup, private_key_env, json } => {
            let l1 = rpc(&rpc_url, &private_key_env).await?;
            let (wei, r) = zkr_settle::wallet::withdraw_pending(&l1, rollup).await.context("withdrawPending")?;
            let v = json!({ "to": l1.sender().to_string(), "wei": wei.to_string(), "l1_tx": r.tx_hash.to_string() });
            let plain = format!("{wei} wei pulled to {} by transaction {}", l1.sender(), r.tx_hash);
            print_out(json, v, &plain);
            Ok(())
        }
        WalletCommand::Exit { rpc_url, rollup, account, private_key_env, from_block, activate, json } => {
            exit(&rpc_url, rollup, account, &private_key_env, from_block, activate, json).await
        }
    }
}

// ------------------------------------------------------------------------------------------------ keys

/// Writes `sk` as hex to a new file `path` (mode 0600 on Unix); an existing file is an error, never overwritten.
pub fn write_secret_key(path: &Path, sk: &SecretKey) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            anyhow::anyhow!("{} exists: a key file is never overwritten (choose another --out)", path.display())
        }
        _ => anyhow::Error::new(e).context(format!("creating {}", path.display())),
    })?;
    writeln!(f, "{}", hex::encode(sk.to_bytes())).with_context(|| format!("writing {}", path.display()))
}

/// Reads a secret key file: 40 bytes in hex (0x optional), as `zkr wallet new` and `zkr keygen --out` write it.
pub fn read_secret_key(path: &Path) -> Result<SecretKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the key file {}", path.display()))?;
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            eprintln!("warning: {} is readable by other users (chmod 600 it)", path.display());
        }
    }
    let bytes = hex::decode(text.trim().trim_start_matches("0x"))
        .ok()
        .with_context(|| format!("{} does not hold a hex secret key", path.display()))?;
    SecretKey::from_bytes(&bytes).with_context(|| format!("{} does not hold an EcGFp5 secret key", path.display()))
}

fn new_key(out: &Path, demo_account: Option<u32>, demo_seed: u64, json: bool) -> Result<()> {
    let sk = match demo_account {
        Some(n) => zkr_circuits::demo::keys(demo_seed, n as usize).swap_remove(n as usize),
        None => SecretKey::random(&mut rand::rngs::OsRng),
    };
    write_secret_key(out, &sk)?;
    let pk = hex::encode(sk.public_key().to_bytes());
    if json {
        println!(
            "{}",
            json!({ "public_key": pk, "secret_key_file": out.display().to_string(), "demo_account": demo_account })
        );
    } else {
        println!("{pk}");
        match demo_account {
            Some(n) => eprintln!("wrote the demo key of genesis account {n} (seed {demo_seed}) to {}", out.display()),
            None => {
                eprintln!("wrote a new secret key to {} (mode 0600); the line above is its public key", out.display())
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------ wallet API

/// `127.0.0.1:50051` is taken as `http://127.0.0.1:50051`.
fn grpc_url(url: &str) -> String {
    if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    }
}

async fn connect(url: &str) -> Result<WalletApiClient> {
    Ok(WalletApiClient::connect(&grpc_url(url)).await?)
}

/// A refusal with the sequencer's reason and its label: `nonce too low: … (nonce_too_low)`.
fn refused(what: &str, e: ClientError) -> anyhow::Error {
    match e.label() {
        Some(label) => anyhow::anyhow!("{what}: {e} ({label})"),
        None => anyhow::anyhow!("{what}: {e}"),
    }
}

fn print_out(json: bool, value: Value, plain: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{plain}");
    }
}

fn status_json(hash: &TxHash, s: &TxStatus) -> Value {
    json!({
        "tx_hash": hash.to_string(),
        "stage": s.stage.as_str(),
        "batch": s.batch,
        "reason": s.reason,
        "l1_tx": s.l1_tx.map(|h| format!("0x{}", hex::encode(h))),
        "execute_tx": s.execute_tx.map(|h| format!("0x{}", hex::encode(h))),
    })
}

fn state_json(v: &AccountView) -> Value {
    json!({
        "balance": v.account.map(|a| a.balance),
        "balance_eth": v.account.map(|a| eth(a.balance)),
        "nonce": v.account.map(|a| a.nonce),
        "root": root_hex(&digest_to_bytes(&v.root)),
        "batches": v.batches,
        "siblings": v.proof.siblings.iter().map(|d| root_hex(&digest_to_bytes(d))).collect::<Vec<_>>(),
    })
}

fn account_json(latest: &AccountView, proven: &AccountView) -> Value {
    json!({
        "account": latest.id,
        "exists": latest.account.is_some(),
        "public_key": latest.account.map(|a| hex::encode(a.pubkey.to_bytes())),
        "latest": state_json(latest),
        "proven": state_json(proven),
    })
}

fn describe_state(v: &AccountView, proven: bool) -> String {
    let what = match v.account {
        Some(a) => format!("{}, nonce {}", describe_amount(a.balance), a.nonce),
        None => "no account (an empty leaf)".to_string(),
    };
    let state = match (proven, v.batches) {
        (false, n) => format!("{n} sealed batches and the open batch, soft-confirmed"),
        (true, 0) => "genesis: no batch proven yet".to_string(),
        (true, n) => format!("after batch {}, proven", n - 1),
    };
    format!("{what}   [{state}; root {}]", root_hex(&digest_to_bytes(&v.root)))
}

fn print_account(latest: &AccountView, proven: &AccountView) {
    match latest.account {
        Some(a) => println!("account {}, public key {}", latest.id, hex::encode(a.pubkey.to_bytes())),
        None => println!("account {}: does not exist in the latest state", latest.id),
    }
    println!("  latest: {}", describe_state(latest, false));
    println!("  proven: {}", describe_state(proven, true));
    println!(
        "  Merkle proofs: {} siblings each, checked against the root beside each state (--json prints them)",
        latest.proof.siblings.len()
    );
}

/// An account in the latest and in the proven state.
async fn read_account(c: &mut WalletApiClient, id: u32) -> Result<(AccountView, AccountView)> {
    let latest = c.account(id, false).await.map_err(|e| refused(&format!("account {id}"), e))?;
    let proven = c.account(id, true).await.map_err(|e| refused(&format!("account {id} (proven)"), e))?;
    Ok((latest, proven))
}

async fn account(grpc: &str, id: Option<u32>, key: Option<&Path>, json: bool) -> Result<()> {
    let mut c = connect(grpc).await?;
    if let Some(id) = id {
        let (latest, proven) = read_account(&mut c, id).await?;
        if json {
            println!("{}", account_json(&latest, &proven));
        } else {
            print_account(&latest, &proven);
        }
        return Ok(());
    }
    let key = key.expect("clap requires --id or --key");
    let pk = read_secret_key(key)?.public_key();
    let (mut found, mut empty_run, mut id) = (Vec::new(), 0u32, 0u32);
    while empty_run < SCAN_EMPTY_RUN {
        let latest = c.account(id, false).await.map_err(|e| refused(&format!("account {id}"), e))?;
        match latest.account {
            None => empty_run += 1,
            Some(a) => {
                empty_run = 0;
                if a.pubkey == pk {
                    found.push(read_account(&mut c, id).await?);
                }
            }
        }
        id = match id.checked_add(1) {
            Some(n) => n,
            None => break,
        };
    }
    let pk_hex = hex::encode(pk.to_bytes());
    if found.is_empty() {
        bail!(
            "no account holds the key in {} (public key {pk_hex}) among ids 0 to {} (read until {SCAN_EMPTY_RUN} in \
             a row were empty)",
            key.display(),
            id.saturating_sub(1)
        );
    }
    if json {
        let accounts: Vec<Value> = found.iter().map(|(l, p)| account_json(l, p)).collect();
        println!("{}", json!({ "public_key": pk_hex, "accounts": accounts }));
    } else {
        for (l, p) in &found {
            print_account(l, p);
        }
    }
    Ok(())
}

/// One line about a signed transaction, for people.
fn describe_tx(tx: &Tx) -> String {
    match tx {
        Tx::Transfer(t) => format!(
            "transfer of {} from account {} to account {}, fee {}, nonce {}",
            describe_amount(t.amount),
            t.from,
            t.to,
            describe_amount(t.fee),
            t.nonce
        ),
        Tx::Withdraw(w) => format!(
            "withdrawal of {} from account {} to L1 address {}, fee {}, nonce {}",
            describe_amount(w.amount),
            w.from,
            Address::from(w.l1_address),
            describe_amount(w.fee),
            w.nonce
        ),
        other => format!("{} (from the L1 priority queue)", other.kind()),
    }
}

/// ETH as a decimal string, for `--json`.
fn eth(units: u64) -> String {
    format_eth(units).trim_end_matches(" ETH").to_string()
}

fn tx_json(tx: &Tx) -> Value {
    match tx {
        Tx::Transfer(t) => json!({
            "kind": "transfer", "from": t.from, "to": t.to, "amount": t.amount, "amount_eth": eth(t.amount),
            "fee": t.fee, "nonce": t.nonce,
        }),
        Tx::Withdraw(w) => json!({
            "kind": "withdraw", "from": w.from, "to_l1": Address::from(w.l1_address).to_string(), "amount": w.amount,
            "amount_eth": eth(w.amount),
            "fee": w.fee, "nonce": w.nonce,
        }),
        other => json!({ "kind": other.kind() }),
    }
}

/// Fetches what signing needs (domain, minimum fee, nonce), signs, submits.
async fn sign_and_submit(
    grpc: &str,
    key: &Path,
    from: u32,
    fee: Option<u64>,
    nonce: Option<u32>,
    make: impl FnOnce(u64, u32) -> Tx,
    json: bool,
) -> Result<()> {
    let sk = read_secret_key(key)?;
    let mut c = connect(grpc).await?;
    let info = c.info().await.map_err(|e| refused("GetInfo", e))?;
    let nonce = match nonce {
        Some(n) => n,
        None => {
            let v = c.account(from, false).await.map_err(|e| refused(&format!("reading account {from}"), e))?;
            // an account that does not exist gets nonce 0; the sequencer then says it is unknown
            v.account.map_or(0, |a| a.nonce)
        }
    };
    let stx = make(fee.unwrap_or(info.min_fee), nonce).sign(&sk, &info.domain);
    submit(&mut c, &stx.to_bytes(), json).await
}

async fn submit(c: &mut WalletApiClient, bytes: &[u8], json: bool) -> Result<()> {
    // decoded only to describe it: malformed bytes go to the sequencer, whose refusal says what is wrong
    let tx = SignedTx::from_bytes(bytes).ok().map(|s| s.tx);
    let what = tx.as_ref().map_or("the transaction".to_string(), |t| format!("the {}", t.kind()));
    let s = c.submit(bytes).await.map_err(|e| refused(&format!("the sequencer refused {what}"), e))?;
    if json {
        let mut v = status_json(&s.hash, &s.status);
        v["tx"] = tx.as_ref().map_or(Value::Null, tx_json);
        println!("{v}");
    } else {
        println!("{}", s.hash);
        let described = tx.as_ref().map_or("transaction".to_string(), describe_tx);
        eprintln!("{described}: {}", s.status);
    }
    Ok(())
}

fn parse_hash(s: &str) -> Result<TxHash> {
    let bytes = hex::decode(s.trim().trim_start_matches("0x")).ok();
    bytes
        .and_then(|b| TxHash::from_slice(&b).ok())
        .with_context(|| format!("{s:?} is not a transaction hash (0x and 64 hex digits)"))
}

fn rejected(hash: &TxHash, s: &TxStatus) -> anyhow::Error {
    anyhow::anyhow!("transaction {hash} was rejected: {}", s.reason.as_deref().unwrap_or("no reason given"))
}

async fn status(grpc: &str, hash: &str, follow: bool, json: bool) -> Result<()> {
    let hash = parse_hash(hash)?;
    let mut c = connect(grpc).await?;
    let unknown = || {
        anyhow::anyhow!(
            "the sequencer does not know transaction {hash} (never submitted, or refused: refused transactions are not \
             stored)"
        )
    };
    if !follow {
        let s = c.status(hash).await.map_err(|e| refused("GetTxStatus", e))?.ok_or_else(unknown)?;
        print_out(json, status_json(&hash, &s), &format!("{hash}: {s}"));
        return if s.stage == TxStage::Rejected { Err(rejected(&hash, &s)) } else { Ok(()) };
    }
    let start = Instant::now();
    let mut stream =
        c.follow(&[hash]).await.map_err(|e| if e.is_not_found() { unknown() } else { refused("StreamStatus", e) })?;
    let mut last: Option<TxStatus> = None;
    while let Some(u) = stream.next().await.map_err(|e| refused("the status stream", e))? {
        if u.hash != hash || last.as_ref().is_some_and(|l| l.stage == u.status.stage) {
            continue;
        }
        let elapsed = start.elapsed().as_secs_f64();
        if json {
            let mut v = status_json(&hash, &u.status);
            v["elapsed_s"] = json!((elapsed * 10.0).round() / 10.0);
            println!("{v}");
        } else {
            println!("{elapsed:6.1} s  {}", u.status);
        }
        let done = u.status.stage.is_terminal();
        last = Some(u.status);
        if done {
            break;
        }
    }
    match last {
        Some(s) if s.stage == TxStage::Rejected => Err(rejected(&hash, &s)),
        Some(s) if s.stage == TxStage::Finalized => Ok(()),
        _ => bail!(
            "the status stream ended before transaction {hash} was finalized or rejected (the sequencer stopped?)"
        ),
    }
}

// ------------------------------------------------------------------------------------------------ L1

async fn rpc(url: &str, private_key_env: &str) -> Result<RpcL1> {
    RpcL1::connect(url, private_key_env).await.with_context(|| format!("connecting to {url}"))
}

fn print_queued(q: &Queued, what: &str, opened: bool, json: bool) {
    let l2_hash = TxHash::of(&q.tx.id());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if json {
        println!(
            "{}",
            json!({
                "l1_tx": q.l1_tx.to_string(),
                "block": q.block,
                "priority_id": q.priority_id,
                "account": q.account,
                "opened": opened,
                "amount": q.amount,
                "amount_eth": eth(q.amount),
                "expiry": q.expiry_s,
                "tx_hash": l2_hash.to_string(),
            })
        );
    } else {
        println!("{l2_hash}");
        eprintln!(
            "{what}: queued on L1 by transaction {} (block {}) as priority operation {}; the sequencer executes it \
             once that block is confirmed, and it must be processed within {:.1} h (unix time {}) or the rollup can be \
             put into exit mode. The line above is its L2 transaction hash (zkr wallet status HASH --follow).",
            q.l1_tx,
            q.block,
            q.priority_id,
            q.expiry_s.saturating_sub(now) as f64 / 3600.0,
            q.expiry_s
        );
    }
}

#[allow(clippy::too_many_arguments)]
async fn deposit(
    rpc_url: &str,
    rollup: Address,
    private_key_env: &str,
    to: Option<u32>,
    to_key: Option<&Path>,
    amount: u64,
    from_block: u64,
    json: bool,
) -> Result<()> {
    let pk = to_key.map(read_secret_key).transpose()?.map(|sk| sk.public_key());
    let l1 = rpc(rpc_url, private_key_env).await?;
    let (q, opened) = match (to, pk) {
        (None, Some(pk)) => {
            let q = zkr_settle::wallet::open_account(&l1, rollup, &pk, amount).await.context("openAccount")?;
            (q, true)
        }
        (Some(id), pk) => {
            let pk = match pk {
                Some(pk) => pk,
                None => zkr_settle::wallet::account_key(&l1, rollup, id, from_block)
                    .await
                    .with_context(|| format!("finding the key of account {id} on L1"))?,
            };
            let q = zkr_settle::wallet::deposit(&l1, rollup, id, &pk, amount).await.context("deposit")?;
            (q, false)
        }
        (None, None) => bail!("name the account: --to ID, or --to-key FILE to open a new one"),
    };
    let what = if opened {
        format!("deposit of {} opening account {}", describe_amount(q.amount), q.account)
    } else {
        format!("deposit of {} into account {}", describe_amount(q.amount), q.account)
    };
    print_queued(&q, &what, opened, json);
    Ok(())
}

async fn exit(
    rpc_url: &str,
    rollup: Address,
    account: u32,
    private_key_env: &str,
    from_block: u64,
    activate: bool,
    json: bool,
) -> Result<()> {
    let l1 = rpc(rpc_url, private_key_env).await?;
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
        let out = json!({
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
            "account {account} exited: {} credited to {owner} on L1 by {}{}",
            describe_amount(balance),
            exit.tx_hash,
            pulled.map(|(w, h)| format!("; {w} wei pulled by {h}")).unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let sk = zkr_circuits::demo::keys(1, 3).swap_remove(3);
        write_secret_key(&path, &sk).unwrap();
        assert_eq!(read_secret_key(&path).unwrap(), sk);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let again = write_secret_key(&path, &SecretKey::random(&mut rand::rngs::OsRng)).unwrap_err();
        assert!(again.to_string().contains("never overwritten"), "{again}");
        assert_eq!(read_secret_key(&path).unwrap(), sk);
        std::fs::write(dir.path().join("bad"), "zz").unwrap();
        assert!(read_secret_key(&dir.path().join("bad")).is_err());
    }

    #[test]
    fn urls_and_hashes_parse() {
        assert_eq!(grpc_url("127.0.0.1:50051"), "http://127.0.0.1:50051");
        assert_eq!(grpc_url("https://seq.example:443"), "https://seq.example:443");
        let h = format!("0x{}", "ab".repeat(32));
        assert_eq!(parse_hash(&h).unwrap().to_string(), h);
        assert!(parse_hash("0x1234").is_err());
    }
}
