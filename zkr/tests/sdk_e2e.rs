//! The TypeScript SDK end to end against a devnet's wallet HTTP API: a Node script (sdk/ts/examples/transfer.ts)
//! signs a transfer with the SDK, submits it and follows it until it is finalized on the devnet's L1; at the same time
//! the example page (sdk/ts/examples/browser/), served by a small static server here and loaded by headless Chromium
//! from another origin than the API's, shows an account and sends a transfer. The recipients' balances move in the
//! proven state, and the page's screenshot is kept in target/sdk-e2e/page.png.
//!
//! Needs Node.js ≥ 20 (`node`, `npm`; `npm ci --prefix sdk/ts` once) and Chromium (`/usr/bin/chromium`, or the
//! `CHROMIUM` variable); without them the test fails and says so.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use zkr_circuits::demo;

mod common;

use common::{free_port, http_get, small_devnet, Running};

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/ts")
}

/// `GET path` on the HTTP API: the status and the body parsed as JSON; None when nothing answers.
fn get_json(port: u16, path: &str) -> Option<(u16, Value)> {
    let (status, body) = http_get(port, path)?;
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"));
    Some((status, json))
}

fn balance(port: u16, account: u32, proven: bool) -> u64 {
    let (status, v) = get_json(port, &format!("/v1/account/{account}?proven={proven}")).expect("the API answers");
    assert_eq!(status, 200, "{v}");
    v["balance"].as_str().expect("balance").parse().expect("a number")
}

/// What the page posts to `/report`, and a signal for `/hold`.
#[derive(Default)]
struct Report {
    body: Mutex<Option<String>>,
    arrived: Condvar,
}

/// Serves `root` (GET, files only, nothing outside it), takes the page's report (`POST /report`) and holds `GET /hold`
/// until the report has arrived.
fn serve_static(root: PathBuf, report: Arc<Report>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (root, report) = (root.clone(), report.clone());
            std::thread::spawn(move || {
                let _ = answer(conn, &root, &report);
            });
        }
    });
    port
}

fn answer(conn: TcpStream, root: &Path, report: &Report) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let path = target.split('?').next().unwrap_or("/");
    let mut conn = conn;
    let reply = |conn: &mut TcpStream, status: &str, ctype: &str, body: &[u8]| -> std::io::Result<()> {
        write!(
            conn,
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )?;
        conn.write_all(body)
    };
    match (method, path) {
        ("POST", "/report") => {
            let mut body = vec![0u8; length.min(1 << 20)];
            reader.read_exact(&mut body)?;
            *report.body.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
            report.arrived.notify_all();
            reply(&mut conn, "204 No Content", "text/plain", b"")
        }
        ("GET", "/hold") => {
            let mut got = report.body.lock().unwrap();
            while got.is_none() {
                got = report.arrived.wait(got).unwrap();
            }
            drop(got);
            // a 1×1 transparent GIF
            const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
            reply(&mut conn, "200 OK", "image/gif", GIF)
        }
        ("GET", p) if !p.contains("..") => {
            let file = root.join(p.trim_start_matches('/'));
            match std::fs::read(&file) {
                Ok(bytes) => {
                    let ctype = match file.extension().and_then(|e| e.to_str()) {
                        Some("html") => "text/html; charset=utf-8",
                        Some("js") => "text/javascript",
                        Some("map") | Some("json") => "application/json",
                        _ => "application/octet-stream",
                    };
                    reply(&mut conn, "200 OK", ctype, &bytes)
                }
                Err(_) => reply(&mut conn, "404 Not Found", "text/plain", b"not found"),
            }
        }
        _ => reply(&mut conn, "404 Not Found", "text/plain", b"not found"),
    }
}

