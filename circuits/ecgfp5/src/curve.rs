//! The EcGFp5 group (Pornin, ePrint 2022/274), natively.
//!
//! # Definition
//!
//! Base field GF(p^5) = GF(p)[z]/(z^5 - 3) ([`Gfp5`]). The curve is the
//! double-odd curve
//!
//! ```text
//!     E : y^2 = x (x^2 + a x + b),   a = 2,  b = 263 z
//! ```
//!
//! of order 2n, n prime (319 bits, see [`crate::scalar`]). The group G is the set
//! of curve points that are *not* n-torsion, i.e. `{ P + N : n P = 0 }` where
//! N = (0, 0) is the only point of order 2. G has prime order n; its neutral
//! element is N, and the group law is `P ⊕ Q = P + Q + N` (curve addition).
//! Negation in G is the curve negation `(x, y) ↦ (x, -y)`.
//!
//! # Representation and formulas (what the gadget must mirror)
//!
//! Points are held in fractional (x, u) coordinates, `u = x / y` (u = 0 for
//! N): `Point { X, Z, U, T }` with `x = X/Z`, `u = U/T`. Z and T are never 0
//! for an element of G. The neutral is `(0 : 1 : 0 : 1)`. The u coordinate
//! alone determines the element (`w = 1/u` is the injective encoding), so
//! equality is `U1 T2 == U2 T1`.
//!
//! Addition is the **complete** 10M formula of the paper (no special case:
//! it is valid for the neutral, for P = Q and for P = -Q):
//!
//! ```text
//! t1 = X1 X2        t2 = Z1 Z2        t3 = U1 U2        t4 = T1 T2
//! t5 = X1 Z2 + X2 Z1                  t6 = U1 T2 + U2 T1
//! t7 = t1 + b t2    t8 = t4 t7        t9 = t3 (2 b t5 + 2 t7)
//! t10 = (t4 + 2 t3)(t5 + t7)
//! X3 = b (t10 - t8)   Z3 = t8 - t9   U3 = t6 (b t2 - t1)   T3 = t8 + t9
//! ```
//!
//! With affine inputs (Z1 = T1 = Z2 = T2 = 1) this gives the affine complete
//! formula `x3 = b (t10 - t7) / (t7 - t9)`, `u3 = (u1 + u2)(b - x1 x2) / (t7 + t9)`
//! where `t7 = x1 x2 + b`, `t9 = u1 u2 (2 b (x1 + x2) + 2 t7)`,
//! `t10 = (1 + 2 u1 u2)(x1 + x2 + t7)`; both denominators are nonzero on G.
//!
//! Doubling (4M + 5S, also complete, equal to `P.add(P)`):
//!
//! ```text
//! t1 = Z T   t2 = t1 T   x1 = t2^2   z1 = t1 U   t3 = U^2
//! w1 = t2 - 2 (X + Z) t3             t4 = z1^2
//! X' = 4 b t4   Z' = w1^2   U' = (w1 + z1)^2 - t4 - Z'   T' = 2 x1 - 4 t4 - Z'
//! ```
//!
//! Scalar multiplication is plain double-and-add, most significant bit first,
//! with the complete formulas above (no table, no special cases).
//!
//! # Encoding and decoding
//!
//! `encode(P) = w = y / x = 1 / u` (so `w = T / U`), and `encode(N) = 0`.
//!
//! Decoding of `w` (exactly as the reference): `w = 0` gives N. Otherwise the
//! point (x, y = w x) lies on the line through N with slope w; dividing the
//! curve equation by x^2 gives
//!
//! ```text
//!     x^2 - (w^2 - a) x + b = 0
//! ```
//!
//! With `e = w^2 - a` and `delta = e^2 - 4 b`: if delta is not a square, `w`
//! is invalid (rejected). Otherwise the roots are `x1 = (e + sqrt(delta))/2`
//! and `x2 = (e - sqrt(delta))/2`, and `x1 x2 = b`. Since b is **not** a
//! square in GF(p^5), exactly one root is a square (delta is never 0). The
//! decoded element is `(x, y = w x)` with **x the non-square root**, i.e.
//! `u = 1/w`.
//!
//! The two roots do NOT give the same group element: the line through N with
//! slope w meets E at N, `Q1 = (x1, w x1)`, `Q2 = (x2, w x2)`, and
//! `N + Q1 + Q2 = 0`. If `Q1 = P + N ∈ G` (x1 non-square), then `Q2 = -P`, an
//! n-torsion point, which is *not* in G; `-Q2 = (x2, -w x2) = P` is the image
//! of the element under the isomorphism to the Weierstraß subgroup below. So a
//! circuit that witnesses a root x of the quadratic must also pin down which
//! root it is, e.g. prove `x = 7 t^2` (7 is a non-square in GF(p^5)) for the
//! non-square root (G picture, `u = 1/w`), or `x = t^2` for the square root
//! (Weierstraß picture via `(x, -w x)`). Either choice, used consistently, is
//! sound; mixing them is not.
//!
//! # Short Weierstraß picture
//!
//! `Ew : Y^2 = X^3 + A X + B` with `A = (3b - a^2)/3` ([`A_W`]),
//! `B = a (2a^2 - 9b)/27` ([`B_W`]). The isomorphism G → Ew[n] (the order-n
//! subgroup, usual chord-and-tangent law) is
//! `(x, y) ↦ (X, Y) = (b/x + a/3, -b y / x^2)` (N ↦ point at infinity); in
//! terms of w: `X = b/x + a/3`, `Y = -b w / x`. Back: `w = Y / (a/3 - X)`.
//! See [`Point::to_weierstrass`], [`Point::from_weierstrass`],
//! [`weierstrass_add`].

