// Transactions as circuits/src/tx.rs defines them: canonical bytes (strict decoding with the same refusals and
// messages), the 16-element slot layout, the signed message Poseidon(domain ‖ layout) and the id Poseidon(layout).
//
// Bytes (integers little-endian):
//   transfer     01 · from u32 · to u32 · amount u64 · fee u64 · nonce u32                 (29)
//   withdraw     02 · from u32 · l1_address[20] · amount u64 · fee u64 · nonce u32         (45)
//   deposit      03 · priority_id u64 · to u32 · pubkey[40] · amount u64                   (61)
//   forced exit  04 · priority_id u64 · account u32 · l1_address[20]                       (33)
// A signed transaction (transfer, withdraw) appends its 72-byte signature; priority operations have none.

import { assertU32, assertU64, concatBytes, readU32Le, readU64Le, u32ToLe, u64ToLe } from "./bytes.js";
import { type Digest, hashNoPad } from "./poseidon.js";
import { PublicKey, SchnorrError, SecretKey, Signature, SIGNATURE_BYTES } from "./schnorr.js";

/** Bits of an amount, fee or balance. */
export const AMOUNT_BITS = 62;
/** The largest amount, fee or balance: 2^62 − 1. */
export const MAX_AMOUNT = (1n << 62n) - 1n;
/** The largest L1 priority-queue id. */
export const MAX_PRIORITY_ID = MAX_AMOUNT;
/** Width of an L1 address in bytes. */
export const L1_ADDRESS_LEN = 20;
/** Length of an encoded public key. */
export const PUBKEY_LEN = 40;
/** Length of an encoded signature. */
export const SIGNATURE_LEN = SIGNATURE_BYTES;

export const TAG_NOOP = 0;
export const TAG_TRANSFER = 1;
export const TAG_WITHDRAW = 2;
export const TAG_DEPOSIT = 3;
export const TAG_FORCED_EXIT = 4;

export const TRANSFER_LEN = 29;
export const WITHDRAW_LEN = 45;
export const DEPOSIT_LEN = 61;
export const FORCED_EXIT_LEN = 33;

/** Elements of a slot layout. */
export const TX_FIELDS = 16;

/** Offsets into a slot layout. */
export const Layout = {
  TAG: 0,
  /** transfer/withdraw: sender; deposit: recipient; forced exit: the account. */
  ACCOUNT_A: 1,
  /** transfer: recipient; otherwise equal to ACCOUNT_A. */
  ACCOUNT_B: 2,
  /** A forced exit's is the balance it withdraws, filled in when applied (zero here). */
  AMOUNT: 3,
  NONCE: 4,
  /** deposit: 1 if its key is unusable (refunded on L1); shares the word with NONCE. */
  REFUND: 4,
  /** withdraw, forced exit: the L1 address as five 32-bit limbs. */
  L1_ADDRESS: 5,
  /** deposit: the key's 5 elements. */
  PUBKEY: 10,
  /** deposit, forced exit: position in the L1 priority queue. */
  PRIORITY_ID: 15,
  /** transfer/withdraw: the fee; shares the word with PRIORITY_ID. */
  FEE: 15,
} as const;

/** A deployment: the L1 chain id and the rollup's id on that chain (both u64). */
export interface Domain {
  readonly chainId: bigint;
  readonly rollupId: bigint;
}

/** The devnet's domain: chain 31337, rollup 1. */
export const DEVNET: Domain = { chainId: 31337n, rollupId: 1n };

/** `[chain_id mod 2^32, chain_id >> 32, rollup_id mod 2^32, rollup_id >> 32]`. */
export function domainToFields(d: Domain): bigint[] {
  assertU64(d.chainId, "chain id");
  assertU64(d.rollupId, "rollup id");
  const m = 0xffff_ffffn;
  return [d.chainId & m, d.chainId >> 32n, d.rollupId & m, d.rollupId >> 32n];
}

export interface Transfer {
  readonly kind: "transfer";
  readonly from: number;
  readonly to: number;
  readonly amount: bigint;
  /** Debited with the amount, credited to the rollup's fee account. */
  readonly fee: bigint;
  readonly nonce: number;
}

