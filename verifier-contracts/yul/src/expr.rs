//! A tiny straight-line compiler for Goldilocks extension arithmetic into Yul.
//!
//! Values are Yul *expressions* over `mload(<constant address>)` and literals, never Yul variables, so the emitted
//! code cannot hit "stack too deep" however long it is. Each expression carries an upper bound on its magnitude
//! (`bits`: value < 2^bits) so that sums and products are only reduced mod p when the next operation could overflow
//! 256 bits. A value that would be evaluated more than once is first stored ("materialised") in a 32-byte scratch
//! slot; slots are reference counted and reused once no pending expression refers to them, which keeps the memory
//! footprint (and so the memory-expansion gas) small.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

use crate::field::{P, P_HEX, W};

/// Expressions cheaper than this (estimated gas) are recomputed rather than stored when used twice.
const DUP_COST_LIMIT: u32 = 14;

#[derive(Debug)]
struct SlotPool {
    base: u64,
    next: u64,
    free: Vec<u64>,
    high_water: u64,
}

/// A scratch word; returns itself to the pool when the last expression referring to it is dropped.
#[derive(Debug)]
struct Slot {
    addr: u64,
    pool: Rc<RefCell<SlotPool>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.pool.borrow_mut().free.push(self.addr);
    }
}

/// One base-field coordinate: a Yul expression whose value is `< 2^bits` and congruent to the element mod p.
#[derive(Clone, Debug)]
pub(crate) struct Comp {
    expr: String,
    bits: u32,
    /// Rough gas estimate of evaluating `expr`.
    cost: u32,
    deps: Vec<Rc<Slot>>,
}

impl Comp {
    pub(crate) fn lit(v: u64) -> Comp {
        let v = v % P;
        let expr = if v < 1024 { v.to_string() } else { format!("{v:#x}") };
        Comp { expr, bits: 64 - v.leading_zeros(), cost: 3, deps: Vec::new() }
    }

    pub(crate) fn zero() -> Comp {
        Comp::lit(0)
    }

    fn load(addr: u64) -> Comp {
        Comp { expr: format!("mload({addr:#x})"), bits: 64, cost: 6, deps: Vec::new() }
    }

    fn is_zero(&self) -> bool {
        self.expr == "0"
    }

    fn is_one(&self) -> bool {
        self.expr == "1"
    }

    fn combine(op: &str, a: &Comp, b: &Comp, bits: u32, cost: u32) -> Comp {
        let mut deps = a.deps.clone();
        deps.extend(b.deps.iter().cloned());
        Comp { expr: format!("{op}({}, {})", a.expr, b.expr), bits, cost: a.cost + b.cost + cost, deps }
    }

    /// `self mod p` (bits 64).
    fn reduce(&self) -> Comp {
        if self.bits <= 63 {
            return self.clone();
        }
        Comp { expr: format!("mod({}, {P_HEX})", self.expr), bits: 64, cost: self.cost + 8, deps: self.deps.clone() }
    }

    pub(crate) fn add(&self, b: &Comp) -> Comp {
        if self.is_zero() {
            return b.clone();
        }
        if b.is_zero() {
            return self.clone();
        }
        let (a, b) = (self.fit(255), b.fit(255));
        Comp::combine("add", &a, &b, a.bits.max(b.bits) + 1, 3)
    }

    /// Reduces when the value could exceed `max_bits`.
    fn fit(&self, max_bits: u32) -> Comp {
        if self.bits > max_bits {
            self.reduce()
        } else {
            self.clone()
        }
    }

    /// `K - self` for a multiple `K` of p that is at least 2^bits (so no underflow).
    pub(crate) fn neg(&self) -> Comp {
        if self.is_zero() {
            return self.clone();
        }
        let a = self.fit(250);
        let shift = a.bits.max(64) - 63;
        let k = shifted_p_hex(shift);
        Comp { expr: format!("sub({k}, {})", a.expr), bits: 64 + shift, cost: a.cost + 6, deps: a.deps }
    }

    pub(crate) fn sub(&self, b: &Comp) -> Comp {
        if b.is_zero() {
            return self.clone();
        }
        self.add(&b.neg())
    }

