//! `BitGate`: several independent bit operations per row, each `inputs → outputs` with one constraint per output.
//!
//! - `Parity(n)`: `out = in_1 ⊕ … ⊕ in_n`, constrained as `2·out − 1 + Π(1 − 2·in_i) = 0` (degree `n`): with boolean
//!   inputs `Π(1 − 2·in_i) = (−1)^(Σ in_i)`, so `out` is forced to the parity, itself a bit.
//! - `ThetaChi`: Keccak's θ application and χ along one row of five bits. Inputs `a_0..a_4` (the row's bits before θ,
//!   after ρ and π moved them) and `d_0..d_4` (the θ column parity each of them takes); with `p_x = a_x ⊕ d_x`, the
//!   outputs are `out_x = p_x ⊕ (¬p_{x+1} ∧ p_{x+2})` (indices mod 5). Each is constrained as
//!   `2·out_x − 1 + s_x·(1 − 2·(1 − p_{x+1})·p_{x+2}) = 0` with `s_x = (1 − 2a_x)(1 − 2d_x) = 1 − 2p_x` and
//!   `p = a + d − 2ad` (degree 6).
//!
//! Neither operation checks that its inputs are bits: every input is a bit by construction (the output of another
//! operation, a constant, or a wire `split_le` range-checked), and each constraint then forces its output to the bit
//! the operation defines. An operation takes `inputs + outputs` routed wires, so a row holds
//! `num_routed_wires / (inputs + outputs)` of them (26 XORs, 13 five-input parities, 5 θχ rows with plonky2's
//! standard recursion config). Unused operations of a row are all-zero wires, which satisfy every constraint.

use core::marker::PhantomData;

use plonky2::field::extension::Extendable;
use plonky2::field::types::Field;
use plonky2::gates::gate::Gate;
use plonky2::gates::util::StridedConstraintConsumer;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CommonCircuitData};
use plonky2::plonk::vars::{EvaluationTargets, EvaluationVars, EvaluationVarsBase};
use plonky2::util::serialization::{Buffer, IoError, IoResult, Read, Write};

/// The operation of a [`BitGate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    /// XOR of `n ≥ 2` bits.
    Parity(usize),
    /// θ application and χ on one row of five bits (see the module documentation).
    ThetaChi,
}

impl BitOp {
    pub fn inputs(self) -> usize {
        match self {
            BitOp::Parity(n) => n,
            BitOp::ThetaChi => 10,
        }
    }

    pub fn outputs(self) -> usize {
        match self {
            BitOp::Parity(_) => 1,
            BitOp::ThetaChi => 5,
        }
    }

    fn degree(self) -> usize {
        match self {
            BitOp::Parity(n) => n,
            BitOp::ThetaChi => 6,
        }
    }

    /// The operation on bits (for witness generation).
    pub fn apply(self, ins: &[bool]) -> Vec<bool> {
        match self {
            BitOp::Parity(_) => vec![ins.iter().fold(false, |acc, b| acc ^ b)],
            BitOp::ThetaChi => {
                let p: Vec<bool> = (0..5).map(|x| ins[x] ^ ins[5 + x]).collect();
                (0..5).map(|x| p[x] ^ (!p[(x + 1) % 5] & p[(x + 2) % 5])).collect()
            }
        }
    }

    /// The constraints on `(ins, outs)`, all zero exactly when `outs` are the operation's values on boolean `ins`.
    pub(crate) fn constraints<V: Copy, A: Alg<V>>(self, a: &mut A, ins: &[V], outs: &[V]) -> Vec<V> {
        // 1 − 2x
        let sign = |a: &mut A, x: V| {
            let two_x = a.scale(2, x);
            let one = a.constant(1);
            a.sub(one, two_x)
        };
        // 2·out − 1 + prod
        let close = |a: &mut A, out: V, prod: V| {
            let two_out = a.scale(2, out);
            let one = a.constant(1);
            let l = a.sub(two_out, one);
            a.add(l, prod)
        };
        match self {
            BitOp::Parity(_) => {
                let mut p = sign(a, ins[0]);
                for &x in &ins[1..] {
                    let s = sign(a, x);
                    p = a.mul(p, s);
                }
                vec![close(a, outs[0], p)]
            }
            BitOp::ThetaChi => {
                let mut p = Vec::with_capacity(5);
                let mut s = Vec::with_capacity(5);
                for x in 0..5 {
                    let (ax, dx) = (ins[x], ins[5 + x]);
                    let sa = sign(a, ax);
                    let sd = sign(a, dx);
                    s.push(a.mul(sa, sd));
                    // a + d − 2ad
                    let ad = a.mul(ax, dx);
                    let sum = a.add(ax, dx);
                    let two_ad = a.scale(2, ad);
                    p.push(a.sub(sum, two_ad));
                }
                (0..5)
                    .map(|x| {
                        let (p1, p2) = (p[(x + 1) % 5], p[(x + 2) % 5]);
                        // (1 − p1)·p2
                        let p1p2 = a.mul(p1, p2);
                        let t = a.sub(p2, p1p2);
                        let st = sign(a, t);
                        let prod = a.mul(s[x], st);
                        close(a, outs[x], prod)
                    })
                    .collect()
            }
        }
    }

