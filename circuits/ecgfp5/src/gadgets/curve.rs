//! EcGFp5 point gadgets with generic (ArithmeticGate) arithmetic.
//!
//! Points use the fractional (x, u) coordinates of ePrint 2022/274: a group
//! element (the curve point P + N, with N = (0, 0) and n·P = 0) with affine
//! coordinates (x, y) is represented by (X : Z : U : T) with x = X/Z and
//! u = x/y = U/T; the neutral N has u = 0 and is (0 : 1 : 0 : 1). The addition
//! formulas below are the paper's complete formulas (no special case for the
//! neutral or for doubling); for every group element Z != 0 and T != 0.

use plonky2::field::extension::quintic::QuinticExtension;
use plonky2::field::extension::Extendable;
use plonky2::field::ops::Square;
use plonky2::field::types::Field;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartitionWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use super::gfp5::{read_gfp5, read_targets, write_gfp5, write_targets, CircuitBuilderGfp5, Gfp5Target, NativeGfp5};
use crate::field::{gfp5_is_square, gfp5_sqrt};

/// Curve constant `a = 2`.
pub fn curve_a() -> NativeGfp5 {
    QuinticExtension([2u64, 0, 0, 0, 0].map(gl))
}

/// Curve constant `b = 263 z`.
pub fn curve_b() -> NativeGfp5 {
    QuinticExtension([0u64, 263, 0, 0, 0].map(gl))
}

fn gl(x: u64) -> plonky2::field::goldilocks_field::GoldilocksField {
    plonky2::field::goldilocks_field::GoldilocksField::from_canonical_u64(x)
}

/// Affine (x, u) coordinates of the conventional generator (encoding w = 4).
pub fn generator_xu() -> (NativeGfp5, NativeGfp5) {
    let x = QuinticExtension([
        gl(12883135586176881569),
        gl(4356519642755055268),
        gl(5248930565894896907),
        gl(2165973894480315022),
        gl(2448410071095648785),
    ]);
    let u = QuinticExtension([gl(13835058052060938241), gl(0), gl(0), gl(0), gl(0)]);
    (x, u)
}

/// Encoding of the conventional generator.
pub fn generator_w() -> NativeGfp5 {
    QuinticExtension([gl(4), gl(0), gl(0), gl(0), gl(0)])
}

/// A group element in fractional (x, u) coordinates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PointTarget {
    pub x: Gfp5Target,
    pub z: Gfp5Target,
    pub u: Gfp5Target,
    pub t: Gfp5Target,
}

/// A group element in affine (x, u) coordinates (Z = T = 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AffinePointTarget {
    pub x: Gfp5Target,
    pub u: Gfp5Target,
}

/// Native mirror of the gadget formulas (used by witness generators and tests):
/// `(X, Z, U, T)`.
pub type NativePoint = [NativeGfp5; 4];

pub fn native_neutral() -> NativePoint {
    [NativeGfp5::ZERO, NativeGfp5::ONE, NativeGfp5::ZERO, NativeGfp5::ONE]
}

pub fn native_add(p: &NativePoint, q: &NativePoint) -> NativePoint {
    let b = curve_b();
    let [x1, z1, u1, t1] = *p;
    let [x2, z2, u2, t2] = *q;
    let m1 = x1 * x2;
    let m2 = z1 * z2;
    let m3 = u1 * u2;
    let m4 = t1 * t2;
    let m5 = x1 * z2 + x2 * z1;
    let m6 = u1 * t2 + u2 * t1;
    let m7 = m1 + b * m2;
    let m8 = m4 * m7;
    let m9 = m3 * (b * m5.double() + m7.double());
    let m10 = (m4 + m3.double()) * (m5 + m7);
    [b * (m10 - m8), m8 - m9, m6 * (b * m2 - m1), m8 + m9]
}

