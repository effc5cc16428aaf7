//! The blocking part of a job: parse the inputs, prove, verify the result.

use std::sync::OnceLock;
use std::time::Instant;

use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::plonk::proof::ProofWithPublicInputs;
use thiserror::Error;
use zkr_circuits::aggregate::AggregationTree;
use zkr_circuits::artifact::parse_proof_bytes;
use zkr_circuits::batch::{Batch, BatchPublicInputs};
use zkr_circuits::config::{C, D, F};
use zkr_circuits::wrap::{WrapCircuit, WrapError, WrapParams};
use zkr_engine::ProverBackend;

/// What a job needs, whether fetched from the blob store or received from a coordinator.
#[derive(Clone, Debug)]
pub enum WorkInput {
    /// A versioned batch trace (`Batch::to_bytes`).
    ProveBatch { trace: Vec<u8> },
    /// Two child proofs of level `level - 1`, left (earlier batches) first.
    Aggregate { level: u32, left: Vec<u8>, right: Vec<u8> },
    /// An epoch's root proof (level = the tree's height), to re-prove in the wrap circuit.
    Wrap { root: Vec<u8> },
}

#[derive(Debug, Error)]
pub enum ExecError {
    #[error("bad batch trace: {source}")]
    Trace {
        #[source]
        source: zkr_circuits::batch::TraceDecodeError,
    },
    #[error("batch trace has capacity {got}, this worker's circuits have capacity {expected}")]
    Capacity { expected: usize, got: usize },
    #[error("no circuit for aggregation level {level}: the epoch tree has height {height}")]
    Level { level: u32, height: u32 },
    #[error("bad {which} proof at level {level}: {reason}")]
    BadProof { which: &'static str, level: u32, reason: String },
    #[error("proving failed: {reason}")]
    Prove { reason: String },
    #[error("building the wrap circuit failed: {reason}")]
    WrapCircuit { reason: String },
}

/// The circuits of one pipeline: batch circuit of a capacity and the aggregation levels
/// for epochs of `2^height` batches; above them, the wrap circuit (level `height + 1`), built the first time a wrap
/// is proven or checked.
pub struct Circuits {
    pub tree: AggregationTree,
    wrap_params: WrapParams,
    wrap: OnceLock<Result<WrapCircuit, String>>,
}

impl std::fmt::Debug for Circuits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Circuits")
            .field("capacity", &self.capacity())
            .field("height", &self.height())
            .field("wrap", &self.wrap_params.to_string())
            .finish()
    }
}

/// A proof and what it says.
#[derive(Clone, Debug)]
pub struct ProofOutput {
    pub bytes: Vec<u8>,
    pub public: BatchPublicInputs,
    pub seconds: f64,
}

impl Circuits {
    /// Builds every circuit (seconds; do it once per process).
    pub fn build(capacity: usize, height: u32) -> Self {
        Self::build_with(capacity, height, WrapParams::DEFAULT)
    }

    /// As [`Self::build`], with the wrap proof's parameters.
    pub fn build_with(capacity: usize, height: u32, wrap: WrapParams) -> Self {
        let _s = tracing::info_span!("build_circuits", capacity, height, wrap = %wrap).entered();
        Self { tree: AggregationTree::build(capacity, height), wrap_params: wrap, wrap: OnceLock::new() }
    }

    /// The wrap proof's parameters.
    pub fn wrap_params(&self) -> WrapParams {
        self.wrap_params
    }

    /// The level of an epoch's wrap proof: one above the root.
    pub fn wrap_level(&self) -> u32 {
        self.height() + 1
    }

