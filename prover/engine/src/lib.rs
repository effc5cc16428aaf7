//! zkr's own plonky2 proving pipeline with pluggable backends.
//!
//! plonky2 has no backend hook, so zkr proves with this crate: the algorithm of plonky2 1.1.0's
//! prover, rewritten against its public API, with the heavy data-parallel work (batched IFFT,
//! coset LDE, Merkle trees over LDE rows and FRI commit-phase trees) behind the object-safe
//! [`ProverBackend`] trait. The output is a standard [`ProofWithPublicInputs`] that plonky2's
//! own `CircuitData::verify` accepts; with `zero_knowledge: false` it is identical to the stock
//! prover's proof except for the proof-of-work witness.
//!
//! ```ignore
//! use zkr_engine::{prove_circuit, CpuBackend};
//! let (proof, timings) = prove_circuit(&CpuBackend, &circuit_data, partial_witness)?;
//! circuit_data.verify(proof)?;
//! println!("{timings}");
//! ```
//!
//! - [`prove`] / [`prove_circuit`]: generic over `C: GenericConfig<2, F = GoldilocksField>`
//!   (Poseidon and Keccak configurations). Circuits with lookup tables or `zero_knowledge: true`
//!   are rejected with [`EngineError::Unsupported`]; an unsatisfied witness gives
//!   [`EngineError::Witness`] or [`EngineError::Unsatisfied`].
//! - [`witness_wires`] / [`prove_from_wires`]: the wire matrix that witness generation gives, and proving from a raw
//!   matrix with no generator in between; with [`OnViolation::Forge`] a violated constraint still yields a proof, so
//!   soundness tests see plonky2's verifier refuse a forged witness (a cheating prover runs no honest generator);
//!   [`forge_wires`] is that cheating prover's witness generation (conflicts dropped, panicking generators skipped).
//! - [`PhaseTimings`]: ordered per-phase durations (witness, wires commit, partial products/Z
//!   commit, quotient, openings, FRI commit, PoW, queries, total); each phase is also a
//!   `tracing` span. [`time_stock_prove`] times plonky2's stock prover on the same inputs.
//! - [`ProverBackend`]: only `name` is required; `ifft_columns`, `lde_rows` (row-major,
//!   bit-reversed rows exactly as plonky2's Merkle leaves) and `poseidon_merkle` (Poseidon
//!   only; `None` falls back to the CPU) have rayon defaults. [`CpuBackend`] uses them all.
//! - Fiat–Shamir: [`transcript::Transcript`] mirrors plonky2's `Challenger` (whose sponge state
//!   is crate-private, and the parallel proof-of-work search needs it).

pub mod backend;
mod gates;
pub mod merkle;
pub mod prover;
pub mod timings;
pub mod transcript;

pub use backend::{CpuBackend, PoseidonDigests, ProverBackend};
pub use plonky2::plonk::proof::ProofWithPublicInputs;
pub use prover::{
    forge_wires, prove, prove_circuit, prove_from_wires, prove_with_partition_witness, witness_wires, ForgeReport,
    OnViolation,
};
pub use timings::{time_stock_prove, PhaseTimings};

/// Errors of the proving pipeline.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The circuit uses a feature the engine does not implement.
    #[error(
        "unsupported circuit feature: {feature}; the engine proves circuits without it (use plonky2's stock prover)"
    )]
    Unsupported {
        /// The feature.
        feature: &'static str,
    },
    /// plonky2's witness generation failed (conflicting or missing values).
    #[error("witness generation failed: {detail}")]
    Witness {
        /// plonky2's error text.
        detail: String,
    },
    /// The witness does not satisfy the circuit's constraints.
    #[error("constraints not satisfied: {detail}")]
    Unsatisfied {
        /// Which quotient failed.
        detail: String,
    },
    /// The Fiat–Shamir opening point fell in the subgroup (probability ~2^-100).
    #[error("opening point zeta lies in the trace subgroup; expected a point outside it (retry with another witness)")]
    ZetaInSubgroup,
    /// A buffer had the wrong shape.
    #[error("bad {what} shape: {detail}")]
    Shape {
        /// Which buffer.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A backend returned output of the wrong size.
    #[error("backend output rejected: {detail}")]
    Backend {
        /// What was wrong.
        detail: String,
    },
    /// plonky2's stock prover failed (only from [`time_stock_prove`]).
    #[error("stock plonky2 prover failed: {detail}")]
    Stock {
        /// plonky2's error text.
        detail: String,
    },
}
