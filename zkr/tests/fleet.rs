//! Fault tests of fleet mode with real `zkr coordinator` and `zkr worker` processes: a worker killed mid-job, a
//! coordinator killed and restarted, a worker stopped with SIGTERM; the coordinator settling on L1; and a fleet whose
//! blobs live only in S3 (SeaweedFS). The test process shares the SQLite queue file and the blob store with the
//! coordinator; it enqueues jobs as the sequencer would (`QueueSink`) and watches the queue. Child processes are killed when a test ends, whether it passes or not.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio::sync::Mutex;
use zkr_blobs::{BlobConfig, BlobStore};
use zkr_circuits::demo;
use zkr_circuits::tx::Tx;
use zkr_coordinator::epochs::{EpochPlan, QueueSink};
use zkr_coordinator::settlement::Finalized;
use zkr_queue::{Job, JobKind, JobState, Queue, QueueConfig};
use zkr_sequencer::proto::wallet_client::WalletClient;
use zkr_sequencer::proto::{self, GetAccountRequest, GetTxStatusRequest};
use zkr_sequencer::BatchSink;

mod common;

use common::{free_port, spawn_logged, tail, Load, ZKR};

const TOKEN: &str = "fleet-test-token";

/// The fault tests run one at a time: each starts several processes that build circuits and prove, on few cores.
static SERIAL: Mutex<()> = Mutex::const_new(());

struct Proc {
    name: String,
    child: Child,
    /// Expected to be running (not killed or stopped by the test).
    live: bool,
}

/// A temp dir with the shared queue and blobs, and the child processes of one test (killed on drop).
struct Fleet {
    dir: tempfile::TempDir,
    /// The shared queue: a SQLite file in `dir`, or a Postgres database.
    queue_url: String,
    queue: Queue,
    blobs: Arc<dyn BlobStore>,
    /// The coordinator's `[blobs]` section as `ZKR_COORDINATOR_BLOBS__*` overrides.
    blob_env: Vec<(String, String)>,
    grpc_port: u16,
    metrics_port: u16,
    /// Batch capacity of the circuits (coordinator and workers) and of the sealed batches.
    capacity: usize,
    /// Start the roles with the README's fleet commands (see [`ReadmeFleet`]) instead of the test's own.
    readme: Option<ReadmeFleet>,
    procs: Vec<Proc>,
}

/// One role's command line: its arguments and the environment variables it is started with.
type RoleCommand = (Vec<String>, Vec<(String, String)>);

/// The README's fleet-mode commands, as a user would paste them: each role's arguments and the environment it is
/// started with (`export`s and `VAR=value` prefixes). Only what names this machine is replaced (the database URL,
/// the blob directory, the coordinator's address); the flags are the README's.
#[derive(Clone, Debug)]
struct ReadmeFleet {
    roles: Vec<RoleCommand>,
}

impl ReadmeFleet {
    /// Reads the code block under "## Fleet mode" in README.md, replacing the words in `subst`.
    fn read(subst: &[(&str, String)]) -> ReadmeFleet {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let text = std::fs::read_to_string(&path).unwrap();
        let section = text.split("## Fleet mode").nth(1).expect("README has a fleet section");
        let block = section.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("a sh block");
        let mut exported = Vec::new();
        let mut roles = Vec::new();
        for line in block.lines() {
            let line = line.split(" #").next().unwrap_or(line).trim();
            let words: Vec<String> = line
                .split_whitespace()
                .map(|w| subst.iter().fold(w.to_string(), |w, (from, to)| w.replace(from, to)))
                .collect();
            let assignment = |w: &String| w.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()));
            match words.first().map(String::as_str) {
                Some("export") => exported.extend(words[1..].iter().filter_map(assignment)),
                Some(_) => {
                    let n = words.iter().take_while(|w| w.contains('=') && !w.starts_with('-')).count();
                    if words.get(n).map(String::as_str) == Some("zkr") {
                        let mut env = exported.clone();
                        env.extend(words[..n].iter().filter_map(assignment));
                        roles.push((words[n + 1..].to_vec(), env));
                    }
                }
                None => {}
            }
        }
        ReadmeFleet { roles }
    }

    /// The command for `role` (`sequencer`, `coordinator`, `worker`).
    fn role(&self, role: &str) -> RoleCommand {
        self.roles.iter().find(|(a, _)| a[0] == role).cloned().unwrap_or_else(|| panic!("no `zkr {role}` in README"))
    }
}

