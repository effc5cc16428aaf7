//! One scenario, two L1 backends: deploy, send, read back, revert, confirmations.

use std::sync::Arc;

use alloy_primitives::{keccak256, U256};
use alloy_sol_types::{sol, SolCall, SolValue};
use zkr_settle::hardhat::{HardhatNode, HARDHAT_CHAIN_ID, HARDHAT_KEY_0};
use zkr_settle::{deploy_all, Deployment, InProcessL1, L1Error, RpcL1, IN_PROCESS_CHAIN_ID, L1};

use crate::common::compile;

sol! {
    interface ICounter {
        function n() external view returns (uint256);
        function bump(uint256 by) external payable;
        function held() external view returns (uint256);
    }
}

async fn scenario(l1: &dyn L1, expected_chain_id: u64) {
    assert_eq!(l1.chain_id().await.unwrap(), expected_chain_id);
    let counter = compile("Counter.sol", "Counter");
    let code = [counter.creation_code.clone(), U256::from(5u64).abi_encode()].concat();
    let before = l1.block_number().await.unwrap();
    let deployed = l1.deploy(code, U256::ZERO).await.unwrap();
    let addr = deployed.contract_address.unwrap();
    assert!(deployed.success);
    assert_eq!(deployed.block_number, before + 1, "each transaction mines one block");
    assert_eq!(l1.code_at(addr).await.unwrap(), counter.runtime_code);

    let n = |out: Vec<u8>| ICounter::nCall::abi_decode_returns(&out).unwrap();
    assert_eq!(n(l1.call(addr, ICounter::nCall {}.abi_encode()).await.unwrap()), U256::from(5u64));

    let sent =
        l1.send(addr, ICounter::bumpCall { by: U256::from(7u64) }.abi_encode(), U256::from(1000u64)).await.unwrap();
    assert!(sent.success && sent.gas_used > 21_000, "{sent:?}");
    assert_eq!(sent.block_number, deployed.block_number + 1);
    assert_eq!(sent.logs.len(), 1);
    assert_eq!(sent.logs[0].address, addr);
    assert_eq!(sent.logs[0].topics()[0], keccak256("Bumped(uint256)"));
    assert_eq!(U256::from_be_slice(&sent.logs[0].data.data), U256::from(12u64));
    assert_eq!(n(l1.call(addr, ICounter::nCall {}.abi_encode()).await.unwrap()), U256::from(12u64));
    let held = l1.call(addr, ICounter::heldCall {}.abi_encode()).await.unwrap();
    assert_eq!(U256::from_be_slice(&held), U256::from(1000u64));

    // read the transaction back
    let back = l1.receipt(sent.tx_hash).await.unwrap().unwrap();
    assert_eq!(back, sent);
    assert!(l1.receipt(keccak256("no such transaction")).await.unwrap().is_none());
    assert_eq!(l1.confirmations(keccak256("no such transaction")).await.unwrap(), 0);

    // confirmations grow with later blocks
    assert_eq!(l1.confirmations(sent.tx_hash).await.unwrap(), 1);
    l1.send(addr, ICounter::bumpCall { by: U256::from(1u64) }.abi_encode(), U256::ZERO).await.unwrap();
    assert_eq!(l1.confirmations(sent.tx_hash).await.unwrap(), 2);
    assert_eq!(l1.confirmations(deployed.tx_hash).await.unwrap(), 3);

    // a revert comes back decoded and changes nothing
    let err = l1.send(addr, ICounter::bumpCall { by: U256::from(500u64) }.abi_encode(), U256::ZERO).await.unwrap_err();
    match &err {
        L1Error::Reverted { to, reason, data, .. } => {
            assert_eq!(*to, Some(addr));
            assert!(reason.contains("too big"), "{reason}");
            assert!(!data.is_empty());
        }
        other => panic!("expected a revert, got {other:?}"),
    }
    assert!(err.to_string().contains("too big"), "{err}");
    assert_eq!(n(l1.call(addr, ICounter::nCall {}.abi_encode()).await.unwrap()), U256::from(13u64));

    // deploy_all + the TOML record + its check against the chain
    let verifier_code = [counter.creation_code.clone(), U256::from(1u64).abi_encode()].concat();
    let deployment = deploy_all(l1, verifier_code, |verifier| {
        // a stand-in rollup whose constructor argument is the verifier's address
        [counter.creation_code.clone(), U256::from_be_slice(verifier.as_slice()).abi_encode()].concat()
    })
    .await
    .unwrap();
    assert_eq!(deployment.chain_id, expected_chain_id);
    assert_ne!(deployment.verifier, deployment.rollup);
    let start = l1.call(deployment.rollup, ICounter::nCall {}.abi_encode()).await.unwrap();
    assert_eq!(&start[12..], deployment.verifier.as_slice(), "the rollup got the verifier's address");
    assert_eq!(deployment.deploy_block, l1.block_number().await.unwrap());
    let reread = Deployment::from_toml(&deployment.to_toml(), "test").unwrap();
    assert_eq!(reread, deployment);
    reread.check(l1).await.unwrap();
    let elsewhere = Deployment { rollup: alloy_primitives::Address::repeat_byte(0x42), ..reread.clone() };
    assert!(elsewhere.check(l1).await.is_err());
    let other_chain = Deployment { chain_id: 1, ..reread };
    assert!(other_chain.check(l1).await.is_err());
}

