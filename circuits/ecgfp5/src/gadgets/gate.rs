//! A custom gate doing two steps of the Straus–Shamir double-scalar
//! multiplication `s·G + e·Q` per row: `acc' = 2·(2·acc + A1) + A2`, where each
//! addend `A = [bs·(1-be)]·G + [be·(1-bs)]·Q + [bs·be]·(G+Q)` (the neutral when
//! both bits are 0), with `G` the conventional generator (a constant of the
//! gate) and `Q`, `G + Q` given in affine (x, u) coordinates.
//!
//! The formulas are exactly those of the generic gadgets ([`super::curve`]):
//! the paper's doubling (with intermediates `t2 = Z T^2`, `Z1 = Z T U`,
//! `W1 = t2 - 2 (X + Z) U^2` witnessed so that the doubled point is quadratic
//! in them) followed by the complete addition with an affine operand. All
//! constraints have degree <= 6.
//!
//! Wire layout (134 wires):
//! - routed: `acc` 0..20 (X, Z, U, T), `Q` 20..30 (x, u), `G+Q` 30..40 (x, u),
//!   bits 40..44 (bs1, be1, bs2, be2; step 1 = the more significant bit),
//!   `acc'` 44..64;
//! - advice, per step k: 64 + 25k .. (t2, Z1, W1, Ax, Au);
//! - advice: the intermediate point after step 1, 114..134.

use core::marker::PhantomData;

use plonky2::field::extension::Extendable;
use plonky2::field::types::{Field, PrimeField64};
use plonky2::gates::gate::Gate;
use plonky2::gates::util::StridedConstraintConsumer;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::plonk::vars::{EvaluationTargets, EvaluationVars, EvaluationVarsBase};
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use super::curve::{curve_b, generator_xu, native_add, NativePoint};
use super::gfp5::{f_to_native, native_to_f, NativeGfp5};

pub const WIRE_ACC_IN: usize = 0;
pub const WIRE_Q: usize = 20;
pub const WIRE_GQ: usize = 30;
pub const WIRE_BITS: usize = 40;
pub const WIRE_ACC_OUT: usize = 44;
const WIRE_STEP: usize = 64;
const STEP_LEN: usize = 25;
const WIRE_MID: usize = 114;
const NUM_WIRES: usize = 134;
const CONSTRAINTS_PER_STEP: usize = 47;

/// Two Straus–Shamir steps per row (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct CurveStepGate<F: RichField + Extendable<D>, const D: usize> {
    _phantom: PhantomData<F>,
}

impl<F: RichField + Extendable<D>, const D: usize> CurveStepGate<F, D> {
    pub fn new() -> Self {
        Self { _phantom: PhantomData }
    }
}

/// The minimal algebra the constraints need, over base values, extension
/// values or extension targets.
trait Alg<V: Copy> {
    fn add(&mut self, a: V, b: V) -> V;
    fn sub(&mut self, a: V, b: V) -> V;
    fn mul(&mut self, a: V, b: V) -> V;
    fn scale(&mut self, c: u64, a: V) -> V;
    fn constant(&mut self, c: u64) -> V;
}

struct FieldAlg<T>(PhantomData<T>);

impl<T: Field> Alg<T> for FieldAlg<T> {
    fn add(&mut self, a: T, b: T) -> T {
        a + b
    }
    fn sub(&mut self, a: T, b: T) -> T {
        a - b
    }
    fn mul(&mut self, a: T, b: T) -> T {
        a * b
    }
    fn scale(&mut self, c: u64, a: T) -> T {
        a * T::from_canonical_u64(c)
    }
    fn constant(&mut self, c: u64) -> T {
        T::from_canonical_u64(c)
    }
}

struct CircuitAlg<'a, F: RichField + Extendable<D>, const D: usize>(&'a mut CircuitBuilder<F, D>);

