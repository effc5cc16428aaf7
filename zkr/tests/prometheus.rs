//! The alerting rules in a real Prometheus (`/usr/bin/prometheus`) scraping a real fleet: a `zkr sequencer`, a `zkr
//! coordinator` settling on its in-process L1 and a separate `zkr worker`, sharing a SQLite queue and a blob
//! directory. Prometheus loads deploy/prometheus/alerts.yml with one change, made by rewriting that one rule and
//! checked: ZkrFinalityLagHigh's threshold and `for:` shortened from an hour and ten minutes to seconds. With the
//! worker killed, transactions wait and the alert fires; with a worker back, their epoch is proven and finalized and
//! the alert clears. How long each took is printed (`--nocapture`), not asserted. `zkr status` is run against the
//! same fleet while the worker is down and after it is back.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{free_port, http_get, spawn_logged, stdout_json, tail, Load, ZKR};

const PROMETHEUS: &str = "/usr/bin/prometheus";
const TOKEN: &str = "prometheus-test-token";
const RULE: &str = "ZkrFinalityLagHigh";
/// The shortened rule: fires once the oldest unfinalized transaction is older than this …
const LAG_THRESHOLD_S: u64 = 10;
/// … for this long.
const FOR: &str = "2s";

/// The rules file with ZkrFinalityLagHigh's `expr` threshold and `for:` replaced; an error when that rule no longer
/// has the shape this test rewrites: one `expr:` line `max(zkr_finality_lag_seconds{stage="finalized"}) > N` and
/// one `for:` line.
fn shortened_rules(text: &str, threshold_s: u64, for_: &str) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == format!("- alert: {RULE}"))
        .ok_or_else(|| format!("the rules have no {RULE}"))?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with("- alert:"))
        .map_or(lines.len(), |i| start + 1 + i);
    let (mut exprs, mut fors) = (0, 0);
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if (start..end).contains(&i) {
            if let Some(expr) = trimmed.strip_prefix("expr: ") {
                let (query, old) =
                    expr.rsplit_once(" > ").ok_or_else(|| format!("{RULE}'s expr is no longer `… > N`: {expr}"))?;
                if query != "max(zkr_finality_lag_seconds{stage=\"finalized\"})" {
                    return Err(format!("{RULE}'s expr changed shape: {expr}"));
                }
                old.parse::<f64>().map_err(|_| format!("{RULE}'s threshold {old:?} is not a number"))?;
                out.push(format!("{indent}expr: {query} > {threshold_s}"));
                exprs += 1;
                continue;
            }
            if trimmed.starts_with("for: ") {
                out.push(format!("{indent}for: {for_}"));
                fors += 1;
                continue;
            }
        }
        out.push(line.to_string());
    }
    if (exprs, fors) != (1, 1) {
        return Err(format!(
            "{RULE} has {exprs} one-line expr and {fors} for lines; the test rewrites exactly one of each"
        ));
    }
    Ok(out.join("\n") + "\n")
}

struct Proc {
    name: String,
    child: Child,
}

/// The test's processes (killed by their PIDs when it ends) and its scratch folder.
struct Procs {
    dir: tempfile::TempDir,
    procs: Vec<Proc>,
}

impl Procs {
    fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    /// Starts `program` with a clean ZKR_* environment plus `env`, logging (appending) to `<name>.log`.
    fn spawn(&mut self, name: &str, program: &str, args: &[&str], env: &[(&str, String)]) {
        let child = spawn_logged(program, args, self.dir.path(), &self.log_path(name), env)
            .unwrap_or_else(|e| panic!("starting {name} ({program}): {e}"));
        self.procs.push(Proc { name: name.to_string(), child });
    }

