//! Generates the Solidity verifier `ZkrVerifier` for one wrap circuit.
//!
//! The contract re-does everything plonky2's verifier does for a `KeccakGoldilocksConfig` proof:
//! 1. shape: exact calldata length and ABI offsets; every field element canonical (< p);
//! 2. public-inputs hash (Poseidon `hash_no_pad`, the config's inner hasher);
//! 3. the Fiat–Shamir transcript of `Challenger<F, KeccakHash<25>>` (Keccak pseudo-permutation with
//!    rejection sampling, overwrite-mode duplex sponge), replayed with the buffer positions known
//!    at generation time, on the state's 96 bytes as the permutation hashes them (calldata runs are
//!    copied in; the common no-rejection case is three `keccak256` calls and one test);
//! 4. the vanishing polynomial at ζ (L₀·(Z − 1), partial products of the permutation argument,
//!    filtered gate constraints) reduced by the α's, against Z_H(ζ)·t(ζ);
//! 5. FRI: PoW, query indices, Merkle openings of the 4 initial oracles and of every folding step
//!    (Keccak leaves with plonky2's hash-or-noop rule, 25-byte digests, caps), the combined
//!    reduced openings (dot products with a table of the FRI alpha's powers), the coset
//!    interpolation of each step by repeated 2-folding, and the final polynomial.
//!
//! Any failed check makes `verifyProof` return false; a zero denominator (probability ~2⁻¹²⁸ for
//! an honest prover) reverts.

use std::fmt::Write as _;

use plonky2::field::types::{Field, Field64, PrimeField64};
use plonky2::plonk::circuit_data::{CommonCircuitData, VerifierOnlyCircuitData};
use plonky2::plonk::config::GenericHashOut;
use thiserror::Error;
use zkr_circuits::config::{D, F};
use zkr_circuits::wrap::WrapConfig;
use zkr_yul::gates::{gate_constraints, GateGenError, GateLayout};

use crate::encoding::{EncodingError, ProofLayout, ELEM_BYTES, EXT_BYTES, HASH_BYTES};

/// plonky2's `UNUSED_SELECTOR` (crate-private there): the selector value of rows without a gate of a group.
const UNUSED_SELECTOR: u64 = u32::MAX as u64;
const P: &str = "0xffffffff00000001";
/// The low 64 bits of a word, and p - 1 (a 64-bit lane `v` is canonical iff `v <= p - 1`).
const M64: &str = "0xffffffffffffffff";
const PM1: &str = "0xffffffff00000000";
/// Mask of the top 25 bytes of a word (a `KeccakHash<25>` digest as it lies in calldata/memory).
const M25: &str = "0xffffffffffffffffffffffffffffffffffffffffffffffffff00000000000000";
/// Most estimated code ([`code_estimate`]) of gate constraints per part contract. Compiled parts have come out at
/// 0.52–0.87 bytes per estimated byte (the part's frame adds a little), so this keeps each part under EIP-170's
/// 24,576 bytes with room to spare (the tests compile every part and check); fuller parts mean fewer part calls, each
/// about 10 k gas.
const GATE_PART_CODE_BUDGET: usize = 24_000;
/// Number of public inputs (the zkr layout).
pub const NUM_PUBLIC_INPUTS: usize = 24;
/// Calldata offset of the proof bytes under the standard ABI encoding of
/// `verifyProof(bytes, uint256[24])`: selector, offset word, 24 words, length word.
pub const PROOF_CALLDATA_OFFSET: usize = 4 + 32 + 32 * NUM_PUBLIC_INPUTS + 32;

#[derive(Debug, Error)]
pub enum GenError {
    #[error("the circuit's proofs cannot be encoded: {0}")]
    Encoding(#[from] EncodingError),
    #[error("gate {index} ({id}): {source}")]
    Gate {
        index: usize,
        id: String,
        #[source]
        source: GateGenError,
    },
    #[error("gate {index} ({id}): its code cannot be split over part contracts: {reason}")]
    GateSplit { index: usize, id: String, reason: String },
    #[error("the circuit has {got} public inputs, the verifier ABI takes {expected}")]
    PublicInputs { expected: usize, got: usize },
    #[error("unsupported circuit: {reason}")]
    Unsupported { reason: String },
}

/// Where a debug build of the verifier stops and returns raw memory instead of a bool.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugStop {
    /// After the transcript: returns the challenge area (see [`ChallengeLayout`]).
    Challenges,
    /// After the vanishing check: returns the challenge area (the check passed if it returns).
    Vanishing,
    /// As `Challenges`, with every sponge permutation taken through the rejection-sampling path (which an honest
    /// transcript reaches with probability about 2^-30 per permutation), so that tests can compare it with plonky2.
    ChallengesSlowSponge,
}

/// Word indices of the challenges in the debug output of [`DebugStop::Challenges`].
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeLayout {
    pub betas: usize,
    pub gammas: usize,
    pub alphas: usize,
    pub zeta: usize,
    pub fri_alpha: usize,
    pub fri_betas: usize,
    pub pow_response: usize,
    pub query_indices: usize,
    pub pi_hash: usize,
    pub words: usize,
}

impl ChallengeLayout {
    pub fn new(nc: usize, nsteps: usize, nq: usize) -> Self {
        let betas = 0;
        let gammas = betas + nc;
        let alphas = gammas + nc;
        let zeta = alphas + nc;
        let fri_alpha = zeta + 2;
        let fri_betas = fri_alpha + 2;
        let pow_response = fri_betas + 2 * nsteps;
        let query_indices = pow_response + 1;
        let pi_hash = query_indices + nq;
        let words = pi_hash + 4;
        Self { betas, gammas, alphas, zeta, fri_alpha, fri_betas, pow_response, query_indices, pi_hash, words }
    }
}

/// Name of the verifier's part contract `k` (deployed before `ZkrVerifier`, whose constructor takes their addresses).
pub fn part_contract_name(k: usize) -> String {
    format!("ZkrVerifierPart{k}")
}

/// The line of a generated verifier that pins its parts' code, before [`pin_parts`] fills in the hash.
pub const UNPINNED_PARTS_CODEHASH: &str =
    "    bytes32 public constant PARTS_CODEHASH = 0x0000000000000000000000000000000000000000000000000000000000000000;";

/// The generated verifier with its parts' code pinned: `parts_codehash` is keccak256 of the concatenated keccak256
/// hashes of the parts' runtime code, in order (compile the unpinned source first to get them; the parts' code does
/// not depend on this line when compiled without CBOR metadata). `None` if `source` is not an unpinned verifier.
pub fn pin_parts(source: &str, parts_codehash: [u8; 32]) -> Option<String> {
    if source.matches(UNPINNED_PARTS_CODEHASH).count() != 1 {
        return None;
    }
    let pinned = format!("    bytes32 public constant PARTS_CODEHASH = 0x{};", hex_lower(&parts_codehash));
    Some(source.replace(UNPINNED_PARTS_CODEHASH, &pinned))
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Constructor arguments of `ZkrVerifier` (`address[N]`, ABI-encoded) for the deployed parts, in order.
pub fn verifier_constructor_args(parts: &[[u8; 20]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * parts.len());
    for a in parts {
        out.extend_from_slice(&[0u8; 12]);
        out.extend_from_slice(a);
    }
    out
}

/// Generates `ZkrVerifier.sol` for the wrap circuit with this common and verifier-only data.
pub fn generate_verifier(
    common: &CommonCircuitData<F, D>,
    verifier_only: &VerifierOnlyCircuitData<WrapConfig, D>,
) -> Result<String, GenError> {
    Generator::new(common, verifier_only, None)?.solidity()
}

/// As [`generate_verifier`], with a debug stop (tests compare intermediate values with plonky2).
#[doc(hidden)]
pub fn generate_verifier_debug(
    common: &CommonCircuitData<F, D>,
    verifier_only: &VerifierOnlyCircuitData<WrapConfig, D>,
    stop: DebugStop,
) -> Result<String, GenError> {
    Generator::new(common, verifier_only, Some(stop))?.solidity()
}

/// Static model of the challenger's buffers: the position of every observation and challenge is
/// known when generating, so the contract writes/reads fixed state slots.
struct Sponge {
    /// Elements absorbed since the last permutation (written straight into state slots 0..8:
    /// equivalent to plonky2's overwrite-mode duplexing).
    inputs: usize,
    /// Squeezed elements still unread (read from slot `outputs - 1` down, as plonky2 pops them).
    outputs: usize,
}

struct Generator<'a> {
    common: &'a CommonCircuitData<F, D>,
    vo: &'a VerifierOnlyCircuitData<WrapConfig, D>,
    l: ProofLayout,
    stop: Option<DebugStop>,
    ch: ChallengeLayout,
    mem: Mem,
    code: String,
    funcs: String,
    sponge: Sponge,
    parts: Vec<Part>,
}

