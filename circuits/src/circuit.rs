//! The batch circuit: a fixed number of transaction slots, each enforcing the state
//! transition of `state.rs` (signature, nonce, 62-bit balance arithmetic, two Merkle
//! updates against the running root), plus the data chain: Keccak-256 over the digest before the batch, the batch
//! header and the slots' compact records (`pubdata`), exposed as 32-bit limbs the L1 contract recomputes.
//!
//! Every slot has the same shape whatever its kind: a first leaf update `a` (sender,
//! deposit recipient, or leaf 0 for padding) and a second update `b` (transfer recipient;
//! otherwise the same leaf again, unchanged). Kind flags derived from the tag switch the
//! arithmetic on and off, so a slot costs the same for every kind.

use plonky2::field::types::Field;
use plonky2::hash::hash_types::{HashOutTarget, NUM_HASH_OUT_ELTS};
use plonky2::hash::hashing::PlonkyPermutation;
use plonky2::hash::poseidon::{PoseidonHash, PoseidonPermutation};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::config::AlgebraicHasher;
use plonky2::plonk::proof::ProofWithPublicInputs;
use thiserror::Error;
use zkr_ecgfp5::gadgets::curve::CircuitBuilderCurve;
use zkr_ecgfp5::gadgets::gfp5::Gfp5Target;
use zkr_ecgfp5::gadgets::{
    add_virtual_signature_target, set_signature_target, verify_schnorr_conditional, SignatureTarget,
};
use zkr_ecgfp5::schnorr::Signature;

use zkr_keccak::concat::{keccak256_concat, VarBytes};
use zkr_keccak::gadget::digest_limbs;

use crate::batch::{Batch, BatchPublicInputs, HEADER_BYTES};
use crate::config::{C, D, F, ZERO_DIGEST};
use crate::pubdata::{self, circuit::SlotKind};
use crate::smt::DEPTH;
use crate::state::{Account, LeafWitness, TxTrace};
use crate::tx::{layout, Domain, AMOUNT_BITS, DOMAIN_FIELDS, TX_FIELDS};

/// Bits of a nonce.
const NONCE_BITS: usize = 32;
/// Bits of an L1 address limb.
const LIMB_BITS: usize = 32;

/// Targets of one leaf update.
#[derive(Clone, Debug)]
struct LeafTargets {
    pubkey: [Target; 5],
    balance: Target,
    nonce: Target,
    is_empty: BoolTarget,
    siblings: Vec<HashOutTarget>,
}

/// Targets of one slot.
#[derive(Clone, Debug)]
struct SlotTargets {
    fields: [Target; TX_FIELDS],
    is_transfer: BoolTarget,
    is_withdraw: BoolTarget,
    is_deposit: BoolTarget,
    is_forced_exit: BoolTarget,
    /// Whether the deposit key fields decode to a usable public key (proven either way).
    key_ok: BoolTarget,
    amount_inv: Target,
    self_transfer_inv: Target,
    /// Inverse of the sum of the L1 address limbs (a payout names a non-zero address).
    l1_address_inv: Target,
    signature: SignatureTarget,
    a: LeafTargets,
    b: LeafTargets,
}

/// The plain witness of one slot. Built from a [`TxTrace`], but tests may build or tamper
/// with it directly to bypass the native checks.
#[derive(Clone, Debug)]
pub struct SlotWitness {
    pub fields: [F; TX_FIELDS],
    pub signature: Option<Signature>,
    pub a: LeafWitness,
    pub b: LeafWitness,
}

impl From<&TxTrace> for SlotWitness {
    fn from(t: &TxTrace) -> Self {
        Self { fields: t.fields, signature: t.tx.as_ref().and_then(|t| t.signature), a: t.a.clone(), b: t.b.clone() }
    }
}

