//! Shared fixtures: one capacity-2 circuit per test binary, random valid batches, and a
//! witness builder that follows the circuit's own update rule with no native checks.

use std::collections::HashMap;
use std::sync::OnceLock;

use plonky2::field::types::{Field, PrimeField64};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_data::CircuitData;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use zkr_circuits::batch::Batch;
use zkr_circuits::circuit::{BatchCircuit, SlotWitness};
use zkr_circuits::config::{C, D, F};
use zkr_circuits::demo;
use zkr_circuits::schnorr::{PublicKey, SecretKey, Signature};
use zkr_circuits::smt::SparseMerkleTree;
use zkr_circuits::state::{Account, LeafWitness, State};
use zkr_circuits::tx::{layout, signing_message, Domain, Transfer, Tx, TX_FIELDS};
use zkr_ecgfp5::curve::Gfp5;
use zkr_engine::{forge_wires, prove_from_wires, CpuBackend, OnViolation};

pub const CAPACITY: usize = 2;
pub const ACCOUNTS: usize = 4;
pub const FUNDS: u64 = 1_000;

pub fn circuit() -> &'static BatchCircuit {
    static C: OnceLock<BatchCircuit> = OnceLock::new();
    C.get_or_init(|| BatchCircuit::build(CAPACITY))
}

pub fn keys(seed: u64) -> Vec<SecretKey> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..ACCOUNTS + 1).map(|_| SecretKey::random(&mut rng)).collect()
}

pub fn genesis(sks: &[SecretKey]) -> State {
    let g: Vec<(PublicKey, u64)> = sks[..ACCOUNTS].iter().map(|k| (k.public_key(), FUNDS)).collect();
    State::genesis(&g)
}

/// A random valid batch of 1..=CAPACITY transactions of every kind.
pub fn random_batch(seed: u64) -> (State, Batch) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let sks = keys(seed);
    let mut state = genesis(&sks);
    let n = rng.gen_range(1..=CAPACITY);
    let batch = demo::random_batch(&mut rng, &sks, &mut state, CAPACITY, n, demo::Mix::All);
    (state, batch)
}

/// What a cheating prover gets from slot witnesses: its own witness generation (conflicting values dropped,
/// panicking generators skipped: `zkr_engine::forge_wires`), a proof forged from that matrix whatever constraint
/// it breaks, and plonky2's verifier's answer. `true` only when the verifier accepts; every invalid case below is
/// refused here, by the verifier, never by a generator's conflict or a debug assertion.
pub fn proves(batch: &Forged) -> bool {
    proves_in(&Domain::DEVNET, batch)
}

/// As [`proves`], for a batch in `domain`.
pub fn proves_in(domain: &Domain, batch: &Forged) -> bool {
    let c = circuit();
    let pw = c.witness(domain, &[0; 32], &batch.slots, &batch.fee_leaf).expect("slot witnesses of the circuit's shape");
    verifier_accepts(&c.data, pw)
}

/// As [`proves`], with the circuit's answer to "does slot i's deposit key decode?" claimed by the prover for each
/// `(i, answer)` (written last: the honest generator's answer conflicts and is dropped).
pub fn proves_claiming_key_answers(batch: &Forged, claims: &[(usize, bool)]) -> bool {
    let c = circuit();
    let mut pw = c.witness(&Domain::DEVNET, &[0; 32], &batch.slots, &batch.fee_leaf).expect("slot witnesses");
    for &(slot, answer) in claims {
        pw.set_bool_target(c.deposit_key_flag(slot), answer).expect("the flag is not set by the witness");
    }
    verifier_accepts(&c.data, pw)
}

/// A forged batch: its slots and the fee account's leaf after them.
pub struct Forged {
    pub slots: Vec<SlotWitness>,
    pub fee_leaf: LeafWitness,
}

/// The forged-matrix proof of `pw` in `data`'s circuit, checked by plonky2's verifier.
pub fn verifier_accepts(data: &CircuitData<F, C, D>, pw: PartialWitness<F>) -> bool {
    let (public, wires, report) = forge_wires(&data.prover_only, &data.common, pw);
    let (proof, _) = prove_from_wires(&CpuBackend, &data.prover_only, &data.common, public, wires, OnViolation::Forge)
        .expect("a cheating engine proves any matrix of the right shape");
    let accepted = data.verify(proof).is_ok();
    if !accepted {
        eprintln!("the verifier refused the forged proof ({report:?})");
    }
    accepted
}

/// Builds slot witnesses by the circuit's update rule in field arithmetic, without any of
/// the native checks, so tests can hand the circuit invalid transitions.
pub struct Forge {
    tree: SparseMerkleTree,
    accounts: HashMap<u32, Account>,
    fee_account: u32,
    /// Fees of the slots so far, in field arithmetic (credited by `seal`).
    fees: F,
}

