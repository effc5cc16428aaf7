//! Yul for the unfiltered constraints of plonky2 gates, evaluated at the opening point (extension field).
//!
//! `gate_constraints_yul` emits statements that read the gate's view of the openings from memory (see
//! [`GateLayout`]) and write what plonky2's `Gate::eval_unfiltered` returns. The emitted code uses no Yul variables
//! (only constant-address `mload`/`mstore`), so it can be pasted anywhere without stack pressure.
//! Compile it with solc's Yul optimizer OFF: the optimizer's common-subexpression pass turns repeated loads into
//! variables and then fails with StackTooDeep (and solcjs runs out of memory on the Poseidon gate).

use plonky2::field::types::Field;
use plonky2::gates::arithmetic_base::ArithmeticGate;
use plonky2::gates::arithmetic_extension::ArithmeticExtensionGate;
use plonky2::gates::base_sum::BaseSumGate;
use plonky2::gates::coset_interpolation::CosetInterpolationGate;
use plonky2::gates::exponentiation::ExponentiationGate;
use plonky2::gates::gate::GateRef;
use plonky2::gates::multiplication_extension::MulExtensionGate;
use plonky2::gates::noop::NoopGate;
use plonky2::gates::poseidon::PoseidonGate;
use plonky2::gates::poseidon_mds::PoseidonMdsGate;
use plonky2::gates::public_input::PublicInputGate;
use plonky2::gates::random_access::RandomAccessGate;
use plonky2::gates::reducing::ReducingGate;
use plonky2::gates::reducing_extension::ReducingExtensionGate;
use plonky2::hash::poseidon::{Poseidon, ALL_ROUND_CONSTANTS, HALF_N_FULL_ROUNDS, N_PARTIAL_ROUNDS, SPONGE_WIDTH};
use plonky2_field::goldilocks_field::GoldilocksField;
use plonky2_field::types::PrimeField64;

use crate::expr::{sbox_function, Alg, Comp, Emitter, Ext};
use crate::poseidon::mds_entry;

type F = GoldilocksField;
const D: usize = 2;

/// Memory byte offsets of a gate evaluation's inputs and outputs.
///
/// Extension element `i` of `wires`/`constants` is at `base + 64·i` (`c0` at `+0`, `c1` at `+32`); public-inputs-hash
/// element `k` (base field) at `public_inputs_hash + 32·k`; constraint `j` is written as an extension element at
/// `out + 64·j`. `scratch` is free memory the emitted code may overwrite (see [`GateYul::scratch_bytes`]).
/// `constants` is the gate's own constants, i.e. the selector columns are already skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateLayout {
    pub wires: u64,
    pub constants: u64,
    pub public_inputs_hash: u64,
    pub out: u64,
    pub scratch: u64,
}

/// Errors of the gate code generator.
#[derive(Debug, thiserror::Error)]
pub enum GateGenError {
    #[error("no Yul emitter for gate `{id}`; supported: {SUPPORTED_GATES}")]
    Unsupported { id: String },
    #[error("gate `{id}`: cannot read its configuration from the id (expected e.g. `{expected}`)")]
    UnparsableId { id: String, expected: &'static str },
    #[error("gate `{id}`: emitted {emitted} constraints but plonky2 declares {expected}")]
    ConstraintCount { id: String, emitted: usize, expected: usize },
}

/// The gate types `gate_constraints_yul` supports (plonky2 names).
pub const SUPPORTED_GATES: &str = "NoopGate, ConstantGate, PublicInputGate, ArithmeticGate, ArithmeticExtensionGate, \
     MulExtensionGate, BaseSumGate, RandomAccessGate, PoseidonGate, PoseidonMdsGate, CosetInterpolationGate, \
     ReducingGate, ReducingExtensionGate, ExponentiationGate";

/// Emitted code for one gate, with its memory needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateYul {
    pub code: String,
    pub num_constraints: usize,
    /// Bytes of scratch memory (from `layout.scratch`) the code writes.
    pub scratch_bytes: u64,
}

/// Yul statements evaluating `gate`'s unfiltered constraints (see the module docs and [`GateLayout`]).
pub fn gate_constraints_yul(gate: &GateRef<F, D>, layout: &GateLayout) -> Result<String, GateGenError> {
    gate_constraints(gate, layout).map(|g| g.code)
}

