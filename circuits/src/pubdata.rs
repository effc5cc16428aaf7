//! Compact pubdata: per transaction only what rebuilding the state from L1 needs, as fixed-width big-endian fields.
//!
//! | tag | record | bytes |
//! |---|---|---:|
//! | `01` transfer | `from u32 · to u32 · amount u64 · fee u64` | 25 |
//! | `02` withdraw | `from u32 · l1_address[20] · amount u64 · fee u64` | 41 |
//! | `03` deposit to an existing account | `to u32 · amount u64` | 13 |
//! | `04` forced exit | `account u32 · l1_address[20] · amount u64` | 33 |
//! | `05` deposit opening an account | `to u32 · amount u64 · key (5 × u64)` | 53 |
//! | `06` refunded deposit (unusable key) | `to u32 · amount u64 · key (5 × u64)` | 53 |
//!
//! A padding slot publishes nothing. Nonces are not published: a signed transaction's nonce is its sender's nonce
//! before it, which the replay knows. Priority ids are not published: priority operations are processed in queue order,
//! so the L1 contract knows which operation each deposit or forced-exit record is. A deposit's key is published only
//! when it opens the account or is refunded (a deposit to an existing account must name that account's key, so the key
//! is known; a refund publishes the key the circuit found unusable, so the L1 contract can check it is the key the
//! account was opened under).

use plonky2::field::types::{Field, Field64, PrimeField64};
use thiserror::Error;

use crate::config::F;
use crate::state::{ReplayError, State, TxTrace};
use crate::tx::{l1_address_limbs, layout, L1_ADDRESS_LEN, MAX_AMOUNT, TX_FIELDS};

pub const TAG_TRANSFER: u8 = 1;
pub const TAG_WITHDRAW: u8 = 2;
pub const TAG_DEPOSIT: u8 = 3;
pub const TAG_FORCED_EXIT: u8 = 4;
pub const TAG_DEPOSIT_OPEN: u8 = 5;
pub const TAG_DEPOSIT_REFUNDED: u8 = 6;