    fn code(self) -> usize {
        match self {
            BitOp::Parity(n) => n,
            BitOp::ThetaChi => 0,
        }
    }

    fn from_code(c: usize) -> Option<Self> {
        match c {
            0 => Some(BitOp::ThetaChi),
            2..=8 => Some(BitOp::Parity(c)),
            _ => None,
        }
    }
}

/// The minimal algebra of the constraints, over base values, extension values or extension targets.
pub(crate) trait Alg<V: Copy> {
    fn add(&mut self, a: V, b: V) -> V;
    fn sub(&mut self, a: V, b: V) -> V;
    fn mul(&mut self, a: V, b: V) -> V;
    fn scale(&mut self, c: u64, a: V) -> V;
    fn constant(&mut self, c: u64) -> V;
}

pub(crate) struct FieldAlg<T>(pub(crate) PhantomData<T>);

impl<T: Field> Alg<T> for FieldAlg<T> {
    fn add(&mut self, a: T, b: T) -> T {
        a + b
    }
    fn sub(&mut self, a: T, b: T) -> T {
        a - b
    }
    fn mul(&mut self, a: T, b: T) -> T {
        a * b
    }
    fn scale(&mut self, c: u64, a: T) -> T {
        a * T::from_canonical_u64(c)
    }
    fn constant(&mut self, c: u64) -> T {
        T::from_canonical_u64(c)
    }
}

struct CircuitAlg<'a, F: RichField + Extendable<D>, const D: usize>(&'a mut CircuitBuilder<F, D>);

impl<F: RichField + Extendable<D>, const D: usize> Alg<ExtensionTarget<D>> for CircuitAlg<'_, F, D> {
    fn add(&mut self, a: ExtensionTarget<D>, b: ExtensionTarget<D>) -> ExtensionTarget<D> {
        self.0.add_extension(a, b)
    }
    fn sub(&mut self, a: ExtensionTarget<D>, b: ExtensionTarget<D>) -> ExtensionTarget<D> {
        self.0.sub_extension(a, b)
    }
    fn mul(&mut self, a: ExtensionTarget<D>, b: ExtensionTarget<D>) -> ExtensionTarget<D> {
        self.0.mul_extension(a, b)
    }
    fn scale(&mut self, c: u64, a: ExtensionTarget<D>) -> ExtensionTarget<D> {
        self.0.mul_const_extension(F::from_canonical_u64(c), a)
    }
    fn constant(&mut self, c: u64) -> ExtensionTarget<D> {
        self.0.constant_extension(F::Extension::from_canonical_u64(c))
    }
}

/// `num_ops` operations `op` per row (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitGate {
    pub op: BitOp,
    pub num_ops: usize,
}

impl BitGate {
    /// As many operations as the config's routed wires hold.
    pub fn new(op: BitOp, config: &CircuitConfig) -> Self {
        Self { op, num_ops: config.num_routed_wires / (op.inputs() + op.outputs()) }
    }

    fn stride(&self) -> usize {
        self.op.inputs() + self.op.outputs()
    }

    /// Wire of input `k` of operation `i`.
    pub fn wire_in(&self, i: usize, k: usize) -> usize {
        i * self.stride() + k
    }

    /// Wire of output `k` of operation `i`.
    pub fn wire_out(&self, i: usize, k: usize) -> usize {
        i * self.stride() + self.op.inputs() + k
    }

    fn constraints<V: Copy, A: Alg<V>>(&self, a: &mut A, w: &[V]) -> Vec<V> {
        let (n, m) = (self.op.inputs(), self.op.outputs());
        (0..self.num_ops)
            .flat_map(|i| {
                let s = i * self.stride();
                self.op.constraints(a, &w[s..s + n], &w[s + n..s + n + m])
            })
            .collect()
    }
}