/// Like [`gate_constraints_yul`], also reporting the constraint count and scratch size.
pub fn gate_constraints(gate: &GateRef<F, D>, layout: &GateLayout) -> Result<GateYul, GateGenError> {
    let id = gate.0.id();
    let any = gate.0.as_any();
    let mut g = Gen { e: Emitter::new(layout.scratch), layout: *layout, n_out: 0 };
    let mut uses_sbox = false;

    if any.downcast_ref::<NoopGate>().is_some() {
    } else if let Some(x) = any.downcast_ref::<ArithmeticGate>() {
        g.arithmetic(x.num_ops);
    } else if let Some(x) = any.downcast_ref::<ArithmeticExtensionGate<D>>() {
        g.arithmetic_extension(x.num_ops);
    } else if let Some(x) = any.downcast_ref::<MulExtensionGate<D>>() {
        g.mul_extension(x.num_ops);
    } else if id.starts_with("ConstantGate") {
        // `num_consts` is crate-private; it equals the constraint count.
        g.constant(gate.0.num_constraints());
    } else if any.downcast_ref::<PublicInputGate>().is_some() {
        g.public_input();
    } else if let Some(x) = any.downcast_ref::<BaseSumGate<2>>() {
        g.base_sum(2, x.num_limbs);
    } else if id.starts_with("BaseSumGate") {
        let (limbs, base) = parse_base_sum(&id)?;
        g.base_sum(base, limbs);
    } else if let Some(x) = any.downcast_ref::<RandomAccessGate<F, D>>() {
        g.random_access(x.bits, x.num_copies, x.num_extra_constants);
    } else if any.downcast_ref::<PoseidonGate<F, D>>().is_some() {
        g.poseidon();
        uses_sbox = true;
    } else if any.downcast_ref::<PoseidonMdsGate<F, D>>().is_some() {
        g.poseidon_mds();
    } else if let Some(x) = any.downcast_ref::<CosetInterpolationGate<F, D>>() {
        g.coset_interpolation(x.subgroup_bits, x.degree, &x.barycentric_weights);
    } else if let Some(x) = any.downcast_ref::<ReducingGate<D>>() {
        g.reducing(x.num_coeffs, false);
    } else if let Some(x) = any.downcast_ref::<ReducingExtensionGate<D>>() {
        g.reducing(x.num_coeffs, true);
    } else if let Some(x) = any.downcast_ref::<ExponentiationGate<F, D>>() {
        g.exponentiation(x.num_power_bits);
    } else {
        return Err(GateGenError::Unsupported { id });
    }

    let expected = gate.0.num_constraints();
    if g.n_out != expected {
        return Err(GateGenError::ConstraintCount { id, emitted: g.n_out, expected });
    }
    let scratch_bytes = g.e.scratch_bytes();
    let body = g.e.finish();
    // A block keeps the helper function private to this gate's code.
    let code = if uses_sbox { format!("{{\n{}{body}}}\n", sbox_function()) } else { body };
    Ok(GateYul { code, num_constraints: expected, scratch_bytes })
}

/// `BaseSumGate { num_limbs: 63 } + Base: 2` → (63, 2).
fn parse_base_sum(id: &str) -> Result<(usize, usize), GateGenError> {
    let err = || GateGenError::UnparsableId { id: id.to_string(), expected: "BaseSumGate { num_limbs: 63 } + Base: 2" };
    let after = |key: &str| -> Option<usize> {
        let rest = &id[id.find(key)? + key.len()..];
        let digits: String = rest.trim_start().chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse().ok()
    };
    let limbs = after("num_limbs:").ok_or_else(err)?;
    let base = after("Base:").ok_or_else(err)?;
    if base < 2 {
        return Err(err());
    }
    Ok((limbs, base))
}

struct Gen {
    e: Emitter,
    layout: GateLayout,
    n_out: usize,
}

impl Gen {
    fn wire(&self, i: usize) -> Ext {
        self.e.load_ext(self.layout.wires + 64 * i as u64)
    }

