//! Filesystem blob store.

use zkr_queue::{BlobError, FsBlobStore};

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files_under(&entry.path()));
        } else {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

#[test]
fn round_trip_and_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path().join("blobs")).unwrap();
    assert!(!store.exists("traces/batch-1.bin"));
    store.put("traces/batch-1.bin", b"trace one").unwrap();
    assert!(store.exists("traces/batch-1.bin"));
    assert_eq!(store.get("traces/batch-1.bin").unwrap(), b"trace one");
    store.put("traces/batch-1.bin", b"replaced").unwrap();
    assert_eq!(store.get("traces/batch-1.bin").unwrap(), b"replaced");
    store.put("empty", b"").unwrap();
    assert_eq!(store.get("empty").unwrap(), b"");
    let big: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    store.put("proofs/agg/l2_0-3.proof", &big).unwrap();
    assert_eq!(store.get("proofs/agg/l2_0-3.proof").unwrap(), big);
    // Atomic writes leave no temp files behind.
    assert_eq!(files_under(store.root()), vec!["batch-1.bin", "empty", "l2_0-3.proof"]);
}

#[test]
fn missing_blob_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path()).unwrap();
    match store.get("proofs/nope") {
        Err(BlobError::NotFound { key }) => assert_eq!(key, "proofs/nope"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[test]
fn bad_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path().join("root")).unwrap();
    let long = "k".repeat(201);
    for key in ["../x", "/abs", "", "a/../../etc/passwd", "a b", "a//b", long.as_str()] {
        match store.put(key, b"x") {
            Err(BlobError::BadKey { key: k, reason }) => {
                assert_eq!(k, key);
                assert!(!reason.is_empty());
            }
            other => panic!("put({key:?}): expected BadKey, got {other:?}"),
        }
        assert!(matches!(store.get(key), Err(BlobError::BadKey { .. })), "get({key:?})");
        assert!(!store.exists(key));
    }
    // Nothing escaped the root.
    assert_eq!(files_under(dir.path()), Vec::<String>::new());
}
