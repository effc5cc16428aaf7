//! Transactions: canonical byte encoding (API, signing input), the fixed-width field
//! layout the batch circuit works on, and the message that is signed.
//!
//! Byte layouts (integers little-endian):
//! - transfer: `0x01 | from u32 | to u32 | amount u64 | fee u64 | nonce u32` (29 bytes)
//! - withdraw: `0x02 | from u32 | l1_address [20] | amount u64 | fee u64 | nonce u32` (45 bytes)
//! - deposit:  `0x03 | priority_id u64 | to u32 | pubkey [40] | amount u64` (61 bytes)
//! - forced exit: `0x04 | priority_id u64 | account u32 | l1_address [20]` (33 bytes)
//!
//! A signed transaction is the body followed by the 72-byte signature (transfer and
//! withdraw) or by nothing (deposit and forced exit: priority operations from the L1 queue, unsigned).
//! A signed transaction's fee (in amount units) is debited with its amount and credited to the rollup's fee
//! account when the batch is sealed. Amounts, fees, balances and priority ids are at most [`MAX_AMOUNT`] = 2^62 − 1 (see
//! [`AMOUNT_BITS`] for why).

use plonky2::field::types::Field;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zkr_ecgfp5::schnorr::{PublicKey, SecretKey, Signature};

use crate::config::{hash, Digest, F};

/// Bits of an amount or balance. 62, not 64: Goldilocks' modulus p is just below 2^64, so a
/// 64-bit range check excludes nothing, and the sum of two 63-bit values can exceed p and
/// wrap to a small number. With 62 bits, a sum stays below 2^63 < p and an underflow lands
/// above p - 2^62, outside the range.
pub const AMOUNT_BITS: usize = 62;
/// The largest amount or balance.
pub const MAX_AMOUNT: u64 = (1 << AMOUNT_BITS) - 1;
/// The largest L1 priority-queue id (kept within a canonical field element).
pub const MAX_PRIORITY_ID: u64 = MAX_AMOUNT;
/// Width of an L1 address in bytes.
pub const L1_ADDRESS_LEN: usize = 20;
/// Length of an encoded signature.
pub const SIGNATURE_LEN: usize = 72;
/// Length of an encoded public key.
pub const PUBKEY_LEN: usize = 40;

pub const TAG_NOOP: u8 = 0;
pub const TAG_TRANSFER: u8 = 1;
pub const TAG_WITHDRAW: u8 = 2;
pub const TAG_DEPOSIT: u8 = 3;
pub const TAG_FORCED_EXIT: u8 = 4;

/// Number of field elements of a [`Domain`] in the signed message and the pubdata commitment.
pub const DOMAIN_FIELDS: usize = 4;

/// The deployment a signature is for: the L1 chain's id and the rollup's id on that chain. Every signed message
/// and every batch's pubdata commitment starts with it, so a transaction signed for one deployment never proves in
/// another (same keys, same account ids and nonces or not), and the L1 contract, which supplies its own domain
/// when it hashes the pubdata, refuses a batch proven for another. The rollup id is chosen at genesis and given to
/// the contract's constructor; the chain id is the one the contract runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Domain {
    pub chain_id: u64,
    pub rollup_id: u64,
}

impl Domain {
    /// The devnet's: chain 31337 (a hardhat node and zkr's in-process L1), rollup 1.
    pub const DEVNET: Domain = Domain { chain_id: 31337, rollup_id: 1 };

    /// `[chain_id low 32 bits, chain_id high 32 bits, rollup_id low, rollup_id high]`: canonical for any values,
    /// each range-checked to 32 bits in circuit.
    pub fn to_fields(&self) -> [F; DOMAIN_FIELDS] {
        let split = |x: u64| [F::from_canonical_u32(x as u32), F::from_canonical_u32((x >> 32) as u32)];
        let [c0, c1] = split(self.chain_id);
        let [r0, r1] = split(self.rollup_id);
        [c0, c1, r0, r1]
    }
}

impl std::fmt::Display for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chain {} rollup {}", self.chain_id, self.rollup_id)
    }
}

