// The example page's script: plain JavaScript importing the compiled SDK (npm run build --prefix sdk/ts), no bundler.
//
// URL parameters (all optional): api (the sequencer's HTTP API, default http://127.0.0.1:50080), key (a secret key in
// hex), from, to, amount (ETH). For automation: auto=1 runs show-account and send on load; report=URL receives the
// outcome as JSON (POST) at the end; hold=URL is an image the page loads until then, so that a headless browser that
// captures the page when it has loaded captures the outcome.

import {
  SecretKey,
  ZkrClient,
  bytesEqual,
  checkSpend,
  formatUnits,
  fromHex,
  hashNoPad,
  parseUnits,
  signTx,
  toHex,
  verifyAccountResponse,
  verifySignedTx,
} from "../../dist/src/index.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let hold;
if (params.get("hold")) {
  hold = document.createElement("img");
  hold.alt = "";
  hold.width = hold.height = 1;
  hold.src = params.get("hold");
  document.body.append(hold);
}

$("api").value = params.get("api") ?? "http://127.0.0.1:50080";
$("key").value = params.get("key") ?? "";
$("from").value = params.get("from") ?? "";
$("to").value = params.get("to") ?? "";
$("amount").value = params.get("amount") ?? "0.0001";

const outcome = { accepted: false, stages: [] };
const client = () => new ZkrClient($("api").value);
const msPer = (n, f) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - t0) / n;
};

function secretKey() {
  const hex = $("key").value.trim();
  if (!hex) throw new Error("no key: create one or paste one");
  return SecretKey.fromBytes(fromHex(hex));
}

function showKey() {
  const sk = secretKey();
  const pk = sk.publicKey();
  $("pubkey").textContent = "0x" + toHex(pk.toBytes());
  // sign and verify a Poseidon digest, as a transfer does (the first use builds the generator table)
  const msg = hashNoPad([1n, 2n, 3n]);
  pk.verify(msg, sk.sign(msg));
  const signMs = msPer(10, () => sk.sign(msg));
  const sig = sk.sign(msg);
  const verifyMs = msPer(10, () => pk.verify(msg, sig));
  $("signms").textContent = `${signMs.toFixed(2)} ms`;
  $("verifyms").textContent = `${verifyMs.toFixed(2)} ms`;
  Object.assign(outcome, { signMs, verifyMs });
}

async function showInfo() {
  const info = await client().info();
  $("domain").textContent = `chain ${info.domain.chainId}, rollup ${info.domain.rollupId}`;
  $("minfee").textContent = `${info.minFee} gwei`;
  return info;
}

async function showAccount() {
  const id = Number($("from").value);
  const view = await client().account(id);
  const { account } = verifyAccountResponse(id, view); // throws if the proof does not hold
  if (account === null) throw new Error(`account ${id} does not exist`);
  $("balance").textContent = `${formatUnits(account.balance, 9)} ETH (${account.balance} gwei)`;
  $("nonce").textContent = String(account.nonce);
  $("proof").textContent = `${view.siblings.length} siblings checked up to root 0x${toHex(view.root).slice(0, 16)}…`;
  outcome.balanceBefore = account.balance.toString();
  return account;
}

async function send() {
  const sk = secretKey();
  const info = await showInfo();
  const account = await showAccount();
  if (!bytesEqual(account.pubkey.toBytes(), sk.publicKey().toBytes())) {
    throw new Error(`account ${$("from").value} belongs to another key`);
  }
  const tx = {
    kind: "transfer",
    from: Number($("from").value),
    to: Number($("to").value),
    amount: parseUnits($("amount").value, 9),
    fee: info.minFee,
    nonce: account.nonce,
  };
  const refusal = checkSpend(tx, { senderBalance: account.balance, minFee: info.minFee });
  if (refusal) throw new Error(refusal.message);
  const signed = signTx(tx, sk, info.domain);
  verifySignedTx(signed, sk.publicKey(), info.domain);
  const submitted = await client().submit(signed);
  outcome.accepted = true;
  outcome.hash = submitted.hash;
  $("hash").textContent = submitted.hash;
  result(`accepted (${submitted.status.stage}); waiting for L1 finality …`, "ok");
  const final = await client().follow(submitted.hash, {
    onStatus: (s) => {
      outcome.stages.push(s.stage);
      const li = document.createElement("li");
      li.textContent = s.stage + (s.batch === null ? "" : ` (batch ${s.batch})`);
      $("stages").append(li);
    },
  });
  outcome.final = final.stage;
  result(final.stage === "finalized" ? "finalized on L1" : `${final.stage}: ${final.reason}`, final.stage === "finalized" ? "ok" : "err");
}

function result(text, cls) {
  $("result").textContent = text;
  $("result").className = cls;
}

async function run(f) {
  try {
    await f();
  } catch (e) {
    outcome.error = String(e.message ?? e);
    result(outcome.error, "err");
  }
}

$("newkey").onclick = () => run(async () => {
  $("key").value = toHex(SecretKey.random().toBytes());
  showKey();
});
$("key").onchange = () => run(async () => showKey());
$("load").onclick = () => run(async () => { await showInfo(); await showAccount(); });
$("send").onclick = () => run(send);

if (params.get("auto") === "1") {
  await run(async () => {
    // a fresh key, made here, to show what creating one costs; the transfer is signed with the given key
    const fresh = SecretKey.random();
    outcome.freshKey = "0x" + toHex(fresh.publicKey().toBytes());
    showKey();
    await send();
  });
  if (params.get("report")) {
    await fetch(params.get("report"), { method: "POST", body: JSON.stringify(outcome) }).catch(() => undefined);
  }
} else {
  run(showInfo);
}
