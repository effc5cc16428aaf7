//! A cheating wrap prover: a wrap proof that exposes other public inputs than the root proof it verifies (the
//! wrap re-exposes the epoch's statement, so this is the one thing worth forging) is refused by plonky2's
//! verifier and by the generated contract. The matrix comes from the cheater's own witness generation
//! (`zkr_engine::forge_wires`) and is proven whatever it breaks (`OnViolation::Forge`).

use plonky2::field::types::{Field, PrimeField64};
use plonky2::iop::witness::WitnessWrite;
use zkr_circuits::config::F;
use zkr_circuits::wrap::WrapProof;
use zkr_engine::{forge_wires, prove_from_wires, CpuBackend, OnViolation};
use zkr_generator::encode_proof;

use crate::fixture::{call, calldata, fixture, pis_words, verifier};

/// The wrap proof a cheater gets with `claims` (public-input index, value) written before generation.
fn forged_wrap(claims: &[(usize, F)]) -> WrapProof {
    let f = fixture();
    let data = &f.wrap.data;
    let mut pw = f.wrap.witness(&f.epoch).expect("the epoch proof fits");
    for &(i, v) in claims {
        // overwrites (and reports) the root proof's value: the claim is what stays
        let _ = pw.set_target(data.prover_only.public_inputs[i], v);
    }
    let (public, wires, report) = forge_wires(&data.prover_only, &data.common, pw);
    eprintln!("forged wrap witness: {report:?}");
    prove_from_wires(&CpuBackend, &data.prover_only, &data.common, public, wires, OnViolation::Forge)
        .expect("a cheating engine proves any matrix of the right shape")
        .0
}

fn accepted_on_l1(proof: &WrapProof) -> Option<bool> {
    let pis: Vec<u64> = proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect();
    call(&mut verifier(), calldata(&encode_proof(proof), pis_words(&pis))).0
}

#[test]
fn a_wrap_claiming_another_statement_is_refused_by_both_verifiers() {
    let f = fixture();
    // control: the honest witness through the cheater's path verifies in plonky2 and on L1
    let honest = forged_wrap(&[]);
    f.wrap.data.verify(honest.clone()).expect("the forged path proves an honest witness");
    assert_eq!(accepted_on_l1(&honest), Some(true));

    // public inputs: old root 0..4, new root 4..8, data in 8..16, data out 16..24
    for (what, at) in [("new root", 4), ("data in", 8), ("data out", 23)] {
        let claimed = f.epoch.public_inputs[at] + F::ONE;
        let forged = forged_wrap(&[(at, claimed)]);
        assert_eq!(forged.public_inputs[at], claimed, "the forged proof claims the other {what}");
        assert!(f.wrap.data.verify(forged.clone()).is_err(), "plonky2 accepted a wrap claiming another {what}");
        assert_ne!(accepted_on_l1(&forged), Some(true), "the contract accepted a wrap claiming another {what}");
    }
}
