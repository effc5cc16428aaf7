//! commit → prove → execute with real batches, deposits through the priority queue, withdrawals pulled once,
//! and the refusals of each step.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use zkr_circuits::pubdata::Record;
use zkr_circuits::tx::{Domain, Transfer, Tx, Withdraw};
use zkr_rollup::calldata::amount_wei;
use zkr_rollup::IZkrRollup::{self, IZkrRollupErrors as E};

use crate::harness::*;

fn l1(i: usize) -> [u8; 20] {
    addr(i).into()
}

/// (tag, byte offset) of every compact record of one batch's pubdata.
fn record_offsets(bytes: &[u8]) -> Vec<(u8, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        out.push((bytes[at], at));
        at += Record::len_of(bytes[at]).expect("a known tag");
    }
    out
}

#[test]
fn full_lifecycle_with_deposits_transfers_and_withdrawals() {
    let mut f = Fixture::new(2, 4);
    // user 3 opens account 3 (the first free id) with key 3; user 4 tops up genesis account 1 (its key)
    let d0 = f.deposit(3, 3, 3, 500);
    let d1 = f.deposit(4, 1, 1, 7);
    assert_eq!((d0.priorityId, d1.priorityId), (0, 1));
    assert_eq!(f.view(&IZkrRollup::priorityQueueLengthCall {}), 2);
    let info = f.view(&IZkrRollup::accountInfoCall { accountId: 3 });
    assert_eq!(info.owner, addr(3));

    let txs = vec![
        Tx::Transfer(Transfer { from: 0, to: 1, amount: 25, fee: 0, nonce: 0 }),
        Tx::Withdraw(Withdraw { from: 3, l1_address: l1(5), amount: 200, fee: 0, nonce: 0 }),
        Tx::Withdraw(Withdraw { from: 2, l1_address: l1(5), amount: 3, fee: 0, nonce: 0 }),
        Tx::Withdraw(Withdraw { from: 1, l1_address: l1(6), amount: 30, fee: 0, nonce: 0 }),
    ];
    let (data, _) = f.build_epoch(1, txs, true);
    assert_eq!(data.withdrawals.len(), 3);

    let out = f.ok(OPERATOR, &data.commit_call());
    let ev = out.logs.iter().find_map(|l| IZkrRollup::BatchCommitted::decode_log(l).ok()).expect("BatchCommitted").data;
    // the on-chain Keccak chain over the posted records equals the native statement's data digest
    assert_eq!(ev.dataHash.0, data.statement.data_out);
    assert_eq!(ev.newRoot, packed(&f.state.root()));
    assert_eq!((ev.priorityOps, ev.withdrawals), (2, 3));
    let inputs = f.view(&IZkrRollup::publicInputsCall { epoch: 1 });
    assert_eq!(inputs, data.public_input_words());

    let proof = proof_bytes(1);
    f.accept(&data, &proof);
    let out = f.ok(OPERATOR, &data.prove_call(proof));
    assert!(out.logs.iter().any(|l| IZkrRollup::BatchProven::decode_log(l).is_ok()));
    // proven is not final: no credit yet
    assert_eq!(f.pending(addr(5)), U256::ZERO);
    let out = f.ok(OPERATOR, &data.execute_call());
    assert!(out.logs.iter().any(|l| IZkrRollup::BatchExecuted::decode_log(l).is_ok()));
    assert_eq!(out.logs.iter().filter(|l| IZkrRollup::WithdrawalPending::decode_log(l).is_ok()).count(), 3);

    assert_eq!(f.executed_root(), packed(&f.state.root()));
    assert_eq!(f.view(&IZkrRollup::priorityOpsExecutedCall {}), 2);
    // executed priority ops are freed
    assert_eq!(f.view(&IZkrRollup::priorityOpCall { priorityId: 0 }).depositor, Address::ZERO);
    assert_eq!(f.pending(addr(5)), amount_wei(203));
    assert_eq!(f.pending(addr(6)), amount_wei(30));

    // pulled once, by its owner only
    let before = f.evm.balance(addr(5));
    let out = f.ok(5, &IZkrRollup::withdrawPendingCall {});
    assert!(out.logs.iter().any(|l| IZkrRollup::WithdrawalPulled::decode_log(l).is_ok()));
    assert_eq!(f.evm.balance(addr(5)) - before, amount_wei(203));
    assert_eq!(f.pending(addr(5)), U256::ZERO);
    assert_eq!(
        f.refused(5, &IZkrRollup::withdrawPendingCall {}),
        E::NothingToWithdraw(IZkrRollup::NothingToWithdraw { account: addr(5) })
    );
    assert_eq!(f.pending(addr(6)), amount_wei(30));

    // a second epoch chains on the first
    let (data2, _) =
        f.build_epoch(2, vec![Tx::Transfer(Transfer { from: 3, to: 0, amount: 100, fee: 0, nonce: 1 })], true);
    assert_eq!(data2.statement.old_root, data.statement.new_root);
    f.settle(&data2);
    assert_eq!(f.executed_root(), packed(&f.state.root()));
    assert_eq!(f.view(&IZkrRollup::totalExecutedCall {}), 2);
}