/// Code run in a separate contract, `ZkrVerifierPart{k}` (EIP-170 caps a contract at 24,576 bytes, which the whole
/// verifier exceeds several times). The main contract `staticcall`s it with its memory `[0, input_end)` as calldata;
/// the part copies that to the same addresses, runs `code` and returns `[out, out + out_len)`, which the caller
/// stores at the same place. So the code runs exactly as if inlined.
struct Part {
    funcs: String,
    code: String,
    input_end: u64,
    out: u64,
    out_len: u64,
}

/// A bump allocator of fixed memory regions (byte offsets).
struct Mem {
    next: u64,
}

impl Mem {
    fn words(&mut self, n: usize) -> u64 {
        let at = self.next;
        self.next += 32 * n as u64;
        at
    }
}

/// Fixed memory addresses used by the helper functions.
/// The challenger's 12-element state as plonky2's Keccak permutation hashes it: 96 bytes, lane `i` (8 bytes,
/// little-endian) at `KB + 8i`. Observations are written there as bytes, so calldata runs are copied in directly.
/// Masked writes of a lane read and write 32 bytes, so up to `KB + 0x78` is reserved.
const KB: u64 = 0x280;
/// Mask of the top `8k` bytes of a word (lanes `0..k` of a 32-byte window).
fn lane_mask(k: usize) -> String {
    let mut w = [0u8; 32];
    w[..8 * k].fill(0xff);
    format!("0x{}", hex(&w))
}
const PART_SLOTS: u64 = 0x300; // addresses of the part contracts
/// Most part contracts a verifier may have.
const MAX_PARTS: usize = 32;
const FIRST_FREE: u64 = PART_SLOTS + 32 * MAX_PARTS as u64;

fn cd(off: usize) -> usize {
    PROOF_CALLDATA_OFFSET + off
}

impl<'a> Generator<'a> {
    fn new(
        common: &'a CommonCircuitData<F, D>,
        vo: &'a VerifierOnlyCircuitData<WrapConfig, D>,
        stop: Option<DebugStop>,
    ) -> Result<Self, GenError> {
        if common.num_public_inputs != NUM_PUBLIC_INPUTS {
            return Err(GenError::PublicInputs { expected: NUM_PUBLIC_INPUTS, got: common.num_public_inputs });
        }
        let l = ProofLayout::new(common)?;
        if common.selectors_info.num_selectors() == 0 {
            return Err(GenError::Unsupported { reason: "no selector polynomials".into() });
        }
        if l.quotient_degree_factor < 2 {
            return Err(GenError::Unsupported { reason: "quotient degree factor below 2".into() });
        }
        let ch = ChallengeLayout::new(l.num_challenges, l.arity_bits.len(), l.num_queries);
        Ok(Self {
            common,
            vo,
            l,
            stop,
            ch,
            mem: Mem { next: FIRST_FREE },
            code: String::new(),
            funcs: String::new(),
            sponge: Sponge { inputs: 0, outputs: 0 },
            parts: Vec::new(),
        })
    }

    fn line(&mut self, s: impl AsRef<str>) {
        self.code.push_str("            ");
        self.code.push_str(s.as_ref());
        self.code.push('\n');
    }

    /// Memory word holding part `k`'s address (written from the immutables before the assembly block: Solidity
    /// locals would put the block past the stack's reach).
    fn part_slot(&self, k: usize) -> u64 {
        PART_SLOTS + 32 * k as u64
    }

    /// Moves `code` into a new part contract and emits the call to it.
    fn offload(&mut self, funcs: String, code: String, input_end: u64, out: u64, out_len: u64) {
        let k = self.parts.len();
        self.line(format!(
            "if iszero(staticcall(gas(), mload({:#x}), 0, {input_end:#x}, {out:#x}, {out_len:#x})) {{ revert(0, 0) }} if iszero(eq(returndatasize(), {out_len:#x})) {{ revert(0, 0) }}",
            self.part_slot(k)
        ));
        self.parts.push(Part { funcs, code, input_end, out, out_len });
    }

    // ---- transcript -------------------------------------------------------------------------

    /// Emits the permutation when the rate (8 lanes) is full.
    fn absorbed(&mut self, n: usize) {
        self.sponge.outputs = 0;
        self.sponge.inputs += n;
        debug_assert!(self.sponge.inputs <= 8);
        if self.sponge.inputs == 8 {
            self.line("zv_perm()");
            self.sponge.inputs = 0;
            self.sponge.outputs = 8;
        }
    }

    /// Observes one canonical element given as a Yul expression of its value.
    fn observe(&mut self, expr: &str) {
        let a = KB + 8 * self.sponge.inputs as u64;
        self.line(format!("zv_put({a:#x}, shl(192, zv_bsw({expr})), {})", lane_mask(1)));
        self.absorbed(1);
    }

    /// Observes a constant element (its little-endian bytes are known now).
    fn observe_const(&mut self, v: u64) {
        let a = KB + 8 * self.sponge.inputs as u64;
        let mut w = [0u8; 32];
        w[..8].copy_from_slice(&v.to_le_bytes());
        self.line(format!("zv_put({a:#x}, 0x{}, {})", hex(&w), lane_mask(1)));
        self.absorbed(1);
    }

    /// Observes up to four lanes held at the top of the word in Yul variable `x` (little-endian bytes per lane),
    /// splitting at the rate boundary.
    fn observe_lanes(&mut self, x: &str, n: usize) {
        let first = n.min(8 - self.sponge.inputs);
        let a = KB + 8 * self.sponge.inputs as u64;
        self.line(format!("zv_put({a:#x}, {x}, {})", lane_mask(first)));
        self.absorbed(first);
        if first < n {
            self.line(format!("zv_put({KB:#x}, shl({}, {x}), {})", 64 * first, lane_mask(n - first)));
            self.absorbed(n - first);
        }
    }

    /// Observes `n` consecutive elements of calldata (8 little-endian bytes each, already checked canonical): the
    /// bytes are the state's bytes, so they are copied in, a rate's worth per permutation.
    fn observe_calldata_run(&mut self, off: usize, n: usize) {
        let mut off = off;
        let mut left = n;
        if self.sponge.inputs > 0 && left > 0 {
            let k = left.min(8 - self.sponge.inputs);
            self.line(format!("calldatacopy({:#x}, {off}, {})", KB + 8 * self.sponge.inputs as u64, 8 * k));
            self.absorbed(k);
            off += 8 * k;
            left -= k;
        }
        let full = left / 8;
        if full > 0 {
            self.line(format!(
                "for {{ let j := 0 }} lt(j, {full}) {{ j := add(j, 1) }} {{ calldatacopy({KB:#x}, add({off}, shl(6, j)), 64) zv_perm() }}"
            ));
            self.sponge.inputs = 0;
            self.sponge.outputs = 8;
            off += 64 * full;
            left -= 8 * full;
        }
        if left > 0 {
            self.line(format!("calldatacopy({KB:#x}, {off}, {})", 8 * left));
            self.absorbed(left);
        }
    }

    /// Emits code leaving the next challenge in `mstore(dst, ...)`.
    fn challenge_to(&mut self, dst: u64) {
        if self.sponge.inputs > 0 || self.sponge.outputs == 0 {
            self.line("zv_perm()");
            self.sponge.inputs = 0;
            self.sponge.outputs = 8;
        }
        self.sponge.outputs -= 1;
        let a = KB + 8 * self.sponge.outputs as u64;
        self.line(format!("mstore({dst:#x}, shr(192, zv_bsw(mload({a:#x}))))"));
    }

    /// Observes a Merkle cap: each 25-byte digest is 4 elements (`BytesHash::to_vec`: 7-byte little-endian chunks),
    /// whose state bytes are the digest's bytes with a zero byte after each chunk.
    fn observe_cap_calldata(&mut self, off: usize) {
        for i in 0..self.l.cap_len {
            let o = cd(off + i * HASH_BYTES);
            self.line(format!("{{ let x := zv_hlanes(calldataload({o}))"));
            self.observe_lanes("x", 4);
            self.line("}");
        }
    }

    // ---- generation -------------------------------------------------------------------------