pub fn native_double(p: &NativePoint) -> NativePoint {
    let b = curve_b();
    let [x, z, u, t] = *p;
    let t1 = z * t;
    let t2 = t1 * t;
    let x1 = t2.square();
    let z1 = t1 * u;
    let t3 = u.square();
    let w1 = t2 - (x + z).double() * t3;
    let t4 = z1.square();
    let four = NativeGfp5::from_canonical_u64(4);
    let zz = w1.square();
    [t4 * b * four, zz, (w1 + z1).square() - t4 - zz, x1.double() - t4 * four - zz]
}

/// Encoding `w = T / U` (0 for the neutral).
pub fn native_encode(p: &NativePoint) -> NativeGfp5 {
    if p[2] == NativeGfp5::ZERO {
        NativeGfp5::ZERO
    } else {
        p[3] * p[2].inverse()
    }
}

/// Witness for decoding: `s` with `s^4 - (w^2 - a) s^2 + b = 0` (see
/// [`CircuitBuilderCurve::curve_decode`]), or `None` if `w` does not decode to
/// a non-neutral element.
pub fn native_decode_witness(w: &NativeGfp5) -> Option<NativeGfp5> {
    let e = w.square() - curve_a();
    let delta = e.square() - curve_b() * NativeGfp5::from_canonical_u64(4);
    let r = gfp5_sqrt(&delta)?;
    let half = NativeGfp5::TWO.inverse();
    let x1 = (e + r) * half;
    let x2 = (e - r) * half;
    let xs = if gfp5_is_square(&x1) { x1 } else { x2 };
    let s = gfp5_sqrt(&xs)?;
    if s == NativeGfp5::ZERO {
        return None;
    }
    Some(s)
}

/// The discriminant `Δ = (w^2 - a)^2 - 4b` of decoding `w`: `w` encodes a non-neutral group element iff it is a
/// square (see [`CircuitBuilderCurve::curve_is_decodable`]).
pub fn native_decoding_discriminant(w: &NativeGfp5) -> NativeGfp5 {
    let e = w.square() - curve_a();
    e.square() - curve_b() * NativeGfp5::from_canonical_u64(4)
}

/// Native decoding mirror: the point `(b : s^2 : 1 : w)`.
pub fn native_decode(w: &NativeGfp5) -> Option<NativePoint> {
    let s = native_decode_witness(w)?;
    Some([curve_b(), s.square(), NativeGfp5::ONE, *w])
}

pub trait CircuitBuilderCurve<F: RichField + Extendable<D>, const D: usize> {
    fn add_virtual_point_target(&mut self) -> PointTarget;
    fn curve_constant(&mut self, p: NativePoint) -> PointTarget;
    fn curve_neutral(&mut self) -> PointTarget;
    fn curve_add(&mut self, p: PointTarget, q: PointTarget) -> PointTarget;
    fn curve_add_affine(&mut self, p: PointTarget, q: AffinePointTarget) -> PointTarget;
    fn curve_double(&mut self, p: PointTarget) -> PointTarget;
    fn curve_select(&mut self, b: BoolTarget, p: PointTarget, q: PointTarget) -> PointTarget;
    /// `b ? p + q : p`.
    fn curve_conditional_add(&mut self, b: BoolTarget, p: PointTarget, q: PointTarget) -> PointTarget;
    /// Equality of group elements: `U1 T2 == U2 T1` (the `u` coordinate
    /// determines the element, as `w = 1/u`).
    fn curve_connect(&mut self, p: PointTarget, q: PointTarget);
    /// The (non-neutral) group element encoded by `w`; unsatisfiable if `w` is
    /// 0 or not a valid encoding.
    fn curve_decode(&mut self, w: Gfp5Target) -> PointTarget;
    /// [`Self::curve_decode`] in affine (x, u) coordinates: x = b / s^2,
    /// u = 1 / w (two witnessed divisions).
    fn curve_decode_affine(&mut self, w: Gfp5Target) -> AffinePointTarget;
    /// Whether `w` encodes a non-neutral group element (what [`Self::curve_decode`] accepts), as a boolean both of
    /// whose values are proven: true with a square root of `Δ = (w^2 - a)^2 - 4b`, false with a square root of `b·Δ`.
    fn curve_is_decodable(&mut self, w: Gfp5Target) -> BoolTarget;
    /// The encoding `w` of `p` (0 for the neutral).
    fn curve_encode(&mut self, p: PointTarget) -> Gfp5Target;
    /// Converts to affine (x, u) with two witnessed inversions.
    fn curve_to_affine(&mut self, p: PointTarget) -> AffinePointTarget;
    /// `s·G + e·q` with `s_bits`, `e_bits` little-endian; Straus–Shamir with
    /// shared doublings, table {N, G, Q, G + Q}.
    fn curve_double_scalar_mul_generic(
        &mut self,
        s_bits: &[BoolTarget],
        q: PointTarget,
        e_bits: &[BoolTarget],
    ) -> PointTarget;
}

