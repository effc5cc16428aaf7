//! `zkr devnet` end to end: capacity-2 batches reach a verified epoch proof that is then finalized on the
//! in-process L1 (the verifier for these circuits is generated and compiled at start), and a second run on the same
//! data dir resumes and proves and settles the next epoch. Then the same against a hardhat JSON-RPC node, on contracts
//! deployed by `zkr l1 deploy`.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use zkr_settle::hardhat::{HardhatNode, HARDHAT_KEY_0};
use zkr_settle::{Deployment, RollupProgress, RpcL1};

mod common;

fn devnet(dir: &std::path::Path) -> (bool, String, String) {
    devnet_with(dir, &[], &[])
}

fn devnet_with(dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_zkr"))
        .envs(env.iter().copied())
        .args([
            "devnet",
            "--demo",
            "--tps",
            "8",
            "--capacity",
            "2",
            "--epoch-height",
            "1",
            "--workers",
            "2",
            "--grpc",
            "off",
        ])
        .arg("--data-dir")
        .arg(dir)
        .args(extra)
        .output()
        .expect("runs zkr devnet");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn devnet_reaches_a_verified_epoch_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = devnet(dir.path());
    assert!(ok, "devnet failed:\n{err}");
    assert!(out.contains("epoch 0 proof verified: batches 0..=1"), "no epoch 0 in:\n{out}\n{err}");
    assert!(out.contains("epoch 0 finalized on L1: rollup epoch 1"), "epoch 0 not settled:\n{out}\n{err}");
    for f in ["sequencer.db", "queue.db", "blobs/proofs/L1-00000000-00000001.proof"] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }

    let (ok, out2, err2) = devnet(dir.path());
    assert!(ok, "second devnet run failed:\n{err2}");
    // while epoch 0 was being settled the first run may have verified more epochs; the second run goes on
    // from wherever it stopped
    let first = verified(&out);
    let resumed = verified(&out2);
    let (k, old_root_k, _) = resumed.first().cloned().unwrap_or_else(|| panic!("nothing verified:\n{out2}\n{err2}"));
    let last_of_first_run = first.last().expect("epoch 0").0;
    assert!(k > last_of_first_run, "the resumed run re-did epoch {k}:\n{out}\n{out2}");
    if let Some((_, _, new_root)) = first.iter().find(|(e, _, _)| e + 1 == k) {
        assert_eq!(new_root, &old_root_k, "epoch {k} does not start where epoch {} ended", k - 1);
    }
    // a fresh in-process L1 starts at the resumed state
    assert!(
        out2.contains(&format!("epoch {k} finalized on L1: rollup epoch 1")),
        "epoch {k} not settled:\n{out2}\n{err2}"
    );
}

/// (epoch, old root, new root) of every "proof verified" line.
/// `(epoch, rollup epoch)` of each "epoch N finalized on L1: rollup epoch M" line.
fn finalized(out: &str) -> Vec<(u64, u64)> {
    out.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("epoch ")?;
            let (n, rest) = rest.split_once(" finalized on L1: rollup epoch ")?;
            Some((n.parse().ok()?, rest.split(',').next()?.parse().ok()?))
        })
        .collect()
}

fn verified(out: &str) -> Vec<(u64, String, String)> {
    out.lines()
        .filter(|l| l.contains("proof verified"))
        .map(|l| {
            let epoch = l.strip_prefix("epoch ").unwrap().split(' ').next().unwrap().parse().unwrap();
            let old = l.split("old root ").nth(1).unwrap().split(',').next().unwrap().to_string();
            let new = l.split("new root ").nth(1).unwrap().split(',').next().unwrap().to_string();
            (epoch, old, new)
        })
        .collect()
}

