//! Guardian pause, timelocked changes and roles.

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use zkr_circuits::tx::{Transfer, Tx, Withdraw};
use zkr_rollup::calldata::{amount_wei, deposit_call};
use zkr_rollup::IZkrRollup::{self, IZkrRollupErrors as E};

use crate::harness::*;

#[test]
fn pause_stops_the_lifecycle_and_deposits_but_not_pulls() {
    let mut f = Fixture::new(1, 4);
    let l1: [u8; 20] = addr(5).into();
    // withdrawals are paid from deposited ETH (genesis balances are not backed in this fixture)
    f.deposit(3, 10, 3, 100);
    let (data, _) =
        f.build_epoch(1, vec![Tx::Withdraw(Withdraw { from: 10, l1_address: l1, amount: 40, fee: 0, nonce: 0 })], true);
    f.settle(&data);
    let (data2, _) =
        f.build_epoch(2, vec![Tx::Transfer(Transfer { from: 1, to: 2, amount: 1, fee: 0, nonce: 0 })], true);

    assert_eq!(f.refused(3, &IZkrRollup::pauseCall {}), E::NotGuardian(IZkrRollup::NotGuardian { caller: addr(3) }));
    assert!(matches!(f.refused(GOVERNOR, &IZkrRollup::pauseCall {}), E::NotGuardian(_)));
    assert_eq!(f.refused(GUARDIAN, &IZkrRollup::unpauseCall {}), E::NotPaused(IZkrRollup::NotPaused {}));
    let out = f.ok(GUARDIAN, &IZkrRollup::pauseCall {});
    assert!(out.logs.iter().any(|l| IZkrRollup::Paused::decode_log(l).is_ok()));
    assert!(f.view(&IZkrRollup::pausedCall {}));
    assert_eq!(f.refused(GUARDIAN, &IZkrRollup::pauseCall {}), E::ContractPaused(IZkrRollup::ContractPaused {}));

    let paused = E::ContractPaused(IZkrRollup::ContractPaused {});
    assert_eq!(f.refused(OPERATOR, &data2.commit_call()), paused);
    assert_eq!(f.refused(OPERATOR, &data2.prove_call(proof_bytes(2))), paused);
    assert_eq!(f.refused(OPERATOR, &data2.execute_call()), paused);
    let pk = f.keys[3].public_key();
    assert_eq!(f.refused_value(3, &deposit_call(10, &pk), amount_wei(1)), paused);
    // settled withdrawals stay pullable
    let before = f.evm.balance(addr(5));
    f.ok(5, &IZkrRollup::withdrawPendingCall {});
    assert_eq!(f.evm.balance(addr(5)) - before, amount_wei(40));

    assert!(matches!(f.refused(3, &IZkrRollup::unpauseCall {}), E::NotGuardian(_)));
    let out = f.ok(GUARDIAN, &IZkrRollup::unpauseCall {});
    assert!(out.logs.iter().any(|l| IZkrRollup::Unpaused::decode_log(l).is_ok()));
    f.settle(&data2);
    assert_eq!(f.executed_root(), packed(&f.state.root()));
}

fn schedule(data: Vec<u8>, salt: u8) -> IZkrRollup::scheduleCall {
    IZkrRollup::scheduleCall { data: Bytes::from(data), salt: B256::repeat_byte(salt) }
}

fn execute_op(data: Vec<u8>, salt: u8) -> IZkrRollup::executeOperationCall {
    IZkrRollup::executeOperationCall { data: Bytes::from(data), salt: B256::repeat_byte(salt) }
}

