//! `zkr l1 …`: deploying zkr's contracts to an Ethereum JSON-RPC chain, and administering a deployed rollup (its
//! status, the guardian's pause, the governor's timelock, the operator's revert). The logic is `zkr_settle::admin`.

use std::path::PathBuf;

use alloy_sol_types::SolEvent;
use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::json;
use zkr_circuits::wrap::WrapParams;
use zkr_rollup::calldata::genesis_accounts;
use zkr_rollup::{pack_digest, IZkrRollup};
use zkr_settle::admin::{self, human_duration, GovernanceCall, PlannedCall, RollupStatus, ScheduledOperation};
use zkr_settle::{deploy_contracts, Address, ContractSet, PrivateKeySigner, RollupSetup, RpcL1, B256, L1};

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
        /// The wrap proof's parameters the verifier is generated for: `devnet`, `l1` (a shrink layer, then rate
        /// 1/1024, 8 queries: the cheapest verification) or `rate:queries:pow:cap[:shrink]`. The coordinator's and
        /// workers' `wrap` must be the same.
        #[arg(long, default_value = "devnet")]
        wrap: WrapParams,
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
    /// Show the rollup as its contract reports it: epochs committed, proven and executed; the pause and exit mode;
    /// the priority queue and when its oldest operation expires; the roles; the timelock delay and the scheduled
    /// operations with their decoded calls. Needs no key. Times are the latest block's (unix seconds).
    Status {
        #[command(flatten)]
        rollup: RollupArgs,
        #[command(flatten)]
        logs: LogArgs,
    },
    /// Pause the rollup (the guardian's key): commits, proofs and executions stop for at most MAX_PAUSE (1 day);
    /// deposits, forced exits, withdrawals and the timelock go on. Refused while paused, in exit mode, or within
    /// PAUSE_COOLDOWN (1 day) of the last pause's end.
    Pause {
        #[command(flatten)]
        rollup: RollupArgs,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Lift the guardian's pause early (the guardian's key); the next pause is possible PAUSE_COOLDOWN later.
    Unpause {
        #[command(flatten)]
        rollup: RollupArgs,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Drop the committed, unexecuted epochs after --last-kept (an operator's key; works while paused). Stop the
    /// coordinator first: it sends from the same key and would commit them again.
    RevertEpochs {
        #[command(flatten)]
        rollup: RollupArgs,
        #[command(flatten)]
        send: SendArgs,
        /// The last epoch to keep: at least totalExecuted, below totalCommitted.
        #[arg(long)]
        last_kept: u64,
    },
    /// The rollup's own timelock (`schedule`, `executeOperation`, `cancel`): every change of the verifier, the
    /// operators, the guardian, the governor, the priority expiry and the timelock delay waits `timelockDelay`.
    #[command(subcommand)]
    Governance(GovernanceCommand),
}

/// The rollup to read or call.
#[derive(Debug, clap::Args)]
pub struct RollupArgs {
    /// The chain's JSON-RPC endpoint, e.g. http://127.0.0.1:8545.
    #[arg(long)]
    pub rpc_url: String,
    /// The rollup contract's address (`rollup` in the deployment record).
    #[arg(long)]
    pub rollup: Address,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Where the rollup's logs are read from.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// First block to read the rollup's logs from (`deploy_block` in the deployment record).
    #[arg(long, default_value_t = 0)]
    pub from_block: u64,
}

/// How a transaction is signed and whether it is sent.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// Name of the environment variable holding the sender's hex private key (never the key itself).
    #[arg(long)]
    pub private_key_env: String,
    /// Print the decoded call and whether the rollup would accept it now (an eth_call from the sender); send
    /// nothing. Exits non-zero when the rollup would refuse it.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum GovernanceCommand {
    /// Schedule one setter call (the governor's key); it may be executed `timelockDelay` later. Prints the
    /// operation's id, salt and ready time before sending.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Execute a scheduled operation once it is ready (any key): its data and salt are read from the rollup's
    /// OperationScheduled logs.
    Execute(OperationArgs),
    /// Cancel a scheduled operation (the governor's key, or the guardian's for anything but setGuardian).
    Cancel(OperationArgs),
    /// List the scheduled operations: OperationScheduled logs minus OperationExecuted and OperationCancelled, each
    /// with its ready time and decoded call. Needs no key.
    List {
        #[command(flatten)]
        rollup: RollupArgs,
        #[command(flatten)]
        logs: LogArgs,
    },
}

