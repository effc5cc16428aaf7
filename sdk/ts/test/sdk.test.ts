// Properties of the SDK that need no Rust vectors: field and group laws, published known answers, round trips,
// refusals of bad inputs, amount formatting.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  DEVNET,
  DecodeError,
  MAX_AMOUNT,
  MerkleProof,
  Point,
  PublicKey,
  SCALAR_ORDER,
  SchnorrError,
  SecretKey,
  Signature,
  SparseMerkleTree,
  type Transfer,
  ZERO_DIGEST,
  accountLeaf,
  balanceAfterCredit,
  balanceAfterDebit,
  checkSpend,
  emptyRoot,
  ext5,
  field,
  formatUnits,
  hashNoPad,
  parseUnits,
  signTx,
  signedTxFromBytes,
  signedTxToBytes,
  totalDebit,
  txHashHex,
  txId,
  txMessage,
  txToBytes,
  verifySignedTx,
  type Fp5,
} from "../src/index.js";

/** A small deterministic generator (xorshift64*) for test inputs. */
function rng(seed: bigint): () => bigint {
  let s = seed;
  return () => {
    s ^= s >> 12n;
    s ^= (s << 25n) & 0xffff_ffff_ffff_ffffn;
    s ^= s >> 27n;
    return (s * 0x2545f4914f6cdd1dn) & 0xffff_ffff_ffff_ffffn;
  };
}

const next = rng(0x1234_5678_9abc_def1n);
const randFp = (): bigint => next() % field.P;
const randFp5 = (): Fp5 => [randFp(), randFp(), randFp(), randFp(), randFp()];
const randScalar = (): bigint => (next() | (next() << 64n) | (next() << 128n) | (next() << 192n) | (next() << 256n)) % SCALAR_ORDER;

describe("Goldilocks", () => {
  it("inverse and square roots", () => {
    for (let i = 0; i < 50; i++) {
      const a = randFp() || 1n;
      assert.equal(field.mul(a, field.inv(a)), 1n);
      const sq = field.square(a);
      const r = field.sqrt(sq)!;
      assert.ok(r === a || r === field.neg(a));
      assert.equal(field.sqrt(field.mul(sq, 7n)), undefined); // 7 is a non-square
    }
    assert.equal(field.fromNoncanonicalU64(field.P + 5n), 5n);
    assert.throws(() => field.inv(0n));
  });
});

describe("GF(p^5)", () => {
  it("field laws, Frobenius, inverse, square roots", () => {
    for (let i = 0; i < 20; i++) {
      const [a, b, c] = [randFp5(), randFp5(), randFp5()];
      assert.ok(ext5.eq(ext5.mul(a, ext5.add(b, c)), ext5.add(ext5.mul(a, b), ext5.mul(a, c))));
      assert.ok(ext5.eq(ext5.square(a), ext5.mul(a, a)));
      assert.ok(ext5.eq(ext5.frobenius(a), ext5.pow(a, field.P)));
      assert.ok(ext5.eq(ext5.mul(a, ext5.inverse(a)), ext5.ONE));
      const sq = ext5.square(a);
      const r = ext5.sqrt(sq)!;
      assert.ok(ext5.eq(r, a) || ext5.eq(r, ext5.neg(a)));
      assert.equal(ext5.sqrt(ext5.mulSmall(sq, 7n)), undefined);
      assert.equal(ext5.legendre(ext5.mulSmall(sq, 7n)), -1);
    }
    assert.equal(ext5.tryInverse(ext5.ZERO), undefined);
    assert.ok(ext5.eq(ext5.invOrZero(ext5.ZERO), ext5.ZERO));
  });
});

