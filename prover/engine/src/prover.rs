//! The proving pipeline: witness → commitments → quotient → openings → FRI.

use std::any::TypeId;
use std::time::Instant;

use plonky2::field::extension::{Extendable, FieldExtension};
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::polynomial::{PolynomialCoeffs, PolynomialValues};
use plonky2::field::types::{Field, PrimeField64};
use plonky2::field::zero_poly_coset::ZeroPolyOnCoset;
use plonky2::fri::proof::{FriInitialTreeProof, FriProof, FriQueryRound, FriQueryStep};
use plonky2::hash::hash_types::HashOut;
use plonky2::hash::merkle_tree::MerkleCap;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::generator::{generate_partial_witness, GeneratedValues};
use plonky2::iop::witness::{PartialWitness, PartitionWitness, Witness};
use plonky2::plonk::circuit_data::{CircuitData, CommonCircuitData, ProverOnlyCircuitData};
use plonky2::plonk::config::{GenericConfig, GenericHashOut, Hasher};
use plonky2::plonk::proof::{OpeningSet, Proof, ProofWithPublicInputs};
use plonky2::plonk::vars::EvaluationVarsBaseBatch;
use plonky2::util::{log2_ceil, reverse_index_bits_in_place};
use rayon::prelude::*;
use tracing::info_span;

use crate::backend::{check_lde_len, ProverBackend};
use crate::gates::GateEvaluator;
use crate::merkle::{cpu_digests, FlatMerkleTree};
use crate::timings::{self, PhaseTimings};
use crate::transcript::Transcript;
use crate::EngineError;

type F = GoldilocksField;
const D: usize = 2;
type FE = <F as Extendable<D>>::Extension;

/// Points per gate-constraint evaluation batch (the batch API is point-major within a wire).
const BATCH: usize = 32;

/// One committed oracle: coefficients plus the Merkle tree over its LDE rows.
struct Oracle<H: Hasher<F>> {
    coeffs: Vec<Vec<F>>,
    tree: FlatMerkleTree<F, H>,
}

impl<H: Hasher<F>> Oracle<H> {
    /// LDE values of natural-order point `index * step` (as plonky2's `get_lde_values`).
    fn lde_row(&self, index: usize, step: usize, lde_bits: usize) -> &[F] {
        self.tree.leaf(reverse_bits(index * step, lde_bits))
    }
}

/// Proves with `data` (a full `CircuitData`); see [`prove`].
pub fn prove_circuit<C>(
    backend: &dyn ProverBackend,
    data: &CircuitData<F, C, D>,
    inputs: PartialWitness<F>,
) -> Result<(ProofWithPublicInputs<F, C, D>, PhaseTimings), EngineError>
where
    C: GenericConfig<D, F = F> + 'static,
{
    prove(backend, &data.prover_only, &data.common, inputs)
}

/// Proves one statement with zkr's own pipeline and returns a standard plonky2 proof (accepted
/// by `CircuitData::verify`) together with per-phase timings.
///
/// Errors on circuits with lookup tables or `zero_knowledge: true`, on witness generation
/// failures, and when the witness does not satisfy the constraints (the quotient is then not
/// a polynomial of the expected degree).
pub fn prove<C>(
    backend: &dyn ProverBackend,
    prover: &ProverOnlyCircuitData<F, C, D>,
    common: &CommonCircuitData<F, D>,
    inputs: PartialWitness<F>,
) -> Result<(ProofWithPublicInputs<F, C, D>, PhaseTimings), EngineError>
where
    C: GenericConfig<D, F = F> + 'static,
{
    let _span = info_span!("engine_prove", backend = backend.name(), degree_bits = common.degree_bits()).entered();
    check_supported(common)?;
    let total = Instant::now();

    // Witness.
    let phase = Instant::now();
    let pw = {
        let _s = info_span!("witness").entered();
        generate(inputs, prover, common)?
    };
    let elapsed = phase.elapsed();
    prove_with_partition_witness_inner(backend, prover, common, pw, total, elapsed)
}

/// What the prover does with a witness that violates a constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnViolation {
    /// Refuse with [`EngineError::Unsatisfied`] when the quotient's degree shows the violation (an honest prover;
    /// the default everywhere in zkr's pipeline). Not every violation shows there: when the quotient domain is no
    /// larger than the quotient's degree bound (as with plonky2's standard recursion configuration) this check, like
    /// plonky2's own, cannot fire, and only the verifier refuses.
    Refuse,
    /// Prove anyway, truncating the quotient to its expected degree, as a cheating prover would: the proof is
    /// well-formed and it is plonky2's verifier that must refuse it. For soundness tests only.
    Forge,
}

