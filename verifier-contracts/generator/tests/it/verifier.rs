//! Acceptance of a real wrap proof, refusal of every mutation, and agreement of the contract's
//! intermediate values with plonky2.

use plonky2::field::extension::FieldExtension;
use plonky2::field::types::{Field, Field64, PrimeField64};
use zkr_circuits::config::F;
use zkr_evm::U256;
use zkr_generator::encoding::{decode_proof, EncodingError, ProofLayout, ELEM_BYTES};
use zkr_generator::generator::{ChallengeLayout, DebugStop};

use crate::fixture::{artifacts, call, calldata, debug_verifier, fixture, proof_pis, verifier};
use crate::runner::Runner;

const P: u64 = <F as Field64>::ORDER;

#[test]
fn accepts_the_real_proof_and_reports_gas() {
    let f = fixture();
    let (mut evm, report) = Runner::deploy(artifacts());
    let mut deploy_gas = 0;
    for (name, size, gas) in &report.contracts {
        eprintln!("deployed {name}: {size} bytes of runtime code, {gas} gas");
        deploy_gas += gas;
    }
    eprintln!("deployment: {} contracts, {deploy_gas} gas in total", report.contracts.len());
    let data = calldata(&f.encoded, proof_pis());
    let (ok, out) = call(&mut evm, data.clone());
    assert_eq!(ok, Some(true), "the verifier must accept a valid proof");
    let zero = data.iter().filter(|&&b| b == 0).count();
    eprintln!(
        "verifyProof: {} gas in total (incl. intrinsic), proof {} bytes, calldata {} bytes ({} zero)",
        out.gas_used,
        f.encoded.len(),
        data.len(),
        zero
    );
    assert!(out.gas_used < 1 << 24, "one verification must fit in a transaction (2^24 gas)");
}

/// Where verifyProof's gas goes, by opcode and by call depth (part contracts run at depth 1).
#[test]
fn gas_profile_accounts_for_the_verification() {
    let f = fixture();
    let mut evm = verifier();
    let data = calldata(&f.encoded, proof_pis());
    let prof = evm.profile(data);
    assert!(prof.outcome.success);
    let exec: u64 = prof.by_depth.iter().sum();
    assert!(exec < prof.outcome.gas_used, "execution gas is part of the transaction's");
    let mut ops = prof.by_opcode.clone();
    ops.sort_by_key(|o| std::cmp::Reverse(o.2));
    eprintln!("verifyProof {} gas; execution {exec}; by depth {:?}", prof.outcome.gas_used, prof.by_depth);
    for (k, (addr, gas)) in prof.by_contract.iter().enumerate() {
        eprintln!("  contract {k} ({addr}): {gas} gas");
    }
    for (op, n, gas) in ops.iter().take(25) {
        eprintln!("  op {op:#04x}: {n} executions, {gas} gas");
    }
    // the same up to the end of the transcript and of the vanishing check (FRI is the rest)
    for stop in [DebugStop::Challenges, DebugStop::Vanishing] {
        let p = debug_verifier(stop).profile(calldata(&f.encoded, proof_pis()));
        assert!(p.outcome.success);
        eprintln!("up to the end of {stop:?}: execution by depth {:?}", p.by_depth);
        if stop == DebugStop::Vanishing {
            // what FRI alone executes, by opcode
            let mut fri: Vec<(u8, i64, i64)> = prof
                .by_opcode
                .iter()
                .map(|&(op, n, g)| {
                    let (n0, g0) =
                        p.by_opcode.iter().find(|o| o.0 == op).map(|o| (o.1 as i64, o.2 as i64)).unwrap_or((0, 0));
                    (op, n as i64 - n0, g as i64 - g0)
                })
                .collect();
            fri.sort_by_key(|o| std::cmp::Reverse(o.2));
            for (op, n, gas) in fri.iter().take(20) {
                eprintln!("  FRI op {op:#04x}: {n} executions, {gas} gas");
            }
        }
    }
}