#[test]
fn commit_refusals() {
    let mut f = Fixture::new(2, 4);
    f.deposit(3, 3, 3, 500);
    f.deposit(4, 1, 1, 7);
    let txs = vec![
        Tx::Transfer(Transfer { from: 0, to: 1, amount: 25, fee: 0, nonce: 0 }),
        Tx::Withdraw(Withdraw { from: 2, l1_address: l1(5), amount: 3, fee: 0, nonce: 0 }),
    ];
    let (data, _) = f.build_epoch(1, txs, true);
    let honest = data.commit_call();

    // wrong role
    assert_eq!(f.refused(3, &honest), E::NotOperator(IZkrRollup::NotOperator { caller: addr(3) }));
    // out of order / root that does not chain
    let mut c = honest.clone();
    c.c.epoch = 2;
    assert_eq!(f.refused(OPERATOR, &c), E::UnexpectedEpoch(IZkrRollup::UnexpectedEpoch { expected: 1, got: 2 }));
    let mut c = honest.clone();
    c.c.oldRoot = c.c.newRoot;
    assert!(matches!(f.refused(OPERATOR, &c), E::RootDoesNotChain(e) if e.got == honest.c.newRoot));
    let mut c = honest.clone();
    c.c.newRoot = B256::repeat_byte(0xff);
    assert!(matches!(f.refused(OPERATOR, &c), E::NonCanonicalDigest(_)));
    // shape of the data
    let mut c = honest.clone();
    c.c.pubdata.pop();
    assert_eq!(
        f.refused(OPERATOR, &c),
        E::WrongBatchCount(IZkrRollup::WrongBatchCount { expected: U256::from(2), got: U256::from(1) })
    );
    // batch 0 holds: deposit 0 opening account 3 (tag 05, 53 bytes), deposit 1 to account 1 (tag 03, 13 bytes), the
    // transfer (25) and the withdrawal (41); batch 1 is padding only and publishes nothing
    let records: Vec<(u8, usize)> = record_offsets(&honest.c.pubdata[0]);
    assert_eq!(records, vec![(5, 0), (3, 53), (1, 66), (2, 91)]);
    assert!(honest.c.pubdata[1].is_empty());
    let edit = |c: &mut IZkrRollup::commitEpochCall, batch: usize, f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = c.c.pubdata[batch].to_vec();
        f(&mut b);
        c.c.pubdata[batch] = b.into();
    };
    let batch = |i: u64| U256::from(i);
    // a record cut short
    let mut c = honest.clone();
    edit(&mut c, 0, &|b| b.truncate(b.len() - 1));
    assert_eq!(
        f.refused(OPERATOR, &c),
        E::RecordTruncated(IZkrRollup::RecordTruncated { batch: batch(0), offset: U256::from(91) })
    );
    // an unknown tag
    let mut c = honest.clone();
    edit(&mut c, 0, &|b| b[66] = 7);
    assert_eq!(
        f.refused(OPERATOR, &c),
        E::UnknownTag(IZkrRollup::UnknownTag { batch: batch(0), offset: U256::from(66), tag: U256::from(7) })
    );
    // more records than the batch has slots: five transfers in batch 1 (capacity 4)
    let mut c = honest.clone();
    let transfer = honest.c.pubdata[0][66..91].to_vec();
    edit(&mut c, 1, &|b| (0..5).for_each(|_| b.extend_from_slice(&transfer)));
    assert_eq!(
        f.refused(OPERATOR, &c),
        E::TooManyRecords(IZkrRollup::TooManyRecords {
            batch: batch(1),
            capacity: U256::from(4),
            count: U256::from(5)
        })
    );
    // deposits must match the queue, in order: another amount, another key, one left out
    let mut c = honest.clone();
    edit(&mut c, 0, &|b| b[12] ^= 1); // deposit 0's amount (bytes 5..13)
    assert_eq!(f.refused(OPERATOR, &c), E::DepositMismatch(IZkrRollup::DepositMismatch { priorityId: 0 }));
    let mut c = honest.clone();
    edit(&mut c, 0, &|b| b[20] ^= 1); // deposit 0's key (bytes 13..53)
    assert_eq!(f.refused(OPERATOR, &c), E::DepositKeyMismatch(IZkrRollup::DepositKeyMismatch { priorityId: 0 }));
    let mut c = honest.clone();
    edit(&mut c, 0, &|b| drop(b.drain(..53)));
    assert_eq!(f.refused(OPERATOR, &c), E::DepositMismatch(IZkrRollup::DepositMismatch { priorityId: 0 }));
    // the refused commits changed nothing
    assert_eq!(f.view(&IZkrRollup::totalCommittedCall {}), 0);

    f.ok(OPERATOR, &honest);
    // replay
    assert_eq!(f.refused(OPERATOR, &honest), E::EpochAlreadyCommitted(IZkrRollup::EpochAlreadyCommitted { epoch: 1 }));
    assert_eq!(f.view(&IZkrRollup::lastCommittedRootCall {}), honest.c.newRoot);
}

