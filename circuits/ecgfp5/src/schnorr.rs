//! Schnorr signatures over EcGFp5 with a Poseidon challenge.
//!
//! - Secret key: a nonzero [`Scalar`] x. Public key: the encoding w of
//!   `X = x·G` ([`PublicKey`] holds w; the neutral, w = 0, is never a valid key).
//! - Challenge: `e = PoseidonHash::hash_no_pad(encode(R)[0..5] ‖ w[0..5] ‖ msg[0..4])`
//!   (plonky2's `hash_n_to_hash_no_pad`, 14 field elements in, 4 out); the GF(p^5)
//!   elements enter as their 5 coefficients (of 1, z, .., z^4). See [`challenge`].
//! - Challenge integer: `E = Σ_{i<4} e_i · 2^(64 i)` with each e_i canonical
//!   (`< p`), so `E < 2^256 < n`: E is both the integer and its own residue mod n.
//! - Signing: deterministic nonce k (see [`SecretKey::sign`]), `R = k·G`,
//!   `s = k - E·x mod n`, signature `(e, s)`.
//! - Verification: `R' = s·G + E·X`, accept iff `challenge(encode(R'), pk, msg) == e`.
//!   Nothing else is checked (R' may be the neutral; its encoding is then 0).

use plonky2::hash::hash_types::HashOut;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::config::Hasher;
use plonky2_field::extension::quintic::QuinticExtension;
use plonky2_field::goldilocks_field::GoldilocksField;
use plonky2_field::types::{Field, PrimeField64};
use rand::{CryptoRng, RngCore};

use crate::curve::{Gfp5, Point};
use crate::field::P;
use crate::scalar::Scalar;

type F = GoldilocksField;

/// Domain separation tag of the nonce derivation (first input element).
const NONCE_TAG: u64 = 0x6e6f_6e63_655f_7631; // "nonce_v1"

/// Errors of key/signature decoding and verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchnorrError {
    /// A byte string has the wrong length.
    #[error("{what}: wrong length {got}, expected {expected}")]
    WrongLength { what: &'static str, expected: usize, got: usize },
    /// A 64-bit field element encoding is `>= p`.
    #[error("{what}: field element {index} is not canonical")]
    NonCanonicalField { what: &'static str, index: usize },
    /// A scalar encoding is `>= n`.
    #[error("scalar is not lower than the group order")]
    ScalarOutOfRange,
    /// The public key w does not decode to a group element.
    #[error("public key does not decode to a curve point")]
    InvalidPoint,
    /// The public key is the neutral element (w = 0).
    #[error("public key is the neutral element")]
    NeutralPublicKey,
    /// The secret key is zero.
    #[error("secret key is zero")]
    ZeroSecretKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
}

/// Reads `N` canonical little-endian u64 field elements.
fn read_fields<const N: usize>(what: &'static str, bytes: &[u8]) -> Result<[F; N], SchnorrError> {
    if bytes.len() != 8 * N {
        return Err(SchnorrError::WrongLength { what, expected: 8 * N, got: bytes.len() });
    }
    let mut out = [F::ZERO; N];
    for (index, o) in out.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[8 * index..8 * index + 8]);
        let v = u64::from_le_bytes(b);
        if v >= P {
            return Err(SchnorrError::NonCanonicalField { what, index });
        }
        *o = F::from_canonical_u64(v);
    }
    Ok(out)
}

/// The challenge `H(r_enc ‖ pk ‖ msg)` (Poseidon, no padding, 14 elements in).
pub fn challenge(r_enc: Gfp5, pk: &PublicKey, msg: &HashOut<F>) -> [F; 4] {
    let mut input = Vec::with_capacity(14);
    input.extend_from_slice(&r_enc.0);
    input.extend_from_slice(&pk.0 .0);
    input.extend_from_slice(&msg.elements);
    PoseidonHash::hash_no_pad(&input).elements
}