#[test]
fn encoding_round_trips_and_is_canonical() {
    let f = fixture();
    let common = &f.wrap.data.common;
    let layout = ProofLayout::new(common).unwrap();
    assert_eq!(f.encoded.len(), layout.total_len);
    let decoded = decode_proof(&f.encoded, &f.proof.public_inputs, common).expect("decodes");
    assert_eq!(decoded, f.proof);
    let mut short = f.encoded.clone();
    short.pop();
    assert!(matches!(decode_proof(&short, &f.proof.public_inputs, common), Err(EncodingError::Length { .. })));
    let mut bad = f.encoded.clone();
    let at = layout.pow_witness;
    bad[at..at + ELEM_BYTES].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        decode_proof(&bad, &f.proof.public_inputs, common),
        Err(EncodingError::NonCanonical { offset, .. }) if offset == at
    ));
}

fn words(out: &[u8]) -> Vec<u64> {
    out.chunks(32)
        .map(|w| {
            assert!(w[..24].iter().all(|&b| b == 0), "a challenge word exceeds 64 bits");
            u64::from_be_bytes(w[24..].try_into().unwrap())
        })
        .collect()
}

#[test]
fn contract_challenges_equal_plonky2s() {
    let f = fixture();
    let common = &f.wrap.data.common;
    let layout = ProofLayout::new(common).unwrap();
    let pi_hash = f.proof.get_public_inputs_hash();
    let ch = f.proof.get_challenges(pi_hash, &f.wrap.data.verifier_only.circuit_digest, common).expect("challenges");
    let mut evm = debug_verifier(DebugStop::Challenges);
    let (_, out) = call(&mut evm, calldata(&f.encoded, proof_pis()));
    assert!(out.success);
    eprintln!("gas up to the end of the transcript (incl. intrinsic): {}", out.gas_used);
    let cl = ChallengeLayout::new(layout.num_challenges, layout.arity_bits.len(), layout.num_queries);
    assert_eq!(out.output.len(), 32 * cl.words, "the debug verifier returns the challenge area");
    let w = words(&out.output);
    let c = |v: F| v.to_canonical_u64();
    let e = |v: <F as plonky2::field::extension::Extendable<2>>::Extension| -> Vec<u64> {
        FieldExtension::<2>::to_basefield_array(&v).iter().map(|&x| c(x)).collect()
    };
    assert_eq!(&w[cl.pi_hash..cl.pi_hash + 4], pi_hash.elements.map(c).as_slice(), "public inputs hash");
    assert_eq!(
        &w[cl.betas..cl.betas + layout.num_challenges],
        ch.plonk_betas.iter().map(|&x| c(x)).collect::<Vec<_>>()
    );
    assert_eq!(
        &w[cl.gammas..cl.gammas + layout.num_challenges],
        ch.plonk_gammas.iter().map(|&x| c(x)).collect::<Vec<_>>()
    );
    assert_eq!(
        &w[cl.alphas..cl.alphas + layout.num_challenges],
        ch.plonk_alphas.iter().map(|&x| c(x)).collect::<Vec<_>>()
    );
    assert_eq!(&w[cl.zeta..cl.zeta + 2], e(ch.plonk_zeta).as_slice(), "zeta");
    let fc = &ch.fri_challenges;
    assert_eq!(&w[cl.fri_alpha..cl.fri_alpha + 2], e(fc.fri_alpha).as_slice(), "FRI alpha");
    for (s, &b) in fc.fri_betas.iter().enumerate() {
        assert_eq!(&w[cl.fri_betas + 2 * s..cl.fri_betas + 2 * s + 2], e(b).as_slice(), "FRI beta {s}");
    }
    assert_eq!(w[cl.pow_response], c(fc.fri_pow_response), "PoW response");
    let idx: Vec<u64> = fc.fri_query_indices.iter().map(|&i| i as u64).collect();
    assert_eq!(&w[cl.query_indices..cl.query_indices + layout.num_queries], idx.as_slice(), "query indices");

    // the sponge's exact path (rejection sampling word by word, which an honest transcript almost never needs)
    // derives the same challenges
    let mut slow = debug_verifier(DebugStop::ChallengesSlowSponge);
    let (_, slow_out) = call(&mut slow, calldata(&f.encoded, proof_pis()));
    assert!(slow_out.success);
    assert_eq!(slow_out.output, out.output, "the slow sponge path must derive the same challenges");

    // a non-canonical opening is refused while decoding, before any challenge is derived
    let mut bad = f.encoded.clone();
    bad[layout.openings..layout.openings + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let (_, out) = call(&mut evm, calldata(&bad, proof_pis()));
    assert_eq!(out.output, vec![0u8; 32], "a non-canonical opening must be refused");
}

#[test]
fn vanishing_check_passes_for_the_real_proof() {
    let f = fixture();
    let layout = ProofLayout::new(&f.wrap.data.common).unwrap();
    let cl = ChallengeLayout::new(layout.num_challenges, layout.arity_bits.len(), layout.num_queries);
    let mut evm = debug_verifier(DebugStop::Vanishing);
    let (_, out) = call(&mut evm, calldata(&f.encoded, proof_pis()));
    assert_eq!(out.output.len(), 32 * cl.words, "the vanishing check must pass (got {:?})", &out.output);
    eprintln!("gas up to the end of the vanishing check (incl. intrinsic): {}", out.gas_used);
}

/// Positions to mutate: every k-th byte plus each section boundary and its neighbours.
fn positions(len: usize, layout: &ProofLayout, k: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..len).step_by(k).collect();
    for (_, b) in layout.boundaries() {
        v.extend([b.saturating_sub(1), b, b + 1]);
    }
    v.push(len - 1);
    v.retain(|&p| p < len);
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn every_flipped_byte_is_refused() {
    let f = fixture();
    let layout = ProofLayout::new(&f.wrap.data.common).unwrap();
    let mut evm = verifier();
    let pis = proof_pis();
    let pos = positions(f.encoded.len(), &layout, 97);
    let mut accepted = vec![];
    for (n, &p) in pos.iter().enumerate() {
        let mut bad = f.encoded.clone();
        bad[p] ^= if n % 2 == 0 { 0x01 } else { 0x80 };
        let (ok, _) = call(&mut evm, calldata(&bad, pis));
        if ok == Some(true) {
            accepted.push(p);
        }
    }
    assert!(accepted.is_empty(), "accepted proofs with a flipped byte at {accepted:?} (of {} positions)", pos.len());
    eprintln!("{} mutated proofs refused", pos.len());
}

#[test]
fn wrong_public_inputs_and_lengths_are_refused() {
    let f = fixture();
    let mut evm = verifier();
    let pis = proof_pis();
    for i in 0..24 {
        let mut bad = pis;
        let v: u64 = bad[i].to();
        bad[i] = U256::from((v + 1) % P);
        assert_ne!(call(&mut evm, calldata(&f.encoded, bad)).0, Some(true), "public input {i} changed");
    }
    // the same field element, not canonically encoded
    let mut bad = pis;
    bad[0] += U256::from(P);
    assert_ne!(call(&mut evm, calldata(&f.encoded, bad)).0, Some(true), "public input >= p");
    let mut bad = pis;
    bad[19] = U256::MAX;
    assert_ne!(call(&mut evm, calldata(&f.encoded, bad)).0, Some(true), "public input 2^256 - 1");
    // truncated / extended proofs
    let short = &f.encoded[..f.encoded.len() - 1];
    assert_ne!(call(&mut evm, calldata(short, pis)).0, Some(true));
    let mut long = f.encoded.clone();
    long.push(0);
    assert_ne!(call(&mut evm, calldata(&long, pis)).0, Some(true));
    let _ = F::ZERO;
}