/// A scheduled operation to execute or cancel, and how.
#[derive(Debug, clap::Args)]
pub struct OperationArgs {
    #[command(flatten)]
    pub rollup: RollupArgs,
    #[command(flatten)]
    pub send: SendArgs,
    #[command(flatten)]
    pub logs: LogArgs,
    /// The operation's id (printed by `schedule` and `list`).
    #[arg(long)]
    pub id: B256,
}

/// The timelocked setters of IZkrRollup.sol, one subcommand each.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// `setVerifier(verifier, batchesPerEpoch, batchCapacity)`: a new verifier and epoch shape.
    #[command(name = "set-verifier")]
    Verifier {
        #[command(flatten)]
        opts: ScheduleOpts,
        /// The new verifier contract (not the zero address).
        #[arg(long)]
        verifier: Address,
        /// Batches per epoch of the new circuits: a power of two.
        #[arg(long)]
        batches_per_epoch: u64,
        /// Transactions per batch of the new circuits.
        #[arg(long)]
        batch_capacity: u64,
    },
    /// `setOperator(operator, enabled)`: allow or disallow an operator (commit, prove, execute, revert).
    #[command(name = "set-operator")]
    Operator {
        #[command(flatten)]
        opts: ScheduleOpts,
        /// The operator's address.
        #[arg(long)]
        operator: Address,
        /// true to allow, false to disallow.
        #[arg(long, action = clap::ArgAction::Set)]
        enabled: bool,
    },
    /// `setGuardian(guardian)`: a new guardian (the guardian cannot cancel this one).
    #[command(name = "set-guardian")]
    Guardian {
        #[command(flatten)]
        opts: ScheduleOpts,
        /// The new guardian's address (not the zero address, nor the rollup itself: refused before sending).
        #[arg(long)]
        guardian: Address,
    },
    /// `setGovernor(governor)`: a new governor.
    #[command(name = "set-governor")]
    Governor {
        #[command(flatten)]
        opts: ScheduleOpts,
        /// The new governor's address (not the zero address, nor the rollup itself: refused before sending).
        #[arg(long)]
        governor: Address,
    },
    /// `setPriorityExpiry(priorityExpiry)`: seconds a deposit or forced exit may wait (at least 2 days, below the
    /// timelock delay).
    #[command(name = "set-priority-expiry")]
    PriorityExpiry {
        #[command(flatten)]
        opts: ScheduleOpts,
        /// Seconds.
        #[arg(long)]
        priority_expiry: u64,
    },
    /// `setTimelockDelay(timelockDelay)`: seconds a scheduled change waits (above the priority expiry).
    #[command(name = "set-timelock-delay")]
    TimelockDelay {
        #[command(flatten)]
        opts: ScheduleOpts,
        /// Seconds.
        #[arg(long)]
        timelock_delay: u64,
    },
}

#[derive(Debug, clap::Args)]
pub struct ScheduleOpts {
    #[command(flatten)]
    pub rollup: RollupArgs,
    #[command(flatten)]
    pub send: SendArgs,
    /// Any 32 bytes (hex): the same call scheduled twice at once needs two salts. Executing needs only the id.
    #[arg(long, default_value_t = B256::ZERO)]
    pub salt: B256,
}

