//! Helpers on the base field GF(p^5) = GF(p)[z]/(z^5 - 3), p = 2^64 - 2^32 + 1.
//!
//! The field type itself is plonky2's `QuinticExtension<GoldilocksField>` (its
//! `W` constant is 3, so it is exactly the field of ePrint 2022/274). This module
//! adds what plonky2 does not offer on it: the quadratic character (via the
//! norm to GF(p)) and a square root.
//!
//! Both rely on the identity, for a != 0 and r = 1 + p + p^2 + p^3 + p^4:
//! `a^r = N(a)` lies in GF(p), and `a^((p^5-1)/2) = N(a)^((p-1)/2)`, so `a` is a
//! square in GF(p^5) iff its norm is a square in GF(p).

use plonky2_field::extension::quintic::QuinticExtension;
use plonky2_field::extension::{Frobenius, OEF};
use plonky2_field::goldilocks_field::GoldilocksField;
use plonky2_field::ops::Square;
use plonky2_field::types::{Field, PrimeField, PrimeField64};

/// The Goldilocks prime p = 2^64 - 2^32 + 1.
pub const P: u64 = 0xFFFF_FFFF_0000_0001;

/// The base field of the curve, GF(p^5).
pub type Gfp5 = QuinticExtension<GoldilocksField>;

/// Builds a GF(p^5) element from its five coefficients (of 1, z, .., z^4),
/// each reduced modulo p.
pub fn gfp5_from_u64s(c: [u64; 5]) -> Gfp5 {
    QuinticExtension(c.map(GoldilocksField::from_noncanonical_u64))
}

/// The five canonical coefficients (of 1, z, .., z^4) of `a`.
pub fn gfp5_to_u64s(a: &Gfp5) -> [u64; 5] {
    a.0.map(|c| c.to_canonical_u64())
}

/// The low coefficient of `a * b`, for a product known to lie in GF(p).
fn mul_to_base(a: &Gfp5, b: &Gfp5) -> GoldilocksField {
    let [a0, a1, a2, a3, a4] = a.0;
    let [b0, b1, b2, b3, b4] = b.0;
    a0 * b0 + <Gfp5 as OEF<5>>::W * (a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1)
}

/// The norm of `a` down to GF(p): `a^(1 + p + p^2 + p^3 + p^4)`.
pub fn gfp5_norm(a: &Gfp5) -> GoldilocksField {
    let t0 = a.frobenius(); // a^p
    let t1 = t0 * t0.frobenius(); // a^(p + p^2)
    let t2 = t1 * t1.repeated_frobenius(2); // a^(p + p^2 + p^3 + p^4)
    mul_to_base(a, &t2)
}

/// Legendre symbol of `a` in GF(p^5): 0 for zero, 1 for a nonzero square,
/// -1 for a non-square.
pub fn gfp5_legendre(a: &Gfp5) -> i8 {
    if a.is_zero() {
        return 0;
    }
    if gfp5_norm(a).is_quadratic_residue() {
        1
    } else {
        -1
    }
}

/// Whether `a` is a square in GF(p^5) (zero counts as a square).
pub fn gfp5_is_square(a: &Gfp5) -> bool {
    gfp5_legendre(a) >= 0
}

/// A square root of `a` in GF(p^5), or `None` if `a` is not a square.
/// Which of the two roots comes back is unspecified (callers that care must
/// normalise); `sqrt(0) = Some(0)`.
pub fn gfp5_sqrt(a: &Gfp5) -> Option<Gfp5> {
    if a.is_zero() {
        return Some(Gfp5::ZERO);
    }
    // (r - 1)/2 = p * (1 + p^2) * (p + 1)/2, so with d = a^((p+1)/2):
    // e = (d * d^(p^2))^p = a^((r-1)/2), and a^r = a * e^2 lies in GF(p).
    // Then sqrt(a) = sqrt(a^r) / e.
    let d = a.exp_u64(P.div_ceil(2));
    let e = (d * d.repeated_frobenius(2)).frobenius();
    let g = mul_to_base(a, &e.square());
    let s = g.sqrt()?;
    let r = Gfp5::from(s) * e.inverse();
    debug_assert_eq!(r.square(), *a);
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plonky2_field::types::Sample;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn sqrt_of_squares_and_non_squares() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // 7 is a non-square in GF(p), hence (its norm being 7^5) in GF(p^5).
        let seven = Gfp5::from_canonical_u64(7);
        assert_eq!(gfp5_legendre(&seven), -1);
        assert_eq!(gfp5_sqrt(&Gfp5::ZERO), Some(Gfp5::ZERO));
        assert_eq!(gfp5_legendre(&Gfp5::ZERO), 0);
        for _ in 0..50 {
            let x = Gfp5::sample(&mut rng);
            if x.is_zero() {
                continue;
            }
            let sq = x.square();
            assert_eq!(gfp5_legendre(&sq), 1);
            let r = gfp5_sqrt(&sq).unwrap();
            assert!(r == x || r == -x);
            let ns = sq * seven;
            assert_eq!(gfp5_legendre(&ns), -1);
            assert!(gfp5_sqrt(&ns).is_none());
            // Euler's criterion agrees with the norm-based character.
            let half = (Gfp5::order() - 1u32) / 2u32;
            assert_eq!(ns.exp_biguint(&half), Gfp5::NEG_ONE);
            assert_eq!(sq.exp_biguint(&half), Gfp5::ONE);
        }
    }

    #[test]
    fn norm_is_power_r() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let p = GoldilocksField::order();
        let r = (p.pow(5) - 1u32) / (p - 1u32);
        for _ in 0..5 {
            let x = Gfp5::sample(&mut rng);
            assert_eq!(Gfp5::from(gfp5_norm(&x)), x.exp_biguint(&r));
        }
    }
}
