//! A small circuit in the wrap configuration (24 public inputs, Poseidon and arithmetic gates):
//! a quick end-to-end check of the generated verifier, independent of the rollup circuits.

use std::sync::OnceLock;

use plonky2::field::types::{Field, PrimeField64};
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CircuitData;
use zkr_circuits::config::{D, F};
use zkr_circuits::wrap::{WrapConfig, WrapParams, WrapProof};
use zkr_generator::{encode_proof, generate_verifier};

use crate::fixture::{call, calldata, deploy, pis_words};

struct Toy {
    data: CircuitData<F, WrapConfig, D>,
    proof: WrapProof,
}

fn toy() -> &'static Toy {
    static T: OnceLock<Toy> = OnceLock::new();
    T.get_or_init(|| {
        let mut b = CircuitBuilder::<F, D>::new(WrapParams::DEFAULT.circuit_config());
        let x = b.add_virtual_targets(4);
        let mut h = b.hash_n_to_hash_no_pad::<PoseidonHash>(x.clone());
        for _ in 0..200 {
            h = b.hash_n_to_hash_no_pad::<PoseidonHash>(h.elements.to_vec());
        }
        let mut acc = x[0];
        for i in 0..50 {
            let c = b.constant(F::from_canonical_u64(i + 3));
            acc = b.mul_add(acc, c, x[1]);
        }
        let e = b.add_virtual_extension_target();
        let e2 = b.mul_extension(e, e);
        let e3 = b.mul_extension(e2, e);
        b.register_public_inputs(&h.elements);
        b.register_public_inputs(&x);
        b.register_public_input(acc);
        b.register_public_inputs(&e3.0);
        for i in 0..13 {
            let t = b.add_const(x[2], F::from_canonical_u64(i));
            b.register_public_input(t);
        }
        let data = b.build::<WrapConfig>();
        let mut pw = PartialWitness::new();
        for (i, &t) in x.iter().enumerate() {
            pw.set_target(t, F::from_canonical_u64(1000 + i as u64)).unwrap();
        }
        pw.set_extension_target(
            e,
            FieldExtension::<2>::from_basefield_array([F::from_canonical_u64(5), F::from_canonical_u64(9)]),
        )
        .unwrap();
        let proof = data.prove(pw).expect("toy proves");
        data.verify(proof.clone()).expect("toy verifies");
        Toy { data, proof }
    })
}

use plonky2::field::extension::FieldExtension;

#[test]
fn toy_proof_is_accepted_and_mutations_refused() {
    let t = toy();
    eprintln!(
        "toy: degree 2^{}, arities {:?}, gates {:?}",
        t.data.common.degree_bits(),
        t.data.common.fri_params.reduction_arity_bits,
        t.data.common.gates.iter().map(|g| g.0.id()).collect::<Vec<_>>()
    );
    let src = generate_verifier(&t.data.common, &t.data.verifier_only).expect("generates");
    let mut evm = deploy(&src);
    let enc = encode_proof(&t.proof);
    let pis: Vec<u64> = t.proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect();
    let (ok, out) = call(&mut evm, calldata(&enc, pis_words(&pis)));
    eprintln!("toy: {} gas, proof {} bytes", out.gas_used, enc.len());
    assert_eq!(ok, Some(true), "the toy proof must verify");
    for p in (0..enc.len()).step_by(1013) {
        let mut bad = enc.clone();
        bad[p] ^= 0x04;
        assert_ne!(call(&mut evm, calldata(&bad, pis_words(&pis))).0, Some(true), "flipped byte {p}");
    }
    let mut bad = pis.clone();
    bad[7] = (bad[7] + 1) % 0xFFFF_FFFF_0000_0001;
    assert_ne!(call(&mut evm, calldata(&enc, pis_words(&bad))).0, Some(true));
}

#[test]
#[ignore = "writes the toy verifier to /tmp for inspection"]
fn dump_toy_verifier() {
    let t = toy();
    let src = generate_verifier(&t.data.common, &t.data.verifier_only).expect("generates");
    std::fs::write("/tmp/toy_verifier.sol", src).unwrap();
}
