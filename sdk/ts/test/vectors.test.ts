// Every entry of test/vectors.json (written by the Rust test circuits/tests/wallet_vectors.rs) must be
// reproduced by the SDK, byte for byte, and every refusal must carry the Rust message.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import {
  DecodeError,
  type Digest,
  type Domain,
  MerkleProof,
  Point,
  PublicKey,
  SCALAR_ORDER,
  SchnorrError,
  SecretKey,
  Signature,
  SparseMerkleTree,
  type Tx,
  accountLeaf,
  accountLeafFields,
  checkSpend,
  digestFromBytes,
  digestToBytes,
  digestToHex,
  domainToFields,
  emptyHashes,
  ext5,
  field,
  fromHex,
  hashNoPad,
  hashOrNoop,
  l1AddressLimbs,
  leafOf,
  MAX_AMOUNT,
  permute,
  signTx,
  signedTxFromBytes,
  signedTxToBytes,
  toHex,
  twoToOne,
  txFromBytes,
  txId,
  txMessage,
  txToBytes,
  txToFields,
  verifyAccountResponse,
  type Account,
  type Fp5,
  DEVNET,
} from "../src/index.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = any;

const V: J = JSON.parse(readFileSync(new URL("../../test/vectors.json", import.meta.url), "utf8"));

const big = (s: string): bigint => BigInt(s);
const bigs = (a: string[]): bigint[] => a.map(big);
const dig = (a: string[]): Digest => {
  assert.equal(a.length, 4);
  return [big(a[0]!), big(a[1]!), big(a[2]!), big(a[3]!)];
};
const fp5 = (a: string[]): Fp5 => ext5.fromCoeffs(bigs(a));
const hex = (b: Uint8Array): string => toHex(b);

function domainOf(d: J): Domain {
  return { chainId: big(d.chain_id), rollupId: big(d.rollup_id) };
}

function txOf(t: J): Tx {
  switch (t.kind) {
    case "transfer":
      return { kind: "transfer", from: t.from, to: t.to, amount: big(t.amount), fee: big(t.fee), nonce: t.nonce };
    case "withdraw":
      return {
        kind: "withdraw",
        from: t.from,
        l1Address: fromHex(t.l1_address),
        amount: big(t.amount),
        fee: big(t.fee),
        nonce: t.nonce,
      };
    case "deposit":
      return {
        kind: "deposit",
        priorityId: big(t.priority_id),
        to: t.to,
        pubkey: PublicKey.fromCanonicalBytes(fromHex(t.pubkey)),
        amount: big(t.amount),
      };
    case "forced_exit":
      return {
        kind: "forcedExit",
        priorityId: big(t.priority_id),
        account: t.account,
        l1Address: fromHex(t.l1_address),
      };
    default:
      throw new Error(`unknown kind ${t.kind}`);
  }
}

function accountOf(a: J): Account | null {
  if (a === null) return null;
  return { pubkey: PublicKey.fromCanonicalBytes(fromHex(a.pubkey)), balance: big(a.balance), nonce: a.nonce };
}

function proofOf(p: J): MerkleProof {
  return new MerkleProof(p.index, p.siblings.map(dig));
}

/** The message of the error `f` throws, or null if it returns. */
function errorOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof SchnorrError || e instanceof DecodeError) return e.message;
    throw e;
  }
}

const strs = (a: readonly bigint[]): string[] => a.map((v) => v.toString());

describe("vectors: constants", () => {
  it("match", () => {
    assert.equal(big(V.constants.p), field.P);
    assert.equal(big(V.constants.n), SCALAR_ORDER);
    assert.equal(big(V.constants.max_amount), MAX_AMOUNT);
    assert.deepEqual(strs(Point.GENERATOR.encode()), V.constants.generator_w);
    assert.deepEqual(domainOf(V.constants.devnet), DEVNET);
  });
});

