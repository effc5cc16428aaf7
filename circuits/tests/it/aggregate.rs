//! Integration tests of the aggregation tree: folding, the chaining constraint in circuit,
//! substituted circuits and tampered public inputs.

use std::sync::OnceLock;
use std::time::Instant;

use plonky2::field::types::Field;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkr_circuits::aggregate::{combine, AggregateError, AggregationCircuit, AggregationTree, Proof};
use zkr_circuits::artifact::digest_hex;
use zkr_circuits::batch::{digest_to_limbs, Batch, BatchBuilder, BatchPublicInputs};
use zkr_circuits::circuit::BatchCircuit;
use zkr_circuits::config::F;
use zkr_circuits::demo;
use zkr_circuits::state::State;

const CAPACITY: usize = 2;
const HEIGHT: u32 = 2;
const SEED: u64 = 21;

fn tree() -> &'static AggregationTree {
    static T: OnceLock<AggregationTree> = OnceLock::new();
    T.get_or_init(|| AggregationTree::build(CAPACITY, HEIGHT))
}

/// Four consecutive batches from one genesis, each applied to the state after the previous.
struct Chain {
    /// `states[i]` is the state before batch i; `states[4]` the final state.
    states: Vec<State>,
    batches: Vec<Batch>,
    proofs: Vec<Proof>,
}

fn chain() -> &'static Chain {
    static CH: OnceLock<Chain> = OnceLock::new();
    CH.get_or_init(|| {
        let keys = demo::keys(SEED, 4);
        let mut state = demo::genesis(&keys);
        let mut rng = ChaCha20Rng::seed_from_u64(SEED);
        let mut states = vec![state.clone()];
        let mut batches = Vec::new();
        // one transaction in each of the first two batches (a test replays them in capacity-1 batches)
        for n in [1, 1, 2, 2] {
            batches.push(demo::random_batch(&mut rng, &keys, &mut state, CAPACITY, n, demo::Mix::All));
            states.push(state.clone());
        }
        let proofs = batches.iter().map(|b| tree().batch.prove(b).expect("valid batch proves")).collect();
        Chain { states, batches, proofs }
    })
}

fn epoch() -> &'static Proof {
    static E: OnceLock<Proof> = OnceLock::new();
    E.get_or_init(|| {
        let start = Instant::now();
        let p = tree().fold(chain().proofs.clone()).expect("four consecutive batches fold");
        eprintln!("fold of 4 batch proofs (height 2): {:.2} s", start.elapsed().as_secs_f64());
        p
    })
}

/// A batch of padding only, at the state after the four chained batches.
fn empty_batch() -> &'static (Batch, Proof) {
    static E: OnceLock<(Batch, Proof)> = OnceLock::new();
    E.get_or_init(|| {
        let batch = BatchBuilder::new(CAPACITY).seal(&mut chain().states[4].clone());
        let proof = tree().batch.prove(&batch).expect("an empty batch proves");
        (batch, proof)
    })
}

fn pis(p: &Proof) -> BatchPublicInputs {
    BatchPublicInputs::from_fields(&p.public_inputs).unwrap()
}

/// `true` when a cheating prover gets a node proof that plonky2's verifier accepts from the raw witness (no native
/// checks; its own witness generation and a forged proof, see `common::verifier_accepts`). Children whose shape does
/// not fit the circuit cannot even be written into a witness (printed, `false`).
fn node_proves_raw(level: u32, left: &Proof, right: &Proof) -> bool {
    node_proves_forged(level, left, right, |_, _| ())
}

/// As [`node_proves_raw`], with `forge` overwriting values of the witness (they win over any generated one).
fn node_proves_forged(
    level: u32,
    left: &Proof,
    right: &Proof,
    forge: impl FnOnce(&AggregationCircuit, &mut PartialWitness<F>),
) -> bool {
    let node = tree().circuit_for_level(level).unwrap();
    match node.witness(left, right) {
        Err(e) => {
            eprintln!("level-{level} node: the children do not fit its witness: {e}");
            false
        }
        Ok(mut pw) => {
            forge(node, &mut pw);
            crate::common::verifier_accepts(&node.data, pw)
        }
    }
}

