//! The rollup's administration on L1, for operators: what the contract says about itself ([`RollupStatus`]), the
//! timelock's scheduled operations ([`scheduled_operations`]), and the guardian's, governor's and operator's calls
//! ([`PlannedCall`]: pause, unpause, schedule / execute / cancel a timelocked setter, revert unexecuted epochs), each
//! built and shown before it is sent. A refusal by the rollup is decoded into its error's name and fields
//! ([`AdminError::Refused`]), never left as revert bytes.

use std::fmt;

use alloy::eips::BlockNumberOrTag;
use alloy::providers::Provider;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::{SolCall, SolEvent, SolInterface};
use serde_json::{json, Value};
use thiserror::Error;
use zkr_rollup::IZkrRollup;

use crate::chain::{Receipt, L1};
use crate::error::L1Error;
use crate::rollup::view;
use crate::rpc::RpcL1;

/// Why an administrative read or call did not happen.
#[derive(Debug, Error)]
pub enum AdminError {
    /// The rollup reverted the call with one of its own errors, decoded (`NotGuardian { caller: 0x… }`).
    #[error("the rollup at {rollup} refused {function} from {sender}: {reason}")]
    Refused { rollup: Address, function: String, sender: Address, reason: String },
    #[error(transparent)]
    L1(#[from] L1Error),
    /// No `OperationScheduled` event names this id: the call and salt it stands for are unknown.
    #[error(
        "no operation {id} was scheduled on the rollup at {rollup} (no OperationScheduled event from block \
         {from_block}; operationReadyAt is {ready_at}): check the id, or read the logs from the rollup's deploy block"
    )]
    UnknownOperation { rollup: Address, id: B256, from_block: u64, ready_at: u64 },
    /// Timelocked data that is not one of the six setters the timelock accepts.
    #[error("operation data {data} is not a call of a timelocked setter: {reason}")]
    NotAGovernanceCall { data: Bytes, reason: String },
    /// A change that would lock the rollup's roles out for good, refused before anything is sent.
    #[error("refusing {function} with {argument} = {value}: {reason}")]
    LockOut { function: &'static str, argument: &'static str, value: Address, reason: &'static str },
    #[error("the L1 node returned no latest block")]
    NoBlock,
}

/// One call of a timelocked setter (`set*` in `IZkrRollup.sol`): what `schedule` takes as its `data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GovernanceCall {
    SetVerifier { verifier: Address, batches_per_epoch: u64, batch_capacity: u64 },
    SetOperator { operator: Address, enabled: bool },
    SetGuardian { guardian: Address },
    SetGovernor { governor: Address },
    SetPriorityExpiry { priority_expiry: u64 },
    SetTimelockDelay { timelock_delay: u64 },
}