impl<F: RichField + Extendable<D>, const D: usize> Alg<ExtensionTarget<D>> for CircuitAlg<'_, F, D> {
    fn add(&mut self, a: ExtensionTarget<D>, b: ExtensionTarget<D>) -> ExtensionTarget<D> {
        self.0.add_extension(a, b)
    }
    fn sub(&mut self, a: ExtensionTarget<D>, b: ExtensionTarget<D>) -> ExtensionTarget<D> {
        self.0.sub_extension(a, b)
    }
    fn mul(&mut self, a: ExtensionTarget<D>, b: ExtensionTarget<D>) -> ExtensionTarget<D> {
        self.0.mul_extension(a, b)
    }
    fn scale(&mut self, c: u64, a: ExtensionTarget<D>) -> ExtensionTarget<D> {
        self.0.mul_const_extension(F::from_canonical_u64(c), a)
    }
    fn constant(&mut self, c: u64) -> ExtensionTarget<D> {
        self.0.constant_extension(F::Extension::from_canonical_u64(c))
    }
}

type E5<V> = [V; 5];

fn e_add<V: Copy, A: Alg<V>>(a: &mut A, x: E5<V>, y: E5<V>) -> E5<V> {
    core::array::from_fn(|i| a.add(x[i], y[i]))
}
fn e_sub<V: Copy, A: Alg<V>>(a: &mut A, x: E5<V>, y: E5<V>) -> E5<V> {
    core::array::from_fn(|i| a.sub(x[i], y[i]))
}
fn e_scale<V: Copy, A: Alg<V>>(a: &mut A, c: u64, x: E5<V>) -> E5<V> {
    x.map(|v| a.scale(c, v))
}
fn e_mul<V: Copy, A: Alg<V>>(a: &mut A, x: E5<V>, y: E5<V>) -> E5<V> {
    let mut out: Vec<V> = Vec::with_capacity(5);
    for k in 0..5 {
        // low part: sum_{i+j=k}, high part (times 3): sum_{i+j=k+5}
        let mut lo = a.mul(x[0], y[k]);
        for i in 1..=k {
            let t = a.mul(x[i], y[k - i]);
            lo = a.add(lo, t);
        }
        if k < 4 {
            let mut hi = a.mul(x[k + 1], y[4]);
            for i in (k + 2)..5 {
                let t = a.mul(x[i], y[k + 5 - i]);
                hi = a.add(hi, t);
            }
            let hi3 = a.scale(3, hi);
            lo = a.add(lo, hi3);
        }
        out.push(lo);
    }
    [out[0], out[1], out[2], out[3], out[4]]
}
/// Multiplication by b = 263 z.
fn e_mul_b<V: Copy, A: Alg<V>>(a: &mut A, x: E5<V>) -> E5<V> {
    [a.scale(263 * 3, x[4]), a.scale(263, x[0]), a.scale(263, x[1]), a.scale(263, x[2]), a.scale(263, x[3])]
}
fn e_const<V: Copy, A: Alg<V>>(a: &mut A, c: &NativeGfp5) -> E5<V> {
    c.0.map(|x| a.constant(x.to_canonical_u64()))
}

fn slice5<V: Copy>(w: &[V], start: usize) -> E5<V> {
    core::array::from_fn(|i| w[start + i])
}

fn point_at<V: Copy>(w: &[V], start: usize) -> [E5<V>; 4] {
    core::array::from_fn(|i| slice5(w, start + 5 * i))
}