describe("EcGFp5", () => {
  // Known answers of the reference implementation (pornin/ecgfp5, python/ecGFp5.py), also in curve.rs.
  const W1: Fp5 = [12539254003028696409n, 15524144070600887654n, 15092036948424041984n, 11398871370327264211n, 10958391180505708567n];
  const W2: Fp5 = [11001943240060308920n, 17075173755187928434n, 3940989555384655766n, 15017795574860011099n, 5548543797011402287n];
  const W3: Fp5 = [246872606398642312n, 4900963247917836450n, 7327006728177203977n, 13945036888436667069n, 3062018119121328861n];
  const W4: Fp5 = [8058035104653144162n, 16041715455419993830n, 7448530016070824199n, 11253639182222911208n, 6228757819849640866n];
  const BAD: Fp5 = [13557832913345268708n, 15669280705791538619n, 8534654657267986396n, 12533218303838131749n, 5058070698878426028n];
  const E = 841809598287430541331763924924406256080383779033370172527955679319982746101779529382447999363236n;

  it("known answers", () => {
    const p1 = Point.decode(W1)!;
    const p2 = Point.decode(W2)!;
    assert.ok(ext5.eq(p1.add(p2).encode(), W3));
    assert.ok(ext5.eq(p1.double().encode(), W4));
    assert.ok(ext5.eq(p1.mul(E).encode(), W2));
    assert.equal(Point.decode(BAD), undefined);
    assert.ok(ext5.eq(Point.GENERATOR.encode(), [4n, 0n, 0n, 0n, 0n]));
    assert.ok(Point.decode([4n, 0n, 0n, 0n, 0n])!.equals(Point.GENERATOR));
    assert.ok(Point.decode(ext5.ZERO)!.isNeutral());
  });

  it("group laws", () => {
    for (let i = 0; i < 4; i++) {
      const [a, b] = [randScalar(), randScalar()];
      const p = Point.mulGen(a);
      const q = Point.mulGen(b);
      assert.ok(p.add(q).equals(Point.mulGen((a + b) % SCALAR_ORDER)));
      assert.ok(p.mul(b).equals(q.mul(a)));
      assert.ok(p.add(p.neg()).isNeutral());
      assert.ok(p.add(Point.NEUTRAL).equals(p));
      assert.ok(p.isOnCurve() && p.add(q).isOnCurve());
      assert.ok(p.mul(SCALAR_ORDER).isNeutral());
      assert.ok(p.mul(a + SCALAR_ORDER).equals(p.mul(a)));
      const back = Point.decode(p.encode())!;
      assert.ok(back.equals(p));
    }
    assert.ok(Point.mulGen(0n).isNeutral());
    assert.ok(Point.mulGen(SCALAR_ORDER - 1n).equals(Point.GENERATOR.neg()));
    assert.ok(Point.NEUTRAL.double().isNeutral());
  });
});

describe("Schnorr", () => {
  it("random keys sign and verify; tampering fails", () => {
    for (let i = 0; i < 3; i++) {
      const sk = SecretKey.random();
      const pk = sk.publicKey();
      const msg = hashNoPad([BigInt(i)]);
      const sig = sk.sign(msg);
      pk.verify(msg, sig);
      assert.ok(sig.equals(sk.sign(msg)), "deterministic");
      assert.ok(Signature.fromBytes(sig.toBytes()).equals(sig));
      assert.ok(PublicKey.fromBytes(pk.toBytes()).equals(pk));
      assert.equal(SecretKey.fromBytes(sk.toBytes()).scalar(), sk.scalar());
      assert.equal(pk.isValidSignature(hashNoPad([BigInt(i + 1)]), sig), false);
      assert.equal(SecretKey.random().publicKey().isValidSignature(msg, sig), false);
      const bytes = sig.toBytes();
      for (const pos of [0, 31, 32, 71]) {
        const b = bytes.slice();
        b[pos]! ^= 1;
        let ok = false;
        try {
          ok = pk.isValidSignature(msg, Signature.fromBytes(b));
        } catch (e) {
          assert.ok(e instanceof SchnorrError);
        }
        assert.equal(ok, false, `flipped byte ${pos}`);
      }
    }
  });
  it("refuses bad keys and messages", () => {
    assert.throws(() => SecretKey.fromScalar(0n), /secret key is zero/);
    assert.throws(() => SecretKey.fromScalar(SCALAR_ORDER), SchnorrError);
    assert.throws(() => PublicKey.fromBytes(new Uint8Array(40)), /public key is the neutral element/);
    assert.throws(() => PublicKey.fromBytes(new Uint8Array(39)), /public key: wrong length 39, expected 40/);
    assert.throws(() => SecretKey.fromScalar(5n).sign([field.P, 0n, 0n, 0n]), RangeError);
    assert.throws(() => new Signature([0n, 0n, 0n, 0n], SCALAR_ORDER), RangeError);
  });
});