    pub(crate) fn mul(&self, b: &Comp) -> Comp {
        if self.is_zero() || b.is_zero() {
            return Comp::zero();
        }
        if self.is_one() {
            return b.clone();
        }
        if b.is_one() {
            return self.clone();
        }
        if self.bits + b.bits > 256 {
            let mut c = Comp::combine("mulmod", self, b, 64, 8);
            c.expr = format!("mulmod({}, {}, {P_HEX})", self.expr, b.expr);
            return c;
        }
        Comp::combine("mul", self, b, self.bits + b.bits, 5)
    }

    fn mul_small(&self, k: u64) -> Comp {
        self.mul(&Comp::lit(k))
    }
}

/// Hex literal of `p · 2^shift`.
fn shifted_p_hex(shift: u32) -> String {
    let small = (P as u128) << (shift % 4);
    format!("{small:#x}{}", "0".repeat((shift / 4) as usize))
}

/// An element of the quadratic extension `c0 + c1·X`, `X² = 7`.
#[derive(Clone, Debug)]
pub(crate) struct Ext(pub(crate) [Comp; 2]);

impl Ext {
    pub(crate) fn zero() -> Ext {
        Ext([Comp::zero(), Comp::zero()])
    }

    pub(crate) fn base(c: Comp) -> Ext {
        Ext([c, Comp::zero()])
    }

    pub(crate) fn lit(v: u64) -> Ext {
        Ext::base(Comp::lit(v))
    }

    pub(crate) fn add(&self, b: &Ext) -> Ext {
        Ext([self.0[0].add(&b.0[0]), self.0[1].add(&b.0[1])])
    }

    pub(crate) fn sub(&self, b: &Ext) -> Ext {
        Ext([self.0[0].sub(&b.0[0]), self.0[1].sub(&b.0[1])])
    }

    /// Multiplication by a base-field coordinate (used once per coordinate, so no materialisation needed for `self`).
    pub(crate) fn scale(&self, s: &Comp) -> Ext {
        Ext([self.0[0].mul(s), self.0[1].mul(s)])
    }

    fn cost(&self) -> u32 {
        self.0[0].cost.max(self.0[1].cost)
    }
}

/// Emits statements and owns the scratch pool.
#[derive(Debug)]
pub(crate) struct Emitter {
    code: String,
    pool: Rc<RefCell<SlotPool>>,
}

impl Emitter {
    pub(crate) fn new(scratch: u64) -> Emitter {
        let pool = SlotPool { base: scratch, next: scratch, free: Vec::new(), high_water: scratch };
        Emitter { code: String::new(), pool: Rc::new(RefCell::new(pool)) }
    }

    fn alloc(&self) -> Rc<Slot> {
        let mut pool = self.pool.borrow_mut();
        let addr = match pool.free.pop() {
            Some(a) => a,
            None => {
                let a = pool.next;
                pool.next += 32;
                pool.high_water = pool.next;
                a
            }
        };
        Rc::new(Slot { addr, pool: self.pool.clone() })
    }

    /// Bytes of scratch memory used so far (from the scratch base).
    pub(crate) fn scratch_bytes(&self) -> u64 {
        let pool = self.pool.borrow();
        pool.high_water - pool.base
    }

    pub(crate) fn load_ext(&self, addr: u64) -> Ext {
        Ext([Comp::load(addr), Comp::load(addr + 32)])
    }

    pub(crate) fn load_base(&self, addr: u64) -> Comp {
        Comp::load(addr)
    }

    /// Stores a coordinate in a scratch slot unless it is already a literal or a single load.
    pub(crate) fn store_comp(&mut self, c: &Comp) -> Comp {
        if c.cost <= 6 {
            return c.clone();
        }
        let slot = self.alloc();
        let value = c.fit(64);
        let _ = writeln!(self.code, "mstore({:#x}, {})", slot.addr, value.expr);
        Comp { expr: format!("mload({:#x})", slot.addr), bits: value.bits.min(64), cost: 6, deps: vec![slot] }
    }

    pub(crate) fn store(&mut self, e: &Ext) -> Ext {
        Ext([self.store_comp(&e.0[0]), self.store_comp(&e.0[1])])
    }

