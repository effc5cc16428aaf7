// GF(p^5) = GF(p)[z]/(z^5 - 3): the base field of EcGFp5 (plonky2's QuinticExtension<GoldilocksField>).
// An element is its five canonical coefficients of 1, z, .., z^4.

import * as F from "./field.js";

const P = F.P;

/** An element of GF(p^5): coefficients of 1, z, z^2, z^3, z^4, each canonical. */
export type Fp5 = readonly [bigint, bigint, bigint, bigint, bigint];

export const ZERO: Fp5 = [0n, 0n, 0n, 0n, 0n];
export const ONE: Fp5 = [1n, 0n, 0n, 0n, 0n];

/** The element with coefficients `c` (each reduced modulo p). */
export function fromCoeffs(c: readonly bigint[]): Fp5 {
  if (c.length !== 5) throw new RangeError(`GF(p^5) element needs 5 coefficients, got ${c.length}`);
  return [F.reduce(c[0]!), F.reduce(c[1]!), F.reduce(c[2]!), F.reduce(c[3]!), F.reduce(c[4]!)];
}

/** The base-field element `v` embedded in GF(p^5). */
export function fromBase(v: bigint): Fp5 {
  return [F.reduce(v), 0n, 0n, 0n, 0n];
}

export function isZero(a: Fp5): boolean {
  return a[0] === 0n && a[1] === 0n && a[2] === 0n && a[3] === 0n && a[4] === 0n;
}

export function eq(a: Fp5, b: Fp5): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4];
}

function addc(x: bigint, y: bigint): bigint {
  const s = x + y;
  return s >= P ? s - P : s;
}

function subc(x: bigint, y: bigint): bigint {
  return x >= y ? x - y : x - y + P;
}

export function add(a: Fp5, b: Fp5): Fp5 {
  return [addc(a[0], b[0]), addc(a[1], b[1]), addc(a[2], b[2]), addc(a[3], b[3]), addc(a[4], b[4])];
}

export function sub(a: Fp5, b: Fp5): Fp5 {
  return [subc(a[0], b[0]), subc(a[1], b[1]), subc(a[2], b[2]), subc(a[3], b[3]), subc(a[4], b[4])];
}

export function neg(a: Fp5): Fp5 {
  return [F.neg(a[0]), F.neg(a[1]), F.neg(a[2]), F.neg(a[3]), F.neg(a[4])];
}

export function double(a: Fp5): Fp5 {
  return add(a, a);
}

/** Product, with z^5 = 3: each coefficient is summed unreduced, then reduced once. */
export function mul(a: Fp5, b: Fp5): Fp5 {
  const [a0, a1, a2, a3, a4] = a;
  const [b0, b1, b2, b3, b4] = b;
  return [
    (a0 * b0 + 3n * (a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1)) % P,
    (a0 * b1 + a1 * b0 + 3n * (a2 * b4 + a3 * b3 + a4 * b2)) % P,
    (a0 * b2 + a1 * b1 + a2 * b0 + 3n * (a3 * b4 + a4 * b3)) % P,
    (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + 3n * a4 * b4) % P,
    (a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0) % P,
  ];
}

export function square(a: Fp5): Fp5 {
  const [a0, a1, a2, a3, a4] = a;
  return [
    (a0 * a0 + 6n * (a1 * a4 + a2 * a3)) % P,
    (2n * a0 * a1 + 3n * (2n * a2 * a4 + a3 * a3)) % P,
    (2n * a0 * a2 + a1 * a1 + 6n * a3 * a4) % P,
    (2n * (a0 * a3 + a1 * a2) + 3n * a4 * a4) % P,
    (2n * (a0 * a4 + a1 * a3) + a2 * a2) % P,
  ];
}

/** Product with a small non-negative integer (below 2^32). */
export function mulSmall(a: Fp5, k: bigint): Fp5 {
  return [(a[0] * k) % P, (a[1] * k) % P, (a[2] * k) % P, (a[3] * k) % P, (a[4] * k) % P];
}

/** Product with a base-field element. */
export function mulBase(a: Fp5, k: bigint): Fp5 {
  return mulSmall(a, k);
}

