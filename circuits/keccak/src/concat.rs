//! Keccak-256 of a concatenation of variable-length byte strings, as the EVM hashes packed calldata.
//!
//! The circuit is static, so the concatenation cannot be laid out by wiring: the prover supplies the padded stream
//! (`budget` bytes at most, then Keccak's padding, then zeros up to the last possible block), and the circuit checks it
//! against the parts with a random linear combination. With `r` a challenge in the extension field, derived by Poseidon
//! from the stream and the parts (so the prover commits to both before `r` exists),
//! `Σ_k stream[k]·r^k = Σ_i r^(o_i)·Σ_t part_i[t]·r^t + r^L·0x01 + r^(136·nb − 1)·0x80`, where `o_i` is the sum of the
//! lengths before part `i`, `L` the total length and `nb` the number of blocks the message fills (`L = 136·(nb − 1) + q`,
//! `0 ≤ q < 136`). Two different byte strings of `N` bytes agree at a random point with probability at most `N / |F²|`
//! (about 2^−114 here). The sponge runs over every possible block, and the digest is the state after block `nb`.
//!
//! Preconditions the caller keeps: every part byte is a byte (range-checked), `len ≤ bytes.len()`, and a part's bytes
//! from `len` on are zero (so parts never overlap in the combination).

use plonky2::field::extension::Extendable;
use plonky2::hash::hash_types::RichField;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use crate::gadget::{absorb, digest_bits};
use crate::native::RATE_BYTES;

/// A byte string of variable length: the first `len` of `bytes` count, the rest are zero.
#[derive(Clone, Debug)]
pub struct VarBytes {
    pub bytes: Vec<Target>,
    pub len: Target,
}

/// What [`keccak256_concat`] adds.
#[derive(Clone, Debug)]
pub struct ConcatTargets {
    /// The digest's 256 bits (see [`crate::gadget::digest_limbs`]).
    pub digest: Vec<Target>,
    /// The total length `L` in bytes.
    pub len: Target,
    /// The padded stream the prover supplied (filled by the witness generator).
    pub stream: Vec<Target>,
    /// The number of blocks the padded message fills.
    pub blocks: Target,
}

fn bits_for(v: usize) -> usize {
    (usize::BITS - v.leading_zeros()).max(1) as usize
}

/// `base^exponent` for an exponent of at most `nbits` bits (range-checked by the split).
fn exp_ext<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    base: ExtensionTarget<D>,
    exponent: Target,
    nbits: usize,
) -> ExtensionTarget<D> {
    let bits = b.split_le(exponent, nbits);
    let mut acc = b.one_extension();
    for bit in bits.into_iter().rev() {
        acc = b.mul_extension(acc, acc);
        let m = b.mul_extension(acc, base);
        acc = b.select_ext(bit, m, acc);
    }
    acc
}

/// Bytes packed seven to a field element (injective for bytes: 7 × 8 = 56 bits < 64).
fn pack7<F: RichField + Extendable<D>, const D: usize>(b: &mut CircuitBuilder<F, D>, bytes: &[Target]) -> Vec<Target> {
    bytes
        .chunks(7)
        .map(|c| {
            let mut acc = b.zero();
            for &x in c.iter().rev() {
                acc = b.mul_const_add(F::from_canonical_u64(256), acc, x);
            }
            acc
        })
        .collect()
}

/// `Σ_k xs[k]·r^k` (Horner).
fn rlc<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    xs: &[Target],
    r: ExtensionTarget<D>,
) -> ExtensionTarget<D> {
    let mut acc = b.zero_extension();
    for &x in xs.iter().rev() {
        let xe = b.convert_to_ext(x);
        acc = b.mul_add_extension(acc, r, xe);
    }
    acc
}