/// The wire matrix (one column per wire, `common.degree()` rows) and public inputs that witness generation gives for
/// `inputs`: the starting point of a forged witness for [`prove_from_wires`].
pub fn witness_wires<C>(
    prover: &ProverOnlyCircuitData<F, C, D>,
    common: &CommonCircuitData<F, D>,
    inputs: PartialWitness<F>,
) -> Result<(Vec<F>, Vec<Vec<F>>), EngineError>
where
    C: GenericConfig<D, F = F> + 'static,
{
    Ok(read_out(prover, common, generate(inputs, prover, common)?))
}

/// What [`forge_wires`] did on the way to a matrix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForgeReport {
    /// Generated values dropped because their copy partition already held another value.
    pub conflicts: usize,
    /// Generators that panicked (plonky2's debug assertions, e.g. a value too wide for a range check) and were
    /// skipped, leaving their outputs to whatever else sets them, or zero.
    pub panicked: usize,
}

/// The wire matrix that a cheating prover's own witness generation gives for `inputs`, which need not satisfy the
/// circuit: plonky2's generators run as in its prover, but a value that conflicts with one already set in its copy
/// partition is dropped (the first value stays, so every copy constraint holds and the violation lands in a gate),
/// a generator that panics is skipped, and wires nothing sets are zero. With [`prove_from_wires`] and
/// [`OnViolation::Forge`] this takes a forged witness all the way to plonky2's verifier, which must refuse it.
pub fn forge_wires<C>(
    prover: &ProverOnlyCircuitData<F, C, D>,
    common: &CommonCircuitData<F, D>,
    inputs: PartialWitness<F>,
) -> (Vec<F>, Vec<Vec<F>>, ForgeReport)
where
    C: GenericConfig<D, F = F> + 'static,
{
    let _span = info_span!("forge_wires").entered();
    let generators = &prover.generators;
    let mut witness = PartitionWitness::new(common.config.num_wires, common.degree(), &prover.representative_map);
    let mut report = ForgeReport::default();
    for (t, v) in inputs.target_values {
        if witness.set_target_returning_rep(t, v).is_err() {
            report.conflicts += 1;
        }
    }
    let mut pending: Vec<usize> = (0..generators.len()).collect();
    let mut expired = vec![false; generators.len()];
    while !pending.is_empty() {
        let mut next = Vec::new();
        for &g in &pending {
            if expired[g] {
                continue;
            }
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut out = GeneratedValues::empty();
                let finished = generators[g].0.run(&witness, &mut out);
                (finished, out)
            }));
            let out = match run {
                Ok((finished, out)) => {
                    expired[g] = finished;
                    out
                }
                Err(_) => {
                    expired[g] = true;
                    report.panicked += 1;
                    continue;
                }
            };
            for (t, v) in out.target_values {
                match witness.set_target_returning_rep(t, v) {
                    Ok(Some(rep)) => {
                        for &w in prover.generator_indices_by_watches.get(&rep).into_iter().flatten() {
                            if !expired[w] {
                                next.push(w);
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(_) => report.conflicts += 1,
                }
            }
        }
        pending = next;
    }
    let (public_inputs, columns) = read_out(prover, common, witness);
    (public_inputs, columns, report)
}

/// Proves from a raw wire assignment (`wire_columns[wire][row]`) and claimed public inputs, with no witness
/// generator in between: a forged assignment reaches the proof unchanged. With [`OnViolation::Forge`] a violated
/// constraint yields a proof anyway, so the verifier is what refuses it.
pub fn prove_from_wires<C>(
    backend: &dyn ProverBackend,
    prover: &ProverOnlyCircuitData<F, C, D>,
    common: &CommonCircuitData<F, D>,
    public_inputs: Vec<F>,
    wire_columns: Vec<Vec<F>>,
    on_violation: OnViolation,
) -> Result<(ProofWithPublicInputs<F, C, D>, PhaseTimings), EngineError>
where
    C: GenericConfig<D, F = F> + 'static,
{
    let _span = info_span!("engine_prove_raw", backend = backend.name(), degree_bits = common.degree_bits()).entered();
    check_supported(common)?;
    let (n, w) = (common.degree(), common.config.num_wires);
    if wire_columns.len() != w || wire_columns.iter().any(|c| c.len() != n) {
        return Err(EngineError::Shape {
            what: "wire matrix",
            detail: format!("expected {w} columns of {n} rows, got {} columns", wire_columns.len()),
        });
    }
    if public_inputs.len() != common.num_public_inputs {
        return Err(EngineError::Shape {
            what: "public inputs",
            detail: format!("expected {}, got {}", common.num_public_inputs, public_inputs.len()),
        });
    }
    prove_from_columns(
        backend,
        prover,
        common,
        public_inputs,
        wire_columns,
        on_violation,
        Instant::now(),
        Default::default(),
    )
}