/** `a^e` for a non-negative integer `e`. */
export function pow(a: Fp5, e: bigint): Fp5 {
  let result = ONE;
  let base = a;
  let x = e;
  while (x > 0n) {
    if (x & 1n) result = mul(result, base);
    x >>= 1n;
    if (x > 0n) base = square(base);
  }
  return result;
}

// Frobenius: (Σ a_i z^i)^p = Σ a_i γ^i z^i with γ = z^(p-1) = 3^((p-1)/5).
const GAMMA = F.pow(3n, (P - 1n) / 5n);
const GAMMA_POWERS: readonly bigint[] = [1n, GAMMA, F.mul(GAMMA, GAMMA), F.pow(GAMMA, 3n), F.pow(GAMMA, 4n)];
const GAMMA2_POWERS: readonly bigint[] = GAMMA_POWERS.map((g) => F.mul(g, g));

/** `a^p`. */
export function frobenius(a: Fp5): Fp5 {
  const g = GAMMA_POWERS;
  return [a[0], (a[1] * g[1]!) % P, (a[2] * g[2]!) % P, (a[3] * g[3]!) % P, (a[4] * g[4]!) % P];
}

/** `a^(p^2)`. */
export function frobenius2(a: Fp5): Fp5 {
  const g = GAMMA2_POWERS;
  return [a[0], (a[1] * g[1]!) % P, (a[2] * g[2]!) % P, (a[3] * g[3]!) % P, (a[4] * g[4]!) % P];
}

/** The constant coefficient of `a * b`, for a product known to lie in GF(p). */
function mulToBase(a: Fp5, b: Fp5): bigint {
  return (a[0] * b[0] + 3n * (a[1] * b[4] + a[2] * b[3] + a[3] * b[2] + a[4] * b[1])) % P;
}

/** `a^(p + p^2 + p^3 + p^4)`: with `a` it gives the norm. */
function normComplement(a: Fp5): Fp5 {
  const t0 = frobenius(a);
  const t1 = mul(t0, frobenius(t0));
  return mul(t1, frobenius2(t1));
}

/** The norm of `a` down to GF(p). */
export function norm(a: Fp5): bigint {
  return mulToBase(a, normComplement(a));
}

/** Inverse, or `undefined` for zero. */
export function tryInverse(a: Fp5): Fp5 | undefined {
  if (isZero(a)) return undefined;
  const t = normComplement(a);
  const n = mulToBase(a, t);
  return mulBase(t, F.inv(n));
}

/** Inverse; throws on zero. */
export function inverse(a: Fp5): Fp5 {
  const r = tryInverse(a);
  if (r === undefined) throw new RangeError("inverse of zero in GF(p^5)");
  return r;
}

/** Inverse, with zero mapped to zero. */
export function invOrZero(a: Fp5): Fp5 {
  return tryInverse(a) ?? ZERO;
}

export function div(a: Fp5, b: Fp5): Fp5 {
  return mul(a, inverse(b));
}

/** Legendre symbol in GF(p^5): the base-field symbol of the norm. */
export function legendre(a: Fp5): -1 | 0 | 1 {
  if (isZero(a)) return 0;
  return F.legendre(norm(a)) === 1 ? 1 : -1;
}

/** Whether `a` is a square (zero counts). */
export function isSquare(a: Fp5): boolean {
  return legendre(a) >= 0;
}

/** A square root of `a`, or `undefined` if there is none (which of the two roots is unspecified). */
export function sqrt(a: Fp5): Fp5 | undefined {
  if (isZero(a)) return ZERO;
  // With r = 1 + p + .. + p^4 and e = a^((r-1)/2): a^r = a e^2 lies in GF(p), and sqrt(a) = sqrt(a e^2) / e.
  const d = pow(a, (P + 1n) / 2n);
  const e = frobenius(mul(d, frobenius2(d)));
  const g = mulToBase(a, square(e));
  const s = F.sqrt(g);
  if (s === undefined) return undefined;
  return mulBase(inverse(e), s);
}