    fn constant_ext(&self, i: usize) -> Ext {
        self.e.load_ext(self.layout.constants + 64 * i as u64)
    }

    fn wire_alg(&self, start: usize) -> Alg {
        Alg([self.wire(start), self.wire(start + 1)])
    }

    fn out(&mut self, v: &Ext) {
        let addr = self.layout.out + 64 * self.n_out as u64;
        self.e.output(addr, v);
        self.n_out += 1;
    }

    fn out_alg(&mut self, v: &Alg) {
        self.out(&v.0[0]);
        self.out(&v.0[1]);
    }

    /// `b·(b - 1)`, computed as `b² - b`.
    fn bool_check(&mut self, b: &Ext) -> Ext {
        self.e.square(b).sub(b)
    }

    fn arithmetic(&mut self, num_ops: usize) {
        let c0 = self.constant_ext(0);
        let c1 = self.constant_ext(1);
        for i in 0..num_ops {
            let m = self.e.mul(&self.wire(4 * i), &self.wire(4 * i + 1));
            let scaled = self.e.mul(&m, &c0);
            let add = self.e.mul(&self.wire(4 * i + 2), &c1);
            let v = self.wire(4 * i + 3).sub(&scaled.add(&add));
            self.out(&v);
        }
    }

    fn arithmetic_extension(&mut self, num_ops: usize) {
        let c0 = self.constant_ext(0);
        let c1 = self.constant_ext(1);
        for i in 0..num_ops {
            let base = 4 * D * i;
            let m = self.e.alg_mul(&self.wire_alg(base), &self.wire_alg(base + D));
            let scaled = self.e.alg_scale(&m, &c0);
            let add = self.e.alg_scale(&self.wire_alg(base + 2 * D), &c1);
            let v = self.wire_alg(base + 3 * D).sub(&scaled.add(&add));
            self.out_alg(&v);
        }
    }

    fn mul_extension(&mut self, num_ops: usize) {
        let c0 = self.constant_ext(0);
        for i in 0..num_ops {
            let base = 3 * D * i;
            let m = self.e.alg_mul(&self.wire_alg(base), &self.wire_alg(base + D));
            let scaled = self.e.alg_scale(&m, &c0);
            let v = self.wire_alg(base + 2 * D).sub(&scaled);
            self.out_alg(&v);
        }
    }

    fn constant(&mut self, num_consts: usize) {
        for i in 0..num_consts {
            let v = self.constant_ext(i).sub(&self.wire(i));
            self.out(&v);
        }
    }

    fn public_input(&mut self) {
        for k in 0..4 {
            let h = Ext::base(self.e.load_base(self.layout.public_inputs_hash + 32 * k as u64));
            let v = self.wire(k).sub(&h);
            self.out(&v);
        }
    }

    fn base_sum(&mut self, base: usize, num_limbs: usize) {
        // Σ limb_i · B^i with the powers folded to constants mod p.
        let b = F::from_canonical_u64(base as u64);
        let mut power = F::ONE;
        let mut sum = Ext::zero();
        for i in 0..num_limbs {
            let term = self.wire(1 + i).scale(&Comp::lit(power.to_canonical_u64()));
            sum = sum.add(&term);
            power *= b;
        }
        let v = sum.sub(&self.wire(0));
        self.out(&v);
        for i in 0..num_limbs {
            let limb = self.wire(1 + i);
            let v = if base == 2 {
                self.bool_check(&limb)
            } else {
                let mut prod = limb.clone();
                for k in 1..base {
                    let factor = limb.sub(&Ext::lit(k as u64));
                    prod = self.e.mul(&prod, &factor);
                }
                prod
            };
            self.out(&v);
        }
    }