    fn solidity(mut self) -> Result<String, GenError> {
        let body = self.body()?;
        if self.parts.len() > MAX_PARTS {
            return Err(GenError::Unsupported {
                reason: format!(
                    "the verifier needs {} part contracts, at most {MAX_PARTS} are supported",
                    self.parts.len()
                ),
            });
        }
        let mut s = String::new();
        let l = &self.l;
        let _ = writeln!(s, "// SPDX-License-Identifier: MIT OR Apache-2.0");
        let _ = writeln!(s, "// Generated by zkr-generator (`zkr contracts generate`): do not edit.");
        let _ = writeln!(
            s,
            "// Wrap circuit: degree 2^{}, {} wires, FRI rate 2^-{}, {} queries, {} PoW bits, cap height {}, arities {:?}.",
            l.degree_bits,
            l.num_wires,
            l.lde_bits - l.degree_bits,
            l.num_queries,
            l.pow_bits,
            l.cap_height,
            l.arity_bits.iter().map(|a| 1usize << a).collect::<Vec<_>>()
        );
        let _ = writeln!(s, "// Encoded proof: {} bytes.", l.total_len);
        s.push_str("pragma solidity ^0.8.28;\n\n");
        s.push_str(
            "interface IZkrVerifier {\n    /// True iff `proof` (zkr's calldata encoding of a wrap proof) is valid for these 24 public inputs\n    /// (Goldilocks elements < p, in order: oldRoot[4], newRoot[4], then dataIn[8] and dataOut[8], the data chain's\n    /// Keccak-256 digests as 32-bit big-endian limbs). May revert on a malformed encoding (callers treat a revert as\n    /// \"invalid\").\n    function verifyProof(bytes calldata proof, uint256[24] calldata publicInputs) external view returns (bool);\n}\n\n",
        );
        let n = self.parts.len();
        for (k, part) in self.parts.iter().enumerate() {
            let _ = writeln!(
                s,
                "/// Part {k} of the verifier's code (see `ZkrVerifier`): stateless; called with the caller's memory"
            );
            let _ = writeln!(
                s,
                "/// [0, {:#x}) as calldata, it returns memory [{:#x}, {:#x}) after running.",
                part.input_end,
                part.out,
                part.out + part.out_len
            );
            let _ = writeln!(s, "contract {} {{", part_contract_name(k));
            s.push_str(
                "    fallback() external {\n        assembly {\n            calldatacopy(0, 0, calldatasize())\n",
            );
            for line in part.funcs.lines().chain(part.code.lines()) {
                s.push_str("            ");
                s.push_str(line.trim_start());
                s.push('\n');
            }
            let _ = writeln!(s, "            return({:#x}, {:#x})\n        }}\n    }}\n}}\n", part.out, part.out_len);
        }
        s.push_str("/// Verifier of zkr wrap proofs (plonky2, KeccakGoldilocksConfig), generated from the circuit.\n");
        s.push_str("/// Only the standard ABI encoding of the arguments is accepted. The code is split over this contract and\n");
        let _ = writeln!(
            s,
            "/// {n} part contracts (EIP-170 limits each to 24,576 bytes): deploy `{}`..`{}` first and pass their addresses,\n/// in order, to the constructor.",
            part_contract_name(0),
            part_contract_name(n.saturating_sub(1))
        );
        s.push_str("/// The constructor refuses parts whose runtime code is not the code compiled from this file: `PARTS_CODEHASH` is\n/// keccak256 of their code hashes in order, so this contract's code alone fixes all of the verifier's code.\n");
        s.push_str("contract ZkrVerifier is IZkrVerifier {\n");
        let _ = writeln!(s, "    uint256 public constant PROOF_BYTES = {};", l.total_len);
        let _ = writeln!(s, "    uint256 public constant NUM_PARTS = {n};");
        let _ = writeln!(s, "{UNPINNED_PARTS_CODEHASH}");
        s.push_str("    error PartCodeMismatch();\n");
        for k in 0..n {
            let _ = writeln!(s, "    address internal immutable PART{k};");
        }
        let _ = writeln!(s, "\n    constructor(address[{n}] memory parts) {{");
        let _ = writeln!(s, "        bytes32[{n}] memory codeHashes;");
        let _ = writeln!(s, "        for (uint256 k; k < {n}; ++k) codeHashes[k] = parts[k].codehash;");
        s.push_str(
            "        if (keccak256(abi.encodePacked(codeHashes)) != PARTS_CODEHASH) revert PartCodeMismatch();\n",
        );
        for k in 0..n {
            let _ = writeln!(s, "        PART{k} = parts[{k}];");
        }
        s.push_str("    }\n");
        s.push_str("\n    function verifyProof(bytes calldata proof, uint256[24] calldata publicInputs) external view returns (bool) {\n");
        for k in 0..n {
            let _ =
                writeln!(s, "        {{ address a = PART{k}; assembly {{ mstore({:#x}, a) }} }}", self.part_slot(k));
        }
        s.push_str("        uint256 proofOffset;\n        uint256 proofLength;\n        assembly {\n            proofOffset := proof.offset\n            proofLength := proof.length\n        }\n");
        let _ = writeln!(
            s,
            "        if (proofOffset != {} || proofLength != {} || msg.data.length != {}) return false;",
            PROOF_CALLDATA_OFFSET,
            l.total_len,
            PROOF_CALLDATA_OFFSET + l.total_len.div_ceil(32) * 32
        );
        s.push_str("        assembly {\n");
        for line in self.funcs.lines() {
            s.push_str("            ");
            s.push_str(line);
            s.push('\n');
        }
        s.push_str("            if iszero(eq(publicInputs, 36)) { zv_fail() }\n");
        s.push_str(&body);
        s.push_str("            mstore(0, 1)\n            return(0, 32)\n        }\n    }\n}\n");
        Ok(s)
    }

