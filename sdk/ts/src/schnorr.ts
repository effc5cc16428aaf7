// Schnorr signatures over EcGFp5 with a Poseidon challenge, as circuits/ecgfp5/src/schnorr.rs:
//   e = Poseidon(encode(R) ‖ w_pk ‖ msg) (4 elements), E = Σ e_i 2^(64 i), s = k − E·x mod n,
// with the nonce k derived deterministically from the secret key and the message; verification recomputes
// R' = s·G + E·X and compares challenges. Public keys are w (40 bytes), signatures (e, s) (72 bytes).

import { randomBytes, readU64Le, u64ToLe } from "./bytes.js";
import { Point } from "./curve.js";
import * as E from "./ext5.js";
import type { Fp5 } from "./ext5.js";
import { P } from "./field.js";
import { type Digest, hashNoPad } from "./poseidon.js";
import { N, SCALAR_BYTES, scalarFromBytesUnchecked, scalarFromWideBytes, scalarToBytes } from "./scalar.js";

/** Length of a public key's encoding. */
export const PUBLIC_KEY_BYTES = 40;
/** Length of a secret key's encoding. */
export const SECRET_KEY_BYTES = SCALAR_BYTES;
/** Length of a signature's encoding. */
export const SIGNATURE_BYTES = 72;

/** "nonce_v1": the first input element of the nonce derivation. */
const NONCE_TAG = 0x6e6f_6e63_655f_7631n;

/** Why a key or signature was refused; `message` is the Rust `SchnorrError`'s text. */
export type SchnorrErrorKind =
  | { kind: "WrongLength"; what: string; expected: number; got: number }
  | { kind: "NonCanonicalField"; what: string; index: number }
  | { kind: "ScalarOutOfRange" }
  | { kind: "InvalidPoint" }
  | { kind: "NeutralPublicKey" }
  | { kind: "ZeroSecretKey" }
  | { kind: "BadSignature" };

function schnorrMessage(e: SchnorrErrorKind): string {
  switch (e.kind) {
    case "WrongLength":
      return `${e.what}: wrong length ${e.got}, expected ${e.expected}`;
    case "NonCanonicalField":
      return `${e.what}: field element ${e.index} is not canonical`;
    case "ScalarOutOfRange":
      return "scalar is not lower than the group order";
    case "InvalidPoint":
      return "public key does not decode to a curve point";
    case "NeutralPublicKey":
      return "public key is the neutral element";
    case "ZeroSecretKey":
      return "secret key is zero";
    case "BadSignature":
      return "bad signature";
  }
}

export class SchnorrError extends Error {
  readonly detail: SchnorrErrorKind;
  constructor(detail: SchnorrErrorKind) {
    super(schnorrMessage(detail));
    this.name = "SchnorrError";
    this.detail = detail;
  }
}

/** Reads `n` canonical little-endian u64 field elements. */
function readFields(what: string, bytes: Uint8Array, n: number): bigint[] {
  if (bytes.length !== 8 * n) {
    throw new SchnorrError({ kind: "WrongLength", what, expected: 8 * n, got: bytes.length });
  }
  const out: bigint[] = [];
  for (let index = 0; index < n; index++) {
    const v = readU64Le(bytes, 8 * index);
    if (v >= P) throw new SchnorrError({ kind: "NonCanonicalField", what, index });
    out.push(v);
  }
  return out;
}

function checkMessage(msg: Digest): void {
  if (msg.length !== 4 || msg.some((v) => typeof v !== "bigint" || v < 0n || v >= P)) {
    throw new RangeError("message must be a digest of 4 canonical Goldilocks elements");
  }
}

/** The challenge `Poseidon(encode(R) ‖ w ‖ msg)` (14 elements in, 4 out). */
export function challenge(rEnc: Fp5, pk: PublicKey, msg: Digest): Digest {
  return hashNoPad([...rEnc, ...pk.w, ...msg]);
}

/** The challenge integer `Σ e_i 2^(64 i)` (below 2^256 < n). */
export function challengeScalar(e: Digest): bigint {
  return e[0] | (e[1] << 64n) | (e[2] << 128n) | (e[3] << 192n);
}

