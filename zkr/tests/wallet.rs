//! `zkr wallet` as people and scripts run it. Against a devnet's wallet API: a demo key written to a file,
//! `address`, `account`, an accepted `transfer`, refusals (a stale nonce, an overspend, a withdrawal to the zero
//! address, malformed bytes) that print the sequencer's reason and exit non-zero, docs/wallets.md's shell example
//! (the block marked `<!-- ci: wallet -->`) run as written, and `status --follow` until the transfer is finalized on
//! the devnet's in-process L1. Against a hardhat node with `zkr l1 deploy`'s contracts: deposits that open and top up
//! accounts, forced exits and `withdraw-pending`, with the rollup's refusals by name.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use zkr_circuits::demo;
use zkr_settle::hardhat::{HardhatNode, HARDHAT_KEY_0, HARDHAT_KEY_1};

mod common;

use common::{free_port, small_devnet, Running, ZKR};

fn zkr(dir: &Path, args: &[&str]) -> Output {
    Command::new(ZKR).current_dir(dir).args(args).output().expect("runs zkr")
}

/// stdout of a command that must succeed.
fn ok(o: Output, what: &str) -> String {
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{what} failed:\n{out}\n{err}");
    out.into_owned()
}

/// stderr of a command that must fail.
fn refused(o: Output, what: &str) -> String {
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!o.status.success(), "{what} succeeded:\n{out}\n{err}");
    err.into_owned()
}

fn json(s: &str) -> Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// The shell block of docs/wallets.md marked `<!-- ci: wallet -->`.
fn wallet_doc_block() -> String {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/wallets.md");
    let text = std::fs::read_to_string(&doc).expect("docs/wallets.md");
    let mut lines = text.lines().skip_while(|l| l.trim() != "<!-- ci: wallet -->").skip(1);
    assert_eq!(lines.next().map(str::trim), Some("```sh"), "the ci: wallet marker must stand right above a sh block");
    let block: Vec<&str> = lines.take_while(|l| !l.starts_with("```")).collect();
    assert!(block.iter().any(|l| l.contains("zkr wallet transfer")), "the wallet example transfers nothing");
    block.join("\n") + "\n"
}