    fn body(&mut self) -> Result<String, GenError> {
        self.helper_functions();
        let nc = self.l.num_challenges;
        let nsteps = self.l.arity_bits.len();
        let nq = self.l.num_queries;
        // memory regions: first those the gate parts read (the openings, the public-inputs hash in the challenge area,
        // the accumulators, the gate output and scratch), so that each part call copies only them
        let pi = self.mem.words(NUM_PUBLIC_INPUTS);
        let n_open = self.l.num_openings_zeta + nc;
        let open = self.mem.words(2 * n_open);
        let chal = self.mem.words(self.ch.words);
        let pih = chal + 32 * self.ch.pi_hash as u64;
        let misc = self.mem.words(64);
        let n_terms = nc + nc * (self.l.num_partial_products + 1) + self.common.num_gate_constraints;
        let terms = self.mem.words(2 * n_terms);
        let acc = terms + 64 * (nc + nc * (self.l.num_partial_products + 1)) as u64;
        let max_gate_constraints = self.common.gates.iter().map(|g| g.0.num_constraints()).max().unwrap_or(0);
        let gout = self.mem.words(2 * max_gate_constraints);
        let scratch = self.mem.next;

        // misc slots
        let m = |i: u64| misc + 32 * i;
        let (zn, zh, l0, bz, beta_s, gamma_s, filt) = (m(0), m(2), m(4), m(6), m(8), m(9), m(10));
        let (ro0, ro1, an, gz, qo, qidx, qx, old) = (m(12), m(14), m(16), m(18), m(20), m(21), m(22), m(24));

        let openings_cd = cd(self.l.openings);
        let c = |i: usize| open + 64 * i as u64; // extension opening i
        let consts = 0usize;
        let sigmas = self.l.num_constants;
        let wires = sigmas + self.l.num_routed_wires;
        let zs = wires + self.l.num_wires;
        let pps = zs + nc;
        let quot = pps + nc * self.l.num_partial_products;
        let zs_next = self.l.num_openings_zeta;

        // gate constraints, filtered, accumulated into the constraint terms
        let num_selectors = self.common.selectors_info.num_selectors();
        let layout = GateLayout {
            wires: c(wires),
            constants: c(consts + num_selectors + self.common.num_lookup_selectors),
            public_inputs_hash: pih,
            out: gout,
            scratch,
        };
        let mut max_scratch = 0u64;
        let selectors = Selectors::of(self.common)?;
        // each gate's constraints as fragments of at most the part budget, the last one followed by the filter and
        // the accumulation (so the filter needs to survive no call)
        let mut units: Vec<String> = Vec::new();
        for (gi, gate) in self.common.gates.iter().enumerate() {
            let g = gate_constraints(gate, &layout).map_err(|source| GenError::Gate {
                index: gi,
                id: gate.0.id(),
                source,
            })?;
            max_scratch = max_scratch.max(g.scratch_bytes);
            let si = selectors.selector_indices[gi];
            let group = selectors.groups[si].clone();
            let mut factors: Vec<u64> = group.filter(|&k| k != gi).map(|k| k as u64).collect();
            if num_selectors > 1 {
                factors.push(UNUSED_SELECTOR);
            }
            let mut tail = String::new();
            if g.num_constraints > 0 {
                let _ = write!(
                    tail,
                    "{{ let s0 := mload({:#x}) let s1 := sub({P}, mload({:#x})) let f0 := 1 let f1 := 0",
                    c(consts + si),
                    c(consts + si) + 32
                );
                for k in factors {
                    let _ = write!(tail, " f0, f1 := emul(f0, f1, gsub({k:#x}, s0), mod(s1, {P}))");
                }
                let _ = writeln!(tail, " mstore({filt:#x}, f0) mstore({:#x}, f1) }}", filt + 32);
                let _ = writeln!(tail, "zv_acc({}, {acc:#x}, {gout:#x}, {filt:#x})", g.num_constraints);
            }
            let mut frags = split_statements(&g.code, GATE_PART_CODE_BUDGET).map_err(|reason| GenError::GateSplit {
                index: gi,
                id: gate.0.id(),
                reason,
            })?;
            let label = format!("// gate {gi}: {}\n", gate.0.id().replace('\n', " "));
            if frags.is_empty() {
                frags.push(String::new());
            }
            if let Some(first) = frags.first_mut() {
                first.insert_str(0, &label);
            }
            if let Some(last) = frags.last_mut() {
                last.push_str(&tail);
            }
            units.extend(frags);
        }
        self.mem.next = scratch + max_scratch;
        let scratch_end = self.mem.next;
        // the regions only this contract uses
        let n_polys: usize = self.l.oracle_polys.iter().sum();
        let apow = self.mem.words(2 * n_polys);
        let kis = self.mem.words(self.l.num_routed_wires);
        let capc = self.mem.words(self.l.cap_len);
        let omt = self.mem.words(self.l.lde_bits);
        // per FRI step: the coset-start factors g^-rev(i) (n words), then beta^(2^j) for j < arity bits (extension)
        let mut step_tables = vec![];
        for &a in &self.l.arity_bits {
            step_tables.push(self.mem.words((1usize << a) + 2 * a));
        }
        let max_leaf = (self.l.oracle_polys.iter().max().copied().unwrap_or(0) * ELEM_BYTES)
            .max(self.l.arity_bits.iter().map(|a| (1usize << a) * EXT_BYTES).max().unwrap_or(0));
        let leafbuf = self.mem.words(max_leaf.div_ceil(32) + 1);
        let max_arity = self.l.arity_bits.iter().map(|a| 1usize << a).max().unwrap_or(1);
        let fold = self.mem.words(max_arity);

        // ---- tables
        self.line("// constant tables");
        for (j, k) in self.common.k_is.iter().enumerate() {
            self.line(format!("mstore({:#x}, {:#x})", kis + 32 * j as u64, k.to_canonical_u64()));
        }
        for (j, h) in self.vo.constants_sigmas_cap.0.iter().enumerate() {
            let mut w = [0u8; 32];
            w[..HASH_BYTES].copy_from_slice(&h.0);
            self.line(format!("mstore({:#x}, 0x{})", capc + 32 * j as u64, hex(&w)));
        }
        let omega = F::primitive_root_of_unity(self.l.lde_bits);
        for k in 0..self.l.lde_bits {
            let v = omega.exp_power_of_2(k);
            self.line(format!("mstore({:#x}, {:#x})", omt + 32 * k as u64, v.to_canonical_u64()));
        }
        for (s, &a) in self.l.arity_bits.clone().iter().enumerate() {
            let n = 1usize << a;
            let g = F::primitive_root_of_unity(a);
            let tt = step_tables[s];
            for i in 0..n {
                let e = (n - reverse_bits(i, a)) % n;
                self.line(format!("mstore({:#x}, {:#x})", tt + 32 * i as u64, g.exp_u64(e as u64).to_canonical_u64()));
            }
        }

        // ---- public inputs
        self.line("// public inputs: canonical, then their Poseidon hash");
        self.line(format!(
            "for {{ let i := 0 }} lt(i, {NUM_PUBLIC_INPUTS}) {{ i := add(i, 1) }} {{ let v := calldataload(add(36, shl(5, i))) if iszero(lt(v, {P})) {{ zv_fail() }} mstore(add({pi:#x}, shl(5, i)), v) }}"
        ));
        let poseidon_funcs = zkr_yul::field::yul_functions() + &zkr_yul::poseidon::poseidon_yul();
        self.offload(
            poseidon_funcs,
            format!("poseidon_hash_no_pad({pi:#x}, {NUM_PUBLIC_INPUTS}, {pih:#x})\n"),
            pi + 32 * NUM_PUBLIC_INPUTS as u64,
            pih,
            128,
        );

        // ---- openings into memory
        self.line("// openings (extension elements) into memory, canonical");
        self.line(format!(
            "for {{ let i := 0 }} lt(i, {}) {{ i := add(i, 1) }} {{ let e0, e1 := zv_rd2(add({openings_cd}, shl(4, i))) mstore(add({open:#x}, shl(6, i)), e0) mstore(add({open:#x}, add(shl(6, i), 32)), e1) }}",
            n_open
        ));

        // ---- transcript
        self.line("// Fiat-Shamir transcript (plonky2 Challenger over KeccakHash<25>)");
        let fri = &self.common.fri_params;
        let mut consts_obs: Vec<u64> =
            vec![fri.config.rate_bits as u64, fri.config.cap_height as u64, fri.config.proof_of_work_bits as u64];
        consts_obs.extend(fri.config.reduction_strategy.serialize::<F>().iter().map(|x| x.to_canonical_u64()));
        consts_obs.push(fri.config.num_query_rounds as u64);
        consts_obs.push(fri.hiding as u64);
        consts_obs.push(fri.degree_bits as u64);
        consts_obs.extend(fri.reduction_arity_bits.iter().map(|&a| a as u64));
        let digest: Vec<F> = self.vo.circuit_digest.to_vec();
        consts_obs.extend(digest.iter().map(|x| x.to_canonical_u64()));
        for v in consts_obs {
            self.observe_const(v);
        }
        for k in 0..4 {
            self.observe(&format!("mload({:#x})", pih + 32 * k));
        }
        self.observe_cap_calldata(self.l.wires_cap);
        let cw = |i: usize| chal + 32 * i as u64;
        for i in 0..nc {
            self.challenge_to(cw(self.ch.betas + i));
        }
        for i in 0..nc {
            self.challenge_to(cw(self.ch.gammas + i));
        }
        self.observe_cap_calldata(self.l.zs_cap);
        for i in 0..nc {
            self.challenge_to(cw(self.ch.alphas + i));
        }
        self.observe_cap_calldata(self.l.quotient_cap);
        self.challenge_to(cw(self.ch.zeta));
        self.challenge_to(cw(self.ch.zeta + 1));
        // openings: 2·n_open elements, contiguous in calldata (checked canonical when read into memory)
        self.observe_calldata_run(openings_cd, 2 * n_open);
        self.challenge_to(cw(self.ch.fri_alpha));
        self.challenge_to(cw(self.ch.fri_alpha + 1));
        for s in 0..nsteps {
            self.observe_cap_calldata(self.l.commit_caps + s * self.l.cap_len * HASH_BYTES);
            self.challenge_to(cw(self.ch.fri_betas + 2 * s));
            self.challenge_to(cw(self.ch.fri_betas + 2 * s + 1));
        }
        // the final polynomial and the PoW witness: canonical, then observed as calldata bytes
        self.line(format!(
            "for {{ let i := 0 }} lt(i, {}) {{ i := add(i, 1) }} {{ pop(zv_rd(add({}, shl(3, i)))) }} pop(zv_rd({}))",
            2 * self.l.final_poly_len,
            cd(self.l.final_poly),
            cd(self.l.pow_witness)
        ));
        self.observe_calldata_run(cd(self.l.final_poly), 2 * self.l.final_poly_len);
        self.observe_calldata_run(cd(self.l.pow_witness), 1);
        self.challenge_to(cw(self.ch.pow_response));
        for q in 0..nq {
            self.challenge_to(cw(self.ch.query_indices + q));
        }
        let lde_mask = (1u64 << self.l.lde_bits) - 1;
        for q in 0..nq {
            let a = cw(self.ch.query_indices + q);
            self.line(format!("mstore({a:#x}, and(mload({a:#x}), {lde_mask:#x}))"));
        }
        if matches!(self.stop, Some(DebugStop::Challenges | DebugStop::ChallengesSlowSponge)) {
            self.line(format!("return({chal:#x}, {})", 32 * self.ch.words));
        }
        // PoW: the response must have pow_bits leading zeros (as a 64-bit word)
        self.line(format!("if shr({}, mload({:#x})) {{ zv_fail() }}", 64 - self.l.pow_bits, cw(self.ch.pow_response)));

        // ---- vanishing polynomial at zeta
        self.line("// vanishing polynomial at zeta against Z_H(zeta) * t(zeta)");
        let zeta = cw(self.ch.zeta);
        let n_mod = (1u64 << self.l.degree_bits) % F::ORDER;
        self.line(format!(
            "{{ let a0 := mload({zeta:#x}) let a1 := mload({:#x}) for {{ let i := 0 }} lt(i, {}) {{ i := add(i, 1) }} {{ a0, a1 := esquare(a0, a1) }} mstore({zn:#x}, a0) mstore({:#x}, a1) mstore({zh:#x}, gsub(a0, 1)) mstore({:#x}, a1) }}",
            zeta + 32,
            self.l.degree_bits,
            zn + 32,
            zh + 32
        ));
        self.line(format!(
            "{{ let d0, d1 := escalar(gsub(mload({zeta:#x}), 1), mload({:#x}), {n_mod:#x}) let i0, i1 := einv(d0, d1) let r0, r1 := emul(mload({zh:#x}), mload({:#x}), i0, i1) mstore({l0:#x}, r0) mstore({:#x}, r1) }}",
            zeta + 32,
            zh + 32,
            l0 + 32
        ));
        let term = |k: usize| terms + 64 * k as u64;
        let npp = self.l.num_partial_products;
        let qdf = self.l.quotient_degree_factor;
        let r = self.l.num_routed_wires;
        for i in 0..nc {
            // L0 * (Z - 1)
            self.line(format!(
                "{{ let r0, r1 := emul(mload({l0:#x}), mload({:#x}), gsub(mload({:#x}), 1), mload({:#x})) mstore({:#x}, r0) mstore({:#x}, r1) }}",
                l0 + 32,
                c(zs + i),
                c(zs + i) + 32,
                term(i),
                term(i) + 32
            ));
            // partial products
            self.line(format!(
                "mstore({beta_s:#x}, mload({:#x})) mstore({gamma_s:#x}, mload({:#x})) mstore({bz:#x}, mulmod(mload({beta_s:#x}), mload({zeta:#x}), {P})) mstore({:#x}, mulmod(mload({beta_s:#x}), mload({:#x}), {P}))",
                cw(self.ch.betas + i),
                cw(self.ch.gammas + i),
                bz + 32,
                zeta + 32
            ));
            for ck in 0..=npp {
                let (js, je) = (ck * qdf, ((ck + 1) * qdf).min(r));
                let prev = if ck == 0 { c(zs + i) } else { c(pps + i * npp + ck - 1) };
                let next = if ck == npp { c(zs_next + i) } else { c(pps + i * npp + ck) };
                let t = term(nc + i * (npp + 1) + ck);
                self.line(format!(
                    "{{ let n0, n1, d0, d1 := zv_chunk({js}, {je}) let p0, p1 := emul(mload({prev:#x}), mload({:#x}), n0, n1) let q0, q1 := emul(mload({next:#x}), mload({:#x}), d0, d1) p0, p1 := esub(p0, p1, q0, q1) mstore({t:#x}, p0) mstore({:#x}, p1) }}",
                    prev + 32,
                    next + 32,
                    t + 32
                ));
            }
        }
        // chunk products of the permutation argument: numerators w + beta*k*zeta + gamma, denominators w + beta*sigma + gamma
        let _ = writeln!(
            self.funcs,
            "function zv_chunk(js, je) -> n0, n1, d0, d1 {{ n0 := 1 d0 := 1 for {{ let j := js }} lt(j, je) {{ j := add(j, 1) }} {{ let w := add({:#x}, shl(6, j)) let x0 := addmod(addmod(mload(w), mulmod(mload(add({kis:#x}, shl(5, j))), mload({bz:#x}), {P}), {P}), mload({gamma_s:#x}), {P}) let x1 := addmod(mload(add(w, 32)), mulmod(mload(add({kis:#x}, shl(5, j))), mload({:#x}), {P}), {P}) n0, n1 := emul(n0, n1, x0, x1) let sg := add({:#x}, shl(6, j)) x0 := addmod(addmod(mload(w), mulmod(mload({beta_s:#x}), mload(sg), {P}), {P}), mload({gamma_s:#x}), {P}) x1 := addmod(mload(add(w, 32)), mulmod(mload({beta_s:#x}), mload(add(sg, 32)), {P}), {P}) d0, d1 := emul(d0, d1, x0, x1) }} }}",
            c(wires),
            bz + 32,
            c(sigmas)
        );

        // units go to part contracts, packed greedily in order up to the budget; a part returns the accumulators,
        // the gate output area and the scratch area (contiguous), so a gate may span parts
        let ret_len = scratch_end - acc;
        let gate_funcs = format!("{}{}\n", zkr_yul::field::yul_functions(), acc_function());
        // running estimates, so each unit is measured once
        let funcs_size = code_estimate(&gate_funcs);
        let mut shard = String::new();
        let mut shard_size = 0;
        for unit in units {
            let unit_size = code_estimate(&unit);
            if !shard.is_empty() && funcs_size + shard_size + unit_size > GATE_PART_CODE_BUDGET {
                self.offload(gate_funcs.clone(), std::mem::take(&mut shard), scratch_end, acc, ret_len);
                shard_size = 0;
            }
            shard.push_str(&unit);
            shard_size += unit_size;
        }
        if !shard.is_empty() {
            self.offload(gate_funcs, shard, scratch_end, acc, ret_len);
        }
        // alpha reductions and the quotient check
        let _ = writeln!(
            self.funcs,
            "function zv_reduce_base(alpha, ptr, n) -> r0, r1 {{ for {{ let k := n }} k {{}} {{ k := sub(k, 1) let t := add(ptr, shl(6, k)) r0 := addmod(mulmod(r0, alpha, {P}), mload(t), {P}) r1 := addmod(mulmod(r1, alpha, {P}), mload(add(t, 32)), {P}) }} }}"
        );
        let _ = writeln!(
            self.funcs,
            "function zv_reduce_ext(a0, a1, ptr, n) -> r0, r1 {{ for {{ let k := n }} k {{}} {{ k := sub(k, 1) let t := add(ptr, shl(6, k)) r0, r1 := emul(r0, r1, a0, a1) r0 := addmod(r0, mload(t), {P}) r1 := addmod(r1, mload(add(t, 32)), {P}) }} }}"
        );
        for i in 0..nc {
            self.line(format!(
                "{{ let v0, v1 := zv_reduce_base(mload({:#x}), {terms:#x}, {n_terms}) let t0, t1 := zv_reduce_ext(mload({zn:#x}), mload({:#x}), {:#x}, {qdf}) t0, t1 := emul(t0, t1, mload({zh:#x}), mload({:#x})) if iszero(and(eq(v0, t0), eq(v1, t1))) {{ zv_fail() }} }}",
                cw(self.ch.alphas + i),
                zn + 32,
                c(quot + i * qdf),
                zh + 32
            ));
        }
        if self.stop == Some(DebugStop::Vanishing) {
            self.line(format!("return({chal:#x}, {})", 32 * self.ch.words));
        }

        // ---- FRI
        self.line("// FRI: reduced openings, then each query round");
        let fa = cw(self.ch.fri_alpha);
        self.line(format!(
            "{{ let r0, r1 := zv_reduce_ext(mload({fa:#x}), mload({:#x}), {open:#x}, {}) mstore({ro0:#x}, r0) mstore({:#x}, r1) }}",
            fa + 32,
            self.l.num_openings_zeta,
            ro0 + 32
        ));
        self.line(format!(
            "{{ let r0, r1 := zv_reduce_ext(mload({fa:#x}), mload({:#x}), {:#x}, {nc}) mstore({ro1:#x}, r0) mstore({:#x}, r1) }}",
            fa + 32,
            c(zs_next),
            ro1 + 32
        ));
        // alpha^nc
        self.line(format!(
            "{{ let r0 := 1 let r1 := 0 for {{ let i := 0 }} lt(i, {nc}) {{ i := add(i, 1) }} {{ r0, r1 := emul(r0, r1, mload({fa:#x}), mload({:#x})) }} mstore({an:#x}, r0) mstore({:#x}, r1) }}",
            fa + 32,
            an + 32
        ));
        let g_n = F::primitive_root_of_unity(self.l.degree_bits).to_canonical_u64();
        self.line(format!(
            "mstore({gz:#x}, mulmod(mload({zeta:#x}), {g_n:#x}, {P})) mstore({:#x}, mulmod(mload({:#x}), {g_n:#x}, {P}))",
            gz + 32,
            zeta + 32
        ));
        // the FRI alpha's powers, one per polynomial of the initial oracles (the reduced openings become dot products)
        self.line(format!(
            "{{ let r0 := 1 let r1 := 0 let a0 := mload({fa:#x}) let a1 := mload({:#x}) for {{ let i := 0 }} lt(i, {n_polys}) {{ i := add(i, 1) }} {{ mstore(add({apow:#x}, shl(6, i)), r0) mstore(add({apow:#x}, add(shl(6, i), 32)), r1) {} }} }}",
            fa + 32,
            emul_inline("r0", "r1", "r0", "r1", "a0", "a1")
        ));
        for (s, &a) in self.l.arity_bits.clone().iter().enumerate() {
            let b = cw(self.ch.fri_betas + 2 * s);
            let bp = step_tables[s] + 32 * (1u64 << a);
            self.line(format!(
                "{{ let b0 := mload({b:#x}) let b1 := mload({:#x}) for {{ let j := 0 }} lt(j, {a}) {{ j := add(j, 1) }} {{ mstore(add({bp:#x}, shl(6, j)), b0) mstore(add({bp:#x}, add(shl(6, j), 32)), b1) b0, b1 := esquare(b0, b1) }} }}",
                b + 32
            ));
        }

        // query loop body
        let mut qb = String::new();
        let qbase = cd(self.l.queries);
        let _ = writeln!(qb, "function zv_query(q) {{");
        let _ = writeln!(qb, "  let idx := mload(add({:#x}, shl(5, q)))", cw(self.ch.query_indices));
        let _ = writeln!(qb, "  let base := add({qbase}, mul(q, {}))", self.l.query_size);
        let _ = writeln!(qb, "  mstore({qo:#x}, base) mstore({qidx:#x}, idx)");
        // initial oracles
        let depth = self.l.initial_depth;
        let caps_cd = [None, Some(cd(self.l.wires_cap)), Some(cd(self.l.zs_cap)), Some(cd(self.l.quotient_cap))];
        for (o, cap) in caps_cd.iter().enumerate() {
            let leaf_len = self.l.oracle_polys[o] * ELEM_BYTES;
            let leaf = self.l.oracle_leaf[o];
            let path = self.l.oracle_path[o];
            let expected = match *cap {
                None => format!("mload(add({capc:#x}, shl(5, shr({depth}, idx))))"),
                Some(off) => format!("and(calldataload(add({off}, mul({HASH_BYTES}, shr({depth}, idx)))), {M25})"),
            };
            let _ = writeln!(
                qb,
                "  if iszero(eq(zv_merkle({}, add(base, {path}), {depth}, idx), {expected})) {{ zv_fail() }}",
                leaf_hash_expr(&format!("add(base, {leaf})"), leaf_len)
            );
        }
        let _ = writeln!(qb, "  mstore({qx:#x}, zv_subgroup_x(idx))");
        // combined reduced openings
        let _ = writeln!(qb, "  let s0 := 0 let s1 := 0");
        let mut offset = 0usize;
        for o in 0..4 {
            let _ = writeln!(
                qb,
                "  s0, s1 := zv_dot_leaf(add(base, {}), {}, {:#x}, s0, s1)",
                self.l.oracle_leaf[o],
                self.l.oracle_polys[o],
                apow + 64 * offset as u64
            );
            offset += self.l.oracle_polys[o];
        }
        let _ = writeln!(qb, "  s0 := mod(s0, {P}) s1 := mod(s1, {P})");
        let _ = writeln!(qb, "  s0, s1 := esub(s0, s1, mload({ro0:#x}), mload({:#x}))", ro0 + 32);
        let _ = writeln!(
            qb,
            "  let u0, u1 := zv_dot_leaf(add(base, {}), {nc}, {apow:#x}, 0, 0) u0 := mod(u0, {P}) u1 := mod(u1, {P})",
            self.l.oracle_leaf[2]
        );
        let _ = writeln!(qb, "  u0, u1 := esub(u0, u1, mload({ro1:#x}), mload({:#x}))", ro1 + 32);
        let _ = writeln!(qb, "  zv_combine(s0, s1, u0, u1)");
        // folding steps
        for (s, &a) in self.l.arity_bits.clone().iter().enumerate() {
            let n = 1usize << a;
            let sdepth = self.l.step_depth[s];
            let cap_off = cd(self.l.commit_caps + s * self.l.cap_len * HASH_BYTES);
            let _ =
                writeln!(qb, "  {{ let i := mload({qidx:#x}) let ev := add(mload({qo:#x}), {})", self.l.step_evals[s]);
            let _ = writeln!(
                qb,
                "    let e0, e1 := zv_rd2(add(ev, shl(4, and(i, {})))) if iszero(and(eq(e0, mload({old:#x})), eq(e1, mload({:#x})))) {{ zv_fail() }}",
                n - 1,
                old + 32
            );
            let _ = writeln!(
                qb,
                "    let ci := shr({a}, i) if iszero(eq(zv_merkle({}, add(mload({qo:#x}), {}), {sdepth}, ci), and(calldataload(add({cap_off}, mul({HASH_BYTES}, shr({sdepth}, ci)))), {M25}))) {{ zv_fail() }}",
                leaf_hash_expr("ev", n * EXT_BYTES),
                self.l.step_path[s]
            );
            let _ = writeln!(
                qb,
                "    let p0, p1 := zv_fold{s}(ev, and(i, {})) mstore({old:#x}, p0) mstore({:#x}, p1) mstore({qidx:#x}, ci) }}",
                n - 1,
                old + 32
            );
        }
        // final polynomial
        let _ = writeln!(
            qb,
            "  {{ let x := mload({qx:#x}) let r0 := 0 let r1 := 0 for {{ let k := {} }} k {{}} {{ k := sub(k, 1) let e0, e1 := zv_rd2(add({}, shl(4, k))) r0 := addmod(mulmod(r0, x, {P}), e0, {P}) r1 := addmod(mulmod(r1, x, {P}), e1, {P}) }} if iszero(and(eq(r0, mload({old:#x})), eq(r1, mload({:#x})))) {{ zv_fail() }} }}",
            self.l.final_poly_len,
            cd(self.l.final_poly),
            old + 32
        );
        qb.push_str("}\n");
        self.funcs.push_str(&qb);

        // helpers that depend on the layout
        let _ = writeln!(
            self.funcs,
            "function zv_subgroup_x(idx) -> x {{ x := {gen:#x} for {{ let k := 0 }} lt(k, {lb}) {{ k := add(k, 1) }} {{ if and(shr(sub({lbm1}, k), idx), 1) {{ x := mulmod(x, mload(add({omt:#x}, shl(5, k))), {P}) }} }} }}",
            lb = self.l.lde_bits,
            lbm1 = self.l.lde_bits - 1,
            gen = F::MULTIPLICATIVE_GROUP_GENERATOR.to_canonical_u64()
        );
        // s += sum_k v_k·alpha^(offset+k) over a leaf's n base elements, with the powers read from the table `pw`; the
        // sums are left unreduced (each product is below 2^128). Elements are read a word (four) at a time: one byte
        // swap per word, and one test per word that no element has its high half all ones (the only way to be >= p;
        // such a word gets the exact per-element test).
        let term = |v: &str, k: u64| {
            format!(
                "s0 := add(s0, mul({v}, mload(add(pp, {})))) s1 := add(s1, mul({v}, mload(add(pp, {}))))",
                64 * k,
                64 * k + 32
            )
        };
        let _ = writeln!(
            self.funcs,
            "function zv_dot_leaf(o, n, pw, s0, s1) -> r0, r1 {{ let nw := shr(2, n) for {{ let k := 0 }} lt(k, nw) {{ k := add(k, 1) }} {{ let raw := calldataload(add(o, shl(5, k))) let y := zv_bsw(raw) if iszero({nohigh}) {{ zv_chk4(y) }} let pp := add(pw, shl(8, k)) {} {} {} {} }} for {{ let k := shl(2, nw) }} lt(k, n) {{ k := add(k, 1) }} {{ let v := zv_rd(add(o, shl(3, k))) let pp := add(pw, shl(6, k)) {} }} r0 := s0 r1 := s1 }}",
            term("shr(192, y)", 0),
            term(&format!("and(shr(128, y), {M64})"), 1),
            term(&format!("and(shr(64, y), {M64})"), 2),
            term(&format!("and(y, {M64})"), 3),
            term("v", 0),
            nohigh = no_high_lanes("raw")
        );
        let _ = writeln!(
            self.funcs,
            "function zv_chk4(y) {{ if or(or(gt(shr(192, y), {PM1}), gt(and(shr(128, y), {M64}), {PM1})), or(gt(and(shr(64, y), {M64}), {PM1}), gt(and(y, {M64}), {PM1}))) {{ zv_fail() }} }}"
        );
        // sum = alpha^nc * n0 / (x - zeta) + n1 / (x - g zeta), one inversion
        let _ = writeln!(
            self.funcs,
            "function zv_combine(n0, n1, m0, m1) {{ let x := mload({qx:#x}) let d0 := gsub(x, mload({zeta:#x})) let d1 := sub({P}, mload({:#x})) d1 := mod(d1, {P}) let e0 := gsub(x, mload({gz:#x})) let e1 := mod(sub({P}, mload({:#x})), {P}) let i0, i1 := emul(d0, d1, e0, e1) i0, i1 := einv(i0, i1) n0, n1 := emul(n0, n1, mload({an:#x}), mload({:#x})) n0, n1 := emul(n0, n1, e0, e1) m0, m1 := emul(m0, m1, d0, d1) n0, n1 := eadd(n0, n1, m0, m1) n0, n1 := emul(n0, n1, i0, i1) mstore({old:#x}, n0) mstore({:#x}, n1) }}",
            zeta + 32,
            gz + 32,
            an + 32,
            old + 32
        );
        // coset interpolation at beta, by folding: the n evaluations of a polynomial P (degree < n) on the coset s<g>
        // are paired x, -x (adjacent in plonky2's bit-reversed order) into the n/2 values of
        // Q(x^2) = (P(x) + P(-x))/2 + beta (P(x) - P(-x))/(2x), where Q(beta^2) = P(beta); repeated with beta^2, beta^4,
        // ... down to one value. The halvings are left out and made up at the end (times n^-1). Straight-line code;
        // one inversion (of s) per step.
        for (s, &a) in self.l.arity_bits.clone().iter().enumerate() {
            let fs = self.fold_function(s, a, qx, step_tables[s], fold);
            self.funcs.push_str(&fs);
        }
        let _ = writeln!(
            self.funcs,
            "function zv_leaf(o, len) -> h {{ calldatacopy({leafbuf:#x}, o, len) h := and(keccak256({leafbuf:#x}, len), {M25}) }}"
        );

        self.line(format!("for {{ let q := 0 }} lt(q, {nq}) {{ q := add(q, 1) }} {{ zv_query(q) }}"));
        let _ = (qo, qidx);
        Ok(std::mem::take(&mut self.code))
    }

