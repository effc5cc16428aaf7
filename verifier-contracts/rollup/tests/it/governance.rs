//! Guardian pause, timelocked changes and roles.

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use zkr_circuits::tx::{Transfer, Tx, Withdraw};
use zkr_rollup::calldata::{amount_wei, deposit_call, open_account_call};
use zkr_rollup::IZkrRollup::{self, IZkrRollupErrors as E};

use crate::harness::*;

#[test]
fn pause_stops_the_lifecycle_but_not_deposits_exits_or_pulls() {
    let mut f = Fixture::new(1, 4);
    let l1: [u8; 20] = addr(5).into();
    f.deposit(3, 3, 3, 100);
    let (data, _) =
        f.build_epoch(1, vec![Tx::Withdraw(Withdraw { from: 3, l1_address: l1, amount: 40, fee: 0, nonce: 0 })], true);
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
    // a pause locks nobody in or out: deposits, new accounts and forced exits stay open
    let pk = f.keys[3].public_key();
    f.ok_value(3, &deposit_call(3, &pk), amount_wei(1));
    f.ok_value(4, &open_account_call(&f.keys[4].public_key()), amount_wei(1));
    f.ok(7, &zkr_rollup::calldata::forced_exit_call(0));
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

/// A guardian (compromised or not) cannot hold the rollup still for good: a pause lapses by itself after MAX_PAUSE,
/// the next one waits PAUSE_COOLDOWN after the last ended, and the guardian cannot cancel its own replacement.
#[test]
fn a_guardian_cannot_freeze_the_rollup() {
    let mut f = Fixture::new(1, 4);
    let max_pause = f.view(&IZkrRollup::MAX_PAUSECall {});
    let cooldown = f.view(&IZkrRollup::PAUSE_COOLDOWNCall {});
    assert!(max_pause < EXPIRY, "one pause never outlasts the priority expiry");
    f.ok(GUARDIAN, &IZkrRollup::pauseCall {});
    f.advance(max_pause - 1);
    assert!(f.view(&IZkrRollup::pausedCall {}));
    f.advance(1);
    assert!(!f.view(&IZkrRollup::pausedCall {}), "the pause lapsed");
    let (data, _) =
        f.build_epoch(1, vec![Tx::Transfer(Transfer { from: 1, to: 2, amount: 1, fee: 0, nonce: 0 })], true);
    f.settle(&data);
    // pausing again at once is refused, until the cooldown has passed
    assert!(matches!(f.refused(GUARDIAN, &IZkrRollup::pauseCall {}), E::PauseCoolingDown(_)));
    f.advance(cooldown - 1);
    assert!(matches!(f.refused(GUARDIAN, &IZkrRollup::pauseCall {}), E::PauseCoolingDown(_)));
    f.advance(1);
    f.ok(GUARDIAN, &IZkrRollup::pauseCall {});
    // lifting a pause early starts the cooldown too
    f.ok(GUARDIAN, &IZkrRollup::unpauseCall {});
    assert!(matches!(f.refused(GUARDIAN, &IZkrRollup::pauseCall {}), E::PauseCoolingDown(_)));

    // the governor replaces the guardian; the guardian cannot cancel that, but may cancel other operations
    let replace = IZkrRollup::setGuardianCall { guardian: addr(6) }.abi_encode();
    let out = f.ok(GOVERNOR, &schedule(replace.clone(), 1));
    let id = out.logs.iter().find_map(|l| IZkrRollup::OperationScheduled::decode_log(l).ok()).unwrap().data.id;
    assert_eq!(
        f.refused(GUARDIAN, &IZkrRollup::cancelCall { id }),
        E::GuardianCannotCancel(IZkrRollup::GuardianCannotCancel { id })
    );
    f.advance(DELAY);
    f.ok(3, &execute_op(replace, 1));
    assert_eq!(f.view(&IZkrRollup::guardianCall {}), addr(6));
    assert!(matches!(f.refused(GUARDIAN, &IZkrRollup::pauseCall {}), E::NotGuardian(_)));
}

/// The timelock delay exceeds the priority expiry (a user who rejects a scheduled change can leave before it lands)
/// and is bounded (a huge delay would overflow the ready time and brick governance).
#[test]
fn the_timelock_delay_is_bounded_and_exceeds_the_priority_expiry() {
    let mut f = Fixture::new(1, 4);
    for (salt, delay) in [(1u8, EXPIRY), (2, EXPIRY - 1), (3, u64::MAX), (4, 20 * 365 * 24 * 3600)] {
        let call = IZkrRollup::setTimelockDelayCall { timelockDelay: delay }.abi_encode();
        f.ok(GOVERNOR, &schedule(call.clone(), salt));
        f.advance(DELAY);
        match f.refused(3, &execute_op(call, salt)) {
            E::OperationFailed(e) => {
                let inner = IZkrRollup::BadTimelockDelay::abi_decode(&e.reason).expect("BadTimelockDelay inside");
                assert_eq!(inner.timelockDelay, delay);
            }
            other => panic!("delay {delay}: expected OperationFailed, got {other:?}"),
        }
    }
    // an expiry at or above the delay is refused the same way; below it (and above a pause) it passes
    for (salt, expiry, ok) in [(5u8, DELAY, false), (6, 3600, false), (7, DELAY - 1, true)] {
        let call = IZkrRollup::setPriorityExpiryCall { priorityExpiry: expiry }.abi_encode();
        f.ok(GOVERNOR, &schedule(call.clone(), salt));
        f.advance(DELAY);
        let out = f.call_value(3, &execute_op(call, salt), U256::ZERO);
        assert_eq!(out.success, ok, "expiry {expiry}");
    }
    // and at construction
    let bad = Fixture::try_new_with(EXPIRY, EXPIRY);
    assert!(bad.err().is_some_and(|e| e.contains("BadTimelockDelay")), "a delay equal to the expiry deploys");
    let bad = Fixture::try_new_with(3600, DELAY);
    assert!(bad.err().is_some_and(|e| e.contains("BadPriorityExpiry")), "an expiry shorter than a pause deploys");
}

/// The constructor takes exactly the ETH that backs the genesis balances: an underfunded rollup would owe its
/// genesis accounts money it does not hold (the last to withdraw or exit would get nothing).
#[test]
fn genesis_balances_must_be_funded() {
    let mut f = Fixture::new(1, 4);
    let backing = f.evm.balance(f.rollup);
    let owed: u64 = f.state.accounts().map(|(_, a)| a.balance).sum();
    assert_eq!(backing, amount_wei(owed));
    for funding in [U256::ZERO, backing - U256::from(1), backing + amount_wei(1)] {
        let e = Fixture::try_new_funded(funding).err().expect("the constructor refuses");
        assert!(e.contains("GenesisUnfunded"), "{e}");
    }
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
    let delay = IZkrRollup::setTimelockDelayCall { timelockDelay: DELAY + 60 }.abi_encode();
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
