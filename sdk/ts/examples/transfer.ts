// Signs a transfer with the SDK, submits it through a sequencer's HTTP API and follows it until it is final.
//
//   npm run build --prefix sdk/ts
//   node sdk/ts/dist/examples/transfer.js API_URL KEY_FILE_OR_HEX FROM TO AMOUNT_ETH
//
// e.g. against a devnet, with demo account 3's key (`zkr wallet new --demo-account 3 --out demo3.key`):
//   node sdk/ts/dist/examples/transfer.js http://127.0.0.1:50080 demo3.key 3 5 0.0001
//
// What it does goes to stderr; the last line on stdout is one JSON object: the hash, each stage seen, the final
// status, and the time to sign and to verify a signature here (ms).

import { existsSync, readFileSync } from "node:fs";

import {
  ApiError,
  SecretKey,
  type Transfer,
  ZkrClient,
  bytesEqual,
  checkSpend,
  formatUnits,
  fromHex,
  parseUnits,
  signTx,
  signedTxToBytes,
  txHashHex,
  txId,
  verifySignedTx,
  verifyAccountResponse,
} from "../src/index.js";

function msPer(n: number, f: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - t0) / n;
}

async function main(): Promise<void> {
  const [url, keyArg, fromArg, toArg, amountEth] = process.argv.slice(2);
  if (url === undefined || keyArg === undefined || fromArg === undefined || toArg === undefined || amountEth === undefined) {
    throw new Error("usage: transfer.js API_URL KEY_FILE_OR_HEX FROM TO AMOUNT_ETH");
  }
  const keyHex = existsSync(keyArg) ? readFileSync(keyArg, "utf8").trim() : keyArg;
  const sk = SecretKey.fromBytes(fromHex(keyHex));
  const [from, to] = [Number(fromArg), Number(toArg)];
  const api = new ZkrClient(url);

  const info = await api.info();
  console.error(`sequencer: chain ${info.domain.chainId}, rollup ${info.domain.rollupId}, minimum fee ${info.minFee}`);
  // the sender's account, its Merkle proof checked against the root the answer names
  const view = await api.account(from);
  const { account } = verifyAccountResponse(from, view);
  if (account === null) throw new Error(`account ${from} does not exist`);
  if (!bytesEqual(account.pubkey.toBytes(), sk.publicKey().toBytes())) {
    throw new Error(`account ${from} belongs to another key`);
  }
  console.error(`account ${from}: ${formatUnits(account.balance, 9)} ETH, nonce ${account.nonce}`);

  const tx: Transfer = {
    kind: "transfer",
    from,
    to,
    amount: parseUnits(amountEth, 9),
    fee: info.minFee,
    nonce: account.nonce,
  };
  const refusal = checkSpend(tx, { senderBalance: account.balance, minFee: info.minFee });
  if (refusal !== null) throw new Error(refusal.message);

  const signed = signTx(tx, sk, info.domain);
  verifySignedTx(signed, sk.publicKey(), info.domain);
  // per operation, after the first use built the generator table
  const signMs = msPer(10, () => signTx(tx, sk, info.domain));
  const verifyMs = msPer(10, () => verifySignedTx(signed, sk.publicKey(), info.domain));
  console.error(`sign ${signMs.toFixed(2)} ms, verify ${verifyMs.toFixed(2)} ms`);

  const submitted = await api.submit(signedTxToBytes(signed));
  if (submitted.hash !== txHashHex(txId(tx))) throw new Error(`the sequencer reports hash ${submitted.hash}`);
  console.error(`accepted: ${submitted.hash} (${submitted.status.stage})`);
  const stages: string[] = [];
  const final = await api.follow(submitted.hash, {
    onStatus: (s) => {
      stages.push(s.stage);
      console.error(`  ${s.stage}${s.batch === null ? "" : ` (batch ${s.batch})`}`);
    },
  });
  console.log(JSON.stringify({ hash: submitted.hash, stages, final, signMs, verifyMs }));
  if (final.stage !== "finalized") process.exitCode = 1;
}

main().catch((e: unknown) => {
  // a refusal carries the sequencer's reason: `nonce too low: account 3 expects 1, got 0 (nonce_too_low)`
  console.error(e instanceof ApiError ? `refused (HTTP ${e.status}): ${e.message}` : e);
  process.exitCode = 1;
});
