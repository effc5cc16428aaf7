//! `zkr status` against a running `zkr devnet` (its `/metrics` on a free port, the load generator on, the
//! in-process L1): the heights per stage follow the devnet to an aggregated epoch, the worker is counted, the rollup
//! is neither paused nor in exit mode; a source that does not answer is shown as down and makes the command fail.
//! (The L1 half of `zkr status` is tested on a hardhat node in l1_admin.rs, a fleet's in prometheus.rs.)

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{free_port, stdout_json as json, Running, ZKR};

fn status(args: &[&str]) -> Output {
    Command::new(ZKR).arg("status").args(args).output().expect("runs zkr status")
}

#[test]
fn status_follows_a_running_devnet() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new(ZKR);
    cmd.args(["devnet", "--demo", "--tps", "4", "--workers", "1", "--forever", "--grpc", "off"])
        .args(["--metrics", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("ZKR_DEVNET_EPOCH_TIMEOUT_MS", "2000")
        .stdin(Stdio::null());
    let mut devnet = Running::spawn(&mut cmd, dir.path(), "devnet");
    let url = format!("http://127.0.0.1:{port}");

    // until an epoch proof is verified and the rollup's state has been read from the devnet's L1
    let v = loop {
        let o = status(&["--metrics-url", &url, "--json"]);
        if o.status.success() {
            let v = json(&o);
            let m = &v["metrics"];
            if m["heights"]["aggregated_epochs"].as_f64().unwrap_or(0.0) >= 1.0 && !m["paused"].is_null() {
                break v;
            }
        }
        if let Some(ok) = devnet.ended() {
            panic!("the devnet exited (success: {ok}):\n{}", devnet.log());
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "no aggregated epoch in zkr status within 300 s");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(v["sources"][0]["roles"], serde_json::json!(["devnet"]), "{v}");
    let m = &v["metrics"];
    let h = |k: &str| m["heights"][k].as_f64().unwrap_or_else(|| panic!("no {k}: {v}"));
    assert!(h("sealed_batches") >= 2.0 && h("proven_batches") >= 2.0 && h("aggregated_epochs") >= 1.0, "{v}");
    assert!(h("sealed_batches") >= h("proven_batches") && h("finalized_epochs") >= 0.0, "{v}");
    assert_eq!(m["workers"]["seen"], 1.0, "the devnet's one worker: {v}");
    assert!(m["workers"]["wanted"].is_number(), "{v}");
    assert!(m["queue_depth"]["done"].as_f64().unwrap() >= 3.0, "two batch proofs and an aggregation at least: {v}");
    for stage in ["proven", "aggregated", "finalized"] {
        assert!(m["finality_lag_seconds"][stage].is_number(), "no {stage} lag: {v}");
    }
    assert_eq!((m["paused"].clone(), m["exit_mode"].clone()), (Value::Bool(false), Value::Bool(false)), "{v}");
    assert!(v["l1"].is_null(), "no L1 was asked for");

    // the screen for a person
    let o = status(&["--metrics-url", &format!("127.0.0.1:{port}/metrics")]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}\n{}", String::from_utf8_lossy(&o.stderr));
    for part in ["up (devnet)", "heights: sealed ", "finality lag", "workers: 1 seen", "paused: no, exit mode: no"] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }

    // a source that does not answer
    let gone = format!("http://127.0.0.1:{}", free_port());
    let o = status(&["--metrics-url", &url, "--metrics-url", &gone]);
    let (text, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!o.status.success(), "a source down must fail the command:\n{text}");
    assert!(text.contains(&format!("{gone:<32} DOWN")) && text.contains("up (devnet)"), "{text}");
    assert!(err.contains("1 of 2 metrics sources did not answer") && err.contains(&gone), "{err}");
    let o = status(&[]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--metrics-url"));
    eprintln!("status_follows_a_running_devnet: {:.1} s", t0.elapsed().as_secs_f64());
}