describe("vectors: poseidon", () => {
  it("permutation", () => {
    for (const v of V.poseidon.permutation) assert.deepEqual(strs(permute(bigs(v.input))), v.output);
  });
  it("hash_no_pad", () => {
    for (const v of V.poseidon.hash_no_pad) assert.deepEqual(strs(hashNoPad(bigs(v.input))), v.output);
  });
  it("two_to_one", () => {
    for (const v of V.poseidon.two_to_one) assert.deepEqual(strs(twoToOne(dig(v.left), dig(v.right))), v.output);
  });
  it("hash_or_noop", () => {
    for (const v of V.poseidon.hash_or_noop) assert.deepEqual(strs(hashOrNoop(bigs(v.input))), v.output);
  });
});

describe("vectors: GF(p^5)", () => {
  it("arithmetic, inverse, square roots", () => {
    for (const v of V.gfp5) {
      const a = fp5(v.a);
      const b = fp5(v.b);
      assert.deepEqual(strs(ext5.add(a, b)), v.add);
      assert.deepEqual(strs(ext5.sub(a, b)), v.sub);
      assert.deepEqual(strs(ext5.mul(a, b)), v.mul);
      assert.deepEqual(strs(ext5.square(a)), v.square);
      const inv = ext5.tryInverse(a);
      assert.deepEqual(inv === undefined ? null : strs(inv), v.inverse);
      assert.equal(ext5.legendre(a), v.legendre);
      const r = ext5.sqrt(a);
      assert.equal(r !== undefined, v.has_sqrt);
      if (r !== undefined) assert.ok(ext5.eq(ext5.square(r), a));
    }
  });
});

describe("vectors: curve", () => {
  it("k·G", () => {
    for (const v of V.curve.mulgen) {
      const k = big(v.scalar);
      assert.deepEqual(strs(Point.mulGen(k).encode()), v.w);
      assert.deepEqual(strs(Point.GENERATOR.mul(k).encode()), v.w);
    }
  });
  it("addition, doubling, k·P", () => {
    for (const v of V.curve.ops) {
      const p = Point.decode(fp5(v.p))!;
      const q = Point.decode(fp5(v.q))!;
      assert.deepEqual(strs(p.add(q).encode()), v.sum);
      assert.deepEqual(strs(p.double().encode()), v.double);
      assert.deepEqual(strs(p.add(p).encode()), v.double);
      assert.deepEqual(strs(p.mul(big(v.k)).encode()), v.k_p);
    }
  });
  it("decoding", () => {
    for (const v of V.curve.decode) {
      const p = Point.decode(fp5(v.w));
      assert.equal(p !== undefined, v.ok);
      if (p !== undefined) assert.deepEqual(strs(p.encode()), v.w);
    }
  });
});

describe("vectors: keys and signatures", () => {
  it("secret key → public key", () => {
    for (const v of V.keys) {
      const sk = SecretKey.fromBytes(fromHex(v.secret_key));
      assert.equal(sk.scalar(), big(v.scalar));
      assert.equal(hex(sk.toBytes()), v.secret_key);
      assert.equal(hex(sk.publicKey().toBytes()), v.public_key);
      assert.deepEqual(strs(sk.publicKey().toFields()), v.public_key_fields);
      assert.equal(hex(PublicKey.fromBytes(fromHex(v.public_key)).toBytes()), v.public_key);
    }
  });
  it("deterministic signatures equal Rust's", () => {
    for (const v of V.signatures) {
      const sk = SecretKey.fromBytes(fromHex(v.secret_key));
      const msg = dig(v.message);
      const sig = sk.sign(msg);
      assert.equal(hex(sig.toBytes()), v.signature);
      const pk = PublicKey.fromBytes(fromHex(v.public_key));
      pk.verify(msg, Signature.fromBytes(fromHex(v.signature)));
    }
  });
  it("verification outcomes", () => {
    for (const v of V.verify) {
      const pk = PublicKey.fromCanonicalBytes(fromHex(v.public_key));
      const sig = Signature.fromBytes(fromHex(v.signature));
      assert.equal(errorOf(() => pk.verify(dig(v.message), sig)), v.error);
      assert.equal(pk.isValidSignature(dig(v.message), sig), v.error === null);
    }
  });
  it("strict decoding refuses with Rust's messages", () => {
    for (const v of V.key_refusals) {
      const b = fromHex(v.bytes);
      const decode = {
        public_key: () => PublicKey.fromBytes(b),
        public_key_canonical: () => PublicKey.fromCanonicalBytes(b),
        secret_key: () => SecretKey.fromBytes(b),
        signature: () => Signature.fromBytes(b),
      }[v.what as string]!;
      assert.equal(errorOf(decode), v.error, `${v.what} ${v.bytes}`);
      if (v.error === null) assert.equal(hex((decode() as { toBytes(): Uint8Array }).toBytes()), v.bytes);
    }
  });
});