impl GovernanceCall {
    /// The setter's Solidity name.
    pub fn function(&self) -> &'static str {
        match self {
            GovernanceCall::SetVerifier { .. } => "setVerifier",
            GovernanceCall::SetOperator { .. } => "setOperator",
            GovernanceCall::SetGuardian { .. } => "setGuardian",
            GovernanceCall::SetGovernor { .. } => "setGovernor",
            GovernanceCall::SetPriorityExpiry { .. } => "setPriorityExpiry",
            GovernanceCall::SetTimelockDelay { .. } => "setTimelockDelay",
        }
    }

    /// The arguments by their Solidity names, rendered.
    pub fn args(&self) -> Vec<(&'static str, String)> {
        match self {
            GovernanceCall::SetVerifier { verifier, batches_per_epoch, batch_capacity } => vec![
                ("verifier", verifier.to_string()),
                ("batchesPerEpoch", batches_per_epoch.to_string()),
                ("batchCapacity", batch_capacity.to_string()),
            ],
            GovernanceCall::SetOperator { operator, enabled } => {
                vec![("operator", operator.to_string()), ("enabled", enabled.to_string())]
            }
            GovernanceCall::SetGuardian { guardian } => vec![("guardian", guardian.to_string())],
            GovernanceCall::SetGovernor { governor } => vec![("governor", governor.to_string())],
            GovernanceCall::SetPriorityExpiry { priority_expiry } => {
                vec![("priorityExpiry", priority_expiry.to_string())]
            }
            GovernanceCall::SetTimelockDelay { timelock_delay } => vec![("timelockDelay", timelock_delay.to_string())],
        }
    }

    /// The ABI-encoded call (selector and arguments).
    pub fn encode(&self) -> Vec<u8> {
        use IZkrRollup as R;
        match *self {
            GovernanceCall::SetVerifier { verifier, batches_per_epoch, batch_capacity } => {
                R::setVerifierCall { verifier, batchesPerEpoch: batches_per_epoch, batchCapacity: batch_capacity }
                    .abi_encode()
            }
            GovernanceCall::SetOperator { operator, enabled } => R::setOperatorCall { operator, enabled }.abi_encode(),
            GovernanceCall::SetGuardian { guardian } => R::setGuardianCall { guardian }.abi_encode(),
            GovernanceCall::SetGovernor { governor } => R::setGovernorCall { governor }.abi_encode(),
            GovernanceCall::SetPriorityExpiry { priority_expiry } => {
                R::setPriorityExpiryCall { priorityExpiry: priority_expiry }.abi_encode()
            }
            GovernanceCall::SetTimelockDelay { timelock_delay } => {
                R::setTimelockDelayCall { timelockDelay: timelock_delay }.abi_encode()
            }
        }
    }

    /// Decodes a timelock operation's data; anything but one of the six setters is an error.
    pub fn decode(data: &[u8]) -> Result<Self, AdminError> {
        use IZkrRollup::IZkrRollupCalls as C;
        let bad = |reason: String| AdminError::NotAGovernanceCall { data: Bytes::copy_from_slice(data), reason };
        let call = C::abi_decode(data).map_err(|e| bad(e.to_string()))?;
        Ok(match call {
            C::setVerifier(c) => GovernanceCall::SetVerifier {
                verifier: c.verifier,
                batches_per_epoch: c.batchesPerEpoch,
                batch_capacity: c.batchCapacity,
            },
            C::setOperator(c) => GovernanceCall::SetOperator { operator: c.operator, enabled: c.enabled },
            C::setGuardian(c) => GovernanceCall::SetGuardian { guardian: c.guardian },
            C::setGovernor(c) => GovernanceCall::SetGovernor { governor: c.governor },
            C::setPriorityExpiry(c) => GovernanceCall::SetPriorityExpiry { priority_expiry: c.priorityExpiry },
            C::setTimelockDelay(c) => GovernanceCall::SetTimelockDelay { timelock_delay: c.timelockDelay },
            other => return Err(bad(format!("{other:?} is not a timelocked setter"))),
        })
    }

    /// Refuses the changes that would lock a role out for good once executed: a zero address (the setter would
    /// refuse it too, but only when executed, a whole timelock delay later), or the rollup itself as governor or
    /// guardian (it cannot sign: nobody could schedule, pause or cancel again).
    pub fn check(&self, rollup: Address) -> Result<(), AdminError> {
        let (function, argument, value) = match *self {
            GovernanceCall::SetVerifier { verifier, .. } => ("setVerifier", "verifier", verifier),
            GovernanceCall::SetGuardian { guardian } => ("setGuardian", "guardian", guardian),
            GovernanceCall::SetGovernor { governor } => ("setGovernor", "governor", governor),
            _ => return Ok(()),
        };
        if value == Address::ZERO {
            return Err(AdminError::LockOut {
                function,
                argument,
                value,
                reason: "the zero address holds no key (the setter refuses it with ZeroAddress when executed)",
            });
        }
        if value == rollup && matches!(self, GovernanceCall::SetGuardian { .. } | GovernanceCall::SetGovernor { .. }) {
            return Err(AdminError::LockOut {
                function,
                argument,
                value,
                reason: "the rollup contract cannot sign a transaction: the role would be lost for good",
            });
        }
        Ok(())
    }

    pub fn to_json(&self) -> Value {
        let args: serde_json::Map<String, Value> =
            self.args().into_iter().map(|(k, v)| (k.to_string(), Value::String(v))).collect();
        json!({ "function": self.function(), "args": args })
    }
}

impl fmt::Display for GovernanceCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args: Vec<String> = self.args().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        write!(f, "{}({})", self.function(), args.join(", "))
    }
}

/// A timelock operation as the rollup's events and `operationReadyAt` describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledOperation {
    pub id: B256,
    pub data: Bytes,
    pub salt: B256,
    /// Unix seconds (block time) from which anyone may execute it.
    pub ready_at: u64,
    /// Where its `OperationScheduled` event is.
    pub block: u64,
    pub tx_hash: B256,
    /// The call, decoded (an error for data the timelock would not have taken).
    pub call: Result<GovernanceCall, String>,
}

impl ScheduledOperation {
    pub fn call_text(&self) -> String {
        match &self.call {
            Ok(c) => c.to_string(),
            Err(e) => format!("(undecodable: {e})"),
        }
    }