/// Runs the circuit's witness generators on `inputs`.
fn generate<'a, C>(
    inputs: PartialWitness<F>,
    prover: &'a ProverOnlyCircuitData<F, C, D>,
    common: &'a CommonCircuitData<F, D>,
) -> Result<PartitionWitness<'a, F>, EngineError>
where
    C: GenericConfig<D, F = F> + 'static,
{
    generate_partial_witness(inputs, prover, common).map_err(|e| EngineError::Witness { detail: format!("{e:#}") })
}

/// Public inputs and the wire matrix, read out of a generated witness.
fn read_out<C>(
    prover: &ProverOnlyCircuitData<F, C, D>,
    common: &CommonCircuitData<F, D>,
    pw: PartitionWitness<F>,
) -> (Vec<F>, Vec<Vec<F>>)
where
    C: GenericConfig<D, F = F> + 'static,
{
    let _s = info_span!("witness_readout").entered();
    let n = common.degree();
    // a cheating prover whose generators stopped (one panicked on a value too wide for its range check) may leave
    // public inputs that depend on it unset: it claims zero for them, as for any other unset wire
    let public_inputs = prover.public_inputs.iter().map(|&t| pw.try_get_target(t).unwrap_or(F::ZERO)).collect();
    let matrix = pw.full_witness();
    let columns: Vec<Vec<F>> =
        (0..common.config.num_wires).into_par_iter().map(|c| (0..n).map(|r| matrix.get_wire(r, c)).collect()).collect();
    (public_inputs, columns)
}

/// Proves from an already generated [`PartitionWitness`] (as plonky2's
/// `prove_with_partition_witness`); the witness phase then only covers reading it out.
pub fn prove_with_partition_witness<C>(
    backend: &dyn ProverBackend,
    prover: &ProverOnlyCircuitData<F, C, D>,
    common: &CommonCircuitData<F, D>,
    witness: PartitionWitness<F>,
) -> Result<(ProofWithPublicInputs<F, C, D>, PhaseTimings), EngineError>
where
    C: GenericConfig<D, F = F> + 'static,
{
    let _span = info_span!("engine_prove", backend = backend.name(), degree_bits = common.degree_bits()).entered();
    check_supported(common)?;
    prove_with_partition_witness_inner(backend, prover, common, witness, Instant::now(), Default::default())
}

fn prove_with_partition_witness_inner<C>(
    backend: &dyn ProverBackend,
    prover: &ProverOnlyCircuitData<F, C, D>,
    common: &CommonCircuitData<F, D>,
    pw: PartitionWitness<F>,
    total: Instant,
    witness_time: std::time::Duration,
) -> Result<(ProofWithPublicInputs<F, C, D>, PhaseTimings), EngineError>
where
    C: GenericConfig<D, F = F> + 'static,
{
    let phase = Instant::now();
    let (public_inputs, wire_columns) = read_out(prover, common, pw);
    let witness_time = witness_time + phase.elapsed();
    prove_from_columns(backend, prover, common, public_inputs, wire_columns, OnViolation::Refuse, total, witness_time)
}

