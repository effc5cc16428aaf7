// The L1 helpers' encodings against an independent implementation: keccak-256 known answers, and function selectors,
// calldata, event topics and error data as ethers' ABI coder (@ethersproject/abi 5) produces them for IZkrRollup.sol.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  type Digest,
  PublicKey,
  RpcError,
  decodeRevert,
  encodeDeposit,
  encodeExit,
  encodeOpenAccount,
  encodePendingWithdrawals,
  encodeRequestForcedExit,
  encodeWithdrawPending,
  eventTopic,
  keccak256,
  packDigest,
  queuedFromReceipt,
  selector,
  toHex,
  unitsToWei,
} from "../src/index.js";

const hex = (b: Uint8Array): string => "0x" + toHex(b);

// a key given by its 5 canonical elements (p - 1 included); the encoder does not need a curve point
const PK_WORDS = [1n, 2n, 18446744069414584320n, 12345678901234567n, 7n];
function pk(): PublicKey {
  const b = new Uint8Array(40);
  PK_WORDS.forEach((w, i) => {
    for (let j = 0; j < 8; j++) b[8 * i + j] = Number((w >> BigInt(8 * j)) & 0xffn);
  });
  return PublicKey.fromCanonicalBytes(b);
}

describe("keccak256", () => {
  it("matches known answers, across the rate boundary", () => {
    assert.equal(hex(keccak256("")), "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    assert.equal(hex(keccak256("abc")), "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    // 135 bytes: both padding bits fall in the same byte; 200 bytes: two blocks
    assert.equal(hex(keccak256("a".repeat(135))), "0x34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
    assert.equal(hex(keccak256("a".repeat(200))), "0x96ea54061def936c4be90b518992fdc6f12f535068a256229aca54267b4d084d");
  });
});

describe("rollup calldata", () => {
  it("has the contract's selectors", () => {
    const sel = (s: string): string => hex(selector(s));
    assert.equal(sel("openAccount(uint64[5])"), "0xd4a91e53");
    assert.equal(sel("deposit(uint32,uint64[5])"), "0x7eef9da8");
    assert.equal(sel("requestForcedExit(uint32)"), "0x44027536");
    assert.equal(sel("withdrawPending()"), "0x7edbceb1");
    assert.equal(sel("pendingWithdrawals(address)"), "0xf3f43703");
    assert.equal(sel("exit(uint32,uint64[5],uint64,uint32,bytes32[32])"), "0x7f496354");
    assert.equal(
      eventTopic("DepositQueued(uint64,uint32,address,uint64,uint64[5],uint64)"),
      "0x6779bda19b8301c3dd8b5dc1e417786422845ffb9ff3886abf39dd6a5238bfff",
    );
  });

  it("encodes each call as ethers does", () => {
    const words =
      "0000000000000000000000000000000000000000000000000000000000000001" +
      "0000000000000000000000000000000000000000000000000000000000000002" +
      "000000000000000000000000000000000000000000000000ffffffff00000000" +
      "000000000000000000000000000000000000000000000000002bdc545d6b4b87" +
      "0000000000000000000000000000000000000000000000000000000000000007";
    assert.equal(encodeOpenAccount(pk()), "0xd4a91e53" + words);
    assert.equal(
      encodeDeposit(9, pk()),
      "0x7eef9da8" + "0000000000000000000000000000000000000000000000000000000000000009" + words,
    );
    assert.equal(
      encodeRequestForcedExit(4294967295),
      "0x4402753600000000000000000000000000000000000000000000000000000000ffffffff",
    );
    assert.equal(encodeWithdrawPending(), "0x7edbceb1");
    assert.equal(
      encodePendingWithdrawals("0x00112233445566778899aabbccddeeff00112233"),
      "0xf3f4370300000000000000000000000000112233445566778899aabbccddeeff00112233",
    );
    // siblings 1, 2, …, 32 as packed digests (the last element is the low word)
    const siblings: Digest[] = Array.from({ length: 32 }, (_, k) => [0n, 0n, 0n, BigInt(k + 1)] as const);
    const exit = encodeExit(3, { pubkey: pk(), balance: 1_000_000n, nonce: 2 }, siblings);
    assert.equal(exit.length, 2 + 2 * (4 + 32 * 40));
    assert.equal(
      hex(keccak256(Uint8Array.from(Buffer.from(exit.slice(2), "hex")))),
      "0x282599f6c8f59eb7936044c9e3ddf8fb9132f356140c5615987ced1b63a5c83c",
    );
  });

  it("packs digests high element first and refuses out-of-range values", () => {
    assert.equal(hex(packDigest([1n, 2n, 3n, 4n])), "0x" + [1, 2, 3, 4].map((e) => e.toString(16).padStart(16, "0")).join(""));
    assert.throws(() => encodeRequestForcedExit(2 ** 32), RangeError);
    assert.throws(() => encodeRequestForcedExit(-1), RangeError);
    assert.throws(() => encodePendingWithdrawals("0x0011"), RangeError);
    assert.throws(() => encodeExit(1, { pubkey: pk(), balance: 1n, nonce: 0 }, []), RangeError);
    assert.equal(unitsToWei(3n), 3_000_000_000n);
    assert.throws(() => unitsToWei(0n), RangeError);
    assert.throws(() => unitsToWei(1n << 62n), RangeError);
  });

  it("names the rollup's custom errors in revert data", () => {
    const data =
      "0xbf687a02000000000000000000000000000000000000000000000000000000000000000900000000000000000000000000112233445566778899aabbccddeeff00112233";
    assert.equal(decodeRevert(data), "NotExitOwner(9, 0x00112233445566778899aabbccddeeff00112233)");
    assert.equal(decodeRevert({ data: { data } }), "NotExitOwner(9, 0x00112233445566778899aabbccddeeff00112233)");
    assert.equal(decodeRevert("0x08c379a0"), undefined);
    assert.equal(decodeRevert(undefined), undefined);
    const e = new RpcError(3, "execution reverted", data);
    assert.match(e.message, /execution reverted: NotExitOwner\(9, /);
  });

  it("reads a queued deposit from its receipt", () => {
    const rollup = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
    const word = (v: bigint): string => v.toString(16).padStart(64, "0");
    const data = "0x" + word(500n) + PK_WORDS.map(word).join("") + word(1_700_000_000n);
    const receipt = {
      transactionHash: "0xabc",
      blockNumber: "0x5",
      status: "0x1",
      logs: [
        {
          address: rollup.toUpperCase().replace("0X", "0x"),
          topics: [eventTopic("DepositQueued(uint64,uint32,address,uint64,uint64[5],uint64)"), "0x" + word(4n), "0x" + word(8n), "0x" + word(1n)],
          data,
        },
      ],
    };
    assert.deepEqual(queuedFromReceipt(receipt, rollup), {
      l1Tx: "0xabc",
      priorityId: 4n,
      account: 8,
      amount: 500n,
      expiry: 1_700_000_000n,
    });
    assert.throws(() => queuedFromReceipt(receipt, "0x0000000000000000000000000000000000000001"), /queued nothing/);
  });
});