/// Constraints of one step: `out = 2·p + A(bs, be)`.
#[allow(clippy::too_many_arguments)]
fn step_constraints<V: Copy, A: Alg<V>>(
    a: &mut A,
    p: [E5<V>; 4],
    q: (E5<V>, E5<V>),
    gq: (E5<V>, E5<V>),
    bs: V,
    be: V,
    adv: &[V],
    out: [E5<V>; 4],
    cons: &mut Vec<V>,
) {
    let [x, z, u, t] = p;
    let t2 = slice5(adv, 0);
    let z1 = slice5(adv, 5);
    let w1 = slice5(adv, 10);
    let ax = slice5(adv, 15);
    let au = slice5(adv, 20);
    // t2 = Z T^2, Z1 = Z T U, W1 = t2 - 2 (X + Z) U^2
    let zt = e_mul(a, z, t);
    let ztt = e_mul(a, zt, t);
    cons.extend(e_sub(a, t2, ztt));
    let ztu = e_mul(a, zt, u);
    cons.extend(e_sub(a, z1, ztu));
    let xz = e_add(a, x, z);
    let uu = e_mul(a, u, u);
    let m = e_mul(a, xz, uu);
    let m2 = e_scale(a, 2, m);
    let w1e = e_sub(a, t2, m2);
    cons.extend(e_sub(a, w1, w1e));
    // Booleanity of the bits.
    let one = a.constant(1);
    for b in [bs, be] {
        let bm1 = a.sub(b, one);
        cons.push(a.mul(b, bm1));
    }
    // Addend selection.
    let (gx, gu) = generator_xu();
    let gx = e_const(a, &gx);
    let gu = e_const(a, &gu);
    let sb = a.mul(bs, be);
    let s_only = a.sub(bs, sb);
    let e_only = a.sub(be, sb);
    for (acoord, gc, qc, gqc) in [(ax, gx, q.0, gq.0), (au, gu, q.1, gq.1)] {
        for i in 0..5 {
            let v1 = a.mul(s_only, gc[i]);
            let v2 = a.mul(e_only, qc[i]);
            let v3 = a.mul(sb, gqc[i]);
            let v = a.add(v1, v2);
            let v = a.add(v, v3);
            cons.push(a.sub(acoord[i], v));
        }
    }
    // Doubled point D.
    let z1z1 = e_mul(a, z1, z1);
    let dx = {
        let t = e_mul_b(a, z1z1);
        e_scale(a, 4, t)
    };
    let dz = e_mul(a, w1, w1);
    let du = {
        let t = e_mul(a, w1, z1);
        e_scale(a, 2, t)
    };
    let dt = {
        let t22 = e_mul(a, t2, t2);
        let l = e_scale(a, 2, t22);
        let r = e_scale(a, 4, z1z1);
        let l = e_sub(a, l, r);
        e_sub(a, l, dz)
    };
    // Complete addition D + (ax, au) with Z2 = T2 = 1.
    let m1 = e_mul(a, dx, ax);
    let m2 = dz;
    let m3 = e_mul(a, du, au);
    let m4 = dt;
    let m5 = {
        let t = e_mul(a, ax, dz);
        e_add(a, dx, t)
    };
    let m6 = {
        let t = e_mul(a, au, dt);
        e_add(a, du, t)
    };
    let bm2 = e_mul_b(a, m2);
    let m7 = e_add(a, m1, bm2);
    let m8 = e_mul(a, m4, m7);
    let m9 = {
        let bm5 = e_mul_b(a, m5);
        let s = e_add(a, bm5, m7);
        let s = e_scale(a, 2, s);
        e_mul(a, m3, s)
    };
    let m10 = {
        let m3d = e_scale(a, 2, m3);
        let l = e_add(a, m4, m3d);
        let r = e_add(a, m5, m7);
        e_mul(a, l, r)
    };
    let sx = {
        let d = e_sub(a, m10, m8);
        e_mul_b(a, d)
    };
    let sz = e_sub(a, m8, m9);
    let su = {
        let d = e_sub(a, bm2, m1);
        e_mul(a, m6, d)
    };
    let st = e_add(a, m8, m9);
    for (o, s) in out.iter().zip([sx, sz, su, st]) {
        cons.extend(e_sub(a, *o, s));
    }
}