/// Why a batch could not be proven or verified.
#[derive(Debug, Error)]
pub enum CircuitError {
    #[error("batch has {got} slots, the circuit's capacity is {expected}")]
    SlotCount { expected: usize, got: usize },
    #[error("slot {slot}: Merkle path has {got} siblings, expected {expected}")]
    PathLength { slot: usize, expected: usize, got: usize },
    #[error("slot {slot}: inconsistent witness: {reason}")]
    Witness { slot: usize, reason: String },
    #[error("the prover failed: {reason}")]
    Prove { reason: String },
    #[error("the proof does not verify: {reason}")]
    Verify { reason: String },
    #[error(transparent)]
    PublicInputs(#[from] crate::batch::PublicInputsError),
}

/// A built batch circuit of a given capacity.
pub struct BatchCircuit {
    pub capacity: usize,
    /// Gates placed before padding to a power of two.
    pub gates_used: usize,
    pub data: CircuitData<F, C, D>,
    domain: [Target; DOMAIN_FIELDS],
    /// The data chain's digest before the batch: eight 32-bit big-endian limbs (public inputs 8..16).
    data_in: [Target; 8],
    /// The fee account's leaf and its index.
    fee_leaf: (LeafTargets, Target),
    /// Each slot's compact record in circuit (what the data chain hashes).
    records: Vec<VarBytes>,
    slots: Vec<SlotTargets>,
}

impl std::fmt::Debug for BatchCircuit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchCircuit")
            .field("capacity", &self.capacity)
            .field("degree_bits", &self.data.common.degree_bits())
            .finish()
    }
}

/// Gate counts of the pieces of one slot, measured while building.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct SlotCost {
    pub signature: usize,
    pub merkle: usize,
    /// The slot's compact record in circuit.
    pub record: usize,
    pub total: usize,
    /// The whole batch's Keccak-256 over its data-chain bytes (not per slot).
    pub keccak: usize,
}

/// The most bytes a batch of `capacity` slots hashes into the data chain: the digest before, the header, and a
/// widest record per slot.
pub fn data_budget(capacity: usize) -> usize {
    32 + HEADER_BYTES + capacity * pubdata::circuit::MAX_RECORD
}

fn select_hash(b: &mut CircuitBuilder<F, D>, cond: BoolTarget, x: HashOutTarget, y: HashOutTarget) -> HashOutTarget {
    HashOutTarget { elements: std::array::from_fn(|i| b.select(cond, x.elements[i], y.elements[i])) }
}

fn hash_targets(b: &mut CircuitBuilder<F, D>, inputs: Vec<Target>) -> HashOutTarget {
    b.hash_n_to_hash_no_pad::<PoseidonHash>(inputs)
}

/// Root obtained by hashing `leaf` up the path given by `index_bits` and `siblings`.
fn merkle_root(
    b: &mut CircuitBuilder<F, D>,
    leaf: HashOutTarget,
    index_bits: &[BoolTarget],
    siblings: &[HashOutTarget],
) -> HashOutTarget {
    let mut node = leaf;
    for (bit, sib) in index_bits.iter().zip(siblings) {
        let zero = b.zero();
        let mut perm = <PoseidonPermutation<Target> as PlonkyPermutation<Target>>::new(std::iter::repeat(zero));
        perm.set_from_slice(&node.elements, 0);
        perm.set_from_slice(&sib.elements, NUM_HASH_OUT_ELTS);
        // swap = 1: the node is a right child, hash (sibling, node)
        let out = <PoseidonHash as AlgebraicHasher<F>>::permute_swapped(perm, *bit, b);
        node = HashOutTarget { elements: out.squeeze()[..NUM_HASH_OUT_ELTS].try_into().expect("4 elements") };
    }
    node
}

/// `cond * x == 0`.
fn assert_zero_if(b: &mut CircuitBuilder<F, D>, cond: Target, x: Target) {
    let p = b.mul(cond, x);
    b.assert_zero(p);
}

