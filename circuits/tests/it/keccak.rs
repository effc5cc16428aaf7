//! The Keccak gadget's constraints refuse wrong bits on their own: each operation of the bit gate with a flipped
//! output (every input combination of the parities, a spread of the θχ row's), and one flipped θχ output inside a
//! whole Keccak-256, all forged past witness generation and refused by plonky2's verifier.

use plonky2::field::types::Field;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CircuitConfig;
use zkr_circuits::config::{C, D, F};
use zkr_keccak::gadget::{be_bytes_bits, bit_op, digest_limbs, keccak256_bits};
use zkr_keccak::gate::BitOp;
use zkr_keccak::native;

use crate::common::verifier_accepts;

#[test]
fn every_bit_operation_refuses_a_wrong_output() {
    for op in [BitOp::Parity(2), BitOp::Parity(3), BitOp::Parity(5), BitOp::ThetaChi] {
        let n = op.inputs();
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let ins: Vec<BoolTarget> = (0..n).map(|_| b.add_virtual_bool_target_safe()).collect();
        let raw: Vec<Target> = ins.iter().map(|t| t.target).collect();
        let outs = bit_op(&mut b, op, &raw);
        assert_eq!(outs.len(), op.outputs());
        b.register_public_inputs(&outs);
        let data = b.build::<C>();
        // every combination for the parities; a spread of them for θχ (its algebra is checked exhaustively in the
        // gate's unit test)
        let combos: Vec<u32> =
            if n <= 5 { (0..(1u32 << n)).collect() } else { (0..8).map(|k| k * 131 % 1024).collect() };
        for combo in combos {
            let bits: Vec<bool> = (0..n).map(|k| (combo >> k) & 1 == 1).collect();
            let right = op.apply(&bits);
            let witness = |forced: &[(usize, F)]| {
                let mut pw = PartialWitness::new();
                for (t, &v) in ins.iter().zip(&bits) {
                    pw.set_bool_target(*t, v).unwrap();
                }
                for &(k, v) in forced {
                    // written before the generator runs: the generator's value conflicts and is dropped
                    pw.set_target(outs[k], v).unwrap();
                }
                pw
            };
            assert!(verifier_accepts(&data, witness(&[])), "{op:?} on {bits:?}: the honest proof verifies");
            let honest: Vec<(usize, F)> = right.iter().map(|&v| F::from_bool(v)).enumerate().collect();
            assert!(verifier_accepts(&data, witness(&honest)), "{op:?}: the forge path itself is sound");
            for (k, &v) in right.iter().enumerate() {
                let flipped = [(k, F::from_bool(!v))];
                assert!(
                    !verifier_accepts(&data, witness(&flipped)),
                    "{op:?} on {bits:?}: output {k} flipped is refused"
                );
            }
        }
        // an output that is not a bit at all
        let mut pw = PartialWitness::new();
        for t in &ins {
            pw.set_bool_target(*t, false).unwrap();
        }
        pw.set_target(outs[0], F::TWO).unwrap();
        assert!(!verifier_accepts(&data, pw), "{op:?}: an output of 2 is refused");
    }
}

#[test]
fn a_keccak256_with_one_flipped_theta_chi_output_is_refused() {
    let msg = b"zkr pubdata";
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let bytes: Vec<Target> = (0..msg.len()).map(|_| b.add_virtual_target()).collect();
    let bits: Vec<Target> = bytes.iter().flat_map(|&t| be_bytes_bits(&mut b, t, 1)).collect();
    let digest = keccak256_bits(&mut b, &bits);
    let limbs = digest_limbs(&mut b, &digest);
    b.register_public_inputs(&limbs);
    let data = b.build::<C>();
    let witness = |flip: bool| {
        let mut pw = PartialWitness::new();
        for (t, &v) in bytes.iter().zip(msg) {
            pw.set_target(*t, F::from_canonical_u8(v)).unwrap();
        }
        if flip {
            // digest bit 0 is lane (0, 0) bit 0 after the last round: an output of a θχ operation (the last round
            // constant's bit 0 is 0, so ι leaves it alone). Everything after it (the limb sums, the public inputs)
            // follows the flip.
            let honest = native::keccak256(msg)[0] & 1 == 1;
            pw.set_target(digest[0], F::from_bool(!honest)).unwrap();
        }
        pw
    };
    assert_eq!(native::RC[native::ROUNDS - 1] & 1, 0);
    assert!(verifier_accepts(&data, witness(false)), "the honest digest verifies through the forge path");
    assert!(!verifier_accepts(&data, witness(true)), "a digest with one flipped bit is refused");
}