fn gfp5_mul_b<F: RichField + Extendable<D>, const D: usize>(
    builder: &mut CircuitBuilder<F, D>,
    a: Gfp5Target,
) -> Gfp5Target {
    builder.gfp5_mul_const(a, curve_b())
}

impl<F: RichField + Extendable<D>, const D: usize> CircuitBuilderCurve<F, D> for CircuitBuilder<F, D> {
    fn add_virtual_point_target(&mut self) -> PointTarget {
        PointTarget {
            x: self.add_virtual_gfp5_target(),
            z: self.add_virtual_gfp5_target(),
            u: self.add_virtual_gfp5_target(),
            t: self.add_virtual_gfp5_target(),
        }
    }

    fn curve_constant(&mut self, p: NativePoint) -> PointTarget {
        PointTarget {
            x: self.gfp5_constant(p[0]),
            z: self.gfp5_constant(p[1]),
            u: self.gfp5_constant(p[2]),
            t: self.gfp5_constant(p[3]),
        }
    }

    fn curve_neutral(&mut self) -> PointTarget {
        self.curve_constant(native_neutral())
    }

    fn curve_add(&mut self, p: PointTarget, q: PointTarget) -> PointTarget {
        let m1 = self.gfp5_mul(p.x, q.x);
        let m2 = self.gfp5_mul(p.z, q.z);
        let m3 = self.gfp5_mul(p.u, q.u);
        let m4 = self.gfp5_mul(p.t, q.t);
        let m5 = self.gfp5_mul(p.x, q.z);
        let m5 = self.gfp5_mul_add(q.x, p.z, m5);
        let m6 = self.gfp5_mul(p.u, q.t);
        let m6 = self.gfp5_mul_add(q.u, p.t, m6);
        add_tail(self, m1, m2, m3, m4, m5, m6)
    }

    fn curve_add_affine(&mut self, p: PointTarget, q: AffinePointTarget) -> PointTarget {
        let m1 = self.gfp5_mul(p.x, q.x);
        let m2 = p.z;
        let m3 = self.gfp5_mul(p.u, q.u);
        let m4 = p.t;
        let m5 = self.gfp5_mul_add(q.x, p.z, p.x);
        let m6 = self.gfp5_mul_add(q.u, p.t, p.u);
        add_tail(self, m1, m2, m3, m4, m5, m6)
    }

    fn curve_double(&mut self, p: PointTarget) -> PointTarget {
        let t1 = self.gfp5_mul(p.z, p.t);
        let t2 = self.gfp5_mul(t1, p.t);
        let x1 = self.gfp5_square(t2);
        let z1 = self.gfp5_mul(t1, p.u);
        let t3 = self.gfp5_square(p.u);
        let xz = self.gfp5_add(p.x, p.z);
        let xz2 = self.gfp5_mul_scalar_const(xz, -F::TWO);
        let w1 = self.gfp5_mul_add(xz2, t3, t2);
        let t4 = self.gfp5_square(z1);
        let four_b = curve_b() * NativeGfp5::from_canonical_u64(4);
        let x = self.gfp5_mul_const(t4, four_b);
        let z = self.gfp5_square(w1);
        // U' = (W1 + Z1)^2 - t4 - Z' = 2 W1 Z1
        let w1z1 = self.gfp5_mul(w1, z1);
        let u = self.gfp5_mul_scalar_const(w1z1, F::TWO);
        // T' = 2 X1 - 4 t4 - Z'
        let t = Gfp5Target(core::array::from_fn(|i| {
            let a = self.mul_const(F::TWO, x1.0[i]);
            let a = self.mul_const_add(-F::from_canonical_u64(4), t4.0[i], a);
            self.sub(a, z.0[i])
        }));
        PointTarget { x, z, u, t }
    }

