//! Accounts and the native state transition: the reference the circuit must agree with.

use std::collections::BTreeMap;

use plonky2::field::types::{Field, PrimeField64};
use thiserror::Error;
use zkr_ecgfp5::schnorr::PublicKey;

use crate::config::{hash, Digest, F, ZERO_DIGEST};
use crate::smt::{MerkleProof, SparseMerkleTree};
use crate::tx::{layout, noop_fields, Domain, SignedTx, Tx, MAX_AMOUNT, TX_FIELDS};

/// An account leaf: `H(pubkey (5 elements), balance, nonce)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account {
    pub pubkey: PublicKey,
    pub balance: u64,
    pub nonce: u32,
}

impl Account {
    pub fn leaf_fields(&self) -> [F; 7] {
        let pk = self.pubkey.to_fields();
        [pk[0], pk[1], pk[2], pk[3], pk[4], F::from_canonical_u64(self.balance), F::from_canonical_u32(self.nonce)]
    }

    pub fn leaf(&self) -> Digest {
        hash(&self.leaf_fields())
    }
}

/// Why a transaction was refused. A refused transaction changes nothing.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TxError {
    #[error("missing signature: {kind} transactions must be signed")]
    MissingSignature { kind: &'static str },
    #[error("unexpected signature: deposits are not signed")]
    UnexpectedSignature,
    #[error("bad signature for account {account}")]
    BadSignature { account: u32 },
    #[error("nonce mismatch for account {account}: expected {expected}, got {got}")]
    NonceMismatch { account: u32, expected: u32, got: u32 },
    #[error("insufficient balance in account {account}: balance {balance}, needed {needed}")]
    InsufficientBalance { account: u32, balance: u64, needed: u64 },
    #[error("amount overflow in account {account}: balance {balance} + {amount} exceeds {max}", max = MAX_AMOUNT)]
    AmountOverflow { account: u32, balance: u64, amount: u64 },
    #[error("zero amount: a {kind} must move a positive amount")]
    ZeroAmount { kind: &'static str },
    #[error("unknown account {account}")]
    UnknownAccount { account: u32 },
    #[error("withdrawal from account {account} to the zero L1 address: nobody could pull it")]
    WithdrawToZeroAddress { account: u32 },
    #[error("self-transfer from account {account} to itself is not allowed")]
    SelfTransfer { account: u32 },
    #[error("deposit to account {account} names a public key that differs from the account's")]
    DepositKeyMismatch { account: u32 },
    #[error("nonce of account {account} is exhausted")]
    NonceExhausted { account: u32 },
    #[error("fee account {account} does not exist: a fee needs it")]
    FeeAccountMissing { account: u32 },
    #[error(
        "fee account {account} is full: balance {balance} + fees pending in this batch {pending} exceeds {max}",
        max = MAX_AMOUNT
    )]
    FeeAccountFull { account: u32, balance: u64, pending: u64 },
}

/// Why a slot of published pubdata could not be replayed (data the proof did not vouch for, or a mismatch between this
/// code and the circuit that proved it).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ReplayError {
    #[error("malformed slot: {what}")]
    Malformed { what: &'static str },
    #[error("forced exit of account {account} pays {amount}, but its balance is {balance}")]
    ForcedExitAmount { account: u32, amount: u64, balance: u64 },
    #[error(transparent)]
    Tx(#[from] TxError),
}

/// One leaf update as the circuit sees it: the account before (or `None` if the leaf was
/// empty) and the path, taken against the root current at that point of the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafWitness {
    pub index: u32,
    pub before: Option<Account>,
    pub proof: MerkleProof,
}

/// Everything the circuit needs to prove one transaction slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxTrace {
    /// `None` for a padding slot.
    pub tx: Option<SignedTx>,
    pub fields: [F; TX_FIELDS],
    /// The first update (sender / deposit recipient / padding leaf 0).
    pub a: LeafWitness,
    /// The second update (transfer recipient; otherwise the same leaf again, unchanged).
    pub b: LeafWitness,
    pub root_before: Digest,
    pub root_after: Digest,
}

/// The fee credit that closes a batch: the fee account's leaf (at the root after the last slot), credited with
/// every fee of the batch. With no fee account (an empty leaf) the total is zero and nothing changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeTrace {
    pub total: u64,
    pub leaf: LeafWitness,
    pub root_before: Digest,
    pub root_after: Digest,
}