/// `cond → x != 0`, using a witnessed inverse: `cond * (x * inv - 1) == 0`.
fn assert_nonzero_if(b: &mut CircuitBuilder<F, D>, cond: Target, x: Target, inv: Target) {
    let one = b.one();
    let t = b.mul_sub(x, inv, one);
    assert_zero_if(b, cond, t);
}

fn add_leaf_targets(b: &mut CircuitBuilder<F, D>) -> LeafTargets {
    LeafTargets {
        pubkey: std::array::from_fn(|_| b.add_virtual_target()),
        balance: b.add_virtual_target(),
        nonce: b.add_virtual_target(),
        is_empty: b.add_virtual_bool_target_safe(),
        siblings: b.add_virtual_hashes(DEPTH),
    }
}

/// Old and new leaf digests of an account whose balance/nonce change by the given deltas.
/// An empty leaf (flag set) has zero balance and nonce and hashes to the zero digest.
fn leaf_hash(b: &mut CircuitBuilder<F, D>, l: &LeafTargets, balance: Target, nonce: Target) -> HashOutTarget {
    let mut inputs = l.pubkey.to_vec();
    inputs.extend([balance, nonce]);
    hash_targets(b, inputs)
}

struct SlotOut {
    root: HashOutTarget,
    /// The fee this slot pays (zero unless signed).
    fee: Target,
}