/** A public key: the encoding w of `x·G` (not necessarily a valid point unless built by a strict decoder). */
export class PublicKey {
  readonly w: Fp5;
  #point: Point | undefined;

  private constructor(w: Fp5) {
    this.w = w;
  }

  /** From the 5 coefficients of w (not validated beyond being canonical; see {@link PublicKey.point}). */
  static fromFields(fields: readonly bigint[]): PublicKey {
    if (fields.length !== 5 || fields.some((v) => typeof v !== "bigint" || v < 0n || v >= P)) {
      throw new RangeError("public key needs 5 canonical Goldilocks elements");
    }
    return new PublicKey([fields[0]!, fields[1]!, fields[2]!, fields[3]!, fields[4]!]);
  }

  /** The public key of a point (its encoding). */
  static fromPoint(p: Point): PublicKey {
    const pk = new PublicKey(p.encode());
    if (!p.isNeutral()) pk.#point = p;
    return pk;
  }

  /** Strict decoding: 40 bytes, canonical coefficients, w decodes to a group element that is not the neutral. */
  static fromBytes(bytes: Uint8Array): PublicKey {
    const pk = PublicKey.fromCanonicalBytes(bytes);
    pk.point();
    return pk;
  }

  /**
   * Checks only the length and the canonical coefficients (a deposit's key may be any canonical w: the L1
   * queue accepts it, and an unusable key is refunded).
   */
  static fromCanonicalBytes(bytes: Uint8Array): PublicKey {
    return new PublicKey(readFields("public key", bytes, 5) as unknown as Fp5);
  }

  /** 5 canonical little-endian u64 (40 bytes). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(PUBLIC_KEY_BYTES);
    this.w.forEach((c, i) => out.set(u64ToLe(c), 8 * i));
    return out;
  }

  /** The 5 coefficients of w. */
  toFields(): bigint[] {
    return [...this.w];
  }

  /** The decoded group element; throws `NeutralPublicKey` or `InvalidPoint`. */
  point(): Point {
    if (this.#point !== undefined) return this.#point;
    if (E.isZero(this.w)) throw new SchnorrError({ kind: "NeutralPublicKey" });
    const p = Point.decode(this.w);
    if (p === undefined) throw new SchnorrError({ kind: "InvalidPoint" });
    this.#point = p;
    return p;
  }

  /** Whether w decodes to a non-neutral element (a key someone can sign with). */
  isUsable(): boolean {
    try {
      this.point();
      return true;
    } catch {
      return false;
    }
  }

  equals(other: PublicKey): boolean {
    return E.eq(this.w, other.w);
  }

  /** Verifies `sig` on `msg`; throws a {@link SchnorrError} (`BadSignature`, or why the key is unusable). */
  verify(msg: Digest, sig: Signature): void {
    checkMessage(msg);
    const x = this.point();
    const r = Point.mulGen(sig.s).add(x.mul(challengeScalar(sig.e)));
    const e2 = challenge(r.encode(), this, msg);
    if (e2[0] !== sig.e[0] || e2[1] !== sig.e[1] || e2[2] !== sig.e[2] || e2[3] !== sig.e[3]) {
      throw new SchnorrError({ kind: "BadSignature" });
    }
  }

  /** Like {@link PublicKey.verify}, as a boolean. */
  isValidSignature(msg: Digest, sig: Signature): boolean {
    try {
      this.verify(msg, sig);
      return true;
    } catch (e) {
      if (e instanceof SchnorrError) return false;
      throw e;
    }
  }
}

/** A signature in challenge form (e, s). */
export class Signature {
  readonly e: Digest;
  readonly s: bigint;

  constructor(e: Digest, s: bigint) {
    if (e.length !== 4 || e.some((v) => typeof v !== "bigint" || v < 0n || v >= P)) {
      throw new RangeError("signature challenge needs 4 canonical Goldilocks elements");
    }
    if (typeof s !== "bigint" || s < 0n || s >= N) throw new RangeError("signature response is not in 0..n");
    this.e = [e[0], e[1], e[2], e[3]];
    this.s = s;
  }

