//! A hardhat node for tests: `HardhatNode::start()` runs `hardhat node` (npm, under `verifier-contracts/`, with
//! the `hardhat.config.js` there) on a free local port and stops it (by its PID) on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Chain id of the node (set in `hardhat.config.js`).
pub const HARDHAT_CHAIN_ID: u64 = 31337;

/// Private key of hardhat's first default account (a public, well-known test key: never use it on a real chain).
pub const HARDHAT_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// Private key of hardhat's second default account (public test key).
pub const HARDHAT_KEY_1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// Private key of hardhat's third default account (public test key).
pub const HARDHAT_KEY_2: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

/// How long `start` waits for the node to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum HardhatError {
    #[error("hardhat is not installed under {dir}: run `npm ci --prefix verifier-contracts` (expected node_modules/hardhat there)")]
    NotInstalled { dir: PathBuf },
    #[error("cannot create the node's scratch folder or log: {source}")]
    Scratch {
        #[source]
        source: std::io::Error,
    },
    #[error("cannot find a free local port: {source}")]
    NoPort {
        #[source]
        source: std::io::Error,
    },
    #[error("cannot run `node` for hardhat: {source}; is Node.js installed?")]
    Spawn {
        #[source]
        source: std::io::Error,
    },
    #[error("hardhat node exited with {status} before answering; last log lines:\n{log_tail}\n(is `npm ci --prefix verifier-contracts` done?)")]
    Exited { status: String, log_tail: String },
    #[error("hardhat node at {url} did not answer eth_chainId within {waited_s} s; last log lines:\n{log_tail}\n(is `npm ci --prefix verifier-contracts` done?)")]
    NotReady { url: String, waited_s: u64, log_tail: String },
    #[error("JSON-RPC {method} to the hardhat node failed: {reason}")]
    Rpc { method: String, reason: String },
}

/// A running `hardhat node`; killed when dropped.
pub struct HardhatNode {
    child: Child,
    port: u16,
    url: String,
    log: PathBuf,
    // Holds the node's scratch folder (cache, log) until the node is gone.
    _scratch: tempfile::TempDir,
}

impl std::fmt::Debug for HardhatNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HardhatNode").field("url", &self.url).field("pid", &self.child.id()).finish_non_exhaustive()
    }
}

/// The `hardhat.config.js` of the npm folder `npm_dir` (next to its `package.json`).
pub fn config_path(npm_dir: &Path) -> PathBuf {
    npm_dir.join("hardhat.config.js")
}

impl HardhatNode {
    /// Starts a node with the npm folder of `zkr_evm::solc_dir()` (`verifier-contracts/`, or `ZKR_SOLC_DIR`).
    pub fn start() -> Result<Self, HardhatError> {
        Self::start_in(&zkr_evm::solc_dir())
    }

    /// Starts a node from the npm folder `npm_dir` (holding `hardhat.config.js` and `node_modules/hardhat`) on a
    /// free port and waits until it answers `eth_chainId`.
    pub fn start_in(npm_dir: &Path) -> Result<Self, HardhatError> {
        let cli = npm_dir.join("node_modules/hardhat/internal/cli/cli.js");
        if !cli.exists() {
            return Err(HardhatError::NotInstalled { dir: npm_dir.to_path_buf() });
        }
        let scratch = tempfile::Builder::new()
            .prefix("zkr-hardhat-")
            .tempdir()
            .map_err(|source| HardhatError::Scratch { source })?;
        let log = scratch.path().join("node.log");
        let out = std::fs::File::create(&log).map_err(|source| HardhatError::Scratch { source })?;
        let err = out.try_clone().map_err(|source| HardhatError::Scratch { source })?;
        // Another process may take the port between here and hardhat's bind; start then fails with a clear log.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|source| HardhatError::NoPort { source })?
            .port();
        // `node cli.js` directly (not the npm shim) so the PID we hold is the node process itself.
        let child = Command::new("node")
            .arg(&cli)
            .arg("--config")
            .arg(config_path(npm_dir))
            .args(["node", "--hostname", "127.0.0.1", "--port", &port.to_string()])
            .current_dir(npm_dir)
            .env("ZKR_HARDHAT_SCRATCH", scratch.path())
            .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| HardhatError::Spawn { source })?;
        let mut node = HardhatNode { child, port, url: format!("http://127.0.0.1:{port}"), log, _scratch: scratch };
        node.wait_ready()?;
        tracing::debug!(url = %node.url, pid = node.child.id(), "hardhat node ready");
        Ok(node)
    }

    fn wait_ready(&mut self) -> Result<(), HardhatError> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(HardhatError::Exited { status: status.to_string(), log_tail: self.log_tail() });
            }
            if let Ok(id) = self.rpc("eth_chainId", json!([])) {
                if id.as_str().is_some() {
                    return Ok(());
                }
            }
            if start.elapsed() > READY_TIMEOUT {
                return Err(HardhatError::NotReady {
                    url: self.url.clone(),
                    waited_s: start.elapsed().as_secs(),
                    log_tail: self.log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last lines of the node's output.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// PID of the node process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Mines `blocks` empty blocks (`hardhat_mine`): hardhat mines only when it receives transactions.
    pub fn mine(&self, blocks: u64) -> Result<(), HardhatError> {
        self.rpc("hardhat_mine", json!([format!("0x{blocks:x}")])).map(|_| ())
    }

    /// Mines an empty block every `period` on a thread of its own until the returned [`Miner`] is dropped, so that
    /// confirmations accrue (hardhat mines only on transactions).
    pub fn mine_every(self: &Arc<Self>, period: Duration) -> Miner {
        let stop = Arc::new(AtomicBool::new(false));
        let (node, flag) = (self.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let _ = node.mine(1); // a failed mine only delays confirmations; the test sees that
                std::thread::sleep(period);
            }
        });
        Miner { stop, thread: Some(thread) }
    }

    /// One JSON-RPC request (HTTP/1.0, so the reply is neither chunked nor kept alive).
    pub fn rpc(&self, method: &str, params: Value) -> Result<Value, HardhatError> {
        let fail = |reason: String| HardhatError::Rpc { method: method.to_string(), reason };
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| fail(e.to_string()))?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| fail(e.to_string()))?;
        let request = format!(
            "POST / HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream.write_all(request.as_bytes()).map_err(|e| fail(e.to_string()))?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(|e| fail(e.to_string()))?;
        let json_text = response.split_once("\r\n\r\n").map(|(_, b)| b).ok_or_else(|| fail("no HTTP body".into()))?;
        let reply: Value = serde_json::from_str(json_text).map_err(|e| fail(format!("{e}: {json_text}")))?;
        if let Some(err) = reply.get("error") {
            return Err(fail(err.to_string()));
        }
        reply.get("result").cloned().ok_or_else(|| fail(format!("no result in {reply}")))
    }
}

impl Drop for HardhatNode {
    fn drop(&mut self) {
        // Kill exactly the process we started (by its PID), then reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The background block producer of [`HardhatNode::mine_every`]; stops when dropped.
#[derive(Debug)]
pub struct Miner {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Miner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