fn build_slot(
    b: &mut CircuitBuilder<F, D>,
    domain: &[Target; DOMAIN_FIELDS],
    root_in: HashOutTarget,
    cost: &mut SlotCost,
) -> (SlotTargets, SlotOut) {
    let start = b.num_gates();
    let fields: [Target; TX_FIELDS] = std::array::from_fn(|_| b.add_virtual_target());
    let is_transfer = b.add_virtual_bool_target_safe();
    let is_withdraw = b.add_virtual_bool_target_safe();
    let is_deposit = b.add_virtual_bool_target_safe();
    let is_forced_exit = b.add_virtual_bool_target_safe();
    // tag = 1·transfer + 2·withdraw + 3·deposit + 4·forced exit, at most one flag set (noop = none)
    let t2 = b.mul_const_add(F::TWO, is_withdraw.target, is_transfer.target);
    let t3 = b.mul_const_add(F::from_canonical_u8(3), is_deposit.target, t2);
    let tag = b.mul_const_add(F::from_canonical_u8(4), is_forced_exit.target, t3);
    b.connect(tag, fields[layout::TAG]);
    let signed_t = b.add(is_transfer.target, is_withdraw.target);
    let priority_t = b.add(is_deposit.target, is_forced_exit.target);
    let any = b.add(signed_t, priority_t);
    let one = b.one();
    let noop_t = b.sub(one, any);
    let is_noop = BoolTarget::new_unsafe(noop_t);
    b.assert_bool(is_noop);
    let signed = BoolTarget::new_unsafe(signed_t);
    let pays_out = BoolTarget::new_unsafe(b.add(is_withdraw.target, is_forced_exit.target));
    let not_transfer = b.not(is_transfer);
    let not_pays_out = b.not(pays_out);
    let not_deposit = b.not(is_deposit);

    let acct_a = fields[layout::ACCOUNT_A];
    let acct_b = fields[layout::ACCOUNT_B];
    let amount = fields[layout::AMOUNT];
    let nonce_f = fields[layout::NONCE];

    // Canonical layout: fields a kind does not use are zero.
    assert_zero_if(b, noop_t, acct_a);
    assert_zero_if(b, noop_t, amount);
    let ab = b.sub(acct_b, acct_a);
    assert_zero_if(b, not_transfer.target, ab);
    for i in 0..5 {
        assert_zero_if(b, not_pays_out.target, fields[layout::L1_ADDRESS + i]);
        b.range_check(fields[layout::L1_ADDRESS + i], LIMB_BITS);
        assert_zero_if(b, not_deposit.target, fields[layout::PUBKEY + i]);
    }
    // A payout names a non-zero L1 address (nobody could pull one paid to address zero): the limbs are 32-bit, so
    // their sum (below 5·2^32 < p) is zero only when every limb is.
    let l1_sum = b.add_many(&fields[layout::L1_ADDRESS..layout::L1_ADDRESS + 5]);
    let l1_address_inv = b.add_virtual_target();
    assert_nonzero_if(b, pays_out.target, l1_sum, l1_address_inv);
    // A deposit credits only a key someone can sign with (one that decodes to a non-neutral group element); both
    // answers are proven, so a usable key cannot be refunded nor an unusable one credited. Outside deposits the key
    // fields are zero, which does not decode.
    let key_ok = b.curve_is_decodable(Gfp5Target(std::array::from_fn(|i| fields[layout::PUBKEY + i])));
    let good_deposit = b.and(is_deposit, key_ok);
    // the nonce word: a signed transaction's nonce, a deposit's refund flag, zero otherwise
    let refund = b.sub(is_deposit.target, good_deposit.target);
    let nonce_or_refund = b.sub(nonce_f, refund);
    let not_signed = b.sub(one, signed_t);
    assert_zero_if(b, not_signed, nonce_or_refund);
    // the last word: a deposit's priority id, a signed transaction's fee, zero in padding
    assert_zero_if(b, noop_t, fields[layout::FEE]);
    b.range_check(fields[layout::FEE], AMOUNT_BITS);
    b.range_check(amount, AMOUNT_BITS);
    b.range_check(nonce_f, NONCE_BITS);
    // A signed transaction or a deposit moves a positive amount (a forced exit moves whatever the balance is); a
    // transfer names two distinct accounts.
    let amount_inv = b.add_virtual_target();
    let moves = b.sub(any, is_forced_exit.target);
    assert_nonzero_if(b, moves, amount, amount_inv);
    let self_transfer_inv = b.add_virtual_target();
    assert_nonzero_if(b, is_transfer.target, ab, self_transfer_inv);

    // ---- leaf a: sender / deposit recipient / padding leaf
    let a = add_leaf_targets(b);
    let a_bits = b.split_le(acct_a, DEPTH);
    // only a deposit (or padding) may find an empty leaf; an empty leaf holds nothing
    assert_zero_if(b, a.is_empty.target, signed_t);
    assert_zero_if(b, a.is_empty.target, a.balance);
    assert_zero_if(b, a.is_empty.target, a.nonce);
    // a deposit credits the key it names (an existing account must already hold it)
    for i in 0..5 {
        let d = b.sub(a.pubkey[i], fields[layout::PUBKEY + i]);
        assert_zero_if(b, is_deposit.target, d);
    }
    b.range_check(a.balance, AMOUNT_BITS);
    b.range_check(a.nonce, NONCE_BITS);
    let nonce_diff = b.sub(nonce_f, a.nonce);
    assert_zero_if(b, signed_t, nonce_diff);
    // a forced exit withdraws the whole balance
    let exit_diff = b.sub(amount, a.balance);
    assert_zero_if(b, is_forced_exit.target, exit_diff);
    // balance' = balance + amount·(credited deposit − signed − forced exit) − fee·signed: amount and fee are each
    // below 2^62, so their sum is below 2^63 < p and an underflow wraps above p − 2^63, failing the range check; an
    // overflow cannot wrap (2·(2^62 − 1) < p) and fails it too. The fee cannot overspend: it is debited with the
    // amount.
    let debited = b.add(signed_t, is_forced_exit.target);
    let sign = b.sub(good_deposit.target, debited);
    let fee = b.mul(fields[layout::FEE], signed_t);
    let credited = b.mul_add(amount, sign, a.balance);
    let a_new_balance = b.sub(credited, fee);
    b.range_check(a_new_balance, AMOUNT_BITS);
    let a_new_nonce = b.add(a.nonce, signed_t);
    b.range_check(a_new_nonce, NONCE_BITS);
    let a_full = leaf_hash(b, &a, a.balance, a.nonce);
    let zero_hash = b.constant_hash(ZERO_DIGEST);
    let a_old_leaf = select_hash(b, a.is_empty, zero_hash, a_full);
    let a_updated = leaf_hash(b, &a, a_new_balance, a_new_nonce);
    // An empty leaf stays empty unless a deposit with a usable key opens it (padding, a refunded deposit, the forced
    // exit of an account that does not exist); any other slot that changes nothing hashes back to its old leaf.
    let keep_a = b.arithmetic(-F::ONE, F::ONE, a.is_empty.target, good_deposit.target, a.is_empty.target);
    let a_new_leaf = select_hash(b, BoolTarget::new_unsafe(keep_a), a_old_leaf, a_updated);
    let merkle_start = b.num_gates();
    let r = merkle_root(b, a_old_leaf, &a_bits, &a.siblings);
    b.connect_hashes(r, root_in);
    let root_mid = merkle_root(b, a_new_leaf, &a_bits, &a.siblings);
    let mut merkle = b.num_gates() - merkle_start;

    // ---- signature over the domain and the slot's fields, by the key in leaf a
    let sig_start = b.num_gates();
    let msg = hash_targets(b, [&domain[..], &fields[..]].concat());
    let signature = add_virtual_signature_target(b);
    verify_schnorr_conditional(b, signed, a.pubkey, msg, &signature);
    cost.signature = b.num_gates() - sig_start;

    // ---- leaf b: transfer recipient, else leaf a again unchanged
    let bl = add_leaf_targets(b);
    let b_bits = b.split_le(acct_b, DEPTH);
    assert_zero_if(b, bl.is_empty.target, is_transfer.target);
    assert_zero_if(b, bl.is_empty.target, bl.balance);
    assert_zero_if(b, bl.is_empty.target, bl.nonce);
    b.range_check(bl.balance, AMOUNT_BITS);
    let b_new_balance = b.mul_add(amount, is_transfer.target, bl.balance);
    b.range_check(b_new_balance, AMOUNT_BITS);
    let b_full = leaf_hash(b, &bl, bl.balance, bl.nonce);
    let b_old_leaf = select_hash(b, bl.is_empty, zero_hash, b_full);
    let b_updated = leaf_hash(b, &bl, b_new_balance, bl.nonce);
    let b_new_leaf = select_hash(b, is_transfer, b_updated, b_old_leaf);
    let merkle_start = b.num_gates();
    let r = merkle_root(b, b_old_leaf, &b_bits, &bl.siblings);
    b.connect_hashes(r, root_mid);
    let root_out = merkle_root(b, b_new_leaf, &b_bits, &bl.siblings);
    merkle += b.num_gates() - merkle_start;
    cost.merkle = merkle;
    cost.total = b.num_gates() - start;

    let t = SlotTargets {
        fields,
        is_transfer,
        is_withdraw,
        is_deposit,
        is_forced_exit,
        key_ok,
        amount_inv,
        self_transfer_inv,
        l1_address_inv,
        signature,
        a,
        b: bl,
    };
    (t, SlotOut { root: root_out, fee })
}

