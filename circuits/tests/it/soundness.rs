//! Invalid transitions fed straight into the circuit (no native checks) are refused by plonky2's verifier: each case
//! goes through a cheating prover's own witness generation and a forged proof (`common::proves`), so no witness
//! generator's conflict or debug assertion stands in for a constraint. Each test names the constraint that refuses it
//! (docs/statement.md lists them).

use plonky2::field::types::{Field, Field64};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};

use crate::common::*;
use zkr_circuits::config::F;
use zkr_circuits::schnorr::PublicKey;
use zkr_circuits::tx::{layout, Deposit, Domain, ForcedExit, Tx, Withdraw};

/// A transfer slot from raw values plus a padding slot, built by the forge.
fn transfer_batch(amount: F, nonce: u32, signer: usize) -> Forged {
    let sks = keys(11);
    let state = genesis(&sks);
    let mut forge = Forge::new(&state);
    let f = transfer_fields(1, 2, amount, nonce);
    let sig = sign_fields(&sks[signer], &f);
    let slots = vec![forge.slot(f, Some(sig), None), forge.noop()];
    forge.seal(slots)
}

#[test]
fn forge_control_valid_transfer_proves() {
    // Guards the tests below: the forge itself builds provable witnesses.
    assert!(proves(&transfer_batch(F::from_canonical_u64(10), 0, 1)));
}

/// Refused by: the Schnorr check of `Poseidon(layout)` under leaf a's key, on when the kind is signed.
#[test]
fn forged_signature_is_rejected() {
    assert!(!proves(&transfer_batch(F::from_canonical_u64(10), 0, 2)));
}

/// Refused by: the Schnorr check in the batch's domain: a wallet's signature for the same transaction (same key,
/// account, nonce) in another deployment, of another chain or another rollup on the same chain, does not verify.
/// The batch then proves only in the other domain, whose pubdata commitment differs (the L1 contract hashes its own).
#[test]
fn signature_from_another_domain_is_rejected() {
    let sks = keys(11);
    let state = genesis(&sks);
    let f = transfer_fields(1, 2, F::from_canonical_u64(10), 0);
    let devnet = Domain::DEVNET;
    for other in [Domain { chain_id: 1, ..devnet }, Domain { rollup_id: 2, ..devnet }] {
        let mut forge = Forge::new(&state);
        let sig = sign_fields_in(&other, &sks[1], &f);
        let slots = vec![forge.slot(f, Some(sig), None), forge.noop()];
        let slots = forge.seal(slots);
        assert!(!proves_in(&devnet, &slots), "a signature for {other} proved in {devnet}");
        assert!(proves_in(&other, &slots), "control: the same slots prove in {other}");
    }
}

/// Refused by: the Schnorr check, whose message is the hash of the slot's own fields.
#[test]
fn signature_over_other_fields_is_rejected() {
    let sks = keys(11);
    let state = genesis(&sks);
    let mut forge = Forge::new(&state);
    let signed = transfer_fields(1, 2, F::from_canonical_u64(10), 0);
    let sig = sign_fields(&sks[1], &signed);
    let sent = transfer_fields(1, 2, F::from_canonical_u64(900), 0);
    let slots = vec![forge.slot(sent, Some(sig), None), forge.noop()];
    assert!(!proves(&forge.seal(slots)));
}

/// Refused by: the 62-bit range check of leaf a's new balance (1,000 − 1,001 wraps to p − 1).
#[test]
fn overspend_is_rejected() {
    assert!(!proves(&transfer_batch(F::from_canonical_u64(FUNDS + 1), 0, 1)));
}

/// Refused by: the 62-bit range check of the amount.
#[test]
fn amount_wrapping_around_the_modulus_is_rejected() {
    // p - 1 acts as -1: the sender would gain and the receiver lose one unit.
    assert!(!proves(&transfer_batch(F::NEG_ONE, 0, 1)));
    assert!(!proves(&transfer_batch(F::from_canonical_u64(F::ORDER - FUNDS), 0, 1)));
}

