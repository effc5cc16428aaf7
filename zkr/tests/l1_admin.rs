//! `zkr l1 status|pause|unpause|revert-epochs|governance …` against `zkr l1 deploy`'s contracts on a real hardhat
//! node: the governor and operator are hardhat's first account, the guardian its second, a stranger its third. The
//! status of a fresh deployment; a pause, seen in the status, and its end; the timelock from schedule to execute (a
//! refusal before the delay, hardhat's clock moved past it) and cancel; and every refusal printed as the rollup's
//! decoded error with a non-zero exit. The second test is about lock-outs: who else could call these commands to
//! lock the roles out, and that they cannot.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};
use zkr_settle::hardhat::{HardhatNode, HARDHAT_KEY_0, HARDHAT_KEY_1, HARDHAT_KEY_2};
use zkr_settle::{Deployment, PrivateKeySigner};

mod common;

const ZKR: &str = env!("CARGO_BIN_EXE_zkr");
/// The environment variable the tests hand keys in (the commands read keys only from the environment).
const KEY_ENV: &str = "ZKR_TEST_ADMIN_KEY";

fn address(key: &str) -> String {
    key.parse::<PrivateKeySigner>().unwrap().address().to_string()
}

/// A hardhat node with a fresh deployment: governor and operator `KEY_0`, guardian `KEY_1`.
struct Chain {
    node: HardhatNode,
    deployment: Deployment,
    _dir: tempfile::TempDir,
}

impl Chain {
    fn start() -> Chain {
        let node = HardhatNode::start().expect("hardhat starts (npm ci --prefix verifier-contracts)");
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("l1.toml");
        let (deployment, _) = common::l1_deploy(node.url(), &record, &["--guardian", &address(HARDHAT_KEY_1)]);
        Chain { node, deployment, _dir: dir }
    }

    fn rollup(&self) -> String {
        self.deployment.rollup.to_string()
    }

    /// `zkr ARGS --rpc-url … --rollup …`, with `--private-key-env` holding `key` when one is given.
    fn zkr(&self, key: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = Command::new(ZKR);
        cmd.args(args).args(["--rpc-url", self.node.url(), "--rollup", &self.rollup()]).current_dir(Path::new("/"));
        cmd.env_remove(KEY_ENV);
        if let Some(k) = key {
            cmd.env(KEY_ENV, k).args(["--private-key-env", KEY_ENV]);
        }
        cmd.output().expect("runs zkr")
    }

    /// stdout of a command that must succeed.
    fn ok(&self, key: Option<&str>, args: &[&str]) -> String {
        let o = self.zkr(key, args);
        let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(o.status.success(), "zkr {} failed:\n{out}\n{err}", args.join(" "));
        out.into_owned()
    }

    /// stderr of a command that must fail; the refusal must be decoded, not raw revert data.
    fn refused(&self, key: Option<&str>, args: &[&str], reason: &str) -> String {
        let o = self.zkr(key, args);
        let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(!o.status.success(), "zkr {} succeeded:\n{out}\n{err}", args.join(" "));
        assert!(err.contains(reason), "zkr {} did not say {reason:?}:\n{out}\n{err}", args.join(" "));
        assert!(!err.contains("custom error 0x"), "a raw revert blob instead of the decoded error:\n{err}");
        err.into_owned()
    }

