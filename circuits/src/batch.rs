//! A batch: a fixed number of transaction slots (padding with no-ops), its public inputs
//! and the commitments to its pubdata, deposits and withdrawals, computed natively.

use plonky2::field::types::{Field, PrimeField64};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::{Digest, F, ZERO_DIGEST};
use crate::state::{FeeTrace, State, TxError, TxTrace};
use crate::tx::{layout, Domain, SignedTx, TAG_FORCED_EXIT, TAG_WITHDRAW, TX_FIELDS};

/// Number of public inputs of a batch proof.
pub const NUM_PUBLIC_INPUTS: usize = 24;

/// Bytes of a batch header in the data chain: chain id (u64), rollup id (u64), fee account (u32), big-endian.
pub const HEADER_BYTES: usize = 20;

/// The batch statement's public inputs, in circuit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPublicInputs {
    pub old_root: Digest,
    pub new_root: Digest,
    /// The data chain's digest before the batch (the previous batch's `data_out`; zero before the first batch).
    pub data_in: [u8; 32],
    /// [`chain_data`]`(data_in, header, records)`: Keccak-256 over the digest before, the batch header and the batch's
    /// compact records, which the L1 contract recomputes from the calldata it is given.
    pub data_out: [u8; 32],
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PublicInputsError {
    #[error("wrong number of public inputs: expected {expected}, got {got}")]
    WrongCount { expected: usize, got: usize },
    #[error("public input {index} is a data-digest limb above 32 bits: {value}")]
    LimbTooLarge { index: usize, value: u64 },
}

/// A 32-byte digest as eight 32-bit big-endian limbs (limb 0 the most significant), as the circuit exposes it.
pub fn digest_to_limbs(d: &[u8; 32]) -> [F; 8] {
    zkr_keccak::native::digest_limbs(d).map(F::from_canonical_u32)
}

impl BatchPublicInputs {
    pub fn to_fields(&self) -> Vec<F> {
        let mut v: Vec<F> = [self.old_root, self.new_root].iter().flat_map(|d| d.elements).collect();
        v.extend(digest_to_limbs(&self.data_in));
        v.extend(digest_to_limbs(&self.data_out));
        v
    }

    pub fn from_fields(f: &[F]) -> Result<Self, PublicInputsError> {
        if f.len() != NUM_PUBLIC_INPUTS {
            return Err(PublicInputsError::WrongCount { expected: NUM_PUBLIC_INPUTS, got: f.len() });
        }
        let d = |i: usize| Digest { elements: std::array::from_fn(|j| f[4 * i + j]) };
        let bytes = |at: usize| -> Result<[u8; 32], PublicInputsError> {
            let mut out = [0u8; 32];
            for k in 0..8 {
                let value = f[at + k].to_canonical_u64();
                let limb =
                    u32::try_from(value).map_err(|_| PublicInputsError::LimbTooLarge { index: at + k, value })?;
                out[4 * k..4 * k + 4].copy_from_slice(&limb.to_be_bytes());
            }
            Ok(out)
        };
        Ok(Self { old_root: d(0), new_root: d(1), data_in: bytes(8)?, data_out: bytes(16)? })
    }
}

/// A batch header's bytes in the data chain: chain id, rollup id (u64 each), fee account (u32), big-endian.
pub fn header_bytes(domain: Domain, fee_account: u32) -> [u8; HEADER_BYTES] {
    let mut h = [0u8; HEADER_BYTES];
    h[..8].copy_from_slice(&domain.chain_id.to_be_bytes());
    h[8..16].copy_from_slice(&domain.rollup_id.to_be_bytes());
    h[16..].copy_from_slice(&fee_account.to_be_bytes());
    h
}

/// One step of the data chain: `keccak256(data_in ‖ header ‖ records)`.
pub fn chain_data(data_in: &[u8; 32], header: &[u8; HEADER_BYTES], records: &[u8]) -> [u8; 32] {
    let mut m = Vec::with_capacity(32 + HEADER_BYTES + records.len());
    m.extend_from_slice(data_in);
    m.extend_from_slice(header);
    m.extend_from_slice(records);
    zkr_keccak::native::keccak256(&m)
}

