//! In-circuit verification of Schnorr signatures over EcGFp5 with a Poseidon
//! challenge (see `crate::schnorr` for the scheme).

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;

use super::curve::{generator_w, generator_xu, AffinePointTarget, CircuitBuilderCurve, PointTarget};
use super::gate::double_scalar_mul_with_gate;
use super::gfp5::{CircuitBuilderGfp5, Gfp5Target};
use crate::scalar::{Scalar, N_LIMBS};
use crate::schnorr::Signature;

type F = GoldilocksField;
const D: usize = 2;

/// Number of bits of `s` in the circuit (n < 2^319).
pub const S_BITS: usize = Scalar::NUM_BITS;

/// Whether the circuit also enforces `s < n` (otherwise only `s < 2^319`).
/// Without it `(e, s + n)` would verify too for the (rare) `s < 2^319 - n`.
pub const ENFORCE_S_LT_N: bool = true;

/// A signature in the circuit: the challenge `e` (four field elements) and the
/// little-endian bits of `s`. The bits are created unconstrained: the
/// verification gadget boolean-constrains every one of them (inside the
/// `CurveStepGate` rows, or explicitly in the generic variant).
#[derive(Clone, Debug)]
pub struct SignatureTarget {
    pub e: [Target; 4],
    pub s_bits: Vec<BoolTarget>,
}

pub fn add_virtual_signature_target(builder: &mut CircuitBuilder<F, D>) -> SignatureTarget {
    SignatureTarget {
        e: builder.add_virtual_target_arr(),
        s_bits: (0..S_BITS).map(|_| builder.add_virtual_bool_target_unsafe()).collect(),
    }
}

pub fn set_signature_target(pw: &mut PartialWitness<F>, t: &SignatureTarget, sig: &Signature) -> anyhow::Result<()> {
    pw.set_target_arr(&t.e, &sig.e)?;
    let bits = sig.s.to_bits_le();
    for (i, b) in t.s_bits.iter().enumerate() {
        pw.set_bool_target(*b, bits.get(i).copied().unwrap_or(false))?;
    }
    Ok(())
}

/// Little-endian bits of `E = Σ e_i 2^(64 i)`, each 64-bit chunk canonical
/// (`< p`): the high half all ones forces the low half to be zero.
fn challenge_bits(builder: &mut CircuitBuilder<F, D>, e: &[Target; 4]) -> Vec<BoolTarget> {
    let mut out = Vec::with_capacity(256);
    for &ei in e {
        let bits = builder.split_le(ei, 64);
        let mut all_ones = bits[32];
        for b in &bits[33..64] {
            all_ones = builder.and(all_ones, *b);
        }
        let lo = builder.le_sum(bits[..32].iter());
        let t = builder.mul(all_ones.target, lo);
        builder.assert_zero(t);
        out.extend(bits);
    }
    out
}

/// `s < n` as a boolean, from little-endian bits (`bits.len() <= 320`).
fn bits_lt_n(builder: &mut CircuitBuilder<F, D>, bits: &[BoolTarget]) -> BoolTarget {
    // c = [s mod 2^i < n mod 2^i], updated from the least significant bit:
    // n_i = 0: c' = c AND NOT s_i = c - c s_i
    // n_i = 1: c' = c OR NOT s_i = 1 - s_i + s_i c
    let mut c = builder.zero();
    for (i, b) in bits.iter().enumerate() {
        let ni = (N_LIMBS[i / 64] >> (i % 64)) & 1 == 1;
        c = if ni {
            let not_s = builder.not(*b);
            builder.mul_add(b.target, c, not_s.target)
        } else {
            builder.arithmetic(-F::ONE, F::ONE, c, b.target, c)
        };
    }
    // Remaining bits of n above bits.len() are 1 (n >= 2^318): s < n.
    BoolTarget::new_unsafe(c)
}

/// When `enabled` is true the circuit is satisfiable only if `sig` is a valid
/// signature of `msg` under `pk` (w encoding, must be non-neutral and
/// decodable). When `enabled` is false, any values of pk/msg/sig keep it
/// satisfiable: the key is replaced by the generator's encoding and the final
/// checks are multiplied by `enabled`.
pub fn verify_schnorr_conditional(
    builder: &mut CircuitBuilder<F, D>,
    enabled: BoolTarget,
    pk: [Target; 5],
    msg: HashOutTarget,
    sig: &SignatureTarget,
) {
    verify_schnorr_conditional_impl(builder, enabled, pk, msg, sig, true)
}

/// Same statement as [`verify_schnorr_conditional`], with the scalar
/// multiplication built from generic `ArithmeticGate`s only (≈ 9.7k rows;
/// kept as a reference implementation and for tests).
pub fn verify_schnorr_conditional_generic(
    builder: &mut CircuitBuilder<F, D>,
    enabled: BoolTarget,
    pk: [Target; 5],
    msg: HashOutTarget,
    sig: &SignatureTarget,
) {
    verify_schnorr_conditional_impl(builder, enabled, pk, msg, sig, false)
}

fn verify_schnorr_conditional_impl(
    builder: &mut CircuitBuilder<F, D>,
    enabled: BoolTarget,
    pk: [Target; 5],
    msg: HashOutTarget,
    sig: &SignatureTarget,
    custom_gate: bool,
) {
    assert!(sig.s_bits.len() <= 320);
    let pk = Gfp5Target(pk);
    let dummy = builder.gfp5_constant(generator_w());
    let pk_sel = builder.gfp5_select(enabled, pk, dummy);
    let e_bits = challenge_bits(builder, &sig.e);
    let r = if custom_gate {
        let q = builder.curve_decode_affine(pk_sel);
        let (gx, gu) = generator_xu();
        let g = AffinePointTarget { x: builder.gfp5_constant(gx), u: builder.gfp5_constant(gu) };
        let qp = PointTarget { x: q.x, z: builder.gfp5_one(), u: q.u, t: builder.gfp5_one() };
        let gq = builder.curve_add_affine(qp, g);
        let gq = builder.curve_to_affine(gq);
        double_scalar_mul_with_gate(builder, &sig.s_bits, q, gq, &e_bits)
    } else {
        for b in &sig.s_bits {
            builder.assert_bool(*b);
        }
        let q = builder.curve_decode(pk_sel);
        builder.curve_double_scalar_mul_generic(&sig.s_bits, q, &e_bits)
    };
    let r_enc = builder.curve_encode(r);
    let mut inputs = Vec::with_capacity(14);
    inputs.extend(r_enc.0);
    inputs.extend(pk_sel.0);
    inputs.extend(msg.elements);
    let h = builder.hash_n_to_hash_no_pad::<PoseidonHash>(inputs);
    for i in 0..4 {
        let d = builder.sub(h.elements[i], sig.e[i]);
        let t = builder.mul(enabled.target, d);
        builder.assert_zero(t);
    }
    if ENFORCE_S_LT_N {
        let lt = bits_lt_n(builder, &sig.s_bits);
        // enabled * (1 - lt) == 0
        let t = builder.arithmetic(-F::ONE, F::ONE, enabled.target, lt.target, enabled.target);
        builder.assert_zero(t);
    }
}