/// Number of field elements per transaction slot in the circuit (and in pubdata).
pub const TX_FIELDS: usize = 16;
/// Offsets into the field layout of a slot.
pub mod layout {
    pub const TAG: usize = 0;
    /// transfer/withdraw: sender; deposit: recipient.
    pub const ACCOUNT_A: usize = 1;
    /// transfer: recipient; otherwise equal to `ACCOUNT_A`.
    pub const ACCOUNT_B: usize = 2;
    /// forced exit: the whole balance withdrawn (set when it is applied: the L1 request does not know it).
    pub const AMOUNT: usize = 3;
    pub const NONCE: usize = 4;
    /// deposit: 1 if its key encodes no usable public key (nothing is credited and L1 refunds the deposit), else 0.
    /// It shares its word with `NONCE`: a deposit has no nonce.
    pub const REFUND: usize = 4;
    /// withdraw and forced exit: the L1 address as five 32-bit limbs (little-endian bytes, limb 0 first).
    pub const L1_ADDRESS: usize = 5;
    /// deposit: the recipient's public key (5 field elements).
    pub const PUBKEY: usize = 10;
    /// deposit and forced exit: its position in the L1 priority queue.
    pub const PRIORITY_ID: usize = 15;
    /// transfer/withdraw: the fee. It shares its word with `PRIORITY_ID`: a slot is of one kind.
    pub const FEE: usize = 15;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub from: u32,
    pub to: u32,
    pub amount: u64,
    /// Paid to the fee account on top of `amount`.
    pub fee: u64,
    pub nonce: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdraw {
    pub from: u32,
    pub l1_address: [u8; L1_ADDRESS_LEN],
    pub amount: u64,
    /// Paid to the fee account on top of `amount`.
    pub fee: u64,
    pub nonce: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deposit {
    pub priority_id: u64,
    pub to: u32,
    pub pubkey: PublicKey,
    pub amount: u64,
}

/// A priority operation that the L1 owner of `account` requests on L1: it withdraws the account's whole balance to
/// `l1_address` (the owner's address when it was requested). The operator must process it before it expires, like
/// a deposit, so an account whose signed withdrawals are censored still gets out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForcedExit {
    pub priority_id: u64,
    pub account: u32,
    pub l1_address: [u8; L1_ADDRESS_LEN],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tx {
    Transfer(Transfer),
    Withdraw(Withdraw),
    Deposit(Deposit),
    ForcedExit(ForcedExit),
}

/// A transaction with its signature (present exactly for transfer and withdraw).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTx {
    pub tx: Tx,
    pub signature: Option<Signature>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("empty input: expected a transaction tag byte")]
    Empty,
    #[error(
        "unknown transaction tag {tag:#04x}: expected 0x01 (transfer), 0x02 (withdraw), 0x03 (deposit) or 0x04 (forced \
         exit)"
    )]
    UnknownTag { tag: u8 },
    #[error("wrong length for a {kind}: expected {expected} bytes, got {got}")]
    WrongLength { kind: &'static str, expected: usize, got: usize },
    #[error("amount {amount} exceeds the maximum {max}")]
    AmountTooLarge { amount: u64, max: u64 },
    #[error("fee {fee} exceeds the maximum {max}")]
    FeeTooLarge { fee: u64, max: u64 },
    #[error("priority id {id} exceeds the maximum {max}")]
    PriorityIdTooLarge { id: u64, max: u64 },
    #[error("invalid public key: {source}")]
    PublicKey {
        #[source]
        source: zkr_ecgfp5::schnorr::SchnorrError,
    },
    #[error("invalid signature encoding: {source}")]
    Signature {
        #[source]
        source: zkr_ecgfp5::schnorr::SchnorrError,
    },
}

/// Cursor over a byte slice whose length has already been checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().expect("4 bytes"))
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().expect("8 bytes"))
    }
}

fn check_amount(amount: u64) -> Result<u64, DecodeError> {
    if amount > MAX_AMOUNT {
        return Err(DecodeError::AmountTooLarge { amount, max: MAX_AMOUNT });
    }
    Ok(amount)
}

fn check_fee(fee: u64) -> Result<u64, DecodeError> {
    if fee > MAX_AMOUNT {
        return Err(DecodeError::FeeTooLarge { fee, max: MAX_AMOUNT });
    }
    Ok(fee)
}

impl Tx {
    pub const TRANSFER_LEN: usize = 29;
    pub const WITHDRAW_LEN: usize = 45;
    pub const DEPOSIT_LEN: usize = 61;
    pub const FORCED_EXIT_LEN: usize = 33;

