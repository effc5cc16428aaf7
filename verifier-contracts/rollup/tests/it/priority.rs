//! Priority operations beyond plain deposits: forced exits (requested by an account's exit owner, processed in queue
//! order, paying the whole balance on execute) and deposits whose key nobody can sign with (refunded on execute).

use alloy_primitives::U256;
use alloy_sol_types::SolEvent;
use plonky2::field::types::Field;
use zkr_circuits::config::F;
use zkr_circuits::schnorr::PublicKey;
use zkr_circuits::tx::{layout, Transfer, Tx, Withdraw};
use zkr_rollup::calldata::{amount_wei, forced_exit_call};
use zkr_rollup::IZkrRollup::{self, IZkrRollupErrors as E};

use crate::harness::*;

/// A key of five canonical elements that encodes no group element.
fn unusable_key() -> PublicKey {
    (1u64..).map(|x| PublicKey::from_fields([F::from_canonical_u64(x); 5])).find(|k| k.point().is_err()).unwrap()
}

#[test]
fn a_forced_exit_pays_the_whole_balance_to_the_exit_owner() {
    let mut f = Fixture::new(1, 4);
    let owner = genesis_owner(1);
    let owner_index = 7 + 1;
    assert_eq!(addr(owner_index), owner);
    // only the account's exit owner may ask; not the operator, not another account's owner
    for who in [OPERATOR, 3, 7] {
        assert!(matches!(f.refused(who, &forced_exit_call(1)), E::NotExitOwner(_)), "caller {who}");
    }
    // the guardian's pause does not keep an account in
    f.ok(GUARDIAN, &IZkrRollup::pauseCall {});
    let ev = f.forced_exit(owner_index, 1);
    f.ok(GUARDIAN, &IZkrRollup::unpauseCall {});
    assert_eq!((ev.priorityId, ev.accountId, ev.owner), (0, 1, owner));
    assert_eq!(f.view(&IZkrRollup::priorityQueueLengthCall {}), 1);

    // the account moves money in the same epoch, before the forced exit is processed: the exit takes what is left
    let txs = vec![Tx::Transfer(Transfer { from: 0, to: 1, amount: 40, fee: 0, nonce: 0 })];
    let balance = f.state.account(1).unwrap().balance;
    let (data, batches) = f.build_epoch(1, txs, true);
    let exit_slot = &batches[0].slots[0];
    assert_eq!(exit_slot.fields[layout::AMOUNT], F::from_canonical_u64(balance));
    assert_eq!(f.state.account(1).unwrap().balance, 40);
    assert_eq!(data.withdrawals, vec![IZkrRollup::Withdrawal { to: owner, amount: balance }]);
    f.settle(&data);
    assert_eq!(f.pending(owner), amount_wei(balance));
    assert_eq!(f.view(&IZkrRollup::priorityOpsExecutedCall {}), 1);

    // a refund of a forced exit in exit mode makes no sense: it is not a deposit
    let ev = f.forced_exit(owner_index, 1);
    f.advance(EXPIRY + 1);
    f.ok(3, &IZkrRollup::activateExitModeCall {});
    assert_eq!(
        f.refused(3, &IZkrRollup::refundDepositCall { priorityId: ev.priorityId }),
        E::NotADeposit(IZkrRollup::NotADeposit { priorityId: ev.priorityId })
    );
    assert!(matches!(f.refused(owner_index, &forced_exit_call(1)), E::ExitModeActive(_)));
}

#[test]
fn an_operator_cannot_skip_redirect_or_reorder_a_forced_exit() {
    let mut f = Fixture::new(1, 4);
    let owner_index = 7 + 2;
    f.forced_exit(owner_index, 2);
    f.deposit(3, 3, 3, 500);
    let honest = f.queued.clone();
    let snapshot = f.state.clone();

    // paid to another address than the owner's
    let mut redirected = honest.clone();
    if let Tx::ForcedExit(fe) = &mut redirected[0].tx {
        fe.l1_address = addr(5).into();
    }
    f.queued = redirected;
    let (data, _) = f.build_epoch(1, vec![], true);
    assert!(matches!(f.refused(OPERATOR, &data.commit_call()), E::DepositMismatch(_)));

    // skipped: the deposit behind it first
    f.state = snapshot.clone();
    f.queued = vec![honest[1].clone()];
    let (data, _) = f.build_epoch(1, vec![], true);
    assert!(matches!(f.refused(OPERATOR, &data.commit_call()), E::DepositMismatch(e) if e.priorityId == 0));

    // exiting another account than the one asked
    f.state = snapshot.clone();
    let mut other = honest.clone();
    if let Tx::ForcedExit(fe) = &mut other[0].tx {
        fe.account = 1;
    }
    f.queued = other;
    let (data, _) = f.build_epoch(1, vec![], true);
    assert!(matches!(f.refused(OPERATOR, &data.commit_call()), E::DepositMismatch(_)));

    // withdrawals that do not follow the committed pubdata (the forced exit left out) are refused at execute
    f.state = snapshot.clone();
    f.queued = honest.clone();
    let (data, _) = f.build_epoch(1, vec![], true);
    f.ok(OPERATOR, &data.commit_call());
    let proof = proof_bytes(1);
    f.accept(&data, &proof);
    f.ok(OPERATOR, &data.prove_call(proof));
    let mut short = data.execute_call();
    short.withdrawals.clear();
    assert!(matches!(f.refused(OPERATOR, &short), E::WithdrawalsMismatch(_)));
    f.ok(OPERATOR, &data.execute_call());
    assert!(f.pending(genesis_owner(2)) > U256::ZERO);
}

