//! Scalars: integers modulo the prime order `n` of the EcGFp5 group.
//!
//! n = 1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241
//!   = 0x7FFFFFFD80000007_7FFFFFF100000016_7FFFFFE6CFB80639_E8885C39D724A09C_E80FD996948BFFE1
//! (a 319-bit prime, ePrint 2022/274). A `Scalar` always holds the canonical
//! value in `0..n`, as five little-endian u64 limbs. Arithmetic goes through
//! `num-bigint` (speed is secondary here).

use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};
use std::sync::OnceLock;

use num_bigint::BigUint;
use num_traits::Zero;
use rand::{CryptoRng, RngCore};

/// The group order n as little-endian u64 limbs.
pub const N_LIMBS: [u64; 5] =
    [0xE80F_D996_948B_FFE1, 0xE888_5C39_D724_A09C, 0x7FFF_FFE6_CFB8_0639, 0x7FFF_FFF1_0000_0016, 0x7FFF_FFFD_8000_0007];

/// Errors of strict scalar decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScalarError {
    /// The input does not have exactly [`Scalar::BYTES`] bytes.
    #[error("scalar encoding has {got} bytes, expected {expected}")]
    WrongLength { expected: usize, got: usize },
    /// The encoded integer is not lower than the group order n.
    #[error("scalar encoding is not lower than the group order")]
    OutOfRange,
}

/// An integer modulo the group order n (canonical, in `0..n`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scalar([u64; 5]);

impl core::fmt::Debug for Scalar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Scalar(0x{:x})", self.to_biguint())
    }
}

fn modulus_ref() -> &'static BigUint {
    static N: OnceLock<BigUint> = OnceLock::new();
    N.get_or_init(|| limbs_to_biguint(&N_LIMBS))
}

fn limbs_to_biguint(limbs: &[u64]) -> BigUint {
    let mut bytes = Vec::with_capacity(limbs.len() * 8);
    for l in limbs {
        bytes.extend_from_slice(&l.to_le_bytes());
    }
    BigUint::from_bytes_le(&bytes)
}

impl Scalar {
    /// Length of the byte encoding.
    pub const BYTES: usize = 40;
    /// Bit length of n: every scalar fits in this many bits.
    pub const NUM_BITS: usize = 319;
    /// Zero.
    pub const ZERO: Self = Scalar([0; 5]);
    /// One.
    pub const ONE: Self = Scalar([1, 0, 0, 0, 0]);

    /// The group order n.
    pub fn modulus() -> BigUint {
        modulus_ref().clone()
    }

    /// Reduces any integer modulo n.
    pub fn from_biguint(x: &BigUint) -> Self {
        let r = x % modulus_ref();
        let digits = r.to_u64_digits();
        let mut limbs = [0u64; 5];
        limbs[..digits.len()].copy_from_slice(&digits);
        Scalar(limbs)
    }

    /// The canonical value in `0..n`.
    pub fn to_biguint(&self) -> BigUint {
        limbs_to_biguint(&self.0)
    }

    /// A small integer.
    pub fn from_u64(x: u64) -> Self {
        // Any u64 is below n.
        Scalar([x, 0, 0, 0, 0])
    }

    /// The canonical value as five little-endian u64 limbs.
    pub fn to_u64_limbs(&self) -> [u64; 5] {
        self.0
    }

    /// Strict decoding of five little-endian u64 limbs: `None` if the value is
    /// not lower than n.
    pub fn from_canonical_limbs(limbs: [u64; 5]) -> Option<Self> {
        // Compare from the most significant limb.
        for i in (0..5).rev() {
            if limbs[i] < N_LIMBS[i] {
                return Some(Scalar(limbs));
            }
            if limbs[i] > N_LIMBS[i] {
                return None;
            }
        }
        None // equal to n
    }

    /// Wide reduction of an arbitrary little-endian sequence of u64 limbs.
    pub fn from_noncanonical_limbs(limbs: &[u64]) -> Self {
        Self::from_biguint(&limbs_to_biguint(limbs))
    }

    /// Wide reduction of arbitrary little-endian bytes (use at least 64 random
    /// bytes for a negligible bias).
    pub fn from_noncanonical_bytes(bytes: &[u8]) -> Self {
        Self::from_biguint(&BigUint::from_bytes_le(bytes))
    }