impl Fleet {
    /// A fleet sharing a blob directory with the test.
    async fn new(capacity: usize) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobConfig::Fs { dir: dir.path().join("blobs") };
        Self::with_blobs(dir, capacity, blobs).await
    }

    async fn with_blobs(dir: tempfile::TempDir, capacity: usize, config: BlobConfig) -> Fleet {
        let url = Self::queue_url_in(dir.path());
        Self::with_queue(dir, url, capacity, config).await
    }

    /// A fleet on the queue at `queue_url` (Postgres for the chaos test), blobs in a shared directory.
    async fn on_queue(queue_url: String, capacity: usize) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobConfig::Fs { dir: dir.path().join("blobs") };
        Self::with_queue(dir, queue_url, capacity, blobs).await
    }

    async fn with_queue(dir: tempfile::TempDir, queue_url: String, capacity: usize, config: BlobConfig) -> Fleet {
        // The test's own handle; the coordinator applies the lease length of its config to claims.
        let queue = Queue::connect(&queue_url, QueueConfig::default()).await.unwrap();
        let blobs = config.open().await.unwrap();
        let toml::Value::Table(t) = toml::Value::try_from(&config).unwrap() else { panic!("a table") };
        let blob_env =
            t.iter().map(|(k, v)| (k.to_uppercase(), v.as_str().map_or(v.to_string(), str::to_string))).collect();
        Fleet {
            dir,
            queue_url,
            queue,
            blobs,
            blob_env,
            grpc_port: free_port(),
            metrics_port: free_port(),
            capacity,
            readme: None,
            procs: Vec::new(),
        }
    }

    /// From now on, roles start with the README's fleet commands; the test's environment (lease lengths, capacity,
    /// ports the README leaves at their defaults) still applies where the README says nothing.
    fn use_readme_commands(&mut self) {
        let blob_dir = self.dir.path().join("blobs").display().to_string();
        assert!(
            self.blob_env.iter().any(|(k, v)| k == "DIR" && *v == blob_dir),
            "README commands need the fleet's blobs in {blob_dir}"
        );
        self.readme = Some(ReadmeFleet::read(&[
            ("postgres://postgres@127.0.0.1/zkr", self.queue_url.clone()),
            ("/srv/zkr/blobs", blob_dir),
            ("0.0.0.0:50052", self.coordinator_addr().to_string()),
            ("COORDINATOR:50052", self.coordinator_addr().to_string()),
        ]));
    }

    /// The README's command for `role` when [`Fleet::use_readme_commands`] is on, else `args`; `env` gets the
    /// README's assignments last (they win).
    fn role_command(&self, role: &str, args: &[&str], env: &mut Vec<(String, String)>) -> Vec<String> {
        match &self.readme {
            Some(r) => {
                let (args, readme_env) = r.role(role);
                env.extend(readme_env);
                args
            }
            None => args.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn queue_url_in(dir: &Path) -> String {
        format!("sqlite://{}", dir.join("queue.db").display())
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    /// Seals `n` consecutive full demo batches into the queue (epochs of 2 batches).
    async fn seal_batches(&self, n: usize) {
        let sink = QueueSink {
            queue: self.queue.clone(),
            blobs: self.blobs.clone(),
            plan: EpochPlan { height: 1 },
            wake: None,
            fence: None,
        };
        let keys = demo::keys(5, 4);
        let mut state = demo::genesis(&keys);
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        for number in 0..n {
            let batch =
                demo::random_batch(&mut rng, &keys, &mut state, self.capacity, self.capacity, demo::Mix::Transfers);
            sink.sealed(number as u64, &batch).await.unwrap();
        }
    }

    /// A `zkr` child process with a clean ZKR_* environment, logging (appending) to `<name>.log`.
    fn spawn(&mut self, name: &str, args: &[&str], env: &[(&str, String)]) {
        let child = spawn_logged(ZKR, args, self.dir.path(), &self.log_path(name), env)
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        self.procs.push(Proc { name: name.to_string(), child, live: true });
    }

    fn spawn_owned(&mut self, name: &str, args: &[String], env: &[(String, String)]) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        self.spawn(name, &args, &env);
    }

    fn coordinator_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.grpc_port))
    }

    /// Starts the coordinator and waits until it accepts connections (it builds its circuits first).
    async fn start_coordinator(&mut self, lease_ms: u64) {
        self.start_coordinator_with(lease_ms, &[]).await
    }

    async fn start_coordinator_with(&mut self, lease_ms: u64, extra: &[(&str, String)]) {
        let url = self.queue_url.clone();
        let listen = self.coordinator_addr().to_string();
        let mut env = vec![
            ("ZKR_WORKER_TOKENS", format!("other-token, {TOKEN}")),
            ("ZKR_COORDINATOR_BATCH_CAPACITY", self.capacity.to_string()),
            ("ZKR_COORDINATOR_EPOCH_HEIGHT", "1".to_string()),
            ("ZKR_COORDINATOR_LEASE_MS", lease_ms.to_string()),
            ("ZKR_COORDINATOR_METRICS_LISTEN", format!("127.0.0.1:{}", self.metrics_port)),
        ];
        let blob_env: Vec<(String, String)> =
            self.blob_env.iter().map(|(k, v)| (format!("ZKR_COORDINATOR_BLOBS__{k}"), v.clone())).collect();
        env.extend(blob_env.iter().map(|(k, v)| (k.as_str(), v.clone())));
        env.extend(extra.iter().cloned());
        let mut env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let args =
            self.role_command("coordinator", &["coordinator", "--database-url", &url, "--listen", &listen], &mut env);
        self.spawn_owned("coordinator", &args, &env);
        let t = Instant::now();
        while TcpStream::connect(self.coordinator_addr()).is_err() {
            if let Some(status) = self.exited("coordinator") {
                panic!("the coordinator exited ({status}) before listening:\n{}", self.log("coordinator"));
            }
            assert!(t.elapsed() < Duration::from_secs(60), "the coordinator does not listen after 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn start_worker(&mut self, id: &str) {
        self.start_worker_with(id, &[]);
    }

    /// A worker whose environment `extra` overrides (a later entry wins).
    fn start_worker_with(&mut self, id: &str, extra: &[(&str, String)]) {
        let url = format!("http://{}", self.coordinator_addr());
        let mut env = vec![
            ("ZKR_WORKER_TOKEN", TOKEN.to_string()),
            ("ZKR_WORKER_BATCH_CAPACITY", self.capacity.to_string()),
            ("ZKR_WORKER_EPOCH_HEIGHT", "1".to_string()),
            ("ZKR_WORKER_ID", id.to_string()),
            ("ZKR_WORKER_POLL_MS", "200".to_string()),
        ];
        env.extend(extra.iter().cloned());
        let mut env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let args = self.role_command("worker", &["worker", "--coordinator", &url], &mut env);
        self.spawn_owned(id, &args, &env);
    }

    /// `zkr sequencer` on the shared queue and blob store, with its own data dir under the test's.
    fn start_sequencer(&mut self, name: &str, data_dir: &str, lease_ms: u64) {
        self.start_sequencer_on(name, data_dir, lease_ms, free_port());
    }

    /// [`Fleet::start_sequencer`] with its wallet API on `wallet_port`.
    fn start_sequencer_on(&mut self, name: &str, data_dir: &str, lease_ms: u64, wallet_port: u16) {
        self.start_sequencer_with(name, data_dir, lease_ms, wallet_port, &[]);
    }

    /// [`Fleet::start_sequencer_on`] with more environment.
    fn start_sequencer_with(
        &mut self,
        name: &str,
        data_dir: &str,
        lease_ms: u64,
        wallet_port: u16,
        extra: &[(&str, String)],
    ) {
        let mut env = vec![
            ("ZKR_SEQUENCER_DATABASE_URL", self.queue_url.clone()),
            ("ZKR_SEQUENCER_SEQUENCER__DATA_DIR", self.dir.path().join(data_dir).display().to_string()),
            ("ZKR_SEQUENCER_SEQUENCER__LISTEN", format!("127.0.0.1:{wallet_port}")),
            ("ZKR_SEQUENCER_EPOCH_TIMEOUT_MS", "3000".to_string()),
            ("ZKR_SEQUENCER_SEQUENCER__BATCH_CAPACITY", self.capacity.to_string()),
            ("ZKR_SEQUENCER_METRICS_LISTEN", format!("127.0.0.1:{}", free_port())),
            ("ZKR_SEQUENCER_WRITER_LEASE_MS", lease_ms.to_string()),
        ];
        env.extend(extra.iter().cloned());
        let blob_env: Vec<(String, String)> =
            self.blob_env.iter().map(|(k, v)| (format!("ZKR_SEQUENCER_BLOBS__{k}"), v.clone())).collect();
        env.extend(blob_env.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let mut env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let args = self.role_command("sequencer", &["sequencer"], &mut env);
        self.spawn_owned(name, &args, &env);
    }

    /// Waits until `name`'s log contains `text` (failing if it exits first, or after `limit`).
    async fn wait_log(&mut self, name: &str, text: &str, limit: Duration) {
        let t = Instant::now();
        while !self.log(name).contains(text) {
            if let Some(status) = self.exited(name) {
                panic!("{name} exited ({status}) before logging {text:?}:\n{}", self.log(name));
            }
            assert!(t.elapsed() < limit, "{name} did not log {text:?} within {limit:?}:\n{}", self.log(name));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for `name` to exit with a failure whose log names `why`.
    async fn refused(&mut self, name: &str, why: &str) {
        self.proc(name).live = false;
        let status = self.wait_exit(name, Duration::from_secs(30)).await;
        let log = self.log(name);
        assert!(!status.success(), "{name} was not refused:\n{log}");
        assert!(log.contains(why), "{name}'s refusal does not say {why:?}:\n{log}");
        assert!(!log.contains("panicked"), "{name} panicked:\n{log}");
        assert!(!log.contains('\u{1b}'), "colour codes in a log file:\n{log}");
    }

    fn proc(&mut self, name: &str) -> &mut Proc {
        self.procs.iter_mut().rev().find(|p| p.name == name).unwrap_or_else(|| panic!("no process {name}"))
    }

    fn exited(&mut self, name: &str) -> Option<ExitStatus> {
        self.proc(name).child.try_wait().unwrap()
    }

    /// SIGTERM through the `kill` command.
    fn sigterm(&mut self, name: &str) {
        let p = self.proc(name);
        p.live = false;
        let pid = p.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap().success();
        assert!(ok, "kill -TERM {pid} failed");
    }

    /// Fails at once when a process that should be running has exited.
    fn check_live(&mut self) {
        let mut dead = Vec::new();
        for p in &mut self.procs {
            if p.live {
                if let Some(status) = p.child.try_wait().unwrap() {
                    p.live = false;
                    dead.push(format!("{} exited ({status})", p.name));
                }
            }
        }
        assert!(dead.is_empty(), "{}\n{}", dead.join(", "), self.all_logs());
    }

    /// SIGKILL, and reap.
    fn kill9(&mut self, name: &str) {
        let p = self.proc(name);
        p.live = false;
        p.child.kill().unwrap();
        p.child.wait().unwrap();
    }

    /// Waits for `name` to exit; panics after `limit`.
    async fn wait_exit(&mut self, name: &str, limit: Duration) -> ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(s) = self.exited(name) {
                return s;
            }
            assert!(t.elapsed() < limit, "{name} still runs {limit:?} later:\n{}", self.log(name));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn jobs(&self) -> Vec<Job> {
        self.queue.list(None, 1000).await.unwrap()
    }

    /// Polls the queue every 20 ms until some job matches `pred`.
    async fn wait_job(&mut self, what: &str, limit: Duration, pred: impl Fn(&Job) -> bool) -> Job {
        let t = Instant::now();
        loop {
            if let Some(j) = self.jobs().await.into_iter().find(&pred) {
                return j;
            }
            self.check_live();
            assert!(
                t.elapsed() < limit,
                "no job {what} after {limit:?}: {:#?}\n{}",
                self.jobs().await,
                self.all_logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every job is done (failing at once if one is dead).
    async fn wait_all_done(&mut self, limit: Duration) -> Vec<Job> {
        let t = Instant::now();
        loop {
            let jobs = self.jobs().await;
            assert!(!jobs.iter().any(|j| j.state == JobState::Dead), "a job is dead: {jobs:#?}\n{}", self.all_logs());
            if jobs.iter().all(|j| j.state == JobState::Done) {
                return jobs;
            }
            self.check_live();
            assert!(t.elapsed() < limit, "not all done after {limit:?}: {jobs:#?}\n{}", self.all_logs());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn all_logs(&self) -> String {
        let mut names: Vec<&str> = self.procs.iter().map(|p| p.name.as_str()).collect();
        names.dedup();
        names.iter().map(|n| format!("==== {n}.log\n{}", tail(&self.log(n), 60))).collect::<Vec<_>>().join("\n")
    }

    /// `name` of the coordinator's /metrics with these labels (none: also a metric without labels).
    fn metric(&self, name: &str, labels: &[&str]) -> Option<f64> {
        let body = self.coordinator_http("/metrics")?;
        body.lines()
            .filter(|l| {
                (l.starts_with(&format!("{name}{{")) || (labels.is_empty() && l.starts_with(&format!("{name} "))))
                    && labels.iter().all(|lab| l.contains(lab))
            })
            .find_map(|l| l.rsplit(' ').next()?.parse().ok())
    }

    /// What the coordinator's metrics listener answers to `GET path`: the status line and the body.
    fn coordinator_http(&self, path: &str) -> Option<String> {
        http_get(self.metrics_port, path)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.all_logs());
        }
    }
}

/// What a metrics listener on `port` answers to `GET path`: the whole answer, head and body.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes()).ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    Some(answer)
}

/// The value of the series `series` (name and labels, exactly as exported) in a `/metrics` answer.
fn series_value(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The stats line a worker prints when it stops cleanly.
fn worker_stats(log: &str) -> String {
    log.lines()
        .rev()
        .find(|l| l.starts_with("worker stopped: "))
        .unwrap_or_else(|| panic!("no stats in:\n{log}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_job_completes_elsewhere() {
    let _serial = SERIAL.lock().await;
    let t = Instant::now();
    let mut f = Fleet::new(2).await;
    // batches 0..=2: three prove jobs and the aggregation of epoch 0
    f.seal_batches(3).await;
    assert_eq!(f.jobs().await.len(), 4);
    f.start_coordinator(3000).await;
    f.start_worker("worker-a");
    let victim = f
        .wait_job("leased by worker-a", Duration::from_secs(60), |j| {
            j.state == JobState::Leased && j.picked_by.as_deref() == Some("worker-a")
        })
        .await;
    f.kill9("worker-a");
    let killed_at = Instant::now();
    let j = f.queue.get(victim.id).await.unwrap().unwrap();
    assert_eq!((j.state, j.attempts), (JobState::Leased, 1), "worker-a finished before it was killed: {j:?}");
    f.start_worker("worker-b");

    let jobs = f.wait_all_done(Duration::from_secs(90)).await;
    for j in &jobs {
        assert_eq!(j.picked_by.as_deref(), Some("worker-b"), "{j:?}");
        assert!(j.result_key.is_some());
        if j.id == victim.id {
            // worker-a's claim was lost with the process: requeued when the lease expired, counted as a lost lease,
            // not as an attempt; worker-b's is the one attempt
            assert_eq!((j.attempts, j.lost_leases), (1, 1), "{j:?}");
            assert_eq!(j.last_error.as_deref(), Some("lease expired"), "{j:?}");
        } else {
            assert_eq!((j.attempts, j.last_error.as_deref()), (1, None), "{j:?}");
        }
    }
    eprintln!("killed job redone {:.1} s after the kill", killed_at.elapsed().as_secs_f64());

    // Exactly once: the coordinator accepted each job once and saw no duplicate; worker-b agrees.
    let completed = |kind: &str, outcome: &str| {
        f.metric("zkr_jobs_completed_total", &[&format!("kind=\"{kind}\""), &format!("outcome=\"{outcome}\"")])
    };
    assert_eq!(completed("prove_batch", "accepted"), Some(3.0));
    assert_eq!(completed("aggregate", "accepted"), Some(1.0));
    assert_eq!(completed("prove_batch", "duplicate").unwrap_or(0.0), 0.0);
    f.sigterm("worker-b");
    assert!(f.wait_exit("worker-b", Duration::from_secs(20)).await.success());
    assert_eq!(
        worker_stats(&f.log("worker-b")),
        "worker stopped: WorkerStats { proven: 4, accepted: 4, duplicates: 0, failed: 0, released: 0, resubmitted: 0, \
         stopped_by: None }"
    );
    // the coordinator verified the epoch proof
    let t2 = Instant::now();
    while !f.log("coordinator").contains("epoch 0 verified") {
        assert!(t2.elapsed() < Duration::from_secs(10), "no verified epoch:\n{}", f.log("coordinator"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("killed_worker_job_completes_elsewhere: {:.1} s", t.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_coordinator_loses_no_job() {
    let _serial = SERIAL.lock().await;
    let t = Instant::now();
    let mut f = Fleet::new(2).await;
    // batches 0..=3: four prove jobs and the two aggregations of epochs 0 and 1
    f.seal_batches(4).await;
    assert_eq!(f.jobs().await.len(), 6);
    f.start_coordinator(3000).await;
    f.start_worker("worker-r");
    f.wait_job("done", Duration::from_secs(60), |j| j.state == JobState::Done).await;
    f.kill9("coordinator");
    let left = f.jobs().await.iter().filter(|j| j.state != JobState::Done).count();
    assert!(left > 0, "everything was done before the coordinator was killed");
    eprintln!("coordinator killed with {left} of 6 jobs left");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(f.exited("worker-r").is_none(), "the worker died with the coordinator:\n{}", f.log("worker-r"));

    f.start_coordinator(3000).await;
    let jobs = f.wait_all_done(Duration::from_secs(90)).await;
    for j in &jobs {
        assert!(j.result_key.is_some(), "{j:?}");
        assert!(j.attempts <= 2, "{j:?}");
    }
    assert_eq!(jobs.iter().filter(|j| j.kind == JobKind::Aggregate).count(), 2);
    let t2 = Instant::now();
    while !f.log("coordinator").contains("epoch 1 verified") {
        assert!(t2.elapsed() < Duration::from_secs(10), "epochs not verified:\n{}", f.log("coordinator"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    f.sigterm("worker-r");
    assert!(f.wait_exit("worker-r", Duration::from_secs(20)).await.success());
    eprintln!("{}", worker_stats(&f.log("worker-r")));
    eprintln!("restarted_coordinator_loses_no_job: {:.1} s", t.elapsed().as_secs_f64());
}

/// The coordinator settles each verified epoch on L1 (here the in-process EVM with the committed capacity-4
/// contracts) and records the finality in the blob store, where the sequencer's transaction status reads it. The
/// epoch's wrap proof is a queue job that the worker proves; the coordinator proves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_settles_verified_epochs_on_l1() {
    let _serial = SERIAL.lock().await;
    let t = Instant::now();
    let mut f = Fleet::new(4).await;
    f.seal_batches(2).await;
    let finalized = Finalized::shared(f.blobs.clone());
    assert!(!finalized.contains(0).await.unwrap());
    let l1 = [
        ("ZKR_COORDINATOR_L1__MODE", "in_process".to_string()),
        ("ZKR_COORDINATOR_THROWAWAY_L1", "true".to_string()),
        ("ZKR_COORDINATOR_GENESIS__DEMO_SEED", "5".to_string()),
        ("ZKR_COORDINATOR_GENESIS__DEMO_ACCOUNTS", "4".to_string()),
    ];
    f.start_coordinator_with(30_000, &l1).await;
    f.start_worker("worker-s");
    f.wait_all_done(Duration::from_secs(120)).await;
    let t2 = Instant::now();
    while !f.log("coordinator").contains("epoch 0 finalized on L1: rollup epoch 1") {
        assert!(t2.elapsed() < Duration::from_secs(180), "epoch 0 not settled:\n{}", f.log("coordinator"));
        f.check_live();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(f.log("coordinator").contains("L1 (chain "), "the deployment is reported:\n{}", f.log("coordinator"));
    assert!(finalized.contains(0).await.unwrap(), "finality is recorded where the sequencer reads it");
    let record = String::from_utf8(f.blobs.get("l1/finalized-0").await.unwrap()).unwrap();
    assert!(
        record.contains("epoch = 0\nbatches = [0, 1]\nold_root = "),
        "the record names what it finalized: {record}"
    );
    assert!(!finalized.contains(1).await.unwrap());
    let wrap = f.queue.find(JobKind::Wrap, 0, 1, 2).await.unwrap().expect("a wrap job for epoch 0");
    assert_eq!((wrap.state, wrap.picked_by.as_deref()), (JobState::Done, Some("worker-s")), "{wrap:#?}");
    let root = f.queue.find(JobKind::Aggregate, 0, 1, 1).await.unwrap().unwrap();
    assert_eq!(wrap.deps, vec![root.id], "the wrap waits for the epoch's root");
    // what the coordinator's metrics say about it
    let m = |name: &str, labels: &[&str]| f.metric(name, labels).unwrap_or(0.0);
    assert!(m("zkr_settlement_attempts_total", &["step=\"commit\""]) >= 1.0);
    assert!(m("zkr_settlement_attempts_total", &["step=\"execute\""]) >= 1.0);
    assert_eq!(m("zkr_settlement_errors_total", &["step=\"prove\"", "reason=\"reverted\""]), 0.0);
    assert!(m("zkr_l1_gas_used_total", &["step=\"prove\""]) > 2e6, "proveEpoch runs the verifier (~3.5 M gas)");
    assert!(m("zkr_l1_gas_used_total", &["step=\"deploy\""]) > 1e7, "the deployment's gas is counted");
    assert!(m("zkr_epoch_l2_to_l1_seconds_count", &[]) >= 1.0, "the epoch's seal to finality is observed");
    assert!(m("zkr_proofs_total", &["kind=\"wrap\"", "backend=\"cpu\""]) >= 1.0, "the worker's wrap is counted");
    assert!(m("zkr_up", &["role=\"coordinator\""]) == 1.0);
    let ready = f.coordinator_http("/readyz").unwrap_or_default();
    assert!(ready.starts_with("HTTP/1.1 200") && ready.ends_with("ready\n"), "{ready}");
    // the rollup watch reads the operator's balance within its period
    let t3 = Instant::now();
    while m("zkr_l1_operator_balance_ether", &[]) <= 0.0 {
        assert!(t3.elapsed() < Duration::from_secs(60), "no operator balance in the coordinator's metrics");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(m("zkr_rollup_exit_mode", &[]), 0.0);
    let (coordinator, worker) = (f.log("coordinator"), f.log("worker-s"));
    assert!(worker.contains("kind=Wrap") && worker.contains("wrap proof done"), "the worker wraps:\n{worker}");
    assert!(
        !coordinator.contains("wrap proof done") && !coordinator.contains("wrap_prove"),
        "the coordinator proves nothing:\n{coordinator}"
    );
    eprintln!("coordinator_settles_verified_epochs_on_l1: {:.1} s", t.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_returns_the_lease() {
    let _serial = SERIAL.lock().await;
    let t = Instant::now();
    let mut f = Fleet::new(32).await;
    f.seal_batches(2).await;
    // A long lease: a job queued again within seconds was released, not expired.
    f.start_coordinator(60_000).await;
    f.start_worker("worker-t");
    let held = f
        .wait_job("leased by worker-t", Duration::from_secs(60), |j| {
            j.state == JobState::Leased && j.picked_by.as_deref() == Some("worker-t")
        })
        .await;
    let sent = Instant::now();
    f.sigterm("worker-t");
    let status = f.wait_exit("worker-t", Duration::from_secs(10)).await;
    let took = sent.elapsed();
    assert!(status.success(), "worker exit {status}:\n{}", f.log("worker-t"));
    let j = f.queue.get(held.id).await.unwrap().unwrap();
    assert_eq!((j.state, j.attempts, j.last_error.as_deref()), (JobState::Queued, 0, None), "{j:?}");
    assert_eq!(
        worker_stats(&f.log("worker-t")),
        "worker stopped: WorkerStats { proven: 0, accepted: 0, duplicates: 0, failed: 0, released: 1, resubmitted: 0, \
         stopped_by: None }"
    );
    // how fast is measured, not asserted: the queued job with no attempt shows the lease was returned
    eprintln!("worker exited {:.0} ms after SIGTERM", took.as_secs_f64() * 1000.0);
    eprintln!("sigterm_returns_the_lease: {:.1} s", t.elapsed().as_secs_f64());
}

/// Sequencer side, coordinator and worker share no filesystem: traces and proofs travel through an S3 bucket
/// (a real SeaweedFS server), and the coordinator verifies the epoch from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_with_blobs_only_in_s3_verifies_an_epoch() {
    let _serial = SERIAL.lock().await;
    let t = Instant::now();
    let s3 = zkr_blobs::test_utils::S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fleet::with_blobs(dir, 2, s3.bucket("fleet")).await;
    f.seal_batches(2).await;
    let trace = zkr_worker::source::trace_key(0);
    assert!(f.blobs.exists(&trace).await.unwrap(), "the trace went to the bucket");
    f.start_coordinator(30_000).await;
    f.start_worker("worker-s3");
    let jobs = f.wait_all_done(Duration::from_secs(180)).await;
    assert_eq!(jobs.len(), 3, "two prove jobs and one aggregation");
    for j in &jobs {
        let key = j.result_key.as_deref().expect("a done job names its proof");
        assert!(!f.blobs.get(key).await.unwrap().is_empty(), "proof {key} is in the bucket");
    }
    let t2 = Instant::now();
    while !f.log("coordinator").contains("epoch 0 verified") {
        assert!(t2.elapsed() < Duration::from_secs(60), "epoch 0 not verified:\n{}", f.log("coordinator"));
        f.check_live();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // nothing was written beside the queue and the logs: no blob directory anywhere in the fleet's folder
    let stray: Vec<_> = walk(f.dir.path())
        .into_iter()
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            !name.starts_with("queue.db") && !name.ends_with(".log")
        })
        .collect();
    assert!(stray.is_empty(), "files outside the bucket: {stray:?}");
    eprintln!("fleet_with_blobs_only_in_s3_verifies_an_epoch: {:.1} s", t.elapsed().as_secs_f64());
}

/// Every file under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn worker_with_cuda_backend_is_a_clear_error() {
    if zkr_gpu_kernels::cuda::probe(0).is_ok() {
        eprintln!("a CUDA device answers here: nothing to refuse");
        return;
    }
    let o = Command::new(env!("CARGO_BIN_EXE_zkr"))
        .args(["worker", "--backend", "cuda", "--coordinator", "http://127.0.0.1:9", "--token", "x"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(last.starts_with("error: ") && last.contains("--backend cuda was asked for"), "{err}");
    assert!(last.contains("no CUDA device can be used"), "the error says why: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A worker started before its coordinator waits for it; a finished proof the coordinator could not take (it was
/// killed) is kept and submitted again once it is back, so no proof is thrown away and no attempt is used up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_waits_for_its_coordinator_and_keeps_finished_proofs() {
    let _serial = SERIAL.lock().await;
    let t = Instant::now();
    // Capacity 4: a proof takes long enough (seconds) for the kill to land while it runs.
    let mut f = Fleet::new(4).await;
    f.seal_batches(2).await;
    f.start_worker("worker-w");
    f.wait_log("worker-w", "waiting for the coordinator at", Duration::from_secs(30)).await;
    f.start_coordinator(3000).await;
    // The worker's own word that it holds a job (the queue's "leased" comes before the answer reaches it).
    f.wait_log("worker-w", "zkr_worker::worker: leased", Duration::from_secs(120)).await;
    f.kill9("coordinator");
    let victim = f
        .jobs()
        .await
        .into_iter()
        .find(|j| j.picked_by.as_deref() == Some("worker-w"))
        .expect("the job worker-w holds");
    // The proof (about a second at capacity 2) finishes while nobody answers.
    f.wait_log("worker-w", "could not submit the proof; keeping it", Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    f.start_coordinator(3000).await;
    let jobs = f.wait_all_done(Duration::from_secs(120)).await;
    let j = jobs.iter().find(|j| j.id == victim.id).unwrap();
    assert_eq!(j.picked_by.as_deref(), Some("worker-w"), "{j:?}");
    assert!(j.attempts <= 1, "the kept proof used up no attempt: {j:?}");
    f.sigterm("worker-w");
    assert!(f.wait_exit("worker-w", Duration::from_secs(20)).await.success());
    let stats = worker_stats(&f.log("worker-w"));
    assert!(!stats.contains("resubmitted: 0,"), "{stats}");
    assert!(stats.contains("failed: 0,"), "{stats}");
    eprintln!("{stats}");
    eprintln!("worker_waits_for_its_coordinator_and_keeps_finished_proofs: {:.1} s", t.elapsed().as_secs_f64());
}

/// Roles started with the wrong settings stop at once with the reason, logged on both sides: a worker whose
/// circuits differ from the coordinator's, one with a wrong token, and a coordinator asked to settle on a chain
/// that dies with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misconfigured_roles_are_refused_with_the_reason() {
    let _serial = SERIAL.lock().await;
    let mut f = Fleet::new(2).await;
    f.start_coordinator(30_000).await;
    f.start_worker_with("wrong-capacity", &[("ZKR_WORKER_BATCH_CAPACITY", "4".into())]);
    f.refused("wrong-capacity", "batch capacity 4 and epoch height 1, this coordinator's are capacity 2").await;
    f.start_worker_with("height-0", &[("ZKR_WORKER_EPOCH_HEIGHT", "0".into())]);
    f.refused("height-0", "epoch height 0").await;
    f.start_worker_with("bad-token", &[("ZKR_WORKER_TOKEN", "not-a-token".into())]);
    f.refused("bad-token", "unknown worker token").await;
    let log = f.log("coordinator");
    assert!(log.contains("refused a worker call: unknown token"), "{log}");
    assert!(log.contains("refused a worker"), "{log}");
    assert!(!log.contains("not-a-token"), "a token was logged:\n{log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a log file:\n{log}");
    assert!(f.jobs().await.is_empty());
    f.check_live();

    // In-process L1 on a fleet coordinator: refused unless asked for a throw-away chain.
    f.kill9("coordinator");
    f.grpc_port = free_port();
    let url = f.queue_url.clone();
    let listen = f.coordinator_addr().to_string();
    f.spawn(
        "coordinator-l1",
        &["coordinator", "--database-url", &url, "--listen", &listen],
        &[("ZKR_WORKER_TOKENS", TOKEN.to_string()), ("ZKR_COORDINATOR_L1__MODE", "in_process".to_string())],
    );
    f.refused("coordinator-l1", "throwaway_l1").await;

    // Fleet roles without the queue they share: refused, naming the setting (a default would be a queue of their own).
    f.spawn("coordinator-no-queue", &["coordinator", "--listen", &listen], &[("ZKR_WORKER_TOKENS", TOKEN.to_string())]);
    f.refused(
        "coordinator-no-queue",
        "no job queue: the sequencer and the coordinator must share one; set database_url",
    )
    .await;
    f.spawn("sequencer-no-queue", &["sequencer"], &[]);
    f.refused("sequencer-no-queue", "--database-url or ZKR_SEQUENCER_DATABASE_URL").await;
}

/// One sequencer per queue: a second one is refused while the first holds the writer lease, and one with another
/// data dir is refused even after that lease ran out, since the queue's batches are not its history; the first
/// one's restart (same data dir) takes the lease back at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sequencer_per_queue() {
    let _serial = SERIAL.lock().await;
    let mut f = Fleet::new(2).await;
    f.start_sequencer("seq-a", "seq-a", 1500);
    f.wait_log("seq-a", "holds the queue's writer lease", Duration::from_secs(30)).await;
    f.start_sequencer("seq-b", "seq-b", 1500);
    f.refused("seq-b", "the sequencer lease is held by").await;

    // seq-a's batches are in the queue (sealed here in its name), then it dies without a word.
    f.seal_batches(2).await;
    f.kill9("seq-a");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    f.start_sequencer("seq-b", "seq-b", 1500);
    f.refused("seq-b", "the queue's batches were written by another sequencer").await;
    f.start_sequencer("seq-a", "seq-a", 1500);
    f.wait_log("seq-a", "holds the queue's writer lease", Duration::from_secs(30)).await;
    f.check_live();
}

/// A fleet sequencer with `[bridge]` takes deposits from a hardhat chain (read-only: it holds no key): a deposit
/// opens its account on L2 with its L1 transaction in the status; after a restart the sequencer resumes after the
/// last L1 block it took (the first deposit is not credited again, a new one is).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_sequencer_takes_deposits_from_l1_and_resumes() {
    use alloy_sol_types::{SolCall, SolEvent};
    use zkr_rollup::calldata::{amount_wei, open_account_call};
    use zkr_settle::hardhat::{HardhatNode, HARDHAT_KEY_1};
    use zkr_settle::L1;
    let _serial = SERIAL.lock().await;
    let node = HardhatNode::start().expect("hardhat starts (npm ci --prefix verifier-contracts)");
    let mut f = Fleet::new(4).await;
    let record = f.dir.path().join("l1.toml");
    let rollup = common::l1_deploy(node.url(), &record, &[]).0.rollup;
    let user = zkr_settle::RpcL1::connect_with_signer(node.url(), HARDHAT_KEY_1.parse().unwrap()).await.unwrap();
    let keys = demo::keys(77, 2);
    let deposit = |i: usize, amount: u64| {
        let call = open_account_call(&keys[i].public_key()).abi_encode();
        let user = &user;
        async move {
            let r = user.send(rollup, call, amount_wei(amount)).await.unwrap();
            let ev = r.logs.iter().find_map(|l| zkr_rollup::IZkrRollup::DepositQueued::decode_log(l).ok()).unwrap();
            (ev.data.accountId, r.tx_hash)
        }
    };
    let (a, l1_tx) = deposit(0, 1234).await;
    let port = free_port();
    let metrics_port = free_port();
    let bridge = [
        ("ZKR_SEQUENCER_BRIDGE__RPC_URL", node.url().to_string()),
        ("ZKR_SEQUENCER_BRIDGE__DEPLOYMENT", record.display().to_string()),
        ("ZKR_SEQUENCER_BRIDGE__POLL_MS", "100".to_string()),
        ("ZKR_SEQUENCER_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}")),
    ];
    f.start_sequencer_with("seq", "seq", 10_000, port, &bridge);
    let url = format!("http://127.0.0.1:{port}");
    let balance = |account: u32| {
        let url = url.clone();
        async move {
            let mut c = WalletClient::connect(url).await.ok()?;
            let r = c.get_account(GetAccountRequest { account, proven: false }).await.ok()?.into_inner();
            r.exists.then_some(r.balance)
        }
    };
    let t = Instant::now();
    while balance(a).await != Some(1234) {
        assert!(t.elapsed() < Duration::from_secs(60), "deposit not taken:\n{}", f.log("seq"));
        f.check_live();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let dep =
        Tx::Deposit(zkr_circuits::tx::Deposit { priority_id: 0, to: a, pubkey: keys[0].public_key(), amount: 1234 });
    let mut c = WalletClient::connect(url.clone()).await.unwrap();
    let hash = zkr_sequencer::TxHash::of(&dep.id()).0.to_vec();
    let st = c.get_tx_status(GetTxStatusRequest { tx_hash: hash }).await.unwrap().into_inner();
    assert_eq!(st.l1_tx, l1_tx.to_vec(), "the status names the L1 transaction");
    // the sequencer reads the rollup: nothing settles here, so the deposit stays unexecuted on L1, its expiry
    // (zkr l1 deploy's default: 3 days after it was queued) ahead
    let t = Instant::now();
    let metrics = loop {
        let m = http_get(metrics_port, "/metrics").unwrap_or_default();
        if series_value(&m, "zkr_bridge_priority_queue_length") == Some(1.0) {
            break m;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "the rollup's queue is not in the metrics:\n{m}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let left = series_value(&metrics, "zkr_bridge_oldest_priority_op_expiry_seconds").expect("the expiry");
    let age = series_value(&metrics, "zkr_bridge_oldest_priority_op_age_seconds").expect("the age");
    // hardhat's block times may run ahead of this clock by a few seconds (a block per transaction): an hour's slack
    let window = 3.0 * 86400.0;
    assert!((window - 3600.0..=window + 3600.0).contains(&(left + age)), "age {age} + left {left} is the expiry");
    assert!((0.0..3600.0).contains(&age), "queued moments ago: {age}");
    assert_eq!(series_value(&metrics, "zkr_rollup_paused"), Some(0.0));
    assert_eq!(series_value(&metrics, "zkr_up{role=\"sequencer\"}"), Some(1.0));
    assert!(!metrics.contains("zkr_l1_operator_balance_ether"), "the sequencer holds no L1 key");
    let ready = http_get(metrics_port, "/readyz").unwrap_or_default();
    assert!(ready.starts_with("HTTP/1.1 200") && ready.ends_with("ready\n"), "{ready}");

    f.sigterm("seq");
    f.wait_exit("seq", Duration::from_secs(30)).await;
    let (b, _) = deposit(1, 99).await;
    f.start_sequencer_with("seq", "seq", 10_000, port, &bridge);
    let t = Instant::now();
    while balance(b).await != Some(99) {
        assert!(t.elapsed() < Duration::from_secs(60), "second deposit not taken:\n{}", f.log("seq"));
        f.check_live();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(balance(a).await, Some(1234), "the first deposit is credited once");
    drop(node);
}

/// The fleet chaos test: real processes on Postgres (sequencer, coordinator settling on a hardhat JSON-RPC chain, two
/// workers) under a load of signed transfers, while the workers holding one job are killed three times over, the
/// sequencer is killed mid-load and restarted, a second sequencer tries to join, and the coordinator is killed in
/// the middle of a settlement and restarted. It ends with every acknowledged transaction finalized, no job dead,
/// every job done once, and the same state root in the sequencer, on L1 and in a fault-free native replay. The roles
/// are started with the README's fleet commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_fleet_on_postgres_finalizes_every_acknowledged_transaction() {
    let _serial = SERIAL.lock().await;
    zkr_queue::test_utils::with_postgres(chaos).await;
}

async fn chaos(url: String) {
    use zkr_settle::hardhat::{HardhatNode, HARDHAT_KEY_0};
    let t = Instant::now();
    let node = Arc::new(HardhatNode::start().expect("hardhat starts (npm ci --prefix verifier-contracts)"));
    let miner = node.mine_every(Duration::from_millis(250));
    let mut f = Fleet::on_queue(url, 4).await;
    // Every role starts as the README shows it (only the addresses and paths of this machine replaced).
    f.use_readme_commands();
    let record = f.dir.path().join("l1.toml");
    common::l1_deploy(node.url(), &record, &[]);
    let l1 = vec![
        ("ZKR_COORDINATOR_L1__MODE", "rpc".to_string()),
        ("ZKR_COORDINATOR_L1__URL", node.url().to_string()),
        ("ZKR_COORDINATOR_L1__PRIVATE_KEY_ENV", "ZKR_TEST_L1_KEY".to_string()),
        ("ZKR_COORDINATOR_L1__DEPLOYMENT", record.display().to_string()),
        ("ZKR_TEST_L1_KEY", HARDHAT_KEY_0.to_string()),
    ];
    let wallet_port = free_port();
    f.start_sequencer_on("seq-a", "seq-a", 3000, wallet_port);
    f.wait_log("seq-a", "holds the queue's writer lease", Duration::from_secs(30)).await;
    f.start_coordinator_with(3000, &l1).await;
    f.start_worker("w-1");
    f.start_worker("w-2");
    let mut load = Load::new(wallet_port);
    load.submit(8).await;

    // A second sequencer on the same queue is refused.
    f.start_sequencer("seq-b", "seq-b", 3000);
    f.refused("seq-b", "the sequencer lease is held by").await;

    // Kill whichever worker holds the first prove job, three times over.
    let target = f.wait_job("leased", Duration::from_secs(120), |j| j.state == JobState::Leased).await.id;
    let mut kills = 0;
    while kills < 3 {
        let j = f
            .wait_job("the target leased again, or done", Duration::from_secs(120), |j| {
                j.id == target && matches!(j.state, JobState::Leased | JobState::Done)
            })
            .await;
        if j.state == JobState::Done {
            break;
        }
        let holder = j.picked_by.clone().unwrap();
        if f.exited(&holder).is_some() {
            // still leased to the worker killed last round, until its lease expires
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        f.kill9(&holder);
        kills += 1;
        eprintln!("chaos: killed {holder} holding job {target} (kill {kills})");
        f.start_worker(&format!("w-{}", kills + 2));
    }

    // Kill the sequencer in the middle of the load, then restart it on its data dir.
    load.submit(3).await;
    f.kill9("seq-a");
    tokio::time::sleep(Duration::from_secs(2)).await;
    f.start_sequencer_on("seq-a", "seq-a", 3000, wallet_port);
    load.submit(5).await;

    // Kill the coordinator between the commit and the execute of an epoch, then restart it.
    f.wait_log("coordinator", "committed on L1", Duration::from_secs(300)).await;
    f.kill9("coordinator");
    eprintln!("chaos: killed the coordinator mid-settlement");
    load.submit(4).await;
    f.start_coordinator_with(3000, &l1).await;

    // Every acknowledged transaction ends FINALIZED.
    let t2 = Instant::now();
    loop {
        let stages = load.stages().await;
        if stages.as_ref().is_some_and(|s| s.iter().all(|&st| st == proto::TxStage::Finalized as i32)) {
            break;
        }
        f.check_live();
        assert!(t2.elapsed() < Duration::from_secs(600), "not all finalized: {stages:?}\n{}", f.all_logs());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(miner);

    // No job dead, every job done once; the target survived its killed workers.
    let jobs = f.jobs().await;
    assert!(!jobs.iter().any(|j| j.state == JobState::Dead), "{jobs:#?}");
    let target = jobs.iter().find(|j| j.id == target).unwrap();
    assert_eq!(target.state, JobState::Done, "{target:?}");
    assert!(kills >= 1, "no worker was caught holding the target");
    assert!(target.lost_leases >= 1 && target.attempts <= 1, "lost leases are not attempts: {target:?}");
    let mut accepted = 0;
    for j in &jobs {
        let done = f.queue.history(j.id).await.unwrap().iter().filter(|e| e.event == "done").count();
        assert!(done <= 1, "job {} completed {done} times", j.id);
        accepted += done;
    }

    // One root: the sequencer's, L1's executed root, and a native replay of the acknowledged transactions.
    let mut state = demo::genesis(&demo::keys(1, 8));
    for tx in &load.acked {
        state.apply(tx).expect("the acknowledged transactions replay");
    }
    let native = zkr_sequencer::types::digest_to_bytes(&state.root());
    let mut c = load.client().await.unwrap();
    let seq_root = c.get_account(GetAccountRequest { account: 0, proven: false }).await.unwrap().into_inner().root;
    assert_eq!(seq_root, native.to_vec(), "the sequencer's root is the fault-free one");
    let rt_l1 = zkr_settle::RpcL1::connect_with_signer(node.url(), HARDHAT_KEY_0.parse().unwrap()).await.unwrap();
    let deployed = zkr_settle::Deployment::load(&record).unwrap();
    let p = zkr_settle::RollupProgress::read(&rt_l1, deployed.rollup).await.unwrap();
    assert_eq!(p.executed_root, zkr_rollup::pack_digest(&state.root()), "L1's executed root: {p:?}");
    eprintln!(
        "chaos: {} transactions acknowledged and finalized, {} jobs ({} accepted once each), {kills} kills of the \
         target's holders, target job lost {} leases, {} epochs executed on L1, {:.1} s",
        load.acked.len(),
        jobs.len(),
        accepted,
        target.lost_leases,
        p.executed,
        t.elapsed().as_secs_f64()
    );
}
