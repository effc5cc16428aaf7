//! The Settler against a contract that enforces the commit → prove → execute order, on both L1 backends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{keccak256, Address, Bytes, U256};
use alloy_sol_types::{sol, SolCall, SolInterface, SolValue};
use zkr_settle::hardhat::{HardhatNode, HARDHAT_KEY_0};
use zkr_settle::{
    CallBuildError, EpochSubmission, InProcessL1, PrivateKeySigner, RollupCalls, RpcL1, SettleError, SettleEvent,
    Settler, SettlerConfig, Stage, L1,
};

use crate::common::compile;

sol! {
    interface IMockRollup {
        error OutOfOrder(uint64 expected, uint64 got);
        error StatementMismatch(uint64 epoch);
        function commit(uint64 epoch, bytes[] pubdata, uint256[24] publicInputs) external;
        function prove(uint64 epoch, bytes proof, bytes32 committed) external;
        function execute(uint64 epoch) external;
        function totalCommitted() external view returns (uint64);
        function totalProven() external view returns (uint64);
        function totalExecuted() external view returns (uint64);
    }
}

/// The mock's calldata, built the way a real [`RollupCalls`] would be from the rollup's bindings.
struct MockCalls;

impl RollupCalls for MockCalls {
    fn commit(&self, e: &EpochSubmission) -> Result<Vec<u8>, CallBuildError> {
        let pubdata = e.pubdata.iter().cloned().map(Bytes::from).collect();
        Ok(IMockRollup::commitCall { epoch: e.epoch, pubdata, publicInputs: e.public_inputs }.abi_encode())
    }
    fn prove(&self, e: &EpochSubmission) -> Result<Vec<u8>, CallBuildError> {
        let pubdata: Vec<Bytes> = e.pubdata.iter().cloned().map(Bytes::from).collect();
        let committed = keccak256((pubdata, e.public_inputs).abi_encode_params());
        Ok(IMockRollup::proveCall { epoch: e.epoch, proof: e.proof.clone().into(), committed }.abi_encode())
    }
    fn execute(&self, e: &EpochSubmission) -> Result<Vec<u8>, CallBuildError> {
        if e.epoch == 0 {
            return Err("epoch 0 is genesis and cannot be executed".into());
        }
        Ok(IMockRollup::executeCall { epoch: e.epoch }.abi_encode())
    }
    fn describe_revert(&self, data: &[u8]) -> Option<String> {
        match IMockRollup::IMockRollupErrors::abi_decode(data).ok()? {
            IMockRollup::IMockRollupErrors::OutOfOrder(e) => {
                Some(format!("OutOfOrder(expected {}, got {})", e.expected, e.got))
            }
            IMockRollup::IMockRollupErrors::StatementMismatch(e) => Some(format!("StatementMismatch({})", e.epoch)),
        }
    }
}

fn submission(epoch: u64, proof: &[u8]) -> EpochSubmission {
    EpochSubmission {
        epoch,
        pubdata: vec![vec![epoch as u8; 256], vec![7; 256]],
        public_inputs: std::array::from_fn(|i| U256::from(epoch * 100 + i as u64)),
        proof: proof.to_vec(),
        withdrawals: Vec::new(),
    }
}

async fn counter(l1: &dyn L1, rollup: Address, call: Vec<u8>) -> u64 {
    let out = l1.call(rollup, call).await.unwrap();
    u64::abi_decode(&out).unwrap()
}

async fn totals(l1: &dyn L1, rollup: Address) -> [u64; 3] {
    [
        counter(l1, rollup, IMockRollup::totalCommittedCall {}.abi_encode()).await,
        counter(l1, rollup, IMockRollup::totalProvenCall {}.abi_encode()).await,
        counter(l1, rollup, IMockRollup::totalExecutedCall {}.abi_encode()).await,
    ]
}