use core::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

use plonky2_field::extension::quintic::QuinticExtension;
use plonky2_field::goldilocks_field::GoldilocksField;
use plonky2_field::ops::Square;
use plonky2_field::types::Field;

pub use crate::field::Gfp5;
use crate::field::{gfp5_is_square, gfp5_sqrt};
use crate::scalar::Scalar;

const fn gf(x: u64) -> GoldilocksField {
    GoldilocksField(x)
}

const fn gfp5(c: [u64; 5]) -> Gfp5 {
    QuinticExtension([gf(c[0]), gf(c[1]), gf(c[2]), gf(c[3]), gf(c[4])])
}

/// Curve constant a = 2.
pub const A: Gfp5 = gfp5([2, 0, 0, 0, 0]);
/// Curve constant b = 263 z.
pub const B: Gfp5 = gfp5([0, 263, 0, 0, 0]);
/// a / 3 (used by the Weierstraß map).
pub const A_DIV3: Gfp5 = gfp5([6148914689804861441, 0, 0, 0, 0]);
/// Short Weierstraß constant A = (3b - a^2)/3.
pub const A_W: Gfp5 = gfp5([6148914689804861439, 263, 0, 0, 0]);
/// Short Weierstraß constant B = a (2 a^2 - 9 b)/27.
pub const B_W: Gfp5 = gfp5([15713893096167979237, 6148914689804861265, 0, 0, 0]);
/// A fixed non-square of GF(p^5) (7; its norm 7^5 is a non-square mod p).
pub const NON_SQUARE: Gfp5 = gfp5([7, 0, 0, 0, 0]);

/// An element of the EcGFp5 group G, in fractional (x, u) coordinates
/// (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct Point {
    x: Gfp5,
    z: Gfp5,
    u: Gfp5,
    t: Gfp5,
}

impl PartialEq for Point {
    fn eq(&self, other: &Self) -> bool {
        self.u * other.t == other.u * self.t
    }
}

impl Eq for Point {}

fn inv_or_zero(v: Gfp5) -> Gfp5 {
    v.try_inverse().unwrap_or(Gfp5::ZERO)
}

