//! plonky2's Poseidon permutation over Goldilocks (width 12, 4 + 22 + 4 rounds) as Yul, plus the sponge helpers and a
//! Solidity library wrapping them.
//!
//! Constants are read from plonky2 at generation time (`ALL_ROUND_CONSTANTS`, the MDS matrix and the fast
//! partial-round tables of the `Poseidon` trait), so the output follows plonky2 exactly.
//!
//! Gas: words are kept unreduced between rounds (products of a < 2^64 word and the small MDS entries or 64-bit fast
//! partial-round constants stay far below 2^256) and are only reduced by the S-box's `mulmod` and once at the end.
//! The state lives in memory between rounds; inside a round it is held in Yul variables (at most 14 live slots, so
//! legacy codegen does not hit "stack too deep").

use std::fmt::Write as _;

use plonky2::hash::poseidon::{Poseidon, ALL_ROUND_CONSTANTS, HALF_N_FULL_ROUNDS, N_PARTIAL_ROUNDS, SPONGE_WIDTH};
use plonky2_field::goldilocks_field::GoldilocksField as F;

use crate::field::P_HEX;

const WIDTH: usize = SPONGE_WIDTH;

/// Byte offset of state word `i` relative to `ptr`, as a Yul expression.
fn slot(ptr: &str, i: usize) -> String {
    if i == 0 {
        ptr.to_string()
    } else {
        format!("add({ptr}, {})", 32 * i)
    }
}

/// Right-nested sum of `terms` (keeps at most one partial sum on the stack while evaluating).
fn nested_sum(terms: &[String]) -> String {
    match terms.split_first() {
        None => "0".to_string(),
        Some((first, [])) => first.clone(),
        Some((first, rest)) => format!("add({first}, {})", nested_sum(rest)),
    }
}

/// `var := var^7` for a variable holding any word (reduced by `mulmod`), in its own block so the temporary dies.
fn sbox_assign(var: &str) -> String {
    let p = P_HEX;
    format!(
        "{{ let x2 := mulmod({var}, {var}, {p}) {var} := mulmod(mulmod({var}, x2, {p}), mulmod(x2, x2, {p}), {p}) }}"
    )
}

/// `var := var^7` for a variable `< 2^74`: x² and x³ need no reduction (< 2^148, < 2^222), saving two `mulmod`s.
fn sbox_assign_small(var: &str) -> String {
    let p = P_HEX;
    format!("{{ let x2 := mul({var}, {var}) {var} := mulmod(mul(x2, {var}), mulmod(x2, x2, {p}), {p}) }}")
}

/// MDS matrix entry (row `r`, column `c`): circulant part plus the diagonal.
pub(crate) fn mds_entry(r: usize, c: usize) -> u64 {
    let circ = <F as Poseidon>::MDS_MATRIX_CIRC[(c + WIDTH - r) % WIDTH];
    if r == c {
        circ + <F as Poseidon>::MDS_MATRIX_DIAG[r]
    } else {
        circ
    }
}

// Between full rounds the state is *packed*: word g (g = 0..3, at ptr + 32g) holds state words 3g, 3g+1, 3g+2 in
// 80-bit lanes. An MDS output is below 264·2^64 < 2^73 (the row sums of the matrix are at most 264), so adding a
// round constant (< 2^64) still fits a lane, and one `mul` by a packed column of the matrix computes three rows at
// once: a third of the multiplications of the plain matrix-vector product.
const LANE: usize = 80;
const LANE_MASK: &str = "0xffffffffffffffffffff";

/// Hex literal of `l0 + l1·2^80 + l2·2^160` (each lane < 2^80).
fn packed_hex(lanes: [u128; 3]) -> String {
    let digits = format!("{:x}{:020x}{:020x}", lanes[2], lanes[1], lanes[0]);
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        format!("0x{trimmed}")
    }
}

/// Round `round`'s constants packed like the state.
fn packed_round_constants(round: usize, g: usize) -> String {
    packed_hex(std::array::from_fn(|k| ALL_ROUND_CONSTANTS[3 * g + k + WIDTH * round] as u128))
}