    fn curve_select(&mut self, b: BoolTarget, p: PointTarget, q: PointTarget) -> PointTarget {
        PointTarget {
            x: self.gfp5_select(b, p.x, q.x),
            z: self.gfp5_select(b, p.z, q.z),
            u: self.gfp5_select(b, p.u, q.u),
            t: self.gfp5_select(b, p.t, q.t),
        }
    }

    fn curve_conditional_add(&mut self, b: BoolTarget, p: PointTarget, q: PointTarget) -> PointTarget {
        let s = self.curve_add(p, q);
        self.curve_select(b, s, p)
    }

    fn curve_connect(&mut self, p: PointTarget, q: PointTarget) {
        let l = self.gfp5_mul(p.u, q.t);
        let r = self.gfp5_mul(q.u, p.t);
        self.gfp5_connect(l, r);
    }

    fn curve_decode(&mut self, w: Gfp5Target) -> PointTarget {
        // Soundness: w = y/x for the group element P + N = (x, y), so x is a
        // root of x^2 - (w^2 - a) x + b = 0. The two roots x1, x2 have product
        // b, which is not a square, so exactly one is a square. The other point
        // of the curve on the line y = w x is -P (in E[n]), whose x is a square
        // (E[n] = 2E[n]); the group element's x = b / x(-P) is the non-square.
        // We witness s with s^2 = x(-P), i.e. s^4 - (w^2 - a) s^2 + b = 0, and
        // take x = b / s^2: no such s exists if the equation has no root
        // (undecodable w) or for w = 0 (a^2 - 4b is not a square), and any s
        // satisfying it yields the unique group element encoded by w. Choosing
        // the other root (x = s^2) is impossible: b / s^2 would then be a
        // square, i.e. b would be a square. In fractional coordinates the
        // point is (b : s^2 : 1 : w): x = b/s^2, u = 1/w.
        let s = self.add_virtual_gfp5_target();
        self.add_simple_generator(DecodeGenerator { w, s });
        let s2 = self.gfp5_square(s);
        let s4 = self.gfp5_square(s2);
        let w2 = self.gfp5_square(w);
        let e = self.gfp5_add_const(w2, -curve_a());
        // s^4 - e s^2 + b == 0
        let es2 = self.gfp5_mul(e, s2);
        let d = self.gfp5_sub(s4, es2);
        let d = self.gfp5_add_const(d, curve_b());
        self.gfp5_assert_zero(d);
        let b = self.gfp5_constant(curve_b());
        let one = self.gfp5_one();
        PointTarget { x: b, z: s2, u: one, t: w }
    }

    fn curve_decode_affine(&mut self, w: Gfp5Target) -> AffinePointTarget {
        let p = self.curve_decode(w);
        self.curve_to_affine(p)
    }

    fn curve_is_decodable(&mut self, w: Gfp5Target) -> BoolTarget {
        // w decodes iff the quadratic t^2 - e t + b (e = w^2 - a) has roots in GF(p^5), i.e. iff its discriminant Δ is
        // a square (see curve_decode: the roots' product b is not a square, so exactly one root is, and it gives s).
        // Δ is never zero (a double root t would have t^2 = b). A witness r with r^2 = Δ proves "square"; with
        // r^2 = b·Δ it proves "not a square" (b is not a square, so b·Δ is a square only for a non-square Δ). w = 0
        // has Δ = a^2 - 4b, not a square: the neutral is refused like any undecodable w.
        let ok = self.add_virtual_bool_target_safe();
        let r = self.add_virtual_gfp5_target();
        self.add_simple_generator(DecodableGenerator { w, ok: ok.target, r });
        let w2 = self.gfp5_square(w);
        let e = self.gfp5_add_const(w2, -curve_a());
        let e2 = self.gfp5_square(e);
        let delta = self.gfp5_add_const(e2, -(curve_b() * NativeGfp5::from_canonical_u64(4)));
        let b_delta = gfp5_mul_b(self, delta);
        let target = self.gfp5_select(ok, delta, b_delta);
        let r2 = self.gfp5_square(r);
        self.gfp5_connect(r2, target);
        ok
    }

