// Writes test/ts-signatures.json: signatures and signed transfers made by the SDK with fresh random keys. The Rust
// test circuits/tests/wallet_vectors.rs verifies every entry when the file exists.
//   npm run ts-signatures --prefix sdk/ts

import { writeFileSync } from "node:fs";

import { DEVNET, type Domain, SecretKey, hashNoPad, randomDigest, signTx, signedTxToBytes, toHex, txMessage } from "./util.js";

const out: object[] = [];
const domains: Domain[] = [DEVNET, { chainId: 1n, rollupId: 7n }, { chainId: (1n << 64n) - 1n, rollupId: 1n << 40n }];
for (let i = 0; i < 6; i++) {
  const sk = SecretKey.random();
  const pk = sk.publicKey();
  const msg = i % 2 === 0 ? randomDigest() : hashNoPad([BigInt(i)]);
  out.push({ secret_key: toHex(sk.toBytes()), public_key: toHex(pk.toBytes()), message: msg.map(String), signature: toHex(sk.sign(msg).toBytes()) });
}
for (let i = 0; i < 6; i++) {
  const sk = SecretKey.random();
  const domain = domains[i % domains.length]!;
  const tx =
    i % 2 === 0
      ? ({ kind: "transfer", from: i, to: i + 1, amount: BigInt(1000 + i), fee: 3n, nonce: i } as const)
      : ({ kind: "withdraw", from: i, l1Address: new Uint8Array(20).fill(i), amount: 5n, fee: 1n, nonce: 0 } as const);
  const stx = signTx(tx, sk, domain);
  out.push({
    public_key: toHex(sk.publicKey().toBytes()),
    message: txMessage(tx, domain).map(String),
    signature: toHex(stx.signature!.toBytes()),
    signed_tx: toHex(signedTxToBytes(stx)),
    domain: { chain_id: domain.chainId.toString(), rollup_id: domain.rollupId.toString() },
  });
}
const path = new URL("../../test/ts-signatures.json", import.meta.url);
writeFileSync(path, JSON.stringify({ about: "Written by sdk/ts/tools/ts-signatures.ts with random keys; verified by circuits/tests/wallet_vectors.rs.", signatures: out }, null, 2) + "\n");
console.log(`wrote ${out.length} signatures to ${path.pathname}`);