/// Unpacks lane `k` of packed word `g`.
fn lane(ptr: &str, g: usize, k: usize) -> String {
    let w = format!("mload({})", slot(ptr, g));
    match k {
        0 => format!("and({w}, {LANE_MASK})"),
        1 => format!("and(shr({LANE}, {w}), {LANE_MASK})"),
        _ => format!("shr({}, {w})", 2 * LANE),
    }
}

/// `poseidon_full_round(ptr)`: on a packed state with the round constants already added: S-box on all 12 words,
/// then the MDS layer, leaving the packed result.
fn full_round_function() -> String {
    let mut s = String::from("function poseidon_full_round(ptr) {\n");
    for i in 0..WIDTH {
        let _ = writeln!(s, "  let s{i} := {}", lane("ptr", i / 3, i % 3));
        let _ = writeln!(s, "  {}", sbox_assign_small(&format!("s{i}")));
    }
    for g in 0..WIDTH / 3 {
        let terms: Vec<String> = (0..WIDTH)
            .map(|c| {
                let k = packed_hex(std::array::from_fn(|k| mds_entry(3 * g + k, c) as u128));
                format!("mul(s{c}, {k})")
            })
            .collect();
        let _ = writeln!(s, "  mstore({}, {})", slot("ptr", g), nested_sum(&terms));
    }
    s.push_str("}\n");
    s
}

/// `poseidon_partial_rounds(ptr)`: plonky2's fast partial rounds on a packed state whose first fast constant layer
/// is already added: initial matrix, then 22 rounds of S-box on word 0 and the sparse matrices. Leaves the state
/// unpacked and unreduced (words < 2^214). Word 0 is kept in memory, words 1..11 in variables.
fn partial_rounds_function() -> String {
    let init = <F as Poseidon>::FAST_PARTIAL_ROUND_INITIAL_MATRIX;
    let rc = <F as Poseidon>::FAST_PARTIAL_ROUND_CONSTANTS;
    let vs = <F as Poseidon>::FAST_PARTIAL_ROUND_VS;
    let w_hats = <F as Poseidon>::FAST_PARTIAL_ROUND_W_HATS;
    let m00 = <F as Poseidon>::MDS_MATRIX_CIRC[0] + <F as Poseidon>::MDS_MATRIX_DIAG[0];

    let mut s = String::from("function poseidon_partial_rounds(ptr) {\n");
    for i in 1..WIDTH {
        let _ = writeln!(s, "  let s{i} := {}", lane("ptr", i / 3, i % 3));
    }
    let _ = writeln!(s, "  mstore(ptr, {})", lane("ptr", 0, 0));
    // Initial matrix: word 0 passes through; word c (c >= 1) becomes the sum over r >= 1 of s_r * M[r-1][c-1]
    // (inputs < 2^74, entries < 2^64: the sum stays below 2^142).
    for c in 1..WIDTH {
        let terms: Vec<String> = (1..WIDTH).map(|r| format!("mul(s{r}, {:#x})", init[r - 1][c - 1])).collect();
        let _ = writeln!(s, "  mstore({}, {})", slot("ptr", c), nested_sum(&terms));
    }
    for i in 1..WIDTH {
        let _ = writeln!(s, "  s{i} := mload({})", slot("ptr", i));
    }
    // Per round, x < 2^65 and words 1..11 grow by x·v < 2^129: they stay below 2^146, and the new word 0,
    // 25·x + sum of s_i·ŵ_i, below 2^214.
    for r in 0..N_PARTIAL_ROUNDS {
        s.push_str("  {\n    let x := mload(ptr)\n");
        let _ = writeln!(s, "    {}", sbox_assign("x"));
        if rc[r] != 0 {
            let _ = writeln!(s, "    x := add(x, {:#x})", rc[r]);
        }
        let mut terms = vec![format!("mul(x, {m00})")];
        terms.extend((1..WIDTH).map(|i| format!("mul(s{i}, {:#x})", w_hats[r][i - 1])));
        let _ = writeln!(s, "    mstore(ptr, {})", nested_sum(&terms));
        for i in 1..WIDTH {
            let _ = writeln!(s, "    s{i} := add(mul(x, {:#x}), s{i})", vs[r][i - 1]);
        }
        s.push_str("  }\n");
    }
    for i in 1..WIDTH {
        let _ = writeln!(s, "  mstore({}, s{i})", slot("ptr", i));
    }
    s.push_str("}\n");
    s
}

