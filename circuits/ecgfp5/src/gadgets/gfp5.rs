//! GF(p^5) = GF(p)[z]/(z^5 - 3) arithmetic over plonky2 targets.
//!
//! Every operation is built from `builder.arithmetic` (`c0 * x * y + c1 * z`), so
//! plonky2 packs them into `ArithmeticGate`s (20 operations per row with the
//! standard recursion config). A schoolbook product costs 25 operations, a
//! square 15, an addition 5.

use plonky2::field::extension::quintic::QuinticExtension;
use plonky2::field::extension::Extendable;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

/// Native GF(p^5).
pub type NativeGfp5 = QuinticExtension<GoldilocksField>;

/// The constant `W` of the extension: z^5 = W.
const W: u64 = 3;

/// An element of GF(p^5) in the circuit: coefficients of 1, z, .., z^4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gfp5Target(pub [Target; 5]);

impl Gfp5Target {
    pub fn new(limbs: [Target; 5]) -> Self {
        Self(limbs)
    }
}

/// Converts a native element to its coefficients in any `RichField` (the
/// circuit field is Goldilocks; this is just a change of type).
pub(crate) fn native_to_f<F: RichField>(a: &NativeGfp5) -> [F; 5] {
    use plonky2::field::types::PrimeField64;
    a.0.map(|c| F::from_canonical_u64(c.to_canonical_u64()))
}

pub(crate) fn f_to_native<F: RichField>(a: &[F]) -> NativeGfp5 {
    let mut out = [GoldilocksField::ZERO; 5];
    for (o, x) in out.iter_mut().zip(a) {
        *o = GoldilocksField::from_noncanonical_u64(x.to_canonical_u64());
    }
    QuinticExtension(out)
}

/// GF(p^5) gadgets on the circuit builder.
pub trait CircuitBuilderGfp5<F: RichField + Extendable<D>, const D: usize> {
    fn add_virtual_gfp5_target(&mut self) -> Gfp5Target;
    fn gfp5_constant(&mut self, c: NativeGfp5) -> Gfp5Target;
    fn gfp5_zero(&mut self) -> Gfp5Target;
    fn gfp5_one(&mut self) -> Gfp5Target;
    fn gfp5_add(&mut self, a: Gfp5Target, b: Gfp5Target) -> Gfp5Target;
    fn gfp5_sub(&mut self, a: Gfp5Target, b: Gfp5Target) -> Gfp5Target;
    fn gfp5_neg(&mut self, a: Gfp5Target) -> Gfp5Target;
    /// `a * c` for a base-field constant `c`.
    fn gfp5_mul_scalar_const(&mut self, a: Gfp5Target, c: F) -> Gfp5Target;
    /// `a * c` for a GF(p^5) constant `c`.
    fn gfp5_mul_const(&mut self, a: Gfp5Target, c: NativeGfp5) -> Gfp5Target;
    fn gfp5_add_const(&mut self, a: Gfp5Target, c: NativeGfp5) -> Gfp5Target;
    fn gfp5_mul(&mut self, a: Gfp5Target, b: Gfp5Target) -> Gfp5Target;
    /// `a * b + c`.
    fn gfp5_mul_add(&mut self, a: Gfp5Target, b: Gfp5Target, c: Gfp5Target) -> Gfp5Target;
    fn gfp5_square(&mut self, a: Gfp5Target) -> Gfp5Target;
    /// `b ? x : y`.
    fn gfp5_select(&mut self, b: BoolTarget, x: Gfp5Target, y: Gfp5Target) -> Gfp5Target;
    /// `b ? x : 0` (5 operations).
    fn gfp5_mul_bool(&mut self, b: BoolTarget, x: Gfp5Target) -> Gfp5Target;
    fn gfp5_connect(&mut self, a: Gfp5Target, b: Gfp5Target);
    fn gfp5_assert_zero(&mut self, a: Gfp5Target);
    fn gfp5_is_equal(&mut self, a: Gfp5Target, b: Gfp5Target) -> BoolTarget;
    /// The inverse of `a`, witnessed and checked by `a * inv == 1` (so `a`
    /// must be non-zero for the circuit to be satisfiable).
    fn gfp5_inverse(&mut self, a: Gfp5Target) -> Gfp5Target;
    /// `a / b`, witnessed and checked by `q * b == a` (unsatisfiable if `b == 0`
    /// and `a != 0`; any `q` passes when both are zero, so callers must exclude
    /// `b == 0`).
    fn gfp5_div(&mut self, a: Gfp5Target, b: Gfp5Target) -> Gfp5Target;
}

