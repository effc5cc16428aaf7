//! Recursive aggregation: a binary tree of nodes, each verifying two child proofs of one
//! fixed child circuit and exposing the same 24 public inputs as a batch proof.
//!
//! Statement of a node over children `left`, `right` (both proofs of the child circuit,
//! whose verifier data is a constant of the node circuit, so no other circuit's proof
//! can be substituted):
//! - `left.new_root == right.old_root` and `left.data_out == right.data_in` (copy constraints);
//! - `old_root = left.old_root`, `new_root = right.new_root`, `data_in = left.data_in`,
//!   `data_out = right.data_out`: the data chain runs through the batches in order, so the
//!   root of the tree binds the Keccak-256 chain over every batch's records.
//!
//! Levels: a batch proof is level 0; the node over two level `k − 1` proofs is level `k`.
//! Every level has its own circuit (the child common data differs from level to level), so
//! no cyclic recursion and no padding of the child circuits to a common shape is needed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{
    CircuitConfig, CircuitData, CommonCircuitData, VerifierCircuitData, VerifierOnlyCircuitData,
};
use plonky2::plonk::proof::{ProofWithPublicInputs, ProofWithPublicInputsTarget};
use thiserror::Error;

use crate::artifact::digest_hex;
use crate::batch::{BatchPublicInputs, NUM_PUBLIC_INPUTS};
use crate::circuit::BatchCircuit;
use crate::config::{C, D, F};

/// A proof of a batch or of an aggregation node.
pub type Proof = ProofWithPublicInputs<F, C, D>;

/// Positions in the 24-element public-input layout.
const OLD_ROOT: std::ops::Range<usize> = 0..4;
const NEW_ROOT: std::ops::Range<usize> = 4..8;
const DATA_IN: std::ops::Range<usize> = 8..16;
const DATA_OUT: std::ops::Range<usize> = 16..24;

#[derive(Debug, Error)]
pub enum AggregateError {
    #[error("the children do not chain: left new_root {left_new} != right old_root {right_old}")]
    RootMismatch { left_new: String, right_old: String },
    #[error("the children's data chains do not join: left data_out {left_out} != right data_in {right_in}")]
    DataMismatch { left_out: String, right_in: String },
    #[error("wrong number of proofs to fold: expected {expected}, got {got}")]
    WrongCount { expected: usize, got: usize },
    #[error("a proof has {got} public inputs, the zkr layout has {expected}")]
    PublicInputCount { expected: usize, got: usize },
    #[error("the {side} child is not a valid proof of the level-{child_level} circuit: {reason}")]
    InvalidChild { side: &'static str, child_level: u32, reason: String },
    #[error("no circuit for level {level}: this tree has levels 0..={height}")]
    NoSuchLevel { level: u32, height: u32 },
    #[error("proving failed: {reason}")]
    Prove { reason: String },
    #[error("the proof does not verify: {reason}")]
    Verify { reason: String },
    /// An error at one place of a fold: `level` 0 with `index` i is the pair of batch
    /// proofs (i, i + 1); `level` k ≥ 1 is node `index` of level k.
    #[error("level {level}, position {index}: {source}")]
    At {
        level: u32,
        index: usize,
        #[source]
        source: Box<AggregateError>,
    },
}

impl AggregateError {
    /// The innermost error, through any [`AggregateError::At`] wrappers.
    pub fn root_cause(&self) -> &AggregateError {
        match self {
            AggregateError::At { source, .. } => source.root_cause(),
            e => e,
        }
    }
}

/// Native mirror of a node's public inputs (the children must chain: see [`check_chain`]).
pub fn combine(left: &BatchPublicInputs, right: &BatchPublicInputs) -> BatchPublicInputs {
    BatchPublicInputs {
        old_root: left.old_root,
        new_root: right.new_root,
        data_in: left.data_in,
        data_out: right.data_out,
    }
}

/// What the node circuit's copy constraints require of its children: the roots and the data chain join.
pub fn check_chain(left: &BatchPublicInputs, right: &BatchPublicInputs) -> Result<(), AggregateError> {
    if left.new_root != right.old_root {
        return Err(AggregateError::RootMismatch {
            left_new: digest_hex(&left.new_root),
            right_old: digest_hex(&right.old_root),
        });
    }
    if left.data_out != right.data_in {
        return Err(AggregateError::DataMismatch {
            left_out: hex::encode(left.data_out),
            right_in: hex::encode(right.data_in),
        });
    }
    Ok(())
}

fn public_inputs(proof: &Proof) -> Result<BatchPublicInputs, AggregateError> {
    BatchPublicInputs::from_fields(&proof.public_inputs)
        .map_err(|_| AggregateError::PublicInputCount { expected: NUM_PUBLIC_INPUTS, got: proof.public_inputs.len() })
}

/// Runs `f`, turning a panic inside plonky2 into an error message.
fn no_panic<T, E: std::fmt::Display>(f: impl FnOnce() -> Result<T, E>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(p) => Err(p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "plonky2 panicked".into())),
    }
}

