//! A user's own L1 calls (`zkr_settle::wallet`) on the real rollup contract, in process: deposits that open and top
//! up accounts, the key an account is bound to read back from the events, forced exits, and the rollup's refusals
//! decoded by name.

use zkr_circuits::demo;
use zkr_circuits::tx::Tx;
use zkr_rollup::calldata::genesis_accounts;
use zkr_rollup::pack_digest;
use zkr_settle::wallet::{account_key, deposit, open_account, request_forced_exit, withdraw_pending, WalletL1Error};
use zkr_settle::{deploy_contracts, ContractSet, InProcessL1, PriorityWatcher, WatchConfig, L1};

#[tokio::test]
async fn deposits_and_forced_exits_queue_what_the_sequencer_will_execute() {
    let l1 = std::sync::Arc::new(InProcessL1::new());
    let set = ContractSet::devnet().unwrap();
    let keys = demo::keys(7, 2);
    let genesis = demo::genesis(&keys);
    let mut setup = crate::common::devnet_setup(&set, l1.sender(), l1.chain_id().await.unwrap());
    setup.genesis_accounts = genesis_accounts(&genesis, |_| l1.sender()).unwrap();
    setup.genesis_root = pack_digest(&genesis.root());
    let d = deploy_contracts(l1.as_ref(), &set, &setup, |_, _| {}).await.unwrap();

    // a genesis account's key comes from its GenesisAccountCreated event
    assert_eq!(account_key(l1.as_ref(), d.rollup, 1, d.deploy_block).await.unwrap(), keys[1].public_key());
    // a new account: its id comes back with the queued deposit, its key from the DepositQueued event
    let spare = &keys[2];
    let opened = open_account(l1.as_ref(), d.rollup, &spare.public_key(), 500).await.unwrap();
    assert_eq!((opened.account, opened.amount, opened.priority_id), (2, 500, 0));
    assert!(opened.expiry_s > 0);
    assert_eq!(account_key(l1.as_ref(), d.rollup, 2, d.deploy_block).await.unwrap(), spare.public_key());
    let topped = deposit(l1.as_ref(), d.rollup, 2, &spare.public_key(), 3).await.unwrap();
    assert_eq!((topped.account, topped.amount, topped.priority_id), (2, 3, 1));
    let exit = request_forced_exit(l1.as_ref(), d.rollup, 2).await.unwrap();
    assert!(matches!(exit.tx, Tx::ForcedExit(ref f) if f.account == 2 && f.l1_address == l1.sender().0 .0));

    // the L2 transactions are the ones the bridge's watcher hands to the sequencer (same ids, same order)
    let w = PriorityWatcher::new(l1.clone(), d.rollup, d.deploy_block, WatchConfig::default());
    let seen: Vec<_> = w.poll(None).await.unwrap().confirmed.into_iter().map(|o| (o.tx.id(), o.l1_tx)).collect();
    let ours: Vec<_> = [&opened, &topped, &exit].iter().map(|q| (q.tx.id(), q.l1_tx)).collect();
    assert_eq!(seen, ours);

    // refusals name the rollup's error
    let wrong_key = deposit(l1.as_ref(), d.rollup, 2, &keys[0].public_key(), 3).await.unwrap_err();
    assert!(wrong_key.to_string().contains("PubkeyMismatch"), "{wrong_key}");
    let unknown = account_key(l1.as_ref(), d.rollup, 9, d.deploy_block).await.unwrap_err();
    assert!(matches!(unknown, WalletL1Error::UnknownAccount { account: 9, .. }), "{unknown}");
    let nothing = withdraw_pending(l1.as_ref(), d.rollup).await.unwrap_err();
    assert!(nothing.to_string().contains("NothingToWithdraw"), "{nothing}");
    let zero = open_account(l1.as_ref(), d.rollup, &spare.public_key(), 0).await.unwrap_err();
    assert!(zero.to_string().contains("ZeroDeposit"), "{zero}");
}