#[test]
fn wallet_commands_against_a_devnet() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut devnet = small_devnet(d, &["--grpc", &format!("127.0.0.1:{port}"), "--http", "off"]);
    let devnet_log = |dev: &Running| dev.log();

    // a demo key in a file, as the test derives it and as `zkr wallet new --demo-account` writes it
    let keys = demo::keys(1, 8);
    std::fs::write(d.join("k1"), hex::encode(keys[1].to_bytes())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join("k1"), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let pk1 = hex::encode(keys[1].public_key().to_bytes());
    let new = ok(zkr(d, &["wallet", "new", "--demo-account", "1", "--out", "k1-new"]), "wallet new");
    assert_eq!(new.trim(), pk1);
    assert_eq!(std::fs::read_to_string(d.join("k1-new")).unwrap().trim(), hex::encode(keys[1].to_bytes()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(d.join("k1-new")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = refused(zkr(d, &["wallet", "new", "--out", "k1-new"]), "overwriting a key");
    assert!(again.contains("never overwritten"), "{again}");
    let addr = ok(zkr(d, &["wallet", "address", "--key", "k1", "--json"]), "wallet address");
    assert_eq!(json(&addr)["public_key"], pk1.as_str());

    // the wallet API answers once the devnet has built its circuits (and its L1 contracts)
    let deadline = Instant::now() + Duration::from_secs(300);
    let account = loop {
        if let Some(ok) = devnet.ended() {
            panic!("the devnet exited (success: {ok}) before serving:\n{}", devnet_log(&devnet));
        }
        let o = zkr(d, &["wallet", "account", "--grpc", &url, "--id", "1", "--json"]);
        if o.status.success() {
            break json(&String::from_utf8_lossy(&o.stdout));
        }
        assert!(Instant::now() < deadline, "the wallet API never answered:\n{}", devnet_log(&devnet));
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(account["exists"], true);
    assert_eq!(account["public_key"], pk1.as_str());
    assert_eq!(account["latest"]["balance"], demo::GENESIS_FUNDS);
    assert_eq!(account["latest"]["nonce"], 0);
    assert_eq!(account["latest"]["siblings"].as_array().unwrap().len(), 32);
    assert_eq!(account["proven"]["batches"], 0);
    let by_key = json(&ok(zkr(d, &["wallet", "account", "--grpc", &url, "--key", "k1", "--json"]), "account --key"));
    let ids: Vec<&Value> = by_key["accounts"].as_array().unwrap().iter().map(|a| &a["account"]).collect();
    assert_eq!(ids, [1]);

    // an accepted transfer (nonce from the API, fee the sequencer's minimum)
    let sent = ok(
        zkr(
            d,
            &["wallet", "transfer", "--grpc", &url, "--key", "k1", "--from", "1", "--to", "2", "--amount", "0.0001eth"],
        ),
        "transfer",
    );
    let hash = sent.trim().to_string();
    assert!(hash.starts_with("0x") && hash.len() == 66, "transfer printed {sent:?}");
    // refusals carry the sequencer's reason and its label
    let stale = refused(
        zkr(
            d,
            &[
                "wallet", "transfer", "--grpc", &url, "--key", "k1", "--from", "1", "--to", "2", "--amount", "7gwei",
                "--nonce", "0",
            ],
        ),
        "a transfer with a used nonce",
    );
    assert!(stale.contains("nonce too low: account 1 expects 1, got 0") && stale.contains("nonce_too_low"), "{stale}");
    let overspend = refused(
        zkr(
            d,
            &["wallet", "transfer", "--grpc", &url, "--key", "k1", "--from", "1", "--to", "2", "--amount", "0.002eth"],
        ),
        "an overspend",
    );
    assert!(
        overspend.contains("insufficient balance in account 1: balance 900000, needed 2000000")
            && overspend.contains("insufficient_balance"),
        "{overspend}"
    );
    let zero = "0x0000000000000000000000000000000000000000";
    let to_zero = refused(
        zkr(d, &["wallet", "withdraw", "--grpc", &url, "--key", "k1", "--from", "1", "--to-l1", zero, "--amount", "1"]),
        "a withdrawal to the zero address",
    );
    assert!(to_zero.contains("to the zero L1 address") && to_zero.contains("(invalid)"), "{to_zero}");
    let garbage = refused(zkr(d, &["wallet", "submit", "0x0102", "--grpc", &url]), "malformed bytes");
    assert!(garbage.contains("malformed transaction"), "{garbage}");
    let unknown = refused(zkr(d, &["wallet", "status", &format!("0x{}", "00".repeat(32)), "--grpc", &url]), "status");
    assert!(unknown.contains("does not know transaction"), "{unknown}");

    // follow the transfer while the docs' example runs its own (demo account 3) to the end
    let mut follow = Command::new(ZKR);
    follow.args(["wallet", "status", &hash, "--grpc", &url, "--follow", "--json"]).current_dir(d);
    let mut follow = Running::spawn(&mut follow, d, "follow");
    let docs = d.join("docs-example");
    std::fs::create_dir(&docs).unwrap();
    let script = wallet_doc_block().replace("http://127.0.0.1:50051", &url);
    let bin_dir = Path::new(ZKR).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut example = Command::new("bash");
    example.args(["-euo", "pipefail", "-c", &script]).env("PATH", path).current_dir(&docs);
    let mut example = Running::spawn(&mut example, d, "example");
    let (example_ok, out, err) = example.wait(400, "docs/wallets.md's example", &|| devnet_log(&devnet));
    assert!(example_ok, "docs/wallets.md's example failed:\n{out}\n{err}\n{}", devnet_log(&devnet));
    assert!(out.contains("finalized"), "the example's transfer was not followed to finality:\n{out}\n{err}");

    let (follow_ok, out, err) = follow.wait(400, "status --follow", &|| devnet_log(&devnet));
    assert!(follow_ok, "status --follow failed:\n{out}\n{err}\n{}", devnet_log(&devnet));
    let stages: Vec<String> = out
        .lines()
        .map(|l| {
            let v = json(l);
            assert_eq!(v["tx_hash"], hash.as_str(), "{l}");
            v["stage"].as_str().unwrap().to_string()
        })
        .collect();
    let order = ["received", "sequenced", "proven", "aggregated", "finalized"];
    let ranks: Vec<usize> = stages.iter().map(|s| order.iter().position(|o| o == s).expect("a known stage")).collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "one line per stage change, in order: {stages:?}");
    assert_eq!(stages.last().map(String::as_str), Some("finalized"), "{stages:?}");

    // once finalized, the proven state holds the transfer too
    let after = json(&ok(zkr(d, &["wallet", "account", "--grpc", &url, "--id", "1", "--json"]), "account"));
    assert_eq!(after["proven"]["nonce"], 1, "{after}");
    assert_eq!(after["proven"]["balance"], demo::GENESIS_FUNDS - 100_000, "{after}");
    let once = json(&ok(zkr(d, &["wallet", "status", &hash, "--grpc", &url, "--json"]), "status"));
    assert_eq!(once["stage"], "finalized");
}

#[test]
fn deposits_and_forced_exits_on_l1() {
    let node = HardhatNode::start().expect("hardhat starts (npm ci --prefix verifier-contracts)");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (dep, _) = common::l1_deploy(node.url(), &d.join("l1.toml"), &[]);
    let rollup = dep.rollup.to_string();
    let l1 = |key: &str, args: &[&str]| {
        Command::new(ZKR)
            .current_dir(d)
            .env("ZKR_TEST_L1_KEY", key)
            .args(["wallet"])
            .args(args)
            .args(["--rpc-url", node.url(), "--rollup", &rollup, "--private-key-env", "ZKR_TEST_L1_KEY", "--json"])
            .output()
            .unwrap()
    };
    ok(zkr(d, &["wallet", "new", "--out", "mine"]), "wallet new");

    // a new account for a new key: the id after the 8 genesis accounts
    let opened = json(&ok(l1(HARDHAT_KEY_1, &["deposit", "--to-key", "mine", "--amount", "0.001eth"]), "deposit"));
    assert_eq!((opened["account"].as_u64(), opened["opened"].as_bool()), (Some(8), Some(true)), "{opened}");
    assert_eq!(opened["amount"], 1_000_000);
    assert_eq!(opened["priority_id"], 0);
    assert!(opened["tx_hash"].as_str().unwrap().starts_with("0x"));
    // a top-up of a genesis account, its key read from the rollup's events
    let topped = json(&ok(l1(HARDHAT_KEY_1, &["deposit", "--to", "1", "--amount", "100gwei"]), "deposit --to"));
    assert_eq!((topped["account"].as_u64(), topped["amount"].as_u64()), (Some(1), Some(100)), "{topped}");
    // a top-up naming the wrong key is the rollup's refusal
    let wrong = refused(l1(HARDHAT_KEY_1, &["deposit", "--to", "1", "--to-key", "mine", "--amount", "1"]), "wrong key");
    assert!(wrong.contains("PubkeyMismatch"), "{wrong}");
    let fine = refused(l1(HARDHAT_KEY_1, &["deposit", "--to", "1", "--amount", "1.5gwei"]), "a fraction of a gwei");
    assert!(fine.contains("finer than 1 gwei"), "{fine}");

    // the exit owner of account 8 (the depositor) may force its exit; anyone else is refused by name
    let stranger = refused(l1(HARDHAT_KEY_0, &["forced-exit", "--account", "8"]), "a stranger's forced exit");
    assert!(stranger.contains("NotExitOwner"), "{stranger}");
    let exit = json(&ok(l1(HARDHAT_KEY_1, &["forced-exit", "--account", "8"]), "forced-exit"));
    // nothing is owed before an epoch executes
    let nothing = refused(l1(HARDHAT_KEY_1, &["withdraw-pending"]), "withdraw-pending with nothing owed");
    assert!(nothing.contains("NothingToWithdraw"), "{nothing}");
    assert_eq!((exit["account"].as_u64(), exit["priority_id"].as_u64()), (Some(8), Some(2)), "{exit}");
}