#[test]
fn timelock_delays_changes_and_can_cancel() {
    let mut f = Fixture::new(1, 4);
    let new_verifier = Address::repeat_byte(0x42);
    let set = IZkrRollup::setVerifierCall { verifier: new_verifier, batchesPerEpoch: 2, batchCapacity: 8 }.abi_encode();

    // setters only through the timelock; scheduling only by the governor, only the timelocked setters
    assert!(matches!(
        f.refused(
            GOVERNOR,
            &IZkrRollup::setVerifierCall { verifier: new_verifier, batchesPerEpoch: 2, batchCapacity: 8 }
        ),
        E::OnlyTimelock(_)
    ));
    assert!(matches!(f.refused(GUARDIAN, &schedule(set.clone(), 1)), E::NotGovernor(_)));
    assert!(matches!(f.refused(OPERATOR, &schedule(set.clone(), 1)), E::NotGovernor(_)));
    let pause = IZkrRollup::pauseCall {}.abi_encode();
    assert!(matches!(f.refused(GOVERNOR, &schedule(pause, 1)), E::UnsupportedOperation(_)));

    let out = f.ok(GOVERNOR, &schedule(set.clone(), 1));
    let ev = out.logs.iter().find_map(|l| IZkrRollup::OperationScheduled::decode_log(l).ok()).unwrap().data;
    assert_eq!(ev.readyAt, f.evm.timestamp() + DELAY);
    assert!(matches!(f.refused(GOVERNOR, &schedule(set.clone(), 1)), E::OperationAlreadyScheduled(_)));
    // before the delay
    assert!(matches!(f.refused(3, &execute_op(set.clone(), 1)), E::OperationNotReady(e) if e.id == ev.id));
    f.advance(DELAY - 1);
    assert!(matches!(f.refused(3, &execute_op(set.clone(), 1)), E::OperationNotReady(_)));
    assert_eq!(f.view(&IZkrRollup::verifierCall {}), f.verifier);
    // after the delay, anyone executes it, once
    f.advance(1);
    let out = f.ok(3, &execute_op(set.clone(), 1));
    assert!(out.logs.iter().any(|l| IZkrRollup::VerifierChanged::decode_log(l).is_ok()));
    assert_eq!(f.view(&IZkrRollup::verifierCall {}), new_verifier);
    assert_eq!(f.view(&IZkrRollup::batchesPerEpochCall {}), 2);
    assert_eq!(f.view(&IZkrRollup::batchCapacityCall {}), 8);
    assert!(matches!(f.refused(3, &execute_op(set, 1)), E::OperationNotScheduled(_)));

    // cancel: by governor or guardian only
    let op = IZkrRollup::setOperatorCall { operator: addr(4), enabled: true }.abi_encode();
    let out = f.ok(GOVERNOR, &schedule(op.clone(), 2));
    let id = out.logs.iter().find_map(|l| IZkrRollup::OperationScheduled::decode_log(l).ok()).unwrap().data.id;
    assert!(matches!(f.refused(3, &IZkrRollup::cancelCall { id }), E::NotGovernorOrGuardian(_)));
    let out = f.ok(GUARDIAN, &IZkrRollup::cancelCall { id });
    assert!(out.logs.iter().any(|l| IZkrRollup::OperationCancelled::decode_log(l).is_ok()));
    f.advance(DELAY);
    assert!(matches!(f.refused(3, &execute_op(op.clone(), 2)), E::OperationNotScheduled(_)));
    assert!(!f.view(&IZkrRollup::isOperatorCall { account: addr(4) }));

    // a scheduled call that the setter refuses reports the setter's error
    let bad = IZkrRollup::setVerifierCall { verifier: new_verifier, batchesPerEpoch: 3, batchCapacity: 8 }.abi_encode();
    f.ok(GOVERNOR, &schedule(bad.clone(), 3));
    f.advance(DELAY);
    match f.refused(3, &execute_op(bad, 3)) {
        E::OperationFailed(e) => {
            let inner = IZkrRollup::BadEpochShape::abi_decode(&e.reason).expect("BadEpochShape inside");
            assert_eq!(inner.batchesPerEpoch, 3);
        }
        other => panic!("expected OperationFailed, got {other:?}"),
    }

    // roles move through the timelock too: a new operator, a new governor
    f.ok(GOVERNOR, &schedule(op.clone(), 4));
    let gov = IZkrRollup::setGovernorCall { governor: addr(6) }.abi_encode();
    f.ok(GOVERNOR, &schedule(gov.clone(), 4));
    f.advance(DELAY);
    f.ok(3, &execute_op(op, 4));
    f.ok(3, &execute_op(gov, 4));
    assert!(f.view(&IZkrRollup::isOperatorCall { account: addr(4) }));
    assert_eq!(f.view(&IZkrRollup::governorCall {}), addr(6));
    let delay = IZkrRollup::setTimelockDelayCall { timelockDelay: 60 }.abi_encode();
    assert!(matches!(f.refused(GOVERNOR, &schedule(delay.clone(), 5)), E::NotGovernor(_)));
    f.ok(6, &schedule(delay, 5));
    assert_eq!(f.pending(addr(6)), U256::ZERO);
}

#[test]
fn operator_removed_by_timelock_loses_the_role() {
    let mut f = Fixture::new(1, 4);
    let op = IZkrRollup::setOperatorCall { operator: addr(OPERATOR), enabled: false }.abi_encode();
    f.ok(GOVERNOR, &schedule(op.clone(), 9));
    f.advance(DELAY);
    f.ok(GOVERNOR, &execute_op(op, 9));
    let (data, _) = f.build_epoch(1, vec![], true);
    assert_eq!(
        f.refused(OPERATOR, &data.commit_call()),
        E::NotOperator(IZkrRollup::NotOperator { caller: addr(OPERATOR) })
    );
}
