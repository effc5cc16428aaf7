//! `poseidon::poseidon_yul` and the generated Solidity library against plonky2's Poseidon.

use alloy_sol_types::{sol, SolCall};
use plonky2::hash::hash_types::HashOut;
use plonky2::hash::poseidon::{Poseidon, PoseidonHash};
use plonky2::plonk::config::Hasher;
use plonky2_field::goldilocks_field::GoldilocksField as F;
use plonky2_field::types::{Field, Field64, Sample};
use rand::SeedableRng;
use zkr_evm::{Evm, SolcSettings, U256};

use crate::harness::{edgy, to_f, word, YulContract};

fn dispatcher() -> String {
    format!(
        "{}
mstore(0x40, 0x1000)
switch calldataload(0)
case 0 {{
  calldatacopy(0x80, 32, 384)
  let g := gas()
  poseidon_permute(0x80)
  g := sub(g, gas())
  mstore(0x200, g)
  return(0x80, 416)
}}
case 1 {{
  let n := calldataload(32)
  calldatacopy(0x2000, 64, shl(5, n))
  let g := gas()
  poseidon_hash_no_pad(0x2000, n, 0x80)
  g := sub(g, gas())
  mstore(0x100, g)
  return(0x80, 160)
}}
case 2 {{
  calldatacopy(0x80, 32, 256)
  poseidon_two_to_one(0x80, 0x100, 0x180)
  return(0x180, 128)
}}
default {{ revert(0, 0) }}",
        zkr_yul::poseidon::poseidon_yul()
    )
}

fn permute_in_evm(c: &mut YulContract, input: [F; 12]) -> ([F; 12], u64) {
    let mut words = vec![U256::ZERO];
    words.extend(input.iter().map(|&x| word(x)));
    let (out, _) = c.call_words(&words);
    (std::array::from_fn(|i| to_f(out[i])), out[12].to::<u64>())
}

#[test]
fn permutation_matches_plonky2() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    // solcjs's Yul optimizer runs out of memory on the straight-line permutation, so only unoptimized here
    // (Solidity's legacy pipeline, which the library uses, is tested with the optimizer below).
    for optimize in [false] {
        let mut c = YulContract::deploy(&dispatcher(), optimize);
        let mut gas = 0;
        let mut cases: Vec<[F; 12]> = vec![[F::ZERO; 12], [F::NEG_ONE; 12]];
        cases.extend((0..40).map(|_| std::array::from_fn(|_| edgy(&mut rng))));
        for input in cases {
            let (out, g) = permute_in_evm(&mut c, input);
            assert_eq!(out, <F as Poseidon>::poseidon(input), "input {input:?}");
            gas = g;
        }
        println!("poseidon_permute: {gas} gas (optimize = {optimize})");
    }
}

#[test]
fn sponge_helpers_match_plonky2() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let mut c = YulContract::deploy(&dispatcher(), false);
    for n in [0usize, 1, 4, 7, 8, 9, 16, 17, 40] {
        let input: Vec<F> = (0..n).map(|_| edgy(&mut rng)).collect();
        let mut words = vec![U256::from(1), U256::from(n)];
        words.extend(input.iter().map(|&x| word(x)));
        let (out, _) = c.call_words(&words);
        let got: Vec<F> = out[..4].iter().map(|&w| to_f(w)).collect();
        assert_eq!(got, PoseidonHash::hash_no_pad(&input).elements.to_vec(), "hash_no_pad of {n} elements");
        println!("poseidon_hash_no_pad({n}): {} gas", out[4]);
    }
    for _ in 0..10 {
        let l = HashOut::<F>::rand();
        let r = HashOut::<F>::rand();
        let mut words = vec![U256::from(2)];
        words.extend(l.elements.iter().chain(r.elements.iter()).map(|&x| word(x)));
        let (out, _) = c.call_words(&words);
        let got: Vec<F> = out.iter().map(|&w| to_f(w)).collect();
        assert_eq!(got, PoseidonHash::two_to_one(l, r).elements.to_vec());
    }
    // A non-canonical input word reverts.
    let mut words = vec![U256::from(1), U256::from(2), U256::from(5)];
    words.push(U256::from(F::ORDER));
    assert!(c.reverts(&words));
}