/// Whether a slot of this layout pays out on L1 (withdrawal or forced exit).
pub fn is_withdrawal_slot(fields: &[F; TX_FIELDS]) -> bool {
    let tag = fields[layout::TAG];
    tag == F::from_canonical_u8(TAG_WITHDRAW) || tag == F::from_canonical_u8(TAG_FORCED_EXIT)
}

/// A sealed batch: exactly `capacity` slot traces, in one deployment's domain, closed by the credit of its fees.
#[derive(Clone, Debug)]
pub struct Batch {
    pub domain: Domain,
    pub slots: Vec<TxTrace>,
    pub fees: FeeTrace,
    /// The data chain's digest before this batch.
    pub data_in: [u8; 32],
}

impl Batch {
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The header in the data chain (domain, fee account).
    pub fn header_bytes(&self) -> [u8; HEADER_BYTES] {
        header_bytes(self.domain, self.fees.leaf.index)
    }

    /// The compact pubdata posted to L1: every non-padding slot's record, in order (`pubdata::encode_slots`).
    pub fn pubdata_bytes(&self) -> Vec<u8> {
        // a sealed batch's slots come from `State::apply` (or a trace that decoded strictly), whose layouts always
        // have a record
        crate::pubdata::encode_slots(&self.slots).expect("a sealed batch's slots have compact records")
    }

    pub fn public_inputs(&self) -> BatchPublicInputs {
        BatchPublicInputs {
            old_root: self.slots.first().map_or(ZERO_DIGEST, |s| s.root_before),
            new_root: self.fees.root_after,
            data_in: self.data_in,
            data_out: chain_data(&self.data_in, &self.header_bytes(), &self.pubdata_bytes()),
        }
    }

    /// The number of real (non-padding) transactions.
    pub fn num_txs(&self) -> usize {
        self.slots.iter().filter(|s| s.tx.is_some()).count()
    }
}

/// Fills batches of a fixed capacity from transactions, applying them to the state.
#[derive(Debug)]
pub struct BatchBuilder {
    capacity: usize,
    slots: Vec<TxTrace>,
}

impl BatchBuilder {
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "batch capacity must be positive");
        Self { capacity, slots: Vec::with_capacity(capacity) }
    }

    pub fn is_full(&self) -> bool {
        self.slots.len() == self.capacity
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Applies `tx`; a refused transaction takes no slot and changes nothing.
    pub fn push(&mut self, state: &mut State, tx: &SignedTx) -> Result<(), TxError> {
        assert!(!self.is_full(), "push into a full batch");
        let trace = state.apply(tx)?;
        self.slots.push(trace);
        Ok(())
    }

    /// Pads with no-ops, credits the batch's fees to the fee account, and returns the batch.
    pub fn seal(mut self, state: &mut State) -> Batch {
        while self.slots.len() < self.capacity {
            self.slots.push(state.noop());
        }
        let fees = state.credit_fees();
        let data_in = state.data_digest();
        let batch = Batch { domain: state.domain(), slots: self.slots, fees, data_in };
        state.chain_records(&batch.pubdata_bytes());
        batch
    }
}

/// Version byte of the serialized batch trace.
pub const TRACE_VERSION: u8 = 3;
const TRACE_MAGIC: &[u8; 4] = b"ZKRT";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TraceDecodeError {
    #[error("not a batch trace: expected magic \"ZKRT\"")]
    BadMagic,
    #[error("unsupported batch trace version {version}: this build reads version {TRACE_VERSION}")]
    Version { version: u8 },
    #[error("a slot of the trace has no compact record: {0}")]
    Record(crate::pubdata::PubdataError),
    #[error("batch trace truncated at byte {at}: expected {needed} more bytes")]
    Truncated { at: usize, needed: usize },
    #[error("batch trace has {extra} trailing bytes")]
    Trailing { extra: usize },
    #[error("non-canonical field element at byte {at}")]
    NonCanonical { at: usize },
    #[error("bad flag byte {value} at byte {at}: expected 0 or 1")]
    Flag { at: usize, value: u8 },
    #[error("batch trace capacity {capacity} is out of range 1..=4096")]
    Capacity { capacity: u32 },
    #[error("transaction in slot {slot}: {source}")]
    Tx {
        slot: usize,
        #[source]
        source: crate::tx::DecodeError,
    },
    #[error("public key in slot {slot}: {reason}")]
    PublicKey { slot: usize, reason: String },
}