/// Accounts and their tree, in one deployment's [`Domain`] (whose signatures it accepts), with the fees of the
/// open batch.
#[derive(Clone, Debug)]
pub struct State {
    accounts: BTreeMap<u32, Account>,
    tree: SparseMerkleTree,
    domain: Domain,
    /// The account fees are paid to (set at genesis).
    fee_account: u32,
    /// Fees of the open batch, credited to `fee_account` when it is sealed.
    pending_fees: u64,
    /// The data chain's digest after the last sealed batch (`batch::chain_data`; zero at genesis).
    data_digest: [u8; 32],
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    /// An empty state in [`Domain::DEVNET`].
    pub fn new() -> Self {
        Self {
            accounts: BTreeMap::new(),
            tree: SparseMerkleTree::default(),
            domain: Domain::DEVNET,
            fee_account: 0,
            pending_fees: 0,
            data_digest: [0; 32],
        }
    }

    /// The same state paying fees to account `id` (set at genesis; default 0).
    pub fn with_fee_account(mut self, id: u32) -> Self {
        self.fee_account = id;
        self
    }

    /// The account fees are paid to.
    pub fn fee_account(&self) -> u32 {
        self.fee_account
    }

    /// Fees of the open batch, not yet credited.
    pub fn pending_fees(&self) -> u64 {
        self.pending_fees
    }

    /// The same state in another domain (set at genesis: a rollup's domain never changes).
    pub fn with_domain(mut self, domain: Domain) -> Self {
        self.domain = domain;
        self
    }

    /// The data chain's digest after the last sealed batch: the next batch's `data_in`.
    pub fn data_digest(&self) -> [u8; 32] {
        self.data_digest
    }

    /// Advances the data chain over one sealed batch's compact records (`batch::chain_data` with this state's
    /// header).
    pub fn chain_records(&mut self, records: &[u8]) -> [u8; 32] {
        let header = crate::batch::header_bytes(self.domain, self.fee_account);
        self.data_digest = crate::batch::chain_data(&self.data_digest, &header, records);
        self.data_digest
    }

    /// The deployment whose signatures this state accepts.
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// A state with the given accounts at ids 0, 1, … (nonce 0), in [`Domain::DEVNET`].
    pub fn genesis(accounts: &[(PublicKey, u64)]) -> Self {
        let mut s = Self::new();
        for (i, (pubkey, balance)) in accounts.iter().enumerate() {
            assert!(*balance <= MAX_AMOUNT, "genesis balance above MAX_AMOUNT");
            s.put(i as u32, Account { pubkey: *pubkey, balance: *balance, nonce: 0 });
        }
        s
    }

    pub fn root(&self) -> Digest {
        self.tree.root()
    }

    pub fn account(&self, id: u32) -> Option<&Account> {
        self.accounts.get(&id)
    }

    pub fn accounts(&self) -> impl Iterator<Item = (u32, &Account)> {
        self.accounts.iter().map(|(k, v)| (*k, v))
    }

    pub fn proof(&self, id: u32) -> MerkleProof {
        self.tree.prove(id)
    }

    fn put(&mut self, id: u32, acct: Account) {
        self.tree.set(id, acct.leaf());
        self.accounts.insert(id, acct);
    }

    fn existing(&self, id: u32) -> Result<Account, TxError> {
        self.accounts.get(&id).copied().ok_or(TxError::UnknownAccount { account: id })
    }

    fn leaf_witness(&self, index: u32) -> LeafWitness {
        LeafWitness { index, before: self.accounts.get(&index).copied(), proof: self.tree.prove(index) }
    }