#[test]
fn a_deposit_that_was_never_queued_is_refused() {
    let mut f = Fixture::new(1, 4);
    f.deposit(3, 3, 3, 500);
    // the L2 side invents a second deposit with the next priority id
    let mut fake = f.queued[0].clone();
    if let Tx::Deposit(d) = &mut fake.tx {
        d.priority_id = 1;
    }
    f.queued.push(fake);
    let (data, _) = f.build_epoch(1, vec![], true);
    assert!(
        matches!(f.refused(OPERATOR, &data.commit_call()), E::PriorityOpMissing(e) if e.priorityId == U256::from(1))
    );
}

#[test]
fn prove_and_execute_refusals() {
    let mut f = Fixture::new(2, 4);
    f.deposit(3, 3, 3, 500);
    let txs = vec![
        Tx::Transfer(Transfer { from: 0, to: 1, amount: 25, fee: 0, nonce: 0 }),
        Tx::Withdraw(Withdraw { from: 3, l1_address: l1(5), amount: 10, fee: 0, nonce: 0 }),
    ];
    let (data, _) = f.build_epoch(1, txs, true);
    let proof = proof_bytes(1);
    f.accept(&data, &proof);

    // data that does not match what was proven: a transfer amount changed in the posted pubdata passes every
    // check of commit, but the data chain it yields is not the proven one
    let mut bad = data.commit_call();
    let (tag, at) = record_offsets(&bad.c.pubdata[0])[1];
    assert_eq!(tag, 1, "the transfer follows the deposit");
    let mut b = bad.c.pubdata[0].to_vec();
    b[at + 9..at + 17].copy_from_slice(&26u64.to_be_bytes());
    bad.c.pubdata[0] = b.into();
    f.ok(OPERATOR, &bad);
    assert_eq!(
        f.refused(OPERATOR, &data.prove_call(proof.clone())),
        E::InvalidProof(IZkrRollup::InvalidProof { epoch: 1 })
    );
    // the operator drops it and commits the real data
    assert!(matches!(f.refused(3, &IZkrRollup::revertEpochsCall { lastKeptEpoch: 0 }), E::NotOperator(_)));
    f.ok(OPERATOR, &IZkrRollup::revertEpochsCall { lastKeptEpoch: 0 });
    assert_eq!(f.view(&IZkrRollup::priorityOpsCommittedCall {}), 0);
    assert!(matches!(f.refused(OPERATOR, &IZkrRollup::revertEpochsCall { lastKeptEpoch: 0 }), E::NothingToRevert(_)));
    // the same for records moved from one batch to the next: the chain hashes each batch's header, so the split
    // between batches is bound too
    let mut bad = data.commit_call();
    let moved = bad.c.pubdata[0].to_vec();
    bad.c.pubdata[1] = [moved.as_slice(), &bad.c.pubdata[1]].concat().into();
    bad.c.pubdata[0] = Vec::new().into();
    f.ok(OPERATOR, &bad);
    assert!(matches!(f.refused(OPERATOR, &data.prove_call(proof.clone())), E::InvalidProof(_)));
    f.ok(OPERATOR, &IZkrRollup::revertEpochsCall { lastKeptEpoch: 0 });
    f.ok(OPERATOR, &data.commit_call());

    // execute before prove, prove of an epoch not committed, wrong role, wrong proof, a reverting verifier
    assert_eq!(f.refused(OPERATOR, &data.execute_call()), E::EpochNotProven(IZkrRollup::EpochNotProven { epoch: 1 }));
    let mut p2 = data.prove_call(proof.clone());
    p2.epoch = 2;
    assert_eq!(f.refused(OPERATOR, &p2), E::EpochNotCommitted(IZkrRollup::EpochNotCommitted { epoch: 2 }));
    assert!(matches!(f.refused(4, &data.prove_call(proof.clone())), E::NotOperator(_)));
    assert!(matches!(f.refused(OPERATOR, &data.prove_call(b"forged".to_vec())), E::InvalidProof(_)));
    f.set_verifier_reverts(true);
    assert!(matches!(f.refused(OPERATOR, &data.prove_call(proof.clone())), E::InvalidProof(_)));
    f.set_verifier_reverts(false);

    f.ok(OPERATOR, &data.prove_call(proof.clone()));
    assert_eq!(
        f.refused(OPERATOR, &data.prove_call(proof)),
        E::EpochAlreadyProven(IZkrRollup::EpochAlreadyProven { epoch: 1 })
    );

    // execute must name exactly the committed withdrawals
    let mut x = data.execute_call();
    x.withdrawals[0].amount += 1;
    assert_eq!(f.refused(OPERATOR, &x), E::WithdrawalsMismatch(IZkrRollup::WithdrawalsMismatch { epoch: 1 }));
    let mut x = data.execute_call();
    x.withdrawals[0].to = addr(6);
    assert!(matches!(f.refused(OPERATOR, &x), E::WithdrawalsMismatch(_)));
    let mut x = data.execute_call();
    x.withdrawals.clear();
    assert!(matches!(f.refused(OPERATOR, &x), E::WithdrawalsMismatch(_)));
    assert!(matches!(f.refused(4, &data.execute_call()), E::NotOperator(_)));
    f.ok(OPERATOR, &data.execute_call());
    assert_eq!(
        f.refused(OPERATOR, &data.execute_call()),
        E::EpochAlreadyExecuted(IZkrRollup::EpochAlreadyExecuted { epoch: 1 })
    );
    assert!(matches!(
        f.refused(OPERATOR, &IZkrRollup::revertEpochsCall { lastKeptEpoch: 0 }),
        E::CannotRevertExecuted(_)
    ));
    assert_eq!(f.pending(addr(5)), amount_wei(10));
}