/// The challenge integer `E = Σ e_i 2^(64 i)` (e_i canonical) as a scalar
/// (`E < 2^256 < n`, so no reduction happens).
pub fn challenge_scalar(e: &[F; 4]) -> Scalar {
    let limbs = e.map(|v| v.to_canonical_u64());
    Scalar::from_noncanonical_limbs(&limbs)
}

/// A secret key: a nonzero scalar.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Scalar);

impl core::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A uniformly random nonzero secret key.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        loop {
            let s = Scalar::random(rng);
            if !s.is_zero() {
                return SecretKey(s);
            }
        }
    }

    /// Wraps a scalar (`ZeroSecretKey` if it is zero).
    pub fn from_scalar(s: Scalar) -> Result<Self, SchnorrError> {
        if s.is_zero() {
            return Err(SchnorrError::ZeroSecretKey);
        }
        Ok(SecretKey(s))
    }

    /// The secret scalar.
    pub fn scalar(&self) -> Scalar {
        self.0
    }

    /// Strict decoding: 40 bytes, little-endian, `< n`, nonzero.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SchnorrError> {
        if bytes.len() != Scalar::BYTES {
            return Err(SchnorrError::WrongLength { what: "secret key", expected: Scalar::BYTES, got: bytes.len() });
        }
        let s = Scalar::from_bytes(bytes).map_err(|_| SchnorrError::ScalarOutOfRange)?;
        Self::from_scalar(s)
    }

    /// 40-byte little-endian encoding.
    pub fn to_bytes(&self) -> [u8; 40] {
        self.0.to_bytes()
    }

    /// The public key `encode(x·G)`.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(Point::mulgen(&self.0).encode())
    }

    /// Deterministic nonce: the secret key split into ten 32-bit limbs,
    /// hashed with the message and a counter into 2 × 4 Poseidon outputs
    /// h_0..h_7 (each canonical, < p), `k = Σ h_i p^i mod n` (uniform over
    /// `0..p^8`, ~2^-193 statistical distance to uniform mod n); a zero k is
    /// skipped by bumping the counter.
    fn nonce(&self, msg: &HashOut<F>) -> Scalar {
        let limbs = self.0.to_u64_limbs();
        let mut counter = 0u64;
        loop {
            let mut h = Vec::with_capacity(8);
            for half in 0..2u64 {
                let mut input = Vec::with_capacity(17);
                input.push(F::from_canonical_u64(NONCE_TAG));
                input.push(F::from_canonical_u64(2 * counter + half));
                for l in limbs {
                    input.push(F::from_canonical_u64(l & 0xFFFF_FFFF));
                    input.push(F::from_canonical_u64(l >> 32));
                }
                input.extend_from_slice(&msg.elements);
                h.extend(PoseidonHash::hash_no_pad(&input).elements);
            }
            // Horner evaluation of Σ h_i p^i.
            let pp = Scalar::from_u64(P);
            let mut k = Scalar::ZERO;
            for v in h.iter().rev() {
                k = k * pp + Scalar::from_u64(v.to_canonical_u64());
            }
            if !k.is_zero() {
                return k;
            }
            counter += 1;
        }
    }

    /// Deterministic signature of `msg`.
    pub fn sign(&self, msg: &HashOut<F>) -> Signature {
        let pk = self.public_key();
        let k = self.nonce(msg);
        let r = Point::mulgen(&k);
        let e = challenge(r.encode(), &pk, msg);
        let s = k - challenge_scalar(&e) * self.0;
        Signature { e, s }
    }
}

/// A public key: the encoding w of `x·G`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey(pub Gfp5);

impl PublicKey {
    /// Length of the byte encoding.
    pub const BYTES: usize = 40;

    /// The 5 coefficients of w.
    pub fn to_fields(&self) -> [F; 5] {
        self.0 .0
    }

    /// From the 5 coefficients of w (not validated; see [`PublicKey::point`]).
    pub fn from_fields(f: [F; 5]) -> Self {
        PublicKey(QuinticExtension(f))
    }

