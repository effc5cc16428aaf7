//! zkr's calldata encoding of a wrap proof, and its Rust decoder.
//!
//! The layout is fixed by the wrap circuit's common data, so the verifier contract reads every
//! item at a compile-time offset and checks one length. Encoding of the items:
//! - a field element: 8 bytes, little-endian canonical `u64` (the bytes plonky2's Keccak
//!   Merkle leaves hash, so the contract hashes calldata directly);
//! - an extension element: `c0` then `c1`;
//! - a Keccak digest (`BytesHash<25>`): its 25 bytes.
//!
//! Order: wires cap, zs/partial-products cap, quotient cap; the openings at ζ in plonky2's FRI
//! order (constants, sigmas, wires, zs, partial products, quotient polynomials), then the zs at
//! g·ζ; the FRI commit-phase caps; the final polynomial's coefficients; the PoW witness; then
//! per query round: for each of the 4 initial oracles its leaf values and Merkle siblings (leaf
//! to cap), then per FRI step the coset evaluations and their siblings.

use plonky2::field::extension::{Extendable, FieldExtension};
use plonky2::field::polynomial::PolynomialCoeffs;
use plonky2::field::types::{Field, Field64, PrimeField64};
use plonky2::fri::proof::{FriInitialTreeProof, FriProof, FriQueryRound, FriQueryStep};
use plonky2::hash::hash_types::BytesHash;
use plonky2::hash::merkle_proofs::MerkleProof;
use plonky2::hash::merkle_tree::MerkleCap;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::plonk::proof::{OpeningSet, Proof, ProofWithPublicInputs};
use thiserror::Error;
use zkr_circuits::config::{D, F};
use zkr_circuits::wrap::{WrapConfig, WrapProof};

/// Bytes of a Keccak digest in the proof (`KeccakHash<25>`).
pub const HASH_BYTES: usize = 25;
/// Bytes of a base field element.
pub const ELEM_BYTES: usize = 8;
/// Bytes of an extension field element.
pub const EXT_BYTES: usize = 16;

type Ext = <F as Extendable<D>>::Extension;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EncodingError {
    #[error("the encoded proof has {got} bytes, this circuit's layout has {expected}")]
    Length { expected: usize, got: usize },
    #[error("non-canonical field element at byte {offset}: {value:#x} is not below p")]
    NonCanonical { offset: usize, value: u64 },
    #[error("the circuit is not supported by the encoding: {reason}")]
    Unsupported { reason: String },
    #[error("the proof's shape does not match the circuit: {what}")]
    Shape { what: String },
}

/// Byte offsets of every section of an encoded proof, derived from the circuit's common data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofLayout {
    pub cap_height: usize,
    /// Digests per Merkle cap.
    pub cap_len: usize,
    pub degree_bits: usize,
    pub lde_bits: usize,
    pub num_constants: usize,
    pub num_routed_wires: usize,
    pub num_wires: usize,
    pub num_challenges: usize,
    pub num_partial_products: usize,
    pub quotient_degree_factor: usize,
    /// Polynomials per initial oracle: constants+sigmas, wires, zs+partial products, quotient.
    pub oracle_polys: [usize; 4],
    pub arity_bits: Vec<usize>,
    pub final_poly_len: usize,
    pub num_queries: usize,
    pub pow_bits: u32,

    pub wires_cap: usize,
    pub zs_cap: usize,
    pub quotient_cap: usize,
    /// Extension elements opened at ζ (in FRI order), followed by the `num_challenges` zs at g·ζ.
    pub openings: usize,
    pub num_openings_zeta: usize,
    pub commit_caps: usize,
    pub final_poly: usize,
    pub pow_witness: usize,
    pub queries: usize,
    pub query_size: usize,
    /// Within a query: offset of each initial oracle's leaf values and of its siblings.
    pub oracle_leaf: [usize; 4],
    pub oracle_path: [usize; 4],
    /// Siblings of an initial-oracle path (leaf to cap).
    pub initial_depth: usize,
    /// Within a query: per FRI step, offset of the coset evaluations and of the siblings.
    pub step_evals: Vec<usize>,
    pub step_path: Vec<usize>,
    pub step_depth: Vec<usize>,
    pub total_len: usize,
}

