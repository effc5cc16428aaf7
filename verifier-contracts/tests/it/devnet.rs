//! The committed devnet verifier must equal a fresh generation (CI fails on drift).
//! `ZKR_WRITE_VERIFIER=1 cargo test -p zkr-contracts devnet` rewrites the file.

use std::path::Path;

use zkr_contracts::{devnet_verifier, DEVNET_VERIFIER_PATH};

#[test]
fn committed_devnet_verifier_is_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEVNET_VERIFIER_PATH);
    let fresh = devnet_verifier().expect("the devnet verifier generates");
    if std::env::var("ZKR_WRITE_VERIFIER").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("writes the verifier");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale: regenerate it with `zkr contracts generate` (or ZKR_WRITE_VERIFIER=1 cargo test -p zkr-contracts devnet)",
        path.display()
    );
}
