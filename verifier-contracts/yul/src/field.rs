//! Goldilocks base-field and quadratic-extension arithmetic as Yul functions.
//!
//! Base elements are canonical words `< p`; extension elements are pairs `(c0, c1)` meaning `c0 + c1·X` with
//! `X² = 7` (plonky2's `QuadraticExtension<GoldilocksField>`). Products of two canonical words fit in 128 bits, so
//! the extension product sums them in 256-bit words and reduces once (`mod`) instead of using `mulmod`/`addmod` per
//! term.

use std::fmt::Write as _;

/// The Goldilocks modulus `p = 2^64 - 2^32 + 1`.
pub const P: u64 = 0xFFFF_FFFF_0000_0001;

/// `p` as a Yul hex literal.
pub const P_HEX: &str = "0xffffffff00000001";

/// plonky2's extension non-residue `W` (`X² = W`).
pub const W: u64 = 7;

/// Yul function definitions for Goldilocks arithmetic, to paste inside a Yul object's code or an `assembly {}` block:
/// `gadd gsub gmul gneg ginv gpow` (base field) and `eadd esub emul escalar einv esquare` (quadratic extension).
/// All inputs must be canonical (`< p`); all outputs are canonical. `ginv(0)` and `einv(0, 0)` revert.
pub fn yul_functions() -> String {
    let p = P_HEX;
    let mut s = String::new();
    // Base field.
    let _ = writeln!(s, "function gadd(a, b) -> c {{ c := addmod(a, b, {p}) }}");
    // `sub(p, b)` is in (0, p], which `addmod` accepts.
    let _ = writeln!(s, "function gsub(a, b) -> c {{ c := addmod(a, sub({p}, b), {p}) }}");
    let _ = writeln!(s, "function gmul(a, b) -> c {{ c := mulmod(a, b, {p}) }}");
    let _ = writeln!(s, "function gneg(a) -> c {{ c := mod(sub({p}, a), {p}) }}");
    let _ = writeln!(
        s,
        "function gpow(a, e) -> c {{ c := 1 for {{}} e {{}} {{ if and(e, 1) {{ c := mulmod(c, a, {p}) }} \
         a := mulmod(a, a, {p}) e := shr(1, e) }} }}"
    );
    s.push_str(&ginv_function());
    // Extension field.
    let _ = writeln!(
        s,
        "function eadd(a0, a1, b0, b1) -> c0, c1 {{ c0 := addmod(a0, b0, {p}) c1 := addmod(a1, b1, {p}) }}"
    );
    let _ = writeln!(
        s,
        "function esub(a0, a1, b0, b1) -> c0, c1 {{ c0 := addmod(a0, sub({p}, b0), {p}) \
         c1 := addmod(a1, sub({p}, b1), {p}) }}"
    );
    let _ = writeln!(
        s,
        "function emul(a0, a1, b0, b1) -> c0, c1 {{ c0 := mod(add(mul(a0, b0), mul({W}, mul(a1, b1))), {p}) \
         c1 := mod(add(mul(a0, b1), mul(a1, b0)), {p}) }}"
    );
    let _ =
        writeln!(s, "function escalar(a0, a1, s) -> c0, c1 {{ c0 := mulmod(a0, s, {p}) c1 := mulmod(a1, s, {p}) }}");
    let _ = writeln!(
        s,
        "function esquare(a0, a1) -> c0, c1 {{ c0 := mod(add(mul(a0, a0), mul({W}, mul(a1, a1))), {p}) \
         c1 := mulmod(add(a0, a0), a1, {p}) }}"
    );
    // (a0 + a1·X)⁻¹ = (a0 - a1·X) / (a0² - W·a1²); the norm is zero only for a = 0 because W is a non-residue.
    let _ = writeln!(
        s,
        "function einv(a0, a1) -> c0, c1 {{ let n := ginv(addmod(mulmod(a0, a0, {p}), sub({p}, mulmod({W}, \
         mulmod(a1, a1, {p}), {p})), {p})) c0 := mulmod(a0, n, {p}) c1 := mulmod(sub({p}, a1), n, {p}) }}"
    );
    s
}