impl ProofLayout {
    /// The layout for proofs of the circuit with this common data.
    pub fn new(common: &CommonCircuitData<F, D>) -> Result<Self, EncodingError> {
        let unsupported = |reason: &str| Err(EncodingError::Unsupported { reason: reason.into() });
        if common.num_lookup_polys != 0 || common.num_lookup_selectors != 0 {
            return unsupported("lookup arguments");
        }
        if common.fri_params.hiding || common.config.zero_knowledge {
            return unsupported("zero-knowledge (salted) Merkle leaves");
        }
        let config = &common.config;
        let fri = &common.fri_params;
        let cap_height = fri.config.cap_height;
        let cap_len = 1usize << cap_height;
        let cap_bytes = cap_len * HASH_BYTES;
        let degree_bits = common.degree_bits();
        let lde_bits = degree_bits + fri.config.rate_bits;
        let nc = config.num_challenges;
        let npp = common.num_partial_products;
        let qdf = common.quotient_degree_factor;
        let oracle_polys = [common.num_constants + config.num_routed_wires, config.num_wires, nc * (1 + npp), nc * qdf];
        let num_openings_zeta = oracle_polys.iter().sum::<usize>();
        if lde_bits < cap_height + fri.reduction_arity_bits.iter().sum::<usize>() {
            return unsupported("the FRI folding goes below the Merkle cap");
        }

        let mut at = 0usize;
        let mut take = |n: usize| {
            let o = at;
            at += n;
            o
        };
        let wires_cap = take(cap_bytes);
        let zs_cap = take(cap_bytes);
        let quotient_cap = take(cap_bytes);
        let openings = take((num_openings_zeta + nc) * EXT_BYTES);
        let commit_caps = take(fri.reduction_arity_bits.len() * cap_bytes);
        let final_poly_len = fri.final_poly_len();
        let final_poly = take(final_poly_len * EXT_BYTES);
        let pow_witness = take(ELEM_BYTES);
        let queries = at;

        let initial_depth = lde_bits - cap_height;
        let mut q = 0usize;
        let mut qtake = |n: usize| {
            let o = q;
            q += n;
            o
        };
        let mut oracle_leaf = [0; 4];
        let mut oracle_path = [0; 4];
        for i in 0..4 {
            oracle_leaf[i] = qtake(oracle_polys[i] * ELEM_BYTES);
            oracle_path[i] = qtake(initial_depth * HASH_BYTES);
        }
        let (mut step_evals, mut step_path, mut step_depth) = (vec![], vec![], vec![]);
        let mut folded = 0;
        for &a in &fri.reduction_arity_bits {
            folded += a;
            let depth = lde_bits - folded - cap_height;
            step_evals.push(qtake((1 << a) * EXT_BYTES));
            step_path.push(qtake(depth * HASH_BYTES));
            step_depth.push(depth);
        }
        let query_size = q;
        let total_len = queries + fri.config.num_query_rounds * query_size;
        Ok(Self {
            cap_height,
            cap_len,
            degree_bits,
            lde_bits,
            num_constants: common.num_constants,
            num_routed_wires: config.num_routed_wires,
            num_wires: config.num_wires,
            num_challenges: nc,
            num_partial_products: npp,
            quotient_degree_factor: qdf,
            oracle_polys,
            arity_bits: fri.reduction_arity_bits.clone(),
            final_poly_len,
            num_queries: fri.config.num_query_rounds,
            pow_bits: fri.config.proof_of_work_bits,
            wires_cap,
            zs_cap,
            quotient_cap,
            openings,
            num_openings_zeta,
            commit_caps,
            final_poly,
            pow_witness,
            queries,
            query_size,
            oracle_leaf,
            oracle_path,
            initial_depth,
            step_evals,
            step_path,
            step_depth,
            total_len,
        })
    }

