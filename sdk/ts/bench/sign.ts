// Signing and verification speed: `npm run bench --prefix sdk/ts` (prints ms per operation).

import { DEVNET, Point, SecretKey, type Transfer, hashNoPad, signTx, txMessage } from "../src/index.js";

const ROUNDS = Number(process.env["ROUNDS"] ?? 50);

function time(label: string, n: number, f: (i: number) => void): void {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f(i);
  const ms = (performance.now() - t0) / n;
  console.log(`${label.padEnd(44)} ${ms.toFixed(2)} ms`);
}

// First use builds the generator table (once per process).
time("first k·G (builds the generator table)", 1, () => Point.mulGen(123456789n));
const keys = Array.from({ length: ROUNDS }, () => SecretKey.random());
time("key generation + public key", ROUNDS, (i) => keys[i]!.publicKey());
const msgs = Array.from({ length: ROUNDS }, (_, i) => hashNoPad([BigInt(i)]));
const sigs = keys.map((k, i) => k.sign(msgs[i]!));
time("sign (digest)", ROUNDS, (i) => keys[i]!.sign(msgs[i]!));
time("verify", ROUNDS, (i) => keys[i]!.publicKey().verify(msgs[i]!, sigs[i]!));
const tx = (i: number): Transfer => ({ kind: "transfer", from: 1, to: 2, amount: BigInt(i + 1), fee: 1n, nonce: i });
time("sign a transfer (layout, message, signature)", ROUNDS, (i) => signTx(tx(i), keys[i]!, DEVNET));
time("message of a transfer", ROUNDS, (i) => txMessage(tx(i), DEVNET));