/// What `cmd --version` prints; None when it does not run.
fn version(cmd: &str) -> Option<String> {
    let o = Command::new(cmd).arg("--version").output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// `cmd --version`, failing the test with how to install `cmd` when it does not run.
fn require_tool(cmd: &str, install: &str) -> String {
    version(cmd).unwrap_or_else(|| panic!("{cmd} is required by this test and did not run ({install})"))
}

/// The major version in `node --version`'s `v20.11.1`.
fn node_major(version: &str) -> Option<u32> {
    version.trim().strip_prefix('v')?.split('.').next()?.parse().ok()
}

#[test]
fn sdk_transfers_through_the_http_api_from_node_and_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node_version = require_tool("node", "install Node.js ≥ 20");
    assert!(
        node_major(&node_version).is_some_and(|v| v >= 20),
        "this test needs Node.js ≥ 20 (the SDK's fetch streams, TextDecoderStream), found {node_version}"
    );
    require_tool("npm", "install npm with Node.js");
    let chromium_version = require_tool(&chromium, "apt-get install chromium, or set CHROMIUM to a Chromium binary");
    let sdk = sdk_dir();
    assert!(
        sdk.join("node_modules/typescript").exists(),
        "sdk/ts has no node_modules: run `npm ci --prefix sdk/ts` first"
    );
    let build = Command::new("npm").args(["run", "build", "--prefix"]).arg(&sdk).output().expect("runs npm");
    assert!(
        build.status.success(),
        "building the SDK failed:\n{}\n{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (grpc, http) = (free_port(), free_port());
    let mut devnet = small_devnet(d, &["--grpc", &format!("127.0.0.1:{grpc}"), "--http", &format!("127.0.0.1:{http}")]);
    let devnet_log = |dev: &Running| dev.log();
    let started = Instant::now();
    loop {
        if let Some(ok) = devnet.ended() {
            panic!("the devnet exited (success: {ok}) before serving:\n{}", devnet_log(&devnet));
        }
        if let Some((200, info)) = get_json(http, "/v1/info") {
            assert_eq!(info["chain_id"], "31337", "{info}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "the HTTP API never answered:\n{}", devnet_log(&devnet));
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("devnet serving after {:.0} s", started.elapsed().as_secs_f64());
    let (err_status, err) = get_json(http, &format!("/v1/tx/0x{}", "00".repeat(32))).expect("the API answers");
    assert_eq!((err_status, err["error"]["reason"].as_str()), (404, Some("unknown_tx")), "{err}");

    let keys = demo::keys(1, 8);
    let (node_to, page_to) = (5u32, 6u32);
    let before = (balance(http, node_to, true), balance(http, page_to, true));
    let api = format!("http://127.0.0.1:{http}");

    // (a) Node: account 3 → 5, 0.0001 ETH
    let mut node_cmd = Command::new("node");
    node_cmd.arg(sdk.join("dist/examples/transfer.js")).args([
        &api,
        &hex::encode(keys[3].to_bytes()),
        "3",
        &node_to.to_string(),
        "0.0001",
    ]);
    let mut node = Running::spawn(&mut node_cmd, d, "node");

    // (b) Chromium: the example page, from another origin, account 4 → 6, 0.0002 ETH
    let report = Arc::new(Report::default());
    let site = serve_static(sdk.clone(), report.clone());
    let page = format!(
        "http://127.0.0.1:{site}/examples/browser/index.html?api={api}&key={}&from=4&to={page_to}&amount=0.0002&auto=1\
         &report=/report&hold=/hold",
        hex::encode(keys[4].to_bytes())
    );
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("sdk-e2e");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("page.png");
    let _ = std::fs::remove_file(&png);
    let mut browser_cmd = Command::new(&chromium);
    browser_cmd
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"])
        .args(["--no-first-run", "--window-size=1000,1250"])
        .arg(format!("--user-data-dir={}", d.join("chromium-profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(&page);
    let mut browser = Running::spawn(&mut browser_cmd, d, "chromium");

    let deadline = Instant::now() + Duration::from_secs(300);
    let (mut node_done, mut browser_done) = (None, None);
    while node_done.is_none() || browser_done.is_none() {
        if node_done.is_none() {
            node_done = node.ended();
        }
        if browser_done.is_none() {
            browser_done = browser.ended();
        }
        if let Some(ok) = devnet.ended() {
            panic!("the devnet exited (success: {ok}):\n{}", devnet_log(&devnet));
        }
        if Instant::now() > deadline {
            let (nout, nerr) = node.output();
            let (_, berr) = browser.output();
            panic!(
                "the transfers did not finish within 300 s:\nnode: {nout}\n{nerr}\nchromium: {berr}\npage report: {:?}\n{}",
                report.body.lock().unwrap(),
                devnet_log(&devnet)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    // the Node script: accepted, every stage in order, finalized
    let (nout, nerr) = node.output();
    assert_eq!(node_done, Some(true), "the Node example failed:\n{nout}\n{nerr}\n{}", devnet_log(&devnet));
    let result: Value =
        serde_json::from_str(nout.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {nout}"));
    assert_eq!(result["final"]["stage"], "finalized", "{result}");
    assert!(result["final"]["executeTx"].as_str().is_some_and(|h| h.len() == 66), "{result}");
    let stages: Vec<&str> = result["stages"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let order = ["received", "sequenced", "proven", "aggregated", "finalized"];
    let ranks: Vec<usize> = stages.iter().map(|s| order.iter().position(|o| o == s).expect("a known stage")).collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "stages out of order: {stages:?}");
    eprintln!(
        "Node {node_version}: sign {:.2} ms, verify {:.2} ms per signature",
        result["signMs"].as_f64().unwrap_or(f64::NAN),
        result["verifyMs"].as_f64().unwrap_or(f64::NAN)
    );

    // the page: its report, and its screenshot
    let (_, berr) = browser.output();
    let posted = report.body.lock().unwrap().clone().unwrap_or_else(|| panic!("the page reported nothing:\n{berr}"));
    let page_result: Value = serde_json::from_str(&posted).unwrap_or_else(|e| panic!("{e}: {posted}"));
    assert_eq!(page_result["error"], Value::Null, "the page failed: {page_result}");
    assert_eq!(page_result["accepted"], true, "{page_result}");
    assert_eq!(page_result["final"], "finalized", "{page_result}");
    assert!(page_result["hash"].as_str().is_some_and(|h| h.starts_with("0x") && h.len() == 66), "{page_result}");
    assert!(page_result["freshKey"].as_str().is_some_and(|k| k.len() == 82), "{page_result}");
    eprintln!(
        "Chromium ({chromium_version}): sign {:.2} ms, verify {:.2} ms per signature",
        page_result["signMs"].as_f64().unwrap_or(f64::NAN),
        page_result["verifyMs"].as_f64().unwrap_or(f64::NAN)
    );
    assert_eq!(browser_done, Some(true), "chromium failed:\n{berr}");
    let shot = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}\n{berr}", png.display()));
    assert!(shot.starts_with(b"\x89PNG\r\n\x1a\n") && shot.len() > 10_000, "{} is not a screenshot", png.display());
    eprintln!("screenshot of the page: {}", png.display());

    // both recipients were paid in the proven state (their transfers are finalized)
    let after = (balance(http, node_to, true), balance(http, page_to, true));
    assert_eq!(after.0, before.0 + 100_000, "account {node_to}");
    assert_eq!(after.1, before.1 + 200_000, "account {page_to}");
    eprintln!("e2e done in {:.0} s", started.elapsed().as_secs_f64());
}

#[test]
fn node_versions_are_read() {
    assert_eq!(node_major("v20.11.1\n"), Some(20));
    assert_eq!(node_major("v18.19.0"), Some(18));
    assert_eq!(node_major("20.1.0"), None);
}