    fn random_access(&mut self, bits: usize, num_copies: usize, num_extra_constants: usize) {
        let vec_size = 1usize << bits;
        for copy in 0..num_copies {
            let start = (2 + vec_size) * copy;
            let bit_wire = |i: usize| (2 + vec_size) * num_copies + num_extra_constants + copy * bits + i;
            for i in 0..bits {
                let b = self.wire(bit_wire(i));
                let v = self.bool_check(&b);
                self.out(&v);
            }
            // Σ bit_i · 2^i − access_index.
            let mut index = Ext::zero();
            for i in 0..bits {
                index = index.add(&self.wire(bit_wire(i)).scale(&Comp::lit(1 << i)));
            }
            let v = index.sub(&self.wire(start));
            self.out(&v);
            let mut items: Vec<Ext> = (0..vec_size).map(|i| self.wire(start + 2 + i)).collect();
            for i in 0..bits {
                let b = self.wire(bit_wire(i));
                let mut next = Vec::with_capacity(items.len() / 2);
                for pair in items.chunks(2) {
                    let diff = pair[1].sub(&pair[0]);
                    let picked = pair[0].add(&self.e.mul(&b, &diff));
                    // Each folded item feeds two expressions of the next level.
                    next.push(if i + 1 < bits { self.e.store(&picked) } else { picked });
                }
                items = next;
            }
            let v = items[0].sub(&self.wire(start + 1));
            self.out(&v);
        }
        for i in 0..num_extra_constants {
            let w = (2 + vec_size) * num_copies + i;
            let v = self.constant_ext(i).sub(&self.wire(w));
            self.out(&v);
        }
    }

    /// x ↦ x⁷ through a shared Yul function (inlining it 118 times would make the Poseidon gate's code ~3× larger).
    fn sbox(&mut self, x: &Ext) -> Ext {
        self.e.sbox_call(x)
    }

    fn mds_full(&mut self, state: &[Ext; SPONGE_WIDTH]) -> [Ext; SPONGE_WIDTH] {
        let state: Vec<Ext> = state.iter().map(|s| self.e.store(s)).collect();
        std::array::from_fn(|r| {
            let mut acc = Ext::zero();
            for (c, s) in state.iter().enumerate() {
                acc = acc.add(&s.scale(&Comp::lit(mds_entry(r, c))));
            }
            acc
        })
    }

    fn add_round_constants(state: &mut [Ext; SPONGE_WIDTH], round: usize) {
        for (i, s) in state.iter_mut().enumerate() {
            *s = s.add(&Ext::lit(ALL_ROUND_CONSTANTS[i + SPONGE_WIDTH * round]));
        }
    }