/// Refused by: `signed → nonce field = leaf a's nonce` (and the nonce is bumped in the new leaf).
#[test]
fn replayed_and_skipped_nonces_are_rejected() {
    // account 1 has nonce 0 at genesis: 1 skips ahead; after one tx, 0 would be a replay
    assert!(!proves(&transfer_batch(F::from_canonical_u64(10), 1, 1)));
    let sks = keys(11);
    let state = genesis(&sks);
    let mut forge = Forge::new(&state);
    let f = transfer_fields(1, 2, F::from_canonical_u64(10), 0);
    let sig = sign_fields(&sks[1], &f);
    let first = forge.slot(f, Some(sig), None);
    let replay = forge.slot(f, Some(sig), None);
    assert!(!proves(&forge.seal(vec![first, replay])));
}

/// Refused by: the copy of leaf a's recomputed old root into the running root (and of leaf b's into the middle root).
#[test]
fn wrong_merkle_sibling_is_rejected() {
    let mut slots = transfer_batch(F::from_canonical_u64(10), 0, 1);
    slots.slots[0].a.proof.siblings[5].elements[0] += F::ONE;
    assert!(!proves(&slots));
    let mut slots = transfer_batch(F::from_canonical_u64(10), 0, 1);
    slots.slots[0].b.proof.siblings[0].elements[3] += F::ONE;
    assert!(!proves(&slots));
}

/// Refused by: `leaf b empty → not a transfer`, and `transfer → (account_b − account_a)·inv = 1`.
#[test]
fn transfer_to_an_empty_leaf_and_self_transfer_are_rejected() {
    let sks = keys(11);
    let state = genesis(&sks);
    // leaf 9 is empty: the money would go to a leaf nobody can spend from
    let mut forge = Forge::new(&state);
    let f = transfer_fields(1, 9, F::from_canonical_u64(10), 0);
    let sig = sign_fields(&sks[1], &f);
    let slots = vec![forge.slot(f, Some(sig), None), forge.noop()];
    assert!(!proves(&forge.seal(slots)));
    // from 1 to 1: balanced, but the native spec forbids it and so must the circuit
    let mut forge = Forge::new(&state);
    let f = transfer_fields(1, 1, F::from_canonical_u64(10), 0);
    let sig = sign_fields(&sks[1], &f);
    let slots = vec![forge.slot(f, Some(sig), None), forge.noop()];
    assert!(!proves(&forge.seal(slots)));
}

/// Refused by: `deposit → leaf a's key = the deposit's key`.
#[test]
fn deposit_to_an_account_with_another_key_is_rejected() {
    let sks = keys(11);
    let state = genesis(&sks);
    let mut forge = Forge::new(&state);
    // account 1 holds key 1; a deposit naming key 4 must not credit it
    let f = Tx::Deposit(Deposit { priority_id: 1, to: 1, pubkey: sks[4].public_key(), amount: 5 }).to_fields();
    // The leaf is account 1's real leaf (key 1), so its Merkle path holds and only the key constraint
    // (`is_deposit → leaf a's key = the deposit's key`) is broken.
    let slot = forge.slot(f, None, None);
    assert_eq!(slot.a.before.map(|a| a.pubkey), Some(sks[1].public_key()));
    let pad = forge.noop();
    assert!(!proves(&forge.seal(vec![slot, pad])));
}

/// Refused by: `padding → amount = 0` (every field of a padding slot is zero).
#[test]
fn non_canonical_padding_is_rejected() {
    let sks = keys(11);
    let state = genesis(&sks);
    let mut forge = Forge::new(&state);
    let mut pad = forge.noop();
    pad.fields[layout::AMOUNT] = F::from_canonical_u64(5);
    let pad2 = forge.noop();
    assert!(!proves(&forge.seal(vec![pad, pad2])));
}

/// Refused by: the public-inputs hash the verifier recomputes from the claimed inputs.
#[test]
fn tampered_public_inputs_are_rejected() {
    let (_, batch) = random_batch(5);
    let c = circuit();
    let proof = c.prove(&batch).expect("valid batch proves");
    assert!(c.data.verify(proof.clone()).is_ok());
    // every public input: old root, new root, data in and data out limbs
    for i in 0..proof.public_inputs.len() {
        let mut p = proof.clone();
        p.public_inputs[i] += F::ONE;
        assert!(c.data.verify(p).is_err(), "public input {i} tampered but accepted");
    }
}