/// Keccak-256 of `parts` concatenated, at most `budget` bytes in all (see the module documentation).
pub fn keccak256_concat<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    parts: &[VarBytes],
    budget: usize,
) -> ConcatTargets {
    let max_blocks = budget / RATE_BYTES + 1;
    let n = max_blocks * RATE_BYTES;
    let zero = b.zero();
    let total = parts.iter().fold(zero, |acc, p| b.add(acc, p.len));
    let budget_t = b.constant(F::from_canonical_usize(budget));
    let slack = b.sub(budget_t, total);
    b.range_check(slack, bits_for(budget));

    let stream = b.add_virtual_targets(n);
    let blocks = b.add_virtual_target();
    let q = b.add_virtual_target();
    b.add_simple_generator(ConcatGenerator { parts: parts.to_vec(), stream: stream.clone(), blocks, q, budget });

    // L = 136·(nb − 1) + q with 0 ≤ q < 136 and 0 ≤ nb − 1 < max_blocks
    b.range_check(q, 8);
    let c135 = b.constant(F::from_canonical_usize(RATE_BYTES - 1));
    let q_room = b.sub(c135, q);
    b.range_check(q_room, 8);
    let nb_m1 = b.add_const(blocks, F::NEG_ONE);
    let nb_bits = bits_for(max_blocks);
    b.range_check(nb_m1, nb_bits);
    let top = b.constant(F::from_canonical_usize(max_blocks - 1));
    let nb_room = b.sub(top, nb_m1);
    b.range_check(nb_room, nb_bits);
    let recomposed = b.mul_const_add(F::from_canonical_usize(RATE_BYTES), nb_m1, q);
    b.connect(recomposed, total);

    // the stream's bytes as message bits (split_le range-checks each to a byte)
    let bits: Vec<Target> = stream.iter().flat_map(|&t| b.split_le(t, 8)).map(|x| x.target).collect();

    // the challenge, after the stream and the parts are fixed
    let mut inputs = pack7(b, &stream);
    for p in parts {
        inputs.extend(pack7(b, &p.bytes));
        inputs.push(p.len);
    }
    let h = b.hash_n_to_hash_no_pad::<PoseidonHash>(inputs);
    let r = ExtensionTarget(std::array::from_fn(|i| h.elements[i]));

    let lhs = rlc(b, &stream, r);
    let mut rhs = b.zero_extension();
    let mut pow = b.one_extension(); // r^(offset so far)
    for p in parts {
        let c = rlc(b, &p.bytes, r);
        rhs = b.mul_add_extension(pow, c, rhs);
        let step = exp_ext(b, r, p.len, bits_for(p.bytes.len()));
        pow = b.mul_extension(pow, step);
    }
    // 0x01 right after the message, 0x80 in the last byte of block nb (0x81 when they coincide)
    rhs = b.add_extension(rhs, pow);
    let last = b.mul_const_add(F::from_canonical_usize(RATE_BYTES), nb_m1, c135);
    let r_last = exp_ext(b, r, last, bits_for(n - 1));
    let c128 = b.constant(F::from_canonical_u64(0x80));
    rhs = b.scalar_mul_add_extension(c128, r_last, rhs);
    b.connect_extension(lhs, rhs);

    // the sponge over every possible block; the digest is the state after block nb
    let states = absorb(b, &bits);
    let flags: Vec<Target> = (1..=max_blocks)
        .map(|j| {
            let c = b.constant(F::from_canonical_usize(j));
            b.is_equal(blocks, c).target
        })
        .collect();
    let candidates: Vec<Vec<Target>> = states.iter().map(digest_bits).collect();
    let digest = (0..256)
        .map(|k| {
            let mut acc = zero;
            for (f, cand) in flags.iter().zip(&candidates) {
                acc = b.mul_add(*f, cand[k], acc);
            }
            acc
        })
        .collect();
    ConcatTargets { digest, len: total, stream, blocks }
}