export interface Withdraw {
  readonly kind: "withdraw";
  readonly from: number;
  readonly l1Address: Uint8Array;
  readonly amount: bigint;
  readonly fee: bigint;
  readonly nonce: number;
}

/** A deposit from the L1 priority queue (unsigned). */
export interface Deposit {
  readonly kind: "deposit";
  readonly priorityId: bigint;
  readonly to: number;
  readonly pubkey: PublicKey;
  readonly amount: bigint;
}

/** A forced exit from the L1 priority queue (unsigned): the account's whole balance to `l1Address`. */
export interface ForcedExit {
  readonly kind: "forcedExit";
  readonly priorityId: bigint;
  readonly account: number;
  readonly l1Address: Uint8Array;
}

export type Tx = Transfer | Withdraw | Deposit | ForcedExit;

/** A transaction with its signature (present exactly for transfer and withdraw). */
export interface SignedTx {
  readonly tx: Tx;
  readonly signature: Signature | null;
}

/** Why bytes are not a canonical transaction; `message` is the Rust `DecodeError`'s text. */
export type DecodeErrorKind =
  | { kind: "Empty" }
  | { kind: "UnknownTag"; tag: number }
  | { kind: "WrongLength"; what: string; expected: number; got: number }
  | { kind: "AmountTooLarge"; amount: bigint; max: bigint }
  | { kind: "FeeTooLarge"; fee: bigint; max: bigint }
  | { kind: "PriorityIdTooLarge"; id: bigint; max: bigint }
  | { kind: "PublicKey"; source: SchnorrError }
  | { kind: "Signature"; source: SchnorrError };

function decodeMessage(e: DecodeErrorKind): string {
  switch (e.kind) {
    case "Empty":
      return "empty input: expected a transaction tag byte";
    case "UnknownTag":
      return (
        `unknown transaction tag 0x${e.tag.toString(16).padStart(2, "0")}: expected 0x01 (transfer), ` +
        "0x02 (withdraw), 0x03 (deposit) or 0x04 (forced exit)"
      );
    case "WrongLength":
      return `wrong length for a ${e.what}: expected ${e.expected} bytes, got ${e.got}`;
    case "AmountTooLarge":
      return `amount ${e.amount} exceeds the maximum ${e.max}`;
    case "FeeTooLarge":
      return `fee ${e.fee} exceeds the maximum ${e.max}`;
    case "PriorityIdTooLarge":
      return `priority id ${e.id} exceeds the maximum ${e.max}`;
    case "PublicKey":
      return `invalid public key: ${e.source.message}`;
    case "Signature":
      return `invalid signature encoding: ${e.source.message}`;
  }
}

export class DecodeError extends Error {
  readonly detail: DecodeErrorKind;
  constructor(detail: DecodeErrorKind) {
    super(decodeMessage(detail));
    this.name = "DecodeError";
    this.detail = detail;
  }
}

/** The tag byte of a transaction. */
export function txTag(tx: Tx): number {
  switch (tx.kind) {
    case "transfer":
      return TAG_TRANSFER;
    case "withdraw":
      return TAG_WITHDRAW;
    case "deposit":
      return TAG_DEPOSIT;
    case "forcedExit":
      return TAG_FORCED_EXIT;
  }
}

/** The kind's name as the Rust code and the sequencer's messages write it. */
export function txKindName(tx: Tx): string {
  return tx.kind === "forcedExit" ? "forced exit" : tx.kind;
}

/** Transfers and withdrawals are signed; priority operations come from L1. */
export function isSigned(tx: Tx): tx is Transfer | Withdraw {
  return tx.kind === "transfer" || tx.kind === "withdraw";
}

/** The fee a signed transaction pays (0 for priority operations). */
export function txFee(tx: Tx): bigint {
  return isSigned(tx) ? tx.fee : 0n;
}