impl<F: RichField + Extendable<D>, const D: usize> Gate<F, D> for BitGate {
    fn id(&self) -> String {
        format!("{self:?}")
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.op.code())?;
        dst.write_usize(self.num_ops)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let op = BitOp::from_code(src.read_usize()?).ok_or(IoError)?;
        Ok(Self { op, num_ops: src.read_usize()? })
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<F, D>) -> Vec<F::Extension> {
        self.constraints(&mut FieldAlg::<F::Extension>(PhantomData), vars.local_wires)
    }

    fn eval_unfiltered_base_one(&self, vars: EvaluationVarsBase<F>, mut yield_constr: StridedConstraintConsumer<F>) {
        let n = self.num_ops * self.stride();
        let wires: Vec<F> = (0..n).map(|i| vars.local_wires[i]).collect();
        yield_constr.many(self.constraints(&mut FieldAlg::<F>(PhantomData), &wires));
    }

    fn eval_unfiltered_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: EvaluationTargets<D>,
    ) -> Vec<ExtensionTarget<D>> {
        self.constraints(&mut CircuitAlg(builder), vars.local_wires)
    }

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        (0..self.num_ops)
            .map(|i| WitnessGeneratorRef::new(BitGenerator::<F, D> { gate: *self, row, i, _f: PhantomData }.adapter()))
            .collect()
    }

    fn num_wires(&self) -> usize {
        self.num_ops * self.stride()
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        self.op.degree()
    }

    fn num_constraints(&self) -> usize {
        self.num_ops * self.op.outputs()
    }

    fn num_ops(&self) -> usize {
        self.num_ops
    }
}

/// Computes the outputs of one operation from its inputs.
#[derive(Debug)]
pub struct BitGenerator<F: RichField + Extendable<D>, const D: usize> {
    gate: BitGate,
    row: usize,
    i: usize,
    _f: PhantomData<F>,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for BitGenerator<F, D> {
    fn id(&self) -> String {
        "ZkrKeccakBitGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        (0..self.gate.op.inputs()).map(|k| Target::wire(self.row, self.gate.wire_in(self.i, k))).collect()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out_buffer: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        let ins: Vec<bool> = self.dependencies().into_iter().map(|t| witness.get_target(t) == F::ONE).collect();
        for (k, out) in self.gate.op.apply(&ins).into_iter().enumerate() {
            out_buffer.set_target(Target::wire(self.row, self.gate.wire_out(self.i, k)), F::from_bool(out))?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.gate.op.code())?;
        dst.write_usize(self.gate.num_ops)?;
        dst.write_usize(self.row)?;
        dst.write_usize(self.i)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let op = BitOp::from_code(src.read_usize()?).ok_or(IoError)?;
        let num_ops = src.read_usize()?;
        Ok(Self { gate: BitGate { op, num_ops }, row: src.read_usize()?, i: src.read_usize()?, _f: PhantomData })
    }
}

#[cfg(test)]
mod tests {
    use plonky2::field::goldilocks_field::GoldilocksField as F;

    use super::*;

    /// Every input combination: the operation's outputs satisfy its constraints, and every other output pattern
    /// (any non-empty set of flipped bits) leaves a constraint non-zero.
    #[test]
    fn constraints_hold_exactly_for_the_right_outputs() {
        for op in [BitOp::Parity(2), BitOp::Parity(3), BitOp::Parity(5), BitOp::ThetaChi] {
            let (n, m) = (op.inputs(), op.outputs());
            for combo in 0..(1u32 << n) {
                let ins: Vec<bool> = (0..n).map(|k| (combo >> k) & 1 == 1).collect();
                let right = op.apply(&ins);
                let fins: Vec<F> = ins.iter().map(|&b| F::from_bool(b)).collect();
                for flips in 0..(1u32 << m) {
                    let outs: Vec<F> =
                        right.iter().enumerate().map(|(k, &b)| F::from_bool(b ^ ((flips >> k) & 1 == 1))).collect();
                    let cons = op.constraints(&mut FieldAlg::<F>(PhantomData), &fins, &outs);
                    assert_eq!(cons.len(), m);
                    let zero = cons.iter().all(|c| *c == F::ZERO);
                    assert_eq!(zero, flips == 0, "{op:?} on {ins:?} with flips {flips:#b}");
                }
            }
        }
    }
}
