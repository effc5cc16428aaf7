//! Deposit expiry → exit mode → Merkle-proof exits (real SMT proofs) and refunds.

use alloy_primitives::U256;
use alloy_sol_types::SolEvent;
use zkr_circuits::tx::{Transfer, Tx};
use zkr_rollup::calldata::{amount_wei, exit_call};
use zkr_rollup::{
    pack_digest,
    IZkrRollup::{self, IZkrRollupErrors as E},
};

use crate::harness::*;

#[test]
fn expired_deposit_exit_mode_and_exits() {
    let mut f = Fixture::new(1, 4);
    let acct0 = *f.state.account(0).unwrap();
    let early = exit_call(0, &acct0, &f.state.proof(0)).unwrap();
    assert_eq!(f.refused(3, &early), E::NotInExitMode(IZkrRollup::NotInExitMode {}));
    assert!(matches!(f.refused(3, &IZkrRollup::activateExitModeCall {}), E::NoPendingPriorityOp(_)));

    // epoch 1: user 3 opens account 3 (its exit owner), a transfer; executed
    f.deposit(3, 3, 3, 500);
    let (data, _) =
        f.build_epoch(1, vec![Tx::Transfer(Transfer { from: 3, to: 0, amount: 20, fee: 0, nonce: 0 })], true);
    f.settle(&data);
    let executed = f.state.clone();
    // only the exit owner may hand the role on
    assert!(matches!(
        f.refused(4, &IZkrRollup::transferExitOwnershipCall { accountId: 3, newOwner: addr(4) }),
        E::NotExitOwner(_)
    ));
    f.ok(3, &IZkrRollup::transferExitOwnershipCall { accountId: 3, newOwner: addr(6) });

    // a deposit the operator never processes, and an epoch committed but not executed
    f.deposit(4, 2, 2, 9);
    let (data2, _) = f.build_epoch(2, vec![], true);
    f.ok(OPERATOR, &data2.commit_call());
    assert!(
        matches!(f.refused(3, &IZkrRollup::activateExitModeCall {}), E::PriorityOpNotExpired(e) if e.priorityId == 1)
    );
    f.advance(EXPIRY);
    assert!(matches!(f.refused(3, &IZkrRollup::activateExitModeCall {}), E::PriorityOpNotExpired(_)));
    f.advance(1);
    let out = f.ok(5, &IZkrRollup::activateExitModeCall {});
    let ev = out.logs.iter().find_map(|l| IZkrRollup::ExitModeActivated::decode_log(l).ok()).unwrap().data;
    assert_eq!((ev.expiredPriorityId, ev.executedRoot), (1, pack_digest(&executed.root())));
    assert_eq!(f.refused(5, &IZkrRollup::activateExitModeCall {}), E::ExitModeActive(IZkrRollup::ExitModeActive {}));

    // batches and deposits stop
    let active = E::ExitModeActive(IZkrRollup::ExitModeActive {});
    f.accept(&data2, &proof_bytes(2));
    assert_eq!(f.refused(OPERATOR, &data2.prove_call(proof_bytes(2))), active);
    let (data3, _) = f.build_epoch(3, vec![], false);
    assert_eq!(f.refused(OPERATOR, &data3.commit_call()), active);
    let pk = f.keys[3].public_key();
    assert_eq!(f.refused_value(3, &zkr_rollup::calldata::deposit_call(3, &pk), amount_wei(1)), active);

    // exits against the last executed root: account 3 pays its (transferred) owner
    let a3 = *executed.account(3).unwrap();
    assert_eq!(a3.balance, 480);
    let call = exit_call(3, &a3, &executed.proof(3)).unwrap();
    let out = f.ok(9, &call);
    let ex = out.logs.iter().find_map(|l| IZkrRollup::Exited::decode_log(l).ok()).unwrap().data;
    assert_eq!((ex.accountId, ex.owner, ex.balance), (3, addr(6), 480));
    assert_eq!(f.pending(addr(6)), amount_wei(480));
    assert_eq!(f.pending(addr(3)), U256::ZERO);
    assert_eq!(f.refused(9, &call), E::AlreadyExited(IZkrRollup::AlreadyExited { accountId: 3 }));

    // wrong balance, wrong nonce, a wrong sibling, a proof of another leaf, another account's proof
    let a0 = *executed.account(0).unwrap();
    let p0 = executed.proof(0);
    let mut c = exit_call(0, &a0, &p0).unwrap();
    c.balance += 1;
    assert_eq!(f.refused(3, &c), E::InvalidMerkleProof(IZkrRollup::InvalidMerkleProof { accountId: 0 }));
    let mut c = exit_call(0, &a0, &p0).unwrap();
    c.nonce += 1;
    assert!(matches!(f.refused(3, &c), E::InvalidMerkleProof(_)));
    let mut c = exit_call(0, &a0, &p0).unwrap();
    c.siblings[5] = c.siblings[6];
    assert!(matches!(f.refused(3, &c), E::InvalidMerkleProof(_)));
    let mut c = exit_call(3, &a3, &executed.proof(3)).unwrap();
    c.accountId = 1; // account 3's leaf and path claimed for account 1
    assert!(matches!(f.refused(3, &c), E::InvalidMerkleProof(_)));
    assert!(matches!(f.refused(3, &early), E::InvalidMerkleProof(_)), "genesis leaf is no longer the executed one");
    let mut c = exit_call(0, &a0, &p0).unwrap();
    c.balance = u64::MAX;
    assert!(matches!(f.refused(3, &c), E::BalanceTooLarge(_)));
    // an id nobody opened on L1
    let mut c = exit_call(0, &a0, &p0).unwrap();
    c.accountId = 77;
    assert_eq!(f.refused(3, &c), E::NoExitOwner(IZkrRollup::NoExitOwner { accountId: 77 }));

    let out = f.ok(3, &exit_call(0, &a0, &p0).unwrap());
    assert!(out.success);
    assert_eq!(f.pending(genesis_owner(0)), amount_wei(a0.balance));

    // the unexecuted deposit is refunded once; executed ones are not
    assert!(matches!(f.refused(3, &IZkrRollup::refundDepositCall { priorityId: 0 }), E::DepositAlreadyProcessed(_)));
    assert!(matches!(f.refused(3, &IZkrRollup::refundDepositCall { priorityId: 2 }), E::PriorityOpMissing(_)));
    let out = f.ok(3, &IZkrRollup::refundDepositCall { priorityId: 1 });
    assert!(out.logs.iter().any(|l| IZkrRollup::DepositRefunded::decode_log(l).is_ok()));
    assert_eq!(f.pending(addr(4)), amount_wei(9));
    assert_eq!(
        f.refused(3, &IZkrRollup::refundDepositCall { priorityId: 1 }),
        E::AlreadyRefunded(IZkrRollup::AlreadyRefunded { priorityId: 1 })
    );

    // and pulled
    let before = f.evm.balance(addr(6));
    f.ok(6, &IZkrRollup::withdrawPendingCall {});
    assert_eq!(f.evm.balance(addr(6)) - before, amount_wei(480));
    assert!(matches!(f.refused(6, &IZkrRollup::withdrawPendingCall {}), E::NothingToWithdraw(_)));
}