    pub fn to_json(&self, now: u64) -> Value {
        json!({
            "id": self.id.to_string(),
            "salt": self.salt.to_string(),
            "data": self.data.to_string(),
            "ready_at": self.ready_at,
            "ready": now >= self.ready_at,
            "ready_in_s": self.ready_at.saturating_sub(now),
            "call": match &self.call { Ok(c) => c.to_json(), Err(e) => json!({ "error": e }) },
            "scheduled_block": self.block,
            "scheduled_tx": self.tx_hash.to_string(),
        })
    }
}

/// What became of one scheduling of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperationState {
    Pending,
    Executed,
    Cancelled,
}

/// The operations scheduled on `rollup` (read from its `OperationScheduled`, `OperationExecuted` and
/// `OperationCancelled` logs from `from_block` on, in order) that are still pending: neither executed nor cancelled
/// since their last scheduling, and still known to the contract (`operationReadyAt(id)` non-zero).
pub async fn scheduled_operations(
    l1: &dyn L1,
    rollup: Address,
    from_block: u64,
) -> Result<Vec<ScheduledOperation>, AdminError> {
    let all = operation_history(l1, rollup, from_block).await?;
    let mut out = Vec::new();
    for (op, state) in all {
        if state != OperationState::Pending {
            continue;
        }
        // the contract's own word: an operation it forgot is not pending, whatever the logs say
        let ready_at = view(l1, rollup, IZkrRollup::operationReadyAtCall { id: op.id }).await?;
        if ready_at != 0 {
            out.push(ScheduledOperation { ready_at, ..op });
        }
    }
    Ok(out)
}

/// Every scheduling of an operation on `rollup` from `from_block` on, in chain order, with its outcome: an id
/// scheduled again after it was executed or cancelled appears once per scheduling.
pub async fn operation_history(
    l1: &dyn L1,
    rollup: Address,
    from_block: u64,
) -> Result<Vec<(ScheduledOperation, OperationState)>, AdminError> {
    use IZkrRollup as R;
    let head = l1.block_number().await?;
    let topics = [
        R::OperationScheduled::SIGNATURE_HASH,
        R::OperationExecuted::SIGNATURE_HASH,
        R::OperationCancelled::SIGNATURE_HASH,
    ];
    let mut out: Vec<(ScheduledOperation, OperationState)> = Vec::new();
    for l in l1.logs(rollup, &topics, from_block, head).await? {
        if let Ok(ev) = R::OperationScheduled::decode_log(&l.log) {
            out.push((
                ScheduledOperation {
                    id: ev.id,
                    data: ev.data.data.clone(),
                    salt: ev.salt,
                    ready_at: ev.readyAt,
                    block: l.block_number,
                    tx_hash: l.tx_hash,
                    call: GovernanceCall::decode(&ev.data.data).map_err(|e| e.to_string()),
                },
                OperationState::Pending,
            ));
            continue;
        }
        let (id, outcome) = if let Ok(ev) = R::OperationExecuted::decode_log(&l.log) {
            (ev.id, OperationState::Executed)
        } else if let Ok(ev) = R::OperationCancelled::decode_log(&l.log) {
            (ev.id, OperationState::Cancelled)
        } else {
            continue;
        };
        if let Some(entry) = out.iter_mut().rev().find(|(op, s)| op.id == id && *s == OperationState::Pending) {
            entry.1 = outcome;
        }
    }
    Ok(out)
}

/// The last scheduling of operation `id` in the rollup's logs, whatever became of it.
pub async fn find_operation(
    l1: &dyn L1,
    rollup: Address,
    id: B256,
    from_block: u64,
) -> Result<ScheduledOperation, AdminError> {
    let history = operation_history(l1, rollup, from_block).await?;
    match history.into_iter().rev().find(|(op, _)| op.id == id) {
        Some((op, _)) => Ok(op),
        None => {
            let ready_at = view(l1, rollup, IZkrRollup::operationReadyAtCall { id }).await?;
            Err(AdminError::UnknownOperation { rollup, id, from_block, ready_at })
        }
    }
}

/// The kind of a queued priority operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorityKind {
    Deposit,
    ForcedExit,
}

impl PriorityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PriorityKind::Deposit => "deposit",
            PriorityKind::ForcedExit => "forced_exit",
        }
    }
}

/// The oldest priority operation the rollup has not executed: the one whose expiry decides exit mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityHead {
    pub id: u64,
    pub kind: PriorityKind,
    pub depositor: Address,
    /// L2 units (gwei); 0 for a forced exit.
    pub amount: u64,
    /// Unix seconds (block time).
    pub expiry: u64,
    /// Seconds from the latest block's timestamp to the expiry; negative once expired.
    pub expires_in_s: i64,
}