/// `ginv(a) = a^(p-2)` by a fixed addition chain (64 squarings, 9 multiplications), reverting on zero.
fn ginv_function() -> String {
    let p = P_HEX;
    let mut s = String::from("function ginv(a) -> c {\n");
    let _ = writeln!(s, "  if iszero(mod(a, {p})) {{ revert(0, 0) }}");
    // t_k holds a^(2^k - 1).
    let sq = |s: &mut String, var: &str, n: usize| {
        for _ in 0..n {
            let _ = writeln!(s, "  {var} := mulmod({var}, {var}, {p})");
        }
    };
    let _ = writeln!(s, "  let t2 := mulmod(a, a, {p})");
    let _ = writeln!(s, "  t2 := mulmod(t2, a, {p})");
    let _ = writeln!(s, "  let t4 := t2");
    sq(&mut s, "t4", 2);
    let _ = writeln!(s, "  t4 := mulmod(t4, t2, {p})");
    let _ = writeln!(s, "  let t8 := t4");
    sq(&mut s, "t8", 4);
    let _ = writeln!(s, "  t8 := mulmod(t8, t4, {p})");
    let _ = writeln!(s, "  let t := t8");
    sq(&mut s, "t", 8);
    let _ = writeln!(s, "  t := mulmod(t, t8, {p})"); // 2^16 - 1
    sq(&mut s, "t", 8);
    let _ = writeln!(s, "  t := mulmod(t, t8, {p})"); // 2^24 - 1
    sq(&mut s, "t", 4);
    let _ = writeln!(s, "  t := mulmod(t, t4, {p})"); // 2^28 - 1
    sq(&mut s, "t", 2);
    let _ = writeln!(s, "  t := mulmod(t, t2, {p})"); // 2^30 - 1
    sq(&mut s, "t", 1);
    let _ = writeln!(s, "  t := mulmod(t, a, {p})"); // 2^31 - 1
    let _ = writeln!(s, "  let t32 := mulmod(t, t, {p})");
    let _ = writeln!(s, "  t32 := mulmod(t32, a, {p})"); // 2^32 - 1
                                                         // (2^31 - 1)·2^33 + 2^32 - 1 = 2^64 - 2^32 - 1 = p - 2.
    sq(&mut s, "t", 33);
    let _ = writeln!(s, "  c := mulmod(t, t32, {p})");
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defines_every_agreed_function_once() {
        let y = yul_functions();
        for name in
            ["gadd", "gsub", "gmul", "gneg", "ginv", "gpow", "eadd", "esub", "emul", "escalar", "einv", "esquare"]
        {
            assert_eq!(y.matches(&format!("function {name}(")).count(), 1, "{name}");
        }
    }

    #[test]
    fn inverse_chain_computes_a_to_the_p_minus_2() {
        // Interprets the generated chain on exponents of `a`: `x := mulmod(y, z, p)` adds exponents.
        use std::collections::HashMap;
        let mut exp: HashMap<String, u128> = HashMap::from([("a".to_string(), 1)]);
        for line in ginv_function().lines().map(str::trim) {
            let Some((lhs, rhs)) = line.split_once(":=") else { continue };
            let lhs = lhs.trim().trim_start_matches("let ").trim().to_string();
            let rhs = rhs.trim();
            let value = if let Some(args) = rhs.strip_prefix("mulmod(") {
                let mut it = args.split(',').map(str::trim);
                let (y, z) = (it.next().unwrap(), it.next().unwrap());
                exp[y] + exp[z]
            } else {
                exp[rhs]
            };
            exp.insert(lhs, value);
        }
        assert_eq!(exp["c"], (P - 2) as u128);
    }
}
