//! The proof file: a small header that names the circuit, then plonky2's proof bytes.
//!
//! Layout: `b"ZKRPROOF"` | version `u8` | kind `u8` (1 = batch) | capacity `u32` LE |
//! circuit digest (4 × u64 LE) | plonky2 `ProofWithPublicInputs::to_bytes()`.
//! Decoding never panics: a wrong magic, version, kind or length is an error, and so is
//! anything plonky2 cannot parse or verify.

use plonky2::field::types::{Field, Field64, PrimeField64};
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::plonk::config::GenericConfig;
use plonky2::plonk::proof::ProofWithPublicInputs;
use thiserror::Error;

use crate::batch::BatchPublicInputs;
use crate::circuit::BatchCircuit;
use crate::config::{Digest, C, D, F};

pub const MAGIC: &[u8; 8] = b"ZKRPROOF";
pub const VERSION: u8 = 1;
pub const KIND_BATCH: u8 = 1;
const HEADER_LEN: usize = 8 + 1 + 1 + 4 + 32;
/// Largest capacity a proof file may name (keeps a hostile header from asking for a huge circuit).
pub const MAX_CAPACITY: u32 = 1024;
/// Fewer proof bytes than any batch proof has (the smallest, capacity 1, takes 103,532 bytes;
/// `zkr verify` of a capacity-1 proof in the CLI tests fails if this ever rises above it).
/// Checked before a reader builds the circuit the header names, so that a few bytes cannot make
/// it build one.
pub const MIN_PROOF_BYTES: usize = 64 * 1024;

#[derive(Debug, Error)]
pub enum ProofFileError {
    #[error("not a zkr proof file: expected it to start with \"ZKRPROOF\"")]
    BadMagic,
    #[error("truncated proof file: {len} bytes, the header alone takes {HEADER_LEN}")]
    Truncated { len: usize },
    #[error("unsupported proof file version {version}: this build reads version {VERSION}")]
    Version { version: u8 },
    #[error("unsupported proof kind {kind}: this build reads batch proofs (kind {KIND_BATCH})")]
    Kind { kind: u8 },
    #[error("batch capacity {capacity} in the header is out of range 1..={MAX_CAPACITY}")]
    Capacity { capacity: u32 },
    #[error("non-canonical circuit digest in the header")]
    Digest,
    #[error("{len} proof bytes after the header, but every batch proof has at least {MIN_PROOF_BYTES}")]
    TooShort { len: usize },
    #[error(
        "the proof was made for circuit {found}, but this build's batch circuit of capacity {capacity} is {expected}"
    )]
    CircuitMismatch { capacity: u32, found: String, expected: String },
    #[error("malformed proof bytes: {reason}")]
    Malformed { reason: String },
    #[error("the proof does not verify: {reason}")]
    Invalid { reason: String },
}

/// A parsed proof file (header checked, proof bytes not yet parsed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofFile {
    pub capacity: u32,
    pub circuit_digest: Digest,
    pub proof_bytes: Vec<u8>,
}

pub fn digest_hex(d: &Digest) -> String {
    d.elements.iter().map(|e| format!("{:016x}", e.to_canonical_u64())).collect()
}

/// The inverse of [`digest_hex`]: 64 hex digits, each group of 16 a canonical field element; `None` otherwise.
pub fn digest_from_hex(s: &str) -> Option<Digest> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut elements = [F::ZERO; 4];
    for (i, e) in elements.iter_mut().enumerate() {
        let v = u64::from_str_radix(&s[16 * i..16 * i + 16], 16).ok()?;
        if v >= F::ORDER {
            return None;
        }
        *e = F::from_canonical_u64(v);
    }
    Some(Digest { elements })
}

