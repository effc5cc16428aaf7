//! kill -9 of a real sequencer process under concurrent load: no acknowledged transaction is
//! lost and the restarted sequencer rebuilds the same state root.
//!
//! The child is this test binary itself, re-run with `ZKR_SEQ_CRASH_CHILD=<data dir>` and
//! filtered to `crash::crash_child`, which submits transfers from 4 accounts concurrently and
//! prints `ACK <account> <nonce> <hash>` after each acknowledgement.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use zkr_sequencer::{NoProgress, NullSink, Sequencer, TxStage};

use super::{config, hash, keys, transfer};

const CHILD_ENV: &str = "ZKR_SEQ_CRASH_CHILD";
const SENDERS: u32 = 4;

/// Does nothing unless run as the child of `kill_9_loses_no_acknowledged_tx`.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cfg = config(std::path::Path::new(&dir), 3, 50);
        let seq = Sequencer::open(&cfg, Arc::new(NullSink), Arc::new(NoProgress), &prometheus::Registry::new())
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for from in 0..SENDERS {
            let seq = seq.clone();
            tasks.push(tokio::spawn(async move {
                let k = keys();
                for nonce in 0..100_000u32 {
                    let t = transfer(&k, from, from + 1, 1, nonce);
                    seq.submit(&t.to_bytes()).await.unwrap();
                    println!("ACK {from} {nonce} {}", hash(&t).to_hex());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn kill_9_loses_no_acknowledged_tx() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash::crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let Some(rest) = line.strip_prefix("ACK ") else { continue };
        let f: Vec<&str> = rest.split(' ').collect();
        acked.push((f[0].parse::<u32>().unwrap(), f[1].parse::<u32>().unwrap(), f[2].to_string()));
        if acked.len() == 80 {
            child.kill().unwrap(); // SIGKILL, mid-flight
            break;
        }
    }
    child.wait().unwrap();
    assert_eq!(acked.len(), 80, "the child died early");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cfg = config(dir.path(), 3, 60_000);
        let seq = Sequencer::open(&cfg, Arc::new(NullSink), Arc::new(NoProgress), &prometheus::Registry::new())
            .await
            .expect("reopens after kill -9");
        for (from, nonce, h) in &acked {
            let hash = zkr_sequencer::TxHash::from_slice(&hex::decode(h).unwrap()).unwrap();
            let st = seq.tx_status(hash).await.unwrap().unwrap_or_else(|| panic!("acknowledged tx {h} lost"));
            assert_eq!(st.stage, TxStage::Sequenced, "{from}/{nonce}");
        }
        // The state is exactly the executed prefix of each sender's nonces (every transfer
        // moves 1 from `from` to `from + 1`, so the final leaves do not depend on order).
        let k = keys();
        let mut native = zkr_circuits::demo::genesis(&k);
        for from in 0..SENDERS {
            let n = seq.account(from, false).await.unwrap().account.unwrap().nonce;
            let max_acked = acked.iter().filter(|a| a.0 == from).map(|a| a.1 + 1).max().unwrap_or(0);
            assert!(n >= max_acked, "account {from}: nonce {n} < acknowledged {max_acked}");
            for nonce in 0..n {
                native.apply(&transfer(&k, from, from + 1, 1, nonce)).unwrap();
            }
        }
        assert_eq!(seq.root().await.unwrap(), native.root(), "restart rebuilt another root");
        seq.shutdown().await;
    });
}