    /// 5 canonical little-endian u64 (40 bytes).
    pub fn to_bytes(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        for (i, c) in self.0 .0.iter().enumerate() {
            out[8 * i..8 * i + 8].copy_from_slice(&c.to_canonical_u64().to_le_bytes());
        }
        out
    }

    /// Strict decoding: length, canonical coefficients, w decodes to a point,
    /// and that point is not the neutral.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SchnorrError> {
        let f = read_fields::<5>("public key", bytes)?;
        let pk = Self::from_fields(f);
        pk.point()?;
        Ok(pk)
    }

    /// Checks only the length and canonical coefficients, not that w is a point: an L1 deposit
    /// carries whatever key its sender gave, and the L2 must still be able to process it (an
    /// unusable key only locks that deposit's funds, it must not stall the priority queue).
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, SchnorrError> {
        Ok(Self::from_fields(read_fields::<5>("public key", bytes)?))
    }

    /// The decoded group element; errors on an invalid w or the neutral.
    pub fn point(&self) -> Result<Point, SchnorrError> {
        if self.0.is_zero() {
            return Err(SchnorrError::NeutralPublicKey);
        }
        Point::decode(self.0).ok_or(SchnorrError::InvalidPoint)
    }

    /// Verifies `sig` on `msg`.
    pub fn verify(&self, msg: &HashOut<F>, sig: &Signature) -> Result<(), SchnorrError> {
        let x = self.point()?;
        let big_e = challenge_scalar(&sig.e);
        let r = Point::mulgen(&sig.s) + x.mul_scalar(&big_e);
        let e2 = challenge(r.encode(), self, msg);
        if e2 == sig.e {
            Ok(())
        } else {
            Err(SchnorrError::BadSignature)
        }
    }
}

/// A signature in challenge form `(e, s)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The challenge (4 field elements).
    pub e: [F; 4],
    /// The response scalar.
    pub s: Scalar,
}

impl Signature {
    /// Length of the byte encoding.
    pub const BYTES: usize = 72;

    /// e as 4 canonical LE u64, then s as 40 LE bytes.
    pub fn to_bytes(&self) -> [u8; 72] {
        let mut out = [0u8; 72];
        for (i, c) in self.e.iter().enumerate() {
            out[8 * i..8 * i + 8].copy_from_slice(&c.to_canonical_u64().to_le_bytes());
        }
        out[32..].copy_from_slice(&self.s.to_bytes());
        out
    }

    /// Strict decoding (length, `e_i < p`, `s < n`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SchnorrError> {
        if bytes.len() != Self::BYTES {
            return Err(SchnorrError::WrongLength { what: "signature", expected: Self::BYTES, got: bytes.len() });
        }
        let e = read_fields::<4>("signature challenge", &bytes[..32])?;
        let s = Scalar::from_bytes(&bytes[32..]).map_err(|_| SchnorrError::ScalarOutOfRange)?;
        Ok(Signature { e, s })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curve::B;
    use plonky2_field::types::Sample;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn rand_msg(rng: &mut ChaCha20Rng) -> HashOut<F> {
        HashOut { elements: [F::sample(rng), F::sample(rng), F::sample(rng), F::sample(rng)] }
    }