    /// Checks a signed sender-side transaction and returns the sender after debiting it.
    fn debit(&self, tx: &SignedTx, from: u32, amount: u64, fee: u64, nonce: u32) -> Result<Account, TxError> {
        let sig = tx.signature.as_ref().ok_or(TxError::MissingSignature { kind: tx.tx.kind() })?;
        if amount == 0 {
            return Err(TxError::ZeroAmount { kind: tx.tx.kind() });
        }
        let sender = self.existing(from)?;
        sender.pubkey.verify(&tx.tx.message(&self.domain), sig).map_err(|_| TxError::BadSignature { account: from })?;
        if nonce != sender.nonce {
            return Err(TxError::NonceMismatch { account: from, expected: sender.nonce, got: nonce });
        }
        let next_nonce = sender.nonce.checked_add(1).ok_or(TxError::NonceExhausted { account: from })?;
        // both at most 2^62 − 1: the sum fits
        let needed = amount + fee;
        let balance = sender.balance.checked_sub(needed).ok_or(TxError::InsufficientBalance {
            account: from,
            balance: sender.balance,
            needed,
        })?;
        Ok(Account { balance, nonce: next_nonce, ..sender })
    }

    fn credit(account: u32, acct: Account, amount: u64) -> Result<Account, TxError> {
        match acct.balance.checked_add(amount) {
            Some(b) if b <= MAX_AMOUNT => Ok(Account { balance: b, ..acct }),
            _ => Err(TxError::AmountOverflow { account, balance: acct.balance, amount }),
        }
    }

    /// Applies one transaction. On error the state is unchanged.
    pub fn apply(&mut self, tx: &SignedTx) -> Result<TxTrace, TxError> {
        let root_before = self.root();
        let mut fields = tx.tx.to_fields();
        if !tx.tx.is_signed() && tx.signature.is_some() {
            return Err(TxError::UnexpectedSignature);
        }
        // Validate everything first, then mutate: a failed tx changes nothing. `a_after` is None when leaf a stays
        // as it is.
        let (a_index, a_after, b_update) = match &tx.tx {
            Tx::Transfer(t) => {
                if t.from == t.to {
                    return Err(TxError::SelfTransfer { account: t.from });
                }
                let sender = self.debit(tx, t.from, t.amount, t.fee, t.nonce)?;
                let receiver = Self::credit(t.to, self.existing(t.to)?, t.amount)?;
                (t.from, Some(sender), Some((t.to, receiver)))
            }
            Tx::Withdraw(w) => {
                if w.l1_address == [0; 20] {
                    return Err(TxError::WithdrawToZeroAddress { account: w.from });
                }
                (w.from, Some(self.debit(tx, w.from, w.amount, w.fee, w.nonce)?), None)
            }
            Tx::Deposit(d) => {
                if d.amount == 0 {
                    return Err(TxError::ZeroAmount { kind: "deposit" });
                }
                let acct = match self.accounts.get(&d.to) {
                    Some(a) if a.pubkey != d.pubkey => return Err(TxError::DepositKeyMismatch { account: d.to }),
                    Some(a) => *a,
                    None => Account { pubkey: d.pubkey, balance: 0, nonce: 0 },
                };
                // a key nobody can sign with credits nothing: the L1 contract refunds the deposit
                let after = if d.key_is_usable() { Some(Self::credit(d.to, acct, d.amount)?) } else { None };
                (d.to, after, None)
            }
            Tx::ForcedExit(fe) => {
                // the whole balance; an account that does not exist (its opening deposit was refunded) exits nothing
                let acct = self.accounts.get(&fe.account).copied();
                fields[layout::AMOUNT] = F::from_canonical_u64(acct.map_or(0, |a| a.balance));
                (fe.account, acct.map(|a| Account { balance: 0, ..a }), None)
            }
        };
        // The batch's fees are credited when it is sealed: the fee account must exist and have room for them
        // after this transaction (which may itself move the fee account's balance).
        let fee = tx.tx.fee();
        let pending = self.pending_fees + fee;
        if pending > 0 {
            let id = self.fee_account;
            let balance = match (&b_update, a_after) {
                (Some((b, after)), _) if *b == id => after.balance,
                (_, Some(after)) if a_index == id => after.balance,
                _ => self.existing(id).map_err(|_| TxError::FeeAccountMissing { account: id })?.balance,
            };
            if balance + pending > MAX_AMOUNT {
                return Err(TxError::FeeAccountFull { account: id, balance, pending });
            }
        }
        self.pending_fees = pending;
        let a = self.leaf_witness(a_index);
        if let Some(after) = a_after {
            self.put(a_index, after);
        }
        let b = match b_update {
            Some((b_index, b_after)) => {
                let w = self.leaf_witness(b_index);
                self.put(b_index, b_after);
                w
            }
            None => self.leaf_witness(a_index),
        };
        Ok(TxTrace { tx: Some(tx.clone()), fields, a, b, root_before, root_after: self.root() })
    }