/// Fills the padded stream, the block count and the last block's fill from the parts.
#[derive(Debug, Default)]
struct ConcatGenerator {
    parts: Vec<VarBytes>,
    stream: Vec<Target>,
    blocks: Target,
    q: Target,
    budget: usize,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for ConcatGenerator {
    fn id(&self) -> String {
        "ZkrKeccakConcatGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        self.parts.iter().flat_map(|p| p.bytes.iter().copied().chain([p.len])).collect()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out_buffer: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        let mut msg: Vec<u64> = Vec::new();
        for p in &self.parts {
            let len = witness.get_target(p.len).to_canonical_u64() as usize;
            anyhow::ensure!(len <= p.bytes.len(), "a part of {} bytes claims length {len}", p.bytes.len());
            msg.extend(p.bytes[..len].iter().map(|&t| witness.get_target(t).to_canonical_u64()));
        }
        anyhow::ensure!(msg.len() <= self.budget, "{} bytes exceed the budget of {}", msg.len(), self.budget);
        let nb = msg.len() / RATE_BYTES + 1;
        let q = msg.len() % RATE_BYTES;
        let mut padded = msg.clone();
        padded.resize(self.stream.len(), 0);
        padded[msg.len()] ^= 0x01;
        padded[nb * RATE_BYTES - 1] ^= 0x80;
        for (t, v) in self.stream.iter().zip(padded) {
            out_buffer.set_target(*t, F::from_canonical_u64(v))?;
        }
        out_buffer.set_target(self.blocks, F::from_canonical_usize(nb))?;
        out_buffer.set_target(self.q, F::from_canonical_usize(q))
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.parts.len())?;
        for p in &self.parts {
            dst.write_target_vec(&p.bytes)?;
            dst.write_target(p.len)?;
        }
        dst.write_target_vec(&self.stream)?;
        dst.write_target(self.blocks)?;
        dst.write_target(self.q)?;
        dst.write_usize(self.budget)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let n = src.read_usize()?;
        let mut parts = Vec::with_capacity(n);
        for _ in 0..n {
            parts.push(VarBytes { bytes: src.read_target_vec()?, len: src.read_target()? });
        }
        Ok(Self {
            parts,
            stream: src.read_target_vec()?,
            blocks: src.read_target()?,
            q: src.read_target()?,
            budget: src.read_usize()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::{Field, PrimeField64};
    use plonky2::iop::witness::PartialWitness;
    use plonky2::plonk::circuit_data::CircuitConfig;
    use plonky2::plonk::config::{GenericConfig, PoseidonGoldilocksConfig};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::gadget::digest_limbs;
    use crate::native;

    type C = PoseidonGoldilocksConfig;
    type Fg = <C as GenericConfig<2>>::F;

    #[test]
    fn digest_of_variable_parts_is_keccak256_of_their_concatenation() {
        const PART: usize = 20;
        const PARTS: usize = 8;
        const BUDGET: usize = 150;
        let mut b = CircuitBuilder::<Fg, 2>::new(CircuitConfig::standard_recursion_config());
        let parts: Vec<VarBytes> =
            (0..PARTS).map(|_| VarBytes { bytes: b.add_virtual_targets(PART), len: b.add_virtual_target() }).collect();
        for p in &parts {
            for &t in &p.bytes {
                b.range_check(t, 8);
            }
        }
        let out = keccak256_concat(&mut b, &parts, BUDGET);
        let limbs = digest_limbs(&mut b, &out.digest);
        b.register_public_inputs(&limbs);
        b.register_public_input(out.len);
        let data = b.build::<C>();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        // lengths: nothing, one block exactly filled but for one byte (0x81), across a block boundary, the budget
        for lens in [
            [0usize; PARTS],
            [20, 20, 20, 20, 20, 20, 15, 0],
            [17, 0, 20, 3, 20, 20, 20, 19],
            [20, 20, 20, 20, 20, 20, 20, 10],
        ] {
            let mut pw = PartialWitness::new();
            let mut msg = Vec::new();
            for (p, &len) in parts.iter().zip(&lens) {
                pw.set_target(p.len, Fg::from_canonical_usize(len)).unwrap();
                for (k, &t) in p.bytes.iter().enumerate() {
                    let v: u8 = if k < len { rng.gen() } else { 0 };
                    if k < len {
                        msg.push(v);
                    }
                    pw.set_target(t, Fg::from_canonical_u8(v)).unwrap();
                }
            }
            let proof = data.prove(pw).expect("an honest witness proves");
            data.verify(proof.clone()).expect("plonky2 verifies it");
            let want = native::digest_limbs(&native::keccak256(&msg));
            let got: Vec<u64> = proof.public_inputs.iter().map(|f| f.to_canonical_u64()).collect();
            assert_eq!(got[..8], want.map(u64::from), "lengths {lens:?}");
            assert_eq!(got[8], msg.len() as u64);
        }
    }
}