#[test]
fn two_consecutive_batches_fold_into_one_verified_proof() {
    let t = tree();
    let ch = chain();
    let node = t.circuit_for_level(1).unwrap();
    let start = Instant::now();
    let proof = node.prove(&ch.proofs[0], &ch.proofs[1]).expect("chained batches aggregate");
    let prove_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    node.data.verify(proof.clone()).expect("plonky2 accepts the node proof");
    let verify_ms = start.elapsed().as_secs_f64() * 1e3;
    eprintln!(
        "level 1 node: 2^{} rows, prove {prove_s:.2} s, verify {verify_ms:.1} ms, proof {} bytes",
        node.data.common.degree_bits(),
        proof.to_bytes().len()
    );

    let expected = combine(&ch.batches[0].public_inputs(), &ch.batches[1].public_inputs());
    assert_eq!(pis(&proof), expected);
    assert_eq!(expected.old_root, ch.states[0].root());
    assert_eq!(expected.new_root, ch.states[2].root());
    assert_eq!(node.verify(&proof).unwrap(), expected);
    assert_eq!(t.verify_at_level(1, &proof).unwrap(), expected);
    // a level-1 proof is not a batch proof nor a level-2 proof; there is no level 3
    assert!(t.verify_at_level(0, &proof).is_err());
    assert!(t.verify_at_level(2, &proof).is_err());
    assert!(matches!(t.verify_at_level(3, &proof), Err(AggregateError::NoSuchLevel { level: 3, height: 2 })));
    assert!(t.circuit_for_level(0).is_none());
    assert!(t.circuit_for_level(3).is_none());
}

#[test]
fn four_consecutive_batches_fold_into_an_epoch_proof() {
    let t = tree();
    let ch = chain();
    let epoch = epoch();
    let top = t.circuit_for_level(HEIGHT).unwrap();
    let start = Instant::now();
    top.data.verify(epoch.clone()).expect("plonky2 accepts the epoch proof");
    eprintln!(
        "epoch proof: level-2 circuit 2^{} rows, verify {:.1} ms, proof {} bytes",
        top.data.common.degree_bits(),
        start.elapsed().as_secs_f64() * 1e3,
        epoch.to_bytes().len()
    );
    let b: Vec<BatchPublicInputs> = ch.batches.iter().map(Batch::public_inputs).collect();
    let expected = combine(&combine(&b[0], &b[1]), &combine(&b[2], &b[3]));
    assert_eq!(t.verify_at_level(HEIGHT, epoch).unwrap(), expected);
    assert_eq!(expected.old_root, ch.states[0].root());
    assert_eq!(expected.new_root, ch.states[4].root());
    // the data chain runs through the batches in order: the epoch binds the Keccak chain over all their records
    assert_eq!(expected.data_in, [0; 32], "the first batch after genesis starts the chain at zero");
    for w in b.windows(2) {
        assert_eq!(w[0].data_out, w[1].data_in);
    }
    assert_eq!(expected.data_out, ch.states[4].data_digest());
}

#[test]
fn fold_refuses_a_wrong_count_or_a_broken_chain_before_proving() {
    let t = tree();
    let proofs = &chain().proofs;
    let err = t.fold(proofs[..3].to_vec()).unwrap_err();
    assert!(matches!(err, AggregateError::WrongCount { expected: 4, got: 3 }), "{err}");
    let swapped = vec![proofs[1].clone(), proofs[0].clone(), proofs[2].clone(), proofs[3].clone()];
    let start = Instant::now();
    let err = t.fold(swapped).unwrap_err();
    assert!(start.elapsed().as_secs_f64() < 1.0, "the chain is checked before any proving");
    assert!(matches!(err, AggregateError::At { level: 0, index: 0, .. }), "{err}");
    assert!(matches!(err.root_cause(), AggregateError::RootMismatch { .. }), "{err}");
}

#[test]
fn batch_then_empty_batch_folds() {
    let t = tree();
    let ch = chain();
    let (empty, empty_proof) = empty_batch();
    let e = empty.public_inputs();
    assert_eq!(e.old_root, e.new_root, "an empty batch leaves the state unchanged");
    assert_eq!(t.verify_at_level(0, empty_proof).unwrap(), e);
    let node = t.circuit_for_level(1).unwrap();
    let proof = node.prove(&ch.proofs[3], empty_proof).expect("a batch and an empty batch at its root aggregate");
    node.data.verify(proof.clone()).expect("plonky2 accepts the node proof");
    let expected = combine(&ch.batches[3].public_inputs(), &e);
    assert_eq!(pis(&proof), expected);
    assert_eq!(expected.old_root, ch.states[3].root());
    assert_eq!(expected.new_root, ch.states[4].root());
}

#[test]
fn children_that_do_not_chain_are_refused_natively_and_in_circuit() {
    let t = tree();
    let ch = chain();
    // a second valid batch from the same genesis as batch 0
    let keys = demo::keys(SEED, 4);
    let mut state = demo::genesis(&keys);
    assert_eq!(state.root(), ch.states[0].root());
    let mut rng = ChaCha20Rng::seed_from_u64(SEED + 1);
    let other = demo::random_batch(&mut rng, &keys, &mut state, CAPACITY, 2, demo::Mix::Transfers);
    let other_proof = t.batch.prove(&other).expect("valid batch proves");
    let (left, right) = (&ch.proofs[0], &other_proof);
    assert_ne!(pis(left).new_root, pis(right).old_root);

    let node = t.circuit_for_level(1).unwrap();
    match node.prove(left, right) {
        Err(AggregateError::RootMismatch { left_new, right_old }) => {
            assert_eq!(left_new, digest_hex(&pis(left).new_root));
            assert_eq!(right_old, digest_hex(&pis(right).old_root));
        }
        other => panic!("expected RootMismatch, got {:?}", other.map(|_| "a proof")),
    }
    // bypass the native check: the circuit itself must refuse
    assert!(!node_proves_raw(1, left, right), "non-chaining children yielded a valid node proof");
    assert!(!node_proves_raw(1, right, left), "non-chaining children yielded a valid node proof");
}