/// One aggregation node circuit: verifies two proofs of a fixed child circuit.
pub struct AggregationCircuit {
    /// The level of the proofs this circuit produces (its children are level `level − 1`).
    pub level: u32,
    pub data: CircuitData<F, C, D>,
    /// The child circuit (kept to check children natively before proving).
    pub child: VerifierCircuitData<F, C, D>,
    /// Gates placed before padding to a power of two.
    pub gates_used: usize,
    pub left: ProofWithPublicInputsTarget<D>,
    pub right: ProofWithPublicInputsTarget<D>,
}

impl std::fmt::Debug for AggregationCircuit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregationCircuit")
            .field("level", &self.level)
            .field("degree_bits", &self.data.common.degree_bits())
            .field("child_degree_bits", &self.child.common.degree_bits())
            .finish()
    }
}

impl AggregationCircuit {
    /// A node over two children of the given circuit (its common data and verifier-only data).
    /// `level` is the level of the proofs this node produces (≥ 1).
    ///
    /// Panics if the child circuit does not have the 24 zkr public inputs (a programming error).
    pub fn build(
        level: u32,
        child_common: &CommonCircuitData<F, D>,
        child_verifier: &VerifierOnlyCircuitData<C, D>,
    ) -> Self {
        assert_eq!(
            child_common.num_public_inputs, NUM_PUBLIC_INPUTS,
            "an aggregation child must expose the {NUM_PUBLIC_INPUTS} zkr public inputs"
        );
        let _span = tracing::info_span!("aggregate_build", level).entered();
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let vd = b.constant_verifier_data::<C>(child_verifier);
        let left = b.add_virtual_proof_with_pis(child_common);
        let right = b.add_virtual_proof_with_pis(child_common);
        b.verify_proof::<C>(&left, &vd, child_common);
        b.verify_proof::<C>(&right, &vd, child_common);

        let (l, r) = (&left.public_inputs, &right.public_inputs);
        for (x, y) in l[NEW_ROOT].iter().zip(&r[OLD_ROOT]).chain(l[DATA_OUT].iter().zip(&r[DATA_IN])) {
            b.connect(*x, *y);
        }
        b.register_public_inputs(&l[OLD_ROOT]);
        b.register_public_inputs(&r[NEW_ROOT]);
        b.register_public_inputs(&l[DATA_IN]);
        b.register_public_inputs(&r[DATA_OUT]);
        let gates_used = b.num_gates();
        let data = b.build::<C>();
        tracing::debug!(level, gates_used, degree_bits = data.common.degree_bits(), "aggregation circuit built");
        let child = VerifierCircuitData { verifier_only: child_verifier.clone(), common: child_common.clone() };
        Self { level, data, child, gates_used, left, right }
    }

    /// Number of rows of the circuit, a power of two.
    pub fn rows(&self) -> usize {
        1 << self.data.common.degree_bits()
    }

    /// Sets the child proofs into a fresh witness, with no native checks at all (tests use
    /// it to hand the circuit children that do not chain). A proof whose shape does not
    /// fit the child circuit is an error, not a panic.
    pub fn witness(&self, left: &Proof, right: &Proof) -> Result<PartialWitness<F>, AggregateError> {
        no_panic(|| -> anyhow::Result<PartialWitness<F>> {
            let mut pw = PartialWitness::new();
            pw.set_proof_with_pis_target(&self.left, left)?;
            pw.set_proof_with_pis_target(&self.right, right)?;
            Ok(pw)
        })
        .map_err(|reason| AggregateError::Prove { reason: format!("setting the child proofs: {reason}") })
    }