impl<F: RichField + Extendable<D>, const D: usize> CircuitBuilderGfp5<F, D> for CircuitBuilder<F, D> {
    fn add_virtual_gfp5_target(&mut self) -> Gfp5Target {
        Gfp5Target(core::array::from_fn(|_| self.add_virtual_target()))
    }

    fn gfp5_constant(&mut self, c: NativeGfp5) -> Gfp5Target {
        let c = native_to_f::<F>(&c);
        Gfp5Target(c.map(|x| self.constant(x)))
    }

    fn gfp5_zero(&mut self) -> Gfp5Target {
        let z = self.zero();
        Gfp5Target([z; 5])
    }

    fn gfp5_one(&mut self) -> Gfp5Target {
        let z = self.zero();
        let o = self.one();
        Gfp5Target([o, z, z, z, z])
    }

    fn gfp5_add(&mut self, a: Gfp5Target, b: Gfp5Target) -> Gfp5Target {
        Gfp5Target(core::array::from_fn(|i| self.add(a.0[i], b.0[i])))
    }

    fn gfp5_sub(&mut self, a: Gfp5Target, b: Gfp5Target) -> Gfp5Target {
        Gfp5Target(core::array::from_fn(|i| self.sub(a.0[i], b.0[i])))
    }

    fn gfp5_neg(&mut self, a: Gfp5Target) -> Gfp5Target {
        Gfp5Target(a.0.map(|x| self.neg(x)))
    }

    fn gfp5_mul_scalar_const(&mut self, a: Gfp5Target, c: F) -> Gfp5Target {
        Gfp5Target(a.0.map(|x| self.mul_const(c, x)))
    }

    fn gfp5_mul_const(&mut self, a: Gfp5Target, c: NativeGfp5) -> Gfp5Target {
        let c = native_to_f::<F>(&c);
        let w = F::from_canonical_u64(W);
        let zero = self.zero();
        let mut out = [zero; 5];
        for (k, o) in out.iter_mut().enumerate() {
            let mut acc = zero;
            for i in 0..5 {
                let j = (k + 5 - i) % 5;
                let coef = if i + j >= 5 { c[j] * w } else { c[j] };
                if coef != F::ZERO {
                    acc = self.mul_const_add(coef, a.0[i], acc);
                }
            }
            *o = acc;
        }
        Gfp5Target(out)
    }

    fn gfp5_add_const(&mut self, a: Gfp5Target, c: NativeGfp5) -> Gfp5Target {
        let c = native_to_f::<F>(&c);
        Gfp5Target(core::array::from_fn(|i| self.add_const(a.0[i], c[i])))
    }

    fn gfp5_mul(&mut self, a: Gfp5Target, b: Gfp5Target) -> Gfp5Target {
        let zero = self.gfp5_zero();
        self.gfp5_mul_add(a, b, zero)
    }

    fn gfp5_mul_add(&mut self, a: Gfp5Target, b: Gfp5Target, c: Gfp5Target) -> Gfp5Target {
        let w = F::from_canonical_u64(W);
        let mut out = c.0;
        for (k, o) in out.iter_mut().enumerate() {
            let mut acc = *o;
            for i in 0..5 {
                let j = (k + 5 - i) % 5;
                let coef = if i + j >= 5 { w } else { F::ONE };
                acc = self.arithmetic(coef, F::ONE, a.0[i], b.0[j], acc);
            }
            *o = acc;
        }
        Gfp5Target(out)
    }

    fn gfp5_square(&mut self, a: Gfp5Target) -> Gfp5Target {
        let [a0, a1, a2, a3, a4] = a.0;
        let one = F::ONE;
        let two = F::TWO;
        let three = F::from_canonical_u64(W);
        let six = F::from_canonical_u64(2 * W);
        let zero = self.zero();
        // c0 = a0^2 + 6 (a1 a4 + a2 a3)
        let c0 = self.arithmetic(one, one, a0, a0, zero);
        let c0 = self.arithmetic(six, one, a1, a4, c0);
        let c0 = self.arithmetic(six, one, a2, a3, c0);
        // c1 = 2 a0 a1 + 3 a3^2 + 6 a2 a4
        let c1 = self.arithmetic(two, one, a0, a1, zero);
        let c1 = self.arithmetic(three, one, a3, a3, c1);
        let c1 = self.arithmetic(six, one, a2, a4, c1);
        // c2 = a1^2 + 2 a0 a2 + 6 a3 a4
        let c2 = self.arithmetic(one, one, a1, a1, zero);
        let c2 = self.arithmetic(two, one, a0, a2, c2);
        let c2 = self.arithmetic(six, one, a3, a4, c2);
        // c3 = 2 a0 a3 + 2 a1 a2 + 3 a4^2
        let c3 = self.arithmetic(two, one, a0, a3, zero);
        let c3 = self.arithmetic(two, one, a1, a2, c3);
        let c3 = self.arithmetic(three, one, a4, a4, c3);
        // c4 = a2^2 + 2 a0 a4 + 2 a1 a3
        let c4 = self.arithmetic(one, one, a2, a2, zero);
        let c4 = self.arithmetic(two, one, a0, a4, c4);
        let c4 = self.arithmetic(two, one, a1, a3, c4);
        Gfp5Target([c0, c1, c2, c3, c4])
    }