/// A node that claims another data digest than its children's (the left child's `data_out` as its own, as if the right
/// child's records were dropped; the right child's `data_in`), or another old/new root than its children's, is refused
/// by the verifier: the copies into the public inputs bind them.
#[test]
fn a_node_claiming_other_commitments_or_roots_is_refused() {
    let ch = chain();
    let (left, right) = (&ch.proofs[0], &ch.proofs[1]);
    assert!(node_proves_raw(1, left, right), "control: the honest raw witness proves");
    let l = pis(left);
    let r = pis(right);
    // public input layout: old root 0..4, new root 4..8, data in 8..16, data out 16..24
    let claims = [
        ("old root", 0, r.old_root.elements.to_vec()),
        ("new root", 4, l.new_root.elements.to_vec()),
        ("data in", 8, digest_to_limbs(&r.data_in).to_vec()),
        ("data out", 16, digest_to_limbs(&l.data_out).to_vec()),
    ];
    for (what, at, claimed) in claims {
        let forged = node_proves_forged(1, left, right, |node, pw| {
            let targets = &node.data.prover_only.public_inputs;
            for (j, v) in claimed.iter().enumerate() {
                // overwrites (and reports) a value the child proof set: the claim is what stays
                let _ = pw.set_target(targets[at + j], *v);
                assert_eq!(pw.target_values[&targets[at + j]], *v);
            }
        });
        assert!(!forged, "a node claiming the left child's {what} was accepted");
    }
}

#[test]
fn proof_of_another_circuit_is_refused() {
    let t = tree();
    let ch = chain();
    let node1 = t.circuit_for_level(1).unwrap();
    let node2 = t.circuit_for_level(2).unwrap();

    // a capacity-1 batch proof that chains after batch 0, given to the capacity-2 tree
    let small = BatchCircuit::build(1);
    let keys = demo::keys(SEED, 4);
    let mut state = ch.states[1].clone();
    let mut rng = ChaCha20Rng::seed_from_u64(SEED + 2);
    let b = demo::random_batch(&mut rng, &keys, &mut state, 1, 1, demo::Mix::Transfers);
    let small_proof = small.prove(&b).expect("capacity-1 batch proves");
    small.data.verify(small_proof.clone()).unwrap();
    assert_eq!(pis(&ch.proofs[0]).new_root, pis(&small_proof).old_root);
    let err = node1.prove(&ch.proofs[0], &small_proof).unwrap_err();
    assert!(matches!(err, AggregateError::InvalidChild { side: "right", child_level: 0, .. }), "{err}");
    assert!(t.verify_at_level(0, &small_proof).is_err());
    assert!(!node_proves_raw(1, &ch.proofs[0], &small_proof), "a capacity-1 proof was accepted");

    // a batch proof where a level-1 proof is expected, and a level-2 proof where a batch
    // proof is expected (the roots chain in both cases)
    let err = node2.prove(&ch.proofs[0], &ch.proofs[1]).unwrap_err();
    assert!(matches!(err, AggregateError::InvalidChild { side: "left", child_level: 1, .. }), "{err}");
    assert!(!node_proves_raw(2, &ch.proofs[0], &ch.proofs[1]), "batch proofs accepted as level-1 proofs");
    let (_, empty_proof) = empty_batch();
    let err = node1.prove(epoch(), empty_proof).unwrap_err();
    assert!(matches!(err, AggregateError::InvalidChild { side: "left", child_level: 0, .. }), "{err}");
    assert!(!node_proves_raw(1, epoch(), empty_proof), "an epoch proof accepted as a batch proof");
}

