// Scalars: integers modulo the prime order n of the EcGFp5 group (319 bits), as bigints in 0..n.

import { bigIntToBytesLe, bytesToBigIntLe } from "./bytes.js";

/** The group order n. */
export const N =
  1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241n;

/** Length of a scalar's byte encoding. */
export const SCALAR_BYTES = 40;

/** Bits of n. */
export const SCALAR_BITS = 319;

/** Reduces any integer (negative too) modulo n. */
export function reduceScalar(v: bigint): bigint {
  const r = v % N;
  return r < 0n ? r + N : r;
}

/** 40 little-endian bytes of a canonical scalar. */
export function scalarToBytes(s: bigint): Uint8Array {
  if (s < 0n || s >= N) throw new RangeError("scalar is not in 0..n");
  return bigIntToBytesLe(s, SCALAR_BYTES);
}

/**
 * The scalar of 40 little-endian bytes, or `undefined` when it is not below n. The caller checks the length.
 */
export function scalarFromBytesUnchecked(bytes: Uint8Array): bigint | undefined {
  const v = bytesToBigIntLe(bytes);
  return v < N ? v : undefined;
}

/** Wide reduction of arbitrary little-endian bytes (64 random bytes give a negligible bias). */
export function scalarFromWideBytes(bytes: Uint8Array): bigint {
  return bytesToBigIntLe(bytes) % N;
}