    /// Credits the fees of the open batch to the fee account (when a batch is sealed, after its padding).
    pub fn credit_fees(&mut self) -> FeeTrace {
        let root_before = self.root();
        let total = std::mem::take(&mut self.pending_fees);
        let leaf = self.leaf_witness(self.fee_account);
        if let Some(acct) = leaf.before.filter(|_| total > 0) {
            // apply() kept room for every pending fee
            self.put(self.fee_account, Account { balance: acct.balance + total, ..acct });
        }
        FeeTrace { total, leaf, root_before, root_after: self.root() }
    }

    /// Applies one slot of published pubdata (its field layout) the way the circuit did, without signatures: what
    /// rebuilding the state from L1 data alone needs (the proof already vouched for each slot). Fees are left
    /// pending, as [`Self::apply`] leaves them: call [`Self::credit_fees`] after each batch's last slot.
    pub fn replay(&mut self, fields: &[F; TX_FIELDS]) -> Result<(), ReplayError> {
        let word = |i: usize| fields[i].to_canonical_u64();
        let id = |i: usize| {
            u32::try_from(word(i)).map_err(|_| ReplayError::Malformed { what: "an account id above 2^32 − 1" })
        };
        let tag = word(layout::TAG);
        match tag {
            0 => Ok(()),
            1 | 2 => {
                let (from, amount, fee) = (id(layout::ACCOUNT_A)?, word(layout::AMOUNT), word(layout::FEE));
                let nonce = u32::try_from(word(layout::NONCE))
                    .map_err(|_| ReplayError::Malformed { what: "a nonce above 2^32 − 1" })?;
                let sender = self.existing(from)?;
                if sender.nonce != nonce {
                    return Err(TxError::NonceMismatch { account: from, expected: sender.nonce, got: nonce }.into());
                }
                let needed = amount.checked_add(fee).ok_or(ReplayError::Malformed { what: "amount + fee" })?;
                let balance = sender.balance.checked_sub(needed).ok_or(TxError::InsufficientBalance {
                    account: from,
                    balance: sender.balance,
                    needed,
                })?;
                let nonce = sender.nonce.checked_add(1).ok_or(TxError::NonceExhausted { account: from })?;
                let receiver = if tag == 1 {
                    let to = id(layout::ACCOUNT_B)?;
                    Some((to, Self::credit(to, self.existing(to)?, amount)?))
                } else {
                    None
                };
                self.put(from, Account { balance, nonce, ..sender });
                if let Some((to, r)) = receiver {
                    self.put(to, r);
                }
                self.pending_fees += fee;
                Ok(())
            }
            3 => {
                if word(layout::REFUND) != 0 {
                    return Ok(()); // refunded on L1, nothing credited
                }
                let to = id(layout::ACCOUNT_A)?;
                let key: [F; 5] = std::array::from_fn(|i| fields[layout::PUBKEY + i]);
                let acct = match self.accounts.get(&to) {
                    Some(a) if a.pubkey.to_fields() != key => {
                        return Err(TxError::DepositKeyMismatch { account: to }.into())
                    }
                    Some(a) => *a,
                    None => Account { pubkey: PublicKey::from_fields(key), balance: 0, nonce: 0 },
                };
                let credited = Self::credit(to, acct, word(layout::AMOUNT))?;
                self.put(to, credited);
                Ok(())
            }
            4 => {
                let account = id(layout::ACCOUNT_A)?;
                let amount = word(layout::AMOUNT);
                match self.accounts.get(&account).copied() {
                    Some(a) if a.balance == amount => {
                        self.put(account, Account { balance: 0, ..a });
                        Ok(())
                    }
                    None if amount == 0 => Ok(()),
                    a => Err(ReplayError::ForcedExitAmount { account, amount, balance: a.map_or(0, |a| a.balance) }),
                }
            }
            _ => Err(ReplayError::Malformed { what: "an unknown tag" }),
        }
    }