struct TraceReader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> TraceReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TraceDecodeError> {
        if self.buf.len() - self.at < n {
            return Err(TraceDecodeError::Truncated { at: self.at, needed: n - (self.buf.len() - self.at) });
        }
        let s = &self.buf[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, TraceDecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, TraceDecodeError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, TraceDecodeError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn flag(&mut self) -> Result<bool, TraceDecodeError> {
        let at = self.at;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(TraceDecodeError::Flag { at, value }),
        }
    }
    fn field(&mut self) -> Result<F, TraceDecodeError> {
        let at = self.at;
        let v = self.u64()?;
        if v >= <F as plonky2::field::types::Field64>::ORDER {
            return Err(TraceDecodeError::NonCanonical { at });
        }
        Ok(F::from_canonical_u64(v))
    }
    fn digest(&mut self) -> Result<Digest, TraceDecodeError> {
        Ok(Digest { elements: [self.field()?, self.field()?, self.field()?, self.field()?] })
    }
}

fn put_digest(out: &mut Vec<u8>, d: &Digest) {
    for e in d.elements {
        out.extend_from_slice(&e.to_canonical_u64().to_le_bytes());
    }
}

fn put_leaf(out: &mut Vec<u8>, w: &crate::state::LeafWitness) {
    out.extend_from_slice(&w.index.to_le_bytes());
    match &w.before {
        Some(a) => {
            out.push(1);
            out.extend_from_slice(&a.pubkey.to_bytes());
            out.extend_from_slice(&a.balance.to_le_bytes());
            out.extend_from_slice(&a.nonce.to_le_bytes());
        }
        None => out.push(0),
    }
    for s in &w.proof.siblings {
        put_digest(out, s);
    }
}

fn get_leaf(r: &mut TraceReader<'_>, slot: usize) -> Result<crate::state::LeafWitness, TraceDecodeError> {
    let index = r.u32()?;
    let before = if r.flag()? {
        let pubkey = zkr_ecgfp5::schnorr::PublicKey::from_bytes(r.take(40)?)
            .map_err(|e| TraceDecodeError::PublicKey { slot, reason: e.to_string() })?;
        Some(crate::state::Account { pubkey, balance: r.u64()?, nonce: r.u32()? })
    } else {
        None
    };
    let siblings = (0..crate::smt::DEPTH).map(|_| r.digest()).collect::<Result<Vec<_>, _>>()?;
    Ok(crate::state::LeafWitness { index, before, proof: crate::smt::MerkleProof { index, siblings } })
}