#[test]
fn deposit_refusals() {
    let mut f = Fixture::new(1, 4);
    let pk = f.keys[3].public_key();
    let call = zkr_rollup::calldata::deposit_call(3, &pk);
    assert!(matches!(f.refused_value(3, &call, U256::from(1_500_000_000u64)), E::DepositNotMultipleOfUnit(_)));
    assert_eq!(f.refused_value(3, &call, U256::ZERO), E::ZeroDeposit(IZkrRollup::ZeroDeposit {}));
    let mut c = call.clone();
    c.pubkey[2] = u64::MAX;
    assert!(matches!(f.refused_value(3, &c, amount_wei(1)), E::NonCanonicalPubkey(e) if e.index == U256::from(2)));
    let mut c = call.clone();
    c.pubkey = [0; 5];
    assert_eq!(f.refused_value(3, &c, amount_wei(1)), E::ZeroPubkey(IZkrRollup::ZeroPubkey {}));
    // a genesis account's key is bound: another key is refused (the L2 could never apply it)
    let other = zkr_rollup::calldata::deposit_call(0, &f.keys[1].public_key());
    assert_eq!(
        f.refused_value(3, &other, amount_wei(1)),
        E::PubkeyMismatch(IZkrRollup::PubkeyMismatch { accountId: 0 })
    );
    // an id nobody opened takes no deposit: new accounts come only from openAccount
    assert_eq!(
        f.refused_value(3, &call, amount_wei(1)),
        E::UnknownAccount(IZkrRollup::UnknownAccount { accountId: 3 })
    );
    // openAccount binds key and exit owner to the next free id; a later deposit must name the same key
    f.deposit(3, 3, 3, 5);
    let other = zkr_rollup::calldata::deposit_call(3, &f.keys[4].public_key());
    assert!(matches!(f.refused_value(4, &other, amount_wei(1)), E::PubkeyMismatch(_)));
    f.deposit(4, 3, 3, 6);
    assert_eq!(f.view(&IZkrRollup::accountInfoCall { accountId: 3 }).owner, addr(3));
    let op = f.view(&IZkrRollup::priorityOpCall { priorityId: 1 });
    assert_eq!((op.depositor, op.amount), (addr(4), 6));
    assert_eq!(u64::from(op.expiry), f.evm.timestamp() + EXPIRY);
}