    /// Strict decoding from exactly 40 little-endian bytes; values `>= n` are
    /// rejected.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ScalarError> {
        if bytes.len() != Self::BYTES {
            return Err(ScalarError::WrongLength { expected: Self::BYTES, got: bytes.len() });
        }
        let mut limbs = [0u64; 5];
        for (i, l) in limbs.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[8 * i..8 * i + 8]);
            *l = u64::from_le_bytes(b);
        }
        Self::from_canonical_limbs(limbs).ok_or(ScalarError::OutOfRange)
    }

    /// Canonical 40-byte little-endian encoding.
    pub fn to_bytes(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        for (i, l) in self.0.iter().enumerate() {
            out[8 * i..8 * i + 8].copy_from_slice(&l.to_le_bytes());
        }
        out
    }

    /// A uniformly random scalar (64 random bytes reduced modulo n).
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 64];
        rng.fill_bytes(&mut bytes);
        Self::from_noncanonical_bytes(&bytes)
    }

    /// Whether this is zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 5]
    }

    /// The [`Scalar::NUM_BITS`] = 319 bits of the canonical value, least
    /// significant first.
    pub fn to_bits_le(&self) -> Vec<bool> {
        (0..Self::NUM_BITS).map(|i| (self.0[i / 64] >> (i % 64)) & 1 == 1).collect()
    }

    /// Multiplicative inverse (`None` for zero).
    pub fn inverse(&self) -> Option<Self> {
        if self.is_zero() {
            return None;
        }
        let n = modulus_ref();
        let e = n - 2u32;
        Some(Self::from_biguint(&self.to_biguint().modpow(&e, n)))
    }
}

impl Add for Scalar {
    type Output = Scalar;
    fn add(self, rhs: Scalar) -> Scalar {
        Scalar::from_biguint(&(self.to_biguint() + rhs.to_biguint()))
    }
}

impl Sub for Scalar {
    type Output = Scalar;
    fn sub(self, rhs: Scalar) -> Scalar {
        self + (-rhs)
    }
}

impl Neg for Scalar {
    type Output = Scalar;
    fn neg(self) -> Scalar {
        let v = self.to_biguint();
        if v.is_zero() {
            return self;
        }
        Scalar::from_biguint(&(modulus_ref() - v))
    }
}

impl Mul for Scalar {
    type Output = Scalar;
    fn mul(self, rhs: Scalar) -> Scalar {
        Scalar::from_biguint(&(self.to_biguint() * rhs.to_biguint()))
    }
}

impl AddAssign for Scalar {
    fn add_assign(&mut self, rhs: Scalar) {
        *self = *self + rhs;
    }
}

impl SubAssign for Scalar {
    fn sub_assign(&mut self, rhs: Scalar) {
        *self = *self - rhs;
    }
}

impl MulAssign for Scalar {
    fn mul_assign(&mut self, rhs: Scalar) {
        *self = *self * rhs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn modulus_matches_decimal() {
        let dec: BigUint =
            "1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241"
                .parse()
                .unwrap();
        assert_eq!(Scalar::modulus(), dec);
        assert_eq!(dec.bits(), 319);
    }

    #[test]
    fn strict_decoding() {
        let n_bytes = {
            let mut b = Scalar::modulus().to_bytes_le();
            b.resize(40, 0);
            b
        };
        assert_eq!(Scalar::from_bytes(&n_bytes), Err(ScalarError::OutOfRange));
        let mut nm1 = n_bytes.clone();
        nm1[0] -= 1;
        let s = Scalar::from_bytes(&nm1).unwrap();
        assert_eq!(s, -Scalar::ONE);
        assert_eq!(s.to_bytes().to_vec(), nm1);
        assert_eq!(Scalar::from_bytes(&[0xFF; 40]), Err(ScalarError::OutOfRange));
        assert_eq!(Scalar::from_bytes(&[0; 39]), Err(ScalarError::WrongLength { expected: 40, got: 39 }));
        assert!(Scalar::from_bytes(&[0; 41]).is_err());
        assert_eq!(Scalar::from_bytes(&[0; 40]), Ok(Scalar::ZERO));
    }

    #[test]
    fn arithmetic() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let n = Scalar::modulus();
        for _ in 0..100 {
            let a = Scalar::random(&mut rng);
            let b = Scalar::random(&mut rng);
            let (ab, bb) = (a.to_biguint(), b.to_biguint());
            assert!(ab < n);
            assert_eq!((a + b).to_biguint(), (&ab + &bb) % &n);
            assert_eq!((a - b).to_biguint(), (&ab + &n - &bb) % &n);
            assert_eq!((a * b).to_biguint(), (&ab * &bb) % &n);
            assert_eq!(a + (-a), Scalar::ZERO);
            assert_eq!(Scalar::from_bytes(&a.to_bytes()), Ok(a));
            if let Some(inv) = a.inverse() {
                assert_eq!(a * inv, Scalar::ONE);
            }
            let bits = a.to_bits_le();
            assert_eq!(bits.len(), 319);
            let back = bits.iter().rev().fold(BigUint::zero(), |acc, &bit| (acc << 1u32) + u32::from(bit));
            assert_eq!(back, ab);
            assert_eq!(Scalar::from_noncanonical_limbs(&a.to_u64_limbs()), a);
        }
        // Wide reduction.
        let wide = [0xFFu8; 64];
        let v = BigUint::from_bytes_le(&wide) % &n;
        assert_eq!(Scalar::from_noncanonical_bytes(&wide).to_biguint(), v);
        assert_eq!(Scalar::from_noncanonical_limbs(&[u64::MAX; 8]).to_biguint(), v);
        assert_eq!(Scalar::from_noncanonical_limbs(&N_LIMBS), Scalar::ZERO);
        assert_eq!(-Scalar::ZERO, Scalar::ZERO);
    }
}