impl ScheduleCommand {
    fn split(self) -> (ScheduleOpts, GovernanceCall) {
        match self {
            ScheduleCommand::Verifier { opts, verifier, batches_per_epoch, batch_capacity } => {
                (opts, GovernanceCall::SetVerifier { verifier, batches_per_epoch, batch_capacity })
            }
            ScheduleCommand::Operator { opts, operator, enabled } => {
                (opts, GovernanceCall::SetOperator { operator, enabled })
            }
            ScheduleCommand::Guardian { opts, guardian } => (opts, GovernanceCall::SetGuardian { guardian }),
            ScheduleCommand::Governor { opts, governor } => (opts, GovernanceCall::SetGovernor { governor }),
            ScheduleCommand::PriorityExpiry { opts, priority_expiry } => {
                (opts, GovernanceCall::SetPriorityExpiry { priority_expiry })
            }
            ScheduleCommand::TimelockDelay { opts, timelock_delay } => {
                (opts, GovernanceCall::SetTimelockDelay { timelock_delay })
            }
        }
    }
}

pub fn run(cmd: L1Command) -> Result<()> {
    match cmd {
        L1Command::Status { rollup, logs } => runtime()?.block_on(status(rollup, logs.from_block)),
        L1Command::Pause { rollup, send } => runtime()?.block_on(async move {
            let l1 = signer(&rollup, &send).await?;
            let plan = admin::plan_pause(&l1, rollup.rollup).await.context("preparing pause()")?;
            submit(&l1, &plan, &send, rollup.json).await
        }),
        L1Command::Unpause { rollup, send } => runtime()?.block_on(async move {
            let l1 = signer(&rollup, &send).await?;
            let plan = admin::plan_unpause(&l1, rollup.rollup).await.context("preparing unpause()")?;
            submit(&l1, &plan, &send, rollup.json).await
        }),
        L1Command::RevertEpochs { rollup, send, last_kept } => runtime()?.block_on(async move {
            let l1 = signer(&rollup, &send).await?;
            let plan =
                admin::plan_revert_epochs(&l1, rollup.rollup, last_kept).await.context("preparing revertEpochs()")?;
            submit(&l1, &plan, &send, rollup.json).await
        }),
        L1Command::Governance(cmd) => runtime()?.block_on(governance(cmd)),
        L1Command::Deploy {
            rpc_url,
            private_key_env,
            out,
            capacity,
            epoch_height,
            wrap,
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
            let set = contract_set(capacity, epoch_height, wrap)?;
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
pub fn contract_set(capacity: usize, epoch_height: u32, wrap: WrapParams) -> Result<ContractSet> {
    if (capacity, epoch_height, wrap)
        == (zkr_generator::DEVNET_CAPACITY, zkr_generator::DEVNET_EPOCH_HEIGHT, WrapParams::DEFAULT)
    {
        return ContractSet::devnet().context("reading the committed devnet contracts");
    }
    eprintln!("generating the verifier for capacity {capacity}, epoch height {epoch_height}, wrap {wrap} …");
    let source = zkr_generator::verifier_for(capacity, epoch_height, wrap).context("generating the verifier")?;
    ContractSet::compile(&source, capacity, epoch_height)
        .context("compiling the contracts (needs `npm ci --prefix verifier-contracts`)")
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("starting the async runtime")
}

/// A connection that only reads: a throwaway signer stands in, nothing is sent.
async fn reader(args: &RollupArgs) -> Result<RpcL1> {
    RpcL1::connect_with_signer(&args.rpc_url, PrivateKeySigner::random())
        .await
        .with_context(|| format!("connecting to {}", args.rpc_url))
}

/// A connection signing with the key in `--private-key-env`.
async fn signer(args: &RollupArgs, send: &SendArgs) -> Result<RpcL1> {
    RpcL1::connect(&args.rpc_url, &send.private_key_env)
        .await
        .with_context(|| format!("connecting to {}", args.rpc_url))
}

/// Prints the decoded call, then sends it (or, with --dry-run, asks the rollup whether it would accept it).
async fn submit(l1: &RpcL1, plan: &PlannedCall, send: &SendArgs, json: bool) -> Result<()> {
    if !json {
        print!("{}", plan.describe());
    }
    if send.dry_run {
        let verdict = plan.simulate(l1).await;
        if json {
            let refusal = verdict.as_ref().err().map(|e| e.to_string());
            let out =
                json!({ "call": plan.to_json(), "dry_run": true, "accepted": verdict.is_ok(), "refusal": refusal });
            println!("{out}");
        } else if verdict.is_ok() {
            println!("dry run: the rollup would accept this call now; nothing was sent");
        }
        return verdict.context("dry run: nothing was sent");
    }
    let receipt = match plan.send(l1).await {
        Ok(r) => r,
        Err(e) => {
            if json {
                let out =
                    json!({ "call": plan.to_json(), "dry_run": false, "accepted": false, "refusal": e.to_string() });
                println!("{out}");
            }
            return Err(e.into());
        }
    };
    let scheduled = receipt.logs.iter().find_map(|l| IZkrRollup::OperationScheduled::decode_log(l).ok());
    if json {
        let out = json!({
            "call": plan.to_json(),
            "dry_run": false,
            "accepted": true,
            "tx": receipt.tx_hash.to_string(),
            "block": receipt.block_number,
            "gas_used": receipt.gas_used,
            "scheduled": scheduled.as_ref().map(|s| json!({ "id": s.id.to_string(), "ready_at": s.readyAt })),
        });
        println!("{out}");
        return Ok(());
    }
    println!("sent: transaction {} in block {} ({} gas)", receipt.tx_hash, receipt.block_number, receipt.gas_used);
    if let Some(s) = scheduled {
        println!(
            "scheduled: operation {} is ready at {} (block time); then run `zkr l1 governance execute --id {}`",
            s.id, s.readyAt, s.id
        );
    }
    Ok(())
}

async fn governance(cmd: GovernanceCommand) -> Result<()> {
    match cmd {
        GovernanceCommand::Schedule(call) => {
            let (opts, call) = call.split();
            let l1 = signer(&opts.rollup, &opts.send).await?;
            let plan = admin::plan_schedule(&l1, opts.rollup.rollup, &call, opts.salt)
                .await
                .with_context(|| format!("preparing the schedule of {call}"))?;
            submit(&l1, &plan, &opts.send, opts.rollup.json).await
        }
        GovernanceCommand::Execute(OperationArgs { rollup, send, logs, id }) => {
            let l1 = signer(&rollup, &send).await?;
            let plan = admin::plan_execute(&l1, rollup.rollup, id, logs.from_block)
                .await
                .with_context(|| format!("preparing the execution of operation {id}"))?;
            submit(&l1, &plan, &send, rollup.json).await
        }
        GovernanceCommand::Cancel(OperationArgs { rollup, send, logs, id }) => {
            let l1 = signer(&rollup, &send).await?;
            let plan = admin::plan_cancel(&l1, rollup.rollup, id, logs.from_block)
                .await
                .with_context(|| format!("preparing the cancellation of operation {id}"))?;
            submit(&l1, &plan, &send, rollup.json).await
        }
        GovernanceCommand::List { rollup, logs } => {
            let l1 = reader(&rollup).await?;
            let ops = admin::scheduled_operations(&l1, rollup.rollup, logs.from_block)
                .await
                .context("reading the scheduled operations")?;
            let (_, now) = admin::latest_block(&l1).await.context("reading the latest block")?;
            if rollup.json {
                let list: Vec<_> = ops.iter().map(|o| o.to_json(now)).collect();
                println!("{}", json!({ "block_timestamp": now, "operations": list }));
            } else if ops.is_empty() {
                println!("no scheduled operations");
            } else {
                for o in &ops {
                    println!("{}", operation_line(o, now));
                }
            }
            Ok(())
        }
    }
}

fn operation_line(o: &ScheduledOperation, now: u64) -> String {
    let when = if o.ready_at > now {
        format!("ready at {} (in {})", o.ready_at, human_duration(o.ready_at - now))
    } else {
        format!("ready since {}", o.ready_at)
    };
    format!("{}  {}  {when}  salt {}", o.id, o.call_text(), o.salt)
}

async fn status(args: RollupArgs, from_block: u64) -> Result<()> {
    let l1 = reader(&args).await?;
    let s = RollupStatus::read(&l1, args.rollup, from_block)
        .await
        .with_context(|| format!("reading the rollup at {}", args.rollup))?;
    if args.json {
        println!("{}", s.to_json());
    } else {
        print!("{}", describe_status(&s));
    }
    Ok(())
}

/// The rollup's status for a person, one fact a line.
pub fn describe_status(s: &RollupStatus) -> String {
    let now = s.block_timestamp;
    let mut out = format!(
        "rollup {} on chain {}, block {} (block time {now})
",
        s.rollup, s.chain_id, s.block
    );
    out.push_str(&format!(
        "epochs: committed {}, proven {}, executed {}
",
        s.committed, s.proven, s.executed
    ));
    let pause = if s.paused {
        format!("PAUSED until {} (in {})", s.paused_until, human_duration(s.paused_until.saturating_sub(now)))
    } else if s.paused_until == 0 {
        "no (never paused)".to_string()
    } else {
        match s.pause_allowed_at {
            Some(t) => format!(
                "no (the last pause ended at {}; the guardian may pause again at {t}, in {})",
                s.paused_until,
                human_duration(t - now)
            ),
            None => format!("no (the last pause ended at {})", s.paused_until),
        }
    };
    out.push_str(&format!(
        "paused: {pause}
"
    ));
    out.push_str(&format!(
        "exit mode: {}
",
        if s.exit_mode { "ACTIVE" } else { "no" }
    ));
    let waiting = s.priority_queue_length.saturating_sub(s.priority_ops_executed);
    out.push_str(&format!(
        "priority queue: {waiting} waiting ({} queued in all, {} committed, {} executed)
",
        s.priority_queue_length, s.priority_ops_committed, s.priority_ops_executed
    ));
    if let Some(h) = &s.head {
        let what = match h.kind {
            admin::PriorityKind::Deposit => format!("deposit of {} gwei", h.amount),
            admin::PriorityKind::ForcedExit => "forced exit".to_string(),
        };
        let expiry = if h.expires_in_s >= 0 {
            format!("expires at {} (in {})", h.expiry, human_duration(h.expires_in_s as u64))
        } else {
            format!(
                "EXPIRED at {} ({} ago): anyone may activate exit mode",
                h.expiry,
                human_duration(h.expires_in_s.unsigned_abs())
            )
        };
        out.push_str(&format!(
            "  head: #{} {what} from {}, {expiry}
",
            h.id, h.depositor
        ));
    }
    let operators: Vec<String> = s.operators.iter().map(|a| a.to_string()).collect();
    out.push_str(&format!(
        "governor: {}
guardian: {}
operators: {}
",
        s.governor,
        s.guardian,
        if operators.is_empty() { "none".to_string() } else { operators.join(", ") }
    ));
    out.push_str(&format!(
        "verifier: {} (epochs of {} batches of {})
",
        s.verifier, s.batches_per_epoch, s.batch_capacity
    ));
    out.push_str(&format!(
        "timelock delay: {} s ({}); priority expiry: {} s ({})
",
        s.timelock_delay,
        human_duration(s.timelock_delay),
        s.priority_expiry,
        human_duration(s.priority_expiry)
    ));
    if s.operations.is_empty() {
        out.push_str(
            "scheduled operations: none
",
        );
    } else {
        out.push_str(&format!(
            "scheduled operations: {}
",
            s.operations.len()
        ));
        for o in &s.operations {
            out.push_str(&format!(
                "  {}
",
                operation_line(o, now)
            ));
        }
    }
    out
}