/// First-depositor takeover, tried: an attacker who sees a victim's first deposit in the mempool and front-runs it
/// with the victim's key cannot make itself the exit owner of the victim's account. Ids are assigned by the contract,
/// so the attacker opens an account of its own (holding its own 1 gwei) and the victim's account, opened next, is
/// the victim's.
#[test]
fn front_running_a_first_deposit_takes_nothing() {
    let mut f = Fixture::new(1, 4);
    let victim_key = f.keys[3].public_key();
    let attacker = 5;
    let out = f.ok_value(attacker, &zkr_rollup::calldata::open_account_call(&victim_key), amount_wei(1));
    let attacker_id =
        out.logs.iter().find_map(|l| IZkrRollup::DepositQueued::decode_log(l).ok()).unwrap().data.accountId;
    let out = f.ok_value(3, &zkr_rollup::calldata::open_account_call(&victim_key), amount_wei(500));
    let victim_id = out.logs.iter().find_map(|l| IZkrRollup::DepositQueued::decode_log(l).ok()).unwrap().data.accountId;
    assert_ne!(attacker_id, victim_id);
    assert_eq!(f.view(&IZkrRollup::accountInfoCall { accountId: victim_id }).owner, addr(3));
    assert_eq!(f.view(&IZkrRollup::accountInfoCall { accountId: attacker_id }).owner, addr(attacker));
    // the attacker cannot redirect the victim's exit or force it out to itself
    assert!(matches!(
        f.refused(attacker, &IZkrRollup::transferExitOwnershipCall { accountId: victim_id, newOwner: addr(attacker) }),
        E::NotExitOwner(_)
    ));
    assert!(matches!(f.refused(attacker, &zkr_rollup::calldata::forced_exit_call(victim_id)), E::NotExitOwner(_)));
}

/// The contract hashes every batch's pubdata with its own domain (this chain, its rollup id): an epoch whose
/// transactions were signed and proven for another rollup commits (the bytes are well-formed) but its statement is
/// not the contract's, so the verifier is asked about other public inputs and the proof is refused.
#[test]
fn an_epoch_proven_for_another_domain_is_refused() {
    let mut f = Fixture::new(2, 4);
    let (chain_id, rollup_id) = {
        let d = f.view(&IZkrRollup::domainCall {});
        (d.chainId, d.rollupId)
    };
    assert_eq!((chain_id, rollup_id), (Domain::DEVNET.chain_id, Domain::DEVNET.rollup_id));
    assert_eq!(f.state.domain(), Domain::DEVNET);

    let other = Domain { rollup_id: 2, ..Domain::DEVNET };
    f.state = f.state.clone().with_domain(other);
    let (data, _) =
        f.build_epoch(1, vec![Tx::Transfer(Transfer { from: 0, to: 1, amount: 25, fee: 0, nonce: 0 })], false);
    let out = f.ok(OPERATOR, &data.commit_call());
    let ev = out.logs.iter().find_map(|l| IZkrRollup::BatchCommitted::decode_log(l).ok()).expect("BatchCommitted").data;
    assert_ne!(ev.dataHash.0, data.statement.data_out, "the contract used its own domain");
    let proof = proof_bytes(1);
    f.accept(&data, &proof); // the other deployment's statement, as its prover would claim it
    assert_eq!(f.refused(OPERATOR, &data.prove_call(proof)), E::InvalidProof(IZkrRollup::InvalidProof { epoch: 1 }));
}

/// Fees: the contract's fee account is in every batch header it hashes, so an epoch whose fees were credited to
/// another account does not prove; an epoch paying fees to the configured account settles, and the fees are in that
/// account's leaf (what an exit would pay).
#[test]
fn an_epoch_crediting_fees_elsewhere_is_refused() {
    let mut f = Fixture::new(2, 4);
    assert_eq!(f.view(&IZkrRollup::feeAccountCall {}), f.state.fee_account());
    let paying = |fee| vec![Tx::Transfer(Transfer { from: 1, to: 2, amount: 25, fee, nonce: 0 })];

    let honest = f.state.clone();
    f.state = f.state.clone().with_fee_account(2);
    let (data, _) = f.build_epoch(1, paying(4), false);
    f.ok(OPERATOR, &data.commit_call());
    let proof = proof_bytes(1);
    f.accept(&data, &proof);
    assert_eq!(f.refused(OPERATOR, &data.prove_call(proof)), E::InvalidProof(IZkrRollup::InvalidProof { epoch: 1 }));
    f.ok(OPERATOR, &IZkrRollup::revertEpochsCall { lastKeptEpoch: 0 });

    f.state = honest;
    let before = f.state.account(0).unwrap().balance;
    let (data, _) = f.build_epoch(1, paying(4), false);
    f.settle(&data);
    assert_eq!(f.state.account(0).unwrap().balance, before + 4);
    assert_eq!(f.executed_root(), packed(&f.state.root()));
}