impl Forge {
    pub fn new(state: &State) -> Self {
        let mut tree = SparseMerkleTree::new();
        let mut accounts = HashMap::new();
        for (i, a) in state.accounts() {
            tree.set(i, a.leaf());
            accounts.insert(i, *a);
        }
        Self { tree, accounts, fee_account: state.fee_account(), fees: F::ZERO }
    }

    /// Closes a batch of `slots`: the fee account's leaf, then the credit of every fee, by the circuit's rule.
    pub fn seal(&mut self, slots: Vec<SlotWitness>) -> Forged {
        let fee_leaf = self.witness(self.fee_account);
        if let Some(a) = fee_leaf.before {
            let balance = (F::from_canonical_u64(a.balance) + self.fees).to_canonical_u64();
            self.put(self.fee_account, Account { balance, ..a });
        }
        self.fees = F::ZERO;
        Forged { slots, fee_leaf }
    }

    fn witness(&self, index: u32) -> LeafWitness {
        LeafWitness { index, before: self.accounts.get(&index).copied(), proof: self.tree.prove(index) }
    }

    fn put(&mut self, index: u32, a: Account) {
        self.tree.set(index, a.leaf());
        self.accounts.insert(index, a);
    }

    /// One slot from raw fields, a signature, and (for deposits to empty leaves) a key.
    pub fn slot(
        &mut self,
        fields: [F; TX_FIELDS],
        signature: Option<Signature>,
        deposit_key: Option<PublicKey>,
    ) -> SlotWitness {
        let tag = fields[layout::TAG].to_canonical_u64();
        let ai = fields[layout::ACCOUNT_A].to_canonical_u64() as u32;
        let bi = fields[layout::ACCOUNT_B].to_canonical_u64() as u32;
        let amount = fields[layout::AMOUNT];
        let a = self.witness(ai);
        // an empty leaf stays empty unless a deposit with a (claimed) usable key opens it
        let opens = tag == 3 && fields[layout::REFUND] == F::ZERO;
        if tag != 0 && (a.before.is_some() || opens) {
            let before = a.before.unwrap_or_else(|| Account {
                pubkey: deposit_key.expect("key for an empty leaf"),
                balance: 0,
                nonce: 0,
            });
            let signed = tag == 1 || tag == 2;
            let bal = F::from_canonical_u64(before.balance);
            let fee = fields[layout::FEE];
            let new_bal = match tag {
                1 | 2 => bal - amount - fee,
                3 if opens => bal + amount,
                3 => bal,
                _ => bal - amount,
            };
            if signed {
                self.fees += fee;
            }
            let after = Account { balance: new_bal.to_canonical_u64(), nonce: before.nonce + signed as u32, ..before };
            self.put(ai, after);
        }
        let b = self.witness(bi);
        if tag == 1 {
            // an empty recipient leaf: follow the circuit's rule with an all-zero key
            let before = b.before.unwrap_or(Account { pubkey: PublicKey(Gfp5::ZERO), balance: 0, nonce: 0 });
            let new_bal = F::from_canonical_u64(before.balance) + amount;
            self.put(bi, Account { balance: new_bal.to_canonical_u64(), ..before });
        }
        SlotWitness { fields, signature, a, b }
    }

    pub fn noop(&mut self) -> SlotWitness {
        self.slot([F::ZERO; TX_FIELDS], None, None)
    }
}

/// Fields of a transfer with arbitrary (possibly out-of-range) field values and no fee.
pub fn transfer_fields(from: u32, to: u32, amount: F, nonce: u32) -> [F; TX_FIELDS] {
    transfer_fields_with_fee(from, to, amount, F::ZERO, nonce)
}

/// Fields of a transfer with arbitrary amount and fee.
pub fn transfer_fields_with_fee(from: u32, to: u32, amount: F, fee: F, nonce: u32) -> [F; TX_FIELDS] {
    let mut f = Tx::Transfer(Transfer { from, to, amount: 1, fee: 0, nonce }).to_fields();
    f[layout::AMOUNT] = amount;
    f[layout::FEE] = fee;
    f
}

/// Signs raw fields as a wallet of the devnet would sign a transaction with exactly these fields.
pub fn sign_fields(sk: &SecretKey, fields: &[F; TX_FIELDS]) -> Signature {
    sign_fields_in(&Domain::DEVNET, sk, fields)
}

/// Signs raw fields for `domain`.
pub fn sign_fields_in(domain: &Domain, sk: &SecretKey, fields: &[F; TX_FIELDS]) -> Signature {
    sk.sign(&signing_message(domain, fields))
}