/// Settles epochs 1 and 2 through the mock, with failures on the way; `config.confirmations` as the backend allows.
async fn scenario(l1: Arc<dyn L1>, config: SettlerConfig) {
    let mock = compile("MockRollup.sol", "MockRollup");
    let rollup = l1.deploy(mock.creation_code, U256::ZERO).await.unwrap().contract_address.unwrap();
    let settler = Settler::new(l1.clone(), rollup, Arc::new(MockCalls), config.clone());

    // epoch 1, all three steps in order
    let mut events = Vec::new();
    let settled = settler.settle(&submission(1, b"proof"), |e| events.push(e)).await.unwrap();
    assert_eq!(events.len(), 4, "{events:?}");
    let (commit, prove, execute) = (settled.commit.unwrap(), settled.prove.unwrap(), settled.execute);
    assert_eq!(events[0], SettleEvent::Committed { epoch: 1, tx_hash: commit.tx_hash, l1_block: commit.block_number });
    assert_eq!(events[1], SettleEvent::Proven { epoch: 1, tx_hash: prove.tx_hash, l1_block: prove.block_number });
    assert_eq!(events[2], SettleEvent::Executed { epoch: 1, tx_hash: execute.tx_hash, l1_block: execute.block_number });
    assert_eq!(events[3], SettleEvent::Finalized { epoch: 1, l1_block: execute.block_number });
    assert!(commit.block_number < prove.block_number && prove.block_number < execute.block_number);
    assert_eq!(settled.l1_block, execute.block_number);
    assert!(l1.confirmations(execute.tx_hash).await.unwrap() >= config.confirmations);
    assert_eq!(totals(l1.as_ref(), rollup).await, [1, 1, 1]);

    // out of order: proving epoch 3 before epoch 2 is committed reverts with the contract's custom error, decoded
    let mut events = Vec::new();
    let err = settler.settle_from(&submission(3, b"proof"), Stage::Prove, |e| events.push(e)).await.unwrap_err();
    match &err {
        SettleError::Send { epoch: 3, stage: Stage::Prove, reason, .. } => {
            assert!(reason.contains("OutOfOrder(expected 2, got 3)"), "{reason}")
        }
        other => panic!("expected a prove revert, got {other}"),
    }
    assert!(events.is_empty());

    // epoch 2 with an empty proof: committed, then the prove step reverts with the contract's message
    let mut events = Vec::new();
    let err = settler.settle(&submission(2, b""), |e| events.push(e)).await.unwrap_err();
    assert!(matches!(err, SettleError::Send { epoch: 2, stage: Stage::Prove, .. }), "{err}");
    assert!(err.to_string().contains("empty proof"), "{err}");
    assert!(matches!(events.as_slice(), [SettleEvent::Committed { epoch: 2, .. }]), "{events:?}");
    assert_eq!(totals(l1.as_ref(), rollup).await, [2, 1, 1]);

    // executing before proving reverts
    let err = settler.settle_from(&submission(2, b"proof"), Stage::Execute, |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("OutOfOrder(expected 2, got 2)"), "{err}");

    // resume at prove with a good proof; events come from a Send + Sync collector as a pipeline would use
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let settled = settler
        .settle_from(&submission(2, b"proof"), Stage::Prove, move |e| sink.lock().unwrap().push(e))
        .await
        .unwrap();
    assert!(settled.commit.is_none() && settled.prove.is_some());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.iter().map(SettleEvent::epoch).collect::<Vec<_>>(), vec![2, 2, 2]);
    assert!(matches!(
        seen.as_slice(),
        [SettleEvent::Proven { .. }, SettleEvent::Executed { .. }, SettleEvent::Finalized { .. }]
    ));
    assert_eq!(totals(l1.as_ref(), rollup).await, [2, 2, 2]);

    // a call that cannot be built is reported before anything is sent
    let before = l1.block_number().await.unwrap();
    let err = settler.settle_from(&submission(0, b"proof"), Stage::Execute, |_| {}).await.unwrap_err();
    assert!(matches!(err, SettleError::Build { epoch: 0, stage: Stage::Execute, .. }), "{err}");
    assert_eq!(l1.block_number().await.unwrap(), before);
}

#[tokio::test]
async fn settles_in_process() {
    scenario(Arc::new(InProcessL1::new()), SettlerConfig { confirmations: 0, ..SettlerConfig::default() }).await;
}

#[tokio::test]
async fn in_process_confirmations_time_out() {
    // an in-process chain mines only on transactions, so 3 confirmations never come
    let l1: Arc<dyn L1> = Arc::new(InProcessL1::new());
    let mock = compile("MockRollup.sol", "MockRollup");
    let rollup = l1.deploy(mock.creation_code, U256::ZERO).await.unwrap().contract_address.unwrap();
    let config = SettlerConfig {
        confirmations: 3,
        poll_interval: Duration::from_millis(10),
        confirmation_timeout: Duration::from_millis(100),
    };
    let settler = Settler::new(l1, rollup, Arc::new(MockCalls), config);
    let mut events = Vec::new();
    let err = settler.settle(&submission(1, b"proof"), |e| events.push(e)).await.unwrap_err();
    assert!(matches!(err, SettleError::ConfirmationTimeout { epoch: 1, got: 1, wanted: 3, .. }), "{err}");
    assert!(matches!(events.last(), Some(SettleEvent::Executed { .. })), "no Finalized: {events:?}");
}

#[tokio::test]
async fn settles_on_hardhat_with_confirmations() {
    let node = Arc::new(HardhatNode::start().unwrap());
    let signer: PrivateKeySigner = HARDHAT_KEY_0.parse().unwrap();
    let l1 =
        RpcL1::connect_with_signer(node.url(), signer).await.unwrap().with_poll_interval(Duration::from_millis(50));
    // hardhat mines only on transactions: a background miner adds empty blocks so confirmations accrue
    let miner = node.mine_every(Duration::from_millis(150));
    let config = SettlerConfig {
        confirmations: 3,
        poll_interval: Duration::from_millis(50),
        confirmation_timeout: Duration::from_secs(60),
    };
    scenario(Arc::new(l1), config).await;
    drop(miner);
}