impl Point {
    /// The neutral element N = (0, 0), encoded as w = 0.
    pub const NEUTRAL: Self = Point { x: Gfp5::ZERO, z: Gfp5::ONE, u: Gfp5::ZERO, t: Gfp5::ONE };

    /// The conventional generator, the element encoded as w = 4
    /// (affine x below, u = 1/4).
    pub const GENERATOR: Self = Point {
        x: gfp5([
            12883135586176881569,
            4356519642755055268,
            5248930565894896907,
            2165973894480315022,
            2448410071095648785,
        ]),
        z: Gfp5::ONE,
        u: Gfp5::ONE,
        t: gfp5([4, 0, 0, 0, 0]),
    };

    /// Builds a point from affine (x, u) coordinates WITHOUT checking it is in
    /// G (for tests and witness generation from trusted data).
    pub fn from_affine_xu_unchecked(x: Gfp5, u: Gfp5) -> Self {
        Point { x, z: Gfp5::ONE, u, t: Gfp5::ONE }
    }

    /// Whether this is the neutral element.
    pub fn is_neutral(&self) -> bool {
        self.u.is_zero()
    }

    /// Complete group addition (10M formula, see the module documentation).
    pub fn add(&self, rhs: &Self) -> Self {
        let (x1, z1, u1, t1_) = (self.x, self.z, self.u, self.t);
        let (x2, z2, u2, t2_) = (rhs.x, rhs.z, rhs.u, rhs.t);
        let t1 = x1 * x2;
        let t2 = z1 * z2;
        let t3 = u1 * u2;
        let t4 = t1_ * t2_;
        let t5 = (x1 + z1) * (x2 + z2) - t1 - t2;
        let t6 = (u1 + t1_) * (u2 + t2_) - t3 - t4;
        let bt2 = B * t2;
        let t7 = t1 + bt2;
        let t8 = t4 * t7;
        let t9 = t3 * (B * t5.double() + t7.double());
        let t10 = (t4 + t3.double()) * (t5 + t7);
        Point { x: B * (t10 - t8), z: t8 - t9, u: t6 * (bt2 - t1), t: t8 + t9 }
    }

    /// Doubling (4M + 5S formula, equal to `self.add(self)`).
    pub fn double(&self) -> Self {
        let t1 = self.z * self.t;
        let t2 = t1 * self.t;
        let x1 = t2.square();
        let z1 = t1 * self.u;
        let t3 = self.u.square();
        let w1 = t2 - (self.x + self.z).double() * t3;
        let t4 = z1.square();
        let z = w1.square();
        Point {
            x: B * t4 * Gfp5::from_canonical_u64(4),
            z,
            u: (w1 + z1).square() - t4 - z,
            t: x1.double() - t4 * Gfp5::from_canonical_u64(4) - z,
        }
    }

    /// Group negation.
    pub fn neg(&self) -> Self {
        Point { u: -self.u, ..*self }
    }

    /// Multiplication by an integer given as little-endian bits.
    pub fn mul_bits_le(&self, bits: &[bool]) -> Self {
        let mut acc = Point::NEUTRAL;
        for &bit in bits.iter().rev() {
            acc = acc.double();
            if bit {
                acc = acc.add(self);
            }
        }
        acc
    }

    /// Multiplication by an arbitrary non-negative integer given as
    /// little-endian u64 limbs (no reduction modulo n needed).
    pub fn mul_limbs(&self, limbs: &[u64]) -> Self {
        let mut acc = Point::NEUTRAL;
        for &limb in limbs.iter().rev() {
            for i in (0..64).rev() {
                acc = acc.double();
                if (limb >> i) & 1 == 1 {
                    acc = acc.add(self);
                }
            }
        }
        acc
    }

    /// Multiplication by a scalar.
    pub fn mul_scalar(&self, s: &Scalar) -> Self {
        self.mul_bits_le(&s.to_bits_le())
    }

    /// `s · GENERATOR`.
    pub fn mulgen(s: &Scalar) -> Self {
        Point::GENERATOR.mul_scalar(s)
    }