    fn dup_safe(&mut self, e: &Ext) -> Ext {
        if e.cost() > DUP_COST_LIMIT {
            self.store(e)
        } else {
            e.clone()
        }
    }

    /// Extension product (each input coordinate is used twice, so costly inputs are stored first).
    pub(crate) fn mul(&mut self, a: &Ext, b: &Ext) -> Ext {
        let a = self.dup_safe(a);
        let b = self.dup_safe(b);
        let [a0, a1] = &a.0;
        let [b0, b1] = &b.0;
        let c0 = a0.mul(b0).add(&a1.mul(b1).mul_small(W));
        let c1 = a0.mul(b1).add(&a1.mul(b0));
        Ext([c0, c1])
    }

    pub(crate) fn square(&mut self, a: &Ext) -> Ext {
        let a = self.dup_safe(a);
        let [a0, a1] = &a.0;
        let c0 = a0.mul(a0).add(&a1.mul(a1).mul_small(W));
        let c1 = a0.mul(a1).mul_small(2);
        Ext([c0, c1])
    }

    /// Writes `value` (reduced to canonical form) as an extension element at `addr`.
    pub(crate) fn output(&mut self, addr: u64, value: &Ext) {
        for (k, c) in value.0.iter().enumerate() {
            let expr = if c.is_zero() {
                "0".to_string()
            } else if c.bits <= 63 {
                c.expr.clone()
            } else {
                format!("mod({}, {P_HEX})", c.expr)
            };
            let _ = writeln!(self.code, "mstore({:#x}, {expr})", addr + 32 * k as u64);
        }
    }

    pub(crate) fn finish(self) -> String {
        self.code
    }

    /// Stores `c` in a scratch slot unless it already is a plain `mload` of a constant address; returns the
    /// address holding its value (< 2^64).
    fn comp_address(&mut self, c: &Comp) -> (u64, Comp) {
        if let Some(addr) = c.expr.strip_prefix("mload(0x").and_then(|r| r.strip_suffix(')')) {
            if let Ok(a) = u64::from_str_radix(addr, 16) {
                if c.bits <= 64 {
                    return (a, c.clone());
                }
            }
        }
        let slot = self.alloc();
        let value = c.fit(64);
        let _ = writeln!(self.code, "mstore({:#x}, {})", slot.addr, value.expr);
        let addr = slot.addr;
        (addr, Comp { expr: format!("mload({addr:#x})"), bits: 64, cost: 6, deps: vec![slot] })
    }

    /// `x⁷` through the Yul function [`SBOX_FUNCTION`] (which the caller must define once in scope).
    pub(crate) fn sbox_call(&mut self, x: &Ext) -> Ext {
        let (a0, k0) = self.comp_address(&x.0[0]);
        let (a1, k1) = self.comp_address(&x.0[1]);
        let (d0, d1) = (self.alloc(), self.alloc());
        let _ = writeln!(self.code, "{SBOX_NAME}({a0:#x}, {a1:#x}, {:#x}, {:#x})", d0.addr, d1.addr);
        drop((k0, k1));
        let load = |s: Rc<Slot>| Comp { expr: format!("mload({:#x})", s.addr), bits: 64, cost: 6, deps: vec![s] };
        Ext([load(d0), load(d1)])
    }
}

/// Name of the extension-field x⁷ helper used by [`Emitter::sbox_call`].
pub(crate) const SBOX_NAME: &str = "zkr_gate_sbox7";

/// `zkr_gate_sbox7(p0, p1, q0, q1)`: reads `x = (mload(p0), mload(p1))` (coordinates < 2^64) and writes `x⁷`
/// (canonical) to `q0`, `q1`, via x², x³ = x·x², x⁴ = (x²)², x⁷ = x³·x⁴.
pub(crate) fn sbox_function() -> String {
    let p = P_HEX;
    format!(
        "function {SBOX_NAME}(p0, p1, q0, q1) {{
  let a0 := mload(p0) let a1 := mload(p1)
  let b0 := mod(add(mul(a0, a0), mul({W}, mul(a1, a1))), {p}) let b1 := mulmod(add(a0, a0), a1, {p})
  let c0 := mod(add(mul(a0, b0), mul({W}, mul(a1, b1))), {p}) let c1 := mod(add(mul(a0, b1), mul(a1, b0)), {p})
  let e0 := mod(add(mul(b0, b0), mul({W}, mul(b1, b1))), {p}) let e1 := mulmod(add(b0, b0), b1, {p})
  mstore(q0, mod(add(mul(c0, e0), mul({W}, mul(c1, e1))), {p}))
  mstore(q1, mod(add(mul(c0, e1), mul(c1, e0)), {p}))
}}
"
    )
}