/// Adds round `round`'s constants to the packed state (inline statements).
fn packed_constant_layer(s: &mut String, round: usize) {
    for g in 0..WIDTH / 3 {
        let _ = writeln!(s, "  mstore({0}, add(mload({0}), {1}))", slot("ptr", g), packed_round_constants(round, g));
    }
}

/// Packs the 12 words at `ptr` (each reduced with `mod` when `reduce`) and adds `constants(g)` to packed word g.
/// Word g is written to slot g after its three inputs (slots 3g..3g+2) are read, and slot g's old value (word g)
/// was consumed by an earlier packed word, so the packing is in place.
fn pack(s: &mut String, reduce: bool, constants: impl Fn(usize) -> String) {
    let p = P_HEX;
    for g in 0..WIDTH / 3 {
        let word = |k: usize| {
            let w = format!("mload({})", slot("ptr", 3 * g + k));
            if reduce {
                format!("mod({w}, {p})")
            } else {
                w
            }
        };
        let _ = writeln!(
            s,
            "  mstore({}, add(add({}, shl({LANE}, {})), add(shl({}, {}), {})))",
            slot("ptr", g),
            word(0),
            word(1),
            2 * LANE,
            word(2),
            constants(g)
        );
    }
}

/// Yul functions: `poseidon_permute(ptr)` (12 words at `ptr` permuted in place; inputs must be < p, outputs are
/// canonical), `poseidon_hash_no_pad(in_ptr, n, out_ptr)` (plonky2 `hash_n_to_hash_no_pad`: overwrite mode, rate 8,
/// writes the 4-word digest at `out_ptr`) and `poseidon_two_to_one(l_ptr, r_ptr, out_ptr)` (plonky2
/// `PoseidonHash::two_to_one`), plus their private helpers (`poseidon_*`). The sponge helpers revert on an input
/// word `>= p` and use 384 bytes at the free-memory pointer (`mload(0x40)`) as scratch without moving it.
pub fn poseidon_yul() -> String {
    let mut s = poseidon_permutation_yul();
    s.push_str(&sponge_functions());
    s
}

/// The permutation alone (`poseidon_permute` and its helpers).
fn poseidon_permutation_yul() -> String {
    let p = P_HEX;
    let mut s = String::new();
    s.push_str(&full_round_function());
    s.push_str(&partial_rounds_function());
    s.push_str("function poseidon_permute(ptr) {\n");
    pack(&mut s, false, |g| packed_round_constants(0, g));
    s.push_str("  poseidon_full_round(ptr)\n");
    for round in 1..HALF_N_FULL_ROUNDS {
        packed_constant_layer(&mut s, round);
        s.push_str("  poseidon_full_round(ptr)\n");
    }
    let first = <F as Poseidon>::FAST_PARTIAL_FIRST_ROUND_CONSTANT;
    for g in 0..WIDTH / 3 {
        let c = packed_hex(std::array::from_fn(|k| first[3 * g + k] as u128));
        let _ = writeln!(s, "  mstore({0}, add(mload({0}), {c}))", slot("ptr", g));
    }
    s.push_str("  poseidon_partial_rounds(ptr)\n");
    let second = HALF_N_FULL_ROUNDS + N_PARTIAL_ROUNDS;
    pack(&mut s, true, |g| packed_round_constants(second, g));
    s.push_str("  poseidon_full_round(ptr)\n");
    for round in second + 1..second + HALF_N_FULL_ROUNDS {
        packed_constant_layer(&mut s, round);
        s.push_str("  poseidon_full_round(ptr)\n");
    }
    // Unpack with reduction, last packed word first so that no packed word is overwritten before it is read.
    for g in (0..WIDTH / 3).rev() {
        let _ = writeln!(s, "  {{ let w := mload({})", slot("ptr", g));
        for k in (0..3).rev() {
            let lane_expr = match k {
                0 => format!("and(w, {LANE_MASK})"),
                1 => format!("and(shr({LANE}, w), {LANE_MASK})"),
                _ => format!("shr({}, w)", 2 * LANE),
            };
            let _ = writeln!(s, "    mstore({}, mod({lane_expr}, {p}))", slot("ptr", 3 * g + k));
        }
        s.push_str("  }\n");
    }
    s.push_str("}\n");
    s
}

