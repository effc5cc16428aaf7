//! `BitGate`: several independent one-bit operations per row, each `inputs → out` with one constraint.
//!
//! - `Parity(n)`: `out = in_1 ⊕ … ⊕ in_n`, constrained as `2·out − 1 + Π(1 − 2·in_i) = 0` (degree `n`): with boolean
//!   inputs `Π(1 − 2·in_i) = (−1)^(Σ in_i)`, so `out` is forced to the parity, itself a bit.
//! - `Chi`: `out = a ⊕ (¬b ∧ c)`, constrained as `2·out − 1 + (1 − 2a)(1 − 2c + 2bc) = 0` (degree 3): `(1 − b)·c` is
//!   the bit `¬b ∧ c`, and the parity identity above does the rest.
//!
//! Neither constraint checks that its inputs are bits: every input of these gates is a bit by construction (the
//! output of another such operation, a constant, or a wire `split_le` range-checked), and each constraint then forces
//! its output to be the bit the operation defines. Each operation takes `inputs + 1` routed wires, so a row holds
//! `num_routed_wires / (inputs + 1)` of them (26 XORs, 20 three-input parities or χ steps, 13 five-input parities
//! with plonky2's standard recursion config). Unused operations of a row are all-zero wires, which satisfy both
//! constraints.

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
    /// Keccak's χ step on one bit: `a ⊕ (¬b ∧ c)`.
    Chi,
}

impl BitOp {
    pub fn inputs(self) -> usize {
        match self {
            BitOp::Parity(n) => n,
            BitOp::Chi => 3,
        }
    }

    fn degree(self) -> usize {
        self.inputs()
    }

    /// The operation on bits (for witness generation).
    pub fn apply(self, ins: &[bool]) -> bool {
        match self {
            BitOp::Parity(_) => ins.iter().fold(false, |acc, b| acc ^ b),
            BitOp::Chi => ins[0] ^ (!ins[1] & ins[2]),
        }
    }

    /// The constraint on `(ins, out)`, zero exactly when `out` is the operation's value on boolean `ins`.
    fn constraint<V: Copy, A: Alg<V>>(self, a: &mut A, ins: &[V], out: V) -> V {
        // 1 − 2x
        let sign = |a: &mut A, x: V| {
            let two_x = a.scale(2, x);
            let one = a.constant(1);
            a.sub(one, two_x)
        };
        let prod = match self {
            BitOp::Parity(_) => {
                let mut p = sign(a, ins[0]);
                for &x in &ins[1..] {
                    let s = sign(a, x);
                    p = a.mul(p, s);
                }
                p
            }
            BitOp::Chi => {
                // 1 − 2·(1 − b)·c = 1 − 2c + 2bc
                let bc = a.mul(ins[1], ins[2]);
                let t = a.sub(ins[2], bc);
                let st = sign(a, t);
                let sa = sign(a, ins[0]);
                a.mul(sa, st)
            }
        };
        let two_out = a.scale(2, out);
        let one = a.constant(1);
        let l = a.sub(two_out, one);
        a.add(l, prod)
    }

    fn code(self) -> usize {
        match self {
            BitOp::Parity(n) => n,
            BitOp::Chi => 0,
        }
    }

    fn from_code(c: usize) -> Option<Self> {
        match c {
            0 => Some(BitOp::Chi),
            2..=8 => Some(BitOp::Parity(c)),
            _ => None,
        }
    }
}

/// The minimal algebra of the constraints, over base values, extension values or extension targets.
trait Alg<V: Copy> {
    fn add(&mut self, a: V, b: V) -> V;
    fn sub(&mut self, a: V, b: V) -> V;
    fn mul(&mut self, a: V, b: V) -> V;
    fn scale(&mut self, c: u64, a: V) -> V;
    fn constant(&mut self, c: u64) -> V;
}

struct FieldAlg<T>(PhantomData<T>);

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
        Self { op, num_ops: config.num_routed_wires / (op.inputs() + 1) }
    }

    fn stride(&self) -> usize {
        self.op.inputs() + 1
    }

    /// Wire of input `k` of operation `i`.
    pub fn wire_in(&self, i: usize, k: usize) -> usize {
        i * self.stride() + k
    }

    /// Wire of the output of operation `i`.
    pub fn wire_out(&self, i: usize) -> usize {
        i * self.stride() + self.op.inputs()
    }

    fn constraints<V: Copy, A: Alg<V>>(&self, a: &mut A, w: &[V]) -> Vec<V> {
        (0..self.num_ops)
            .map(|i| {
                let s = i * self.stride();
                self.op.constraint(a, &w[s..s + self.op.inputs()], w[self.wire_out(i)])
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
        self.num_ops
    }

    fn num_ops(&self) -> usize {
        self.num_ops
    }
}

/// Computes the output of one operation from its inputs.
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
        let out = self.gate.op.apply(&ins);
        out_buffer.set_target(Target::wire(self.row, self.gate.wire_out(self.i)), F::from_bool(out))
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