#[allow(clippy::too_many_arguments)]
fn prove_from_columns<C>(
    backend: &dyn ProverBackend,
    prover: &ProverOnlyCircuitData<F, C, D>,
    common: &CommonCircuitData<F, D>,
    public_inputs: Vec<F>,
    wire_columns: Vec<Vec<F>>,
    on_violation: OnViolation,
    total: Instant,
    witness_time: std::time::Duration,
) -> Result<(ProofWithPublicInputs<F, C, D>, PhaseTimings), EngineError>
where
    C: GenericConfig<D, F = F> + 'static,
{
    let mut t = PhaseTimings::default();
    let config = &common.config;
    let rate_bits = config.fri_config.rate_bits;
    let cap_height = config.fri_config.cap_height;
    let degree_bits = common.degree_bits();
    let n = common.degree();
    let nc = config.num_challenges;
    let phase = Instant::now();
    let pi_hash = C::InnerHasher::hash_no_pad(&public_inputs);
    t.push(timings::WITNESS, witness_time + phase.elapsed());

    // Wires commitment.
    let phase = Instant::now();
    let wires = {
        let _s = info_span!("wires_commit").entered();
        commit::<C::Hasher>(backend, backend.ifft_columns(wire_columns.clone()), rate_bits, cap_height)?
    };
    t.push(timings::WIRES_COMMIT, phase.elapsed());

    let mut transcript = Transcript::<F, C::Hasher>::new();
    observe_fri_params(&mut transcript, common);
    transcript.observe_hash::<C::Hasher>(prover.circuit_digest);
    transcript.observe_hash::<C::InnerHasher>(pi_hash);
    transcript.observe_cap::<C::Hasher>(&wires.tree.cap);
    let betas = transcript.challenges(nc);
    let gammas = transcript.challenges(nc);

    // Partial products and Z.
    let phase = Instant::now();
    let zs = {
        let _s = info_span!("zs_commit").entered();
        let values = partial_products_and_zs(&wire_columns, prover, common, &betas, &gammas);
        drop(wire_columns);
        commit::<C::Hasher>(backend, backend.ifft_columns(values), rate_bits, cap_height)?
    };
    t.push(timings::ZS_COMMIT, phase.elapsed());
    transcript.observe_cap::<C::Hasher>(&zs.tree.cap);
    let alphas = transcript.challenges(nc);

    // Quotient.
    let phase = Instant::now();
    let quotient = {
        let _s = info_span!("quotient").entered();
        let chunks = quotient_chunks(prover, common, &pi_hash, &wires, &zs, &betas, &gammas, &alphas, on_violation)?;
        commit::<C::Hasher>(backend, chunks, rate_bits, cap_height)?
    };
    t.push(timings::QUOTIENT, phase.elapsed());
    transcript.observe_cap::<C::Hasher>(&quotient.tree.cap);
    let zeta = transcript.extension_challenge::<D>();
    if zeta.exp_power_of_2(degree_bits) == FE::ONE {
        return Err(EngineError::ZetaInSubgroup);
    }

    // Openings.
    let phase = Instant::now();
    let g = FE::primitive_root_of_unity(degree_bits);
    let constants_sigmas: Vec<&[F]> =
        prover.constants_sigmas_commitment.polynomials.iter().map(|p| p.coeffs.as_slice()).collect();
    let openings = {
        let _s = info_span!("openings").entered();
        let eval_all = |polys: Vec<&[F]>, z: FE| -> Vec<FE> { polys.par_iter().map(|p| eval_at(p, z)).collect() };
        fn refs<H: Hasher<F>>(o: &Oracle<H>) -> Vec<&[F]> {
            o.coeffs.iter().map(|c| c.as_slice()).collect()
        }
        let cs = eval_all(constants_sigmas.clone(), zeta);
        let zs_at = eval_all(refs(&zs), zeta);
        let zs_next = eval_all(refs(&zs)[common.zs_range()].to_vec(), g * zeta);
        OpeningSet {
            constants: cs[common.constants_range()].to_vec(),
            plonk_sigmas: cs[common.sigmas_range()].to_vec(),
            wires: eval_all(refs(&wires), zeta),
            plonk_zs: zs_at[common.zs_range()].to_vec(),
            plonk_zs_next: zs_next,
            partial_products: zs_at[common.partial_products_range()].to_vec(),
            quotient_polys: eval_all(refs(&quotient), zeta),
            lookup_zs: Vec::new(),
            lookup_zs_next: Vec::new(),
        }
    };
    for batch in [
        &openings.constants,
        &openings.plonk_sigmas,
        &openings.wires,
        &openings.plonk_zs,
        &openings.partial_products,
        &openings.quotient_polys,
        &openings.plonk_zs_next,
    ] {
        transcript.observe_extension_elements::<D>(batch);
    }
    t.push(timings::OPENINGS, phase.elapsed());

    // FRI: batch reduction and commit phase.
    let phase = Instant::now();
    let fri_params = &common.fri_params;
    let (fri_trees, final_poly) = {
        let _s = info_span!("fri_commit").entered();
        let alpha = transcript.extension_challenge::<D>();
        let mut zeta_batch: Vec<&[F]> = constants_sigmas.clone();
        for o in [&wires, &zs, &quotient] {
            zeta_batch.extend(o.coeffs.iter().map(|c| c.as_slice()));
        }
        let next_batch: Vec<&[F]> = zs.coeffs[common.zs_range()].iter().map(|c| c.as_slice()).collect();
        let mut combined = PolynomialCoeffs::<FE>::empty();
        for (polys, point) in [(zeta_batch, zeta), (next_batch, g * zeta)] {
            let comp = combine(&polys, alpha, n);
            let mut q = comp.divide_by_linear(point);
            q.coeffs.push(FE::ZERO);
            // Earlier batches are shifted past this batch's powers of alpha (plonky2's
            // `ReducingFactor::shift_poly`).
            let shift = alpha.exp_u64(polys.len() as u64);
            combined.coeffs.iter_mut().for_each(|c| *c *= shift);
            combined += q;
        }
        let lde_coeffs = combined.lde(rate_bits);
        let lde_values = lde_coeffs.clone().coset_fft(F::coset_shift().into());
        fri_commit_phase::<C::Hasher>(backend, lde_coeffs, lde_values, &mut transcript, common)?
    };
    t.push(timings::FRI_COMMIT, phase.elapsed());

    // Proof of work.
    let phase = Instant::now();
    let pow_witness = {
        let _s = info_span!("pow", bits = fri_params.config.proof_of_work_bits).entered();
        transcript.grind(fri_params.config.proof_of_work_bits)
    };
    t.push(timings::POW, phase.elapsed());

    // Query rounds.
    let phase = Instant::now();
    let query_round_proofs = {
        let _s = info_span!("queries").entered();
        let lde_size = n << rate_bits;
        let indices: Vec<usize> = transcript
            .challenges(fri_params.config.num_query_rounds)
            .into_iter()
            .map(|c| (c.to_canonical_u64() % lde_size as u64) as usize)
            .collect();
        indices
            .into_par_iter()
            .map(|x| {
                let cs_tree = &prover.constants_sigmas_commitment.merkle_tree;
                let mut evals_proofs = vec![(cs_tree.get(x).to_vec(), cs_tree.prove(x))];
                for o in [&wires, &zs, &quotient] {
                    evals_proofs.push((o.tree.leaf(x).to_vec(), o.tree.prove(x)));
                }
                let mut idx = x;
                let steps = fri_trees
                    .iter()
                    .zip(&fri_params.reduction_arity_bits)
                    .map(|(tree, &bits)| {
                        idx >>= bits;
                        let evals =
                            tree.leaf(idx).chunks_exact(D).map(|c| FE::from_basefield_array([c[0], c[1]])).collect();
                        FriQueryStep { evals, merkle_proof: tree.prove(idx) }
                    })
                    .collect();
                FriQueryRound { initial_trees_proof: FriInitialTreeProof { evals_proofs }, steps }
            })
            .collect::<Vec<_>>()
    };
    t.push(timings::QUERIES, phase.elapsed());

    let proof = Proof::<F, C, D> {
        wires_cap: wires.tree.cap,
        plonk_zs_partial_products_cap: zs.tree.cap,
        quotient_polys_cap: quotient.tree.cap,
        openings,
        opening_proof: FriProof {
            commit_phase_merkle_caps: fri_trees.iter().map(|t| t.cap.clone()).collect(),
            query_round_proofs,
            final_poly,
            pow_witness,
        },
    };
    t.push(timings::TOTAL, total.elapsed());
    Ok((ProofWithPublicInputs { proof, public_inputs }, t))
}