    /// The canonical encoding w = y/x = 1/u (0 for the neutral).
    pub fn encode(&self) -> Gfp5 {
        self.t * inv_or_zero(self.u)
    }

    /// Decodes w exactly as the reference (see the module documentation);
    /// `None` if w encodes no element. `decode(0)` is the neutral.
    pub fn decode(w: Gfp5) -> Option<Self> {
        if w.is_zero() {
            return Some(Point::NEUTRAL);
        }
        let e = w.square() - A;
        let delta = e.square() - B * Gfp5::from_canonical_u64(4);
        let r = gfp5_sqrt(&delta)?;
        let half = Gfp5::TWO.inverse();
        let x1 = (e + r) * half;
        let x2 = (e - r) * half;
        let x = if gfp5_is_square(&x1) { x2 } else { x1 };
        Some(Point { x, z: Gfp5::ONE, u: Gfp5::ONE, t: w })
    }

    /// Affine (x, u) coordinates, u = x/y; the neutral is (0, 0).
    pub fn to_affine_xu(&self) -> (Gfp5, Gfp5) {
        (self.x * inv_or_zero(self.z), self.u * inv_or_zero(self.t))
    }

    /// Affine (x, y) coordinates on the double-odd curve
    /// `y^2 = x (x^2 + a x + b)`; the neutral is (0, 0). `y = w x`.
    pub fn to_affine_xy(&self) -> (Gfp5, Gfp5) {
        let (x, _) = self.to_affine_xu();
        (x, x * self.encode())
    }

    /// Image in the order-n subgroup of the short Weierstraß curve
    /// `Y^2 = X^3 + A_W X + B_W`: `(X, Y) = (b/x + a/3, -b w / x)`; `None`
    /// (point at infinity) for the neutral.
    pub fn to_weierstrass(&self) -> Option<(Gfp5, Gfp5)> {
        if self.is_neutral() {
            return None;
        }
        let (x, _) = self.to_affine_xu();
        let w = self.encode();
        let b_over_x = B * x.inverse();
        Some((b_over_x + A_DIV3, -(b_over_x * w)))
    }

    /// Inverse of [`Point::to_weierstrass`]: `None` is the neutral. The input
    /// is NOT checked to lie on Ew or in its order-n subgroup.
    pub fn from_weierstrass(p: Option<(Gfp5, Gfp5)>) -> Self {
        match p {
            None => Point::NEUTRAL,
            // x' = X - a/3 = b/x, u = -x'/Y.
            Some((xw, yw)) => {
                let xp = xw - A_DIV3;
                Point { x: B, z: xp, u: -xp, t: yw }
            }
        }
    }

    /// Whether the (projective) coordinates satisfy the curve equation in
    /// (x, u) form: `u^2 (x^2 + a x + b) = x` (true for the neutral).
    pub fn is_on_curve(&self) -> bool {
        if self.z.is_zero() || self.t.is_zero() {
            return false;
        }
        let (x, u) = self.to_affine_xu();
        u.square() * (x.square() + A * x + B) == x
    }
}

/// Affine addition on the short Weierstraß curve (`None` = infinity), the
/// usual chord-and-tangent law; mirrors [`Point::add`] through
/// [`Point::to_weierstrass`].
pub fn weierstrass_add(p: Option<(Gfp5, Gfp5)>, q: Option<(Gfp5, Gfp5)>) -> Option<(Gfp5, Gfp5)> {
    let (x1, y1) = match p {
        None => return q,
        Some(v) => v,
    };
    let (x2, y2) = match q {
        None => return p,
        Some(v) => v,
    };
    let lambda = if x1 == x2 {
        if y1 != y2 || y1.is_zero() {
            return None;
        }
        (x1.square() * Gfp5::from_canonical_u64(3) + A_W) / y1.double()
    } else {
        (y2 - y1) / (x2 - x1)
    };
    let x3 = lambda.square() - x1 - x2;
    let y3 = lambda * (x1 - x3) - y1;
    Some((x3, y3))
}

