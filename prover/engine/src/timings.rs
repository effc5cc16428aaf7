//! Per-phase wall-clock timings of one proof, and a helper that times plonky2's stock prover.

use std::fmt;
use std::time::{Duration, Instant};

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::iop::witness::PartialWitness;
use plonky2::plonk::circuit_data::{CommonCircuitData, ProverOnlyCircuitData};
use plonky2::plonk::config::GenericConfig;
use plonky2::plonk::proof::ProofWithPublicInputs;
use plonky2::util::timing::TimingTree;

use crate::EngineError;

type F = GoldilocksField;

/// Phase names, in pipeline order (the last entry of a complete list is [`TOTAL`]).
pub const WITNESS: &str = "witness";
/// Wire IFFT, LDE and Merkle tree.
pub const WIRES_COMMIT: &str = "wires commit";
/// Permutation partial products, Z, and their commitment.
pub const ZS_COMMIT: &str = "partial products/Z commit";
/// Quotient evaluation on the coset and its commitment.
pub const QUOTIENT: &str = "quotient";
/// Openings at zeta and g*zeta.
pub const OPENINGS: &str = "openings";
/// FRI batch reduction and commit phase.
pub const FRI_COMMIT: &str = "FRI commit";
/// Proof-of-work grinding.
pub const POW: &str = "PoW";
/// FRI query rounds.
pub const QUERIES: &str = "queries";
/// The whole proof.
pub const TOTAL: &str = "total";

/// Ordered `(phase, duration)` pairs of one proof.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhaseTimings {
    /// Phases in the order they ran; the last is [`TOTAL`] when the proof completed.
    pub phases: Vec<(&'static str, Duration)>,
}

impl PhaseTimings {
    /// Records a phase.
    pub fn push(&mut self, phase: &'static str, took: Duration) {
        self.phases.push((phase, took));
    }

    /// Duration of `phase`, if recorded.
    pub fn get(&self, phase: &str) -> Option<Duration> {
        self.phases.iter().find(|(p, _)| *p == phase).map(|(_, d)| *d)
    }

    /// The recorded total, or the sum of the phases when there is none.
    pub fn total(&self) -> Duration {
        self.get(TOTAL).unwrap_or_else(|| self.phases.iter().map(|(_, d)| *d).sum())
    }
}

impl fmt::Display for PhaseTimings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (p, d)) in self.phases.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{p} {:.3}s", d.as_secs_f64())?;
        }
        Ok(())
    }
}

/// Runs plonky2's stock `prove` on the same inputs and returns its proof and total time (stock
/// keeps its own phase breakdown in a `TimingTree`, which it prints at `debug` log level but
/// does not expose as data).
pub fn time_stock_prove<C: GenericConfig<2, F = F>>(
    prover: &ProverOnlyCircuitData<F, C, 2>,
    common: &CommonCircuitData<F, 2>,
    inputs: PartialWitness<F>,
) -> Result<(ProofWithPublicInputs<F, C, 2>, PhaseTimings), EngineError> {
    let start = Instant::now();
    let proof = plonky2::plonk::prover::prove(prover, common, inputs, &mut TimingTree::default())
        .map_err(|e| EngineError::Stock { detail: format!("{e:#}") })?;
    let mut t = PhaseTimings::default();
    t.push(TOTAL, start.elapsed());
    Ok((proof, t))
}