    pub fn tag(&self) -> u8 {
        match self {
            Tx::Transfer(_) => TAG_TRANSFER,
            Tx::Withdraw(_) => TAG_WITHDRAW,
            Tx::Deposit(_) => TAG_DEPOSIT,
            Tx::ForcedExit(_) => TAG_FORCED_EXIT,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Tx::Transfer(_) => "transfer",
            Tx::Withdraw(_) => "withdraw",
            Tx::Deposit(_) => "deposit",
            Tx::ForcedExit(_) => "forced exit",
        }
    }

    /// Transfers and withdrawals are signed by the account's key; priority operations come from L1.
    pub fn is_signed(&self) -> bool {
        matches!(self, Tx::Transfer(_) | Tx::Withdraw(_))
    }

    /// The fee a signed transaction pays (deposits pay none).
    pub fn fee(&self) -> u64 {
        match self {
            Tx::Transfer(t) => t.fee,
            Tx::Withdraw(w) => w.fee,
            Tx::Deposit(_) | Tx::ForcedExit(_) => 0,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.tag()];
        match self {
            Tx::Transfer(t) => {
                out.extend_from_slice(&t.from.to_le_bytes());
                out.extend_from_slice(&t.to.to_le_bytes());
                out.extend_from_slice(&t.amount.to_le_bytes());
                out.extend_from_slice(&t.fee.to_le_bytes());
                out.extend_from_slice(&t.nonce.to_le_bytes());
            }
            Tx::Withdraw(w) => {
                out.extend_from_slice(&w.from.to_le_bytes());
                out.extend_from_slice(&w.l1_address);
                out.extend_from_slice(&w.amount.to_le_bytes());
                out.extend_from_slice(&w.fee.to_le_bytes());
                out.extend_from_slice(&w.nonce.to_le_bytes());
            }
            Tx::Deposit(d) => {
                out.extend_from_slice(&d.priority_id.to_le_bytes());
                out.extend_from_slice(&d.to.to_le_bytes());
                out.extend_from_slice(&d.pubkey.to_bytes());
                out.extend_from_slice(&d.amount.to_le_bytes());
            }
            Tx::ForcedExit(f) => {
                out.extend_from_slice(&f.priority_id.to_le_bytes());
                out.extend_from_slice(&f.account.to_le_bytes());
                out.extend_from_slice(&f.l1_address);
            }
        }
        out
    }