/// Credits the batch's fees to the fee account at `index` against `root_in`; returns the batch's new root. An empty
/// fee leaf (no fee account) is allowed only when no fee was paid, and stays empty.
fn credit_fees(
    b: &mut CircuitBuilder<F, D>,
    l: &LeafTargets,
    index: Target,
    fees: Target,
    root_in: HashOutTarget,
) -> HashOutTarget {
    let bits = b.split_le(index, DEPTH);
    assert_zero_if(b, l.is_empty.target, fees);
    assert_zero_if(b, l.is_empty.target, l.balance);
    assert_zero_if(b, l.is_empty.target, l.nonce);
    b.range_check(l.balance, AMOUNT_BITS);
    let new_balance = b.add(l.balance, fees);
    b.range_check(new_balance, AMOUNT_BITS);
    let zero_hash = b.constant_hash(ZERO_DIGEST);
    let full = leaf_hash(b, l, l.balance, l.nonce);
    let old_leaf = select_hash(b, l.is_empty, zero_hash, full);
    let credited = leaf_hash(b, l, new_balance, l.nonce);
    let new_leaf = select_hash(b, l.is_empty, zero_hash, credited);
    let r = merkle_root(b, old_leaf, &bits, &l.siblings);
    b.connect_hashes(r, root_in);
    merkle_root(b, new_leaf, &bits, &l.siblings)
}