    fn curve_encode(&mut self, p: PointTarget) -> Gfp5Target {
        // Witness w and a flag n (1 iff p is the neutral, i.e. U = 0):
        //   n ∈ {0,1};  n·U = 0;  n·w = 0;  w·U = (1 - n)·T.
        // n = 1 forces U = 0 and w = 0. n = 0 forces w·U = T; since T != 0 for
        // every group element, U != 0 and w = T/U is unique.
        let w = self.add_virtual_gfp5_target();
        let n = self.add_virtual_bool_target_safe();
        self.add_simple_generator(EncodeGenerator { u: p.u, t: p.t, w, n: n.target });
        let nu = self.gfp5_mul_bool(n, p.u);
        self.gfp5_assert_zero(nu);
        let nw = self.gfp5_mul_bool(n, w);
        self.gfp5_assert_zero(nw);
        let wu = self.gfp5_mul(w, p.u);
        // (1 - n) T = T - n T
        let rhs = Gfp5Target(core::array::from_fn(|i| self.arithmetic(-F::ONE, F::ONE, n.target, p.t.0[i], p.t.0[i])));
        self.gfp5_connect(wu, rhs);
        w
    }

    fn curve_to_affine(&mut self, p: PointTarget) -> AffinePointTarget {
        let x = self.gfp5_div(p.x, p.z);
        let u = self.gfp5_div(p.u, p.t);
        AffinePointTarget { x, u }
    }

    fn curve_double_scalar_mul_generic(
        &mut self,
        s_bits: &[BoolTarget],
        q: PointTarget,
        e_bits: &[BoolTarget],
    ) -> PointTarget {
        let (gx, gu) = generator_xu();
        let g = self.curve_constant([gx, NativeGfp5::ONE, gu, NativeGfp5::ONE]);
        let gq = self.curve_add(g, q);
        let n = s_bits.len().max(e_bits.len());
        let mut acc = self.curve_neutral();
        let zero = self.gfp5_zero();
        let one = self.gfp5_one();
        for i in (0..n).rev() {
            if i != n - 1 {
                acc = self.curve_double(acc);
            }
            let bs = s_bits.get(i).copied();
            let be = e_bits.get(i).copied();
            // Addend: one of N, G, Q, G + Q.
            let addend = match (bs, be) {
                (None, None) => continue,
                (Some(bs), None) => {
                    let gx_t = self.gfp5_constant(gx);
                    let gu_t = self.gfp5_constant(gu);
                    PointTarget { x: self.gfp5_mul_bool(bs, gx_t), z: one, u: self.gfp5_mul_bool(bs, gu_t), t: one }
                }
                (None, Some(be)) => {
                    let nt = self.curve_neutral();
                    self.curve_select(be, q, nt)
                }
                (Some(bs), Some(be)) => {
                    let nt = self.curve_neutral();
                    let lo = self.curve_select(bs, g, nt);
                    let hi = self.curve_select(bs, gq, q);
                    self.curve_select(be, hi, lo)
                }
            };
            let _ = zero;
            acc = self.curve_add(acc, addend);
        }
        acc
    }
}