/// What the rollup contract says about itself, read with view calls at the latest block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupStatus {
    pub rollup: Address,
    pub chain_id: u64,
    /// The latest block and its timestamp: every time below is block time.
    pub block: u64,
    pub block_timestamp: u64,
    pub committed: u64,
    pub proven: u64,
    pub executed: u64,
    pub paused: bool,
    /// The end of the current or last pause (0: never paused).
    pub paused_until: u64,
    /// When the guardian may pause again (`pausedUntil + PAUSE_COOLDOWN`), while that is in the future.
    pub pause_allowed_at: Option<u64>,
    pub exit_mode: bool,
    pub priority_queue_length: u64,
    pub priority_ops_committed: u64,
    pub priority_ops_executed: u64,
    pub head: Option<PriorityHead>,
    pub governor: Address,
    pub guardian: Address,
    /// The addresses whose last `OperatorSet` enabled them and that `isOperator` confirms.
    pub operators: Vec<Address>,
    pub verifier: Address,
    pub batches_per_epoch: u64,
    pub batch_capacity: u64,
    pub priority_expiry: u64,
    pub timelock_delay: u64,
    /// Pending timelock operations.
    pub operations: Vec<ScheduledOperation>,
}

/// The latest block's number and timestamp.
pub async fn latest_block(l1: &RpcL1) -> Result<(u64, u64), AdminError> {
    let block = l1
        .provider()
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .map_err(|e| L1Error::Rpc { method: "eth_getBlockByNumber", reason: e.to_string() })?
        .ok_or(AdminError::NoBlock)?;
    Ok((block.header.number, block.header.timestamp))
}

impl RollupStatus {
    /// Reads the rollup at `rollup`; its logs (operators, the timelock) from `from_block` on.
    pub async fn read(l1: &RpcL1, rollup: Address, from_block: u64) -> Result<Self, AdminError> {
        use IZkrRollup as R;
        let (block, now) = latest_block(l1).await?;
        let paused_until = view(l1, rollup, R::pausedUntilCall {}).await?;
        let cooldown = view(l1, rollup, R::PAUSE_COOLDOWNCall {}).await?;
        let length = view(l1, rollup, R::priorityQueueLengthCall {}).await?;
        let executed_ops = view(l1, rollup, R::priorityOpsExecutedCall {}).await?;
        let head = if executed_ops < length {
            let op = view(l1, rollup, R::priorityOpCall { priorityId: executed_ops }).await?;
            let expiry = u64::from(op.expiry);
            Some(PriorityHead {
                id: executed_ops,
                kind: if op.amount == 0 { PriorityKind::ForcedExit } else { PriorityKind::Deposit },
                depositor: op.depositor,
                amount: op.amount,
                expiry,
                expires_in_s: i64::try_from(expiry).unwrap_or(i64::MAX) - i64::try_from(now).unwrap_or(i64::MAX),
            })
        } else {
            None
        };
        let pause_allowed_at = (paused_until != 0).then(|| paused_until.saturating_add(cooldown)).filter(|&t| t > now);
        Ok(RollupStatus {
            rollup,
            chain_id: l1.chain_id().await?,
            block,
            block_timestamp: now,
            committed: view(l1, rollup, R::totalCommittedCall {}).await?,
            proven: view(l1, rollup, R::totalProvenCall {}).await?,
            executed: view(l1, rollup, R::totalExecutedCall {}).await?,
            paused: view(l1, rollup, R::pausedCall {}).await?,
            paused_until,
            pause_allowed_at,
            exit_mode: view(l1, rollup, R::exitModeCall {}).await?,
            priority_queue_length: length,
            priority_ops_committed: view(l1, rollup, R::priorityOpsCommittedCall {}).await?,
            priority_ops_executed: executed_ops,
            head,
            governor: view(l1, rollup, R::governorCall {}).await?,
            guardian: view(l1, rollup, R::guardianCall {}).await?,
            operators: operators(l1, rollup, from_block).await?,
            verifier: view(l1, rollup, R::verifierCall {}).await?,
            batches_per_epoch: view(l1, rollup, R::batchesPerEpochCall {}).await?,
            batch_capacity: view(l1, rollup, R::batchCapacityCall {}).await?,
            priority_expiry: view(l1, rollup, R::priorityExpiryCall {}).await?,
            timelock_delay: view(l1, rollup, R::timelockDelayCall {}).await?,
            operations: scheduled_operations(l1, rollup, from_block).await?,
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "rollup": self.rollup.to_string(),
            "chain_id": self.chain_id,
            "block": self.block,
            "block_timestamp": self.block_timestamp,
            "epochs": { "committed": self.committed, "proven": self.proven, "executed": self.executed },
            "paused": self.paused,
            "paused_until": self.paused_until,
            "pause_allowed_at": self.pause_allowed_at,
            "exit_mode": self.exit_mode,
            "priority_queue": {
                "length": self.priority_queue_length,
                "committed": self.priority_ops_committed,
                "executed": self.priority_ops_executed,
                "pending": self.priority_queue_length.saturating_sub(self.priority_ops_executed),
                "head": self.head.as_ref().map(|h| json!({
                    "id": h.id,
                    "kind": h.kind.as_str(),
                    "depositor": h.depositor.to_string(),
                    "amount": h.amount,
                    "expiry": h.expiry,
                    "expires_in_s": h.expires_in_s,
                })),
            },
            "governor": self.governor.to_string(),
            "guardian": self.guardian.to_string(),
            "operators": self.operators.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            "verifier": self.verifier.to_string(),
            "batches_per_epoch": self.batches_per_epoch,
            "batch_capacity": self.batch_capacity,
            "priority_expiry": self.priority_expiry,
            "timelock_delay": self.timelock_delay,
            "operations": self.operations.iter().map(|o| o.to_json(self.block_timestamp)).collect::<Vec<_>>(),
        })
    }
}