impl Batch {
    /// The versioned trace a prover needs: the domain (chain id, rollup id), the data chain's digest before the batch, per slot the signed transaction, its field
    /// layout, both leaf witnesses with their paths, and the roots around it; then the fee credit (total, the fee
    /// account's leaf witness, the roots around it).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(TRACE_MAGIC);
        out.push(TRACE_VERSION);
        out.extend_from_slice(&self.domain.chain_id.to_le_bytes());
        out.extend_from_slice(&self.domain.rollup_id.to_le_bytes());
        out.extend_from_slice(&self.data_in);
        out.extend_from_slice(&(self.slots.len() as u32).to_le_bytes());
        for s in &self.slots {
            match &s.tx {
                Some(tx) => {
                    let b = tx.to_bytes();
                    out.push(1);
                    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
                    out.extend_from_slice(&b);
                }
                None => out.push(0),
            }
            for f in s.fields {
                out.extend_from_slice(&f.to_canonical_u64().to_le_bytes());
            }
            put_leaf(&mut out, &s.a);
            put_leaf(&mut out, &s.b);
            put_digest(&mut out, &s.root_before);
            put_digest(&mut out, &s.root_after);
        }
        out.extend_from_slice(&self.fees.total.to_le_bytes());
        put_leaf(&mut out, &self.fees.leaf);
        put_digest(&mut out, &self.fees.root_before);
        put_digest(&mut out, &self.fees.root_after);
        out
    }

    /// Strict decoding of [`Self::to_bytes`]; never panics on malformed input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TraceDecodeError> {
        let mut r = TraceReader { buf: bytes, at: 0 };
        if r.take(4).map_err(|_| TraceDecodeError::BadMagic)? != TRACE_MAGIC {
            return Err(TraceDecodeError::BadMagic);
        }
        let version = r.u8()?;
        if version != TRACE_VERSION {
            return Err(TraceDecodeError::Version { version });
        }
        let domain = Domain { chain_id: r.u64()?, rollup_id: r.u64()? };
        let data_in: [u8; 32] = r.take(32)?.try_into().expect("32 bytes");
        let capacity = r.u32()?;
        if capacity == 0 || capacity > 4096 {
            return Err(TraceDecodeError::Capacity { capacity });
        }
        let mut slots = Vec::with_capacity(capacity as usize);
        for slot in 0..capacity as usize {
            let tx = if r.flag()? {
                let len = r.u32()? as usize;
                let b = r.take(len)?;
                Some(SignedTx::from_bytes(b).map_err(|source| TraceDecodeError::Tx { slot, source })?)
            } else {
                None
            };
            let mut fields = [F::ZERO; TX_FIELDS];
            for f in fields.iter_mut() {
                *f = r.field()?;
            }
            let a = get_leaf(&mut r, slot)?;
            let b = get_leaf(&mut r, slot)?;
            let root_before = r.digest()?;
            let root_after = r.digest()?;
            slots.push(TxTrace { tx, fields, a, b, root_before, root_after });
        }
        let total = r.field()?.to_canonical_u64();
        let leaf = get_leaf(&mut r, capacity as usize)?;
        let fees = FeeTrace { total, leaf, root_before: r.digest()?, root_after: r.digest()? };
        if r.at != bytes.len() {
            return Err(TraceDecodeError::Trailing { extra: bytes.len() - r.at });
        }
        // every slot must have a compact record (or be padding), so `pubdata_bytes` cannot fail on a decoded trace
        crate::pubdata::encode_slots(&slots).map_err(TraceDecodeError::Record)?;
        Ok(Batch { domain, slots, fees, data_in })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn trace_round_trip_and_strict_decoding() {
        let keys = crate::demo::keys(5, 4);
        let mut state = crate::demo::genesis(&keys);
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let batch = crate::demo::random_batch(&mut rng, &keys, &mut state, 3, 2, crate::demo::Mix::All);
        let bytes = batch.to_bytes();
        let back = Batch::from_bytes(&bytes).unwrap();
        assert_eq!(back.slots, batch.slots);
        assert_eq!(back.domain, batch.domain);
        assert_eq!(back.fees, batch.fees);
        assert_eq!(back.data_in, batch.data_in);
        assert_eq!(back.public_inputs(), batch.public_inputs());
        assert_eq!(Batch::from_bytes(b"nope").err(), Some(TraceDecodeError::BadMagic));
        for n in [0, 3, 5, 9, bytes.len() / 2, bytes.len() - 1] {
            assert!(Batch::from_bytes(&bytes[..n]).is_err(), "truncated at {n} accepted");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(Batch::from_bytes(&long).err(), Some(TraceDecodeError::Trailing { extra: 1 }));
        let mut v = bytes.clone();
        v[4] = 1;
        assert_eq!(Batch::from_bytes(&v).err(), Some(TraceDecodeError::Version { version: 1 }));
        // flipping any byte never panics
        for i in (0..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[i] ^= 0xff;
            let _ = Batch::from_bytes(&b);
        }
    }
}