/// A transfer of `amount` paying `fee` from account 1 (holding FUNDS) to account 2, plus padding.
fn transfer_with_fee(amount: F, fee: F) -> Forged {
    let sks = keys(11);
    let state = genesis(&sks);
    let mut forge = Forge::new(&state);
    let f = transfer_fields_with_fee(1, 2, amount, fee, 0);
    let sig = sign_fields(&sks[1], &f);
    let slots = vec![forge.slot(f, Some(sig), None), forge.noop()];
    forge.seal(slots)
}

/// Refused by: the 62-bit range check of leaf a's new balance, `balance − amount − fee` (the fee is debited with the
/// amount, so it cannot overspend); the control spends the whole balance, fee included.
#[test]
fn fee_overspend_is_rejected() {
    let (amount, fee) = (F::from_canonical_u64(FUNDS - 10), F::from_canonical_u64(10));
    assert!(proves(&transfer_with_fee(amount, fee)), "control: amount + fee = the balance proves");
    assert!(!proves(&transfer_with_fee(amount, fee + F::ONE)));
}

/// Refused by: the 62-bit range check of the fee word (p − 1 acts as −1: the sender would gain and the fee account
/// lose).
#[test]
fn fee_wrapping_around_the_modulus_is_rejected() {
    assert!(!proves(&transfer_with_fee(F::from_canonical_u64(10), F::NEG_ONE)));
    assert!(!proves(&transfer_with_fee(F::from_canonical_u64(10), F::from_canonical_u64(F::ORDER - FUNDS))));
}

/// A forced exit of account `account` claiming `amount`, with a padding slot.
fn forced_exit_batch(account: u32, amount: F) -> Forged {
    let sks = keys(11);
    let state = genesis(&sks);
    let mut forge = Forge::new(&state);
    let mut f = Tx::ForcedExit(ForcedExit { priority_id: 3, account, l1_address: [0x5a; 20] }).to_fields();
    f[layout::AMOUNT] = amount;
    let slots = vec![forge.slot(f, None, None), forge.noop()];
    forge.seal(slots)
}

#[test]
fn forge_control_forced_exits_prove() {
    // the whole balance of an account; nothing of an account that does not exist
    assert!(proves(&forced_exit_batch(1, F::from_canonical_u64(FUNDS))));
    assert!(proves(&forced_exit_batch(9, F::ZERO)));
}

/// Refused by: `forced exit → amount = leaf a's balance`: an operator cannot pay out part of the balance (keeping
/// the rest in the account it is forced to close) nor more than it (the debit would wrap, or mint).
#[test]
fn a_forced_exit_of_other_than_the_whole_balance_is_rejected() {
    assert!(!proves(&forced_exit_batch(1, F::from_canonical_u64(FUNDS - 1))));
    assert!(!proves(&forced_exit_batch(1, F::from_canonical_u64(1))));
    assert!(!proves(&forced_exit_batch(1, F::from_canonical_u64(FUNDS + 1))));
    assert!(!proves(&forced_exit_batch(9, F::ONE)), "money out of an account that does not exist");
}

/// A deposit of 5 to the empty leaf 9 with `key`, its refund flag as `refund` claims, with a padding slot.
fn key_deposit_batch(key: PublicKey, refund: bool) -> Forged {
    let sks = keys(11);
    let state = genesis(&sks);
    let mut forge = Forge::new(&state);
    let mut f = Tx::Deposit(Deposit { priority_id: 1, to: 9, pubkey: key, amount: 5 }).to_fields();
    f[layout::REFUND] = F::from_bool(refund);
    let slots = vec![forge.slot(f, None, Some(key)), forge.noop()];
    forge.seal(slots)
}

fn unusable_key() -> PublicKey {
    (1u64..).map(|x| PublicKey::from_fields([F::from_canonical_u64(x); 5])).find(|k| k.point().is_err()).unwrap()
}