    fn json(&self, key: Option<&str>, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(key, &all);
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    fn status(&self) -> Value {
        self.json(None, &["l1", "status"])
    }

    /// Moves hardhat's clock `secs` forward and mines a block at the new time.
    fn advance(&self, secs: u64) {
        self.node.rpc("evm_increaseTime", json!([secs])).unwrap();
        self.node.rpc("evm_mine", json!([])).unwrap();
    }

    /// Schedules `call` (e.g. `["set-operator", "--operator", A, "--enabled", "true"]`) as the governor; its id.
    fn schedule(&self, call: &[&str]) -> String {
        let mut args = vec!["l1", "governance", "schedule"];
        args.extend_from_slice(call);
        let v = self.json(Some(HARDHAT_KEY_0), &args);
        assert_eq!(v["accepted"], true, "{v}");
        let id = v["scheduled"]["id"].as_str().expect("the scheduled operation's id").to_string();
        assert_eq!(v["call"]["operation"]["id"], id.as_str(), "the id shown before sending is the one scheduled: {v}");
        id
    }

    fn operations(&self) -> Vec<Value> {
        self.json(None, &["l1", "governance", "list"])["operations"].as_array().unwrap().clone()
    }
}

#[test]
fn status_pause_and_the_timelock_on_a_fresh_deployment() {
    let chain = Chain::start();
    let (governor, guardian, stranger) = (address(HARDHAT_KEY_0), address(HARDHAT_KEY_1), address(HARDHAT_KEY_2));

    // a fresh deployment
    let s = chain.status();
    assert_eq!(s["epochs"], json!({ "committed": 0, "proven": 0, "executed": 0 }), "{s}");
    assert_eq!(
        (s["paused"].clone(), s["paused_until"].clone(), s["exit_mode"].clone()),
        (json!(false), json!(0), json!(false))
    );
    assert_eq!(s["priority_queue"]["length"], 0);
    assert!(s["priority_queue"]["head"].is_null(), "{s}");
    assert_eq!((s["governor"].as_str(), s["guardian"].as_str()), (Some(governor.as_str()), Some(guardian.as_str())));
    assert_eq!(s["operators"], json!([governor]));
    assert_eq!((s["timelock_delay"].clone(), s["priority_expiry"].clone()), (json!(4 * 86_400), json!(3 * 86_400)));
    assert_eq!(s["operations"], json!([]));
    let plain = chain.ok(None, &["l1", "status"]);
    for line in ["epochs: committed 0, proven 0, executed 0", "paused: no (never paused)", "exit mode: no"] {
        assert!(plain.contains(line), "{line:?} missing:\n{plain}");
    }

    // the pause: refused to the governor, a dry run sends nothing, the guardian's pause shows in the status
    let err = chain.refused(Some(HARDHAT_KEY_0), &["l1", "pause"], "NotGuardian");
    assert!(err.to_lowercase().contains(&governor.to_lowercase()[2..]), "the refused caller is named:\n{err}");
    let dry = chain.ok(Some(HARDHAT_KEY_1), &["l1", "pause", "--dry-run"]);
    let (target, sender) = (format!("target:  {}", chain.rollup()), format!("sender:  {guardian}"));
    for part in ["call:    pause()", target.as_str(), sender.as_str(), "nothing was sent"] {
        assert!(dry.contains(part), "{part:?} missing from the dry run:\n{dry}");
    }
    assert_eq!(chain.status()["paused"], false, "a dry run sent nothing");
    let sent = chain.ok(Some(HARDHAT_KEY_1), &["l1", "pause"]);
    assert!(sent.contains("call:    pause()") && sent.contains("sent: transaction 0x"), "{sent}");
    let s = chain.status();
    assert_eq!(s["paused"], true, "{s}");
    assert_eq!(s["paused_until"].as_u64().unwrap(), s["block_timestamp"].as_u64().unwrap() + 86_400, "{s}");
    assert!(chain.ok(None, &["l1", "status"]).contains("paused: PAUSED until"));
    // `zkr status` with only L1 to read says the same
    let fleet_view: Value = serde_json::from_str(chain.ok(None, &["status", "--json"]).trim()).unwrap();
    assert_eq!((fleet_view["l1"]["paused"].clone(), fleet_view["metrics"].clone()), (json!(true), Value::Null));
    chain.refused(Some(HARDHAT_KEY_1), &["l1", "pause"], "ContractPaused");
    chain.refused(Some(HARDHAT_KEY_1), &["l1", "pause", "--dry-run"], "ContractPaused");
    chain.ok(Some(HARDHAT_KEY_1), &["l1", "unpause"]);
    let s = chain.status();
    assert_eq!(s["paused"], false, "{s}");
    assert!(s["pause_allowed_at"].as_u64().unwrap() > s["block_timestamp"].as_u64().unwrap(), "the cooldown: {s}");
    chain.refused(Some(HARDHAT_KEY_1), &["l1", "unpause"], "NotPaused");

    // a deposit is the head of the priority queue, with its expiry
    let deposit = Command::new(ZKR)
        .env(KEY_ENV, HARDHAT_KEY_2)
        .args(["wallet", "deposit", "--rpc-url", chain.node.url(), "--rollup", &chain.rollup()])
        .args(["--private-key-env", KEY_ENV, "--to", "1", "--amount", "1000", "--json"])
        .output()
        .unwrap();
    assert!(deposit.status.success(), "{}", String::from_utf8_lossy(&deposit.stderr));
    let s = chain.status();
    let head = &s["priority_queue"]["head"];
    assert_eq!(
        (head["id"].clone(), head["kind"].clone(), head["amount"].clone()),
        (json!(0), json!("deposit"), json!(1000)),
        "{s}"
    );
    assert_eq!(head["depositor"].as_str(), Some(stranger.as_str()));
    let left = head["expires_in_s"].as_i64().unwrap();
    assert!(left > 0 && left <= 3 * 86_400, "the head expires within the priority expiry: {s}");
    assert!(chain.ok(None, &["l1", "status"]).contains("head: #0 deposit of 1000 gwei"));

    // the timelock: schedule, shown decoded; executing early is refused; after the delay anyone executes
    let call = ["set-operator", "--operator", stranger.as_str(), "--enabled", "true"];
    let mut dry = vec!["l1", "governance", "schedule"];
    dry.extend_from_slice(&call);
    dry.push("--dry-run");
    let shown = chain.ok(Some(HARDHAT_KEY_0), &dry);
    for part in [
        "call:    schedule(data=setOperator(operator=",
        "operation: 0x",
        "  salt:  0x0000000000000000000000000000000000000000000000000000000000000000",
        "  ready: at ",
        "in 4d 0h",
    ] {
        assert!(shown.contains(part), "{part:?} missing from the schedule's dry run:\n{shown}");
    }
    assert!(chain.operations().is_empty(), "a dry run schedules nothing");
    let id = chain.schedule(&call);
    let ops = chain.operations();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0]["id"], id.as_str());
    assert_eq!(
        ops[0]["call"],
        json!({ "function": "setOperator", "args": { "operator": stranger, "enabled": "true" } })
    );
    assert_eq!(ops[0]["ready"], false);
    let listed = chain.ok(None, &["l1", "governance", "list"]);
    assert!(listed.contains(&format!("setOperator(operator={stranger}, enabled=true)")), "{listed}");
    assert_eq!(chain.status()["operations"].as_array().unwrap().len(), 1, "the status lists it too");
    let err = chain.refused(Some(HARDHAT_KEY_2), &["l1", "governance", "execute", "--id", &id], "OperationNotReady");
    assert!(err.contains("ready at") && err.contains("in 3d 23h"), "when it is ready is said:\n{err}");
    chain.advance(4 * 86_400 + 10);
    let done = chain.ok(Some(HARDHAT_KEY_2), &["l1", "governance", "execute", "--id", &id]);
    assert!(
        done.contains("call:    executeOperation(data=setOperator(") && done.contains("sent: transaction"),
        "{done}"
    );
    let s = chain.status();
    assert_eq!(s["operators"], json!([governor, stranger]), "the executed change is visible: {s}");
    assert_eq!(s["operations"], json!([]));
    chain.refused(Some(HARDHAT_KEY_2), &["l1", "governance", "execute", "--id", &id], "OperationNotScheduled");
    let unknown = format!("0x{}", "11".repeat(32));
    chain.refused(Some(HARDHAT_KEY_2), &["l1", "governance", "execute", "--id", &unknown], "was scheduled");

    // cancel removes a scheduled operation; cancelling it again is refused
    let id = chain.schedule(&["set-priority-expiry", "--priority-expiry", "200000", "--salt", &unknown]);
    assert_eq!(chain.operations().len(), 1);
    chain.ok(Some(HARDHAT_KEY_0), &["l1", "governance", "cancel", "--id", &id]);
    assert!(chain.operations().is_empty(), "the cancelled operation is no longer listed");
    chain.refused(Some(HARDHAT_KEY_0), &["l1", "governance", "cancel", "--id", &id], "OperationNotScheduled");

    // revert-epochs: a non-operator is refused; the operator is told there is nothing to revert
    chain.refused(Some(HARDHAT_KEY_1), &["l1", "revert-epochs", "--last-kept", "0"], "NotOperator");
    chain.refused(Some(HARDHAT_KEY_0), &["l1", "revert-epochs", "--last-kept", "0"], "NothingToRevert");
    // the new operator may call it too (and is told the same)
    chain.refused(Some(HARDHAT_KEY_2), &["l1", "revert-epochs", "--last-kept", "0"], "NothingToRevert");
}

