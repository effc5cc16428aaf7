//! `zkr devnet` end to end: capacity-2 batches reach a verified epoch proof that is then finalized on the
//! in-process L1 (the verifier for these circuits is generated and compiled at start), and a second run on the same
//! data dir resumes and proves and settles the next epoch. Then the same against a hardhat JSON-RPC node.

use std::process::Command;

use zkr_settle::hardhat::{HardhatNode, HARDHAT_KEY_0};
use zkr_settle::{Deployment, RpcL1, L1};

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

#[test]
fn devnet_settles_an_epoch_on_a_hardhat_node() {
    let node = match HardhatNode::start() {
        Ok(n) => n,
        Err(e) => panic!("hardhat could not start (run `npm ci --prefix verifier-contracts`): {e}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("devnet.toml");
    std::fs::write(
        &config,
        format!("[l1]\nmode = \"rpc\"\nurl = \"{}\"\nprivate_key_env = \"ZKR_TEST_L1_KEY\"\n", node.url()),
    )
    .unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) =
        devnet_with(&data, &["--config", config.to_str().unwrap()], &[("ZKR_TEST_L1_KEY", HARDHAT_KEY_0)]);
    assert!(ok, "devnet on hardhat failed:\n{err}\nnode log:\n{}", node.log_tail());
    assert!(out.contains("epoch 0 finalized on L1: rollup epoch 1"), "not settled:\n{out}\n{err}");
    // the deployment record is in the data dir and matches the chain
    let d = Deployment::load(&data.join("l1.toml")).expect("deployment record");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let l1 = RpcL1::connect_with_signer(node.url(), HARDHAT_KEY_0.parse().unwrap()).await.unwrap();
        d.check(&l1).await.expect("the recorded contracts are on the chain");
        // totalExecuted() of the rollup is 1
        let sel = alloy_primitives::keccak256("totalExecuted()")[..4].to_vec();
        let word = l1.call(d.rollup, sel).await.unwrap();
        assert_eq!(word.last().copied(), Some(1), "the rollup executed one epoch");
    });
    drop(node);
}