    /// `zv_fold{s}(ev, within) -> r0, r1`: P(beta) for FRI step `s` (arity 2^a) from the n evaluations at calldata
    /// `ev` (bit-reversed coset order, two extension elements per word) of the query at position `within`; `qx` holds
    /// the query's point x, which becomes x^n. See the comment where it is called.
    fn fold_function(&self, s: usize, a: usize, qx: u64, tab: u64, buf: u64) -> String {
        let n = 1usize << a;
        let bp = tab + 32 * n as u64;
        let g = F::primitive_root_of_unity(a);
        let mut f = String::new();
        let _ = writeln!(f, "function zv_fold{s}(ev, within) -> r0, r1 {{");
        // s = x g^-rev(within), si = 1/s
        let _ = writeln!(
            f,
            "  let x := mload({qx:#x}) let si := ginv(mulmod(x, mload(add({tab:#x}, shl(5, within))), {P}))"
        );
        for l in 0..a {
            let pairs = n >> (l + 1);
            let bits = a - l - 1;
            let _ = writeln!(
                f,
                "  {{ let b0 := mload({:#x}) let b1 := mload({:#x})",
                bp + 64 * l as u64,
                bp + 64 * l as u64 + 32
            );
            for p in 0..pairs {
                // x at this pair: s^(2^l) g^(2^l rev(p)); its inverse si^(2^l) g^-(2^l rev(p))
                let e = ((n - ((1usize << l) * reverse_bits(p, bits)) % n) % n) as u64;
                let ginv_c = g.exp_u64(e).to_canonical_u64();
                if l == 0 {
                    let _ = writeln!(
                        f,
                        "    {{ let raw := calldataload(add(ev, {})) let y := zv_bsw(raw) if iszero({nohigh}) {{ zv_chk4(y) }} let a0 := shr(192, y) let a1 := and(shr(128, y), {M64}) let c0 := and(shr(64, y), {M64}) let c1 := and(y, {M64})",
                        32 * p,
                        nohigh = no_high_lanes("raw")
                    );
                } else {
                    let (o0, o1) = (buf + 128 * p as u64, buf + 128 * p as u64 + 64);
                    let _ = writeln!(
                        f,
                        "    {{ let a0 := mload({o0:#x}) let a1 := mload({:#x}) let c0 := mload({o1:#x}) let c1 := mload({:#x})",
                        o0 + 32,
                        o1 + 32
                    );
                }
                let c = if ginv_c == 1 { "si".to_string() } else { format!("mulmod(si, {ginv_c:#x}, {P})") };
                let _ = writeln!(
                    f,
                    "      let c := {c} let d0 := mulmod(add(a0, sub({P}, c0)), c, {P}) let d1 := mulmod(add(a1, sub({P}, c1)), c, {P}) {} mstore({:#x}, addmod(add(a0, c0), d0, {P})) mstore({:#x}, addmod(add(a1, c1), d1, {P})) }}",
                    emul_inline("d0", "d1", "d0", "d1", "b0", "b1"),
                    buf + 64 * p as u64,
                    buf + 64 * p as u64 + 32
                );
            }
            let _ = writeln!(f, "  }} si := mulmod(si, si, {P})");
        }
        let n_inv = F::from_canonical_u64(n as u64).inverse().to_canonical_u64();
        let _ = writeln!(
            f,
            "  r0 := mulmod(mload({buf:#x}), {n_inv:#x}, {P}) r1 := mulmod(mload({:#x}), {n_inv:#x}, {P})",
            buf + 32
        );
        let mut sq = String::new();
        for _ in 0..a {
            let _ = write!(sq, " x := mulmod(x, x, {P})");
        }
        let _ = writeln!(f, " {sq} mstore({qx:#x}, x)\n}}");
        f
    }