function checkBound(v: bigint, max: bigint, what: string): bigint {
  assertU64(v, what);
  if (v > max) throw new RangeError(`${what} ${v} exceeds the maximum ${max}`);
  return v;
}

function checkAddress(a: Uint8Array): Uint8Array {
  if (!(a instanceof Uint8Array) || a.length !== L1_ADDRESS_LEN) {
    throw new RangeError(`an L1 address has ${L1_ADDRESS_LEN} bytes`);
  }
  return a;
}

/**
 * Checks that a transaction's fields fit their encoding and would decode (ids and nonces u32, amounts, fees
 * and priority ids at most 2^62 − 1, 20-byte addresses); throws a RangeError otherwise.
 */
export function validateTx(tx: Tx): void {
  switch (tx.kind) {
    case "transfer":
      assertU32(tx.from, "from");
      assertU32(tx.to, "to");
      checkBound(tx.amount, MAX_AMOUNT, "amount");
      checkBound(tx.fee, MAX_AMOUNT, "fee");
      assertU32(tx.nonce, "nonce");
      return;
    case "withdraw":
      assertU32(tx.from, "from");
      checkAddress(tx.l1Address);
      checkBound(tx.amount, MAX_AMOUNT, "amount");
      checkBound(tx.fee, MAX_AMOUNT, "fee");
      assertU32(tx.nonce, "nonce");
      return;
    case "deposit":
      checkBound(tx.priorityId, MAX_PRIORITY_ID, "priority id");
      assertU32(tx.to, "to");
      if (!(tx.pubkey instanceof PublicKey)) throw new TypeError("a deposit's pubkey must be a PublicKey");
      checkBound(tx.amount, MAX_AMOUNT, "amount");
      return;
    case "forcedExit":
      checkBound(tx.priorityId, MAX_PRIORITY_ID, "priority id");
      assertU32(tx.account, "account");
      checkAddress(tx.l1Address);
      return;
  }
}

/** The canonical body bytes (no signature). */
export function txToBytes(tx: Tx): Uint8Array {
  validateTx(tx);
  const tag = Uint8Array.of(txTag(tx));
  switch (tx.kind) {
    case "transfer":
      return concatBytes(tag, u32ToLe(tx.from), u32ToLe(tx.to), u64ToLe(tx.amount), u64ToLe(tx.fee), u32ToLe(tx.nonce));
    case "withdraw":
      return concatBytes(tag, u32ToLe(tx.from), tx.l1Address, u64ToLe(tx.amount), u64ToLe(tx.fee), u32ToLe(tx.nonce));
    case "deposit":
      return concatBytes(tag, u64ToLe(tx.priorityId), u32ToLe(tx.to), tx.pubkey.toBytes(), u64ToLe(tx.amount));
    case "forcedExit":
      return concatBytes(tag, u64ToLe(tx.priorityId), u32ToLe(tx.account), tx.l1Address);
  }
}

function decodeAmount(v: bigint): bigint {
  if (v > MAX_AMOUNT) throw new DecodeError({ kind: "AmountTooLarge", amount: v, max: MAX_AMOUNT });
  return v;
}

function decodeFee(v: bigint): bigint {
  if (v > MAX_AMOUNT) throw new DecodeError({ kind: "FeeTooLarge", fee: v, max: MAX_AMOUNT });
  return v;
}

function decodePriorityId(v: bigint): bigint {
  if (v > MAX_PRIORITY_ID) throw new DecodeError({ kind: "PriorityIdTooLarge", id: v, max: MAX_PRIORITY_ID });
  return v;
}

/**
 * Strict decoding of a body: known tag, exact length, amount/fee/priority-id bounds, canonical public key (a
 * deposit's need not be a curve point). Throws a {@link DecodeError}.
 */