/// An element of plonky2's `ExtensionAlgebra<F::Extension, 2>`: `a0 + a1·Y`, `Y² = 7`, coefficients in the extension.
#[derive(Clone, Debug)]
pub(crate) struct Alg(pub(crate) [Ext; 2]);

impl Alg {
    pub(crate) fn add(&self, b: &Alg) -> Alg {
        Alg([self.0[0].add(&b.0[0]), self.0[1].add(&b.0[1])])
    }

    pub(crate) fn sub(&self, b: &Alg) -> Alg {
        Alg([self.0[0].sub(&b.0[0]), self.0[1].sub(&b.0[1])])
    }

    pub(crate) fn from_ext(e: Ext) -> Alg {
        Alg([e, Ext::zero()])
    }

    pub(crate) fn scale_base(&self, s: &Comp) -> Alg {
        Alg([self.0[0].scale(s), self.0[1].scale(s)])
    }
}

impl Emitter {
    pub(crate) fn alg_mul(&mut self, a: &Alg, b: &Alg) -> Alg {
        let a = Alg([self.store(&a.0[0]), self.store(&a.0[1])]);
        let b = Alg([self.store(&b.0[0]), self.store(&b.0[1])]);
        let a1b1 = self.mul(&a.0[1], &b.0[1]);
        let a1b1 = Ext([a1b1.0[0].mul_small(W), a1b1.0[1].mul_small(W)]);
        let c0 = self.mul(&a.0[0], &b.0[0]).add(&a1b1);
        let c1 = self.mul(&a.0[0], &b.0[1]).add(&self.mul(&a.0[1], &b.0[0]));
        Alg([c0, c1])
    }

    /// Multiplies every coefficient of `a` by the extension element `s`.
    pub(crate) fn alg_scale(&mut self, a: &Alg, s: &Ext) -> Alg {
        let s = self.store(s);
        Alg([self.mul(&a.0[0], &s), self.mul(&a.0[1], &s)])
    }

    pub(crate) fn store_alg(&mut self, a: &Alg) -> Alg {
        Alg([self.store(&a.0[0]), self.store(&a.0[1])])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_p_is_p_times_power_of_two() {
        assert_eq!(shifted_p_hex(0), "0xffffffff00000001");
        assert_eq!(shifted_p_hex(1), "0x1fffffffe00000002");
        assert_eq!(shifted_p_hex(4), "0xffffffff000000010");
        assert_eq!(shifted_p_hex(5), "0x1fffffffe000000020");
    }

    #[test]
    fn negation_bound_covers_operand() {
        let a = Comp::load(0).mul(&Comp::load(32)); // < 2^128
        let n = a.neg();
        // K = p·2^65 > 2^128 > a, so K - a never underflows, and the result stays below K < 2^129.
        assert_eq!(n.bits, 129);
        assert!(n.expr.starts_with("sub(0x1fffffffe00000002"));
    }

    #[test]
    fn oversized_products_use_mulmod() {
        let big = Comp::load(0).mul(&Comp::load(32)).mul(&Comp::load(64)); // 192 bits
        let c = big.mul(&big);
        assert!(c.expr.starts_with("mulmod("));
        assert_eq!(c.bits, 64);
    }

    #[test]
    fn slots_are_reused_after_drop() {
        let mut e = Emitter::new(0x1000);
        let x = e.load_ext(0);
        let s1 = e.store(&x.add(&x));
        drop(s1);
        let _s2 = e.store(&x.add(&x));
        assert_eq!(e.scratch_bytes(), 64);
    }
}