/// The concatenation's stream is the prover's: a stream that differs from the parts in one byte, or a block count that
/// does not match the length, is refused by the verifier (the Keccak over the forged stream is consistent).
#[test]
fn a_concatenation_whose_stream_or_block_count_is_forged_is_refused() {
    use zkr_keccak::concat::{keccak256_concat, VarBytes};
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let parts: Vec<VarBytes> =
        (0..3).map(|_| VarBytes { bytes: b.add_virtual_targets(8), len: b.add_virtual_target() }).collect();
    for p in &parts {
        for &t in &p.bytes {
            b.range_check(t, 8);
        }
    }
    let out = keccak256_concat(&mut b, &parts, 24);
    let limbs = digest_limbs(&mut b, &out.digest);
    b.register_public_inputs(&limbs);
    let data = b.build::<C>();
    let lens = [8usize, 3, 5];
    let witness = |forge: &dyn Fn(&mut PartialWitness<F>)| {
        let mut pw = PartialWitness::new();
        forge(&mut pw);
        for (i, (p, &len)) in parts.iter().zip(&lens).enumerate() {
            pw.set_target(p.len, F::from_canonical_usize(len)).unwrap();
            for (k, &t) in p.bytes.iter().enumerate() {
                let v = if k < len { (17 * i + 5 * k + 1) as u64 } else { 0 };
                pw.set_target(t, F::from_canonical_u64(v)).unwrap();
            }
        }
        pw
    };
    assert!(verifier_accepts(&data, witness(&|_| {})), "the honest concatenation verifies through the forge path");
    // the first byte is 1 (part 0, k = 0): claim 2 instead
    assert!(!verifier_accepts(&data, witness(&|pw| pw.set_target(out.stream[0], F::TWO).unwrap())));
    // the padding one byte early: the digest of the message without its last byte
    let early = |pw: &mut PartialWitness<F>| {
        pw.set_target(out.stream[15], F::ONE).unwrap();
        pw.set_target(out.stream[16], F::ZERO).unwrap();
    };
    assert!(!verifier_accepts(&data, witness(&early)));
    // 16 bytes fill one block; claim two
    assert!(!verifier_accepts(&data, witness(&|pw| pw.set_target(out.blocks, F::TWO).unwrap())));
}

/// A deposit key element published as the bits of `x + p` (which fit 64 bits when `x < 2^32 − 1`) would read as
/// another key off-chain; the canonical decomposition refuses it at the verifier.
#[test]
fn a_key_element_published_non_canonically_is_refused() {
    use zkr_circuits::pubdata::circuit::canonical_bits;
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let x = b.add_virtual_target();
    let bits = canonical_bits(&mut b, x);
    // the number the bits spell, as an off-chain reader would take the published bytes (mod p here)
    let lo = b.le_sum(bits[..32].iter());
    let hi = b.le_sum(bits[32..].iter());
    let read = b.mul_const_add(F::from_canonical_u64(1 << 32), hi, lo);
    b.register_public_input(read);
    let data = b.build::<C>();
    let value = 5u64;
    let witness = |as_bits: u64| {
        let mut pw = PartialWitness::new();
        // written before the split's generator runs: its own bits conflict and are dropped
        for (i, t) in bits.iter().enumerate() {
            pw.set_bool_target(*t, (as_bits >> i) & 1 == 1).unwrap();
        }
        pw.set_target(x, F::from_canonical_u64(value)).unwrap();
        pw
    };
    assert!(verifier_accepts(&data, witness(value)), "the canonical bits verify through the forge path");
    let wrapped = value + 0xFFFF_FFFF_0000_0001; // value + p, still below 2^64
    assert!(!verifier_accepts(&data, witness(wrapped)), "the bits of x + p are refused");
}
