//! Shared fixtures: the circuits (built once per test binary), two consecutive demo batches, a coordinator served
//! on a real socket over a SQLite or Postgres queue, and a hand-written gRPC client.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio_util::sync::CancellationToken;
use zkr_circuits::batch::Batch;
use zkr_circuits::config::Digest;
use zkr_circuits::demo;
use zkr_coordinator::epochs::{EpochPlan, QueueSink};
use zkr_coordinator::hub::Hub;
use zkr_coordinator::service::{serve_on, CoordinatorService};
use zkr_queue::{FsBlobStore, Job, JobId, Queue, QueueConfig};
use zkr_sequencer::BatchSink;
use zkr_worker::exec::Circuits;
use zkr_worker::metrics::ProverMetrics;
use zkr_worker::proto;
use zkr_worker::proto::coordinator_client::CoordinatorClient;

pub const CAPACITY: usize = 2;
pub const HEIGHT: u32 = 1;
pub const TOKEN: &str = "test-token-1";
pub const OTHER_TOKEN: &str = "test-token-2";

/// The circuits of every test in this binary: capacity 2, epochs of 2 batches. Built once (seconds).
pub async fn circuits() -> Arc<Circuits> {
    static CIRCUITS: OnceLock<Arc<Circuits>> = OnceLock::new();
    tokio::task::spawn_blocking(|| CIRCUITS.get_or_init(|| Arc::new(Circuits::build(CAPACITY, HEIGHT))).clone())
        .await
        .unwrap()
}

/// Two consecutive full batches from the demo genesis, with the roots before and after.
pub struct Batches {
    pub batches: Vec<Batch>,
    pub genesis_root: Digest,
    pub final_root: Digest,
}

pub fn batches() -> &'static Batches {
    static BATCHES: OnceLock<Batches> = OnceLock::new();
    BATCHES.get_or_init(|| {
        let keys = demo::keys(11, 4);
        let mut state = demo::genesis(&keys);
        let genesis_root = state.root();
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let batches = (0..2)
            .map(|_| demo::random_batch(&mut rng, &keys, &mut state, CAPACITY, CAPACITY, demo::Mix::Transfers))
            .collect();
        Batches { batches, genesis_root, final_root: state.root() }
    })
}

/// A coordinator on 127.0.0.1:<random port>, its queue and blob store.
pub struct Coordinator {
    pub queue: Queue,
    pub blobs: Arc<FsBlobStore>,
    pub circuits: Arc<Circuits>,
    pub metrics: Arc<ProverMetrics>,
    pub addr: SocketAddr,
    pub stop: CancellationToken,
    server: Option<tokio::task::JoinHandle<Result<(), tonic::transport::Error>>>,
    _dir: tempfile::TempDir,
}

impl Coordinator {
    /// Opens the queue at `url` (a SQLite URL under a temp dir when `None`), and serves the coordinator.
    pub async fn start(url: Option<&str>) -> Coordinator {
        let dir = tempfile::tempdir().unwrap();
        let url =
            url.map(str::to_string).unwrap_or_else(|| format!("sqlite://{}", dir.path().join("queue.db").display()));
        let queue = Queue::connect(&url, QueueConfig { lease_ms: 30_000, max_attempts: 3, ..QueueConfig::default() })
            .await
            .unwrap();
        let blobs = Arc::new(FsBlobStore::new(dir.path().join("blobs")).unwrap());
        let circuits = circuits().await;
        let metrics = Arc::new(ProverMetrics::register(&prometheus::Registry::new()).unwrap());
        let hub = Hub {
            queue: queue.clone(),
            blobs: blobs.clone(),
            circuits: circuits.clone(),
            lease_ms: 30_000,
            metrics: Some(metrics.clone()),
            wake: None,
        };
        let service = CoordinatorService::new(hub, [TOKEN.to_string(), OTHER_TOKEN.to_string()]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let s = stop.clone();
        let server = tokio::spawn(serve_on(service, listener, async move { s.cancelled().await }));
        Coordinator { queue, blobs, circuits, metrics, addr, stop, server: Some(server), _dir: dir }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Hands batches 0 and 1 over as the sequencer would: two prove jobs and the epoch's aggregation.
    pub async fn seal_batches(&self) {
        for (n, b) in batches().batches.iter().enumerate() {
            self.sink().sealed(n as u64, b).await.unwrap();
        }
    }

    pub fn sink(&self) -> QueueSink {
        QueueSink {
            queue: self.queue.clone(),
            blobs: self.blobs.clone(),
            plan: EpochPlan { height: HEIGHT },
            wake: None,
            fence: None,
        }
    }

    pub async fn job(&self, id: JobId) -> Job {
        self.queue.get(id).await.unwrap().unwrap()
    }

    /// A raw gRPC client, as a third-party worker would write it.
    pub async fn client(&self) -> CoordinatorClient<tonic::transport::Channel> {
        CoordinatorClient::connect(self.url()).await.unwrap().max_decoding_message_size(64 << 20)
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(s) = self.server.take() {
            s.await.unwrap().unwrap();
        }
        self.queue.close().await;
    }

    /// Completed-job counter of the coordinator's metrics.
    pub fn completed(&self, kind: &str, outcome: &str) -> u64 {
        self.metrics.jobs_completed.with_label_values(&[kind, outcome]).get()
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// `msg` with `authorization: Bearer <token>` (no header at all for `None`).
pub fn authed<T>(msg: T, token: Option<&str>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Some(t) = token {
        r.metadata_mut().insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    r
}

pub fn lease_req(worker: &str) -> proto::LeaseRequest {
    proto::LeaseRequest { worker_id: worker.to_string(), backend: "cpu".into() }
}

pub fn submit_req(id: JobId, worker: &str, proof: Vec<u8>) -> proto::SubmitRequest {
    proto::SubmitRequest { job_id: id, worker_id: worker.to_string(), proof, prove_seconds: 0.1, backend: "cpu".into() }
}

pub use zkr_queue::test_utils::with_postgres;