impl Add for Point {
    type Output = Point;
    fn add(self, rhs: Point) -> Point {
        Point::add(&self, &rhs)
    }
}

impl Add<&Point> for Point {
    type Output = Point;
    fn add(self, rhs: &Point) -> Point {
        Point::add(&self, rhs)
    }
}

impl AddAssign for Point {
    fn add_assign(&mut self, rhs: Point) {
        *self = Point::add(self, &rhs);
    }
}

impl Sub for Point {
    type Output = Point;
    fn sub(self, rhs: Point) -> Point {
        Point::add(&self, &rhs.neg())
    }
}

impl SubAssign for Point {
    fn sub_assign(&mut self, rhs: Point) {
        *self = *self - rhs;
    }
}

impl Neg for Point {
    type Output = Point;
    fn neg(self) -> Point {
        Point::neg(&self)
    }
}

impl Mul<Scalar> for Point {
    type Output = Point;
    fn mul(self, rhs: Scalar) -> Point {
        self.mul_scalar(&rhs)
    }
}

impl Mul<&Scalar> for &Point {
    type Output = Point;
    fn mul(self, rhs: &Scalar) -> Point {
        self.mul_scalar(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{gfp5_from_u64s, gfp5_legendre};
    use num_bigint::BigUint;
    use plonky2_field::types::Sample;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    // Known-answer vectors from the reference test suite (pornin/ecgfp5,
    // python/ecGFp5.py, TestEcGFp5): P1 random, P2 = e·P1, P3 = P1 + P2,
    // P4 = 2 P1, P5 = 2 P2, P6 = 2 P1 + P2, P7 = P1 + 2 P2.
    const W1: [u64; 5] =
        [12539254003028696409, 15524144070600887654, 15092036948424041984, 11398871370327264211, 10958391180505708567];
    const W2: [u64; 5] =
        [11001943240060308920, 17075173755187928434, 3940989555384655766, 15017795574860011099, 5548543797011402287];
    const W3: [u64; 5] =
        [246872606398642312, 4900963247917836450, 7327006728177203977, 13945036888436667069, 3062018119121328861];
    const W4: [u64; 5] =
        [8058035104653144162, 16041715455419993830, 7448530016070824199, 11253639182222911208, 6228757819849640866];
    const W5: [u64; 5] =
        [10523134687509281194, 11148711503117769087, 9056499921957594891, 13016664454465495026, 16494247923890248266];
    const W6: [u64; 5] =
        [12173306542237620, 6587231965341539782, 17027985748515888117, 17194831817613584995, 10056734072351459010];
    const W7: [u64; 5] =
        [9420857400785992333, 4695934009314206363, 14471922162341187302, 13395190104221781928, 16359223219913018041];
    const BAD: [[u64; 5]; 6] = [
        [13557832913345268708, 15669280705791538619, 8534654657267986396, 12533218303838131749, 5058070698878426028],
        [135036726621282077, 17283229938160287622, 13113167081889323961, 1653240450380825271, 520025869628727862],
        [6727960962624180771, 17240764188796091916, 3954717247028503753, 1002781561619501488, 4295357288570643789],
        [4578929270179684956, 3866930513245945042, 7662265318638150701, 9503686272550423634, 12241691520798116285],
        [16890297404904119082, 6169724643582733633, 9725973298012340311, 5977049210035183790, 11379332130141664883],
        [13777379982711219130, 14715168412651470168, 17942199593791635585, 6188824164976547520, 15461469634034461986],
    ];
    const E_KAT: &str =
        "841809598287430541331763924924406256080383779033370172527955679319982746101779529382447999363236";

    fn dec(w: [u64; 5]) -> Point {
        Point::decode(gfp5_from_u64s(w)).expect("KAT point must decode")
    }

    fn rand_point(rng: &mut ChaCha20Rng) -> Point {
        Point::mulgen(&Scalar::random(rng))
    }

    #[test]
    fn constants() {
        let three = Gfp5::from_canonical_u64(3);
        assert_eq!(A_DIV3, A / three);
        assert_eq!(A_W, (three * B - A.square()) / three);
        assert_eq!(B_W, A * (A.square().double() - Gfp5::from_canonical_u64(9) * B) / Gfp5::from_canonical_u64(27));
        assert_eq!(gfp5_legendre(&B), -1, "b must be a non-square");
        assert_eq!(gfp5_legendre(&NON_SQUARE), -1);
        // The generator is the element encoded as w = 4.
        assert_eq!(Point::GENERATOR.encode(), Gfp5::from_canonical_u64(4));
        let g = Point::decode(Gfp5::from_canonical_u64(4)).unwrap();
        assert_eq!(g, Point::GENERATOR);
        assert_eq!(g.to_affine_xu(), Point::GENERATOR.to_affine_xu());
        assert!(Point::GENERATOR.is_on_curve());
        assert!(Point::NEUTRAL.is_on_curve());
    }

    #[test]
    fn known_answers() {
        let p0 = Point::decode(Gfp5::ZERO).unwrap();
        assert!(p0.is_neutral());
        assert_eq!(p0.encode(), Gfp5::ZERO);
        let ws = [W1, W2, W3, W4, W5, W6, W7];
        let ps: Vec<Point> = ws.iter().map(|&w| dec(w)).collect();
        for (p, &w) in ps.iter().zip(ws.iter()) {
            assert_eq!(p.encode(), gfp5_from_u64s(w));
            assert!(p.is_on_curve());
        }
        let (p1, p2, p3, p4, p5, p6, p7) = (ps[0], ps[1], ps[2], ps[3], ps[4], ps[5], ps[6]);
        assert_eq!((p1 + p2).encode(), p3.encode());
        assert_eq!(p1.double().encode(), p4.encode());
        assert_eq!((p1 + p1).encode(), p4.encode());
        assert_eq!(p2.double().encode(), p5.encode());
        assert_eq!((p2 + p2).encode(), p5.encode());
        assert_eq!((p4 + p2).encode(), p6.encode());
        assert_eq!((p5 + p1).encode(), p7.encode());
        assert_eq!((p1 + p0).encode(), p1.encode());
        assert_eq!((p0 + p1).encode(), p1.encode());
        assert_eq!((p0 + p0).encode(), Gfp5::ZERO);
        assert_eq!((p1 - p1).encode(), Gfp5::ZERO);
        assert_eq!((p1 - (-p2)).encode(), p3.encode());
        let e: BigUint = E_KAT.parse().unwrap();
        let limbs = e.to_u64_digits();
        assert_eq!(p1.mul_limbs(&limbs).encode(), p2.encode());
        assert_eq!(p1.mul_scalar(&Scalar::from_biguint(&e)).encode(), p2.encode());
        for bad in BAD {
            assert!(Point::decode(gfp5_from_u64s(bad)).is_none());
        }
    }

    #[test]
    fn group_laws() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let n_limbs = crate::scalar::N_LIMBS;
        for _ in 0..8 {
            let (p, q, r) = (rand_point(&mut rng), rand_point(&mut rng), rand_point(&mut rng));
            assert_eq!((p + q) + r, p + (q + r));
            assert_eq!(p + q, q + p);
            assert_eq!(p + Point::NEUTRAL, p);
            assert_eq!(p + (-p), Point::NEUTRAL);
            assert!((p - p).is_neutral());
            assert_eq!(p.double(), p + p);
            assert!(p.is_on_curve() && (p + q).is_on_curve() && p.double().is_on_curve());
            assert!(p.mul_limbs(&n_limbs).is_neutral());
            let (a, b) = (Scalar::random(&mut rng), Scalar::random(&mut rng));
            assert_eq!(p * (a + b), p * a + p * b);
            assert_eq!((p + q) * a, p * a + q * a);
            assert_eq!(p * (a * b), (p * a) * b);
            assert_eq!(p * Scalar::ZERO, Point::NEUTRAL);
            assert_eq!(p * Scalar::ONE, p);
            assert_eq!(p * (-Scalar::ONE), -p);
            // mul by an unreduced integer (a + n) equals mul by a.
            let big = a.to_biguint() + Scalar::modulus();
            assert_eq!(p.mul_limbs(&big.to_u64_digits()), p * a);
            // Equality is projective: compare with the affine normal form.
            let s = p + q;
            let (x, u) = s.to_affine_xu();
            assert_eq!(Point::from_affine_xu_unchecked(x, u), s);
            // to_affine_xy lies on y^2 = x (x^2 + a x + b).
            let (x, y) = s.to_affine_xy();
            assert_eq!(y.square(), x * (x.square() + A * x + B));
        }
        assert!(Point::GENERATOR.mul_limbs(&n_limbs).is_neutral());
        assert!(!Point::GENERATOR.is_neutral());
        assert_eq!(Point::NEUTRAL.double(), Point::NEUTRAL);
    }

    #[test]
    fn encode_decode() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let mut rejected = 0;
        for _ in 0..30 {
            let p = rand_point(&mut rng);
            let w = p.encode();
            let q = Point::decode(w).unwrap();
            assert_eq!(q, p);
            assert_eq!(q.encode(), w);
            // The decoded x is the non-square root; the other root is b/x
            // and gives -P (n-torsion, not in G): x1 x2 = b.
            let (x, _) = q.to_affine_xu();
            assert_eq!(gfp5_legendre(&x), -1);
            let other = B / x;
            assert_eq!(gfp5_legendre(&other), 1);
            let e = w.square() - A;
            assert_eq!(other.square() - e * other + B, Gfp5::ZERO);
            assert_eq!(x.square() - e * x + B, Gfp5::ZERO);
            // Random field elements: about half decode, the others must not.
            let r = Gfp5::sample(&mut rng);
            match Point::decode(r) {
                Some(pt) => {
                    assert_eq!(pt.encode(), r);
                    assert!(pt.is_on_curve());
                    assert!(pt.mul_limbs(&crate::scalar::N_LIMBS).is_neutral());
                }
                None => {
                    let delta = (r.square() - A).square() - B * Gfp5::from_canonical_u64(4);
                    assert_eq!(gfp5_legendre(&delta), -1);
                    rejected += 1;
                }
            }
        }
        assert!(rejected > 0);
    }