/// Common tail of the addition formulas, given
/// m1 = X1X2, m2 = Z1Z2, m3 = U1U2, m4 = T1T2, m5 = X1Z2 + X2Z1, m6 = U1T2 + U2T1.
fn add_tail<F: RichField + Extendable<D>, const D: usize>(
    builder: &mut CircuitBuilder<F, D>,
    m1: Gfp5Target,
    m2: Gfp5Target,
    m3: Gfp5Target,
    m4: Gfp5Target,
    m5: Gfp5Target,
    m6: Gfp5Target,
) -> PointTarget {
    let bm2 = gfp5_mul_b(builder, m2);
    let m7 = builder.gfp5_add(m1, bm2);
    let m8 = builder.gfp5_mul(m4, m7);
    // 2b m5 + 2 m7
    let bm5 = gfp5_mul_b(builder, m5);
    let s = builder.gfp5_add(bm5, m7);
    let s = builder.gfp5_mul_scalar_const(s, F::TWO);
    let m9 = builder.gfp5_mul(m3, s);
    // (m4 + 2 m3)(m5 + m7)
    let l = Gfp5Target(core::array::from_fn(|i| builder.mul_const_add(F::TWO, m3.0[i], m4.0[i])));
    let r = builder.gfp5_add(m5, m7);
    let m10 = builder.gfp5_mul(l, r);
    let d = builder.gfp5_sub(m10, m8);
    let x = gfp5_mul_b(builder, d);
    let z = builder.gfp5_sub(m8, m9);
    let bm1 = builder.gfp5_sub(bm2, m1);
    let u = builder.gfp5_mul(m6, bm1);
    let t = builder.gfp5_add(m8, m9);
    PointTarget { x, z, u, t }
}

/// Witnesses the decoding root `s` (0 when `w` is not decodable: the
/// constraints then fail, the generator does not panic).
#[derive(Debug, Default)]
pub struct DecodeGenerator {
    pub w: Gfp5Target,
    pub s: Gfp5Target,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for DecodeGenerator {
    fn id(&self) -> String {
        "EcGFp5DecodeGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        self.w.0.to_vec()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out_buffer: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        let w = read_gfp5(witness, &self.w);
        let s = native_decode_witness(&w).unwrap_or(NativeGfp5::ZERO);
        write_gfp5(out_buffer, &self.s, &s)
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        write_targets(dst, &[self.w, self.s])
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let v = read_targets(src, 2)?;
        Ok(Self { w: v[0], s: v[1] })
    }
}

/// Witnesses whether `w` decodes and the square root that proves it (of `Δ`, or of `b·Δ` when it does not).
#[derive(Debug, Default)]
pub struct DecodableGenerator {
    pub w: Gfp5Target,
    pub ok: Target,
    pub r: Gfp5Target,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for DecodableGenerator {
    fn id(&self) -> String {
        "EcGFp5DecodableGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        self.w.0.to_vec()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out_buffer: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        let delta = native_decoding_discriminant(&read_gfp5(witness, &self.w));
        let (ok, r) = match gfp5_sqrt(&delta) {
            Some(r) => (true, r),
            // b·Δ is a square exactly when Δ is not
            None => (false, gfp5_sqrt(&(curve_b() * delta)).unwrap_or(NativeGfp5::ZERO)),
        };
        out_buffer.set_target(self.ok, F::from_bool(ok))?;
        write_gfp5(out_buffer, &self.r, &r)
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        write_targets(dst, &[self.w, self.r])?;
        dst.write_target(self.ok)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let v = read_targets(src, 2)?;
        let ok = src.read_target()?;
        Ok(Self { w: v[0], ok, r: v[1] })
    }
}

/// Witnesses the encoding `w = T/U` and the neutral flag.
#[derive(Debug, Default)]
pub struct EncodeGenerator {
    pub u: Gfp5Target,
    pub t: Gfp5Target,
    pub w: Gfp5Target,
    pub n: Target,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for EncodeGenerator {
    fn id(&self) -> String {
        "EcGFp5EncodeGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        self.u.0.iter().chain(self.t.0.iter()).copied().collect()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out_buffer: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        let u = read_gfp5(witness, &self.u);
        let t = read_gfp5(witness, &self.t);
        let (w, n) = if u == NativeGfp5::ZERO { (NativeGfp5::ZERO, F::ONE) } else { (t * u.inverse(), F::ZERO) };
        write_gfp5(out_buffer, &self.w, &w)?;
        out_buffer.set_target(self.n, n)
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        write_targets(dst, &[self.u, self.t, self.w])?;
        dst.write_target(self.n)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let v = read_targets(src, 3)?;
        let n = src.read_target()?;
        Ok(Self { u: v[0], t: v[1], w: v[2], n })
    }
}