#[tokio::test]
async fn in_process_backend() {
    let l1 = InProcessL1::new();
    scenario(&l1, IN_PROCESS_CHAIN_ID).await;
}

#[tokio::test]
async fn hardhat_backend() {
    let node = HardhatNode::start().unwrap();
    // the key comes from an environment variable, as `zkr l1 deploy --private-key-env` reads it
    std::env::set_var("ZKR_SETTLE_IT_KEY", HARDHAT_KEY_0);
    let l1 = RpcL1::connect(node.url(), "ZKR_SETTLE_IT_KEY").await.unwrap();
    assert_eq!(l1.sender().to_string(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    let l1: Arc<dyn L1> = Arc::new(l1);
    scenario(l1.as_ref(), HARDHAT_CHAIN_ID).await;
    // hardhat mines empty blocks on request: confirmations count them
    let tip = l1.block_number().await.unwrap();
    node.mine(3).unwrap();
    assert_eq!(l1.block_number().await.unwrap(), tip + 3);
}

#[tokio::test]
async fn rpc_connection_errors_are_clear() {
    std::env::remove_var("ZKR_SETTLE_IT_UNSET");
    let err = RpcL1::connect("http://127.0.0.1:1", "ZKR_SETTLE_IT_UNSET").await.unwrap_err();
    assert!(matches!(err, L1Error::MissingKeyEnv { ref var } if var == "ZKR_SETTLE_IT_UNSET"), "{err}");

    std::env::set_var("ZKR_SETTLE_IT_BAD", "0x1234nothex");
    let err = RpcL1::connect("http://127.0.0.1:1", "ZKR_SETTLE_IT_BAD").await.unwrap_err();
    assert!(matches!(err, L1Error::BadKey { .. }), "{err}");
    assert!(!err.to_string().contains("1234nothex"), "the key must not be echoed: {err}");

    std::env::set_var("ZKR_SETTLE_IT_GOOD", HARDHAT_KEY_0);
    let err = RpcL1::connect("not a url", "ZKR_SETTLE_IT_GOOD").await.unwrap_err();
    assert!(matches!(err, L1Error::BadUrl { .. }), "{err}");

    // a port nothing listens on
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let err = RpcL1::connect(&url, "ZKR_SETTLE_IT_GOOD").await.unwrap_err();
    assert!(matches!(err, L1Error::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
}