    fn poseidon(&mut self) {
        const WIRE_SWAP: usize = 2 * SPONGE_WIDTH;
        const START_DELTA: usize = 2 * SPONGE_WIDTH + 1;
        const START_FULL_0: usize = START_DELTA + 4;
        const START_PARTIAL: usize = START_FULL_0 + SPONGE_WIDTH * (HALF_N_FULL_ROUNDS - 1);
        const START_FULL_1: usize = START_PARTIAL + N_PARTIAL_ROUNDS;

        let swap = self.wire(WIRE_SWAP);
        let v = self.bool_check(&swap);
        self.out(&v);
        for i in 0..4 {
            let diff = self.wire(i + 4).sub(&self.wire(i));
            let v = self.e.mul(&swap, &diff).sub(&self.wire(START_DELTA + i));
            self.out(&v);
        }
        let mut state: [Ext; SPONGE_WIDTH] = std::array::from_fn(|i| self.wire(i));
        for i in 0..4 {
            let delta = self.wire(START_DELTA + i);
            state[i] = self.wire(i).add(&delta);
            state[i + 4] = self.wire(i + 4).sub(&delta);
        }

        let mut round = 0;
        for r in 0..HALF_N_FULL_ROUNDS {
            Self::add_round_constants(&mut state, round);
            if r != 0 {
                for (i, s) in state.iter_mut().enumerate() {
                    let sbox_in = self.wire(START_FULL_0 + SPONGE_WIDTH * (r - 1) + i);
                    self.out(&s.sub(&sbox_in));
                    *s = sbox_in;
                }
            }
            for s in state.iter_mut() {
                let y = self.sbox(s);
                *s = y;
            }
            state = self.mds_full(&state);
            round += 1;
        }

        // Partial rounds in plonky2's fast form (first constants, initial matrix, sparse matrices).
        let first = <F as Poseidon>::FAST_PARTIAL_FIRST_ROUND_CONSTANT;
        for (i, s) in state.iter_mut().enumerate() {
            *s = s.add(&Ext::lit(first[i]));
        }
        let init = <F as Poseidon>::FAST_PARTIAL_ROUND_INITIAL_MATRIX;
        let stored: Vec<Ext> = state.iter().map(|s| self.e.store(s)).collect();
        let mut next: [Ext; SPONGE_WIDTH] = std::array::from_fn(|_| Ext::zero());
        next[0] = stored[0].clone();
        for (c, n) in next.iter_mut().enumerate().skip(1) {
            let mut acc = Ext::zero();
            for r in 1..SPONGE_WIDTH {
                acc = acc.add(&stored[r].scale(&Comp::lit(init[r - 1][c - 1])));
            }
            *n = acc;
        }
        drop(stored);
        state = next;
        let rc = <F as Poseidon>::FAST_PARTIAL_ROUND_CONSTANTS;
        let vs = <F as Poseidon>::FAST_PARTIAL_ROUND_VS;
        let w_hats = <F as Poseidon>::FAST_PARTIAL_ROUND_W_HATS;
        let m00 = <F as Poseidon>::MDS_MATRIX_CIRC[0] + <F as Poseidon>::MDS_MATRIX_DIAG[0];
        for r in 0..N_PARTIAL_ROUNDS {
            let sbox_in = self.wire(START_PARTIAL + r);
            let v = state[0].sub(&sbox_in);
            self.out(&v);
            let mut s0 = self.sbox(&sbox_in);
            if r + 1 < N_PARTIAL_ROUNDS {
                s0 = s0.add(&Ext::lit(rc[r]));
            }
            let s0 = self.e.store(&s0);
            let rest: Vec<Ext> = state[1..].iter().map(|s| self.e.store(s)).collect();
            let mut d = s0.scale(&Comp::lit(m00));
            for i in 1..SPONGE_WIDTH {
                d = d.add(&rest[i - 1].scale(&Comp::lit(w_hats[r][i - 1])));
            }
            state[0] = d;
            for i in 1..SPONGE_WIDTH {
                state[i] = s0.scale(&Comp::lit(vs[r][i - 1])).add(&rest[i - 1]);
            }
        }
        round += N_PARTIAL_ROUNDS;

        for r in 0..HALF_N_FULL_ROUNDS {
            Self::add_round_constants(&mut state, round);
            for (i, s) in state.iter_mut().enumerate() {
                let sbox_in = self.wire(START_FULL_1 + SPONGE_WIDTH * r + i);
                self.out(&s.sub(&sbox_in));
                *s = sbox_in;
            }
            for s in state.iter_mut() {
                let y = self.sbox(s);
                *s = y;
            }
            state = self.mds_full(&state);
            round += 1;
        }
        for (i, s) in state.iter().enumerate() {
            let v = s.sub(&self.wire(SPONGE_WIDTH + i));
            self.out(&v);
        }
    }

    fn poseidon_mds(&mut self) {
        let inputs: Vec<Alg> = (0..SPONGE_WIDTH).map(|i| self.wire_alg(i * D)).collect();
        for r in 0..SPONGE_WIDTH {
            let mut acc = [Ext::zero(), Ext::zero()];
            for (c, input) in inputs.iter().enumerate() {
                let k = Comp::lit(mds_entry(r, c));
                acc[0] = acc[0].add(&input.0[0].scale(&k));
                acc[1] = acc[1].add(&input.0[1].scale(&k));
            }
            let v = self.wire_alg((SPONGE_WIDTH + r) * D).sub(&Alg(acc));
            self.out_alg(&v);
        }
    }