impl BatchCircuit {
    /// Builds the circuit for `capacity` slots with plonky2's standard recursion config.
    pub fn build(capacity: usize) -> Self {
        Self::build_with_cost(capacity).0
    }

    /// As [`Self::build`], also returning the gate count of one slot and its parts.
    pub fn build_with_cost(capacity: usize) -> (Self, SlotCost) {
        assert!(capacity > 0, "batch capacity must be positive");
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        // The deployment's domain: a witness, bound by the signatures and by the data chain (whose header it starts,
        // and which the L1 contract recomputes with its own domain).
        let domain: [Target; DOMAIN_FIELDS] = std::array::from_fn(|_| b.add_virtual_target());
        let data_in: [Target; 8] = std::array::from_fn(|_| b.add_virtual_target());
        let old_root = b.add_virtual_hash();
        let mut root = old_root;
        let mut slots = Vec::with_capacity(capacity);
        let mut cost = SlotCost::default();
        // the fee account: its index is in the batch header (the contract supplies its own)
        let fee_leaf = add_leaf_targets(&mut b);
        let fee_index = b.add_virtual_target();
        // The data chain's fixed parts: the digest before (its limbs' bytes, which range-checks them to 32 bits), then
        // the header: chain id and rollup id (u64 each, from their 32-bit halves), the fee account (u32), big-endian.
        let be = |b: &mut CircuitBuilder<F, D>, x: Target| pubdata::circuit::be_bytes(b, x, 32, 4);
        let data_in_bytes: Vec<Target> = data_in.iter().flat_map(|&l| be(&mut b, l)).collect();
        let mut header = Vec::with_capacity(HEADER_BYTES);
        for d in [domain[1], domain[0], domain[3], domain[2], fee_index] {
            header.extend(be(&mut b, d));
        }
        let fixed = |b: &mut CircuitBuilder<F, D>, bytes: Vec<Target>| {
            let len = b.constant(F::from_canonical_usize(bytes.len()));
            VarBytes { bytes, len }
        };
        let mut parts = vec![fixed(&mut b, data_in_bytes), fixed(&mut b, header)];
        let mut fees = b.zero();
        let mut records = Vec::with_capacity(capacity);
        for _ in 0..capacity {
            let (t, out) = build_slot(&mut b, &domain, root, &mut cost);
            root = out.root;
            // each fee is below 2^62 and so is the running total: no sum wraps around p
            fees = b.add(fees, out.fee);
            b.range_check(fees, AMOUNT_BITS);
            let kind = SlotKind {
                is_transfer: t.is_transfer,
                is_withdraw: t.is_withdraw,
                is_deposit: t.is_deposit,
                is_forced_exit: t.is_forced_exit,
                leaf_a_empty: t.a.is_empty,
            };
            let records_start = b.num_gates();
            let record = pubdata::circuit::record(&mut b, &t.fields, &kind);
            records.push(record.clone());
            parts.push(record);
            cost.record = b.num_gates() - records_start;
            slots.push(t);
        }
        let root = credit_fees(&mut b, &fee_leaf, fee_index, fees, root);
        let keccak_start = b.num_gates();
        let data = keccak256_concat(&mut b, &parts, data_budget(capacity));
        let data_out = digest_limbs(&mut b, &data.digest);
        cost.keccak = b.num_gates() - keccak_start;
        b.register_public_inputs(&old_root.elements);
        b.register_public_inputs(&root.elements);
        b.register_public_inputs(&data_in);
        b.register_public_inputs(&data_out);
        let gates_used = b.num_gates();
        let data = b.build::<C>();
        (Self { capacity, gates_used, data, domain, data_in, fee_leaf: (fee_leaf, fee_index), records, slots }, cost)
    }