export function txFromBytes(bytes: Uint8Array): Tx {
  if (bytes.length === 0) throw new DecodeError({ kind: "Empty" });
  const tag = bytes[0]!;
  let what: string;
  let expected: number;
  switch (tag) {
    case TAG_TRANSFER:
      [what, expected] = ["transfer", TRANSFER_LEN];
      break;
    case TAG_WITHDRAW:
      [what, expected] = ["withdraw", WITHDRAW_LEN];
      break;
    case TAG_DEPOSIT:
      [what, expected] = ["deposit", DEPOSIT_LEN];
      break;
    case TAG_FORCED_EXIT:
      [what, expected] = ["forced exit", FORCED_EXIT_LEN];
      break;
    default:
      throw new DecodeError({ kind: "UnknownTag", tag });
  }
  if (bytes.length !== expected) throw new DecodeError({ kind: "WrongLength", what, expected, got: bytes.length });
  const b = bytes;
  switch (tag) {
    case TAG_TRANSFER: {
      const from = readU32Le(b, 1);
      const to = readU32Le(b, 5);
      const amount = decodeAmount(readU64Le(b, 9));
      const fee = decodeFee(readU64Le(b, 17));
      return { kind: "transfer", from, to, amount, fee, nonce: readU32Le(b, 25) };
    }
    case TAG_WITHDRAW: {
      const from = readU32Le(b, 1);
      const l1Address = b.slice(5, 25);
      const amount = decodeAmount(readU64Le(b, 25));
      const fee = decodeFee(readU64Le(b, 33));
      return { kind: "withdraw", from, l1Address, amount, fee, nonce: readU32Le(b, 41) };
    }
    case TAG_FORCED_EXIT: {
      const priorityId = decodePriorityId(readU64Le(b, 1));
      return { kind: "forcedExit", priorityId, account: readU32Le(b, 9), l1Address: b.slice(13, 33) };
    }
    default: {
      const priorityId = decodePriorityId(readU64Le(b, 1));
      const to = readU32Le(b, 9);
      let pubkey: PublicKey;
      try {
        pubkey = PublicKey.fromCanonicalBytes(b.subarray(13, 53));
      } catch (e) {
        if (e instanceof SchnorrError) throw new DecodeError({ kind: "PublicKey", source: e });
        throw e;
      }
      return { kind: "deposit", priorityId, to, pubkey, amount: decodeAmount(readU64Le(b, 53)) };
    }
  }
}

/** An L1 address as five 32-bit limbs (bytes little-endian, limb 0 first). */
export function l1AddressLimbs(addr: Uint8Array): bigint[] {
  checkAddress(addr);
  return [0, 1, 2, 3, 4].map((i) => BigInt(readU32Le(addr, 4 * i)));
}

/** Whether a deposit's key can sign (a non-neutral group element); an unusable one is refunded on L1. */
export function depositKeyIsUsable(d: Deposit): boolean {
  return d.pubkey.isUsable();
}

/** The 16-element slot layout (unused words zero; a forced exit's amount is zero here). */
export function txToFields(tx: Tx): bigint[] {
  validateTx(tx);
  const f = new Array<bigint>(TX_FIELDS).fill(0n);
  f[Layout.TAG] = BigInt(txTag(tx));
  switch (tx.kind) {
    case "transfer":
      f[Layout.ACCOUNT_A] = BigInt(tx.from);
      f[Layout.ACCOUNT_B] = BigInt(tx.to);
      f[Layout.AMOUNT] = tx.amount;
      f[Layout.NONCE] = BigInt(tx.nonce);
      f[Layout.FEE] = tx.fee;
      break;
    case "withdraw":
      f[Layout.ACCOUNT_A] = BigInt(tx.from);
      f[Layout.ACCOUNT_B] = BigInt(tx.from);
      f[Layout.AMOUNT] = tx.amount;
      f[Layout.NONCE] = BigInt(tx.nonce);
      f[Layout.FEE] = tx.fee;
      f.splice(Layout.L1_ADDRESS, 5, ...l1AddressLimbs(tx.l1Address));
      break;
    case "deposit":
      f[Layout.ACCOUNT_A] = BigInt(tx.to);
      f[Layout.ACCOUNT_B] = BigInt(tx.to);
      f[Layout.AMOUNT] = tx.amount;
      f.splice(Layout.PUBKEY, 5, ...tx.pubkey.toFields());
      f[Layout.PRIORITY_ID] = tx.priorityId;
      f[Layout.REFUND] = depositKeyIsUsable(tx) ? 0n : 1n;
      break;
    case "forcedExit":
      f[Layout.ACCOUNT_A] = BigInt(tx.account);
      f[Layout.ACCOUNT_B] = BigInt(tx.account);
      f.splice(Layout.L1_ADDRESS, 5, ...l1AddressLimbs(tx.l1Address));
      f[Layout.PRIORITY_ID] = tx.priorityId;
      break;
  }
  return f;
}

