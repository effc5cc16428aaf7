//! Batched evaluation of the circuit's filtered gate constraints.
//!
//! plonky2 1.1.0 keeps `evaluate_gate_constraints_base_batch` in a crate-private module and the
//! selector layout (`SelectorsInfo`'s fields) crate-private too. The layout is recovered from
//! `SelectorsInfo`'s public `Serialize` implementation, and each gate's public
//! `eval_filtered_base_batch` does the work.

use std::ops::Range;

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::plonk::vars::EvaluationVarsBaseBatch;
use serde::Deserialize;

use crate::EngineError;

type F = GoldilocksField;

#[derive(Deserialize)]
struct SelectorsLayout {
    selector_indices: Vec<usize>,
    groups: Vec<Range<usize>>,
}

/// The selector layout of one circuit, ready to evaluate its gates in batches.
pub(crate) struct GateEvaluator {
    selector_indices: Vec<usize>,
    groups: Vec<Range<usize>>,
}

impl GateEvaluator {
    pub(crate) fn new(common: &CommonCircuitData<F, 2>) -> Result<Self, EngineError> {
        let json = serde_json::to_value(&common.selectors_info).map_err(|e| EngineError::Shape {
            what: "selector layout",
            detail: format!("could not serialise SelectorsInfo: {e}"),
        })?;
        let layout: SelectorsLayout = serde_json::from_value(json).map_err(|e| EngineError::Shape {
            what: "selector layout",
            detail: format!("unexpected SelectorsInfo encoding: {e}"),
        })?;
        let ok = layout.selector_indices.len() == common.gates.len()
            && layout.selector_indices.iter().all(|&s| s < layout.groups.len());
        if !ok {
            return Err(EngineError::Shape {
                what: "selector layout",
                detail: format!(
                    "{} selector indices over {} groups for {} gates; expected one valid index per gate",
                    layout.selector_indices.len(),
                    layout.groups.len(),
                    common.gates.len()
                ),
            });
        }
        Ok(Self { selector_indices: layout.selector_indices, groups: layout.groups })
    }

    /// All filtered gate constraints for a batch, constraint-major (`[c * batch + point]`).
    pub(crate) fn evaluate(&self, common: &CommonCircuitData<F, 2>, vars: EvaluationVarsBaseBatch<F>) -> Vec<F> {
        let mut out = vec![F::default(); common.num_gate_constraints * vars.len()];
        for (i, gate) in common.gates.iter().enumerate() {
            let sel = self.selector_indices[i];
            let terms = gate.0.eval_filtered_base_batch(
                vars,
                i,
                sel,
                self.groups[sel].clone(),
                self.groups.len(),
                common.num_lookup_selectors,
            );
            for (o, t) in out.iter_mut().zip(terms) {
                *o += t;
            }
        }
        out
    }
}
