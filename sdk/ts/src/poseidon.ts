// Poseidon over Goldilocks as plonky2 1.1.0's `PoseidonHash` computes it: width 12, rate 8, x^7 S-box,
// 4 + 22 + 4 rounds, overwrite-mode sponge without padding, 4-element digests.

import { readU64Le, toHex, u64ToLe } from "./bytes.js";
import { P, isCanonical } from "./field.js";
import { MDS_CIRC, MDS_DIAG, ROUND_CONSTANTS } from "./poseidon_constants.js";

/** Width of the permutation. */
export const WIDTH = 12;
/** Elements absorbed per permutation. */
export const RATE = 8;
/** Elements of a digest. */
export const DIGEST_LEN = 4;

const HALF_FULL_ROUNDS = 4;
const PARTIAL_ROUNDS = 22;

/** A Poseidon digest: 4 canonical Goldilocks elements. */
export type Digest = readonly [bigint, bigint, bigint, bigint];

/** The all-zero digest (an empty Merkle leaf). */
export const ZERO_DIGEST: Digest = [0n, 0n, 0n, 0n];

const RC: bigint[] = ROUND_CONSTANTS.map((c) => c % P);
const CIRC: bigint[] = [...MDS_CIRC];
const DIAG: bigint[] = [...MDS_DIAG];

function sbox(x: bigint): bigint {
  const x2 = (x * x) % P;
  const x4 = (x2 * x2) % P;
  const x3 = (x * x2) % P;
  return (x3 * x4) % P;
}

function mdsLayer(s: bigint[]): bigint[] {
  const out = new Array<bigint>(WIDTH);
  for (let r = 0; r < WIDTH; r++) {
    let acc = DIAG[r]! * s[r]!;
    for (let i = 0; i < WIDTH; i++) acc += s[(i + r) % WIDTH]! * CIRC[i]!;
    out[r] = acc % P;
  }
  return out;
}

function addConstants(s: bigint[], round: number): void {
  const off = WIDTH * round;
  for (let i = 0; i < WIDTH; i++) {
    const v = s[i]! + RC[off + i]!;
    s[i] = v >= P ? v - P : v;
  }
}

/** The Poseidon permutation of a 12-element state (canonical elements in, canonical out). */
export function permute(input: readonly bigint[]): bigint[] {
  if (input.length !== WIDTH) throw new RangeError(`Poseidon state has ${WIDTH} elements, got ${input.length}`);
  let s = [...input];
  let round = 0;
  for (let i = 0; i < HALF_FULL_ROUNDS; i++, round++) {
    addConstants(s, round);
    for (let j = 0; j < WIDTH; j++) s[j] = sbox(s[j]!);
    s = mdsLayer(s);
  }
  for (let i = 0; i < PARTIAL_ROUNDS; i++, round++) {
    addConstants(s, round);
    s[0] = sbox(s[0]!);
    s = mdsLayer(s);
  }
  for (let i = 0; i < HALF_FULL_ROUNDS; i++, round++) {
    addConstants(s, round);
    for (let j = 0; j < WIDTH; j++) s[j] = sbox(s[j]!);
    s = mdsLayer(s);
  }
  return s;
}

function checkInputs(inputs: readonly bigint[]): void {
  for (let i = 0; i < inputs.length; i++) {
    const v = inputs[i];
    if (typeof v !== "bigint" || !isCanonical(v)) {
      throw new RangeError(`Poseidon input ${i} is not a canonical Goldilocks element: ${String(v)}`);
    }
  }
}

/** plonky2's `hash_n_to_m_no_pad`: absorb in chunks of 8 (overwriting), squeeze `numOutputs` elements. */
export function hashNToMNoPad(inputs: readonly bigint[], numOutputs: number): bigint[] {
  if (!Number.isInteger(numOutputs) || numOutputs < 1) throw new RangeError("numOutputs must be a positive integer");
  checkInputs(inputs);
  let state: bigint[] = new Array<bigint>(WIDTH).fill(0n);
  for (let off = 0; off < inputs.length; off += RATE) {
    const chunk = inputs.slice(off, off + RATE);
    for (let i = 0; i < chunk.length; i++) state[i] = chunk[i]!;
    state = permute(state);
  }
  const out: bigint[] = [];
  for (;;) {
    for (let i = 0; i < RATE; i++) {
      out.push(state[i]!);
      if (out.length === numOutputs) return out;
    }
    state = permute(state);
  }
}

/** `PoseidonHash::hash_no_pad` (zkr's `config::hash`). An empty input hashes to the zero digest. */
export function hashNoPad(inputs: readonly bigint[]): Digest {
  const o = hashNToMNoPad(inputs, DIGEST_LEN);
  return [o[0]!, o[1]!, o[2]!, o[3]!];
}

/** `PoseidonHash::two_to_one` (zkr's `config::hash_pair`, Merkle nodes): one permutation of left ‖ right ‖ 0. */
export function twoToOne(left: Digest, right: Digest): Digest {
  checkInputs(left);
  checkInputs(right);
  const s = permute([...left, ...right, 0n, 0n, 0n, 0n]);
  return [s[0]!, s[1]!, s[2]!, s[3]!];
}

/** `PoseidonHash::hash_or_noop`: up to 4 elements are the digest themselves (zero-padded), more are hashed. */
export function hashOrNoop(inputs: readonly bigint[]): Digest {
  if (inputs.length <= DIGEST_LEN) {
    checkInputs(inputs);
    const d = [0n, 0n, 0n, 0n];
    inputs.forEach((v, i) => (d[i] = v));
    return [d[0]!, d[1]!, d[2]!, d[3]!];
  }
  return hashNoPad(inputs);
}

/** Whether two digests are equal. */
export function digestEq(a: Digest, b: Digest): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** The 32-byte wire form of a digest (4 × u64 little-endian), as the wallet API sends hashes and roots. */
export function digestToBytes(d: Digest): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 4; i++) out.set(u64ToLe(d[i]!), 8 * i);
  return out;
}

/** The inverse of {@link digestToBytes}; throws unless 32 bytes of 4 canonical elements. */
export function digestFromBytes(b: Uint8Array): Digest {
  if (b.length !== 32) throw new RangeError(`digest must be 32 bytes, got ${b.length}`);
  const e = [0, 1, 2, 3].map((i) => readU64Le(b, 8 * i));
  e.forEach((v, i) => {
    if (v >= P) throw new RangeError(`digest element ${i} is not canonical`);
  });
  return [e[0]!, e[1]!, e[2]!, e[3]!];
}

/** The digest as zkr's `digest_hex` writes it: each element as 16 hex digits (big-endian), element 0 first. */
export function digestToHex(d: Digest): string {
  return d.map((v) => v.toString(16).padStart(16, "0")).join("");
}

/** A transaction hash as the sequencer shows it (`0x` + hex of {@link digestToBytes}). */
export function txHashHex(d: Digest): string {
  return "0x" + toHex(digestToBytes(d));
}
