//! The escape hatch without the operator: the operator stops, a deposit expires, exit mode starts, and users exit
//! with Merkle proofs from a state rebuilt out of L1 data alone (the constructor's genesis accounts and the
//! calldata of the executed commits); the contract's ETH then reconciles to zero owed.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use zkr_circuits::tx::{Transfer, Tx, Withdraw};
use zkr_rollup::calldata::forced_exit_call;
use zkr_rollup::{IZkrRollup, RebuildError, Rebuilder};

use crate::harness::*;

/// The commits that count: the last commit of each epoch up to `through` (a reverted epoch was committed again).
fn final_commits(f: &Fixture, through: u64) -> Vec<Vec<u8>> {
    let mut by_epoch: Vec<Option<Vec<u8>>> = vec![None; through as usize + 1];
    for input in &f.l1_commits {
        let c = IZkrRollup::commitEpochCall::abi_decode(input).expect("a commit").c;
        if c.epoch <= through {
            by_epoch[c.epoch as usize] = Some(input.clone());
        }
    }
    by_epoch.into_iter().skip(1).map(|c| c.expect("every executed epoch was committed")).collect()
}

#[test]
fn users_exit_with_proofs_rebuilt_from_l1_data_alone() {
    let mut f = Fixture::new(1, 4);
    // epoch 1: user 3 opens account 3; a transfer and a withdrawal
    f.deposit(3, 3, 3, 500);
    let txs = vec![
        Tx::Transfer(Transfer { from: 3, to: 0, amount: 20, fee: 0, nonce: 0 }),
        Tx::Withdraw(Withdraw { from: 1, l1_address: addr(5).into(), amount: 30, fee: 0, nonce: 0 }),
    ];
    let (data, _) = f.build_epoch(1, txs, true);
    f.settle(&data);

    // epoch 2: a forced exit of account 2, a deposit with a key nobody can sign with (refunded), a transfer; it is
    // committed, reverted, and committed again
    f.forced_exit(7 + 2, 2);
    let bad = (1u64..)
        .map(|x| {
            zkr_circuits::schnorr::PublicKey::from_fields([plonky2::field::types::Field::from_canonical_u64(x); 5])
        })
        .find(|k| k.point().is_err())
        .unwrap();
    f.deposit_key(4, 4, &bad, 70);
    let before_epoch2 = f.state.clone();
    let queued = f.queued.clone();
    let (data, _) =
        f.build_epoch(2, vec![Tx::Transfer(Transfer { from: 0, to: 3, amount: 5, fee: 0, nonce: 0 })], true);
    f.ok(OPERATOR, &data.commit_call());
    f.ok(OPERATOR, &IZkrRollup::revertEpochsCall { lastKeptEpoch: 1 });
    f.state = before_epoch2;
    f.queued = queued;
    let (data, _) =
        f.build_epoch(2, vec![Tx::Transfer(Transfer { from: 0, to: 3, amount: 6, fee: 0, nonce: 0 })], true);
    f.settle(&data);
    let executed = f.state.clone();

    // epoch 3 is committed, never executed; a deposit is never processed; the operator is gone
    let (data, _) =
        f.build_epoch(3, vec![Tx::Transfer(Transfer { from: 1, to: 2, amount: 1, fee: 0, nonce: 1 })], true);
    f.ok(OPERATOR, &data.commit_call());
    f.deposit(6, 3, 3, 40);
    f.advance(EXPIRY + 1);
    f.ok(5, &IZkrRollup::activateExitModeCall {});

    // a user rebuilds the state from what L1 holds: the genesis accounts and the executed commits' calldata
    let executed_epochs = f.view(&IZkrRollup::totalExecutedCall {});
    assert_eq!(executed_epochs, 2);
    let fee_account = f.view(&IZkrRollup::feeAccountCall {});
    let mut rebuilt = Rebuilder::from_genesis(&f.genesis, fee_account).unwrap();
    for input in final_commits(&f, executed_epochs) {
        let root = rebuilt.apply_commit_calldata(&input).unwrap();
        let epoch = rebuilt.epoch();
        assert_eq!(root, f.view(&IZkrRollup::epochInfoCall { epoch }).newRoot, "epoch {epoch}");
    }
    assert_eq!(rebuilt.root(), f.view(&IZkrRollup::executedRootCall {}));
    assert_eq!(rebuilt.root(), packed(&executed.root()));
    // the reverted commit of epoch 2 does not chain onto the rebuilt state a second time
    let stale = f.l1_commits[1].clone();
    assert!(matches!(rebuilt.clone().apply_commit_calldata(&stale), Err(RebuildError::EpochOrder { .. })));

    // every account exits with the rebuilt proof, sent by anyone; each pays its exit owner
    let owners = [genesis_owner(0), genesis_owner(1), genesis_owner(2), addr(3)];
    for (id, owner) in owners.iter().enumerate() {
        let call = rebuilt.exit_call(id as u32).unwrap();
        let before = f.pending(*owner);
        f.ok(5, &call);
        assert_eq!(f.pending(*owner) - before, zkr_rollup::calldata::amount_wei(call.balance), "account {id}");
    }
    // the refunded deposit opened no account: nothing to exit
    assert_eq!(rebuilt.exit_call(4).unwrap_err(), RebuildError::NoAccount { account: 4 });
    assert!(matches!(f.refused(5, &forced_exit_call(3)), IZkrRollup::IZkrRollupErrors::ExitModeActive(_)));
    // the deposit never processed goes back to its depositor
    let last = f.view(&IZkrRollup::priorityQueueLengthCall {}) - 1;
    f.ok(6, &IZkrRollup::refundDepositCall { priorityId: last });

    // everyone pulls: the contract owes nothing and holds nothing
    for who in [3, 4, 5, 6, 7, 8, 9] {
        if f.pending(addr(who)) > U256::ZERO {
            f.ok(who, &IZkrRollup::withdrawPendingCall {});
        }
    }
    let rollup: Address = f.rollup;
    assert_eq!(f.evm.balance(rollup), U256::ZERO, "every wei the contract held was owed and paid");
}
