// Byte helpers: hex, little-endian integers, concatenation. No Node APIs (browser-safe).

const HEX_DIGITS = "0123456789abcdef";

/** Lower-case hex of `bytes`, without a prefix. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!;
  }
  return out;
}

/** Bytes of a hex string (an optional `0x` prefix, an even number of hex digits). */
export function fromHex(hex: string): Uint8Array {
  const s = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new TypeError(`invalid hex string: ${JSON.stringify(hex.length > 80 ? hex.slice(0, 80) + "…" : hex)}`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** Concatenation of byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Whether two byte arrays are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Checks that `v` is an integer in `0..2^32` (a `u32`). */
export function assertU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new RangeError(`${what} must be an integer in 0..2^32, got ${String(v)}`);
  }
  return v;
}

/** Checks that `v` is a bigint in `0..2^64` (a `u64`). */
export function assertU64(v: bigint, what: string): bigint {
  if (typeof v !== "bigint" || v < 0n || v > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError(`${what} must be a bigint in 0..2^64, got ${String(v)}`);
  }
  return v;
}

/** `v` as 4 little-endian bytes. */
export function u32ToLe(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v, true);
  return out;
}

/** `v` as 8 little-endian bytes. */
export function u64ToLe(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, true);
  return out;
}

/** The little-endian u32 at `off`. */
export function readU32Le(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}

/** The little-endian u64 at `off`. */
export function readU64Le(b: Uint8Array, off: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true);
}

/** The non-negative integer of little-endian `bytes`. */
export function bytesToBigIntLe(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** `v` as exactly `len` little-endian bytes (it must fit). */
export function bigIntToBytesLe(v: bigint, len: number): Uint8Array {
  if (v < 0n || v >> BigInt(8 * len) !== 0n) {
    throw new RangeError(`integer does not fit in ${len} bytes`);
  }
  const out = new Uint8Array(len);
  let x = v;
  for (let i = 0; i < len; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** Cryptographically secure random bytes (`globalThis.crypto.getRandomValues`: Node ≥ 20 and browsers). */
export function randomBytes(len: number): Uint8Array {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c === undefined || typeof c.getRandomValues !== "function") {
    throw new Error("no secure random source: globalThis.crypto.getRandomValues is unavailable");
  }
  const out = new Uint8Array(len);
  c.getRandomValues(out);
  return out;
}