fn sponge_functions() -> String {
    let p = P_HEX;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "function poseidon_hash_no_pad(in_ptr, n, out_ptr) {{
  let st := mload(0x40)
  for {{ let i := 0 }} lt(i, 384) {{ i := add(i, 32) }} {{ mstore(add(st, i), 0) }}
  for {{}} n {{}} {{
    let k := n
    if gt(k, 8) {{ k := 8 }}
    for {{ let i := 0 }} lt(i, k) {{ i := add(i, 1) }} {{
      let v := mload(add(in_ptr, shl(5, i)))
      if iszero(lt(v, {p})) {{ revert(0, 0) }}
      mstore(add(st, shl(5, i)), v)
    }}
    poseidon_permute(st)
    in_ptr := add(in_ptr, shl(5, k))
    n := sub(n, k)
  }}
  mstore(out_ptr, mload(st))
  mstore(add(out_ptr, 32), mload(add(st, 32)))
  mstore(add(out_ptr, 64), mload(add(st, 64)))
  mstore(add(out_ptr, 96), mload(add(st, 96)))
}}"
    );
    let _ = writeln!(
        s,
        "function poseidon_two_to_one(l_ptr, r_ptr, out_ptr) {{
  let st := mload(0x40)
  for {{ let i := 0 }} lt(i, 128) {{ i := add(i, 32) }} {{
    let a := mload(add(l_ptr, i))
    let b := mload(add(r_ptr, i))
    if iszero(and(lt(a, {p}), lt(b, {p}))) {{ revert(0, 0) }}
    mstore(add(st, i), a)
    mstore(add(add(st, 128), i), b)
    mstore(add(add(st, 256), i), 0)
  }}
  poseidon_permute(st)
  mstore(out_ptr, mload(st))
  mstore(add(out_ptr, 32), mload(add(st, 32)))
  mstore(add(out_ptr, 64), mload(add(st, 64)))
  mstore(add(out_ptr, 96), mload(add(st, 96)))
}}"
    );
    s
}

/// Indents every non-empty line of `code` by `n` spaces.
fn indent(code: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    code.lines().map(|l| if l.is_empty() { "\n".to_string() } else { format!("{pad}{l}\n") }).collect()
}

