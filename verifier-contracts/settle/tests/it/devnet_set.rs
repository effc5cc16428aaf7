//! The committed devnet contract set is what the pinned solc makes of the committed sources, and it deploys
//! under mainnet limits and runs: a proof that is not valid is refused by the verifier through the rollup's path.

use std::path::Path;

use zkr_contracts::DEVNET_VERIFIER_PATH;
use zkr_settle::{deploy_contracts, ContractSet, InProcessL1, RollupSetup, DEVNET_CONTRACTS_PATH, L1};

fn committed_verifier() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(DEVNET_VERIFIER_PATH);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn committed_devnet_contracts_match_the_committed_sources() {
    let committed = ContractSet::devnet().expect("the committed set parses");
    let source = committed_verifier();
    assert!(committed.matches_source(&source), "{DEVNET_CONTRACTS_PATH} was compiled from another ZkrVerifier.sol");
    let fresh = ContractSet::compile(&source, committed.capacity, committed.epoch_height).expect("compiles");
    assert!(
        fresh == committed,
        "{DEVNET_CONTRACTS_PATH} is stale: regenerate it with `zkr contracts generate` (needs npm solc)"
    );
}

#[tokio::test]
async fn devnet_set_deploys_and_refuses_a_bogus_proof() {
    let set = ContractSet::devnet().unwrap();
    let l1 = InProcessL1::new();
    let me = l1.sender();
    let setup = RollupSetup {
        governor: me,
        guardian: me,
        operator: me,
        batches_per_epoch: 1 << set.epoch_height,
        batch_capacity: set.capacity as u64,
        genesis_root: Default::default(),
        genesis_accounts: vec![],
        priority_expiry: 3600,
        timelock_delay: 3600,
    };
    let mut steps = Vec::new();
    let d = deploy_contracts(&l1, &set, &setup, |name, gas| steps.push((name.to_string(), gas))).await.unwrap();
    assert_eq!(steps.len(), set.verifier_parts.len() + 3);
    assert!(steps.iter().all(|(_, gas)| *gas <= zkr_evm::TX_GAS_CAP), "{steps:?}");
    assert_eq!(d.verifier_parts.len(), set.verifier_parts.len());
    // verifyProof(bytes, uint256[20]) with a proof of the wrong length: false, not a revert
    let mut call = alloy_primitives::keccak256("verifyProof(bytes,uint256[20])")[..4].to_vec();
    let word = |x: usize| alloy_primitives::U256::from(x).to_be_bytes::<32>();
    call.extend(word(32 * 21));
    call.extend([0u8; 32 * 20]);
    call.extend(word(64));
    call.extend([7u8; 64]);
    let out = l1.call(d.verifier, call).await.expect("the call runs");
    assert_eq!(out, word(0).to_vec(), "a malformed proof is refused");
}