  /** e as 4 canonical little-endian u64, then s as 40 little-endian bytes. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(SIGNATURE_BYTES);
    this.e.forEach((c, i) => out.set(u64ToLe(c), 8 * i));
    out.set(scalarToBytes(this.s), 32);
    return out;
  }

  /** Strict decoding: 72 bytes, `e_i < p`, `s < n`. */
  static fromBytes(bytes: Uint8Array): Signature {
    if (bytes.length !== SIGNATURE_BYTES) {
      throw new SchnorrError({ kind: "WrongLength", what: "signature", expected: SIGNATURE_BYTES, got: bytes.length });
    }
    const e = readFields("signature challenge", bytes.subarray(0, 32), 4);
    const s = scalarFromBytesUnchecked(bytes.subarray(32));
    if (s === undefined) throw new SchnorrError({ kind: "ScalarOutOfRange" });
    return new Signature([e[0]!, e[1]!, e[2]!, e[3]!], s);
  }

  equals(other: Signature): boolean {
    return this.s === other.s && this.e.every((v, i) => v === other.e[i]);
  }
}

/** A secret key: a nonzero scalar. Signing is deterministic (the same as the Rust code's, bit for bit). */
export class SecretKey {
  readonly #x: bigint;
  #pk: PublicKey | undefined;

  private constructor(x: bigint) {
    this.#x = x;
  }

  /** Wraps a scalar in `1..n` (`ZeroSecretKey` for zero). */
  static fromScalar(x: bigint): SecretKey {
    if (typeof x !== "bigint" || x < 0n || x >= N) throw new SchnorrError({ kind: "ScalarOutOfRange" });
    if (x === 0n) throw new SchnorrError({ kind: "ZeroSecretKey" });
    return new SecretKey(x);
  }

  /** A uniformly random key: 64 bytes of `crypto.getRandomValues` reduced modulo n (as `SecretKey::random`). */
  static random(): SecretKey {
    for (;;) {
      const s = scalarFromWideBytes(randomBytes(64));
      if (s !== 0n) return new SecretKey(s);
    }
  }

  /** Strict decoding: 40 bytes, little-endian, below n, nonzero. */
  static fromBytes(bytes: Uint8Array): SecretKey {
    if (bytes.length !== SECRET_KEY_BYTES) {
      throw new SchnorrError({ kind: "WrongLength", what: "secret key", expected: SECRET_KEY_BYTES, got: bytes.length });
    }
    const s = scalarFromBytesUnchecked(bytes);
    if (s === undefined) throw new SchnorrError({ kind: "ScalarOutOfRange" });
    return SecretKey.fromScalar(s);
  }

  /** 40-byte little-endian encoding (keep it secret). */
  toBytes(): Uint8Array {
    return scalarToBytes(this.#x);
  }

  /** The secret scalar (keep it secret). */
  scalar(): bigint {
    return this.#x;
  }

  /** The public key `encode(x·G)` (computed once). */
  publicKey(): PublicKey {
    if (this.#pk === undefined) this.#pk = PublicKey.fromPoint(Point.mulGen(this.#x));
    return this.#pk;
  }

  /**
   * The deterministic nonce: Poseidon over (tag, counter, the key's ten 32-bit limbs, msg), twice per counter,
   * gives h_0..h_7; `k = Σ h_i p^i mod n`, the counter bumped while k is zero.
   */
  #nonce(msg: Digest): bigint {
    const limbs: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      const l = (this.#x >> BigInt(64 * i)) & 0xffff_ffff_ffff_ffffn;
      limbs.push(l & 0xffff_ffffn, l >> 32n);
    }
    for (let counter = 0n; ; counter++) {
      const h: bigint[] = [];
      for (let half = 0n; half < 2n; half++) {
        h.push(...hashNoPad([NONCE_TAG, 2n * counter + half, ...limbs, ...msg]));
      }
      let k = 0n;
      for (let i = h.length - 1; i >= 0; i--) k = (k * P + h[i]!) % N;
      if (k !== 0n) return k;
    }
  }

  /** Signs a message digest. */
  sign(msg: Digest): Signature {
    checkMessage(msg);
    const pk = this.publicKey();
    const k = this.#nonce(msg);
    const r = Point.mulGen(k);
    const e = challenge(r.encode(), pk, msg);
    let s = (k - challengeScalar(e) * this.#x) % N;
    if (s < 0n) s += N;
    return new Signature(e, s);
  }
}
