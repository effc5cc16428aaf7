//! Keccak-256 in a plonky2 circuit, one wire per state bit.
//!
//! A round: the column parities `C[x][z]` (320 five-input parities), the θ effects `D[x][z] = C[x−1][z] ⊕ C[x+1][z−1]`
//! (320 XORs), then ρ and π as a renaming of wires, and θ's application fused with χ: one [`BitOp::ThetaChi`] per row
//! of five bits after π (320 per round), each taking the row's bits before θ and the `D` each of them takes; ι flips
//! the bits of lane (0, 0) where the round constant has a one (`1 − x`). Absorbing a block after the first XORs 1,088
//! message bits into the state. See [`crate::gate`] for the constraints.

use plonky2::field::extension::Extendable;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::plonk::circuit_builder::CircuitBuilder;

use crate::gate::{BitGate, BitOp};
use crate::native::{lane, pi_target, RATE_BYTES, RATE_LANES, RC, RHO};

/// The Keccak state: 25 lanes of 64 bit wires, bit `z` of lane `x + 5y` being bit `z` of the little-endian lane.
pub type State = Vec<[Target; 64]>;

/// One bit operation in a [`BitGate`] slot; returns its output wires.
pub fn bit_op<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    op: BitOp,
    ins: &[Target],
) -> Vec<Target> {
    assert_eq!(ins.len(), op.inputs(), "{op:?} takes {} inputs", op.inputs());
    let gate = BitGate::new(op, &b.config);
    let (row, i) = b.find_slot(gate, &[], &[]);
    for (k, &t) in ins.iter().enumerate() {
        b.connect(t, Target::wire(row, gate.wire_in(i, k)));
    }
    (0..op.outputs()).map(|k| Target::wire(row, gate.wire_out(i, k))).collect()
}

/// The parity of `n` bits (one [`BitOp::Parity`]).
pub fn parity<F: RichField + Extendable<D>, const D: usize>(b: &mut CircuitBuilder<F, D>, ins: &[Target]) -> Target {
    bit_op(b, BitOp::Parity(ins.len()), ins)[0]
}

/// `x ⊕ y` for bits.
pub fn xor<F: RichField + Extendable<D>, const D: usize>(b: &mut CircuitBuilder<F, D>, x: Target, y: Target) -> Target {
    parity(b, &[x, y])
}

/// Keccak-f[1600] on a state of bit wires.
pub fn keccak_f<F: RichField + Extendable<D>, const D: usize>(b: &mut CircuitBuilder<F, D>, a: &State) -> State {
    let mut a = a.clone();
    for rc in RC {
        // θ: column parities and their effects
        let c: Vec<[Target; 64]> = (0..5)
            .map(|x| {
                std::array::from_fn(|z| {
                    let col: Vec<Target> = (0..5).map(|y| a[lane(x, y)][z]).collect();
                    parity(b, &col)
                })
            })
            .collect();
        let d: Vec<[Target; 64]> =
            (0..5).map(|x| std::array::from_fn(|z| xor(b, c[(x + 4) % 5][z], c[(x + 1) % 5][(z + 63) % 64]))).collect();
        // ρ and π rename wires (rotate_left by r: bit z comes from bit z − r); each moved bit keeps its D
        let zero = b.zero();
        let mut moved: State = vec![[zero; 64]; 25];
        let mut effect: State = vec![[zero; 64]; 25];
        for x in 0..5 {
            for y in 0..5 {
                let r = RHO[x][y] as usize;
                moved[pi_target(x, y)] = std::array::from_fn(|z| a[lane(x, y)][(z + 64 - r) % 64]);
                effect[pi_target(x, y)] = std::array::from_fn(|z| d[x][(z + 64 - r) % 64]);
            }
        }
        // θ applied and χ, one row of five bits at a time
        for y in 0..5 {
            for z in 0..64 {
                let mut ins: Vec<Target> = (0..5).map(|x| moved[lane(x, y)][z]).collect();
                ins.extend((0..5).map(|x| effect[lane(x, y)][z]));
                for (x, out) in bit_op(b, BitOp::ThetaChi, &ins).into_iter().enumerate() {
                    a[lane(x, y)][z] = out;
                }
            }
        }
        // ι
        for (z, bit) in a[0].iter_mut().enumerate() {
            if (rc >> z) & 1 == 1 {
                *bit = b.not(BoolTarget::new_unsafe(*bit)).target;
            }
        }
    }
    a
}