    /// Named section boundaries (start offsets), for tests that mutate every section.
    pub fn boundaries(&self) -> Vec<(String, usize)> {
        let mut v = vec![
            ("wires_cap".to_string(), self.wires_cap),
            ("zs_cap".into(), self.zs_cap),
            ("quotient_cap".into(), self.quotient_cap),
            ("openings".into(), self.openings),
            ("openings_next".into(), self.openings + self.num_openings_zeta * EXT_BYTES),
            ("commit_caps".into(), self.commit_caps),
            ("final_poly".into(), self.final_poly),
            ("pow_witness".into(), self.pow_witness),
        ];
        for q in 0..self.num_queries {
            let base = self.queries + q * self.query_size;
            for i in 0..4 {
                v.push((format!("query{q}.oracle{i}.leaf"), base + self.oracle_leaf[i]));
                v.push((format!("query{q}.oracle{i}.path"), base + self.oracle_path[i]));
            }
            for s in 0..self.arity_bits.len() {
                v.push((format!("query{q}.step{s}.evals"), base + self.step_evals[s]));
                v.push((format!("query{q}.step{s}.path"), base + self.step_path[s]));
            }
        }
        v
    }
}

fn put_elem(out: &mut Vec<u8>, x: F) {
    out.extend_from_slice(&x.to_canonical_u64().to_le_bytes());
}

fn put_ext(out: &mut Vec<u8>, x: Ext) {
    for c in <Ext as FieldExtension<D>>::to_basefield_array(&x) {
        put_elem(out, c);
    }
}

fn put_hash(out: &mut Vec<u8>, h: &BytesHash<HASH_BYTES>) {
    out.extend_from_slice(&h.0);
}

fn put_cap(out: &mut Vec<u8>, cap: &MerkleCap<F, <WrapConfig as plonky2::plonk::config::GenericConfig<D>>::Hasher>) {
    for h in &cap.0 {
        put_hash(out, h);
    }
}

/// zkr's calldata encoding of a wrap proof (public inputs are passed separately).
pub fn encode_proof(proof: &ProofWithPublicInputs<F, WrapConfig, D>) -> Vec<u8> {
    let p = &proof.proof;
    let mut out = Vec::new();
    put_cap(&mut out, &p.wires_cap);
    put_cap(&mut out, &p.plonk_zs_partial_products_cap);
    put_cap(&mut out, &p.quotient_polys_cap);
    let o = &p.openings;
    for v in
        [&o.constants, &o.plonk_sigmas, &o.wires, &o.plonk_zs, &o.partial_products, &o.quotient_polys, &o.plonk_zs_next]
    {
        for &x in v.iter() {
            put_ext(&mut out, x);
        }
    }
    let fri = &p.opening_proof;
    for cap in &fri.commit_phase_merkle_caps {
        put_cap(&mut out, cap);
    }
    for &c in &fri.final_poly.coeffs {
        put_ext(&mut out, c);
    }
    put_elem(&mut out, fri.pow_witness);
    for round in &fri.query_round_proofs {
        for (leaf, path) in &round.initial_trees_proof.evals_proofs {
            for &x in leaf {
                put_elem(&mut out, x);
            }
            for h in &path.siblings {
                put_hash(&mut out, h);
            }
        }
        for step in &round.steps {
            for &e in &step.evals {
                put_ext(&mut out, e);
            }
            for h in &step.merkle_proof.siblings {
                put_hash(&mut out, h);
            }
        }
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn elem(&mut self) -> Result<F, EncodingError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes[self.at..self.at + ELEM_BYTES]);
        let value = u64::from_le_bytes(b);
        if value >= <F as Field64>::ORDER {
            return Err(EncodingError::NonCanonical { offset: self.at, value });
        }
        self.at += ELEM_BYTES;
        Ok(F::from_canonical_u64(value))
    }
    fn elems(&mut self, n: usize) -> Result<Vec<F>, EncodingError> {
        (0..n).map(|_| self.elem()).collect()
    }
    fn ext(&mut self) -> Result<Ext, EncodingError> {
        Ok(<Ext as FieldExtension<D>>::from_basefield_array([self.elem()?, self.elem()?]))
    }
    fn exts(&mut self, n: usize) -> Result<Vec<Ext>, EncodingError> {
        (0..n).map(|_| self.ext()).collect()
    }
    fn hash(&mut self) -> BytesHash<HASH_BYTES> {
        let mut h = [0u8; HASH_BYTES];
        h.copy_from_slice(&self.bytes[self.at..self.at + HASH_BYTES]);
        self.at += HASH_BYTES;
        BytesHash(h)
    }
    fn hashes(&mut self, n: usize) -> Vec<BytesHash<HASH_BYTES>> {
        (0..n).map(|_| self.hash()).collect()
    }
}