/// One transaction's compact record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    Transfer {
        from: u32,
        to: u32,
        amount: u64,
        fee: u64,
    },
    Withdraw {
        from: u32,
        l1_address: [u8; L1_ADDRESS_LEN],
        amount: u64,
        fee: u64,
    },
    /// A deposit credited to an account that already exists.
    Deposit {
        to: u32,
        amount: u64,
    },
    ForcedExit {
        account: u32,
        l1_address: [u8; L1_ADDRESS_LEN],
        amount: u64,
    },
    /// A deposit that opens account `to` with `key`.
    DepositOpen {
        to: u32,
        amount: u64,
        key: [u64; 5],
    },
    /// A deposit whose key is unusable: nothing is credited on L2, L1 refunds it.
    DepositRefunded {
        to: u32,
        amount: u64,
        key: [u64; 5],
    },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PubdataError {
    #[error("pubdata record at byte {offset}: unknown tag {tag:#04x} (expected 0x01..=0x06)")]
    UnknownTag { offset: usize, tag: u8 },
    #[error("pubdata record at byte {offset} (tag {tag:#04x}) needs {needed} bytes, {left} are left")]
    Truncated { offset: usize, tag: u8, needed: usize, left: usize },
    #[error("pubdata record at byte {offset}: {what} {value} is above the maximum {max}")]
    TooLarge { offset: usize, what: &'static str, value: u64, max: u64 },
    #[error("slot {slot}: its layout is not a transaction the circuit accepts ({what})")]
    BadSlot { slot: usize, what: &'static str },
}

impl Record {
    /// Record length in bytes, tag included.
    pub const fn len_of(tag: u8) -> Option<usize> {
        match tag {
            TAG_TRANSFER => Some(25),
            TAG_WITHDRAW => Some(41),
            TAG_DEPOSIT => Some(13),
            TAG_FORCED_EXIT => Some(33),
            TAG_DEPOSIT_OPEN | TAG_DEPOSIT_REFUNDED => Some(53),
            _ => None,
        }
    }

    pub fn tag(&self) -> u8 {
        match self {
            Record::Transfer { .. } => TAG_TRANSFER,
            Record::Withdraw { .. } => TAG_WITHDRAW,
            Record::Deposit { .. } => TAG_DEPOSIT,
            Record::ForcedExit { .. } => TAG_FORCED_EXIT,
            Record::DepositOpen { .. } => TAG_DEPOSIT_OPEN,
            Record::DepositRefunded { .. } => TAG_DEPOSIT_REFUNDED,
        }
    }

    /// The record of a slot (`None` for padding). A deposit's record depends on the leaf it lands on: an empty leaf
    /// means it opens the account.
    pub fn of_trace(slot: usize, t: &TxTrace) -> Result<Option<Record>, PubdataError> {
        Self::of_fields(slot, &t.fields, t.a.before.is_none())
    }

    /// As [`Self::of_trace`], from a slot layout and whether its leaf `a` was empty.
    pub fn of_fields(slot: usize, f: &[F; TX_FIELDS], leaf_a_empty: bool) -> Result<Option<Record>, PubdataError> {
        let w = |i: usize| f[i].to_canonical_u64();
        let id = |i: usize| u32::try_from(w(i)).map_err(|_| PubdataError::BadSlot { slot, what: "account id" });
        let address = || -> Result<[u8; L1_ADDRESS_LEN], PubdataError> {
            let mut a = [0u8; L1_ADDRESS_LEN];
            for i in 0..5 {
                let limb = u32::try_from(w(layout::L1_ADDRESS + i))
                    .map_err(|_| PubdataError::BadSlot { slot, what: "L1 address limb" })?;
                a[4 * i..4 * i + 4].copy_from_slice(&limb.to_le_bytes());
            }
            Ok(a)
        };
        Ok(Some(match w(layout::TAG) {
            0 => return Ok(None),
            1 => Record::Transfer {
                from: id(layout::ACCOUNT_A)?,
                to: id(layout::ACCOUNT_B)?,
                amount: w(layout::AMOUNT),
                fee: w(layout::FEE),
            },
            2 => Record::Withdraw {
                from: id(layout::ACCOUNT_A)?,
                l1_address: address()?,
                amount: w(layout::AMOUNT),
                fee: w(layout::FEE),
            },
            3 => {
                let (to, amount) = (id(layout::ACCOUNT_A)?, w(layout::AMOUNT));
                let key = std::array::from_fn(|i| w(layout::PUBKEY + i));
                if w(layout::REFUND) != 0 {
                    Record::DepositRefunded { to, amount, key }
                } else if leaf_a_empty {
                    Record::DepositOpen { to, amount, key }
                } else {
                    Record::Deposit { to, amount }
                }
            }
            4 => Record::ForcedExit {
                account: id(layout::ACCOUNT_A)?,
                l1_address: address()?,
                amount: w(layout::AMOUNT),
            },
            _ => return Err(PubdataError::BadSlot { slot, what: "tag" }),
        }))
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
        match *self {
            Record::Transfer { from, to, amount, fee } => {
                out.extend(from.to_be_bytes());
                out.extend(to.to_be_bytes());
                out.extend(amount.to_be_bytes());
                out.extend(fee.to_be_bytes());
            }
            Record::Withdraw { from, l1_address, amount, fee } => {
                out.extend(from.to_be_bytes());
                out.extend(l1_address);
                out.extend(amount.to_be_bytes());
                out.extend(fee.to_be_bytes());
            }
            Record::Deposit { to, amount } => {
                out.extend(to.to_be_bytes());
                out.extend(amount.to_be_bytes());
            }
            Record::ForcedExit { account, l1_address, amount } => {
                out.extend(account.to_be_bytes());
                out.extend(l1_address);
                out.extend(amount.to_be_bytes());
            }
            Record::DepositOpen { to, amount, key } | Record::DepositRefunded { to, amount, key } => {
                out.extend(to.to_be_bytes());
                out.extend(amount.to_be_bytes());
                for k in key {
                    out.extend(k.to_be_bytes());
                }
            }
        }
    }

    /// Decodes one record at `offset`; strict (known tag, whole record, amounts and fees ≤ 2^62 − 1, canonical key
    /// elements). Returns the record and the offset after it.
    pub fn decode(bytes: &[u8], offset: usize) -> Result<(Record, usize), PubdataError> {
        let tag = *bytes.get(offset).ok_or(PubdataError::Truncated { offset, tag: 0, needed: 1, left: 0 })?;
        let len = Self::len_of(tag).ok_or(PubdataError::UnknownTag { offset, tag })?;
        let left = bytes.len() - offset;
        if left < len {
            return Err(PubdataError::Truncated { offset, tag, needed: len, left });
        }
        let mut at = offset + 1;
        let mut take = |n: usize| {
            let s = &bytes[at..at + n];
            at += n;
            s
        };
        let u32_ = |s: &[u8]| u32::from_be_bytes(s.try_into().expect("4 bytes"));
        let u64_ = |s: &[u8]| u64::from_be_bytes(s.try_into().expect("8 bytes"));
        let bounded = |what: &'static str, v: u64, max: u64| {
            if v > max {
                Err(PubdataError::TooLarge { offset, what, value: v, max })
            } else {
                Ok(v)
            }
        };
        let amount = |s: &[u8]| bounded("amount", u64_(s), MAX_AMOUNT);
        let fee = |s: &[u8]| bounded("fee", u64_(s), MAX_AMOUNT);
        let address = |s: &[u8]| -> [u8; L1_ADDRESS_LEN] { s.try_into().expect("20 bytes") };
        let r = match tag {
            TAG_TRANSFER => Record::Transfer {
                from: u32_(take(4)),
                to: u32_(take(4)),
                amount: amount(take(8))?,
                fee: fee(take(8))?,
            },
            TAG_WITHDRAW => Record::Withdraw {
                from: u32_(take(4)),
                l1_address: address(take(20)),
                amount: amount(take(8))?,
                fee: fee(take(8))?,
            },
            TAG_DEPOSIT => Record::Deposit { to: u32_(take(4)), amount: amount(take(8))? },
            TAG_FORCED_EXIT => {
                Record::ForcedExit { account: u32_(take(4)), l1_address: address(take(20)), amount: amount(take(8))? }
            }
            _ => {
                let (to, amt) = (u32_(take(4)), amount(take(8))?);
                let mut key = [0u64; 5];
                for k in &mut key {
                    *k = bounded("key element", u64_(take(8)), F::ORDER - 1)?;
                }
                if tag == TAG_DEPOSIT_OPEN {
                    Record::DepositOpen { to, amount: amt, key }
                } else {
                    Record::DepositRefunded { to, amount: amt, key }
                }
            }
        };
        Ok((r, at))
    }

    /// The slot layout the replay applies: what the record says, with the sender's nonce from the state and, for a
    /// deposit to an existing account, that account's key (priority ids are left zero: the replay does not use them).
    pub fn to_fields(&self, state: &State) -> [F; TX_FIELDS] {
        let mut f = [F::ZERO; TX_FIELDS];
        f[layout::TAG] = F::from_canonical_u8(match self.tag() {
            TAG_DEPOSIT_OPEN | TAG_DEPOSIT_REFUNDED => TAG_DEPOSIT,
            t => t,
        });
        let nonce = |id: u32| F::from_canonical_u32(state.account(id).map_or(0, |a| a.nonce));
        let n = F::from_canonical_u64;
        match *self {
            Record::Transfer { from, to, amount, fee } => {
                f[layout::ACCOUNT_A] = n(from.into());
                f[layout::ACCOUNT_B] = n(to.into());
                f[layout::AMOUNT] = n(amount);
                f[layout::NONCE] = nonce(from);
                f[layout::FEE] = n(fee);
            }
            Record::Withdraw { from, l1_address, amount, fee } => {
                f[layout::ACCOUNT_A] = n(from.into());
                f[layout::ACCOUNT_B] = n(from.into());
                f[layout::AMOUNT] = n(amount);
                f[layout::NONCE] = nonce(from);
                f[layout::L1_ADDRESS..layout::L1_ADDRESS + 5].copy_from_slice(&l1_address_limbs(&l1_address));
                f[layout::FEE] = n(fee);
            }
            Record::Deposit { to, amount } => {
                f[layout::ACCOUNT_A] = n(to.into());
                f[layout::ACCOUNT_B] = n(to.into());
                f[layout::AMOUNT] = n(amount);
                if let Some(a) = state.account(to) {
                    f[layout::PUBKEY..layout::PUBKEY + 5].copy_from_slice(&a.pubkey.to_fields());
                }
            }
            Record::DepositOpen { to, amount, key } => {
                f[layout::ACCOUNT_A] = n(to.into());
                f[layout::ACCOUNT_B] = n(to.into());
                f[layout::AMOUNT] = n(amount);
                for (i, k) in key.iter().enumerate() {
                    f[layout::PUBKEY + i] = n(*k);
                }
            }
            Record::DepositRefunded { to, amount, key } => {
                f[layout::ACCOUNT_A] = n(to.into());
                f[layout::ACCOUNT_B] = n(to.into());
                f[layout::AMOUNT] = n(amount);
                f[layout::REFUND] = F::ONE;
                for (i, k) in key.iter().enumerate() {
                    f[layout::PUBKEY + i] = n(*k);
                }
            }
            Record::ForcedExit { account, l1_address, amount } => {
                f[layout::ACCOUNT_A] = n(account.into());
                f[layout::ACCOUNT_B] = n(account.into());
                f[layout::AMOUNT] = n(amount);
                f[layout::L1_ADDRESS..layout::L1_ADDRESS + 5].copy_from_slice(&l1_address_limbs(&l1_address));
            }
        }
        f
    }
}

/// The compact pubdata of a batch's slots: every non-padding slot's record, in order.
pub fn encode_slots(slots: &[TxTrace]) -> Result<Vec<u8>, PubdataError> {
    let mut out = Vec::new();
    for (i, s) in slots.iter().enumerate() {
        if let Some(r) = Record::of_trace(i, s)? {
            r.encode(&mut out);
        }
    }
    Ok(out)
}

/// Every record of a batch's compact pubdata, strictly decoded.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<Record>, PubdataError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (r, next) = Record::decode(bytes, at)?;
        out.push(r);
        at = next;
    }
    Ok(out)
}

