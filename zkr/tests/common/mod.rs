//! Helpers shared by the integration tests that run `zkr` against a hardhat node.

use std::path::Path;
use std::process::Command;

use zkr_settle::hardhat::HARDHAT_KEY_0;
use zkr_settle::Deployment;

/// `zkr l1 deploy` onto the node at `url` (sender: hardhat's first account, its key in `ZKR_TEST_L1_KEY`) with
/// `extra` arguments; writes the record to `record` and returns it with what zkr printed. Fails the test with zkr's
/// output if it fails.
pub fn l1_deploy(url: &str, record: &Path, extra: &[&str]) -> (Deployment, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_zkr"))
        .env("ZKR_TEST_L1_KEY", HARDHAT_KEY_0)
        .args(["l1", "deploy", "--rpc-url", url, "--private-key-env", "ZKR_TEST_L1_KEY"])
        .args(extra)
        .arg("--out")
        .arg(record)
        .output()
        .expect("runs zkr l1 deploy");
    assert!(
        o.status.success(),
        "zkr l1 deploy failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (Deployment::load(record).expect("deploy wrote its record"), String::from_utf8_lossy(&o.stdout).into_owned())
}