/// The rollup's operators: every address an `OperatorSet` event named, kept when `isOperator` still says so.
pub async fn operators(l1: &dyn L1, rollup: Address, from_block: u64) -> Result<Vec<Address>, AdminError> {
    let head = l1.block_number().await?;
    let mut seen: Vec<Address> = Vec::new();
    for l in l1.logs(rollup, &[IZkrRollup::OperatorSet::SIGNATURE_HASH], from_block, head).await? {
        if let Ok(ev) = IZkrRollup::OperatorSet::decode_log(&l.log) {
            if !seen.contains(&ev.operator) {
                seen.push(ev.operator);
            }
        }
    }
    let mut out = Vec::new();
    for a in seen {
        if view(l1, rollup, IZkrRollup::isOperatorCall { account: a }).await? {
            out.push(a);
        }
    }
    Ok(out)
}

/// `d h m s` for a number of seconds (the largest two units).
pub fn human_duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// A timelock operation's identity, shown with a governance call before it is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationInfo {
    pub id: B256,
    pub salt: B256,
    pub call: Result<GovernanceCall, String>,
    /// When it may be executed: predicted (latest block time + `timelockDelay`) for a schedule, the contract's
    /// `operationReadyAt` otherwise (0: not scheduled).
    pub ready_at: u64,
}

/// An administrative transaction, built and decoded before it is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedCall {
    pub rollup: Address,
    pub sender: Address,
    /// The Solidity function (`pause`, `schedule`, …).
    pub function: &'static str,
    /// Its arguments by name, rendered.
    pub args: Vec<(&'static str, String)>,
    pub calldata: Bytes,
    /// The role the contract requires of the sender, in words.
    pub role: &'static str,
    /// For the timelock's calls: the operation.
    pub operation: Option<OperationInfo>,
    /// The latest block's timestamp when the call was planned.
    pub now: u64,
}

impl PlannedCall {
    /// `function(name=value, …)`.
    pub fn signature(&self) -> String {
        let args: Vec<String> = self.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}({})", self.function, args.join(", "))
    }

    /// Lines describing the call, for a person.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "call:    {}\ntarget:  {} (rollup)\nsender:  {} (allowed caller: {})\n",
            self.signature(),
            self.rollup,
            self.sender,
            self.role
        );
        if let Some(op) = &self.operation {
            let call = match &op.call {
                Ok(c) => c.to_string(),
                Err(e) => format!("(undecodable: {e})"),
            };
            s.push_str(&format!("operation: {}\n  call:  {call}\n  salt:  {}\n", op.id, op.salt));
            if op.ready_at == 0 {
                s.push_str("  ready: not scheduled (operationReadyAt is 0)\n");
            } else if op.ready_at > self.now {
                s.push_str(&format!(
                    "  ready: at {} (block time), in {}\n",
                    op.ready_at,
                    human_duration(op.ready_at - self.now)
                ));
            } else {
                s.push_str(&format!("  ready: since {} (block time)\n", op.ready_at));
            }
        }
        s
    }

    pub fn to_json(&self) -> Value {
        let args: serde_json::Map<String, Value> =
            self.args.iter().map(|(k, v)| (k.to_string(), Value::String(v.clone()))).collect();
        json!({
            "function": self.function,
            "args": args,
            "target": self.rollup.to_string(),
            "sender": self.sender.to_string(),
            "role": self.role,
            "calldata": self.calldata.to_string(),
            "operation": self.operation.as_ref().map(|op| json!({
                "id": op.id.to_string(),
                "salt": op.salt.to_string(),
                "call": match &op.call { Ok(c) => c.to_json(), Err(e) => json!({ "error": e }) },
                "ready_at": op.ready_at,
                "ready_in_s": op.ready_at.saturating_sub(self.now),
            })),
        })
    }

    /// Runs the call against the latest state without sending it (`eth_call` from the sender): `Ok` when the rollup
    /// would accept it, its decoded refusal otherwise.
    pub async fn simulate(&self, l1: &dyn L1) -> Result<(), AdminError> {
        l1.call(self.rollup, self.calldata.to_vec()).await.map(|_| ()).map_err(|e| self.refusal(e))
    }

    /// Sends the call and waits for its receipt; a refusal is decoded.
    pub async fn send(&self, l1: &dyn L1) -> Result<Receipt, AdminError> {
        l1.send(self.rollup, self.calldata.to_vec(), U256::ZERO).await.map_err(|e| self.refusal(e))
    }

    fn refusal(&self, e: L1Error) -> AdminError {
        match &e {
            L1Error::Reverted { data, .. } => match describe_rollup_error(data, self.now) {
                Some(reason) => {
                    AdminError::Refused { rollup: self.rollup, function: self.signature(), sender: self.sender, reason }
                }
                None => AdminError::L1(e),
            },
            _ => AdminError::L1(e),
        }
    }
}