/** `Poseidon(domain ‖ fields)`: the message signed for a slot with these fields. */
export function signingMessage(domain: Domain, fields: readonly bigint[]): Digest {
  if (fields.length !== TX_FIELDS) throw new RangeError(`a slot layout has ${TX_FIELDS} elements`);
  return hashNoPad([...domainToFields(domain), ...fields]);
}

/** The message a wallet signs for `domain`. */
export function txMessage(tx: Tx, domain: Domain): Digest {
  return signingMessage(domain, txToFields(tx));
}

/** The transaction's id (its hash in the wallet API): `Poseidon(layout)`. */
export function txId(tx: Tx): Digest {
  return hashNoPad(txToFields(tx));
}

/** Signs for `domain` (priority operations stay unsigned). */
export function signTx(tx: Tx, sk: SecretKey, domain: Domain): SignedTx {
  return { tx, signature: isSigned(tx) ? sk.sign(txMessage(tx, domain)) : null };
}

/** Verifies a signed transaction's signature under `pk` for `domain`; throws a SchnorrError if it fails. */
export function verifySignedTx(stx: SignedTx, pk: PublicKey, domain: Domain): void {
  if (stx.signature === null) throw new SchnorrError({ kind: "BadSignature" });
  pk.verify(txMessage(stx.tx, domain), stx.signature);
}

/** Body then signature: the bytes the wallet API's SubmitTx takes. */
export function signedTxToBytes(stx: SignedTx): Uint8Array {
  if (isSigned(stx.tx) !== (stx.signature !== null)) {
    throw new TypeError(
      isSigned(stx.tx) ? `a ${txKindName(stx.tx)} needs a signature` : `a ${txKindName(stx.tx)} is not signed`,
    );
  }
  const body = txToBytes(stx.tx);
  return stx.signature === null ? body : concatBytes(body, stx.signature.toBytes());
}

/** Strict decoding of a signed transaction (exact length with the signature, then body, then signature). */
export function signedTxFromBytes(bytes: Uint8Array): SignedTx {
  if (bytes.length === 0) throw new DecodeError({ kind: "Empty" });
  const tag = bytes[0]!;
  let what: string;
  let bodyLen: number;
  let signed: boolean;
  switch (tag) {
    case TAG_TRANSFER:
      [what, bodyLen, signed] = ["signed transfer", TRANSFER_LEN, true];
      break;
    case TAG_WITHDRAW:
      [what, bodyLen, signed] = ["signed withdraw", WITHDRAW_LEN, true];
      break;
    case TAG_DEPOSIT:
      [what, bodyLen, signed] = ["deposit", DEPOSIT_LEN, false];
      break;
    case TAG_FORCED_EXIT:
      [what, bodyLen, signed] = ["forced exit", FORCED_EXIT_LEN, false];
      break;
    default:
      throw new DecodeError({ kind: "UnknownTag", tag });
  }
  const expected = bodyLen + (signed ? SIGNATURE_LEN : 0);
  if (bytes.length !== expected) throw new DecodeError({ kind: "WrongLength", what, expected, got: bytes.length });
  const tx = txFromBytes(bytes.subarray(0, bodyLen));
  let signature: Signature | null = null;
  if (signed) {
    try {
      signature = Signature.fromBytes(bytes.subarray(bodyLen));
    } catch (e) {
      if (e instanceof SchnorrError) throw new DecodeError({ kind: "Signature", source: e });
      throw e;
    }
  }
  return { tx, signature };
}