    /// The wrap circuit over this tree's root: built at the first call (seconds), then kept.
    pub fn wrap(&self) -> Result<&WrapCircuit, ExecError> {
        self.wrap
            .get_or_init(|| {
                let _s = tracing::info_span!("build_wrap_circuit", height = self.height()).entered();
                WrapCircuit::for_tree_with(&self.tree, self.wrap_params).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|reason| ExecError::WrapCircuit { reason: reason.clone() })
    }

    pub fn capacity(&self) -> usize {
        self.tree.capacity
    }

    pub fn height(&self) -> u32 {
        self.tree.levels.len() as u32
    }

    fn common(&self, level: u32) -> Result<&CommonCircuitData<F, D>, ExecError> {
        if level == 0 {
            return Ok(&self.tree.batch.data.common);
        }
        self.tree
            .circuit_for_level(level)
            .map(|c| &c.data.common)
            .ok_or(ExecError::Level { level, height: self.height() })
    }

    /// Parses and verifies a proof of the given level ([`Self::wrap_level`] for a wrap proof).
    pub fn verify(&self, level: u32, bytes: &[u8], which: &'static str) -> Result<BatchPublicInputs, ExecError> {
        let bad = |reason: String| ExecError::BadProof { which, level, reason };
        if level == self.wrap_level() {
            return self.wrap()?.verify_bytes(bytes).map_err(|e| bad(e.to_string()));
        }
        let proof = self.parse(level, bytes, which)?;
        self.tree.verify_at_level(level, &proof).map_err(|e| bad(e.to_string()))
    }

    fn parse(
        &self,
        level: u32,
        bytes: &[u8],
        which: &'static str,
    ) -> Result<ProofWithPublicInputs<F, C, D>, ExecError> {
        let common = self.common(level)?;
        parse_proof_bytes(bytes, common).map_err(|e| ExecError::BadProof { which, level, reason: e.to_string() })
    }

    /// Runs a job: parses its inputs and proves with zkr's own pipeline on `backend`.
    pub fn execute(&self, input: &WorkInput, backend: &dyn ProverBackend) -> Result<ProofOutput, ExecError> {
        let t = Instant::now();
        let prove_err = |e: zkr_engine::EngineError| ExecError::Prove { reason: e.to_string() };
        let (bytes, public_inputs) = match input {
            WorkInput::ProveBatch { trace } => {
                let batch = Batch::from_bytes(trace).map_err(|source| ExecError::Trace { source })?;
                if batch.capacity() != self.capacity() {
                    return Err(ExecError::Capacity { expected: self.capacity(), got: batch.capacity() });
                }
                let witness =
                    self.tree.batch.witness_for(&batch).map_err(|e| ExecError::Prove { reason: e.to_string() })?;
                let proof = zkr_engine::prove_circuit(backend, &self.tree.batch.data, witness).map_err(prove_err)?.0;
                (proof.to_bytes(), proof.public_inputs)
            }
            WorkInput::Aggregate { level, left, right } => {
                let child = level.checked_sub(1).ok_or(ExecError::Level { level: 0, height: self.height() })?;
                let circuit = self
                    .tree
                    .circuit_for_level(*level)
                    .ok_or(ExecError::Level { level: *level, height: self.height() })?;
                let l = self.parse(child, left, "left")?;
                let r = self.parse(child, right, "right")?;
                let witness = circuit.witness(&l, &r).map_err(|e| ExecError::Prove { reason: e.to_string() })?;
                let proof = zkr_engine::prove_circuit(backend, &circuit.data, witness).map_err(prove_err)?.0;
                (proof.to_bytes(), proof.public_inputs)
            }
            WorkInput::Wrap { root } => {
                // The wrap circuit is a Keccak-configured plonky2 circuit: plonky2's own prover proves it, on the
                // CPU, whatever `backend` is (zkr's engine proves the Poseidon circuits below it).
                let level = self.height();
                let wrap = self.wrap()?;
                let root = self.parse(level, root, "root")?;
                let proof = wrap.prove(&root).map_err(|e| match e {
                    WrapError::InvalidRoot { reason } => ExecError::BadProof { which: "root", level, reason },
                    e => ExecError::Prove { reason: e.to_string() },
                })?;
                (proof.to_bytes(), proof.public_inputs)
            }
        };
        let seconds = t.elapsed().as_secs_f64();
        // No self-verification here: whoever accepts the proof (the hub, in process or behind
        // the coordinator) verifies it against the job before the queue takes it.
        let public =
            BatchPublicInputs::from_fields(&public_inputs).map_err(|e| ExecError::Prove { reason: e.to_string() })?;
        Ok(ProofOutput { bytes, public, seconds })
    }
}
