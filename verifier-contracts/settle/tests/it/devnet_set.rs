//! The committed files in `generated/` are what a fresh generation makes of today's code: the devnet verifier
//! (zkr-generator), the Poseidon library (zkr-yul) and the contract set the pinned solc compiles from them. And the
//! committed set deploys under mainnet limits and runs: a proof that is not valid is refused by the verifier
//! through the rollup's path.
//!
//! `ZKR_UPDATE_GENERATED=1 cargo test -p zkr-settle --test it devnet_set` rewrites the stale files instead of
//! failing (the same files `zkr contracts generate` writes).

use std::path::Path;

use zkr_generator::{DEVNET_CAPACITY, DEVNET_EPOCH_HEIGHT};
use zkr_settle::{
    deploy_contracts, ContractSet, InProcessL1, RollupSetup, DEVNET_CONTRACTS_PATH, DEVNET_POSEIDON_PATH,
    DEVNET_VERIFIER_PATH, L1,
};

/// Fails unless the committed file `rel` (relative to this crate) holds `fresh`; rewrites it first when
/// `ZKR_UPDATE_GENERATED=1`.
fn assert_committed(rel: &str, fresh: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if std::env::var("ZKR_UPDATE_GENERATED").is_ok_and(|v| v == "1") {
        std::fs::write(&path, fresh).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale: regenerate it with `zkr contracts generate` \
         (or ZKR_UPDATE_GENERATED=1 cargo test -p zkr-settle --test it devnet_set)",
        path.display()
    );
}

#[test]
fn committed_poseidon_library_is_fresh() {
    assert_committed(DEVNET_POSEIDON_PATH, &zkr_yul::poseidon::solidity_library());
}

#[test]
fn committed_devnet_verifier_and_contracts_are_fresh() {
    let verifier = zkr_generator::devnet_verifier().expect("the devnet verifier generates");
    let (fresh, pinned) =
        ContractSet::compile_pinned(&verifier, DEVNET_CAPACITY, DEVNET_EPOCH_HEIGHT).expect("compiles");
    assert_committed(DEVNET_VERIFIER_PATH, &pinned);
    assert_committed(DEVNET_CONTRACTS_PATH, &fresh.to_json());
}

#[tokio::test]
async fn devnet_set_deploys_and_refuses_a_bogus_proof() {
    let set = ContractSet::devnet().unwrap();
    let l1 = InProcessL1::new();
    let me = l1.sender();
    let setup = crate::common::devnet_setup(&set, me, zkr_circuits::tx::Domain::DEVNET.chain_id);
    // a domain for another chain is refused before anything is deployed
    let elsewhere = RollupSetup { domain: zkr_circuits::tx::Domain { chain_id: 1, rollup_id: 1 }, ..setup.clone() };
    let err = deploy_contracts(&l1, &set, &elsewhere, |_, _| panic!("nothing may be deployed")).await.unwrap_err();
    assert!(matches!(err, zkr_settle::DeployError::DomainChainMismatch { expected: 1, got: 31337 }), "{err}");
    let mut steps = Vec::new();
    let d = deploy_contracts(&l1, &set, &setup, |name, gas| steps.push((name.to_string(), gas))).await.unwrap();
    assert_eq!(steps.len(), set.verifier_parts.len() + 3);
    assert!(steps.iter().all(|(_, gas)| *gas <= zkr_evm::TX_GAS_CAP), "{steps:?}");
    assert_eq!(d.verifier_parts.len(), set.verifier_parts.len());
    // verifyProof(bytes, uint256[24]) with a proof of the wrong length: false, not a revert
    let mut call = alloy_primitives::keccak256("verifyProof(bytes,uint256[24])")[..4].to_vec();
    let word = |x: usize| alloy_primitives::U256::from(x).to_be_bytes::<32>();
    call.extend(word(32 * 25));
    call.extend([0u8; 32 * 24]);
    call.extend(word(64));
    call.extend([7u8; 64]);
    let out = l1.call(d.verifier, call).await.expect("the call runs");
    assert_eq!(out, word(0).to_vec(), "a malformed proof is refused");
}

/// The verifier pins its parts' code: deployed with its parts in another order (each part real, compiled from the
/// same file), or with one part's code changed, its constructor reverts; with the committed parts it deploys.
#[tokio::test]
async fn the_verifier_refuses_parts_other_than_its_own() {
    let set = ContractSet::devnet().unwrap();
    let l1 = InProcessL1::new();
    let mut parts = Vec::new();
    for code in &set.verifier_parts {
        let r = l1.deploy(code.clone(), Default::default()).await.unwrap();
        parts.push(r.contract_address.unwrap().into_array());
    }
    // real parts in the wrong slots: code the verifier was not compiled with, as any substitute would be
    let mut swapped = parts.clone();
    swapped.swap(0, 1);
    let mut code = set.verifier.clone();
    code.extend(zkr_generator::verifier_constructor_args(&swapped));
    let err = l1.deploy(code, Default::default()).await.unwrap_err();
    let selector = &alloy_primitives::keccak256("PartCodeMismatch()")[..4];
    assert!(
        matches!(&err, zkr_settle::L1Error::Reverted { data, .. } if data.starts_with(selector)),
        "expected PartCodeMismatch, got {err}"
    );
    let mut code = set.verifier.clone();
    code.extend(zkr_generator::verifier_constructor_args(&parts));
    l1.deploy(code, Default::default()).await.expect("the verifier deploys on its own parts");
}