    #[test]
    fn weierstrass_map() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        assert_eq!(Point::NEUTRAL.to_weierstrass(), None);
        assert_eq!(Point::from_weierstrass(None), Point::NEUTRAL);
        for _ in 0..10 {
            let (p, q) = (rand_point(&mut rng), rand_point(&mut rng));
            let wp = p.to_weierstrass();
            let (xw, yw) = wp.unwrap();
            assert_eq!(yw.square(), xw.square() * xw + A_W * xw + B_W);
            assert_eq!(Point::from_weierstrass(wp), p);
            assert_eq!(Point::from_weierstrass(wp).encode(), p.encode());
            // w = Y / (a/3 - X)
            assert_eq!(p.encode(), yw / (A_DIV3 - xw));
            // Homomorphism (also covers doubling and P + (-P)).
            let wq = q.to_weierstrass();
            assert_eq!(weierstrass_add(wp, wq), (p + q).to_weierstrass());
            assert_eq!(weierstrass_add(wp, wp), p.double().to_weierstrass());
            assert_eq!(weierstrass_add(wp, (-p).to_weierstrass()), None);
            // In the Weierstraß picture the decoded x is the square root of the
            // quadratic, with Y = -w x: x_sq = X - a/3.
            let x_sq = xw - A_DIV3;
            assert_eq!(gfp5_legendre(&x_sq), 1);
            assert_eq!(yw, -(p.encode() * x_sq));
        }
    }
}