    fn gfp5_select(&mut self, b: BoolTarget, x: Gfp5Target, y: Gfp5Target) -> Gfp5Target {
        Gfp5Target(core::array::from_fn(|i| self.select(b, x.0[i], y.0[i])))
    }

    fn gfp5_mul_bool(&mut self, b: BoolTarget, x: Gfp5Target) -> Gfp5Target {
        Gfp5Target(x.0.map(|t| self.mul(b.target, t)))
    }

    fn gfp5_connect(&mut self, a: Gfp5Target, b: Gfp5Target) {
        for i in 0..5 {
            self.connect(a.0[i], b.0[i]);
        }
    }

    fn gfp5_assert_zero(&mut self, a: Gfp5Target) {
        for x in a.0 {
            self.assert_zero(x);
        }
    }

    fn gfp5_is_equal(&mut self, a: Gfp5Target, b: Gfp5Target) -> BoolTarget {
        let mut acc = self._true();
        for i in 0..5 {
            let e = self.is_equal(a.0[i], b.0[i]);
            acc = self.and(acc, e);
        }
        acc
    }

    fn gfp5_inverse(&mut self, a: Gfp5Target) -> Gfp5Target {
        let one = self.gfp5_one();
        self.gfp5_div(one, a)
    }

    fn gfp5_div(&mut self, a: Gfp5Target, b: Gfp5Target) -> Gfp5Target {
        let q = self.add_virtual_gfp5_target();
        self.add_simple_generator(Gfp5DivGenerator { a, b, q });
        let qb = self.gfp5_mul(q, b);
        self.gfp5_connect(qb, a);
        q
    }
}

/// Witnesses `q = a / b` (`q = 0` when `b == 0`: never panics).
#[derive(Debug, Default)]
pub struct Gfp5DivGenerator {
    pub a: Gfp5Target,
    pub b: Gfp5Target,
    pub q: Gfp5Target,
}

impl Default for Gfp5Target {
    fn default() -> Self {
        Gfp5Target([Target::VirtualTarget { index: 0 }; 5])
    }
}

pub(crate) fn read_gfp5<F: RichField>(w: &PartitionWitness<F>, t: &Gfp5Target) -> NativeGfp5 {
    f_to_native(&w.get_targets(&t.0))
}

pub(crate) fn write_gfp5<F: RichField>(
    out: &mut GeneratedValues<F>,
    t: &Gfp5Target,
    v: &NativeGfp5,
) -> anyhow::Result<()> {
    out.set_target_arr(&t.0, &native_to_f::<F>(v))
}

pub(crate) fn write_targets(dst: &mut Vec<u8>, ts: &[Gfp5Target]) -> IoResult<()> {
    let flat: Vec<Target> = ts.iter().flat_map(|t| t.0).collect();
    dst.write_target_vec(&flat)
}

pub(crate) fn read_targets(src: &mut Buffer, n: usize) -> IoResult<Vec<Gfp5Target>> {
    let flat = src.read_target_vec()?;
    if flat.len() != 5 * n {
        return Err(plonky2::util::serialization::IoError);
    }
    Ok(flat.chunks(5).map(|c| Gfp5Target([c[0], c[1], c[2], c[3], c[4]])).collect())
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for Gfp5DivGenerator {
    fn id(&self) -> String {
        "Gfp5DivGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        self.a.0.iter().chain(self.b.0.iter()).copied().collect()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out_buffer: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        let a = read_gfp5(witness, &self.a);
        let b = read_gfp5(witness, &self.b);
        let q = if b == NativeGfp5::ZERO { NativeGfp5::ZERO } else { a * b.inverse() };
        write_gfp5(out_buffer, &self.q, &q)
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        write_targets(dst, &[self.a, self.b, self.q])
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let v = read_targets(src, 3)?;
        Ok(Self { a: v[0], b: v[1], q: v[2] })
    }
}