/// How many `OperationFailed` errors nested in one another [`describe_rollup_error`] decodes below the outer one;
/// the reason inside the last is shown as bytes. The rollup nests a setter's refusal once: the bound keeps revert
/// data from a faulty or hostile node (an `OperationFailed` in an `OperationFailed` … thousands deep) from exhausting
/// the stack and copying the data once per level.
pub const NESTED_ERRORS: usize = 4;

/// The rollup's revert data in words: the error's name and fields (`NotGuardian { caller: 0x… }`), with the
/// reason inside an `OperationFailed` decoded too (at most [`NESTED_ERRORS`] deep), and how long an
/// `OperationNotReady` still waits (`now`: the latest block's timestamp). `None` when the data is not one of the
/// rollup's errors.
pub fn describe_rollup_error(data: &[u8], now: u64) -> Option<String> {
    describe_nested(data, now, NESTED_ERRORS)
}

/// [`describe_rollup_error`] with `depth` more nested `OperationFailed` reasons to decode.
fn describe_nested(data: &[u8], now: u64, depth: usize) -> Option<String> {
    use IZkrRollup::IZkrRollupErrors as E;
    let Ok(e) = E::abi_decode(data) else {
        // `Error(string)` and `Panic(uint256)`
        return alloy_sol_types::GenericContractError::abi_decode(data).ok().map(|g| g.to_string());
    };
    let text = strip_variant(&format!("{e:?}"));
    Some(match e {
        E::OperationFailed(f) => {
            let inner = depth
                .checked_sub(1)
                .and_then(|d| describe_nested(&f.reason, now, d))
                .unwrap_or_else(|| crate::error::describe_revert(&f.reason));
            format!("OperationFailed {{ id: {} }}: the setter refused: {inner}", f.id)
        }
        E::OperationNotReady(r) => format!(
            "{text}: ready at {} (block time), in {}",
            r.readyAt,
            human_duration(r.readyAt.saturating_sub(now.max(r.now_)))
        ),
        E::PauseCoolingDown(p) => format!(
            "{text}: the guardian may pause again at {} (block time), in {}",
            p.pauseAllowedAt,
            human_duration(p.pauseAllowedAt.saturating_sub(now))
        ),
        _ => text,
    })
}

/// `Variant(Variant { field: … })` → `Variant { field: … }`; `Variant(Variant)` → `Variant`.
fn strip_variant(s: &str) -> String {
    s.split_once('(').and_then(|(_, rest)| rest.strip_suffix(')')).unwrap_or(s).to_string()
}

/// Plans the guardian's `pause()`.
pub async fn plan_pause(l1: &RpcL1, rollup: Address) -> Result<PlannedCall, AdminError> {
    plan(l1, rollup, "pause", vec![], IZkrRollup::pauseCall {}.abi_encode(), "the guardian", None).await
}

/// Plans the guardian's `unpause()`.
pub async fn plan_unpause(l1: &RpcL1, rollup: Address) -> Result<PlannedCall, AdminError> {
    plan(l1, rollup, "unpause", vec![], IZkrRollup::unpauseCall {}.abi_encode(), "the guardian", None).await
}

/// Plans an operator's `revertEpochs(lastKeptEpoch)`.
pub async fn plan_revert_epochs(l1: &RpcL1, rollup: Address, last_kept: u64) -> Result<PlannedCall, AdminError> {
    let data = IZkrRollup::revertEpochsCall { lastKeptEpoch: last_kept }.abi_encode();
    plan(l1, rollup, "revertEpochs", vec![("lastKeptEpoch", last_kept.to_string())], data, "an operator", None).await
}