    #[test]
    fn sign_verify_round_trip() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        for _ in 0..10 {
            let sk = SecretKey::random(&mut rng);
            let pk = sk.public_key();
            let msg = rand_msg(&mut rng);
            let sig = sk.sign(&msg);
            assert_eq!(pk.verify(&msg, &sig), Ok(()));
            // Deterministic.
            assert_eq!(sk.sign(&msg), sig);
            // The challenge recomputes from R = s G + E X.
            let r = Point::mulgen(&sig.s) + pk.point().unwrap() * challenge_scalar(&sig.e);
            assert_eq!(challenge(r.encode(), &pk, &msg), sig.e);
            // Serialisation round trips.
            assert_eq!(Signature::from_bytes(&sig.to_bytes()), Ok(sig));
            assert_eq!(PublicKey::from_bytes(&pk.to_bytes()), Ok(pk));
            assert_eq!(PublicKey::from_fields(pk.to_fields()), pk);
            assert_eq!(SecretKey::from_bytes(&sk.to_bytes()), Ok(sk.clone()));
            // Another message or key fails.
            let msg2 = rand_msg(&mut rng);
            assert_eq!(pk.verify(&msg2, &sig), Err(SchnorrError::BadSignature));
            let pk2 = SecretKey::random(&mut rng).public_key();
            assert_eq!(pk2.verify(&msg, &sig), Err(SchnorrError::BadSignature));
        }
    }

    #[test]
    fn challenge_integer_is_plain() {
        let e = [F::NEG_ONE; 4];
        let big = challenge_scalar(&e).to_biguint();
        let p = num_bigint::BigUint::from(P);
        let mut expect = num_bigint::BigUint::from(0u32);
        for i in 0..4u32 {
            expect += (&p - 1u32) << (64 * i);
        }
        assert_eq!(big, expect);
    }

    #[test]
    fn flipped_bits_are_rejected() {
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        let sk = SecretKey::random(&mut rng);
        let pk = sk.public_key();
        let msg = rand_msg(&mut rng);
        let sig = sk.sign(&msg);
        // Message bits (in the canonical u64 of each element; a flip may make
        // the value non-canonical, which reduces to another element anyway).
        for i in 0..4 {
            for bit in [0, 1, 31, 32, 63] {
                let mut m = msg;
                let v = m.elements[i].to_canonical_u64() ^ (1 << bit);
                m.elements[i] = F::from_noncanonical_u64(v);
                if m == msg {
                    continue;
                }
                assert_eq!(pk.verify(&m, &sig), Err(SchnorrError::BadSignature));
            }
        }
        // Every byte position of the signature: either the encoding is
        // rejected or the signature does not verify.
        let sb = sig.to_bytes();
        for pos in 0..sb.len() {
            for bit in [0u8, 7] {
                let mut b = sb;
                b[pos] ^= 1 << bit;
                if let Ok(s2) = Signature::from_bytes(&b) {
                    assert!(pk.verify(&msg, &s2).is_err(), "pos {pos}");
                }
            }
        }
        // Every byte position of the public key.
        let pb = pk.to_bytes();
        for pos in 0..pb.len() {
            for bit in [0u8, 3, 7] {
                let mut b = pb;
                b[pos] ^= 1 << bit;
                if let Ok(pk2) = PublicKey::from_bytes(&b) {
                    assert!(pk2.verify(&msg, &sig).is_err(), "pos {pos}");
                }
            }
        }
    }

    #[test]
    fn non_canonical_encodings_are_rejected() {
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        let sk = SecretKey::random(&mut rng);
        let pk = sk.public_key();
        let msg = rand_msg(&mut rng);
        let sig = sk.sign(&msg);

        // Wrong lengths.
        for len in [0, 39, 41, 80] {
            assert!(matches!(
                PublicKey::from_bytes(&vec![0u8; len]),
                Err(SchnorrError::WrongLength { got, expected: 40, .. }) if got == len
            ));
            assert!(matches!(
                SecretKey::from_bytes(&vec![1u8; len]),
                Err(SchnorrError::WrongLength { got, expected: 40, .. }) if got == len
            ));
        }
        for len in [0, 71, 73] {
            assert!(matches!(
                Signature::from_bytes(&vec![0u8; len]),
                Err(SchnorrError::WrongLength { got, expected: 72, .. }) if got == len
            ));
        }

        // Non-canonical field elements: v + p encodes the same element.
        for i in 0..5 {
            let mut b = pk.to_bytes();
            let mut le = [0u8; 8];
            le.copy_from_slice(&b[8 * i..8 * i + 8]);
            let v = u64::from_le_bytes(le);
            if let Some(v2) = v.checked_add(P) {
                b[8 * i..8 * i + 8].copy_from_slice(&v2.to_le_bytes());
                assert_eq!(
                    PublicKey::from_bytes(&b),
                    Err(SchnorrError::NonCanonicalField { what: "public key", index: i })
                );
            }
            let mut b = pk.to_bytes();
            b[8 * i..8 * i + 8].copy_from_slice(&u64::MAX.to_le_bytes());
            assert!(matches!(
                PublicKey::from_bytes(&b),
                Err(SchnorrError::NonCanonicalField { index, .. }) if index == i
            ));
        }
        for i in 0..4 {
            let mut b = sig.to_bytes();
            b[8 * i..8 * i + 8].copy_from_slice(&P.to_le_bytes());
            assert!(matches!(
                Signature::from_bytes(&b),
                Err(SchnorrError::NonCanonicalField { index, .. }) if index == i
            ));
        }

        // s >= n.
        let mut n_bytes = Scalar::modulus().to_bytes_le();
        n_bytes.resize(40, 0);
        let mut b = sig.to_bytes();
        b[32..].copy_from_slice(&n_bytes);
        assert_eq!(Signature::from_bytes(&b), Err(SchnorrError::ScalarOutOfRange));
        b[32..].copy_from_slice(&[0xFF; 40]);
        assert_eq!(Signature::from_bytes(&b), Err(SchnorrError::ScalarOutOfRange));
        // s = n - 1 is accepted by the decoder (but does not verify).
        n_bytes[0] -= 1;
        b[32..].copy_from_slice(&n_bytes);
        let s2 = Signature::from_bytes(&b).unwrap();
        assert_eq!(pk.verify(&msg, &s2), Err(SchnorrError::BadSignature));

        // Secret keys: zero and >= n.
        assert_eq!(SecretKey::from_bytes(&[0u8; 40]), Err(SchnorrError::ZeroSecretKey));
        assert_eq!(SecretKey::from_scalar(Scalar::ZERO), Err(SchnorrError::ZeroSecretKey));
        let mut n_bytes = Scalar::modulus().to_bytes_le();
        n_bytes.resize(40, 0);
        assert_eq!(SecretKey::from_bytes(&n_bytes), Err(SchnorrError::ScalarOutOfRange));

        // Neutral public key: rejected by decoding and by verification.
        assert_eq!(PublicKey::from_bytes(&[0u8; 40]), Err(SchnorrError::NeutralPublicKey));
        let neutral = PublicKey(Gfp5::ZERO);
        assert_eq!(neutral.verify(&msg, &sig), Err(SchnorrError::NeutralPublicKey));

        // A w that decodes to no point.
        let mut found = 0;
        for _ in 0..20 {
            let w = Gfp5::sample(&mut rng);
            if Point::decode(w).is_none() {
                let bad = PublicKey(w);
                assert_eq!(PublicKey::from_bytes(&bad.to_bytes()), Err(SchnorrError::InvalidPoint));
                assert_eq!(bad.verify(&msg, &sig), Err(SchnorrError::InvalidPoint));
                found += 1;
            }
        }
        assert!(found > 0);
        // b itself: w = b is some field element; whatever it is, no panic.
        let _ = PublicKey::from_bytes(&PublicKey(B).to_bytes());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = PublicKey::from_bytes(&bytes);
            let _ = SecretKey::from_bytes(&bytes);
            let _ = Signature::from_bytes(&bytes);
            if bytes.len() >= 72 {
                if let (Ok(pk), Ok(sig)) = (PublicKey::from_bytes(&bytes[..40]), Signature::from_bytes(&bytes[..72])) {
                    let msg = HashOut { elements: [F::ONE; 4] };
                    prop_assert!(pk.verify(&msg, &sig).is_err());
                }
            }
        }

        #[test]
        fn sign_verify_prop(seed in any::<u64>(), m in proptest::array::uniform4(0u64..P)) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let sk = SecretKey::random(&mut rng);
            let msg = HashOut { elements: m.map(F::from_canonical_u64) };
            let sig = sk.sign(&msg);
            prop_assert_eq!(sk.public_key().verify(&msg, &sig), Ok(()));
        }
    }
}