    /// Strict decoding of a body: exact length, known tag, canonical public key (a deposit's need
    /// not be a curve point), amount bound.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (&tag, _) = bytes.split_first().ok_or(DecodeError::Empty)?;
        let (kind, expected) = match tag {
            TAG_TRANSFER => ("transfer", Self::TRANSFER_LEN),
            TAG_WITHDRAW => ("withdraw", Self::WITHDRAW_LEN),
            TAG_DEPOSIT => ("deposit", Self::DEPOSIT_LEN),
            TAG_FORCED_EXIT => ("forced exit", Self::FORCED_EXIT_LEN),
            tag => return Err(DecodeError::UnknownTag { tag }),
        };
        if bytes.len() != expected {
            return Err(DecodeError::WrongLength { kind, expected, got: bytes.len() });
        }
        let mut r = Reader(&bytes[1..]);
        let priority_id = |r: &mut Reader<'_>| {
            let id = r.u64();
            if id > MAX_PRIORITY_ID {
                return Err(DecodeError::PriorityIdTooLarge { id, max: MAX_PRIORITY_ID });
            }
            Ok(id)
        };
        Ok(match tag {
            TAG_TRANSFER => Tx::Transfer(Transfer {
                from: r.u32(),
                to: r.u32(),
                amount: check_amount(r.u64())?,
                fee: check_fee(r.u64())?,
                nonce: r.u32(),
            }),
            TAG_WITHDRAW => Tx::Withdraw(Withdraw {
                from: r.u32(),
                l1_address: r.take(L1_ADDRESS_LEN).try_into().expect("20 bytes"),
                amount: check_amount(r.u64())?,
                fee: check_fee(r.u64())?,
                nonce: r.u32(),
            }),
            TAG_FORCED_EXIT => Tx::ForcedExit(ForcedExit {
                priority_id: priority_id(&mut r)?,
                account: r.u32(),
                l1_address: r.take(L1_ADDRESS_LEN).try_into().expect("20 bytes"),
            }),
            _ => {
                let priority_id = priority_id(&mut r)?;
                let to = r.u32();
                // Deposits come from L1 with any canonical key (see PublicKey::from_canonical_bytes).
                let pubkey = PublicKey::from_canonical_bytes(r.take(PUBKEY_LEN))
                    .map_err(|source| DecodeError::PublicKey { source })?;
                Tx::Deposit(Deposit { priority_id, to, pubkey, amount: check_amount(r.u64())? })
            }
        })
    }

    /// The slot layout of this transaction (see [`layout`]); unused fields are zero. A forced exit's amount is zero
    /// here: the state fills in the balance it withdraws when it applies it.
    pub fn to_fields(&self) -> [F; TX_FIELDS] {
        let mut f = [F::ZERO; TX_FIELDS];
        f[layout::TAG] = F::from_canonical_u8(self.tag());
        match self {
            Tx::Transfer(t) => {
                f[layout::ACCOUNT_A] = F::from_canonical_u32(t.from);
                f[layout::ACCOUNT_B] = F::from_canonical_u32(t.to);
                f[layout::AMOUNT] = F::from_canonical_u64(t.amount);
                f[layout::NONCE] = F::from_canonical_u32(t.nonce);
                f[layout::FEE] = F::from_canonical_u64(t.fee);
            }
            Tx::Withdraw(w) => {
                f[layout::ACCOUNT_A] = F::from_canonical_u32(w.from);
                f[layout::ACCOUNT_B] = F::from_canonical_u32(w.from);
                f[layout::AMOUNT] = F::from_canonical_u64(w.amount);
                f[layout::NONCE] = F::from_canonical_u32(w.nonce);
                f[layout::FEE] = F::from_canonical_u64(w.fee);
                f[layout::L1_ADDRESS..layout::L1_ADDRESS + 5].copy_from_slice(&l1_address_limbs(&w.l1_address));
            }
            Tx::Deposit(d) => {
                f[layout::ACCOUNT_A] = F::from_canonical_u32(d.to);
                f[layout::ACCOUNT_B] = F::from_canonical_u32(d.to);
                f[layout::AMOUNT] = F::from_canonical_u64(d.amount);
                f[layout::PUBKEY..layout::PUBKEY + 5].copy_from_slice(&d.pubkey.to_fields());
                f[layout::PRIORITY_ID] = F::from_canonical_u64(d.priority_id);
                f[layout::REFUND] = F::from_bool(!d.key_is_usable());
            }
            Tx::ForcedExit(fe) => {
                f[layout::ACCOUNT_A] = F::from_canonical_u32(fe.account);
                f[layout::ACCOUNT_B] = F::from_canonical_u32(fe.account);
                f[layout::L1_ADDRESS..layout::L1_ADDRESS + 5].copy_from_slice(&l1_address_limbs(&fe.l1_address));
                f[layout::PRIORITY_ID] = F::from_canonical_u64(fe.priority_id);
            }
        }
        f
    }

    /// The message a wallet signs for `domain`: Poseidon over the domain's fields then the slot layout. The
    /// layout starts with the tag, so a signature for one kind never verifies for another, and the domain binds
    /// the deployment.
    pub fn message(&self, domain: &Domain) -> Digest {
        signing_message(domain, &self.to_fields())
    }

    /// A transaction id within one rollup: Poseidon over the slot layout.
    pub fn id(&self) -> Digest {
        hash(&self.to_fields())
    }

    /// Signs for `domain` (priority operations stay unsigned).
    pub fn sign(self, sk: &SecretKey, domain: &Domain) -> SignedTx {
        let signature = self.is_signed().then(|| sk.sign(&self.message(domain)));
        SignedTx { tx: self, signature }
    }
}

/// `Poseidon(domain ‖ fields)`: the message signed for a slot with these fields.
pub fn signing_message(domain: &Domain, fields: &[F; TX_FIELDS]) -> Digest {
    let mut input = domain.to_fields().to_vec();
    input.extend_from_slice(fields);
    hash(&input)
}

/// The fields of an empty (padding) slot.
pub fn noop_fields() -> [F; TX_FIELDS] {
    [F::ZERO; TX_FIELDS]
}

/// An L1 address as five 32-bit limbs (always canonical field elements).
pub fn l1_address_limbs(addr: &[u8; L1_ADDRESS_LEN]) -> [F; 5] {
    std::array::from_fn(|i| {
        F::from_canonical_u32(u32::from_le_bytes(addr[4 * i..4 * i + 4].try_into().expect("4 bytes")))
    })
}