describe("vectors: transactions", () => {
  it("bytes, layout, message, id, signature", () => {
    for (const v of V.transactions) {
      const tx = txOf(v.tx);
      const domain = domainOf(v.domain);
      assert.deepEqual(strs(domainToFields(domain)), v.domain_fields);
      assert.equal(hex(txToBytes(tx)), v.body);
      assert.deepEqual(strs(txToFields(tx)), v.fields);
      assert.deepEqual(strs(txMessage(tx, domain)), v.message);
      assert.deepEqual(strs(txId(tx)), v.id);
      assert.equal(hex(digestToBytes(txId(tx))), v.id_bytes);
      assert.equal(tx.kind === "deposit" && !tx.pubkey.isUsable(), v.refund);
      const sk = v.secret_key === null ? SecretKey.fromScalar(1n) : SecretKey.fromBytes(fromHex(v.secret_key));
      const stx = signTx(tx, sk, domain);
      assert.equal(hex(signedTxToBytes(stx)), v.signed);
      // decoding gives the same transaction back
      const back = signedTxFromBytes(fromHex(v.signed));
      assert.equal(hex(signedTxToBytes(back)), v.signed);
      assert.equal(hex(txToBytes(txFromBytes(fromHex(v.body)))), v.body);
      if (back.signature !== null) {
        sk.publicKey().verify(txMessage(back.tx, domain), back.signature);
      }
    }
  });
  it("strict decoding refuses with Rust's messages", () => {
    for (const v of V.tx_refusals) {
      const b = fromHex(v.bytes);
      const decode = v.decoder === "tx" ? () => txFromBytes(b) : () => signedTxFromBytes(b);
      assert.equal(errorOf(decode), v.error, `${v.decoder} ${v.bytes}`);
      if (v.error === null) {
        const back = v.decoder === "tx" ? txToBytes(txFromBytes(b)) : signedTxToBytes(signedTxFromBytes(b));
        assert.equal(hex(back), v.bytes);
      }
    }
  });
  it("L1 address limbs", () => {
    for (const v of V.l1_address_limbs) assert.deepEqual(strs(l1AddressLimbs(fromHex(v.address))), v.limbs);
  });
});

