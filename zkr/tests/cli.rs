//! The `zkr` binary end to end: prove a batch, verify it, and refuse damaged files.

use std::path::Path;
use std::process::{Command, Output};

fn zkr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkr")).args(args).output().expect("runs zkr")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_refused(path: &Path, why: &str) {
    let o = zkr(&["verify", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{why}: expected exit 1, stderr: {}", stderr(&o));
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{why}: panicked: {err}");
    let last = err.lines().last().unwrap_or("");
    assert!(last.starts_with("error: "), "{why}: no one-line reason: {err}");
}

#[test]
fn prove_verify_and_refuse_damaged_proofs() {
    let dir = std::env::temp_dir().join(format!("zkr-cli-{}", std::process::id()));
    let out = dir.to_str().unwrap();
    let o = zkr(&["prove-batch", "--txs", "1", "--out", out, "--all-kinds", "--seed", "4"]);
    assert!(o.status.success(), "prove-batch failed: {}", stderr(&o));
    let public: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("public_inputs.json")).unwrap()).unwrap();
    assert_eq!(public["capacity"], 1);
    let trace: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("trace.json")).unwrap()).unwrap();
    assert_eq!(trace["transactions"].as_array().unwrap().len(), 1);

    let proof = dir.join("proof.bin");
    let o = zkr(&["verify", proof.to_str().unwrap()]);
    assert!(o.status.success(), "valid proof refused: {}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains(public["new_root"].as_str().unwrap()));

    let bytes = std::fs::read(&proof).unwrap();
    let bad = dir.join("bad.bin");
    // truncated in the header and in the body
    for n in [0, 5, 30, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&bad, &bytes[..n]).unwrap();
        assert_refused(&bad, &format!("truncated to {n}"));
    }
    // flipped bytes across the header and the proof
    for pos in [3, 9, 12, 20, 100, bytes.len() / 3, bytes.len() - 10] {
        let mut b = bytes.clone();
        b[pos] ^= 0x5a;
        std::fs::write(&bad, &b).unwrap();
        assert_refused(&bad, &format!("byte {pos} flipped"));
    }
    // trailing bytes after a valid proof: a partial field element, and a whole one
    for extra in [1usize, 8] {
        let mut b = bytes.clone();
        b.extend(std::iter::repeat_n(0u8, extra));
        std::fs::write(&bad, &b).unwrap();
        assert_refused(&bad, &format!("{extra} trailing bytes"));
    }
    // a header asking for a huge circuit is refused before anything is built: with a few bytes
    // after it, and with a plausible length but a capacity above --max-capacity
    let mut header = bytes[..46].to_vec();
    header[10..14].copy_from_slice(&1024u32.to_le_bytes());
    std::fs::write(&bad, [header.clone(), vec![0; 10]].concat()).unwrap();
    assert_refused(&bad, "56-byte file naming capacity 1024");
    assert!(stderr(&zkr(&["verify", bad.to_str().unwrap()])).contains("every batch proof has at least"));
    std::fs::write(&bad, [header, bytes[46..].to_vec()].concat()).unwrap();
    let o = zkr(&["verify", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("above --max-capacity 64") && !stderr(&o).contains("building"), "{}", stderr(&o));
    // a foreign file
    std::fs::write(&bad, b"{\"not\": \"a proof\"}").unwrap();
    assert_refused(&bad, "foreign file");
    assert_refused(&dir.join("missing.bin"), "missing file");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn keygen_prints_a_public_key_and_writes_the_secret() {
    let dir = std::env::temp_dir().join(format!("zkr-keygen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sk = dir.join("sk.hex");
    let o = zkr(&["keygen", "--out", sk.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pk = hex::decode(v["public_key"].as_str().unwrap()).unwrap();
    assert!(zkr_circuits::schnorr::PublicKey::from_bytes(&pk).is_ok());
    let secret = hex::decode(std::fs::read_to_string(&sk).unwrap().trim()).unwrap();
    let key = zkr_circuits::schnorr::SecretKey::from_bytes(&secret).unwrap();
    assert_eq!(key.public_key().to_bytes().to_vec(), pk);
    // refuses to overwrite an existing key
    let again = zkr(&["keygen", "--out", sk.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    std::fs::remove_dir_all(&dir).ok();
}

/// `zkr queue`: a dead job is listed with its error, shown in full, and requeued; a live one is not requeued.
#[test]
fn queue_commands_find_and_requeue_a_dead_job() {
    use zkr_queue::{JobKind, JobState, NewJob, Queue, QueueConfig};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("queue.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (dead, live) = rt.block_on(async {
        let q = Queue::connect(&url, QueueConfig { lease_ms: 30_000, max_attempts: 1, ..QueueConfig::default() })
            .await
            .unwrap();
        let job = |b| NewJob {
            kind: JobKind::ProveBatch,
            batch_start: b,
            batch_end: b,
            level: 0,
            input_key: format!("traces/{b}"),
            deps: vec![],
        };
        let dead = q.enqueue(job(0)).await.unwrap();
        let live = q.enqueue(job(1)).await.unwrap();
        q.claim("w", &[JobKind::ProveBatch]).await.unwrap().unwrap();
        assert_eq!(q.fail(dead, "w", "witness generation failed").await.unwrap(), JobState::Dead);
        q.close().await;
        (dead, live)
    });
    let q = |args: &[&str]| {
        let mut all = vec!["queue", "--database-url", &url];
        all.extend_from_slice(args);
        zkr(&all)
    };
    let o = q(&["list", "--state", "dead"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("witness generation failed") && text.lines().count() == 1, "{text}");
    let o = q(&["show", &dead.to_string()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("state: dead") && text.contains("last held by: w"), "{text}");
    assert!(text.contains("failed; dead: attempts exhausted by w: witness generation failed"), "{text}");
    assert!(text.contains("leased by w: attempt 1"), "{text}");
    let o = q(&["requeue", &live.to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not dead"), "{}", stderr(&o));
    let o = q(&["--json", "requeue", &dead.to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let job: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((job["state"].as_str(), job["attempts"].as_u64()), (Some("queued"), Some(0)));
    // a mistyped path is an error, not an empty queue
    let missing = format!("sqlite://{}", dir.path().join("nope.db").display());
    let o = zkr(&["queue", "--database-url", &missing, "list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
}
