// Re-exports for the tools, plus a random digest.
import { P } from "../src/field.js";
import { randomBytes } from "../src/bytes.js";
import type { Digest } from "../src/index.js";

export * from "../src/index.js";

/** Four uniformly random canonical elements (rejection sampling). */
export function randomDigest(): Digest {
  const out: bigint[] = [];
  while (out.length < 4) {
    const b = randomBytes(8);
    const v = new DataView(b.buffer).getBigUint64(0, true);
    if (v < P) out.push(v);
  }
  return [out[0]!, out[1]!, out[2]!, out[3]!];
}