    fn helper_functions(&mut self) {
        let slow_sponge = self.stop == Some(DebugStop::ChallengesSlowSponge);
        let f = &mut self.funcs;
        f.push_str(&zkr_yul::field::yul_functions());
        let m8 = "0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff";
        let m16 = "0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff";
        let m32 = "0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff";
        let _ = writeln!(f, "function zv_fail() {{ mstore(0, 0) return(0, 32) }}");
        // byte-reverse each 64-bit lane of a word (little-endian <-> big-endian for 4 elements at once)
        let _ = writeln!(
            f,
            "function zv_bsw(x) -> y {{ y := or(and(shr(8, x), {m8}), shl(8, and(x, {m8}))) y := or(and(shr(16, y), {m16}), shl(16, and(y, {m16}))) y := or(and(shr(32, y), {m32}), shl(32, and(y, {m32}))) }}"
        );
        // one canonical field element, 8 little-endian bytes of calldata
        let _ = writeln!(
            f,
            "function zv_rd(o) -> v {{ v := shr(192, zv_bsw(calldataload(o))) if gt(v, {PM1}) {{ zv_fail() }} }}"
        );
        // one canonical extension element (two base elements), 16 little-endian bytes of calldata
        let _ = writeln!(
            f,
            "function zv_rd2(o) -> v0, v1 {{ let y := zv_bsw(calldataload(o)) v0 := shr(192, y) v1 := and(shr(128, y), {M64}) if or(gt(v0, {PM1}), gt(v1, {PM1})) {{ zv_fail() }} }}"
        );
        // a 25-byte digest (top of `w`) as the state bytes of its 4 elements (BytesHash<25>::to_vec: 7-byte
        // little-endian chunks): bytes 0-6, 7-13, 14-20 and 21-24, each chunk padded to 8 bytes with zeros
        let l0 = "0xffffffffffffff00000000000000000000000000000000000000000000000000";
        let l1 = "0x0000000000000000ffffffffffffff0000000000000000000000000000000000";
        let l2 = "0x00000000000000000000000000000000ffffffffffffff000000000000000000";
        let l3 = "0x000000000000000000000000000000000000000000000000ffffffff00000000";
        let _ = writeln!(
            f,
            "function zv_hlanes(w) -> x {{ x := or(or(and(w, {l0}), and(shr(8, w), {l1})), or(and(shr(16, w), {l2}), and(shr(24, w), {l3}))) }}"
        );
        // writes the lanes of `x` selected by `mask` at `a`, keeping the other bytes of the window
        let _ = writeln!(f, "function zv_put(a, x, mask) {{ mstore(a, or(and(mload(a), not(mask)), and(x, mask))) }}");
        // plonky2's KeccakPermutation on the 96 state bytes: the new state is the little-endian u64 stream of
        // H(s) || H(H(s)) || ... with words >= p skipped. The common case (no word of the first three hashes is >= p)
        // writes the three hashes as they are; a word >= p has its high half all ones (in little-endian, bytes 4-7
        // of its lane), and any such lane sends the permutation to the exact, word-by-word path.
        let fast = if slow_sponge { "0" } else { "and(zv_nohigh(h1), and(zv_nohigh(h2), zv_nohigh(h3)))" };
        let _ = writeln!(f, "function zv_nohigh(h) -> ok {{ ok := {} }}", no_high_lanes("h"));
        let _ = writeln!(
            f,
            "function zv_perm() {{ let h1 := keccak256({KB:#x}, 96) mstore({KB:#x}, h1) let h2 := keccak256({KB:#x}, 32) mstore({:#x}, h2) let h3 := keccak256({:#x}, 32) mstore({:#x}, h3) if iszero({fast}) {{ zv_perm_slow(h1) }} }}",
            KB + 32,
            KB + 32,
            KB + 64
        );
        let _ = writeln!(
            f,
            "function zv_perm_slow(h) {{ let n := 0 for {{}} lt(n, 12) {{}} {{ for {{ let j := 0 }} and(lt(j, 4), lt(n, 12)) {{ j := add(j, 1) }} {{ let raw := and(shr(sub(192, shl(6, j)), h), {M64}) if lt(shr(192, zv_bsw(shl(192, raw))), {P}) {{ zv_put(add({KB:#x}, shl(3, n)), shl(192, raw), {}) n := add(n, 1) }} }} mstore(0, h) h := keccak256(0, 32) }} }}",
            lane_mask(1)
        );
        // Merkle path from a leaf digest to the cap: siblings are 25-byte digests in calldata
        let _ = writeln!(
            f,
            "function zv_merkle(h, sib, depth, idx) -> root {{ for {{ let i := 0 }} lt(i, depth) {{ i := add(i, 1) }} {{ let s := and(calldataload(add(sib, mul({HASH_BYTES}, i))), {M25}) switch and(shr(i, idx), 1) case 0 {{ mstore(0, h) mstore({HASH_BYTES}, s) }} default {{ mstore(0, s) mstore({HASH_BYTES}, h) }} h := and(keccak256(0, {}), {M25}) }} root := h }}",
            2 * HASH_BYTES
        );
    }
}