    /// The circuit's own answer to "does slot `slot`'s deposit key decode to a usable public key?" (a witness its
    /// generators fill in; soundness tests overwrite it to show that a wrong answer does not verify).
    pub fn deposit_key_flag(&self, slot: usize) -> BoolTarget {
        self.slots[slot].key_ok
    }

    /// Slot `slot`'s compact record as the circuit builds it (bytes and length; soundness tests overwrite them to show
    /// that a record other than the slot's does not verify).
    pub fn record_targets(&self, slot: usize) -> &VarBytes {
        &self.records[slot]
    }

    /// Number of rows (gates) in the circuit, a power of two.
    pub fn rows(&self) -> usize {
        1 << self.data.common.degree_bits()
    }

    /// Fills the witness for a batch in `domain` whose fees go to the account of `fee_leaf` (taken after the last
    /// slot). The old root is implied by the first slot's path.
    pub fn witness(
        &self,
        domain: &Domain,
        data_in: &[u8; 32],
        slots: &[SlotWitness],
        fee_leaf: &LeafWitness,
    ) -> Result<PartialWitness<F>, CircuitError> {
        if slots.len() != self.capacity {
            return Err(CircuitError::SlotCount { expected: self.capacity, got: slots.len() });
        }
        let mut pw = PartialWitness::new();
        let header = |e: anyhow::Error| CircuitError::Witness { slot: 0, reason: format!("batch header: {e:#}") };
        pw.set_target_arr(&self.domain, &domain.to_fields()).map_err(header)?;
        pw.set_target_arr(&self.data_in, &crate::batch::digest_to_limbs(data_in)).map_err(header)?;
        if fee_leaf.proof.siblings.len() != DEPTH {
            return Err(CircuitError::PathLength {
                slot: slots.len(),
                expected: DEPTH,
                got: fee_leaf.proof.siblings.len(),
            });
        }
        let (fee_targets, fee_index) = &self.fee_leaf;
        pw.set_target(*fee_index, F::from_canonical_u32(fee_leaf.index)).map_err(header)?;
        set_leaf(&mut pw, fee_targets, fee_leaf, &[F::ZERO; TX_FIELDS]).map_err(header)?;
        for (slot, (t, w)) in self.slots.iter().zip(slots).enumerate() {
            let ctx = |e: anyhow::Error| CircuitError::Witness { slot, reason: format!("{e:#}") };
            pw.set_target_arr(&t.fields, &w.fields).map_err(ctx)?;
            let tag = w.fields[layout::TAG];
            pw.set_bool_target(t.is_transfer, tag == F::ONE).map_err(ctx)?;
            pw.set_bool_target(t.is_withdraw, tag == F::TWO).map_err(ctx)?;
            pw.set_bool_target(t.is_deposit, tag == F::from_canonical_u8(3)).map_err(ctx)?;
            pw.set_bool_target(t.is_forced_exit, tag == F::from_canonical_u8(4)).map_err(ctx)?;
            let inv = |x: F| x.try_inverse().unwrap_or(F::ZERO);
            pw.set_target(t.amount_inv, inv(w.fields[layout::AMOUNT])).map_err(ctx)?;
            pw.set_target(t.self_transfer_inv, inv(w.fields[layout::ACCOUNT_B] - w.fields[layout::ACCOUNT_A]))
                .map_err(ctx)?;
            let l1_sum: F = w.fields[layout::L1_ADDRESS..layout::L1_ADDRESS + 5].iter().copied().sum();
            pw.set_target(t.l1_address_inv, inv(l1_sum)).map_err(ctx)?;
            for leaf in [&w.a, &w.b] {
                if leaf.proof.siblings.len() != DEPTH {
                    return Err(CircuitError::PathLength { slot, expected: DEPTH, got: leaf.proof.siblings.len() });
                }
            }
            set_leaf(&mut pw, &t.a, &w.a, &w.fields).map_err(ctx)?;
            set_leaf(&mut pw, &t.b, &w.b, &w.fields).map_err(ctx)?;
            let sig = w.signature.unwrap_or_else(dummy_signature);
            set_signature_target(&mut pw, &t.signature, &sig).map_err(ctx)?;
        }
        Ok(pw)
    }