impl Deposit {
    /// Whether the deposit's key encodes a (non-neutral) public key someone can sign with. A deposit whose key does
    /// not credits nothing, and the L1 contract refunds it when its epoch executes.
    pub fn key_is_usable(&self) -> bool {
        self.pubkey.point().is_ok()
    }
}

impl SignedTx {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.tx.to_bytes();
        if let Some(sig) = &self.signature {
            out.extend_from_slice(&sig.to_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (&tag, _) = bytes.split_first().ok_or(DecodeError::Empty)?;
        let (kind, body_len, signed) = match tag {
            TAG_TRANSFER => ("signed transfer", Tx::TRANSFER_LEN, true),
            TAG_WITHDRAW => ("signed withdraw", Tx::WITHDRAW_LEN, true),
            TAG_DEPOSIT => ("deposit", Tx::DEPOSIT_LEN, false),
            TAG_FORCED_EXIT => ("forced exit", Tx::FORCED_EXIT_LEN, false),
            tag => return Err(DecodeError::UnknownTag { tag }),
        };
        let expected = body_len + if signed { SIGNATURE_LEN } else { 0 };
        if bytes.len() != expected {
            return Err(DecodeError::WrongLength { kind, expected, got: bytes.len() });
        }
        let tx = Tx::from_bytes(&bytes[..body_len])?;
        let signature = if signed {
            Some(Signature::from_bytes(&bytes[body_len..]).map_err(|source| DecodeError::Signature { source })?)
        } else {
            None
        };
        Ok(SignedTx { tx, signature })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn samples() -> (SecretKey, Vec<SignedTx>) {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let sk = SecretKey::random(&mut rng);
        let pk = sk.public_key();
        let txs = vec![
            Tx::Transfer(Transfer { from: 1, to: 2, amount: 500, fee: 7, nonce: 3 }),
            Tx::Withdraw(Withdraw { from: 9, l1_address: [0xab; 20], amount: MAX_AMOUNT, fee: MAX_AMOUNT, nonce: 0 }),
            Tx::Deposit(Deposit { priority_id: 77, to: u32::MAX, pubkey: pk, amount: 1 }),
            Tx::ForcedExit(ForcedExit { priority_id: MAX_PRIORITY_ID, account: 4, l1_address: [0xcd; 20] }),
        ];
        (sk.clone(), txs.into_iter().map(|t| t.sign(&sk, &Domain::DEVNET)).collect())
    }

    #[test]
    fn round_trips() {
        let (_, txs) = samples();
        for t in txs {
            let b = t.to_bytes();
            assert_eq!(SignedTx::from_bytes(&b).unwrap(), t);
            assert_eq!(Tx::from_bytes(&t.tx.to_bytes()).unwrap(), t.tx);
        }
    }

    #[test]
    fn strict_decoding() {
        let (_, txs) = samples();
        assert_eq!(SignedTx::from_bytes(&[]), Err(DecodeError::Empty));
        assert_eq!(Tx::from_bytes(&[9, 1, 2]), Err(DecodeError::UnknownTag { tag: 9 }));
        assert_eq!(Tx::from_bytes(&[0]), Err(DecodeError::UnknownTag { tag: 0 }));
        for t in &txs {
            let b = t.to_bytes();
            // every truncation and one extra byte are refused
            for n in 1..b.len() {
                assert!(matches!(SignedTx::from_bytes(&b[..n]), Err(DecodeError::WrongLength { .. })));
            }
            let mut longer = b.clone();
            longer.push(0);
            assert!(matches!(SignedTx::from_bytes(&longer), Err(DecodeError::WrongLength { .. })));
        }
        // amount above the bound
        let mut b = txs[0].tx.to_bytes();
        b[9..17].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(Tx::from_bytes(&b), Err(DecodeError::AmountTooLarge { .. })));
        // a fee above the bound
        let mut b = txs[0].tx.to_bytes();
        b[17..25].copy_from_slice(&(MAX_AMOUNT + 1).to_le_bytes());
        assert_eq!(Tx::from_bytes(&b), Err(DecodeError::FeeTooLarge { fee: MAX_AMOUNT + 1, max: MAX_AMOUNT }));
        // a non-canonical public key element (>= p) in a deposit
        let mut d = txs[2].tx.to_bytes();
        d[13..21].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(Tx::from_bytes(&d), Err(DecodeError::PublicKey { .. })));
        // a canonical key that is not a curve point is still a decodable deposit: L1 accepts
        // any key, and a deposit the L2 cannot read would stall the priority queue
        let off_curve =
            (1u64..).map(|x| PublicKey::from_fields([F::from_canonical_u64(x); 5])).find(|k| k.point().is_err());
        let dep = Tx::Deposit(Deposit { priority_id: 3, to: 9, pubkey: off_curve.unwrap(), amount: 1 });
        assert_eq!(Tx::from_bytes(&dep.to_bytes()), Ok(dep));
        // a forced exit's priority id has the deposit's bound
        let mut fe = txs[3].tx.to_bytes();
        fe[1..9].copy_from_slice(&(MAX_PRIORITY_ID + 1).to_le_bytes());
        assert!(matches!(Tx::from_bytes(&fe), Err(DecodeError::PriorityIdTooLarge { .. })));
        // a non-canonical challenge element in a signature
        let mut s = txs[0].to_bytes();
        s[Tx::TRANSFER_LEN..Tx::TRANSFER_LEN + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(SignedTx::from_bytes(&s), Err(DecodeError::Signature { .. })));
    }

