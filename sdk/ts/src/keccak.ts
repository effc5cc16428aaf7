// Keccak-256 (the Ethereum hash: Keccak with the original 0x01 padding, not SHA3-256's 0x06). Used for ABI function
// selectors, event topics and custom-error selectors; plain BigInt lanes (speed is not a concern for these).

const MASK = (1n << 64n) - 1n;
const RATE = 136; // bytes, for a 256-bit output

const ROUND_CONSTANTS: bigint[] = (() => {
  // the LFSR of FIPS 202, algorithm 5
  const out: bigint[] = [];
  let r = 1;
  const rc = (): number => {
    const bit = r & 1;
    r = r & 0x80 ? ((r << 1) ^ 0x71) & 0xff : (r << 1) & 0xff;
    return bit;
  };
  for (let round = 0; round < 24; round++) {
    let c = 0n;
    for (let j = 0; j < 7; j++) {
      if (rc()) c |= 1n << BigInt((1 << j) - 1);
    }
    out.push(c);
  }
  return out;
})();

// rotation offsets and the π permutation, in the usual lane order x + 5y
const ROTATIONS: number[] = (() => {
  const rot = new Array<number>(25).fill(0);
  let [x, y] = [1, 0];
  for (let t = 0; t < 24; t++) {
    rot[x + 5 * y] = (((t + 1) * (t + 2)) / 2) % 64;
    [x, y] = [y, (2 * x + 3 * y) % 5];
  }
  return rot;
})();

function rotl(v: bigint, n: number): bigint {
  if (n === 0) return v;
  const k = BigInt(n);
  return ((v << k) | (v >> (64n - k))) & MASK;
}

function permute(s: bigint[]): void {
  for (let round = 0; round < 24; round++) {
    const c = [0, 1, 2, 3, 4].map((x) => s[x]! ^ s[x + 5]! ^ s[x + 10]! ^ s[x + 15]! ^ s[x + 20]!);
    for (let x = 0; x < 5; x++) {
      const d = c[(x + 4) % 5]! ^ rotl(c[(x + 1) % 5]!, 1);
      for (let y = 0; y < 25; y += 5) s[x + y] = s[x + y]! ^ d;
    }
    const b = new Array<bigint>(25).fill(0n);
    for (let x = 0; x < 5; x++) {
      for (let y = 0; y < 5; y++) {
        b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(s[x + 5 * y]!, ROTATIONS[x + 5 * y]!);
      }
    }
    for (let y = 0; y < 25; y += 5) {
      for (let x = 0; x < 5; x++) {
        s[x + y] = b[x + y]! ^ (~b[((x + 1) % 5) + y]! & MASK & b[((x + 2) % 5) + y]!);
      }
    }
    s[0] = s[0]! ^ ROUND_CONSTANTS[round]!;
  }
}

/** Keccak-256 of `data` (32 bytes). */
export function keccak256(data: Uint8Array | string): Uint8Array {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const padded = new Uint8Array(Math.floor(bytes.length / RATE) * RATE + RATE);
  padded.set(bytes);
  padded[bytes.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  const s = new Array<bigint>(25).fill(0n);
  for (let off = 0; off < padded.length; off += RATE) {
    for (let i = 0; i < RATE / 8; i++) {
      let lane = 0n;
      for (let j = 7; j >= 0; j--) lane = (lane << 8n) | BigInt(padded[off + 8 * i + j]!);
      s[i] = s[i]! ^ lane;
    }
    permute(s);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 4; i++) {
    let lane = s[i]!;
    for (let j = 0; j < 8; j++) {
      out[8 * i + j] = Number(lane & 0xffn);
      lane >>= 8n;
    }
  }
  return out;
}
