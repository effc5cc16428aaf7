// The EcGFp5 group (Pornin, ePrint 2022/274), as zkr's Rust code defines it (circuits/ecgfp5/src/curve.rs):
// the double-odd curve y^2 = x (x^2 + a x + b) over GF(p^5), a = 2, b = 263 z, whose non-n-torsion points form
// a group G of prime order n with neutral N = (0, 0). Points are kept in fractional (x, u = x / y) coordinates
// (X : Z : U : T) and added with the complete formulas; the encoding of an element is w = 1 / u.

import * as E from "./ext5.js";
import type { Fp5 } from "./ext5.js";
import * as F from "./field.js";
import { N, reduceScalar } from "./scalar.js";

const P = F.P;

/** Curve constant a = 2. */
export const A: Fp5 = [2n, 0n, 0n, 0n, 0n];
/** Curve constant b = 263 z. */
export const B: Fp5 = [0n, 263n, 0n, 0n, 0n];

/** `b * v` = 263 z v, with z^5 = 3. */
function mulB(v: Fp5): Fp5 {
  return [(789n * v[4]) % P, (263n * v[0]) % P, (263n * v[1]) % P, (263n * v[2]) % P, (263n * v[3]) % P];
}

const HALF = (P + 1n) / 2n;

/** An element of the EcGFp5 group in fractional (x, u) coordinates. Immutable. */
export class Point {
  readonly x: Fp5;
  readonly z: Fp5;
  readonly u: Fp5;
  readonly t: Fp5;

  private constructor(x: Fp5, z: Fp5, u: Fp5, t: Fp5) {
    this.x = x;
    this.z = z;
    this.u = u;
    this.t = t;
  }

  /** The neutral element N, encoded as w = 0. */
  static readonly NEUTRAL = new Point(E.ZERO, E.ONE, E.ZERO, E.ONE);

  /** The conventional generator, the element encoded as w = 4. */
  static readonly GENERATOR = new Point(
    [
      12883135586176881569n,
      4356519642755055268n,
      5248930565894896907n,
      2165973894480315022n,
      2448410071095648785n,
    ],
    E.ONE,
    E.ONE,
    [4n, 0n, 0n, 0n, 0n],
  );

  /** Whether this is the neutral element. */
  isNeutral(): boolean {
    return E.isZero(this.u);
  }

  /** Group equality (projective: `U1 T2 = U2 T1`). */
  equals(other: Point): boolean {
    return E.eq(E.mul(this.u, other.t), E.mul(other.u, this.t));
  }

  /** Complete group addition. */
  add(rhs: Point): Point {
    const { x: x1, z: z1, u: u1, t: tt1 } = this;
    const { x: x2, z: z2, u: u2, t: tt2 } = rhs;
    const t1 = E.mul(x1, x2);
    const t2 = E.mul(z1, z2);
    const t3 = E.mul(u1, u2);
    const t4 = E.mul(tt1, tt2);
    const t5 = E.sub(E.sub(E.mul(E.add(x1, z1), E.add(x2, z2)), t1), t2);
    const t6 = E.sub(E.sub(E.mul(E.add(u1, tt1), E.add(u2, tt2)), t3), t4);
    const bt2 = mulB(t2);
    const t7 = E.add(t1, bt2);
    const t8 = E.mul(t4, t7);
    const t9 = E.mul(t3, E.add(mulB(E.double(t5)), E.double(t7)));
    const t10 = E.mul(E.add(t4, E.double(t3)), E.add(t5, t7));
    return new Point(mulB(E.sub(t10, t8)), E.sub(t8, t9), E.mul(t6, E.sub(bt2, t1)), E.add(t8, t9));
  }

  /** Doubling (equal to `this.add(this)`). */
  double(): Point {
    const t1 = E.mul(this.z, this.t);
    const t2 = E.mul(t1, this.t);
    const x1 = E.square(t2);
    const z1 = E.mul(t1, this.u);
    const t3 = E.square(this.u);
    const w1 = E.sub(t2, E.mul(E.double(E.add(this.x, this.z)), t3));
    const t4 = E.square(z1);
    const zz = E.square(w1);
    const t4x4 = E.mulSmall(t4, 4n);
    return new Point(
      mulB(t4x4),
      zz,
      E.sub(E.sub(E.square(E.add(w1, z1)), t4), zz),
      E.sub(E.sub(E.double(x1), t4x4), zz),
    );
  }

  /** Group negation. */
  neg(): Point {
    return new Point(this.x, this.z, E.neg(this.u), this.t);
  }

  sub(rhs: Point): Point {
    return this.add(rhs.neg());
  }