describe("transactions", () => {
  const sk = SecretKey.fromScalar(0xc0ffeen);
  const t: Transfer = { kind: "transfer", from: 1, to: 2, amount: 5n, fee: 1n, nonce: 0 };
  it("sign, encode, decode, verify", () => {
    const stx = signTx(t, sk, DEVNET);
    const bytes = signedTxToBytes(stx);
    assert.equal(bytes.length, 29 + 72);
    const back = signedTxFromBytes(bytes);
    verifySignedTx(back, sk.publicKey(), DEVNET);
    assert.throws(() => verifySignedTx(back, sk.publicKey(), { chainId: 1n, rollupId: 1n }), /bad signature/);
    assert.match(txHashHex(txId(t)), /^0x[0-9a-f]{64}$/);
  });
  it("every field and the domain change the message", () => {
    const base = txMessage(t, DEVNET);
    const others = [
      txMessage({ ...t, amount: 6n }, DEVNET),
      txMessage({ ...t, fee: 2n }, DEVNET),
      txMessage({ ...t, nonce: 1 }, DEVNET),
      txMessage({ ...t, to: 3 }, DEVNET),
      txMessage(t, { chainId: DEVNET.rollupId, rollupId: DEVNET.chainId }),
      txMessage(t, { ...DEVNET, chainId: DEVNET.chainId + (1n << 32n) }),
    ];
    for (const o of others) assert.notDeepEqual(o, base);
  });
  it("refuses to encode what would not decode", () => {
    assert.throws(() => txToBytes({ ...t, amount: MAX_AMOUNT + 1n }), RangeError);
    assert.throws(() => txToBytes({ ...t, fee: -1n }), RangeError);
    assert.throws(() => txToBytes({ ...t, from: 2 ** 32 }), RangeError);
    assert.throws(() => txToBytes({ ...t, nonce: 1.5 }), RangeError);
    assert.throws(() => txToBytes({ kind: "withdraw", from: 1, l1Address: new Uint8Array(19), amount: 1n, fee: 0n, nonce: 0 }), RangeError);
    assert.throws(() => signedTxToBytes({ tx: t, signature: null }), TypeError);
    assert.throws(() => signedTxFromBytes(new Uint8Array([7])), DecodeError);
  });
});

describe("Merkle", () => {
  it("sparse tree proofs", () => {
    const tree = new SparseMerkleTree();
    assert.deepEqual(tree.root(), emptyRoot());
    const pk = SecretKey.fromScalar(3n).publicKey();
    const leaves = [0, 5, 2 ** 32 - 1].map((id, i) => [id, accountLeaf({ pubkey: pk, balance: BigInt(i), nonce: i })] as const);
    for (const [id, leaf] of leaves) tree.set(id, leaf);
    for (const [id, leaf] of leaves) {
      assert.ok(tree.prove(id).verify(tree.root(), leaf));
      assert.ok(!tree.prove(id).verify(tree.root(), ZERO_DIGEST));
    }
    assert.ok(tree.prove(6).verify(tree.root(), ZERO_DIGEST));
    const p = tree.prove(5);
    assert.ok(!new MerkleProof(5, p.siblings.slice(1)).verify(tree.root(), leaves[1]![1]));
    for (const [id] of leaves) tree.set(id, ZERO_DIGEST);
    assert.deepEqual(tree.root(), emptyRoot());
  });
});

describe("amounts", () => {
  it("formats and parses base units", () => {
    assert.equal(formatUnits(1500n, 3), "1.5");
    assert.equal(formatUnits(1n, 18), "0.000000000000000001");
    assert.equal(formatUnits(42n, 0), "42");
    assert.equal(formatUnits(1000n, 3), "1");
    assert.equal(parseUnits("1.5", 3), 1500n);
    assert.equal(parseUnits(".25", 2), 25n);
    assert.equal(parseUnits("7", 0), 7n);
    assert.equal(parseUnits("3.", 2), 300n);
    assert.throws(() => parseUnits("1.2345", 3), RangeError);
    assert.throws(() => parseUnits("-1", 3), RangeError);
    assert.throws(() => parseUnits("1e3", 3), RangeError);
    assert.throws(() => parseUnits(MAX_AMOUNT.toString() + "0", 0), RangeError);
    assert.equal(parseUnits(formatUnits(MAX_AMOUNT, 9), 9), MAX_AMOUNT);
  });
  it("debit and credit bounds", () => {
    assert.equal(totalDebit(MAX_AMOUNT, MAX_AMOUNT), 2n * MAX_AMOUNT);
    assert.throws(() => totalDebit(MAX_AMOUNT + 1n, 0n), RangeError);
    assert.equal(balanceAfterDebit(1000n, 990n, 10n), 0n);
    assert.equal(balanceAfterDebit(1000n, 990n, 11n), undefined);
    assert.equal(balanceAfterCredit(MAX_AMOUNT - 3n, 3n), MAX_AMOUNT);
    assert.equal(balanceAfterCredit(MAX_AMOUNT - 3n, 4n), undefined);
    const t: Transfer = { kind: "transfer", from: 1, to: 2, amount: 5n, fee: 1n, nonce: 0 };
    assert.equal(checkSpend(t, { senderBalance: 6n, minFee: 2n })?.reason, "fee_too_low");
    assert.equal(checkSpend(t, { senderBalance: 6n, minFee: 1n }), null);
    assert.equal(checkSpend(t, { senderBalance: 5n })?.reason, "insufficient_balance");
  });
});