describe("vectors: accounts and Merkle proofs", () => {
  const M = V.merkle;
  it("empty subtree hashes", () => {
    assert.deepEqual(emptyHashes().map(strs), M.empty_hashes);
  });
  it("leaves", () => {
    for (const v of M.leaves) {
      const a = accountOf(v.account)!;
      assert.deepEqual(strs(accountLeafFields(a)), v.fields);
      assert.deepEqual(strs(accountLeaf(a)), v.leaf);
    }
  });
  it("proofs against the root", () => {
    const root = dig(M.root);
    assert.equal(digestToHex(root), M.root_hex);
    const tree = new SparseMerkleTree();
    for (const v of M.proofs) {
      const proof = proofOf(v.proof);
      const leaf = leafOf(accountOf(v.account));
      assert.deepEqual(strs(leaf), v.leaf);
      assert.equal(proof.verify(root, leaf), v.valid);
      if (v.root_for !== undefined) assert.deepEqual(strs(proof.rootFor(leaf)), v.root_for);
      if (v.valid && v.account !== null) tree.set(proof.index, leaf);
    }
    // the same accounts in the SDK's own tree give the same root and proofs
    assert.deepEqual(strs(tree.root()), M.root);
    for (const v of M.proofs.filter((p: J) => p.valid)) {
      assert.deepEqual(tree.prove(v.proof.index).siblings.map(strs), v.proof.siblings);
    }
  });
  it("wallet API answers (bytes)", () => {
    for (const v of M.api_responses) {
      const r = {
        exists: v.exists,
        balance: big(v.balance),
        nonce: v.nonce,
        pubkey: fromHex(v.pubkey),
        root: fromHex(v.root),
        siblings: v.siblings.map(fromHex),
      };
      const { account, root } = verifyAccountResponse(v.account, r);
      assert.deepEqual(strs(root), M.root);
      assert.equal(account === null, !v.exists);
      assert.deepEqual(strs(digestFromBytes(fromHex(v.root))), M.root);
      // any change breaks it
      assert.throws(() => verifyAccountResponse(v.account, { ...r, nonce: r.nonce + 1 }));
      assert.throws(() => verifyAccountResponse(v.account ^ 4, r));
    }
  });
});

describe("vectors: spends (amount + fee against balances)", () => {
  it("refusals, and the state after an accepted one", () => {
    let accepted = 0;
    for (const v of V.spend) {
      const tx = txOf(v.tx);
      assert.ok(tx.kind === "transfer" || tx.kind === "withdraw");
      const senderBalance = big(v.sender_balance);
      const recipientBalance = big(v.recipient_balance);
      const err = checkSpend(tx, { senderBalance, recipientBalance });
      assert.equal(err === null ? null : err.message, v.error, JSON.stringify(v.tx));
      if (v.error !== null) continue;
      accepted++;
      // genesis state of the Rust test: fee account 0 (balance 0), sender 1, recipient 2
      const sender = SecretKey.fromBytes(fromHex(V.keys[3].secret_key));
      assert.equal(hex(signedTxToBytes(signTx(tx, sender, DEVNET))), v.signed);
      const after = v.after.accounts.map(accountOf) as Account[];
      const genesis = new SparseMerkleTree();
      genesis.set(0, accountLeaf({ ...after[0]!, balance: 0n, nonce: 0 }));
      genesis.set(1, accountLeaf({ ...after[1]!, balance: senderBalance, nonce: 0 }));
      genesis.set(2, accountLeaf({ ...after[2]!, balance: recipientBalance, nonce: 0 }));
      assert.deepEqual(strs(genesis.root()), v.root_before);
      // the SDK's own account of the effects: the sender pays amount + fee, the fee account gets the fee
      const expected = [tx.fee, senderBalance - tx.amount - tx.fee, recipientBalance + (tx.kind === "transfer" ? tx.amount : 0n)];
      const nonces = [0, 1, 0];
      const root = dig(v.after.root);
      for (let i = 0; i < 3; i++) {
        const a = after[i]!;
        assert.equal(a.balance, expected[i]);
        assert.equal(a.nonce, nonces[i]);
        assert.ok(proofOf(v.after.proofs[i]).verify(root, accountLeaf(a)));
      }
    }
    assert.ok(accepted >= 3);
  });
});

describe("vectors: coverage", () => {
  it("has every section", () => {
    for (const k of ["poseidon", "gfp5", "curve", "keys", "signatures", "verify", "key_refusals", "transactions", "tx_refusals", "merkle", "spend"]) {
      assert.ok(V[k] !== undefined, k);
    }
    assert.ok(V.tx_refusals.filter((v: J) => v.error !== null).length > 40);
    assert.equal(new Set(V.transactions.map((v: J) => v.tx.kind)).size, 4);
  });
});