    /// The trace of a padding slot: leaf 0 read twice, nothing changes.
    pub fn noop(&self) -> TxTrace {
        let w = self.leaf_witness(0);
        TxTrace {
            tx: None,
            fields: noop_fields(),
            a: w.clone(),
            b: w,
            root_before: self.root(),
            root_after: self.root(),
        }
    }
}

/// Leaf value of an optional account (`None` = empty leaf).
pub fn leaf_of(acct: &Option<Account>) -> Digest {
    acct.map_or(ZERO_DIGEST, |a| a.leaf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::{Deposit, ForcedExit, Transfer, Withdraw};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use zkr_ecgfp5::schnorr::SecretKey;

    fn setup() -> (Vec<SecretKey>, State) {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let sks: Vec<SecretKey> = (0..3).map(|_| SecretKey::random(&mut rng)).collect();
        let g: Vec<_> = sks.iter().map(|k| (k.public_key(), 1000)).collect();
        (sks, State::genesis(&g))
    }

    fn transfer(sk: &SecretKey, from: u32, to: u32, amount: u64, nonce: u32) -> SignedTx {
        Tx::Transfer(Transfer { from, to, amount, fee: 0, nonce }).sign(sk, &Domain::DEVNET)
    }

    #[test]
    fn transfer_updates_balances_nonce_and_trace_paths() {
        let (sks, mut s) = setup();
        let tr = s.apply(&transfer(&sks[0], 0, 1, 300, 0)).unwrap();
        assert_eq!(s.account(0).unwrap().balance, 700);
        assert_eq!(s.account(0).unwrap().nonce, 1);
        assert_eq!(s.account(1).unwrap().balance, 1300);
        // the witnesses replay: a's path against root_before, b's against the middle root
        assert!(tr.a.proof.verify(tr.root_before, leaf_of(&tr.a.before)));
        assert!(tr.b.proof.verify(tr.b.proof.root_for(leaf_of(&tr.b.before)), leaf_of(&tr.b.before)));
        assert_eq!(tr.root_after, s.root());
    }

    #[test]
    fn each_error_leaves_state_unchanged() {
        let (sks, mut s) = setup();
        let root = s.root();
        let cases: Vec<(SignedTx, TxError)> = vec![
            (transfer(&sks[1], 0, 1, 5, 0), TxError::BadSignature { account: 0 }),
            (transfer(&sks[0], 0, 1, 5, 1), TxError::NonceMismatch { account: 0, expected: 0, got: 1 }),
            (
                transfer(&sks[0], 0, 1, 1001, 0),
                TxError::InsufficientBalance { account: 0, balance: 1000, needed: 1001 },
            ),
            (transfer(&sks[0], 0, 1, 0, 0), TxError::ZeroAmount { kind: "transfer" }),
            // signed by the right key for another deployment
            (
                Tx::Transfer(Transfer { from: 0, to: 1, amount: 5, fee: 0, nonce: 0 })
                    .sign(&sks[0], &Domain { chain_id: 1, ..Domain::DEVNET }),
                TxError::BadSignature { account: 0 },
            ),
            (transfer(&sks[0], 0, 9, 5, 0), TxError::UnknownAccount { account: 9 }),
            (transfer(&sks[0], 7, 1, 5, 0), TxError::UnknownAccount { account: 7 }),
            (transfer(&sks[0], 0, 0, 5, 0), TxError::SelfTransfer { account: 0 }),
            (
                Tx::Withdraw(Withdraw { from: 0, l1_address: [0; 20], amount: 5, fee: 0, nonce: 0 })
                    .sign(&sks[0], &Domain::DEVNET),
                TxError::WithdrawToZeroAddress { account: 0 },
            ),
            (
                SignedTx {
                    tx: Tx::Transfer(Transfer { from: 0, to: 1, amount: 5, fee: 0, nonce: 0 }),
                    signature: None,
                },
                TxError::MissingSignature { kind: "transfer" },
            ),
            (
                Tx::Deposit(Deposit { priority_id: 0, to: 1, pubkey: sks[1].public_key(), amount: MAX_AMOUNT })
                    .sign(&sks[0], &Domain::DEVNET),
                TxError::AmountOverflow { account: 1, balance: 1000, amount: MAX_AMOUNT },
            ),
            (
                Tx::Deposit(Deposit { priority_id: 0, to: 1, pubkey: sks[0].public_key(), amount: 5 })
                    .sign(&sks[0], &Domain::DEVNET),
                TxError::DepositKeyMismatch { account: 1 },
            ),
        ];
        for (tx, err) in cases {
            assert_eq!(s.apply(&tx), Err(err));
            assert_eq!(s.root(), root);
        }
    }

    #[test]
    fn deposit_creates_account_and_withdraw_debits() {
        let (sks, mut s) = setup();
        let d = Tx::Deposit(Deposit { priority_id: 0, to: 50, pubkey: sks[2].public_key(), amount: 40 })
            .sign(&sks[0], &Domain::DEVNET);
        let tr = s.apply(&d).unwrap();
        assert_eq!(tr.a.before, None);
        assert_eq!(s.account(50).unwrap().balance, 40);
        let w = Tx::Withdraw(Withdraw { from: 50, l1_address: [1; 20], amount: 15, fee: 0, nonce: 0 })
            .sign(&sks[2], &Domain::DEVNET);
        s.apply(&w).unwrap();
        assert_eq!(s.account(50).unwrap().balance, 25);
        // replaying the withdrawal is refused by its nonce
        assert_eq!(s.apply(&w), Err(TxError::NonceMismatch { account: 50, expected: 1, got: 0 }));
    }

    #[test]
    fn fees_are_debited_with_the_amount_and_credited_when_the_batch_closes() {
        let (sks, s) = setup();
        let mut s = s.with_fee_account(2);
        let d = Domain::DEVNET;
        let fee = |amount, fee, nonce| Tx::Transfer(Transfer { from: 0, to: 1, amount, fee, nonce }).sign(&sks[0], &d);
        // the fee cannot overspend: amount + fee is what the balance must cover
        assert_eq!(
            s.apply(&fee(990, 11, 0)),
            Err(TxError::InsufficientBalance { account: 0, balance: 1000, needed: 1001 })
        );
        s.apply(&fee(990, 10, 0)).unwrap();
        assert_eq!(s.account(0).unwrap().balance, 0);
        assert_eq!(s.account(1).unwrap().balance, 1990);
        assert_eq!((s.account(2).unwrap().balance, s.pending_fees()), (1000, 10), "credited at the batch's end");
        let t = s.credit_fees();
        assert_eq!((t.total, t.leaf.index, t.root_before != t.root_after), (10, 2, true));
        assert_eq!((s.account(2).unwrap().balance, s.pending_fees()), (1010, 0));
        assert!(t.leaf.proof.verify(t.root_before, leaf_of(&t.leaf.before)));
        assert_eq!(t.root_after, s.root());
        // nothing pending: the credit changes nothing
        let t = s.credit_fees();
        assert_eq!((t.total, t.root_before), (0, t.root_after));

        // no fee account: a fee is refused, a free transaction goes through
        let mut s = setup().1.with_fee_account(77);
        let t = |fee| Tx::Transfer(Transfer { from: 0, to: 1, amount: 5, fee, nonce: 0 }).sign(&sks[0], &d);
        assert_eq!(s.apply(&t(1)), Err(TxError::FeeAccountMissing { account: 77 }));
        s.apply(&t(0)).unwrap();
        // a fee account with no room left for the batch's fees
        let mut s =
            State::genesis(&[(sks[0].public_key(), 1000), (sks[1].public_key(), MAX_AMOUNT - 3)]).with_fee_account(1);
        let w = Tx::Withdraw(Withdraw { from: 0, l1_address: [1; 20], amount: 5, fee: 4, nonce: 0 }).sign(&sks[0], &d);
        assert_eq!(s.apply(&w), Err(TxError::FeeAccountFull { account: 1, balance: MAX_AMOUNT - 3, pending: 4 }));
    }

    #[test]
    fn a_forced_exit_takes_the_whole_balance_and_an_unusable_deposit_key_credits_nothing() {
        let (sks, mut s) = setup();
        let d = Domain::DEVNET;
        s.apply(&transfer(&sks[0], 0, 1, 1, 0)).unwrap();
        let fe = |account| Tx::ForcedExit(ForcedExit { priority_id: 4, account, l1_address: [7; 20] });
        let tr = s.apply(&fe(1).sign(&sks[0], &d)).unwrap();
        assert_eq!(tr.fields[layout::AMOUNT], F::from_canonical_u64(1001), "the slot carries the balance withdrawn");
        assert_eq!((s.account(1).unwrap().balance, s.account(1).unwrap().nonce), (0, 0));
        assert_eq!(tr.root_after, s.root());
        // again: nothing left, still processed (the L1 queue must move on)
        let tr = s.apply(&fe(1).sign(&sks[0], &d)).unwrap();
        assert_eq!((tr.fields[layout::AMOUNT], tr.root_before), (F::ZERO, tr.root_after));
        // an account that does not exist: nothing to withdraw, the leaf stays empty
        let tr = s.apply(&fe(99).sign(&sks[0], &d)).unwrap();
        assert_eq!((tr.a.before, tr.root_before), (None, tr.root_after));
        // priority operations carry no signature
        let forged = SignedTx { tx: fe(1), signature: transfer(&sks[1], 1, 0, 1, 0).signature };
        assert_eq!(s.apply(&forged), Err(TxError::UnexpectedSignature));

        // a deposit whose key nobody can sign with: marked for refund, nothing credited, no account opened
        let bad = (1u64..)
            .map(|x| PublicKey::from_fields([F::from_canonical_u64(x); 5]))
            .find(|k| k.point().is_err())
            .unwrap();
        let root = s.root();
        let tr = s
            .apply(&Tx::Deposit(Deposit { priority_id: 5, to: 60, pubkey: bad, amount: 9 }).sign(&sks[0], &d))
            .unwrap();
        assert_eq!((tr.fields[layout::REFUND], tr.fields[layout::AMOUNT]), (F::ONE, F::from_canonical_u64(9)));
        assert_eq!((s.root(), s.account(60)), (root, None));
        // to an existing account it must still name the account's key
        assert_eq!(
            s.apply(&Tx::Deposit(Deposit { priority_id: 6, to: 0, pubkey: bad, amount: 9 }).sign(&sks[0], &d)),
            Err(TxError::DepositKeyMismatch { account: 0 })
        );
    }

    #[test]
    fn replaying_the_pubdata_alone_rebuilds_the_same_state() {
        let keys = crate::demo::keys(21, 4);
        let genesis = crate::demo::genesis(&keys);
        let mut live = genesis.clone();
        let mut rebuilt = genesis;
        let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(21);
        for _ in 0..12 {
            let batch = crate::demo::random_batch(&mut rng, &keys, &mut live, 4, 4, crate::demo::Mix::All);
            for slot in &batch.slots {
                rebuilt.replay(&slot.fields).unwrap();
            }
            rebuilt.credit_fees();
            assert_eq!(rebuilt.root(), live.root());
        }
        assert_eq!(rebuilt.accounts().count(), live.accounts().count());
        // a forced exit that does not pay the balance, a transfer from nowhere, an unknown tag
        let mut f = Tx::ForcedExit(ForcedExit { priority_id: 1, account: 0, l1_address: [1; 20] }).to_fields();
        f[layout::AMOUNT] = F::ONE;
        assert!(matches!(rebuilt.replay(&f), Err(ReplayError::ForcedExitAmount { account: 0, amount: 1, .. })));
        let t = Tx::Transfer(Transfer { from: 77, to: 0, amount: 1, fee: 0, nonce: 0 }).to_fields();
        assert_eq!(rebuilt.replay(&t), Err(ReplayError::Tx(TxError::UnknownAccount { account: 77 })));
        let mut bad = [F::ZERO; TX_FIELDS];
        bad[layout::TAG] = F::from_canonical_u8(9);
        assert_eq!(rebuilt.replay(&bad), Err(ReplayError::Malformed { what: "an unknown tag" }));
    }

    #[test]
    fn root_is_deterministic_in_history() {
        let (sks, mut a) = setup();
        let (_, mut b) = setup();
        for s in [&mut a, &mut b] {
            s.apply(&transfer(&sks[0], 0, 2, 10, 0)).unwrap();
            s.apply(&transfer(&sks[2], 2, 1, 4, 0)).unwrap();
        }
        assert_eq!(a.root(), b.root());
        let n = a.noop();
        assert_eq!(n.root_before, n.root_after);
    }
}