    #[test]
    fn messages_bind_every_field_and_kind() {
        let d = Domain::DEVNET;
        let t = Transfer { from: 1, to: 2, amount: 5, fee: 1, nonce: 0 };
        let base = Tx::Transfer(t).message(&d);
        assert_ne!(base, Tx::Transfer(Transfer { amount: 6, ..t }).message(&d));
        assert_ne!(base, Tx::Transfer(Transfer { nonce: 1, ..t }).message(&d));
        assert_ne!(base, Tx::Transfer(Transfer { to: 3, ..t }).message(&d));
        assert_ne!(base, Tx::Transfer(Transfer { fee: 2, ..t }).message(&d));
        let w = Withdraw { from: 1, l1_address: [0; 20], amount: 5, fee: 1, nonce: 0 };
        assert_ne!(base, Tx::Withdraw(w).message(&d));
        // the domain: another chain, another rollup, or the two ids swapped
        for other in [
            Domain { chain_id: 1, ..d },
            Domain { rollup_id: 2, ..d },
            Domain { chain_id: d.rollup_id, rollup_id: d.chain_id },
            Domain { chain_id: d.chain_id + (1 << 32), ..d },
        ] {
            assert_ne!(base, Tx::Transfer(t).message(&other), "{other}");
        }
    }

    #[test]
    fn a_deposit_marks_an_unusable_key_for_refund() {
        let (sk, _) = samples();
        let usable = Deposit { priority_id: 1, to: 2, pubkey: sk.public_key(), amount: 3 };
        let off_curve = (1u64..)
            .map(|x| PublicKey::from_fields([F::from_canonical_u64(x); 5]))
            .find(|k| k.point().is_err())
            .unwrap();
        let zero = PublicKey::from_fields([F::ZERO; 5]);
        for (d, refund) in [
            (usable, false),
            (Deposit { pubkey: off_curve, ..usable }, true),
            (Deposit { pubkey: zero, ..usable }, true),
        ] {
            assert_eq!(d.key_is_usable(), !refund);
            assert_eq!(Tx::Deposit(d).to_fields()[layout::REFUND], F::from_bool(refund));
        }
        let fe = ForcedExit { priority_id: 5, account: 7, l1_address: [9; 20] };
        let f = Tx::ForcedExit(fe).to_fields();
        assert_eq!(
            (f[layout::TAG], f[layout::ACCOUNT_A], f[layout::ACCOUNT_B]),
            (F::from_canonical_u8(4), F::from_canonical_u32(7), F::from_canonical_u32(7))
        );
        assert_eq!((f[layout::AMOUNT], f[layout::PRIORITY_ID]), (F::ZERO, F::from_canonical_u64(5)));
        assert!(!Tx::ForcedExit(fe).is_signed() && Tx::ForcedExit(fe).sign(&sk, &Domain::DEVNET).signature.is_none());
    }

    #[test]
    fn l1_limbs_are_little_endian() {
        let mut a = [0u8; 20];
        a[0] = 1;
        a[19] = 0xff;
        let l = l1_address_limbs(&a);
        assert_eq!(l[0], F::ONE);
        assert_eq!(l[4], F::from_canonical_u32(0xff00_0000));
    }
}