    fn kill(&mut self, name: &str) {
        for p in self.procs.iter_mut().filter(|p| p.name == name) {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        self.procs.retain(|p| p.name != name);
    }

    /// Fails the test with the logs when a process ended.
    fn check_live(&mut self) {
        for i in 0..self.procs.len() {
            if let Ok(Some(status)) = self.procs[i].child.try_wait() {
                let name = self.procs[i].name.clone();
                panic!("{name} exited ({status}):\n{}", self.log(&name));
            }
        }
    }

    fn logs(&self) -> String {
        self.procs
            .iter()
            .map(|p| format!("==== {}\n{}", p.name, tail(&self.log(&p.name), 40)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until GET `path` on `port` answers 200 (failing with the logs after `limit`).
    async fn wait_ok(&mut self, what: &str, port: u16, path: &str, limit: Duration) {
        let t = Instant::now();
        loop {
            if matches!(http_get(port, path), Some((200, _))) {
                return;
            }
            self.check_live();
            assert!(t.elapsed() < limit, "{what} did not answer 200 on {path} within {limit:?}:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

/// The state of `RULE` in Prometheus' `/api/v1/alerts` (`pending`, `firing`), None when it is not active.
fn alert_state(prometheus_port: u16) -> Option<String> {
    let (code, body) = http_get(prometheus_port, "/api/v1/alerts")?;
    assert_eq!(code, 200, "/api/v1/alerts answered {code}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["status"], "success", "{body}");
    v["data"]["alerts"]
        .as_array()
        .expect("an alerts list")
        .iter()
        .find(|a| a["labels"]["alertname"] == RULE)
        .and_then(|a| a["state"].as_str().map(str::to_string))
}

/// `zkr status --json` over the fleet's metrics: whether it exited 0, and its JSON.
fn zkr_status(metrics_ports: &[u16]) -> (bool, Value) {
    let mut cmd = Command::new(ZKR);
    cmd.arg("status").arg("--json");
    for p in metrics_ports {
        cmd.args(["--metrics-url", &format!("http://127.0.0.1:{p}")]);
    }
    let o = cmd.output().expect("runs zkr status");
    (o.status.success(), stdout_json(&o))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finality_lag_alert_fires_without_workers_and_clears_when_one_is_back() {
    let t0 = Instant::now();
    assert!(
        Path::new(PROMETHEUS).exists(),
        "{PROMETHEUS} is missing: this test runs a real Prometheus (Debian: apt-get install prometheus)"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let mut p = Procs { dir: tempfile::tempdir().unwrap(), procs: Vec::new() };
    let d = p.dir.path().to_path_buf();

    // the rules, shortened, and a Prometheus scraping every role each second
    let rules = std::fs::read_to_string(root.join("deploy/prometheus/alerts.yml")).unwrap();
    let short = shortened_rules(&rules, LAG_THRESHOLD_S, FOR)
        .unwrap_or_else(|e| panic!("deploy/prometheus/alerts.yml: {e}; update this test with the rule"));
    assert_ne!(short, rules);
    std::fs::write(d.join("alerts.yml"), &short).unwrap();
    let (wallet, grpc, seq_m, coord_m, worker_m, prom) =
        (free_port(), free_port(), free_port(), free_port(), free_port(), free_port());
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
         scrape_configs:\n  - job_name: zkr\n    static_configs:\n      - targets: ['127.0.0.1:{seq_m}', \
         '127.0.0.1:{coord_m}', '127.0.0.1:{worker_m}']\n",
        d.join("alerts.yml").display()
    );
    std::fs::write(d.join("prometheus.yml"), config).unwrap();
    let (config_arg, tsdb_arg, listen_arg) = (
        format!("--config.file={}", d.join("prometheus.yml").display()),
        format!("--storage.tsdb.path={}", d.join("tsdb").display()),
        format!("--web.listen-address=127.0.0.1:{prom}"),
    );
    p.spawn("prometheus", PROMETHEUS, &[&config_arg, &tsdb_arg, &listen_arg], &[]);

    // the fleet: one SQLite queue and one blob directory on this machine
    let queue = format!("sqlite://{}", d.join("queue.db").display());
    let blobs = d.join("blobs").display().to_string();
    let seq_env = [
        ("ZKR_SEQUENCER_SEQUENCER__DATA_DIR", d.join("seq").display().to_string()),
        ("ZKR_SEQUENCER_SEQUENCER__LISTEN", format!("127.0.0.1:{wallet}")),
        ("ZKR_SEQUENCER_SEQUENCER__MAX_WAIT_MS", "1000".to_string()),
        ("ZKR_SEQUENCER_EPOCH_TIMEOUT_MS", "2000".to_string()),
        ("ZKR_SEQUENCER_METRICS_LISTEN", format!("127.0.0.1:{seq_m}")),
    ];
    p.spawn("sequencer", ZKR, &["sequencer", "--database-url", &queue, "--blob-dir", &blobs], &seq_env);
    p.wait_ok("the sequencer", seq_m, "/readyz", Duration::from_secs(60)).await;
    let coord_env = [
        ("ZKR_WORKER_TOKENS", TOKEN.to_string()),
        ("ZKR_COORDINATOR_METRICS_LISTEN", format!("127.0.0.1:{coord_m}")),
        // a killed worker stops counting within half a lease
        ("ZKR_COORDINATOR_LEASE_MS", "4000".to_string()),
        ("ZKR_COORDINATOR_L1__MODE", "in_process".to_string()),
        ("ZKR_COORDINATOR_THROWAWAY_L1", "true".to_string()),
        ("ZKR_COORDINATOR_DATA_DIR", d.join("coord").display().to_string()),
    ];
    let listen = format!("127.0.0.1:{grpc}");
    p.spawn(
        "coordinator",
        ZKR,
        &["coordinator", "--database-url", &queue, "--blob-dir", &blobs, "--listen", &listen],
        &coord_env,
    );
    let coordinator = format!("http://127.0.0.1:{grpc}");
    let worker_env = [
        ("ZKR_WORKER_TOKEN", TOKEN.to_string()),
        ("ZKR_WORKER_POLL_MS", "200".to_string()),
        ("ZKR_WORKER_METRICS_LISTEN", format!("127.0.0.1:{worker_m}")),
    ];
    p.spawn("worker-1", ZKR, &["worker", "--coordinator", &coordinator], &worker_env);
    p.wait_ok("the coordinator", coord_m, "/readyz", Duration::from_secs(120)).await;
    p.wait_ok("the worker", worker_m, "/readyz", Duration::from_secs(120)).await;
    p.wait_ok("prometheus", prom, "/-/ready", Duration::from_secs(30)).await;

    // Prometheus runs the rewritten rule and scrapes all three roles
    let (_, rules_api) = http_get(prom, "/api/v1/rules").expect("prometheus answers");
    let v: Value = serde_json::from_str(&rules_api).unwrap();
    let rule = v["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().iter())
        .find(|r| r["name"] == RULE)
        .unwrap_or_else(|| panic!("prometheus did not load {RULE}: {rules_api}"))
        .clone();
    assert_eq!(rule["query"], format!("max(zkr_finality_lag_seconds{{stage=\"finalized\"}}) > {LAG_THRESHOLD_S}"));
    assert_eq!(rule["duration"], 2, "{rule}");
    let t = Instant::now();
    loop {
        let (_, targets) = http_get(prom, "/api/v1/targets").expect("prometheus answers");
        let v: Value = serde_json::from_str(&targets).unwrap();
        let up = v["data"]["activeTargets"].as_array().unwrap().iter().filter(|t| t["health"] == "up").count();
        if up == 3 {
            break;
        }
        p.check_live();
        assert!(t.elapsed() < Duration::from_secs(30), "prometheus does not scrape all three roles: {targets}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(alert_state(prom), None, "{RULE} is active before any transaction");
    eprintln!("fleet and prometheus ready after {:.1} s", t0.elapsed().as_secs_f64());

    // no worker, and transactions: the oldest one waits for finality until the alert fires
    p.kill("worker-1");
    let mut load = Load::new(wallet);
    load.submit(4).await;
    let loaded = Instant::now();
    let mut pending_seen = false;
    loop {
        match alert_state(prom).as_deref() {
            Some("firing") => break,
            Some("pending") => pending_seen = true,
            _ => {}
        }
        p.check_live();
        assert!(
            loaded.elapsed() < Duration::from_secs(120),
            "{RULE} did not fire within 120 s of transactions waiting without a worker\n{}",
            p.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let to_fire = loaded.elapsed().as_secs_f64();
    eprintln!(
        "{RULE} fired {to_fire:.1} s after the transactions were acknowledged (pending seen first: {pending_seen})"
    );

    // `zkr status` over the same fleet: the worker is down, the lag is over the threshold
    let (ok, s) = zkr_status(&[seq_m, coord_m, worker_m]);
    assert!(!ok, "zkr status exits non-zero while a source is down: {s}");
    let up: Vec<bool> = s["sources"].as_array().unwrap().iter().map(|x| x["up"].as_bool().unwrap()).collect();
    assert_eq!(up, [true, true, false], "{s}");
    assert_eq!(s["sources"][0]["roles"], serde_json::json!(["sequencer"]), "{s}");
    assert!(s["metrics"]["finality_lag_seconds"]["finalized"].as_f64().unwrap() > LAG_THRESHOLD_S as f64, "{s}");
    assert!(s["metrics"]["heights"]["sealed_batches"].as_f64().unwrap() >= 1.0, "{s}");
    let backlog: f64 = ["waiting", "queued"].iter().filter_map(|st| s["metrics"]["queue_depth"][st].as_f64()).sum();
    assert!(backlog >= 1.0, "jobs wait for a worker: {s}");

    // a worker again: the epoch is proven, wrapped and settled, and the alert clears
    p.spawn("worker-2", ZKR, &["worker", "--coordinator", &coordinator], &worker_env);
    let restarted = Instant::now();
    loop {
        if alert_state(prom).as_deref() != Some("firing") {
            break;
        }
        p.check_live();
        assert!(
            restarted.elapsed() < Duration::from_secs(180),
            "{RULE} still firing 180 s after a worker came back\n{}",
            p.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let to_clear = restarted.elapsed().as_secs_f64();
    eprintln!("{RULE} cleared {to_clear:.1} s after a worker was started again");
    let (ok, s) = zkr_status(&[seq_m, coord_m, worker_m]);
    assert!(ok, "every source answers again: {s}");
    assert!(s["metrics"]["heights"]["finalized_epochs"].as_f64().unwrap() >= 1.0, "{s}");
    assert!(s["metrics"]["finality_lag_seconds"]["finalized"].as_f64().unwrap() <= LAG_THRESHOLD_S as f64, "{s}");
    eprintln!(
        "prometheus test: fire {to_fire:.1} s, clear {to_clear:.1} s, {:.1} s in all",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn the_rule_rewrite_refuses_a_rule_of_another_shape() {
    let good = concat!(
        "groups:\n  - name: zkr\n    rules:\n      - alert: ZkrFinalityLagHigh\n",
        "        expr: max(zkr_finality_lag_seconds{stage=\"finalized\"}) > 3600\n        for: 10m\n",
        "      - alert: Other\n        expr: up > 3600\n        for: 10m\n",
    );
    let short = shortened_rules(good, 10, "2s").unwrap();
    assert!(
        short.contains("> 10\n        for: 2s\n      - alert: Other\n        expr: up > 3600\n        for: 10m"),
        "{short}"
    );
    let folded = good.replace("expr: max", "expr: >\n          max");
    assert!(shortened_rules(&folded, 10, "2s").is_err(), "a folded expr is refused");
    let other = good.replace("{stage=\"finalized\"}", "{stage=\"proven\"}");
    assert!(shortened_rules(&other, 10, "2s").is_err(), "another query is refused");
    let no_for = good.replacen("        for: 10m\n", "", 1);
    assert!(shortened_rules(&no_for, 10, "2s").is_err(), "a rule without for is refused");
    assert!(shortened_rules("groups: []\n", 10, "2s").is_err(), "a missing rule is refused");
}
