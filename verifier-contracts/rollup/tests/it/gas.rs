//! Gas of each entry point (transaction gas as a receipt reports it: intrinsic and calldata included).
//! Run with `--nocapture` to see the table; every figure must fit Osaka's per-transaction cap.

use zkr_circuits::tx::{Transfer, Tx, Withdraw};
use zkr_rollup::calldata::exit_call;
use zkr_rollup::IZkrRollup;

use crate::harness::*;

const TX_GAS_CAP: u64 = 1 << 24;

fn transfers(f: &Fixture, n: usize, nonce0: u32) -> Vec<Tx> {
    let _ = f;
    (0..n)
        .map(|i| {
            Tx::Transfer(Transfer { from: 0, to: 1 + (i as u32 % 2), amount: 1, fee: 0, nonce: nonce0 + i as u32 })
        })
        .collect()
}

/// Gas of committing one epoch of `bpe` batches of 4 transfers each.
fn commit_transfers(bpe: usize) -> u64 {
    let mut f = Fixture::new(bpe, 4);
    let txs = transfers(&f, 4 * bpe, 0);
    let (data, _) = f.build_epoch(1, txs, true);
    f.ok(OPERATOR, &data.commit_call()).gas_used
}

#[test]
fn gas_report() {
    let mut rows: Vec<(String, u64)> = Vec::new();
    let c1 = commit_transfers(1);
    let c2 = commit_transfers(2);
    let c4 = commit_transfers(4);
    rows.push(("commit, 1 batch x 4 transfers".into(), c1));
    rows.push(("commit, 2 batches x 4 transfers".into(), c2));
    rows.push(("commit, 4 batches x 4 transfers".into(), c4));
    rows.push(("commit, marginal per batch of 4 (from 1 -> 4)".into(), (c4 - c1) / 3));

    let mut f = Fixture::new(1, 4);
    f.deposit(3, 3, 3, 500);
    rows.push(("deposit (opens an account)".into(), f.last_gas));
    f.deposit(4, 3, 3, 5);
    rows.push(("deposit (existing account)".into(), f.last_gas));
    let l1: [u8; 20] = addr(5).into();
    let txs = vec![
        Tx::Withdraw(Withdraw { from: 3, l1_address: l1, amount: 100, fee: 0, nonce: 0 }),
        Tx::Transfer(Transfer { from: 0, to: 1, amount: 1, fee: 0, nonce: 0 }),
    ];
    let (data, _) = f.build_epoch(1, txs, true);
    rows.push(("commit, 1 batch: 2 deposits, withdraw, transfer".into(), f.ok(OPERATOR, &data.commit_call()).gas_used));
    f.set_verifier_accept_all(true);
    rows.push((
        "prove (verifier stub returning true)".into(),
        f.ok(OPERATOR, &data.prove_call(proof_bytes(1))).gas_used,
    ));
    rows.push(("execute (2 deposits, 1 withdrawal)".into(), f.ok(OPERATOR, &data.execute_call()).gas_used));
    rows.push(("withdrawPending".into(), f.ok(5, &IZkrRollup::withdrawPendingCall {}).gas_used));

    let (data2, _) = f.build_epoch(2, transfers(&f, 4, 1), true);
    f.ok(OPERATOR, &data2.commit_call());
    f.ok(OPERATOR, &data2.prove_call(proof_bytes(2)));
    rows.push(("execute (no deposits, no withdrawals)".into(), f.ok(OPERATOR, &data2.execute_call()).gas_used));

    f.deposit(3, 3, 3, 1);
    f.forced_exit(7 + 2, 2);
    rows.push(("requestForcedExit".into(), f.last_gas));
    f.advance(EXPIRY + 1);
    rows.push(("activateExitMode".into(), f.ok(3, &IZkrRollup::activateExitModeCall {}).gas_used));
    let a3 = *f.state.account(3).unwrap();
    let proof = f.state.proof(3);
    rows.push(("exit (Merkle proof, depth 32)".into(), f.ok(3, &exit_call(3, &a3, &proof).unwrap()).gas_used));
    rows.push(("refundDeposit".into(), f.ok(3, &IZkrRollup::refundDepositCall { priorityId: 2 }).gas_used));

    println!("\n{:<52} {:>10}", "zkr rollup entry point", "gas");
    for (what, gas) in &rows {
        println!("{what:<52} {gas:>10}");
        assert!(*gas < TX_GAS_CAP, "{what} uses {gas} gas, above the per-transaction cap");
    }
    // committing more batches costs more, and per batch roughly the same
    assert!(c1 < c2 && c2 < c4);
}

/// EIP-170: a contract's runtime code may be at most 24,576 bytes on a real chain (the test EVM lifts the limit).
#[test]
fn runtime_code_fits_a_real_chain() {
    let (rollup, poseidon) = compiled_runtime_lens();
    println!("runtime code: ZkrRollup {rollup} bytes, ZkrPoseidon {poseidon} bytes");
    assert!(rollup <= 24_576, "ZkrRollup runtime code is {rollup} bytes, above EIP-170's 24,576");
    assert!(poseidon <= 24_576, "ZkrPoseidon runtime code is {poseidon} bytes, above EIP-170's 24,576");
}