    fn coset_interpolation(&mut self, subgroup_bits: usize, degree: usize, weights: &[F]) {
        let n_points = 1usize << subgroup_bits;
        let n_inter = (n_points - 2) / (degree - 1);
        let start_values = 1;
        let start_eval_point = start_values + n_points * D;
        let start_eval_value = start_eval_point + D;
        let start_inter = start_eval_value + D;
        let inter_eval = |i: usize| start_inter + D * i;
        let inter_prod = |i: usize| start_inter + D * (n_inter + i);
        let shifted_point_wire = start_inter + D * 2 * n_inter;

        let shift = self.wire(0);
        let point = self.wire_alg(start_eval_point);
        let shifted = self.e.store_alg(&self.wire_alg(shifted_point_wire));
        let v = point.sub(&self.e.alg_scale(&shifted, &shift));
        self.out_alg(&v);

        let domain = F::two_adic_subgroup(subgroup_bits);
        let mut eval = Alg([Ext::zero(), Ext::zero()]);
        let mut prod = Alg([Ext::lit(1), Ext::zero()]);
        let chunk = |g: &mut Gen, range: std::ops::Range<usize>, mut eval: Alg, mut prod: Alg| -> (Alg, Alg) {
            for i in range {
                // term = x − domain_i (only the first coefficient changes); val = w_i · value_i.
                let term = Alg([shifted.0[0].sub(&Ext::lit(domain[i].to_canonical_u64())), shifted.0[1].clone()]);
                let term = g.e.store_alg(&term);
                let val = g.wire_alg(start_values + i * D).scale_base(&Comp::lit(weights[i].to_canonical_u64()));
                let a = g.e.alg_mul(&eval, &term);
                let b = g.e.alg_mul(&val, &prod);
                eval = g.e.store_alg(&a.add(&b));
                let next_prod = g.e.alg_mul(&prod, &term);
                prod = g.e.store_alg(&next_prod);
            }
            (eval, prod)
        };
        (eval, prod) = chunk(self, 0..degree, eval, prod);
        for i in 0..n_inter {
            let ie = self.wire_alg(inter_eval(i));
            let ip = self.wire_alg(inter_prod(i));
            let v = ie.sub(&eval);
            self.out_alg(&v);
            let v = ip.sub(&prod);
            self.out_alg(&v);
            let start = 1 + (degree - 1) * (i + 1);
            let end = (start + degree - 1).min(n_points);
            (eval, prod) = chunk(self, start..end, ie, ip);
        }
        let v = self.wire_alg(start_eval_value).sub(&eval);
        self.out_alg(&v);
    }

    fn reducing(&mut self, num_coeffs: usize, extension_coeffs: bool) {
        let start_coeffs = 3 * D;
        let start_accs = if extension_coeffs { start_coeffs + num_coeffs * D } else { start_coeffs + num_coeffs };
        let alpha = self.e.store_alg(&self.wire_alg(D));
        let mut acc = self.wire_alg(2 * D);
        for i in 0..num_coeffs {
            let coeff = if extension_coeffs {
                self.wire_alg(start_coeffs + i * D)
            } else {
                Alg::from_ext(self.wire(start_coeffs + i))
            };
            let acc_i = if i + 1 == num_coeffs { self.wire_alg(0) } else { self.wire_alg(start_accs + D * i) };
            let v = self.e.alg_mul(&acc, &alpha).add(&coeff).sub(&acc_i);
            self.out_alg(&v);
            acc = acc_i;
        }
    }

    fn exponentiation(&mut self, num_power_bits: usize) {
        let base = self.wire(0);
        let bit = |i: usize| 1 + i;
        let output = 1 + num_power_bits;
        let inter = |i: usize| 2 + num_power_bits + i;
        let base_minus_one = self.e.store(&base.sub(&Ext::lit(1)));
        for i in 0..num_power_bits {
            let cur_bit = self.wire(bit(num_power_bits - i - 1));
            // cur_bit·base + (1 − cur_bit) = 1 + cur_bit·(base − 1)
            let factor = Ext::lit(1).add(&self.e.mul(&cur_bit, &base_minus_one));
            let computed = if i == 0 {
                factor
            } else {
                let prev = self.e.square(&self.wire(inter(i - 1)));
                self.e.mul(&prev, &factor)
            };
            let v = computed.sub(&self.wire(inter(i)));
            self.out(&v);
        }
        let v = self.wire(output).sub(&self.wire(inter(num_power_bits - 1)));
        self.out(&v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_sum_ids() {
        assert_eq!(parse_base_sum("BaseSumGate { num_limbs: 63 } + Base: 2").unwrap(), (63, 2));
        assert_eq!(parse_base_sum("BaseSumGate { num_limbs: 32 } + Base: 4").unwrap(), (32, 4));
        assert!(parse_base_sum("BaseSumGate { } + Base: 2").is_err());
    }
}