    /// Proves the node over `left` then `right`. Checks natively first that the children
    /// chain and that both are valid proofs of the child circuit.
    pub fn prove(&self, left: &Proof, right: &Proof) -> Result<Proof, AggregateError> {
        let _span = tracing::info_span!("aggregate", level = self.level).entered();
        let (l, r) = (public_inputs(left)?, public_inputs(right)?);
        check_chain(&l, &r)?;
        for (side, p) in [("left", left), ("right", right)] {
            no_panic(|| self.child.verify(p.clone())).map_err(|reason| AggregateError::InvalidChild {
                side,
                child_level: self.level.saturating_sub(1),
                reason,
            })?;
        }
        let pw = self.witness(left, right)?;
        let start = Instant::now();
        let proof = no_panic(|| self.data.prove(pw)).map_err(|reason| AggregateError::Prove { reason })?;
        tracing::info!(
            level = self.level,
            degree_bits = self.data.common.degree_bits(),
            prove_ms = start.elapsed().as_millis() as u64,
            "aggregation node proven"
        );
        Ok(proof)
    }

    /// Verifies a proof of this node circuit and returns its public inputs.
    pub fn verify(&self, proof: &Proof) -> Result<BatchPublicInputs, AggregateError> {
        let pis = public_inputs(proof)?;
        no_panic(|| self.data.verify(proof.clone())).map_err(|reason| AggregateError::Verify { reason })?;
        Ok(pis)
    }
}

/// Circuits for all levels needed to fold 2^height batch proofs of one capacity into one.
pub struct AggregationTree {
    pub capacity: usize,
    pub batch: BatchCircuit,
    /// `levels[k]` produces level `k + 1` proofs: `levels[0]` aggregates batch proofs,
    /// `levels[k]` aggregates `levels[k − 1]` proofs.
    pub levels: Vec<AggregationCircuit>,
}

impl std::fmt::Debug for AggregationTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregationTree")
            .field("capacity", &self.capacity)
            .field("batch", &self.batch)
            .field("levels", &self.levels)
            .finish()
    }
}

impl AggregationTree {
    /// Builds the batch circuit of `capacity` and `height` aggregation levels over it.
    pub fn build(capacity: usize, height: u32) -> Self {
        let batch = BatchCircuit::build(capacity);
        let mut levels: Vec<AggregationCircuit> = Vec::with_capacity(height as usize);
        for level in 1..=height {
            let (common, verifier) = match levels.last() {
                None => (&batch.data.common, &batch.data.verifier_only),
                Some(prev) => (&prev.data.common, &prev.data.verifier_only),
            };
            let node = AggregationCircuit::build(level, common, verifier);
            levels.push(node);
        }
        Self { capacity, batch, levels }
    }

    /// Number of aggregation levels: the tree folds `2^height` batch proofs.
    pub fn height(&self) -> u32 {
        self.levels.len() as u32
    }

    /// The circuit producing level `level` proofs (`1..=height`); level 0 is the batch circuit.
    pub fn circuit_for_level(&self, level: u32) -> Option<&AggregationCircuit> {
        level.checked_sub(1).and_then(|i| self.levels.get(i as usize))
    }

    /// Verifies a proof of level `level` (0: a batch proof) and returns its public inputs.
    pub fn verify_at_level(&self, level: u32, proof: &Proof) -> Result<BatchPublicInputs, AggregateError> {
        if level == 0 {
            public_inputs(proof)?;
            return no_panic(|| self.batch.verify(proof)).map_err(|reason| AggregateError::Verify { reason });
        }
        self.circuit_for_level(level).ok_or(AggregateError::NoSuchLevel { level, height: self.height() })?.verify(proof)
    }

    /// Folds `2^height` batch proofs, in batch order, into the epoch proof (level `height`).
    pub fn fold(&self, proofs: Vec<Proof>) -> Result<Proof, AggregateError> {
        let expected = 1usize << self.height();
        if proofs.len() != expected {
            return Err(AggregateError::WrongCount { expected, got: proofs.len() });
        }
        // the whole chain first, so a break is reported before any proving time is spent
        for (index, pair) in proofs.windows(2).enumerate() {
            let (l, r) = (public_inputs(&pair[0]), public_inputs(&pair[1]));
            let at = |source| AggregateError::At { level: 0, index, source: Box::new(source) };
            let (l, r) = (l.map_err(at)?, r.map_err(at)?);
            check_chain(&l, &r).map_err(at)?;
        }
        let mut layer = proofs;
        if self.levels.is_empty() {
            self.verify_at_level(0, &layer[0])?;
        }
        for circuit in &self.levels {
            layer = layer
                .chunks_exact(2)
                .enumerate()
                .map(|(index, pair)| {
                    circuit.prove(&pair[0], &pair[1]).map_err(|e| AggregateError::At {
                        level: circuit.level,
                        index,
                        source: Box::new(e),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
        }
        Ok(layer.pop().expect("one proof remains"))
    }
}