/// Who else could use these commands to lock the roles out: a stranger can pause, schedule, cancel or revert
/// nothing; the guardian cannot make itself governor nor cancel its own replacement; a pause cannot be renewed back
/// to back; and changes that would hand a role to nobody are refused before anything is sent.
#[test]
fn nobody_else_can_lock_the_roles_out() {
    let chain = Chain::start();
    let (governor, stranger) = (address(HARDHAT_KEY_0), address(HARDHAT_KEY_2));
    let rollup = chain.rollup();

    // a stranger
    chain.refused(Some(HARDHAT_KEY_2), &["l1", "pause"], "NotGuardian");
    chain.refused(Some(HARDHAT_KEY_2), &["l1", "unpause"], "NotGuardian");
    chain.refused(
        Some(HARDHAT_KEY_2),
        &["l1", "governance", "schedule", "set-governor", "--governor", &stranger],
        "NotGovernor",
    );
    chain.refused(Some(HARDHAT_KEY_2), &["l1", "revert-epochs", "--last-kept", "0"], "NotOperator");
    // the guardian cannot make itself (or anyone) governor
    chain.refused(
        Some(HARDHAT_KEY_1),
        &["l1", "governance", "schedule", "set-governor", "--governor", &address(HARDHAT_KEY_1)],
        "NotGovernor",
    );

    // changes that would leave a role to nobody are refused before sending
    for (call, arg, value) in [
        ("set-governor", "--governor", "0x0000000000000000000000000000000000000000"),
        ("set-governor", "--governor", rollup.as_str()),
        ("set-guardian", "--guardian", rollup.as_str()),
    ] {
        let o = chain.zkr(Some(HARDHAT_KEY_0), &["l1", "governance", "schedule", call, arg, value]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains("refusing set"), "{call} {value} was not refused:\n{err}");
    }
    assert!(chain.operations().is_empty(), "nothing was scheduled");

    // a stranger cannot cancel the governor's operation; the guardian may veto an ordinary change…
    let op = chain.schedule(&["set-operator", "--operator", &stranger, "--enabled", "true"]);
    chain.refused(Some(HARDHAT_KEY_2), &["l1", "governance", "cancel", "--id", &op], "NotGovernorOrGuardian");
    chain.ok(Some(HARDHAT_KEY_1), &["l1", "governance", "cancel", "--id", &op]);
    // …but not its own replacement: governance can always remove a hostile guardian
    let replace = chain.schedule(&["set-guardian", "--guardian", &stranger]);
    chain.refused(Some(HARDHAT_KEY_1), &["l1", "governance", "cancel", "--id", &replace], "GuardianCannotCancel");
    chain.refused(
        Some(HARDHAT_KEY_1),
        &["l1", "governance", "cancel", "--id", &replace, "--dry-run"],
        "GuardianCannotCancel",
    );
    assert_eq!(chain.operations().len(), 1, "the replacement is still scheduled");
    chain.advance(4 * 86_400 + 1);
    // anyone may execute a ready operation: a governor who lost its key after scheduling does not block it
    chain.ok(Some(HARDHAT_KEY_2), &["l1", "governance", "execute", "--id", &replace]);
    let s = chain.status();
    assert_eq!((s["guardian"].as_str(), s["governor"].as_str()), (Some(stranger.as_str()), Some(governor.as_str())));
    chain.refused(Some(HARDHAT_KEY_1), &["l1", "pause"], "NotGuardian");

    // the (new) guardian cannot keep the rollup paused back to back: a pause ends, and the next waits a cooldown
    chain.ok(Some(HARDHAT_KEY_2), &["l1", "pause"]);
    chain.ok(Some(HARDHAT_KEY_2), &["l1", "unpause"]);
    let err = chain.refused(Some(HARDHAT_KEY_2), &["l1", "pause"], "PauseCoolingDown");
    assert!(err.contains("may pause again at"), "{err}");
    // and an unlifted pause lapses by itself after MAX_PAUSE
    chain.advance(86_400 + 1);
    chain.ok(Some(HARDHAT_KEY_2), &["l1", "pause"]);
    assert_eq!(chain.status()["paused"], true);
    chain.advance(86_400 + 1);
    assert_eq!(chain.status()["paused"], false, "the pause lapsed");
}
