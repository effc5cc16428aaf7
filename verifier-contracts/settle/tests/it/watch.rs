//! The bridge's watcher on the real rollup contract: priority operations come out in queue order with their L1
//! transactions once confirmed; a reorg of unconfirmed blocks removes an operation before it is handed on; a reorg
//! deeper than the confirmations is reported.

use std::sync::Arc;

use alloy_sol_types::SolCall;
use serde_json::json;
use zkr_circuits::demo;
use zkr_circuits::schnorr::SecretKey;
use zkr_circuits::tx::Tx;
use zkr_rollup::calldata::{amount_wei, deposit_call, forced_exit_call, open_account_call};
use zkr_settle::hardhat::{HardhatNode, HARDHAT_KEY_0};
use zkr_settle::{
    deploy_contracts, ContractSet, Deployment, InProcessL1, PriorityWatcher, RpcL1, WatchConfig, WatchError, L1,
};

async fn deploy(l1: &dyn L1) -> Deployment {
    let set = ContractSet::devnet().unwrap();
    let setup = crate::common::devnet_setup(&set, l1.sender(), l1.chain_id().await.unwrap());
    deploy_contracts(l1, &set, &setup, |_, _| {}).await.unwrap()
}

fn key(i: u64) -> SecretKey {
    demo::keys(1000 + i, 1).remove(0)
}

async fn open_account(l1: &dyn L1, rollup: zkr_settle::Address, sk: &SecretKey, amount: u64) -> zkr_settle::B256 {
    let call = open_account_call(&sk.public_key()).abi_encode();
    l1.send(rollup, call, amount_wei(amount)).await.unwrap().tx_hash
}

#[tokio::test]
async fn in_process_deposits_and_forced_exits_come_out_in_queue_order_once_confirmed() {
    let l1 = Arc::new(InProcessL1::new());
    let d = deploy(l1.as_ref()).await;
    let (a, b) = (key(1), key(2));
    let tx0 = open_account(l1.as_ref(), d.rollup, &a, 500).await;
    let tx1 = open_account(l1.as_ref(), d.rollup, &b, 700).await;
    let tx2 = l1.send(d.rollup, deposit_call(0, &a.public_key()).abi_encode(), amount_wei(3)).await.unwrap().tx_hash;
    let tx3 = l1.send(d.rollup, forced_exit_call(1).abi_encode(), Default::default()).await.unwrap().tx_hash;

    let w = PriorityWatcher::new(l1.clone(), d.rollup, d.deploy_block, WatchConfig::default());
    let r = w.poll(None).await.unwrap();
    assert!(r.unconfirmed.is_empty());
    let got: Vec<_> = r.confirmed.iter().map(|o| (o.priority_id, o.l1_tx)).collect();
    assert_eq!(got, vec![(0, tx0), (1, tx1), (2, tx2), (3, tx3)]);
    match (&r.confirmed[0].tx, &r.confirmed[2].tx, &r.confirmed[3].tx) {
        (Tx::Deposit(d0), Tx::Deposit(d2), Tx::ForcedExit(f)) => {
            assert_eq!((d0.to, d0.amount, d0.pubkey), (0, 500, a.public_key()));
            assert_eq!((d2.to, d2.amount), (0, 3));
            assert_eq!((f.account, f.l1_address), (1, l1.sender().0 .0));
        }
        other => panic!("unexpected operations {other:?}"),
    }
    assert!(r.confirmed.iter().all(|o| o.expiry > 0));
    let cursor = r.cursor.expect("a cursor");
    assert_eq!(cursor.block, l1.block_number().await.unwrap());
    // nothing new after the cursor
    assert!(w.poll(Some(cursor)).await.unwrap().confirmed.is_empty());

    // with 2 confirmations, a new operation waits for one more block
    let w2 = PriorityWatcher::new(
        l1.clone(),
        d.rollup,
        d.deploy_block,
        WatchConfig { confirmations: 2, ..Default::default() },
    );
    let tx4 = open_account(l1.as_ref(), d.rollup, &key(3), 9).await;
    let r = w2.poll(Some(cursor)).await.unwrap();
    assert!(r.confirmed.is_empty());
    assert_eq!(r.unconfirmed.iter().map(|o| (o.priority_id, o.l1_tx)).collect::<Vec<_>>(), vec![(4, tx4)]);
    let tx5 = open_account(l1.as_ref(), d.rollup, &key(4), 9).await;
    let r = w2.poll(r.cursor).await.unwrap();
    assert_eq!(r.confirmed.iter().map(|o| o.l1_tx).collect::<Vec<_>>(), vec![tx4]);
    assert_eq!(r.unconfirmed.iter().map(|o| o.l1_tx).collect::<Vec<_>>(), vec![tx5]);
}

