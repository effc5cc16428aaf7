//! A batch: a fixed number of transaction slots (padding with no-ops), its public inputs
//! and the commitments to its pubdata, deposits and withdrawals, computed natively.

use plonky2::field::types::{Field, PrimeField64};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::{hash, Digest, F, ZERO_DIGEST};
use crate::state::{State, TxError, TxTrace};
use crate::tx::{layout, SignedTx, TX_FIELDS};

/// Number of public inputs of a batch proof.
pub const NUM_PUBLIC_INPUTS: usize = 20;

/// The batch statement's public inputs, in circuit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPublicInputs {
    pub old_root: Digest,
    pub new_root: Digest,
    /// Poseidon over the slot layouts of every slot (padding included), in order.
    pub pubdata_commitment: Digest,
    /// Chain `h ← H(h ‖ priority_id, to, amount, pubkey)` over deposit slots, from zero.
    pub deposits_commitment: Digest,
    /// Chain `h ← H(h ‖ from, l1_address limbs, amount)` over withdraw slots, from zero.
    pub withdrawals_commitment: Digest,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PublicInputsError {
    #[error("wrong number of public inputs: expected {expected}, got {got}")]
    WrongCount { expected: usize, got: usize },
}

impl BatchPublicInputs {
    pub fn to_fields(&self) -> Vec<F> {
        [self.old_root, self.new_root, self.pubdata_commitment, self.deposits_commitment, self.withdrawals_commitment]
            .iter()
            .flat_map(|d| d.elements)
            .collect()
    }

    pub fn from_fields(f: &[F]) -> Result<Self, PublicInputsError> {
        if f.len() != NUM_PUBLIC_INPUTS {
            return Err(PublicInputsError::WrongCount { expected: NUM_PUBLIC_INPUTS, got: f.len() });
        }
        let d = |i: usize| Digest { elements: std::array::from_fn(|j| f[4 * i + j]) };
        Ok(Self {
            old_root: d(0),
            new_root: d(1),
            pubdata_commitment: d(2),
            deposits_commitment: d(3),
            withdrawals_commitment: d(4),
        })
    }
}

/// Inputs of one step of the deposit chain.
pub fn deposit_chain_input(prev: Digest, fields: &[F; TX_FIELDS]) -> Vec<F> {
    let mut v = prev.elements.to_vec();
    v.extend_from_slice(&[fields[layout::PRIORITY_ID], fields[layout::ACCOUNT_A], fields[layout::AMOUNT]]);
    v.extend_from_slice(&fields[layout::PUBKEY..layout::PUBKEY + 5]);
    v
}

/// Inputs of one step of the withdrawal chain.
pub fn withdrawal_chain_input(prev: Digest, fields: &[F; TX_FIELDS]) -> Vec<F> {
    let mut v = prev.elements.to_vec();
    v.push(fields[layout::ACCOUNT_A]);
    v.extend_from_slice(&fields[layout::L1_ADDRESS..layout::L1_ADDRESS + 5]);
    v.push(fields[layout::AMOUNT]);
    v
}

/// A sealed batch: exactly `capacity` slot traces.
#[derive(Clone, Debug)]
pub struct Batch {
    pub slots: Vec<TxTrace>,
}

impl Batch {
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The pubdata: every slot's field layout, concatenated.
    pub fn pubdata(&self) -> Vec<F> {
        self.slots.iter().flat_map(|s| s.fields).collect()
    }

    /// Pubdata as bytes (8 little-endian bytes per field element), as posted to L1.
    pub fn pubdata_bytes(&self) -> Vec<u8> {
        self.pubdata().iter().flat_map(|f| f.to_canonical_u64().to_le_bytes()).collect()
    }

    pub fn public_inputs(&self) -> BatchPublicInputs {
        let mut deposits = ZERO_DIGEST;
        let mut withdrawals = ZERO_DIGEST;
        for s in &self.slots {
            let tag = s.fields[layout::TAG];
            if tag == F::from_canonical_u8(crate::tx::TAG_DEPOSIT) {
                deposits = hash(&deposit_chain_input(deposits, &s.fields));
            } else if tag == F::from_canonical_u8(crate::tx::TAG_WITHDRAW) {
                withdrawals = hash(&withdrawal_chain_input(withdrawals, &s.fields));
            }
        }
        BatchPublicInputs {
            old_root: self.slots.first().map_or(ZERO_DIGEST, |s| s.root_before),
            new_root: self.slots.last().map_or(ZERO_DIGEST, |s| s.root_after),
            pubdata_commitment: hash(&self.pubdata()),
            deposits_commitment: deposits,
            withdrawals_commitment: withdrawals,
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

    /// Pads with no-ops and returns the batch.
    pub fn seal(mut self, state: &State) -> Batch {
        while self.slots.len() < self.capacity {
            self.slots.push(state.noop());
        }
        Batch { slots: self.slots }
    }
}