fn check_supported(common: &CommonCircuitData<F, D>) -> Result<(), EngineError> {
    if !common.luts.is_empty() || common.num_lookup_polys != 0 {
        return Err(EngineError::Unsupported { feature: "lookup tables" });
    }
    if common.config.zero_knowledge || common.fri_params.hiding {
        return Err(EngineError::Unsupported { feature: "zero_knowledge: true (blinding)" });
    }
    let qdb = log2_ceil(common.quotient_degree_factor);
    if qdb > common.config.fri_config.rate_bits {
        return Err(EngineError::Unsupported {
            feature: "constraint degree above the FRI rate (quotient_degree_factor > 2^rate_bits)",
        });
    }
    if common.config.fri_config.proof_of_work_bits > 48 {
        return Err(EngineError::Unsupported {
            feature: "proof_of_work_bits above 48 (the grinding would not finish)",
        });
    }
    if common.config.num_challenges == 0 || common.quotient_degree_factor < 2 {
        return Err(EngineError::Unsupported { feature: "num_challenges = 0 or quotient degree factor < 2" });
    }
    Ok(())
}

/// Mirrors `FriParams::observe`.
fn observe_fri_params<H: Hasher<F>>(t: &mut Transcript<F, H>, common: &CommonCircuitData<F, D>) {
    let p = &common.fri_params;
    t.observe_element(F::from_canonical_usize(p.config.rate_bits));
    t.observe_element(F::from_canonical_usize(p.config.cap_height));
    t.observe_element(F::from_canonical_u32(p.config.proof_of_work_bits));
    t.observe_elements(&p.config.reduction_strategy.serialize::<F>());
    t.observe_element(F::from_canonical_usize(p.config.num_query_rounds));
    t.observe_element(F::from_bool(p.hiding));
    t.observe_element(F::from_canonical_usize(p.degree_bits));
    let arities: Vec<F> = p.reduction_arity_bits.iter().map(|&b| F::from_canonical_usize(b)).collect();
    t.observe_elements(&arities);
}