/// On a hardhat node: a deposit removed by a reorg before its confirmations is never handed on (the one made in its
/// place is, once); a reorg under the cursor (deeper than the confirmations) is a `DeepReorg` incident.
#[tokio::test]
async fn hardhat_reorgs_remove_unconfirmed_deposits_and_deep_ones_are_incidents() {
    let node = HardhatNode::start().unwrap();
    let l1: Arc<dyn L1> =
        Arc::new(RpcL1::connect_with_signer(node.url(), HARDHAT_KEY_0.parse().unwrap()).await.unwrap());
    let d = deploy(l1.as_ref()).await;
    let w = PriorityWatcher::new(
        l1.clone(),
        d.rollup,
        d.deploy_block,
        WatchConfig { confirmations: 3, ..Default::default() },
    );
    let start = w.poll(None).await.unwrap();
    assert!(start.confirmed.is_empty() && start.unconfirmed.is_empty());

    let snapshot = node.rpc("evm_snapshot", json!([])).unwrap();
    let removed = open_account(l1.as_ref(), d.rollup, &key(5), 100).await;
    let r = w.poll(start.cursor).await.unwrap();
    assert!(r.confirmed.is_empty(), "one block is not three confirmations");
    assert_eq!(r.unconfirmed.iter().map(|o| o.l1_tx).collect::<Vec<_>>(), vec![removed]);
    // the L1 reorganises: the block with the deposit is gone, the chain grows past it
    assert_eq!(node.rpc("evm_revert", json!([snapshot])).unwrap(), json!(true));
    node.mine(5).unwrap();
    let r = w.poll(r.cursor).await.unwrap();
    assert!(r.confirmed.is_empty() && r.unconfirmed.is_empty(), "{r:?}");
    // the deposit made instead takes the same queue position and is handed on once, with its own transaction
    let instead = open_account(l1.as_ref(), d.rollup, &key(6), 200).await;
    node.mine(2).unwrap();
    let r = w.poll(r.cursor).await.unwrap();
    let got: Vec<_> = r.confirmed.iter().map(|o| (o.priority_id, o.l1_tx)).collect();
    assert_eq!(got, vec![(0, instead)]);
    let again = w.poll(r.cursor).await.unwrap();
    assert!(again.confirmed.is_empty(), "handed on once");

    // a reorg deeper than the confirmations replaces the cursor's block
    let cursor = again.cursor.expect("cursor");
    let snapshot = node.rpc("evm_snapshot", json!([])).unwrap();
    open_account(l1.as_ref(), d.rollup, &key(7), 300).await;
    node.mine(3).unwrap();
    let deep = w.poll(Some(cursor)).await.unwrap();
    assert_eq!(deep.confirmed.len(), 1);
    let handed = deep.cursor.expect("cursor");
    node.rpc("evm_revert", json!([snapshot])).unwrap();
    node.mine(6).unwrap();
    match w.poll(Some(handed)).await {
        Err(WatchError::DeepReorg { block, expected, .. }) => {
            assert_eq!((block, expected), (handed.block, handed.hash))
        }
        other => panic!("expected a deep reorg incident, got {other:?}"),
    }
}
