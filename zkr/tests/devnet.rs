//! `zkr devnet` end to end: capacity-2 batches reach a verified epoch proof, and a second
//! run on the same data dir resumes and proves the next epoch.

use std::process::Command;

fn devnet(dir: &std::path::Path) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_zkr"))
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
    for f in ["sequencer.db", "queue.db", "blobs/proofs/L1-00000000-00000001.proof"] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }

    let (ok, out2, err2) = devnet(dir.path());
    assert!(ok, "second devnet run failed:\n{err2}");
    assert!(out2.contains("epoch 1 proof verified: batches 2..=3"), "resume did not reach epoch 1:\n{out2}\n{err2}");
    // epoch 1 starts where epoch 0 ended
    let new_root_0 = out.split("new root ").nth(1).unwrap().split(',').next().unwrap();
    let old_root_1 = out2.split("old root ").nth(1).unwrap().split(',').next().unwrap();
    assert_eq!(new_root_0, old_root_1);
}