/// The Solidity library `PoseidonGoldilocks` (`PoseidonGoldilocks.sol`, imported by the rollup contract):
/// `hashNoPad(uint256[])`, `twoToOne(uint256[4], uint256[4])` and `permute(uint256[12])`, all `internal pure`.
/// Inputs must be canonical Goldilocks elements (`< p`), otherwise they revert with `PoseidonInputNotCanonical`.
pub fn solidity_library() -> String {
    let p = P_HEX;
    let perm = indent(&poseidon_permutation_yul(), 12);
    format!(
        r#"// SPDX-License-Identifier: MIT OR Apache-2.0
// Generated by zkr-yul (`zkr_yul::poseidon::solidity_library`); do not edit by hand.
pragma solidity ^0.8.28;

/// An input word was not a canonical Goldilocks element (< 2^64 - 2^32 + 1).
error PoseidonInputNotCanonical(uint256 index, uint256 value);

/// plonky2's Poseidon hash over the Goldilocks field (width 12, rate 8, 8 full and 22 partial rounds), bit-exact
/// with `plonky2::hash::poseidon::PoseidonHash`. Elements are uint256 words holding values < p.
library PoseidonGoldilocks {{
    uint256 internal constant P = {p};

    /// plonky2 `hash_n_to_hash_no_pad`: overwrite-mode sponge over `input` (rate 8, no padding), 4-element digest.
    function hashNoPad(uint256[] memory input) internal pure returns (uint256[4] memory out) {{
        uint256[12] memory state;
        uint256 n = input.length;
        for (uint256 start = 0; start < n; start += 8) {{
            uint256 end = start + 8 < n ? start + 8 : n;
            for (uint256 i = start; i < end; ++i) {{
                uint256 v = input[i];
                if (v >= P) revert PoseidonInputNotCanonical(i, v);
                state[i - start] = v;
            }}
            permuteUnchecked(state);
        }}
        out[0] = state[0];
        out[1] = state[1];
        out[2] = state[2];
        out[3] = state[3];
    }}

    /// plonky2 `PoseidonHash::two_to_one` (compression of two digests).
    function twoToOne(uint256[4] memory l, uint256[4] memory r) internal pure returns (uint256[4] memory out) {{
        uint256[12] memory state;
        for (uint256 i = 0; i < 4; ++i) {{
            if (l[i] >= P) revert PoseidonInputNotCanonical(i, l[i]);
            if (r[i] >= P) revert PoseidonInputNotCanonical(4 + i, r[i]);
            state[i] = l[i];
            state[4 + i] = r[i];
        }}
        permuteUnchecked(state);
        out[0] = state[0];
        out[1] = state[1];
        out[2] = state[2];
        out[3] = state[3];
    }}

    /// The Poseidon permutation in place. Words must be < p; results are canonical.
    function permute(uint256[12] memory state) internal pure {{
        for (uint256 i = 0; i < 12; ++i) {{
            if (state[i] >= P) revert PoseidonInputNotCanonical(i, state[i]);
        }}
        permuteUnchecked(state);
    }}

    /// The permutation for a state already known to be canonical.
    function permuteUnchecked(uint256[12] memory state) private pure {{
        assembly ("memory-safe") {{
{perm}            poseidon_permute(state)
        }}
    }}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_literals_place_lanes_at_80_bit_offsets() {
        assert_eq!(packed_hex([0, 0, 0]), "0");
        assert_eq!(packed_hex([0x2a, 0, 0]), "0x2a");
        assert_eq!(packed_hex([0, 1, 0]), format!("0x1{}", "0".repeat(20)));
        assert_eq!(packed_hex([3, 0, 2]), format!("0x2{}3", "0".repeat(39)));
    }

    #[test]
    fn mds_rows_fit_a_lane() {
        // The packing argument needs every row sum times 2^64, plus a round constant, below 2^80.
        for r in 0..WIDTH {
            let row: u64 = (0..WIDTH).map(|c| mds_entry(r, c)).sum();
            assert!((row as u128 + 1) << 64 < 1u128 << 73, "row {r} sums to {row}");
        }
        assert_eq!(mds_entry(0, 0), 25);
        assert_eq!(mds_entry(1, 0), 20); // circulant: row 1 is row 0 rotated right by one
    }

    #[test]
    fn library_has_the_agreed_interface() {
        let lib = solidity_library();
        assert!(lib.contains("pragma solidity ^0.8.28;"));
        assert!(lib.contains("library PoseidonGoldilocks {"));
        assert!(lib.contains("function hashNoPad(uint256[] memory input) internal pure returns (uint256[4] memory"));
        assert!(lib.contains(
            "function twoToOne(uint256[4] memory l, uint256[4] memory r) internal pure returns (uint256[4] memory"
        ));
    }

    #[test]
    fn yul_defines_the_entry_points_once() {
        let y = poseidon_yul();
        for name in ["poseidon_permute(ptr)", "poseidon_hash_no_pad(in_ptr, n, out_ptr)", "poseidon_two_to_one("] {
            assert_eq!(y.matches(&format!("function {name}")).count(), 1, "{name}");
        }
    }
}