  /** Multiplication by a non-negative integer (reduced modulo n first). */
  mul(k: bigint): Point {
    if (k < 0n) throw new RangeError("scalar multiplication by a negative integer");
    const s = k < N ? k : reduceScalar(k);
    if (s === 0n) return Point.NEUTRAL;
    // Signed 4-bit windows over a table of 1..8 times this point, most significant window first.
    const table: Point[] = [this, this.double()];
    for (let j = 2; j < 8; j++) table.push(table[j - 1]!.add(this));
    const digits = signedDigits(s);
    let acc = Point.NEUTRAL;
    let started = false;
    for (let i = digits.length - 1; i >= 0; i--) {
      if (started) acc = acc.double().double().double().double();
      const d = digits[i]!;
      if (d !== 0) {
        const q = d > 0 ? table[d - 1]! : table[-d - 1]!.neg();
        acc = started ? acc.add(q) : q;
        started = true;
      }
    }
    return acc;
  }

  /** `k * GENERATOR`, with a precomputed table (built once, on first use). */
  static mulGen(k: bigint): Point {
    if (k < 0n) throw new RangeError("scalar multiplication by a negative integer");
    const s = k < N ? k : reduceScalar(k);
    const table = generatorTable();
    const digits = signedDigits(s, GEN_WINDOWS);
    let acc: Point | undefined;
    for (let i = 0; i < digits.length; i++) {
      const d = digits[i]!;
      if (d === 0) continue;
      const q = d > 0 ? table[i]![d - 1]! : table[i]![-d - 1]!.neg();
      acc = acc === undefined ? q : acc.add(q);
    }
    return acc ?? Point.NEUTRAL;
  }

  /** The canonical encoding w = 1 / u (0 for the neutral). */
  encode(): Fp5 {
    return E.mul(this.t, E.invOrZero(this.u));
  }

  /**
   * Decodes w exactly as the Rust code: `undefined` if w encodes no element; `decode(0)` is the neutral.
   * Callers that need canonical coefficients check them first.
   */
  static decode(w: Fp5): Point | undefined {
    if (E.isZero(w)) return Point.NEUTRAL;
    const e = E.sub(E.square(w), A);
    const delta = E.sub(E.square(e), E.mulSmall(B, 4n));
    const r = E.sqrt(delta);
    if (r === undefined) return undefined;
    const x1 = E.mulBase(E.add(e, r), HALF);
    const x2 = E.mulBase(E.sub(e, r), HALF);
    const x = E.isSquare(x1) ? x2 : x1;
    return new Point(x, E.ONE, E.ONE, w);
  }

  /** Affine (x, u); the neutral is (0, 0). */
  toAffineXU(): [Fp5, Fp5] {
    return [E.mul(this.x, E.invOrZero(this.z)), E.mul(this.u, E.invOrZero(this.t))];
  }

  /** Whether the coordinates satisfy `u^2 (x^2 + a x + b) = x` (true for the neutral). */
  isOnCurve(): boolean {
    if (E.isZero(this.z) || E.isZero(this.t)) return false;
    const [x, u] = this.toAffineXU();
    return E.eq(E.mul(E.square(u), E.add(E.add(E.square(x), E.mul(A, x)), B)), x);
  }
}

/**
 * Signed base-16 digits of `k` (least significant first), each in -7..8, `windows` of them (enough that no carry
 * is left: a 319-bit scalar needs 80).
 */
function signedDigits(k: bigint, windows?: number): number[] {
  const out: number[] = [];
  let x = k;
  let carry = 0;
  while (windows === undefined ? x > 0n || carry !== 0 : out.length < windows) {
    let d = Number(x & 15n) + carry;
    x >>= 4n;
    if (d > 8) {
      d -= 16;
      carry = 1;
    } else {
      carry = 0;
    }
    out.push(d);
  }
  if (x !== 0n || carry !== 0) throw new RangeError("scalar too large for its windows");
  return out;
}

const GEN_WINDOWS = 80;
let GEN_TABLE: Point[][] | undefined;

/** `GEN_TABLE[i][j - 1] = j * 16^i * G` for j = 1..8. */
function generatorTable(): Point[][] {
  if (GEN_TABLE !== undefined) return GEN_TABLE;
  const table: Point[][] = [];
  let base = Point.GENERATOR;
  for (let i = 0; i < GEN_WINDOWS; i++) {
    const row: Point[] = [base];
    for (let j = 1; j < 8; j++) row.push(j === 1 ? base.double() : row[j - 1]!.add(base));
    table.push(row);
    base = row[7]!.double(); // 16 * base
  }
  GEN_TABLE = table;
  return table;
}