#[test]
fn an_unprocessed_forced_exit_expires_into_exit_mode() {
    let mut f = Fixture::new(1, 4);
    // the operator keeps settling the account's own withdrawals out, but not the forced exit
    f.forced_exit(7, 0);
    f.queued.clear();
    let (data, _) =
        f.build_epoch(1, vec![Tx::Transfer(Transfer { from: 1, to: 2, amount: 1, fee: 0, nonce: 0 })], false);
    f.settle(&data);
    assert!(matches!(f.refused(3, &IZkrRollup::activateExitModeCall {}), E::PriorityOpNotExpired(_)));
    f.advance(EXPIRY + 1);
    f.ok(3, &IZkrRollup::activateExitModeCall {});
    assert!(f.view(&IZkrRollup::exitModeCall {}));
}

#[test]
fn a_deposit_with_an_unusable_key_is_refunded_when_its_epoch_executes() {
    let mut f = Fixture::new(1, 4);
    let bad = unusable_key();
    f.deposit_key(3, 3, &bad, 70);
    f.deposit(4, 4, 4, 30);
    let root = f.state.root();
    let (data, batches) = f.build_epoch(1, vec![], true);
    // the L2 credits nothing and flags the slot; the good deposit behind it goes through
    assert_eq!(batches[0].slots[0].fields[layout::REFUND], F::ONE);
    assert_eq!(f.state.account(3), None);
    assert_eq!(f.state.account(4).unwrap().balance, 30);
    assert_ne!(f.state.root(), root);

    let out = f.ok(OPERATOR, &data.commit_call());
    let scheduled: Vec<_> =
        out.logs.iter().filter_map(|l| IZkrRollup::DepositRefundScheduled::decode_log(l).ok()).collect();
    assert_eq!((scheduled.len(), scheduled[0].priorityId, scheduled[0].epoch), (1, 0, 1));
    assert!(f.view(&IZkrRollup::refundOnExecuteCall { priorityId: 0 }));
    assert!(!f.view(&IZkrRollup::refundOnExecuteCall { priorityId: 1 }));

    // reverting the epoch drops the mark (the same deposit comes back in the next commit)
    f.ok(OPERATOR, &IZkrRollup::revertEpochsCall { lastKeptEpoch: 0 });
    assert!(!f.view(&IZkrRollup::refundOnExecuteCall { priorityId: 0 }));
    f.ok(OPERATOR, &data.commit_call());
    let proof = proof_bytes(1);
    f.accept(&data, &proof);
    f.ok(OPERATOR, &data.prove_call(proof));
    assert_eq!(f.pending(addr(3)), U256::ZERO, "no refund before execute");
    let out = f.ok(OPERATOR, &data.execute_call());
    let refunded: Vec<_> = out.logs.iter().filter_map(|l| IZkrRollup::DepositRefunded::decode_log(l).ok()).collect();
    assert_eq!((refunded.len(), refunded[0].depositor, refunded[0].amount), (1, addr(3), 70));
    assert_eq!(f.pending(addr(3)), amount_wei(70));
    assert_eq!(f.pending(addr(4)), U256::ZERO);
    assert!(!f.view(&IZkrRollup::refundOnExecuteCall { priorityId: 0 }));
    let before = f.evm.balance(addr(3));
    f.ok(3, &IZkrRollup::withdrawPendingCall {});
    assert_eq!(f.evm.balance(addr(3)) - before, amount_wei(70));
}

#[test]
fn a_refund_flag_the_queue_does_not_back_is_refused() {
    // a refund is a record kind the proof binds: a commit that turns a good opening deposit (tag 05) into a refund
    // (tag 06, same key, so L1's own checks pass) commits, but its data chain is not the proven one
    let mut f = Fixture::new(1, 4);
    f.deposit(3, 3, 3, 500);
    let (data, _) = f.build_epoch(
        1,
        vec![Tx::Withdraw(Withdraw { from: 0, l1_address: [1; 20], amount: 1, fee: 0, nonce: 0 })],
        true,
    );
    let mut forged = data.commit_call();
    assert_eq!(forged.c.pubdata[0][0], 5, "the deposit opens account 3");
    forged.c.pubdata[0] = {
        let mut b = forged.c.pubdata[0].to_vec();
        b[0] = 6;
        b.into()
    };
    // a refund under another key than the one the account id is bound to is refused at commit
    let mut other_key = forged.clone();
    other_key.c.pubdata[0] = {
        let mut b = other_key.c.pubdata[0].to_vec();
        b[30] ^= 1;
        b.into()
    };
    assert_eq!(
        f.refused(OPERATOR, &other_key),
        E::DepositKeyMismatch(IZkrRollup::DepositKeyMismatch { priorityId: 0 })
    );
    let out = f.ok(OPERATOR, &forged);
    assert!(out.logs.iter().any(|l| IZkrRollup::DepositRefundScheduled::decode_log(l).is_ok()));
    let ev = out.logs.iter().find_map(|l| IZkrRollup::BatchCommitted::decode_log(l).ok()).unwrap().data;
    assert_ne!(ev.dataHash.0, data.statement.data_out);
    let proof = proof_bytes(1);
    f.accept(&data, &proof);
    assert!(matches!(f.refused(OPERATOR, &data.prove_call(proof)), E::InvalidProof(_)));
}