#[test]
fn same_shape_proof_of_another_circuit_is_refused() {
    let t = tree();
    let ch = chain();
    let node2 = t.circuit_for_level(2).unwrap();
    // A level-1 node over capacity-1 batch proofs has the same common data as the tree's
    // level-1 node: its proofs fit the level-2 node's proof targets exactly, and only the
    // constant child verifier data tells them apart.
    let small = BatchCircuit::build(1);
    let impostor = AggregationCircuit::build(1, &small.data.common, &small.data.verifier_only);
    assert_eq!(impostor.data.common, t.circuit_for_level(1).unwrap().data.common, "same shape");
    assert_ne!(
        impostor.data.verifier_only.circuit_digest,
        t.circuit_for_level(1).unwrap().data.verifier_only.circuit_digest
    );
    // the transactions of batches 0 and 1, one per capacity-1 batch: same roots as the real chain
    let mut state = ch.states[0].clone();
    let small_proofs: Vec<Proof> = ch.batches[..2]
        .iter()
        .map(|b| {
            let mut builder = BatchBuilder::new(1);
            builder.push(&mut state, b.slots[0].tx.as_ref().unwrap()).unwrap();
            small.prove(&builder.seal(&mut state)).unwrap()
        })
        .collect();
    assert_eq!(state.root(), ch.states[2].root());
    let forged_left = impostor.prove(&small_proofs[0], &small_proofs[1]).expect("the impostor circuit proves");
    assert_eq!(pis(&forged_left).new_root, ch.states[2].root());
    let right = t.circuit_for_level(1).unwrap().prove(&ch.proofs[2], &ch.proofs[3]).unwrap();

    let err = node2.prove(&forged_left, &right).unwrap_err();
    assert!(matches!(err, AggregateError::InvalidChild { side: "left", child_level: 1, .. }), "{err}");
    // the roots chain and the shapes fit: the in-circuit verifier alone must refuse
    assert!(!node_proves_raw(2, &forged_left, &right), "a proof of another circuit was accepted");
}

#[test]
fn tampered_epoch_public_inputs_are_rejected() {
    let t = tree();
    let epoch = epoch();
    let top = t.circuit_for_level(HEIGHT).unwrap();
    assert!(top.data.verify(epoch.clone()).is_ok());
    for i in 0..epoch.public_inputs.len() {
        let mut p = epoch.clone();
        p.public_inputs[i] += F::ONE;
        assert!(top.data.verify(p.clone()).is_err(), "public input {i} tampered but accepted");
        assert!(matches!(t.verify_at_level(HEIGHT, &p), Err(AggregateError::Verify { .. })), "public input {i}");
    }
    let mut short = epoch.clone();
    short.public_inputs.pop();
    assert!(matches!(t.verify_at_level(HEIGHT, &short), Err(AggregateError::PublicInputCount { .. })));
}

/// Per-level measurements for the report: `cargo test -p zkr-circuits --test it -- --ignored
/// aggregation_measurements --nocapture`.
#[test]
#[ignore = "measurement, prints a table"]
fn aggregation_measurements() {
    let t = tree();
    let ch = chain();
    let b = &t.batch;
    eprintln!("| level | circuit | gates used | rows | prove s | verify ms | proof bytes |");
    eprintln!("|---:|---|---:|---:|---:|---:|---:|");
    let start = Instant::now();
    let p = b.prove(&ch.batches[0]).unwrap();
    let prove_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    b.data.verify(p.clone()).unwrap();
    let verify_ms = start.elapsed().as_secs_f64() * 1e3;
    eprintln!(
        "| 0 | batch, capacity {CAPACITY} | {} | 2^{} | {prove_s:.2} | {verify_ms:.1} | {} |",
        b.gates_used,
        b.data.common.degree_bits(),
        p.to_bytes().len()
    );
    let mut layer = ch.proofs.clone();
    for node in &t.levels {
        let mut next = Vec::new();
        for pair in layer.chunks_exact(2) {
            let start = Instant::now();
            let p = node.prove(&pair[0], &pair[1]).unwrap();
            let prove_s = start.elapsed().as_secs_f64();
            let start = Instant::now();
            node.data.verify(p.clone()).unwrap();
            let verify_ms = start.elapsed().as_secs_f64() * 1e3;
            eprintln!(
                "| {} | aggregation | {} | 2^{} | {prove_s:.2} | {verify_ms:.1} | {} |",
                node.level,
                node.gates_used,
                node.data.common.degree_bits(),
                p.to_bytes().len()
            );
            next.push(p);
        }
        layer = next;
    }
}

/// Circuit shapes of a deeper tree (building only, no proving): `cargo test -p zkr-circuits
/// --test it -- --ignored aggregation_shapes --nocapture`.
#[test]
#[ignore = "measurement, prints the shape of every level"]
fn aggregation_shapes() {
    let t = AggregationTree::build(CAPACITY, 5);
    eprintln!("level 0: batch, {} gates, 2^{} rows", t.batch.gates_used, t.batch.data.common.degree_bits());
    for (i, node) in t.levels.iter().enumerate() {
        let same = i > 0 && node.child.common == t.levels[i - 1].child.common;
        eprintln!(
            "level {}: {} gates, 2^{} rows, child common data same as the level below's: {same}",
            node.level,
            node.gates_used,
            node.data.common.degree_bits()
        );
    }
}