fn all_constraints<V: Copy, A: Alg<V>>(a: &mut A, w: &[V]) -> Vec<V> {
    let mut cons = Vec::with_capacity(2 * CONSTRAINTS_PER_STEP);
    let acc = point_at(w, WIRE_ACC_IN);
    let q = (slice5(w, WIRE_Q), slice5(w, WIRE_Q + 5));
    let gq = (slice5(w, WIRE_GQ), slice5(w, WIRE_GQ + 5));
    let mid = point_at(w, WIRE_MID);
    let out = point_at(w, WIRE_ACC_OUT);
    step_constraints(
        a,
        acc,
        q,
        gq,
        w[WIRE_BITS],
        w[WIRE_BITS + 1],
        &w[WIRE_STEP..WIRE_STEP + STEP_LEN],
        mid,
        &mut cons,
    );
    step_constraints(
        a,
        mid,
        q,
        gq,
        w[WIRE_BITS + 2],
        w[WIRE_BITS + 3],
        &w[WIRE_STEP + STEP_LEN..WIRE_STEP + 2 * STEP_LEN],
        out,
        &mut cons,
    );
    cons
}

impl<F: RichField + Extendable<D>, const D: usize> Gate<F, D> for CurveStepGate<F, D> {
    fn id(&self) -> String {
        "EcGFp5CurveStepGate".to_string()
    }

    fn serialize(&self, _dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        // Parameterless gate.
        Ok(())
    }

    fn deserialize(_src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self::new())
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<F, D>) -> Vec<F::Extension> {
        all_constraints(&mut FieldAlg::<F::Extension>(PhantomData), vars.local_wires)
    }

    fn eval_unfiltered_base_one(&self, vars: EvaluationVarsBase<F>, mut yield_constr: StridedConstraintConsumer<F>) {
        let wires: Vec<F> = (0..NUM_WIRES).map(|i| vars.local_wires[i]).collect();
        let cons = all_constraints(&mut FieldAlg::<F>(PhantomData), &wires);
        yield_constr.many(cons);
    }

    fn eval_unfiltered_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: EvaluationTargets<D>,
    ) -> Vec<ExtensionTarget<D>> {
        all_constraints(&mut CircuitAlg(builder), vars.local_wires)
    }

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        vec![WitnessGeneratorRef::new(CurveStepGenerator::<F, D> { row, _phantom: PhantomData }.adapter())]
    }

    fn num_wires(&self) -> usize {
        NUM_WIRES
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        6
    }

    fn num_constraints(&self) -> usize {
        2 * CONSTRAINTS_PER_STEP
    }
}

/// Native step: returns the advice values (t2, Z1, W1, Ax, Au) and the output.
fn native_step(
    p: &NativePoint,
    q: (NativeGfp5, NativeGfp5),
    gq: (NativeGfp5, NativeGfp5),
    bs: NativeGfp5,
    be: NativeGfp5,
) -> ([NativeGfp5; 5], NativePoint) {
    let [x, z, u, t] = *p;
    let zt = z * t;
    let t2 = zt * t;
    let z1 = zt * u;
    let w1 = t2 - (x + z).double() * u * u;
    let four = NativeGfp5::from_canonical_u64(4);
    let d = [z1 * z1 * curve_b() * four, w1 * w1, (w1 * z1).double(), (t2 * t2).double() - z1 * z1 * four - w1 * w1];
    let (gx, gu) = generator_xu();
    let sb = bs * be;
    let so = bs - sb;
    let eo = be - sb;
    let ax = so * gx + eo * q.0 + sb * gq.0;
    let au = so * gu + eo * q.1 + sb * gq.1;
    let s = native_add(&d, &[ax, NativeGfp5::ONE, au, NativeGfp5::ONE]);
    ([t2, z1, w1, ax, au], s)
}

