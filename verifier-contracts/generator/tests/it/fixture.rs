//! One wrap proof and one deployed verifier per test binary.

use std::sync::OnceLock;
use std::time::Instant;

use alloy_sol_types::{sol, SolCall};
use plonky2::field::types::PrimeField64;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkr_circuits::aggregate::AggregationTree;
use zkr_circuits::demo;
use zkr_circuits::wrap::{RootProof, WrapCircuit, WrapProof};
use zkr_evm::{compile_solidity, keccak256, Artifact, SolcSettings, U256};
use zkr_generator::generator::{generate_verifier_debug, DebugStop};
use zkr_generator::{encode_proof, generate_verifier, part_contract_name, pin_parts};

use crate::runner::{Outcome, Runner};

sol! {
    function verifyProof(bytes proof, uint256[24] publicInputs) external view returns (bool);
}

pub const CAPACITY: usize = 2;
pub const HEIGHT: u32 = 1;

pub struct Fixture {
    pub wrap: WrapCircuit,
    /// The epoch (root) proof that `proof` wraps.
    pub epoch: RootProof,
    pub proof: WrapProof,
    pub encoded: Vec<u8>,
    pub source: String,
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let start = Instant::now();
        let tree = AggregationTree::build(CAPACITY, HEIGHT);
        let keys = demo::keys(11, 3);
        let mut state = demo::genesis(&keys);
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let proofs: Vec<_> = (0..2)
            .map(|_| {
                let b = demo::random_batch(&mut rng, &keys, &mut state, CAPACITY, 2, demo::Mix::All);
                tree.batch.prove(&b).expect("valid batch proves")
            })
            .collect();
        let epoch = tree.fold(proofs).expect("two chained batches fold");
        let wrap = WrapCircuit::for_tree(&tree).expect("wrap circuit builds");
        let t = Instant::now();
        let proof = wrap.prove(&epoch).expect("the epoch proof wraps");
        eprintln!(
            "wrap proof: {:.1} s (fixture total {:.1} s)",
            t.elapsed().as_secs_f64(),
            start.elapsed().as_secs_f64()
        );
        wrap.verify(&proof).expect("plonky2 accepts the wrap proof");
        let encoded = encode_proof(&proof);
        let source = generate_verifier(&wrap.data.common, &wrap.data.verifier_only).expect("verifier generates");
        Fixture { wrap, epoch, proof, encoded, source }
    })
}

/// Compiles the verifier and its parts, the verifier pinned to its parts' code (compiled once to learn it).
pub fn compile(source: &str) -> Vec<Artifact> {
    let settings = SolcSettings::verifier();
    let t = Instant::now();
    let solc = |src: &str| {
        compile_solidity(&[("ZkrVerifier.sol".to_string(), src.to_string())], &settings).expect("verifier compiles")
    };
    let first = solc(source);
    let mut hashes = Vec::new();
    for k in 0.. {
        let Some(p) = first.iter().find(|a| a.name == part_contract_name(k)) else { break };
        hashes.extend_from_slice(keccak256(&p.runtime_code).as_slice());
    }
    let pinned = pin_parts(source, keccak256(&hashes).0).expect("an unpinned generated verifier");
    let artifacts = solc(&pinned);
    let sizes: Vec<String> = artifacts.iter().map(|a| format!("{} {} B", a.name, a.runtime_code.len())).collect();
    eprintln!("solc: {:.1} s, runtime code: {}", t.elapsed().as_secs_f64(), sizes.join(", "));
    artifacts
}

pub fn deploy(source: &str) -> Runner {
    Runner::deploy(&compile(source)).0
}

/// The verifier's artifacts, compiled once per test binary (solc takes a while on a contract this size).
pub fn artifacts() -> &'static [Artifact] {
    static ARTS: OnceLock<Vec<Artifact>> = OnceLock::new();
    ARTS.get_or_init(|| compile(&fixture().source))
}

/// A fresh chain with the verifier deployed.
pub fn verifier() -> Runner {
    Runner::deploy(artifacts()).0
}

pub fn debug_verifier(stop: DebugStop) -> Runner {
    let f = fixture();
    let src = generate_verifier_debug(&f.wrap.data.common, &f.wrap.data.verifier_only, stop).expect("generates");
    deploy(&src)
}

pub fn pis_words(pis: &[u64]) -> [U256; 24] {
    std::array::from_fn(|i| U256::from(pis[i]))
}

pub fn proof_pis() -> [U256; 24] {
    let v: Vec<u64> = fixture().proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect();
    pis_words(&v)
}

pub fn calldata(proof: &[u8], pis: [U256; 24]) -> Vec<u8> {
    verifyProofCall { proof: proof.to_vec().into(), publicInputs: pis }.abi_encode()
}

/// Some(result) if the call returned a bool, None if it reverted.
pub fn call(evm: &mut Runner, data: Vec<u8>) -> (Option<bool>, Outcome) {
    let out = evm.view(data);
    let ok = out.success.then(|| verifyProofCall::abi_decode_returns(&out.output).ok()).flatten();
    (ok, out)
}