/// Plans the governor's `schedule(data, salt)` of `call`; the operation's id comes from the contract's
/// `operationId`, its ready time is the latest block's timestamp plus `timelockDelay`.
pub async fn plan_schedule(
    l1: &RpcL1,
    rollup: Address,
    call: &GovernanceCall,
    salt: B256,
) -> Result<PlannedCall, AdminError> {
    call.check(rollup)?;
    let data = Bytes::from(call.encode());
    let id = view(l1, rollup, IZkrRollup::operationIdCall { data: data.clone(), salt }).await?;
    let delay = view(l1, rollup, IZkrRollup::timelockDelayCall {}).await?;
    let (_, now) = latest_block(l1).await?;
    let op = OperationInfo { id, salt, call: Ok(call.clone()), ready_at: now.saturating_add(delay) };
    let encoded = IZkrRollup::scheduleCall { data: data.clone(), salt }.abi_encode();
    let args = vec![("data", call.to_string()), ("salt", salt.to_string())];
    plan(l1, rollup, "schedule", args, encoded, "the governor", Some(op)).await
}

/// Plans `executeOperation(data, salt)` of the operation `id` (its data and salt read from the rollup's
/// `OperationScheduled` logs from `from_block` on). Anyone may send it once the operation is ready.
pub async fn plan_execute(l1: &RpcL1, rollup: Address, id: B256, from_block: u64) -> Result<PlannedCall, AdminError> {
    let op = find_operation(l1, rollup, id, from_block).await?;
    let ready_at = view(l1, rollup, IZkrRollup::operationReadyAtCall { id }).await?;
    let info = OperationInfo { id, salt: op.salt, call: op.call.clone(), ready_at };
    let encoded = IZkrRollup::executeOperationCall { data: op.data.clone(), salt: op.salt }.abi_encode();
    let args = vec![("data", op.call_text()), ("salt", op.salt.to_string())];
    plan(l1, rollup, "executeOperation", args, encoded, "anyone, once the operation is ready", Some(info)).await
}

/// Plans `cancel(id)`; the operation's call is shown when the logs from `from_block` on name it (an id they do not
/// name is sent as it is: the contract's refusal says what it makes of it).
pub async fn plan_cancel(l1: &RpcL1, rollup: Address, id: B256, from_block: u64) -> Result<PlannedCall, AdminError> {
    let ready_at = view(l1, rollup, IZkrRollup::operationReadyAtCall { id }).await?;
    let info = match find_operation(l1, rollup, id, from_block).await {
        Ok(op) => OperationInfo { id, salt: op.salt, call: op.call, ready_at },
        Err(AdminError::UnknownOperation { .. }) => OperationInfo {
            id,
            salt: B256::ZERO,
            call: Err("no OperationScheduled event names it".to_string()),
            ready_at,
        },
        Err(e) => return Err(e),
    };
    let encoded = IZkrRollup::cancelCall { id }.abi_encode();
    plan(
        l1,
        rollup,
        "cancel",
        vec![("id", id.to_string())],
        encoded,
        "the governor, or the guardian for anything but setGuardian",
        Some(info),
    )
    .await
}