sol! {
    function hashNoPad(uint256[] input) external pure returns (uint256[4] memory);
    function twoToOne(uint256[4] l, uint256[4] r) external pure returns (uint256[4] memory);
    function permute(uint256[12] s) external pure returns (uint256[12] memory);
}

const HARNESS: &str = r#"// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
import "./PoseidonGoldilocks.sol";
contract PoseidonHarness {
    function hashNoPad(uint256[] memory input) external pure returns (uint256[4] memory) {
        return PoseidonGoldilocks.hashNoPad(input);
    }
    function twoToOne(uint256[4] memory l, uint256[4] memory r) external pure returns (uint256[4] memory) {
        return PoseidonGoldilocks.twoToOne(l, r);
    }
    function permute(uint256[12] memory s) external pure returns (uint256[12] memory) {
        PoseidonGoldilocks.permute(s);
        return s;
    }
}
"#;

fn words_to_f(ws: &[U256]) -> Vec<F> {
    ws.iter().map(|&w| to_f(w)).collect()
}

#[test]
fn solidity_library_matches_plonky2() {
    for (optimize, runs) in [(true, 200), (true, 1_000_000), (false, 200)] {
        check_library(&SolcSettings { optimize, runs, ..SolcSettings::default() });
    }
}

fn check_library(settings: &SolcSettings) {
    println!("solc settings: {settings:?}");
    let sources = vec![
        ("PoseidonGoldilocks.sol".to_string(), zkr_yul::poseidon::solidity_library()),
        ("PoseidonHarness.sol".to_string(), HARNESS.to_string()),
    ];
    let artifacts = zkr_evm::compile_solidity(&sources, settings).expect("solc");
    let harness = artifacts.iter().find(|a| a.name == "PoseidonHarness").expect("harness artifact");
    let mut evm = Evm::unlimited();
    let addr = evm.deploy(Evm::account(0), harness.creation_code.clone()).expect("deploy");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);

    for n in [0usize, 3, 8, 13, 64] {
        let input: Vec<F> = (0..n).map(|_| edgy(&mut rng)).collect();
        let call = hashNoPadCall { input: input.iter().map(|&x| word(x)).collect() };
        let out = evm.view(addr, call.abi_encode()).expect("call");
        assert!(out.success);
        let got = hashNoPadCall::abi_decode_returns(&out.output).expect("decode");
        assert_eq!(words_to_f(&got), PoseidonHash::hash_no_pad(&input).elements.to_vec());
        println!("PoseidonGoldilocks.hashNoPad({n} elements): {} gas (whole call)", out.gas_used);
    }
    let l = HashOut::<F>::rand();
    let r = HashOut::<F>::rand();
    let call = twoToOneCall { l: l.elements.map(word), r: r.elements.map(word) };
    let out = evm.view(addr, call.abi_encode()).expect("call");
    assert!(out.success);
    let got = twoToOneCall::abi_decode_returns(&out.output).expect("decode");
    assert_eq!(words_to_f(&got), PoseidonHash::two_to_one(l, r).elements.to_vec());
    println!("PoseidonGoldilocks.twoToOne: {} gas (whole call)", out.gas_used);

    let s: [F; 12] = std::array::from_fn(|_| edgy(&mut rng));
    let out = evm.view(addr, permuteCall { s: s.map(word) }.abi_encode()).expect("call");
    println!("PoseidonGoldilocks.permute: {} gas (whole call)", out.gas_used);
    let got = permuteCall::abi_decode_returns(&out.output).expect("decode");
    assert_eq!(words_to_f(&got), <F as Poseidon>::poseidon(s).to_vec());

    // Non-canonical inputs revert.
    let bad = hashNoPadCall { input: vec![U256::from(1), U256::from(F::ORDER)] };
    assert!(!evm.view(addr, bad.abi_encode()).expect("call").success);
    let mut l_bad = l.elements.map(word);
    l_bad[3] = U256::MAX;
    let bad = twoToOneCall { l: l_bad, r: r.elements.map(word) };
    assert!(!evm.view(addr, bad.abi_encode()).expect("call").success);
}