/// `zkr l1 deploy` onto a hardhat node, then the devnet settles on that deployment with 2 confirmations (a
/// background miner adds blocks), and a resumed run settles the next epoch on the same rollup.
#[test]
fn devnet_settles_on_a_deployment_made_by_zkr_l1_deploy() {
    let node = match HardhatNode::start() {
        Ok(n) => Arc::new(n),
        Err(e) => panic!("hardhat could not start (run `npm ci --prefix verifier-contracts`): {e}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("l1.toml");
    let (deployed, out) = common::l1_deploy(node.url(), &record, &["--capacity", "2", "--epoch-height", "1"]);
    assert!(out.contains(&deployed.rollup.to_string()), "the rollup's address is printed:\n{out}");
    // the execute transaction of each epoch needs a second block: mine one every 200 ms meanwhile
    let miner = node.mine_every(Duration::from_millis(200));
    let config = dir.path().join("devnet.toml");
    std::fs::write(
        &config,
        format!(
            "[l1]\nmode = \"rpc\"\nurl = \"{}\"\nprivate_key_env = \"ZKR_TEST_L1_KEY\"\ndeployment = {:?}\n\
             confirmations = 2\nconfirmation_timeout_s = 120\n",
            node.url(),
            record.display().to_string()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let run = || devnet_with(&data, &["--config", config.to_str().unwrap()], &[("ZKR_TEST_L1_KEY", HARDHAT_KEY_0)]);
    let (ok, out, err) = run();
    assert!(ok, "devnet on hardhat failed:\n{err}\nnode log:\n{}", node.log_tail());
    assert!(out.contains("epoch 0 finalized on L1: rollup epoch 1"), "not settled:\n{out}\n{err}");
    assert!(out.contains(&deployed.rollup.to_string()), "settled on the deployed rollup:\n{out}");
    let mut settled = finalized(&out);
    // resumed: epochs verified but not settled before the stop settle now, then at least one new one, all on the
    // same rollup and numbered on from where the first run left it
    let (ok, out, err) = run();
    assert!(ok, "resumed devnet on hardhat failed:\n{err}\nnode log:\n{}", node.log_tail());
    let again = finalized(&out);
    assert!(!again.is_empty(), "the resumed run settled nothing:\n{out}\n{err}");
    settled.extend(again);
    drop(miner);
    // each epoch once, in order, as rollup epoch N + 1 (one settled between a run's stop and its exit goes
    // unreported)
    assert!(settled.windows(2).all(|w| w[0].0 < w[1].0), "{settled:?}");
    assert!(settled.iter().all(|&(epoch, l1_epoch)| l1_epoch == epoch + 1), "{settled:?}");

    assert_eq!(Deployment::load(&record).unwrap(), deployed, "the record is used, not replaced");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let l1 = RpcL1::connect_with_signer(node.url(), HARDHAT_KEY_0.parse().unwrap()).await.unwrap();
        deployed.check(&l1).await.expect("the recorded contracts are on the chain");
        let p = RollupProgress::read(&l1, deployed.rollup).await.unwrap();
        // a stop may cut off an epoch being settled after the last one reported
        assert!(p.executed >= settled.len() as u64 && p.executed >= 2, "{p:?} after {settled:?}");
        assert!(p.committed >= p.proven && p.proven >= p.executed, "{p:?}");
    });

    // the escape hatch's state, from the chain alone: the devnet's data dir plays no part
    let rebuild = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_zkr"))
            .args(["state", "rebuild", "--rpc-url", node.url(), "--rollup", &deployed.rollup.to_string()])
            .args(["--from-block", &deployed.deploy_block.to_string(), "--json"])
            .args(extra)
            .output()
            .expect("runs zkr state rebuild")
    };
    let o = rebuild(&[]);
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "zkr state rebuild failed:\n{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    let p = rt.block_on(async {
        let l1 = RpcL1::connect_with_signer(node.url(), HARDHAT_KEY_0.parse().unwrap()).await.unwrap();
        RollupProgress::read(&l1, deployed.rollup).await.unwrap()
    });
    assert_eq!(v["executed_epoch"], p.executed, "{out}");
    assert_eq!(v["executed_root"], p.executed_root.to_string(), "{out}");
    let o = rebuild(&["--account", "1"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!((v["account"].as_u64(), v["siblings"].as_array().map(Vec::len)), (Some(1), Some(32)), "{out}");
    // an account nobody opened has nothing to prove
    let o = rebuild(&["--account", "999"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("account 999 is empty"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
