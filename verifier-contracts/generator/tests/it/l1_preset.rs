//! The deployment preset `WrapParams::L1` (a shrink layer, then rate 1/1024, 8 queries, 40 routed wires) end to end:
//! its wrap of the fixture's epoch verifies in plonky2, its generated verifier accepts it in revm, and refuses it with
//! a byte flipped anywhere in the proof or with another public input.

use plonky2::field::types::PrimeField64;
use zkr_circuits::wrap::{WrapCircuit, WrapParams, SHRUNK_WRAP_ROUTED_WIRES};
use zkr_generator::{encode_proof, generate_verifier, ProofLayout};

use crate::fixture::{call, calldata, deploy, fixture, pis_words};

const P: u64 = 0xffff_ffff_0000_0001;

#[test]
fn the_l1_preset_wraps_through_the_shrink_layer_and_verifies_on_l1() {
    let f = fixture();
    let wrap = WrapCircuit::build_with(&f.wrap.root, WrapParams::L1).expect("the L1 wrap circuit builds");
    assert_eq!(wrap.data.common.config.num_routed_wires, SHRUNK_WRAP_ROUTED_WIRES);
    assert!(wrap.shrink_degree_bits().is_some(), "the L1 preset has a shrink layer");
    let proof = wrap.prove(&f.epoch).expect("the epoch proof wraps through the shrink layer");
    wrap.verify(&proof).expect("plonky2 accepts the L1 wrap proof");
    assert_eq!(proof.public_inputs, f.epoch.public_inputs, "the shrink layer passes the statement through");

    let source = generate_verifier(&wrap.data.common, &wrap.data.verifier_only).expect("verifier generates");
    let mut evm = deploy(&source);
    let encoded = encode_proof(&proof);
    let pis: Vec<u64> = proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect();
    let (ok, out) = call(&mut evm, calldata(&encoded, pis_words(&pis)));
    assert_eq!(ok, Some(true), "the generated verifier accepts the L1 wrap proof");
    eprintln!("L1 preset: verifyProof {} gas, proof {} bytes", out.gas_used, encoded.len());

    // one flipped byte per region of the proof (and its edges), and every public input changed in turn
    let layout = ProofLayout::new(&wrap.data.common).unwrap();
    let mut pos: Vec<usize> = (0..encoded.len()).step_by(997).collect();
    for (_, b) in layout.boundaries() {
        pos.extend([b.saturating_sub(1), b]);
    }
    pos.retain(|&p| p < encoded.len());
    pos.sort_unstable();
    pos.dedup();
    for &p in &pos {
        let mut bad = encoded.clone();
        bad[p] ^= 0x04;
        assert_ne!(call(&mut evm, calldata(&bad, pis_words(&pis))).0, Some(true), "byte {p} flipped");
    }
    for i in 0..24 {
        let mut bad = pis.clone();
        bad[i] = (bad[i] + 1) % P;
        assert_ne!(call(&mut evm, calldata(&encoded, pis_words(&bad))).0, Some(true), "public input {i}");
    }
}
