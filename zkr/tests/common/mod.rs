//! Helpers shared by the integration tests that run `zkr` (and other programs) as child processes: free ports, child
//! processes killed when a test ends, plain HTTP GETs, `zkr l1 deploy` onto a hardhat node, and a load of signed
//! transfers. Each test binary uses a part of them.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use zkr_circuits::demo;
use zkr_circuits::tx::{Domain, Transfer, Tx};
use zkr_sequencer::proto::wallet_client::WalletClient;
use zkr_sequencer::proto::{GetTxStatusRequest, SubmitTxRequest};
use zkr_settle::hardhat::HARDHAT_KEY_0;
use zkr_settle::Deployment;

pub const ZKR: &str = env!("CARGO_BIN_EXE_zkr");

/// `zkr l1 deploy` onto the node at `url` (sender: hardhat's first account, its key in `ZKR_TEST_L1_KEY`) with
/// `extra` arguments; writes the record to `record` and returns it with what zkr printed. Fails the test with zkr's
/// output if it fails.
pub fn l1_deploy(url: &str, record: &Path, extra: &[&str]) -> (Deployment, String) {
    let o = Command::new(ZKR)
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

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The last `lines` lines of `s`.
pub fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `GET path` on 127.0.0.1:`port` over HTTP/1.0: the status code and the body, None when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// The JSON a command printed on stdout (failing the test with its output when it is not JSON).
pub fn stdout_json(o: &Output) -> Value {
    let out = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}\n{}", String::from_utf8_lossy(&o.stderr)))
}

/// Starts `program` in `dir` with a clean ZKR_* environment (none of this process's) plus `ZKR_LOG=info` and `env`,
/// its stdout and stderr appended to `log`.
pub fn spawn_logged(
    program: &str,
    args: &[&str],
    dir: &Path,
    log: &Path,
    env: &[(&str, String)],
) -> std::io::Result<Child> {
    let log = File::options().create(true).append(true).open(log)?;
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("ZKR_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("ZKR_LOG", "info").envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    cmd.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
    cmd.spawn()
}

/// A process killed when dropped, its output in `<name>.out` and `<name>.err`; when the test fails, the end of its
/// output is printed.
pub struct Running {
    pub child: Child,
    name: String,
    out: PathBuf,
    err: PathBuf,
}

impl Running {
    pub fn spawn(cmd: &mut Command, dir: &Path, name: &str) -> Self {
        let (out, err) = (dir.join(format!("{name}.out")), dir.join(format!("{name}.err")));
        let child = cmd
            .stdout(Stdio::from(File::create(&out).unwrap()))
            .stderr(Stdio::from(File::create(&err).unwrap()))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Running { child, name: name.to_string(), out, err }
    }

    /// Its stdout and stderr so far.
    pub fn output(&self) -> (String, String) {
        (std::fs::read_to_string(&self.out).unwrap_or_default(), std::fs::read_to_string(&self.err).unwrap_or_default())
    }

    /// Its stdout and the last 30 lines of its stderr, newest first, for a failure message.
    pub fn log(&self) -> String {
        let (out, err) = self.output();
        format!("{} output:\n{out}\n{}", self.name, err.lines().rev().take(30).collect::<Vec<_>>().join("\n"))
    }

    /// Whether it succeeded, once it has ended (None: still running).
    pub fn ended(&mut self) -> Option<bool> {
        self.child.try_wait().unwrap().map(|s| s.success())
    }

    /// Waits for the process to end (at most `secs`); its exit status and output.
    pub fn wait(&mut self, secs: u64, what: &str, context: &dyn Fn() -> String) -> (bool, String, String) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let (out, err) = self.output();
                return (status.success(), out, err);
            }
            if Instant::now() > deadline {
                let (out, err) = self.output();
                panic!("{what} did not end within {secs} s:\n{out}\n{err}\n{}", context());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let (out, err) = self.output();
            eprintln!("==== {}\n{}\n{}", self.name, tail(&out, 20), tail(&err, 40));
        }
    }
}

/// `zkr devnet --forever` in `dir` with two workers and batches of two, one batch an epoch (a batch waits up to 3 s
/// for a second transaction, a begun epoch is padded after 2 s), its data in `dir/data`, with `args` added (the
/// wallet API's addresses).
pub fn small_devnet(dir: &Path, args: &[&str]) -> Running {
    std::fs::write(dir.join("devnet.toml"), "max_wait_ms = 3000\nepoch_timeout_ms = 2000\n").unwrap();
    let mut cmd = Command::new(ZKR);
    cmd.args(["devnet", "--capacity", "2", "--epoch-height", "1", "--workers", "2", "--forever"])
        .args(["--config", "devnet.toml", "--data-dir", "data"])
        .args(args)
        .current_dir(dir);
    Running::spawn(&mut cmd, dir, "devnet")
}

/// Transfers among the sequencer's genesis accounts, each sent until the sequencer acknowledges it: through an
/// outage the same bytes go again, and ALREADY_EXISTS for them ("already submitted") means an earlier try was
/// stored. Acknowledged transactions are kept in the order the sequencer executed them (one at a time, no gaps).
pub struct Load {
    keys: Vec<zkr_circuits::schnorr::SecretKey>,
    nonces: Vec<u32>,
    sent: u32,
    pub acked: Vec<zkr_circuits::tx::SignedTx>,
    url: String,
}

impl Load {
    pub fn new(wallet_port: u16) -> Load {
        let keys = demo::keys(1, 8);
        Load { nonces: vec![0; 8], keys, sent: 0, acked: Vec::new(), url: format!("http://127.0.0.1:{wallet_port}") }
    }

    pub async fn client(&self) -> Option<WalletClient<tonic::transport::Channel>> {
        let endpoint = tonic::transport::Endpoint::from_shared(self.url.clone()).ok()?;
        endpoint.connect_timeout(Duration::from_secs(2)).connect().await.ok().map(WalletClient::new)
    }

    pub async fn submit(&mut self, n: usize) {
        for _ in 0..n {
            let from = (self.sent % 8) as usize;
            let to = (self.sent + 3) % 8;
            self.sent += 1;
            let transfer =
                Transfer { from: from as u32, to, amount: u64::from(self.sent), fee: 0, nonce: self.nonces[from] };
            let tx = Tx::Transfer(transfer).sign(&self.keys[from], &Domain::DEVNET);
            let bytes = tx.to_bytes();
            let t = Instant::now();
            loop {
                assert!(t.elapsed() < Duration::from_secs(120), "transaction {} never acknowledged", self.sent);
                let Some(mut c) = self.client().await else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                };
                match c.submit_tx(SubmitTxRequest { tx: bytes.clone() }).await {
                    Ok(_) => break,
                    Err(s) if s.code() == tonic::Code::AlreadyExists && s.message().contains("already submitted") => {
                        break
                    }
                    Err(s)
                        if matches!(
                            s.code(),
                            tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
                        ) =>
                    {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(s) => panic!("transaction {} refused: {s:?}", self.sent),
                }
            }
            self.nonces[from] += 1;
            self.acked.push(tx);
        }
    }

    /// The stages of the acknowledged transactions (None where the sequencer does not answer).
    pub async fn stages(&self) -> Option<Vec<i32>> {
        let mut c = self.client().await?;
        let mut out = Vec::new();
        for tx in &self.acked {
            let hash = zkr_sequencer::TxHash::of(&tx.tx.id()).0.to_vec();
            out.push(c.get_tx_status(GetTxStatusRequest { tx_hash: hash }).await.ok()?.into_inner().stage);
        }
        Some(out)
    }
}