/// Yul block setting `(d0, d1) := (a0 + a1·X)(b0 + b1·X)` in the quadratic extension without a function call (calls
/// cost more than the arithmetic in the verifier's hot loops). The destination may be an operand: the product is
/// computed before either destination is written. Operands are evaluated twice, so they must be side-effect free.
fn emul_inline(d0: &str, d1: &str, a0: &str, a1: &str, b0: &str, b1: &str) -> String {
    format!(
        "{{ let t := mod(add(mul({a0}, {b1}), mul({a1}, {b0})), {P}) {d0} := mod(add(mul({a0}, {b0}), mul(7, mul({a1}, {b1}))), {P}) {d1} := t }}"
    )
}

/// Yul expression for plonky2's `hash_or_noop` of a leaf of `len` bytes at calldata `o`:
/// leaves of at most 25 bytes are their own (zero-padded) digest, longer ones are hashed.
/// The Keccak buffer must hold `len` bytes: leaves are at most a few KB, which the buffer
/// region (at the end of the used memory) accommodates since memory grows on demand.
fn leaf_hash_expr(o: &str, len: usize) -> String {
    if len <= HASH_BYTES {
        let keep = 8 * len;
        format!("and(calldataload({o}), not(shr({keep}, not(0))))")
    } else {
        format!("zv_leaf({o}, {len})")
    }
}