#[test]
fn forge_control_deposit_keys_prove_with_the_honest_answer() {
    let sks = keys(11);
    assert!(proves(&key_deposit_batch(sks[4].public_key(), false)), "a usable key opens the account");
    assert!(proves(&key_deposit_batch(unusable_key(), true)), "an unusable key is refunded");
    assert!(proves(&key_deposit_batch(PublicKey::from_fields([F::ZERO; 5]), true)), "the neutral is refunded");
}

/// Refused by: the decodability check of the deposit key (`r² = Δ` when the circuit answers "usable"): a deposit
/// whose key encodes no group element cannot open an account, where its funds would be locked for good, instead of
/// being refunded on L1 — whatever the prover claims for the answer.
#[test]
fn an_unusable_deposit_key_credited_is_rejected() {
    let batch = key_deposit_batch(unusable_key(), false);
    assert!(!proves(&batch));
    assert!(!proves_claiming_key_answers(&batch, &[(0, true)]));
    let zero = key_deposit_batch(PublicKey::from_fields([F::ZERO; 5]), false);
    assert!(!proves_claiming_key_answers(&zero, &[(0, true)]));
}

/// Refused by: the decodability check (`r² = b·Δ` when the circuit answers "unusable"): an operator cannot refuse a
/// good deposit by calling its key unusable (the L1 would refund it and the account would never open).
#[test]
fn a_usable_deposit_key_refunded_is_rejected() {
    let sks = keys(11);
    let batch = key_deposit_batch(sks[4].public_key(), true);
    assert!(!proves(&batch));
    assert!(!proves_claiming_key_answers(&batch, &[(0, false)]));
}

/// Refused by: `withdraw or forced exit → the L1 address limbs sum to non-zero` (`sum·inv = 1`): a withdrawal to
/// address zero would burn the money on L1, where nobody can pull it.
#[test]
fn a_withdrawal_to_the_zero_address_is_rejected() {
    let sks = keys(11);
    let state = genesis(&sks);
    let withdraw = |l1_address| {
        let mut forge = Forge::new(&state);
        let f = Tx::Withdraw(Withdraw { from: 1, l1_address, amount: 10, fee: 0, nonce: 0 }).to_fields();
        let sig = sign_fields(&sks[1], &f);
        let slots = vec![forge.slot(f, Some(sig), None), forge.noop()];
        forge.seal(slots)
    };
    let mut one = [0u8; 20];
    one[19] = 1;
    assert!(proves(&withdraw(one)), "control: the same withdrawal to address 0x…01 proves");
    assert!(!proves(&withdraw([0; 20])));
}

/// A batch whose published record is not its slot's: one byte of the transfer's record (its amount's lowest byte)
/// or its length claimed otherwise, with everything after it (the Keccak stream, the digest, the public inputs)
/// consistent with the claim, as a prover publishing other data than it applied would build it.
/// Refused by: the record's byte decomposition of the slot's amount (`Σ bits·2^i`) and the record's length sum over
/// the kind flags.
#[test]
fn a_record_other_than_the_slots_is_rejected() {
    let batch = transfer_with_fee(F::from_canonical_u64(25), F::from_canonical_u64(2));
    let c = circuit();
    let prove_with = |forge: &dyn Fn(&mut PartialWitness<F>)| {
        let mut pw = c.witness(&Domain::DEVNET, &[0; 32], &batch.slots, &batch.fee_leaf).expect("slot witnesses");
        forge(&mut pw);
        verifier_accepts(&c.data, pw)
    };
    assert!(prove_with(&|_| {}), "control: the honest record proves");
    let record = c.record_targets(0);
    // transfer record: tag · from (4) · to (4) · amount (8, big-endian: its lowest byte at 16) · fee (8)
    let amount_low = record.bytes[16];
    assert!(!prove_with(&|pw| pw.set_target(amount_low, F::from_canonical_u64(26)).unwrap()), "another amount");
    assert!(!prove_with(&|pw| pw.set_target(record.len, F::from_canonical_u64(13)).unwrap()), "another length");
}