/// Decodes [`encode_proof`]'s output for the circuit with this common data (the Rust mirror of
/// what the contract reads). Every element must be canonical and the length exact.
pub fn decode_proof(
    bytes: &[u8],
    public_inputs: &[F],
    common: &CommonCircuitData<F, D>,
) -> Result<WrapProof, EncodingError> {
    let l = ProofLayout::new(common)?;
    if bytes.len() != l.total_len {
        return Err(EncodingError::Length { expected: l.total_len, got: bytes.len() });
    }
    let mut r = Reader { bytes, at: 0 };
    let wires_cap = MerkleCap(r.hashes(l.cap_len));
    let zs_cap = MerkleCap(r.hashes(l.cap_len));
    let quotient_cap = MerkleCap(r.hashes(l.cap_len));
    let nc = l.num_challenges;
    let openings = OpeningSet {
        constants: r.exts(l.num_constants)?,
        plonk_sigmas: r.exts(l.num_routed_wires)?,
        wires: r.exts(l.num_wires)?,
        plonk_zs: r.exts(nc)?,
        partial_products: r.exts(nc * l.num_partial_products)?,
        quotient_polys: r.exts(nc * l.quotient_degree_factor)?,
        plonk_zs_next: r.exts(nc)?,
        lookup_zs: vec![],
        lookup_zs_next: vec![],
    };
    let commit_phase_merkle_caps = (0..l.arity_bits.len()).map(|_| MerkleCap(r.hashes(l.cap_len))).collect();
    let final_poly = PolynomialCoeffs::new(r.exts(l.final_poly_len)?);
    let pow_witness = r.elem()?;
    let mut query_round_proofs = Vec::with_capacity(l.num_queries);
    for _ in 0..l.num_queries {
        let mut evals_proofs = Vec::with_capacity(4);
        for &n in &l.oracle_polys {
            let leaf = r.elems(n)?;
            let siblings = r.hashes(l.initial_depth);
            evals_proofs.push((leaf, MerkleProof { siblings }));
        }
        let mut steps = Vec::with_capacity(l.arity_bits.len());
        for (&a, &depth) in l.arity_bits.iter().zip(&l.step_depth) {
            let evals = r.exts(1 << a)?;
            let siblings = r.hashes(depth);
            steps.push(FriQueryStep { evals, merkle_proof: MerkleProof { siblings } });
        }
        query_round_proofs.push(FriQueryRound { initial_trees_proof: FriInitialTreeProof { evals_proofs }, steps });
    }
    debug_assert_eq!(r.at, l.total_len);
    let proof = Proof {
        wires_cap,
        plonk_zs_partial_products_cap: zs_cap,
        quotient_polys_cap: quotient_cap,
        openings,
        opening_proof: FriProof { commit_phase_merkle_caps, query_round_proofs, final_poly, pow_witness },
    };
    Ok(ProofWithPublicInputs { proof, public_inputs: public_inputs.to_vec() })
}

/// Checks that a proof has exactly the shape the layout expects (so that its encoding lines up).
pub fn check_shape(proof: &WrapProof, common: &CommonCircuitData<F, D>) -> Result<(), EncodingError> {
    let l = ProofLayout::new(common)?;
    let got = encode_proof(proof).len();
    if got != l.total_len {
        return Err(EncodingError::Shape { what: format!("encodes to {got} bytes, expected {}", l.total_len) });
    }
    Ok(())
}