/// Commits to coefficient vectors: backend LDE into rows, then the Merkle tree over the rows.
fn commit<H: Hasher<F> + 'static>(
    backend: &dyn ProverBackend,
    coeffs: Vec<Vec<F>>,
    rate_bits: usize,
    cap_height: usize,
) -> Result<Oracle<H>, EngineError> {
    let width = coeffs.len();
    let rows = coeffs.first().map_or(0, |c| c.len()) << rate_bits;
    let lde = {
        let _s = info_span!("lde", polys = width, rows).entered();
        backend.lde_rows(&coeffs, rate_bits)
    };
    check_lde_len(lde.len(), rows, width)?;
    let tree = {
        let _s = info_span!("merkle", leaves = rows, width).entered();
        build_tree::<H>(backend, lde, width, cap_height)?
    };
    Ok(Oracle { coeffs, tree })
}

/// Builds a Merkle tree, on the backend for Poseidon when it accelerates it, else on the CPU.
pub(crate) fn build_tree<H: Hasher<F> + 'static>(
    backend: &dyn ProverBackend,
    leaves: Vec<F>,
    width: usize,
    cap_height: usize,
) -> Result<FlatMerkleTree<F, H>, EngineError> {
    if TypeId::of::<H>() == TypeId::of::<PoseidonHash>() {
        crate::merkle::check_shape(leaves.len(), width, cap_height)?;
        if let Some(d) = backend.poseidon_merkle(&leaves, width, cap_height) {
            let num_leaves = leaves.len() / width;
            let cap_len = 1usize << cap_height;
            if d.cap.len() != cap_len || d.digests.len() != 2 * (num_leaves - cap_len) {
                return Err(EngineError::Backend {
                    detail: format!(
                        "Merkle tree of {num_leaves} leaves: got {} digests and a cap of {}; expected {} and {cap_len}",
                        d.digests.len(),
                        d.cap.len(),
                        2 * (num_leaves - cap_len)
                    ),
                });
            }
            let conv = |h: &HashOut<F>| H::Hash::from_bytes(&h.to_bytes());
            return Ok(FlatMerkleTree {
                digests: d.digests.iter().map(conv).collect(),
                cap: MerkleCap(d.cap.iter().map(conv).collect()),
                leaves,
                width,
            });
        }
    }
    let (digests, cap) = cpu_digests::<F, H>(&leaves, width, cap_height)?;
    Ok(FlatMerkleTree { leaves, width, digests, cap: MerkleCap(cap) })
}

/// Values (on the subgroup H) of the Z polynomials followed by the partial products, in
/// plonky2's order: `[Z_0..Z_{c-1}, pp(challenge 0)..., pp(challenge 1)..., ...]`.
fn partial_products_and_zs(
    wire_columns: &[Vec<F>],
    prover: &ProverOnlyCircuitData<F, impl GenericConfig<D, F = F>, D>,
    common: &CommonCircuitData<F, D>,
    betas: &[F],
    gammas: &[F],
) -> Vec<Vec<F>> {
    let n = common.degree();
    let routed = common.config.num_routed_wires;
    let chunk = common.quotient_degree_factor;
    let num_prods = common.num_partial_products;
    let mut out = vec![Vec::new(); betas.len() * (1 + num_prods)];
    let per_challenge: Vec<(Vec<F>, Vec<Vec<F>>)> = betas
        .par_iter()
        .zip(gammas)
        .map(|(&beta, &gamma)| {
            // Per row: the products of (num/den) over each chunk of routed wires.
            let chunk_products: Vec<Vec<F>> = (0..n)
                .into_par_iter()
                .map(|i| {
                    let w: Vec<F> = wire_columns[..routed].iter().map(|col| col[i]).collect();
                    let x = prover.subgroup[i];
                    let sig = &prover.sigmas[i];
                    let dens: Vec<F> = (0..routed).map(|j| w[j] + beta * sig[j] + gamma).collect();
                    let inv = F::batch_multiplicative_inverse(&dens);
                    (0..routed.div_ceil(chunk))
                        .map(|ci| {
                            (ci * chunk..routed.min((ci + 1) * chunk))
                                .map(|j| (w[j] + beta * common.k_is[j] * x + gamma) * inv[j])
                                .product()
                        })
                        .collect()
                })
                .collect();
            let mut z_col = Vec::with_capacity(n);
            let mut pp_cols = vec![Vec::with_capacity(n); num_prods];
            let mut z = F::ONE;
            for cps in &chunk_products {
                z_col.push(z);
                let mut acc = z;
                for (k, &cp) in cps.iter().enumerate() {
                    acc *= cp;
                    if k < num_prods {
                        pp_cols[k].push(acc);
                    }
                }
                z = acc;
            }
            (z_col, pp_cols)
        })
        .collect();
    let nc = betas.len();
    for (c, (z_col, pp_cols)) in per_challenge.into_iter().enumerate() {
        out[c] = z_col;
        for (k, col) in pp_cols.into_iter().enumerate() {
            out[nc + c * num_prods + k] = col;
        }
    }
    out
}