    /// The witness of a batch built natively (for zkr's own proving pipeline).
    pub fn witness_for(&self, batch: &Batch) -> Result<PartialWitness<F>, CircuitError> {
        let slots: Vec<SlotWitness> = batch.slots.iter().map(SlotWitness::from).collect();
        self.witness(&batch.domain, &batch.data_in, &slots, &batch.fees.leaf)
    }

    /// Proves a batch built natively.
    pub fn prove(&self, batch: &Batch) -> Result<ProofWithPublicInputs<F, C, D>, CircuitError> {
        let slots: Vec<SlotWitness> = batch.slots.iter().map(SlotWitness::from).collect();
        self.prove_witness(&batch.domain, &batch.data_in, &slots, &batch.fees.leaf)
    }

    /// Proves from raw slot witnesses (no native checks).
    pub fn prove_witness(
        &self,
        domain: &Domain,
        data_in: &[u8; 32],
        slots: &[SlotWitness],
        fee_leaf: &LeafWitness,
    ) -> Result<ProofWithPublicInputs<F, C, D>, CircuitError> {
        let _span = tracing::info_span!("prove_batch", capacity = self.capacity, rows = self.rows()).entered();
        let pw = {
            let _s = tracing::debug_span!("witness").entered();
            self.witness(domain, data_in, slots, fee_leaf)?
        };
        let _s = tracing::debug_span!("plonky2_prove").entered();
        self.data.prove(pw).map_err(|e| CircuitError::Prove { reason: format!("{e:#}") })
    }

    /// Verifies with plonky2's verifier and returns the decoded public inputs.
    pub fn verify(&self, proof: &ProofWithPublicInputs<F, C, D>) -> Result<BatchPublicInputs, CircuitError> {
        self.data.verify(proof.clone()).map_err(|e| CircuitError::Verify { reason: format!("{e:#}") })?;
        Ok(BatchPublicInputs::from_fields(&proof.public_inputs)?)
    }
}

fn dummy_signature() -> Signature {
    Signature::from_bytes(&[0u8; 72]).expect("the all-zero signature encoding is canonical")
}

fn set_leaf(
    pw: &mut PartialWitness<F>,
    t: &LeafTargets,
    w: &LeafWitness,
    fields: &[F; TX_FIELDS],
) -> anyhow::Result<()> {
    match &w.before {
        Some(acct) => {
            let Account { pubkey, balance, nonce } = acct;
            pw.set_target_arr(&t.pubkey, &pubkey.to_fields())?;
            pw.set_target(t.balance, F::from_canonical_u64(*balance))?;
            pw.set_target(t.nonce, F::from_canonical_u32(*nonce))?;
            pw.set_bool_target(t.is_empty, false)?;
        }
        None => {
            // an empty leaf: a deposit brings its key; padding uses zeros
            pw.set_target_arr(&t.pubkey, &fields[layout::PUBKEY..layout::PUBKEY + 5])?;
            pw.set_target(t.balance, F::ZERO)?;
            pw.set_target(t.nonce, F::ZERO)?;
            pw.set_bool_target(t.is_empty, true)?;
        }
    }
    for (st, s) in t.siblings.iter().zip(&w.proof.siblings) {
        pw.set_hash_target(*st, *s)?;
    }
    Ok(())
}