#[derive(Debug, Default)]
pub struct CurveStepGenerator<F: RichField + Extendable<D>, const D: usize> {
    row: usize,
    _phantom: PhantomData<F>,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for CurveStepGenerator<F, D> {
    fn id(&self) -> String {
        "EcGFp5CurveStepGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        (0..WIRE_ACC_OUT).map(|i| Target::wire(self.row, i)).collect()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out_buffer: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        let get = |i: usize| -> NativeGfp5 {
            let v: Vec<F> = (0..5).map(|k| witness.get_target(Target::wire(self.row, i + k))).collect();
            f_to_native(&v)
        };
        let get_bit = |i: usize| -> NativeGfp5 {
            let v = witness.get_target(Target::wire(self.row, i));
            f_to_native(&[v])
        };
        let p: NativePoint = core::array::from_fn(|i| get(WIRE_ACC_IN + 5 * i));
        let q = (get(WIRE_Q), get(WIRE_Q + 5));
        let gq = (get(WIRE_GQ), get(WIRE_GQ + 5));
        let mut set = |start: usize, v: &NativeGfp5| -> anyhow::Result<()> {
            let f = native_to_f::<F>(v);
            for (k, x) in f.iter().enumerate() {
                out_buffer.set_target(Target::wire(self.row, start + k), *x)?;
            }
            Ok(())
        };
        let (adv1, mid) = native_step(&p, q, gq, get_bit(WIRE_BITS), get_bit(WIRE_BITS + 1));
        let (adv2, out) = native_step(&mid, q, gq, get_bit(WIRE_BITS + 2), get_bit(WIRE_BITS + 3));
        for (k, v) in adv1.iter().enumerate() {
            set(WIRE_STEP + 5 * k, v)?;
        }
        for (k, v) in adv2.iter().enumerate() {
            set(WIRE_STEP + STEP_LEN + 5 * k, v)?;
        }
        for k in 0..4 {
            set(WIRE_MID + 5 * k, &mid[k])?;
            set(WIRE_ACC_OUT + 5 * k, &out[k])?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { row: src.read_usize()?, _phantom: PhantomData })
    }
}

/// `s·G + e·Q` with [`CurveStepGate`] rows (two bits per row), given `Q` and
/// `G + Q` in affine (x, u) coordinates. Bits are little-endian; missing bits
/// are zero. The bits are boolean-constrained by the gate.
pub fn double_scalar_mul_with_gate<F: RichField + Extendable<D>, const D: usize>(
    builder: &mut CircuitBuilder<F, D>,
    s_bits: &[plonky2::iop::target::BoolTarget],
    q: super::curve::AffinePointTarget,
    gq: super::curve::AffinePointTarget,
    e_bits: &[plonky2::iop::target::BoolTarget],
) -> super::curve::PointTarget {
    use super::curve::{CircuitBuilderCurve, PointTarget};
    use super::gfp5::Gfp5Target;
    let n = s_bits.len().max(e_bits.len());
    let n = n + (n & 1);
    let zero = builder.zero();
    let bit = |bits: &[plonky2::iop::target::BoolTarget], i: usize| bits.get(i).map(|b| b.target).unwrap_or(zero);
    let mut acc = builder.curve_neutral();
    let gate = CurveStepGate::<F, D>::new();
    for j in (0..n / 2).rev() {
        let row = builder.add_gate(gate.clone(), vec![]);
        let w = |i: usize| Target::wire(row, i);
        let coords = [acc.x, acc.z, acc.u, acc.t];
        for (k, c) in coords.iter().enumerate() {
            for l in 0..5 {
                builder.connect(c.0[l], w(WIRE_ACC_IN + 5 * k + l));
            }
        }
        for l in 0..5 {
            builder.connect(q.x.0[l], w(WIRE_Q + l));
            builder.connect(q.u.0[l], w(WIRE_Q + 5 + l));
            builder.connect(gq.x.0[l], w(WIRE_GQ + l));
            builder.connect(gq.u.0[l], w(WIRE_GQ + 5 + l));
        }
        let hi = 2 * j + 1;
        let lo = 2 * j;
        let bits = [bit(s_bits, hi), bit(e_bits, hi), bit(s_bits, lo), bit(e_bits, lo)];
        for (k, b) in bits.iter().enumerate() {
            builder.connect(*b, w(WIRE_BITS + k));
        }
        let g5 = |k: usize| Gfp5Target(core::array::from_fn(|l| w(WIRE_ACC_OUT + 5 * k + l)));
        acc = PointTarget { x: g5(0), z: g5(1), u: g5(2), t: g5(3) };
    }
    acc
}