/// Yul expression, true iff no 8-byte little-endian lane of the word `w` has its high half (bytes 4-7) all ones, the
/// only way a lane can hold a value >= p: the high halves are masked from `not(w)`, and adding 2^32 - 1 to each
/// carries out of every half that is not zero.
fn no_high_lanes(w: &str) -> String {
    let hi = "0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff";
    let carry = "0x0000000100000000000000010000000000000001000000000000000100000000";
    format!("eq(and(add(and(not({w}), {hi}), {hi}), {carry}), {carry})")
}

/// `i` with its low `bits` bits reversed.
/// Splits straight-line Yul into self-contained fragments of about `budget` bytes at statement boundaries. Code
/// wrapped in one block is unwrapped first; the function definitions at the top level are repeated in every
/// fragment (each fragment is one block). Statements must not share variables, which the gate emitters
/// guarantee (they communicate through memory only).
fn split_statements(code: &str, budget: usize) -> Result<Vec<String>, String> {
    // top-level items: (is_function, text)
    fn items(code: &str) -> Result<Vec<(bool, String)>, String> {
        let mut out = Vec::new();
        let mut depth: i64 = 0;
        let mut cur = String::new();
        for line in code.lines() {
            let t = line.trim();
            if t.is_empty() || (depth == 0 && t.starts_with("//")) {
                continue;
            }
            cur.push_str(t);
            cur.push('\n');
            depth += t.matches('{').count() as i64 - t.matches('}').count() as i64;
            if depth < 0 {
                return Err("unbalanced braces in gate code".into());
            }
            if depth == 0 {
                let text = std::mem::take(&mut cur);
                out.push((text.starts_with("function "), text));
            }
        }
        if depth != 0 || !cur.is_empty() {
            return Err("unbalanced braces in gate code".into());
        }
        Ok(out)
    }
    let mut top = items(code)?;
    if top.len() == 1 && !top[0].0 && top[0].1.starts_with('{') && top[0].1.trim_end().ends_with('}') {
        let inner = top[0].1.trim();
        top = items(&inner[1..inner.len() - 1])?;
    }
    let funcs: String = top.iter().filter(|(f, _)| *f).map(|(_, t)| t.as_str()).collect();
    if top.iter().any(|(f, t)| !f && t.starts_with("let ")) {
        return Err("gate code declares variables at its top level, so it cannot be split".into());
    }
    let mut frags = Vec::new();
    let funcs_size = code_estimate(&funcs);
    let mut cur = String::new();
    let mut cur_size = 0;
    for (_, stmt) in top.into_iter().filter(|(f, _)| !f) {
        let stmt_size = code_estimate(&stmt);
        if !cur.is_empty() && funcs_size + cur_size + stmt_size > budget {
            frags.push(format!("{{\n{funcs}{cur}}}\n"));
            cur.clear();
            cur_size = 0;
        }
        cur.push_str(&stmt);
        cur_size += stmt_size;
    }
    if !cur.is_empty() {
        frags.push(format!("{{\n{funcs}{cur}}}\n"));
    }
    Ok(frags)
}

/// A rough size of the bytecode Yul source compiles to: a literal's push (opcode and bytes) plus two bytes per call
/// (the opcode and about one stack move). Measured parts came out at 0.52–0.87 of this, where bytes per character of
/// source ranged over a factor of two.
fn code_estimate(src: &str) -> usize {
    let b = src.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'0' && b.get(i + 1) == Some(&b'x') {
            let start = i + 2;
            let mut j = start;
            while j < b.len() && b[j].is_ascii_hexdigit() {
                j += 1;
            }
            n += 1 + (j - start).div_ceil(2);
            i = j;
        } else {
            if b[i] == b'(' {
                n += 2;
            }
            i += 1;
        }
    }
    n
}

/// `acc[j] += filter * out[j]` for the `n` constraints of one gate (extension elements).
fn acc_function() -> String {
    format!(
        "function zv_acc(n, acc, out, filt) {{ let f0 := mload(filt) let f1 := mload(add(filt, 32)) for {{ let j := 0 }} lt(j, n) {{ j := add(j, 1) }} {{ let a := add(acc, shl(6, j)) let o := add(out, shl(6, j)) let r0, r1 := emul(f0, f1, mload(o), mload(add(o, 32))) mstore(a, addmod(mload(a), r0, {P})) mstore(add(a, 32), addmod(mload(add(a, 32)), r1, {P})) }} }}"
    )
}

fn reverse_bits(i: usize, bits: usize) -> usize {
    (0..bits).fold(0, |r, k| r | (((i >> k) & 1) << (bits - 1 - k)))
}

/// plonky2's selector groups (its fields are crate-private; read through their serde form).
#[derive(serde::Deserialize)]
struct Selectors {
    selector_indices: Vec<usize>,
    groups: Vec<std::ops::Range<usize>>,
}

impl Selectors {
    fn of(common: &CommonCircuitData<F, D>) -> Result<Self, GenError> {
        let v = serde_json::to_value(&common.selectors_info)
            .map_err(|e| GenError::Unsupported { reason: format!("selectors info: {e}") })?;
        let s: Selectors =
            serde_json::from_value(v).map_err(|e| GenError::Unsupported { reason: format!("selectors info: {e}") })?;
        if s.selector_indices.len() != common.gates.len() || s.selector_indices.iter().any(|&i| i >= s.groups.len()) {
            return Err(GenError::Unsupported { reason: "inconsistent selectors info".into() });
        }
        Ok(s)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use zkr_circuits::wrap::WrapParams;

    use super::*;

    #[test]
    fn reverse_bits_reverses() {
        assert_eq!(reverse_bits(0b0001, 4), 0b1000);
        assert_eq!(reverse_bits(0b0110, 4), 0b0110);
        assert_eq!(reverse_bits(0b1011, 4), 0b1101);
        assert_eq!(reverse_bits(5, 0), 0);
    }

    #[test]
    fn refuses_a_circuit_without_the_zkr_public_inputs() {
        let mut b = CircuitBuilder::<F, D>::new(WrapParams::DEFAULT.circuit_config());
        let x = b.add_virtual_targets(3);
        b.register_public_inputs(&x);
        let data = b.build::<WrapConfig>();
        let err = generate_verifier(&data.common, &data.verifier_only).unwrap_err();
        assert!(matches!(err, GenError::PublicInputs { expected: NUM_PUBLIC_INPUTS, got: 3 }), "{err}");
    }

    #[test]
    fn generates_for_a_small_circuit_with_the_zkr_public_inputs() {
        let mut b = CircuitBuilder::<F, D>::new(WrapParams::DEFAULT.circuit_config());
        let x = b.add_virtual_targets(NUM_PUBLIC_INPUTS);
        b.register_public_inputs(&x);
        let data = b.build::<WrapConfig>();
        let src = generate_verifier(&data.common, &data.verifier_only).expect("generates");
        assert!(src.contains("contract ZkrVerifier is IZkrVerifier"));
        assert!(src.contains("function verifyProof(bytes calldata proof, uint256[24] calldata publicInputs)"));
        let l = ProofLayout::new(&data.common).unwrap();
        assert!(src.contains(&format!("PROOF_BYTES = {}", l.total_len)));
    }
}