async fn plan(
    l1: &RpcL1,
    rollup: Address,
    function: &'static str,
    args: Vec<(&'static str, String)>,
    calldata: Vec<u8>,
    role: &'static str,
    operation: Option<OperationInfo>,
) -> Result<PlannedCall, AdminError> {
    let (_, now) = latest_block(l1).await?;
    Ok(PlannedCall {
        rollup,
        sender: l1.sender(),
        function,
        args,
        calldata: Bytes::from(calldata),
        role,
        operation,
        now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_sol_types::SolError;

    #[test]
    fn governance_calls_round_trip_through_their_abi() {
        let a = Address::repeat_byte(7);
        let calls = [
            GovernanceCall::SetVerifier { verifier: a, batches_per_epoch: 2, batch_capacity: 4 },
            GovernanceCall::SetOperator { operator: a, enabled: false },
            GovernanceCall::SetGuardian { guardian: a },
            GovernanceCall::SetGovernor { governor: a },
            GovernanceCall::SetPriorityExpiry { priority_expiry: 200_000 },
            GovernanceCall::SetTimelockDelay { timelock_delay: 400_000 },
        ];
        for c in calls {
            assert_eq!(GovernanceCall::decode(&c.encode()).unwrap(), c);
            assert!(c.to_string().starts_with(c.function()), "{c}");
        }
        let not_a_setter = IZkrRollup::pauseCall {}.abi_encode();
        assert!(matches!(GovernanceCall::decode(&not_a_setter), Err(AdminError::NotAGovernanceCall { .. })));
        assert!(GovernanceCall::decode(&[1, 2]).is_err());
    }

    #[test]
    fn lock_outs_are_refused_before_sending() {
        let rollup = Address::repeat_byte(9);
        assert!(GovernanceCall::SetGovernor { governor: Address::ZERO }.check(rollup).is_err());
        assert!(GovernanceCall::SetGuardian { guardian: rollup }.check(rollup).is_err());
        assert!(GovernanceCall::SetGovernor { governor: rollup }.check(rollup).is_err());
        assert!(GovernanceCall::SetGovernor { governor: Address::repeat_byte(1) }.check(rollup).is_ok());
        assert!(GovernanceCall::SetPriorityExpiry { priority_expiry: 1 }.check(rollup).is_ok());
    }

    #[test]
    fn rollup_errors_are_decoded_with_their_fields() {
        let caller = Address::repeat_byte(0xab);
        let data = IZkrRollup::NotGuardian { caller }.abi_encode();
        let text = describe_rollup_error(&data, 0).unwrap();
        assert!(text.starts_with("NotGuardian {") && text.contains(&caller.to_string().to_lowercase()[2..]), "{text}");
        let inner = IZkrRollup::ZeroAddress {}.abi_encode();
        let failed = IZkrRollup::OperationFailed { id: B256::repeat_byte(1), reason: inner.into() }.abi_encode();
        let text = describe_rollup_error(&failed, 0).unwrap();
        assert!(text.contains("OperationFailed") && text.contains("ZeroAddress"), "{text}");
        let not_ready = IZkrRollup::OperationNotReady { id: B256::ZERO, readyAt: 1000, now_: 400 }.abi_encode();
        assert!(describe_rollup_error(&not_ready, 400).unwrap().contains("in 10m 0s"));
        let string = alloy_sol_types::Revert::from("plain").abi_encode();
        assert_eq!(describe_rollup_error(&string, 0).as_deref(), Some("revert: plain"));
        assert_eq!(describe_rollup_error(&[0xde, 0xad, 0xbe, 0xef], 0), None);
    }

    /// `OperationFailed` wrapped `depth` times around `core`: what `abi_encode` builds level by level, written in
    /// one pass (heads outside in, the reason, then each level's padding inside out).
    fn nested_operation_failed(core: &[u8], depth: usize) -> Vec<u8> {
        let padded = |n: usize| n.div_ceil(32) * 32;
        // the encoded length of each level, the innermost (`core`) first
        let mut lens = vec![core.len()];
        for level in 0..depth {
            lens.push(4 + 3 * 32 + padded(lens[level]));
        }
        let mut out = Vec::with_capacity(lens[depth]);
        for level in (0..depth).rev() {
            out.extend_from_slice(&IZkrRollup::OperationFailed::SELECTOR);
            out.extend_from_slice(&[0u8; 32]); // the id
            out.extend_from_slice(&U256::from(0x40).to_be_bytes::<32>()); // where the reason starts
            out.extend_from_slice(&U256::from(lens[level]).to_be_bytes::<32>());
        }
        out.extend_from_slice(core);
        for len in &lens[..depth] {
            out.resize(out.len() + padded(*len) - len, 0);
        }
        out
    }

    #[test]
    fn deeply_nested_refusals_are_described_without_exhausting_the_stack() {
        let core = IZkrRollup::ZeroAddress {}.abi_encode();
        let mut encoded = core.clone();
        for _ in 0..3 {
            encoded = IZkrRollup::OperationFailed { id: B256::ZERO, reason: encoded.into() }.abi_encode();
        }
        assert_eq!(nested_operation_failed(&core, 3), encoded, "the test's encoder is the ABI's");
        let text = describe_rollup_error(&encoded, 0).unwrap();
        assert_eq!(text.matches("OperationFailed {").count(), 3, "{text}");
        assert!(text.ends_with("the setter refused: ZeroAddress"), "{text}");

        // what a faulty or hostile node could answer: 20 000 levels (2.6 MB); the levels past the bound stay bytes
        let deep = nested_operation_failed(&core, 20_000);
        let text = describe_rollup_error(&deep, 0).unwrap();
        assert_eq!(text.matches("OperationFailed {").count(), NESTED_ERRORS + 1);
        let selector = hex::encode(IZkrRollup::OperationFailed::SELECTOR);
        assert!(text.contains(&format!("the setter refused: custom error 0x{selector} with arguments 0x")));
    }
}