impl State {
    /// Applies one batch's compact pubdata the way the circuit did (see [`State::replay`]), then credits the batch's
    /// fees and advances the data chain: rebuilding the state from the data posted to L1 alone. On an error the state
    /// is left part-way: replay on a copy to keep it.
    pub fn replay_pubdata(&mut self, bytes: &[u8]) -> Result<(), ReplayPubdataError> {
        for (i, r) in decode_all(bytes)?.iter().enumerate() {
            let fields = r.to_fields(self);
            self.replay(&fields).map_err(|source| ReplayPubdataError::Replay { record: i, source })?;
        }
        self.credit_fees();
        self.chain_records(bytes);
        Ok(())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReplayPubdataError {
    #[error(transparent)]
    Pubdata(#[from] PubdataError),
    #[error("record {record}: {source}")]
    Replay { record: usize, source: ReplayError },
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::demo;

    #[test]
    fn the_state_rebuilt_from_compact_pubdata_has_the_same_root() {
        let keys = demo::keys(6, 11);
        let mut state = demo::genesis(&keys);
        let mut rebuilt = state.clone();
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let mut kinds = std::collections::BTreeSet::new();
        for n in [1, 4, 8, 8, 8, 3] {
            let batch = demo::random_batch(&mut rng, &keys, &mut state, 8, n, demo::Mix::All);
            let bytes = encode_slots(&batch.slots).unwrap();
            let records = decode_all(&bytes).unwrap();
            assert_eq!(records.len(), batch.num_txs(), "padding publishes nothing");
            kinds.extend(records.iter().map(Record::tag));
            rebuilt.replay_pubdata(&bytes).unwrap();
            assert_eq!(rebuilt.root(), state.root(), "rebuilt root after a batch of {n}");
            assert_eq!(rebuilt.data_digest(), state.data_digest(), "rebuilt data chain after a batch of {n}");
            assert_eq!(batch.public_inputs().data_out, state.data_digest());
        }
        assert!(kinds.len() >= 3, "the random batches cover several kinds: {kinds:?}");
    }

    #[test]
    fn every_record_round_trips_and_damage_is_an_error() {
        let records = [
            Record::Transfer { from: 1, to: 2, amount: MAX_AMOUNT, fee: 3 },
            Record::Withdraw { from: 7, l1_address: [0xab; 20], amount: 5, fee: 0 },
            Record::Deposit { to: 9, amount: 1 },
            Record::ForcedExit { account: 4, l1_address: [1; 20], amount: 0 },
            Record::DepositOpen { to: u32::MAX, amount: 2, key: [F::ORDER - 1, 0, 1, 2, 3] },
            Record::DepositRefunded { to: 3, amount: 8, key: [0, 0, 0, 0, 1] },
        ];
        let mut bytes = Vec::new();
        for r in &records {
            let before = bytes.len();
            r.encode(&mut bytes);
            assert_eq!(bytes.len() - before, Record::len_of(r.tag()).unwrap());
        }
        assert_eq!(decode_all(&bytes).unwrap(), records);
        assert!(matches!(decode_all(&bytes[..bytes.len() - 1]), Err(PubdataError::Truncated { .. })));
        assert!(matches!(decode_all(&[0x07]), Err(PubdataError::UnknownTag { tag: 7, .. })));
        assert!(matches!(decode_all(&[0x00]), Err(PubdataError::UnknownTag { tag: 0, .. })));
        let mut big = Vec::new();
        Record::Deposit { to: 1, amount: 0 }.encode(&mut big);
        big[5..13].copy_from_slice(&(MAX_AMOUNT + 1).to_be_bytes());
        assert!(matches!(decode_all(&big), Err(PubdataError::TooLarge { what: "amount", .. })));
        let mut key = Vec::new();
        Record::DepositOpen { to: 1, amount: 1, key: [0; 5] }.encode(&mut key);
        key[13..21].copy_from_slice(&F::ORDER.to_be_bytes());
        assert!(matches!(decode_all(&key), Err(PubdataError::TooLarge { what: "key element", .. })));
    }
}

/// The compact record in circuit: the bytes [`Record::encode`] writes, from a slot's layout and kind, as the part a
/// Keccak-256 over the batch's records takes (`zkr_keccak::concat`).
pub mod circuit {
    use plonky2::field::types::Field;
    use plonky2::iop::target::{BoolTarget, Target};
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use zkr_keccak::concat::VarBytes;

    use super::{Record, TAG_DEPOSIT_OPEN, TAG_DEPOSIT_REFUNDED};
    use crate::config::{D, F};
    use crate::tx::{layout, AMOUNT_BITS, TX_FIELDS};

    /// The widest record (a deposit opening an account).
    pub const MAX_RECORD: usize = 53;

    /// A slot's kind as the batch circuit has it (at most one flag set; none for padding), and whether its leaf `a`
    /// was empty (a deposit there opens the account).
    #[derive(Clone, Copy, Debug)]
    pub struct SlotKind {
        pub is_transfer: BoolTarget,
        pub is_withdraw: BoolTarget,
        pub is_deposit: BoolTarget,
        pub is_forced_exit: BoolTarget,
        pub leaf_a_empty: BoolTarget,
    }

    /// The byte `Σ_i bits[i]·2^i` of eight little-endian bits.
    fn byte(b: &mut CircuitBuilder<F, D>, bits: &[BoolTarget]) -> Target {
        let mut acc = b.zero();
        for (i, bit) in bits.iter().enumerate() {
            acc = b.mul_const_add(F::from_canonical_u64(1 << i), bit.target, acc);
        }
        acc
    }

    /// The big-endian bytes of `x`, which `split_le` range-checks to `bits` bits (below 64: the decomposition is then
    /// the canonical one), zero-extended to `n` bytes.
    pub fn be_bytes(b: &mut CircuitBuilder<F, D>, x: Target, bits: usize, n: usize) -> Vec<Target> {
        assert!(bits < 64 && bits <= 8 * n);
        let mut le = b.split_le(x, bits);
        le.resize(8 * n, b._false());
        (0..n).rev().map(|j| byte(b, &le[8 * j..8 * j + 8])).collect()
    }

    /// The 64 little-endian bits of a field element, forced to be its canonical decomposition: `split_le` alone
    /// would also accept the bits of `x + p` when that fits 64 bits (a value at or above p), which read as another
    /// number off-chain. Such values have the high half all ones and a non-zero low half, so the high half all ones
    /// forces the low half to zero.
    pub fn canonical_bits(b: &mut CircuitBuilder<F, D>, x: Target) -> Vec<BoolTarget> {
        let le = b.split_le(x, 64);
        let lo = b.le_sum(le[..32].iter());
        let hi = b.le_sum(le[32..].iter());
        let max = b.constant(F::from_canonical_u32(u32::MAX));
        let hi_max = b.is_equal(hi, max);
        let t = b.mul(hi_max.target, lo);
        b.assert_zero(t);
        le
    }

    /// The big-endian bytes of a field element's canonical decomposition ([`canonical_bits`]).
    pub fn be_bytes_canonical(b: &mut CircuitBuilder<F, D>, x: Target) -> Vec<Target> {
        let le = canonical_bits(b, x);
        (0..8).rev().map(|j| byte(b, &le[8 * j..8 * j + 8])).collect()
    }

    /// The L1 address's 20 bytes from its five 32-bit limbs (limb `i` holds bytes `4i..4i+4`, little-endian).
    fn address_bytes(b: &mut CircuitBuilder<F, D>, limbs: &[Target]) -> Vec<Target> {
        limbs
            .iter()
            .flat_map(|&l| {
                let le = b.split_le(l, 32);
                (0..4).map(|j| byte(b, &le[8 * j..8 * j + 8])).collect::<Vec<_>>()
            })
            .collect()
    }

    /// The slot's record bytes (zero beyond its length; nothing for padding) and length.
    pub fn record(b: &mut CircuitBuilder<F, D>, fields: &[Target; TX_FIELDS], kind: &SlotKind) -> VarBytes {
        let tag = |b: &mut CircuitBuilder<F, D>, t: u8| b.constant(F::from_canonical_u8(t));
        let a = be_bytes(b, fields[layout::ACCOUNT_A], 32, 4);
        let acct_b = be_bytes(b, fields[layout::ACCOUNT_B], 32, 4);
        let amount = be_bytes(b, fields[layout::AMOUNT], AMOUNT_BITS, 8);
        // the fee shares its word with a priority operation's id: only signed kinds publish it
        let fee = be_bytes(b, fields[layout::FEE], AMOUNT_BITS, 8);
        let address = address_bytes(b, &fields[layout::L1_ADDRESS..layout::L1_ADDRESS + 5]);
        let key: Vec<Target> = (0..5).flat_map(|i| be_bytes_canonical(b, fields[layout::PUBKEY + i])).collect();

        // deposit variants: refunded, opening (empty leaf), to an existing account
        let refunded = b.mul(kind.is_deposit.target, fields[layout::REFUND]);
        let credited = b.sub(kind.is_deposit.target, refunded);
        let opens = b.mul(credited, kind.leaf_a_empty.target);
        let existing = b.sub(credited, opens);

        let cat = |t: Target, parts: &[&[Target]]| [&[t][..], &parts.concat()].concat();
        let kinds: Vec<(u8, Target, Vec<Target>)> = vec![
            (1, kind.is_transfer.target, cat(tag(b, 1), &[&a, &acct_b, &amount, &fee])),
            (2, kind.is_withdraw.target, cat(tag(b, 2), &[&a, &address, &amount, &fee])),
            (3, existing, cat(tag(b, 3), &[&a, &amount])),
            (4, kind.is_forced_exit.target, cat(tag(b, 4), &[&a, &address, &amount])),
            (TAG_DEPOSIT_OPEN, opens, cat(tag(b, TAG_DEPOSIT_OPEN), &[&a, &amount, &key])),
            (TAG_DEPOSIT_REFUNDED, refunded, cat(tag(b, TAG_DEPOSIT_REFUNDED), &[&a, &amount, &key])),
        ];
        let zero = b.zero();
        let mut bytes = vec![zero; MAX_RECORD];
        let mut len = zero;
        for (t, flag, kb) in &kinds {
            assert_eq!(Some(kb.len()), Record::len_of(*t), "record layout of tag {t}");
            for (k, &x) in kb.iter().enumerate() {
                bytes[k] = b.mul_add(*flag, x, bytes[k]);
            }
            len = b.mul_const_add(F::from_canonical_usize(kb.len()), *flag, len);
        }
        VarBytes { bytes, len }
    }
}

#[cfg(test)]
mod circuit_tests {
    use plonky2::field::types::PrimeField64;
    use plonky2::iop::target::Target;
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use plonky2::plonk::circuit_data::CircuitConfig;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use zkr_keccak::concat::keccak256_concat;
    use zkr_keccak::gadget::digest_limbs;
    use zkr_keccak::native;

    use super::circuit::{record, SlotKind, MAX_RECORD};
    use super::*;
    use crate::config::{C, D};
    use crate::demo;

    /// Records built in circuit from slot layouts, concatenated and hashed, give Keccak-256 of the native compact
    /// pubdata (padding slots included, which publish nothing).
    #[test]
    fn records_in_circuit_hash_to_keccak_of_the_compact_pubdata() {
        const CAP: usize = 8;
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let slots: Vec<([Target; TX_FIELDS], SlotKind)> = (0..CAP)
            .map(|_| {
                let fields = std::array::from_fn(|_| b.add_virtual_target());
                let kind = SlotKind {
                    is_transfer: b.add_virtual_bool_target_safe(),
                    is_withdraw: b.add_virtual_bool_target_safe(),
                    is_deposit: b.add_virtual_bool_target_safe(),
                    is_forced_exit: b.add_virtual_bool_target_safe(),
                    leaf_a_empty: b.add_virtual_bool_target_safe(),
                };
                (fields, kind)
            })
            .collect();
        let before = b.num_gates();
        let parts: Vec<_> = slots.iter().map(|(f, k)| record(&mut b, f, k)).collect();
        let records = b.num_gates() - before;
        let out = keccak256_concat(&mut b, &parts, CAP * MAX_RECORD);
        eprintln!(
            "records: {} gates per slot; with the concatenation's Keccak over {} bytes: {} gates in all",
            records / CAP,
            CAP * MAX_RECORD,
            b.num_gates() - before
        );
        let limbs = digest_limbs(&mut b, &out.digest);
        b.register_public_inputs(&limbs);
        let data = b.build::<C>();

        let keys = demo::keys(21, 6);
        let mut state = demo::genesis(&keys);
        let mut rng = ChaCha20Rng::seed_from_u64(21);
        let mut tags = std::collections::BTreeSet::new();
        for n in [CAP, 5] {
            let batch = demo::random_batch(&mut rng, &keys, &mut state, CAP, n, demo::Mix::All);
            let bytes = encode_slots(&batch.slots).unwrap();
            tags.extend(decode_all(&bytes).unwrap().iter().map(Record::tag));
            let mut pw = PartialWitness::new();
            for ((fields, kind), trace) in slots.iter().zip(&batch.slots) {
                for (t, v) in fields.iter().zip(trace.fields) {
                    pw.set_target(*t, v).unwrap();
                }
                let tag = trace.fields[layout::TAG].to_canonical_u64();
                pw.set_bool_target(kind.is_transfer, tag == 1).unwrap();
                pw.set_bool_target(kind.is_withdraw, tag == 2).unwrap();
                pw.set_bool_target(kind.is_deposit, tag == 3).unwrap();
                pw.set_bool_target(kind.is_forced_exit, tag == 4).unwrap();
                pw.set_bool_target(kind.leaf_a_empty, trace.a.before.is_none()).unwrap();
            }
            let proof = data.prove(pw).expect("records of a valid batch prove");
            data.verify(proof.clone()).expect("plonky2 verifies it");
            let want = native::digest_limbs(&native::keccak256(&bytes));
            let got: Vec<u64> = proof.public_inputs.iter().map(|f| f.to_canonical_u64()).collect();
            assert_eq!(got, want.map(u64::from).to_vec(), "a batch of {n} ({} bytes)", bytes.len());
        }
        assert!(tags.len() >= 3, "the batches cover several record kinds: {tags:?}");
    }
}