/// Evaluates the combined vanishing polynomial divided by Z_H on the coset of size
/// `n * 2^qdb`, interpolates, and splits each quotient into degree-`n` chunks.
#[allow(clippy::too_many_arguments)]
fn quotient_chunks<C: GenericConfig<D, F = F>>(
    prover: &ProverOnlyCircuitData<F, C, D>,
    common: &CommonCircuitData<F, D>,
    pi_hash: &HashOut<F>,
    wires: &Oracle<C::Hasher>,
    zs: &Oracle<C::Hasher>,
    betas: &[F],
    gammas: &[F],
    alphas: &[F],
    on_violation: OnViolation,
) -> Result<Vec<Vec<F>>, EngineError> {
    let n = common.degree();
    let degree_bits = common.degree_bits();
    let rate_bits = common.config.fri_config.rate_bits;
    let lde_bits = degree_bits + rate_bits;
    let qdb = log2_ceil(common.quotient_degree_factor);
    let step = 1 << (rate_bits - qdb);
    let next_step = 1 << qdb;
    let m = n << qdb;
    let nc = common.config.num_challenges;
    let routed = common.config.num_routed_wires;
    let num_prods = common.num_partial_products;
    let max_degree = common.quotient_degree_factor;
    let num_constants = common.num_constants;
    let num_wires = common.config.num_wires;
    let points = F::two_adic_subgroup(degree_bits + qdb);
    let z_h = ZeroPolyOnCoset::<F>::new(degree_bits, qdb);
    let n_f = F::from_canonical_usize(n);
    let gates = GateEvaluator::new(common)?;

    let values: Vec<Vec<F>> = (0..m.div_ceil(BATCH))
        .into_par_iter()
        .map(|b| {
            let start = b * BATCH;
            let len = BATCH.min(m - start);
            let xs: Vec<F> = (start..start + len).map(|i| F::coset_shift() * points[i]).collect();
            // L_0(x) = Z_H(x) / (n (x - 1)), batch-inverted.
            let l0_dens: Vec<F> = xs.iter().map(|&x| n_f * (x - F::ONE)).collect();
            let l0_inv = F::batch_multiplicative_inverse(&l0_dens);
            let mut constants = vec![F::ZERO; len * num_constants];
            let mut wire_vals = vec![F::ZERO; len * num_wires];
            for k in 0..len {
                let cs = prover.constants_sigmas_commitment.get_lde_values(start + k, step);
                for c in 0..num_constants {
                    constants[c * len + k] = cs[c];
                }
                let w = wires.lde_row(start + k, step, lde_bits);
                for c in 0..num_wires {
                    wire_vals[c * len + k] = w[c];
                }
            }
            let vars = EvaluationVarsBaseBatch::new(len, &constants, &wire_vals, pi_hash);
            let gate_terms = gates.evaluate(common, vars);
            let num_gate = common.num_gate_constraints;
            let mut out = Vec::with_capacity(len * nc);
            let mut terms = Vec::with_capacity(nc * (2 + num_prods) + num_gate);
            for k in 0..len {
                let i = start + k;
                let x = xs[k];
                let cs = prover.constants_sigmas_commitment.get_lde_values(i, step);
                let sigmas = &cs[common.sigmas_range()];
                let w = wires.lde_row(i, step, lde_bits);
                let local = zs.lde_row(i, step, lde_bits);
                let next = zs.lde_row((i + next_step) % m, step, lde_bits);
                let l0 = z_h.eval(i) * l0_inv[k];
                terms.clear();
                terms.extend(local[..nc].iter().map(|&z| l0 * (z - F::ONE)));
                for c in 0..nc {
                    let (beta, gamma) = (betas[c], gammas[c]);
                    let pps = &local[nc + c * num_prods..nc + (c + 1) * num_prods];
                    let mut prev = local[c];
                    // Accumulators after each chunk: the partial products, then Z(g x).
                    for (ci, &next_acc) in pps.iter().chain(std::iter::once(&next[c])).enumerate() {
                        let mut num = F::ONE;
                        let mut den = F::ONE;
                        for j in ci * max_degree..routed.min((ci + 1) * max_degree) {
                            num *= w[j] + beta * common.k_is[j] * x + gamma;
                            den *= w[j] + beta * sigmas[j] + gamma;
                        }
                        terms.push(prev * num - next_acc * den);
                        prev = next_acc;
                    }
                }
                for g in 0..num_gate {
                    terms.push(gate_terms[g * len + k]);
                }
                let zh_inv = z_h.eval_inverse(i);
                for &alpha in alphas {
                    let acc = terms.iter().rev().fold(F::ZERO, |acc, &t| acc * alpha + t);
                    out.push(acc * zh_inv);
                }
            }
            out
        })
        .collect();

    // Transpose to one column per challenge and interpolate on the coset.
    let degree = common.quotient_degree();
    let mut chunks = Vec::with_capacity(nc * common.quotient_degree_factor);
    for c in 0..nc {
        let col: Vec<F> = values.iter().flat_map(|b| b.iter().skip(c).step_by(nc).copied()).collect();
        let mut coeffs = PolynomialValues::new(col).coset_ifft(F::coset_shift());
        match on_violation {
            OnViolation::Refuse => coeffs.trim_to_len(degree).map_err(|_| EngineError::Unsatisfied {
                detail: format!("quotient for challenge {c} has degree >= {degree}: the witness violates a constraint"),
            })?,
            OnViolation::Forge => coeffs.coeffs.truncate(degree),
        }
        chunks.extend(coeffs.coeffs.chunks(n).map(|ch| ch.to_vec()));
    }
    Ok(chunks)
}

