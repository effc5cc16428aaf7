// The Goldilocks field GF(p), p = 2^64 - 2^32 + 1, with elements as canonical bigints in 0..p.

/** The Goldilocks prime. */
export const P = 0xffff_ffff_0000_0001n;

/** A field element: a bigint in `0..P` (functions here assume canonical inputs). */
export type Fp = bigint;

/** Whether `v` is a canonical element (a bigint in `0..P`). */
export function isCanonical(v: bigint): boolean {
  return v >= 0n && v < P;
}

/** Reduces any integer (negative too) modulo p. */
export function reduce(v: bigint): Fp {
  const r = v % P;
  return r < 0n ? r + P : r;
}

/** Builds an element from a u64 that may be `>= p` (plonky2's `from_noncanonical_u64`). */
export function fromNoncanonicalU64(v: bigint): Fp {
  return v >= P ? v - P : v;
}

export function add(a: Fp, b: Fp): Fp {
  const s = a + b;
  return s >= P ? s - P : s;
}

export function sub(a: Fp, b: Fp): Fp {
  return a >= b ? a - b : a - b + P;
}

export function neg(a: Fp): Fp {
  return a === 0n ? 0n : P - a;
}

export function mul(a: Fp, b: Fp): Fp {
  return (a * b) % P;
}

export function square(a: Fp): Fp {
  return (a * a) % P;
}

/** `a^e` for any non-negative integer `e`. */
export function pow(a: Fp, e: bigint): Fp {
  let result = 1n;
  let base = a;
  let x = e;
  while (x > 0n) {
    if (x & 1n) result = (result * base) % P;
    base = (base * base) % P;
    x >>= 1n;
  }
  return result;
}

/** Multiplicative inverse; throws on zero. */
export function inv(a: Fp): Fp {
  if (a === 0n) throw new RangeError("inverse of zero in GF(p)");
  return pow(a, P - 2n);
}

/** Legendre symbol: 0 for zero, 1 for a nonzero square, -1 otherwise. */
export function legendre(a: Fp): -1 | 0 | 1 {
  if (a === 0n) return 0;
  return pow(a, (P - 1n) / 2n) === 1n ? 1 : -1;
}

// p - 1 = 2^32 * (2^32 - 1); 7 generates the multiplicative group.
const TWO_ADICITY = 32n;
const ODD_PART = 0xffff_ffffn;
const ROOT_OF_UNITY = pow(7n, ODD_PART);

/** A square root of `a`, or `undefined` if `a` is not a square (Tonelli–Shanks). */
export function sqrt(a: Fp): Fp | undefined {
  if (a === 0n) return 0n;
  if (legendre(a) !== 1) return undefined;
  let m = TWO_ADICITY;
  let c = ROOT_OF_UNITY;
  let t = pow(a, ODD_PART);
  let r = pow(a, (ODD_PART + 1n) / 2n);
  while (t !== 1n) {
    let i = 0n;
    let t2 = t;
    while (t2 !== 1n) {
      t2 = (t2 * t2) % P;
      i++;
    }
    let b = c;
    for (let j = 0n; j < m - i - 1n; j++) b = (b * b) % P;
    m = i;
    c = (b * b) % P;
    t = (t * c) % P;
    r = (r * b) % P;
  }
  return r;
}