/// Keccak-256 of a message given as bits (bit `8j + i` = bit `i` of byte `j`; every wire must already be a bit).
/// Returns the digest's 256 bits in the same order. The message length is fixed by the circuit.
pub fn keccak256_bits<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    msg: &[Target],
) -> Vec<Target> {
    assert_eq!(msg.len() % 8, 0, "a Keccak-256 message is whole bytes");
    let len = msg.len() / 8;
    let blocks = len / RATE_BYTES + 1;
    let zero = b.zero();
    let one = b.one();
    // pad10*1: bit 0 of the byte after the message (0x01) and bit 7 of the last byte (0x80); when they are the same
    // byte it reads 0x81.
    let mut padded = msg.to_vec();
    padded.resize(blocks * RATE_BYTES * 8, zero);
    padded[len * 8] = one;
    padded[blocks * RATE_BYTES * 8 - 1] = one;
    let states = absorb(b, &padded);
    digest_bits(&states[states.len() - 1])
}

/// The sponge over already padded bits (whole 1,088-bit blocks): the state after each block, in order.
pub fn absorb<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    padded: &[Target],
) -> Vec<State> {
    assert!(!padded.is_empty() && padded.len().is_multiple_of(RATE_BYTES * 8), "whole rate blocks");
    let zero = b.zero();
    let mut state: State = vec![[zero; 64]; 25];
    let mut out = Vec::with_capacity(padded.len() / (RATE_BYTES * 8));
    for (k, block) in padded.chunks(RATE_BYTES * 8).enumerate() {
        for i in 0..RATE_LANES {
            for z in 0..64 {
                let m = block[64 * i + z];
                // the first block lands on the all-zero state: no XOR needed
                state[i][z] = if k == 0 { m } else { xor(b, state[i][z], m) };
            }
        }
        state = keccak_f(b, &state);
        out.push(state.clone());
    }
    out
}

/// The 256 digest bits of a state (lanes 0..4), in message bit order.
pub fn digest_bits(state: &State) -> Vec<Target> {
    state[..4].iter().flat_map(|l| l.iter().copied()).collect()
}

/// The bits of `value`, which must fit `bytes` bytes, in the message order of its big-endian encoding (the EVM's
/// order for fixed-width integers). `split_le` range-checks the value to `8·bytes` bits.
pub fn be_bytes_bits<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    value: Target,
    bytes: usize,
) -> Vec<Target> {
    let le = b.split_le(value, 8 * bytes);
    (0..bytes).flat_map(|j| (0..8).map(move |i| 8 * (bytes - 1 - j) + i)).map(|k| le[k].target).collect()
}

/// The digest's bits as eight 32-bit limbs (limb `k` = bytes `4k..4k+4` big-endian; see
/// [`crate::native::digest_limbs`]).
pub fn digest_limbs<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    bits: &[Target],
) -> [Target; 8] {
    assert_eq!(bits.len(), 256);
    std::array::from_fn(|k| {
        let le: Vec<BoolTarget> = (0..4)
            .rev()
            .flat_map(|j| (0..8).map(move |i| bits[8 * (4 * k + j) + i]))
            .map(BoolTarget::new_unsafe)
            .collect();
        b.le_sum(le.into_iter())
    })
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::{Field, PrimeField64};
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_data::CircuitConfig;
    use plonky2::plonk::config::{GenericConfig, PoseidonGoldilocksConfig};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::native;

    type C = PoseidonGoldilocksConfig;
    type F = <C as GenericConfig<2>>::F;

    /// Digest limbs of a message of `len` bytes, computed by the circuit, proven and verified.
    fn prove_digest(data: &[u8]) -> (Vec<u64>, usize) {
        let mut b = CircuitBuilder::<F, 2>::new(CircuitConfig::standard_recursion_config());
        let bytes: Vec<Target> = (0..data.len()).map(|_| b.add_virtual_target()).collect();
        let bits: Vec<Target> = bytes.iter().flat_map(|&t| be_bytes_bits(&mut b, t, 1)).collect();
        let digest = keccak256_bits(&mut b, &bits);
        let limbs = digest_limbs(&mut b, &digest);
        b.register_public_inputs(&limbs);
        let gates = b.num_gates();
        let data_c = b.build::<C>();
        let mut pw = PartialWitness::new();
        for (t, &v) in bytes.iter().zip(data) {
            pw.set_target(*t, F::from_canonical_u8(v)).unwrap();
        }
        let proof = data_c.prove(pw).expect("an honest witness proves");
        data_c.verify(proof.clone()).expect("plonky2 verifies it");
        (proof.public_inputs.iter().map(|f| f.to_canonical_u64()).collect(), gates)
    }

    #[test]
    fn circuit_digest_is_keccak256() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for len in [0usize, 135, 137] {
            let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let (limbs, gates) = prove_digest(&data);
            let want = native::digest_limbs(&native::keccak256(&data));
            assert_eq!(limbs, want.map(u64::from).to_vec(), "length {len}");
            eprintln!("keccak256 of {len} bytes: {gates} gates");
        }
    }
}