impl ProofFile {
    pub fn new(circuit: &BatchCircuit, proof: &ProofWithPublicInputs<F, C, D>) -> Self {
        Self {
            capacity: circuit.capacity as u32,
            circuit_digest: circuit.data.verifier_only.circuit_digest,
            proof_bytes: proof.to_bytes(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.proof_bytes.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(KIND_BATCH);
        out.extend_from_slice(&self.capacity.to_le_bytes());
        for e in self.circuit_digest.elements {
            out.extend_from_slice(&e.to_canonical_u64().to_le_bytes());
        }
        out.extend_from_slice(&self.proof_bytes);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofFileError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ProofFileError::BadMagic);
        }
        if bytes.len() < HEADER_LEN {
            return Err(ProofFileError::Truncated { len: bytes.len() });
        }
        if bytes[8] != VERSION {
            return Err(ProofFileError::Version { version: bytes[8] });
        }
        if bytes[9] != KIND_BATCH {
            return Err(ProofFileError::Kind { kind: bytes[9] });
        }
        let capacity = u32::from_le_bytes(bytes[10..14].try_into().expect("4 bytes"));
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(ProofFileError::Capacity { capacity });
        }
        let mut elements = [F::ZERO; 4];
        for (i, e) in elements.iter_mut().enumerate() {
            let v = u64::from_le_bytes(bytes[14 + 8 * i..22 + 8 * i].try_into().expect("8 bytes"));
            if v >= F::ORDER {
                return Err(ProofFileError::Digest);
            }
            *e = F::from_canonical_u64(v);
        }
        let proof_bytes = &bytes[HEADER_LEN..];
        if proof_bytes.len() < MIN_PROOF_BYTES {
            return Err(ProofFileError::TooShort { len: proof_bytes.len() });
        }
        Ok(Self { capacity, circuit_digest: Digest { elements }, proof_bytes: proof_bytes.to_vec() })
    }

    /// Checks the header against `circuit`, parses and verifies the proof.
    pub fn verify(&self, circuit: &BatchCircuit) -> Result<BatchPublicInputs, ProofFileError> {
        let expected = circuit.data.verifier_only.circuit_digest;
        if self.capacity as usize != circuit.capacity || self.circuit_digest != expected {
            return Err(ProofFileError::CircuitMismatch {
                capacity: circuit.capacity as u32,
                found: digest_hex(&self.circuit_digest),
                expected: digest_hex(&expected),
            });
        }
        let proof = parse_proof(&self.proof_bytes, circuit)?;
        circuit.verify(&proof).map_err(|e| match e {
            crate::circuit::CircuitError::Verify { reason } => ProofFileError::Invalid { reason },
            other => ProofFileError::Invalid { reason: other.to_string() },
        })
    }
}

/// Parses plonky2 proof bytes for a circuit with the given common data. plonky2's reader
/// may panic on some inputs; that is turned into an error here (the message suppressed).
/// The bytes must be exactly the proof's canonical encoding: plonky2's reader would take
/// trailing bytes as extra public inputs or drop a partial one silently.
pub fn parse_proof_bytes(
    bytes: &[u8],
    common: &CommonCircuitData<F, D>,
) -> Result<ProofWithPublicInputs<F, C, D>, ProofFileError> {
    parse_proof_bytes_for::<C>(bytes, common)
}

/// [`parse_proof_bytes`] for a proof of any configuration (the wrap circuit's Keccak one, too).
pub fn parse_proof_bytes_for<Cfg: GenericConfig<D, F = F>>(
    bytes: &[u8],
    common: &CommonCircuitData<F, D>,
) -> Result<ProofWithPublicInputs<F, Cfg, D>, ProofFileError> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ProofWithPublicInputs::<F, Cfg, D>::from_bytes(bytes.to_vec(), common)
    }));
    std::panic::set_hook(prev);
    match r {
        Ok(Ok(p)) => {
            let canonical = p.to_bytes();
            if canonical.len() != bytes.len() {
                return Err(ProofFileError::Malformed {
                    reason: format!(
                        "{} bytes where the proof takes {}: trailing bytes are not accepted",
                        bytes.len(),
                        canonical.len()
                    ),
                });
            }
            if canonical != bytes {
                return Err(ProofFileError::Malformed { reason: "the proof bytes are not canonically encoded".into() });
            }
            Ok(p)
        }
        Ok(Err(e)) => Err(ProofFileError::Malformed { reason: format!("{e:#}") }),
        Err(_) => Err(ProofFileError::Malformed { reason: "plonky2 could not parse the proof".into() }),
    }
}

fn parse_proof(bytes: &[u8], circuit: &BatchCircuit) -> Result<ProofWithPublicInputs<F, C, D>, ProofFileError> {
    parse_proof_bytes(bytes, &circuit.data.common)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ProofFile {
        ProofFile {
            capacity: 4,
            circuit_digest: Digest { elements: [F::ONE, F::TWO, F::ZERO, F::NEG_ONE] },
            proof_bytes: vec![7; MIN_PROOF_BYTES],
        }
    }

    #[test]
    fn header_round_trip_and_rejections() {
        let f = sample();
        let b = f.to_bytes();
        assert_eq!(ProofFile::from_bytes(&b).unwrap(), f);
        assert!(matches!(ProofFile::from_bytes(b"hello"), Err(ProofFileError::BadMagic)));
        assert!(matches!(ProofFile::from_bytes(&b[..20]), Err(ProofFileError::Truncated { len: 20 })));
        // A header that names a capacity, followed by too few bytes to be any proof.
        assert!(matches!(ProofFile::from_bytes(&b[..HEADER_LEN + 10]), Err(ProofFileError::TooShort { len: 10 })));
        let mut v = b.clone();
        v[8] = 9;
        assert!(matches!(ProofFile::from_bytes(&v), Err(ProofFileError::Version { version: 9 })));
        let mut k = b.clone();
        k[9] = 7;
        assert!(matches!(ProofFile::from_bytes(&k), Err(ProofFileError::Kind { kind: 7 })));
        let mut c = b.clone();
        c[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(ProofFile::from_bytes(&c), Err(ProofFileError::Capacity { .. })));
        let mut d = b.clone();
        d[14..22].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(ProofFile::from_bytes(&d), Err(ProofFileError::Digest)));
    }
}