/// `index` with its lowest `bits` bits reversed (plonky2's bit-reversed row order).
fn reverse_bits(index: usize, bits: usize) -> usize {
    if bits == 0 {
        0
    } else {
        index.reverse_bits() >> (usize::BITS as usize - bits)
    }
}

/// Evaluates a base-field polynomial at an extension point (Horner).
fn eval_at(coeffs: &[F], z: FE) -> FE {
    coeffs.iter().rev().fold(FE::ZERO, |acc, &c| acc * z + <FE as FieldExtension<D>>::from_basefield(c))
}

/// `sum_i alpha^i p_i` for base-field polynomials of length `n`, as an extension polynomial.
fn combine(polys: &[&[F]], alpha: FE, n: usize) -> PolynomialCoeffs<FE> {
    let powers: Vec<FE> = alpha.powers().take(polys.len()).collect();
    const CH: usize = 256;
    let mut out = vec![FE::ZERO; n];
    out.par_chunks_mut(CH).enumerate().for_each(|(b, dst)| {
        let j0 = b * CH;
        for (p, &pw) in polys.iter().zip(&powers) {
            let len = dst.len();
            for (d, &c) in dst.iter_mut().zip(&p[j0..j0 + len]) {
                *d += <FE as FieldExtension<D>>::scalar_mul(&pw, c);
            }
        }
    });
    PolynomialCoeffs::new(out)
}

type FriTrees<H> = (Vec<FlatMerkleTree<F, H>>, PolynomialCoeffs<FE>);

/// FRI commit phase: repeatedly commit to the codeword (in bit-reversed order, `arity`
/// extension elements per leaf) and fold with the round's challenge.
fn fri_commit_phase<H: Hasher<F> + 'static>(
    backend: &dyn ProverBackend,
    mut coeffs: PolynomialCoeffs<FE>,
    mut values: PolynomialValues<FE>,
    transcript: &mut Transcript<F, H>,
    common: &CommonCircuitData<F, D>,
) -> Result<FriTrees<H>, EngineError> {
    let params = &common.fri_params;
    let mut trees = Vec::with_capacity(params.reduction_arity_bits.len());
    let mut shift = F::MULTIPLICATIVE_GROUP_GENERATOR;
    for &arity_bits in &params.reduction_arity_bits {
        let arity = 1usize << arity_bits;
        reverse_index_bits_in_place(&mut values.values);
        let flat: Vec<F> = values.values.iter().flat_map(<FE as FieldExtension<D>>::to_basefield_array).collect();
        let tree = build_tree::<H>(backend, flat, arity * D, params.config.cap_height)?;
        transcript.observe_cap::<H>(&tree.cap);
        trees.push(tree);
        let beta = transcript.extension_challenge::<D>();
        coeffs = PolynomialCoeffs::new(
            coeffs
                .coeffs
                .par_chunks_exact(arity)
                .map(|ch| ch.iter().rev().fold(FE::ZERO, |acc, &c| acc * beta + c))
                .collect(),
        );
        shift = shift.exp_u64(arity as u64);
        values = coeffs.clone().coset_fft(shift.into());
    }
    let keep = coeffs.len() >> params.config.rate_bits;
    coeffs.coeffs.truncate(keep);
    transcript.observe_extension_elements::<D>(&coeffs.coeffs);
    Ok((trees, coeffs))
}
