// The rollup contract on L1 (verifier-contracts/rollup/contracts/IZkrRollup.sol): deposits, forced exits, pulling
// withdrawals and the escape hatch, through any EIP-1193 provider (`window.ethereum`, or `jsonRpcProvider(url)`).
//
// A small ABI encoder for the few static types these calls take (uint, address, bytes32, fixed arrays of them), so
// that the SDK keeps no runtime dependencies; selectors, topics and error names are computed with keccak256 from the
// Solidity signatures below.

import { fromHex, toHex } from "./bytes.js";
import { keccak256 } from "./keccak.js";
import { type Digest } from "./poseidon.js";
import { type PublicKey } from "./schnorr.js";
import { type Account, DEPTH } from "./merkle.js";
import { MAX_AMOUNT } from "./tx.js";

/** One L2 unit in wei (the contract's AMOUNT_UNIT: 1 gwei). */
export const AMOUNT_UNIT_WEI = 1_000_000_000n;

/** An EIP-1193 provider: `window.ethereum`, or `jsonRpcProvider(url)`. */
export interface Eip1193Provider {
  request(args: { method: string; params?: readonly unknown[] | object }): Promise<unknown>;
}

/** An error a JSON-RPC node or a wallet returned (`code`, `message`, `data`: a revert's bytes, when there are some). */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  /** The rollup's custom error, decoded from the revert data (e.g. `NotExitOwner(9, 0x…)`), when it is one. */
  readonly revert: string | undefined;

  constructor(code: number, message: string, data: unknown) {
    const revert = decodeRevert(data);
    super(revert === undefined ? message : `${message}: ${revert}`);
    this.name = "RpcError";
    this.code = code;
    this.data = data;
    this.revert = revert;
  }
}

/**
 * A provider over a JSON-RPC URL (`fetch`). It sends `eth_sendTransaction`, so the node must hold the sending account
 * (a development node: hardhat, anvil); with a real chain, use a wallet's provider (`window.ethereum`), which signs.
 */
export function jsonRpcProvider(url: string, fetchImpl: typeof fetch = globalThis.fetch): Eip1193Provider {
  let id = 0;
  return {
    async request({ method, params }) {
      const res = await fetchImpl(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params ?? [] }),
      });
      const text = await res.text();
      let body: { result?: unknown; error?: { code: number; message: string; data?: unknown } };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        throw new RpcError(-32700, `${url} answered HTTP ${res.status} with no JSON-RPC body: ${text.slice(0, 200)}`, undefined);
      }
      if (body.error !== undefined) throw new RpcError(body.error.code, body.error.message, body.error.data);
      return body.result;
    },
  };
}

// ---------------------------------------------------------------- ABI encoding

/** 4-byte selector of a function or error signature, e.g. `withdrawPending()`. */
export function selector(signature: string): Uint8Array {
  return keccak256(signature).slice(0, 4);
}

/** An event's topic 0, e.g. `ForcedExitQueued(uint64,uint32,address,uint64)`. */
export function eventTopic(signature: string): string {
  return "0x" + toHex(keccak256(signature));
}

function word(v: bigint, bits: number, what: string): Uint8Array {
  if (v < 0n || v >= 1n << BigInt(bits)) throw new RangeError(`${what} must fit uint${bits}, got ${v}`);
  return fromHex(v.toString(16).padStart(64, "0"));
}

/** An ABI value of the static types these calls use. */
export type AbiValue =
  | { type: "uint"; bits: number; value: bigint }
  | { type: "address"; value: string }
  | { type: "bytes32"; value: Uint8Array };

function encodeValue(v: AbiValue): Uint8Array {
  switch (v.type) {
    case "uint":
      return word(v.value, v.bits, `uint${v.bits}`);
    case "address": {
      const b = fromHex(v.value);
      if (b.length !== 20) throw new RangeError(`an address is 20 bytes, got ${b.length}`);
      const out = new Uint8Array(32);
      out.set(b, 12);
      return out;
    }
    case "bytes32":
      if (v.value.length !== 32) throw new RangeError(`bytes32 must be 32 bytes, got ${v.value.length}`);
      return v.value;
  }
}

/**
 * Calldata of a call whose arguments are all static (a fixed array is its elements in order, inline): the selector of
 * `signature` followed by one 32-byte word per value.
 */
export function encodeCall(signature: string, values: readonly AbiValue[]): string {
  const out = new Uint8Array(4 + 32 * values.length);
  out.set(selector(signature));
  values.forEach((v, i) => out.set(encodeValue(v), 4 + 32 * i));
  return "0x" + toHex(out);
}

const u = (bits: number, value: bigint | number): AbiValue => ({ type: "uint", bits, value: BigInt(value) });

/** A public key as the contract takes it: its 5 canonical field elements as `uint64[5]`. */
function pubkeyWords(pk: PublicKey): AbiValue[] {
  return pk.toFields().map((f) => u(64, f));
}

/** A Poseidon digest packed in one bytes32 as the contract takes it: `e0 << 192 | e1 << 128 | e2 << 64 | e3`. */
export function packDigest(d: Digest): Uint8Array {
  return fromHex(d.map((e) => e.toString(16).padStart(16, "0")).join(""));
}

export const SIGNATURES = {
  openAccount: "openAccount(uint64[5])",
  deposit: "deposit(uint32,uint64[5])",
  requestForcedExit: "requestForcedExit(uint32)",
  withdrawPending: "withdrawPending()",
  pendingWithdrawals: "pendingWithdrawals(address)",
  activateExitMode: "activateExitMode()",
  exit: "exit(uint32,uint64[5],uint64,uint32,bytes32[32])",
  exitMode: "exitMode()",
  executedRoot: "executedRoot()",
  DepositQueued: "DepositQueued(uint64,uint32,address,uint64,uint64[5],uint64)",
  ForcedExitQueued: "ForcedExitQueued(uint64,uint32,address,uint64)",
} as const;

/** `openAccount(pubkey)` calldata: opens a new account for the key (send the deposit's wei with it). */
export function encodeOpenAccount(pubkey: PublicKey): string {
  return encodeCall(SIGNATURES.openAccount, pubkeyWords(pubkey));
}

/** `deposit(accountId, pubkey)` calldata: tops up an existing account whose key is `pubkey`. */
export function encodeDeposit(accountId: number, pubkey: PublicKey): string {
  return encodeCall(SIGNATURES.deposit, [u(32, accountId), ...pubkeyWords(pubkey)]);
}

/** `requestForcedExit(accountId)` calldata (the account's exit owner sends it). */
export function encodeRequestForcedExit(accountId: number): string {
  return encodeCall(SIGNATURES.requestForcedExit, [u(32, accountId)]);
}

/** `withdrawPending()` calldata. */
export function encodeWithdrawPending(): string {
  return encodeCall(SIGNATURES.withdrawPending, []);
}

/** `pendingWithdrawals(account)` calldata. */
export function encodePendingWithdrawals(account: string): string {
  return encodeCall(SIGNATURES.pendingWithdrawals, [{ type: "address", value: account }]);
}

/**
 * `exit(accountId, pubkey, balance, nonce, siblings)` calldata: the escape hatch, with the account and its Merkle
 * proof (32 siblings, leaf level first) against the contract's last executed root.
 */
export function encodeExit(accountId: number, account: Account, siblings: readonly Digest[]): string {
  if (siblings.length !== DEPTH) throw new RangeError(`an exit proof has ${DEPTH} siblings, got ${siblings.length}`);
  return encodeCall(SIGNATURES.exit, [
    u(32, accountId),
    ...pubkeyWords(account.pubkey),
    u(64, account.balance),
    u(32, account.nonce),
    ...siblings.map((s): AbiValue => ({ type: "bytes32", value: packDigest(s) })),
  ]);
}

/** The wei value of `units` L2 units (refuses amounts the L2 cannot hold). */
export function unitsToWei(units: bigint): bigint {
  if (units <= 0n || units > MAX_AMOUNT) throw new RangeError(`an L2 amount is 1 ..= 2^62 - 1 units, got ${units}`);
  return units * AMOUNT_UNIT_WEI;
}

// ---------------------------------------------------------------- revert reasons

/** The rollup's errors a user's call can meet. */
const USER_ERRORS = [
  "ContractPaused()",
  "ExitModeActive()",
  "NotInExitMode()",
  "DepositNotMultipleOfUnit(uint256,uint256)",
  "ZeroDeposit()",
  "DepositTooLarge(uint256,uint256)",
  "NonCanonicalPubkey(uint256,uint256)",
  "ZeroPubkey()",
  "PubkeyMismatch(uint32)",
  "NothingToWithdraw(address)",
  "TransferFailed(address,uint256)",
  "NotExitOwner(uint32,address)",
  "UnknownAccount(uint32)",
  "AccountIdsExhausted()",
  "NoPendingPriorityOp(uint64)",
  "PriorityOpNotExpired(uint64,uint64,uint64)",
  "AlreadyExited(uint32)",
  "NoExitOwner(uint32)",
  "BalanceTooLarge(uint64,uint256)",
  "InvalidMerkleProof(uint32)",
  "DepositAlreadyProcessed(uint64)",
  "AlreadyRefunded(uint64)",
  "NotADeposit(uint64)",
];

const ERRORS_BY_SELECTOR: Map<string, string> = new Map(USER_ERRORS.map((s) => [toHex(selector(s)), s]));

function revertHex(data: unknown): string | undefined {
  if (typeof data === "string" && /^0x[0-9a-fA-F]*$/.test(data)) return data;
  if (typeof data === "object" && data !== null) {
    // wallets nest it: { data: "0x…" } or { originalError: { data } }
    for (const k of ["data", "originalError", "cause"]) {
      const inner = revertHex((data as Record<string, unknown>)[k]);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

/** The rollup's custom error in revert data, as `Name(arg, …)` (uint and address arguments), if it is one. */
export function decodeRevert(data: unknown): string | undefined {
  const hex = revertHex(data);
  if (hex === undefined || hex.length < 10) return undefined;
  const sig = ERRORS_BY_SELECTOR.get(hex.slice(2, 10).toLowerCase());
  if (sig === undefined) return undefined;
  const name = sig.slice(0, sig.indexOf("("));
  const types = sig.slice(sig.indexOf("(") + 1, -1).split(",").filter((t) => t !== "");
  const args = types.map((t, i) => {
    const w = hex.slice(10 + 64 * i, 10 + 64 * (i + 1));
    if (w.length !== 64) return "?";
    return t === "address" ? "0x" + w.slice(24) : BigInt("0x" + w).toString();
  });
  return `${name}(${args.join(", ")})`;
}

// ---------------------------------------------------------------- the contract

/** A mined L1 transaction's receipt, as `eth_getTransactionReceipt` returns it (the fields used here). */
export interface Receipt {
  transactionHash: string;
  blockNumber: string;
  status: string;
  logs: { address: string; topics: string[]; data: string }[];
}

/** A deposit or forced exit queued on L1 (the node's bridge hands it to the L2 in queue order). */
export interface Queued {
  l1Tx: string;
  priorityId: bigint;
  account: number;
  /** A deposit's L2 amount; 0 for a forced exit (the L2 pays out the whole balance). */
  amount: bigint;
  /** Unix seconds after which, still unprocessed, it lets anyone switch the rollup into exit mode. */
  expiry: bigint;
}

function wordAt(data: string, i: number): bigint {
  return BigInt("0x" + data.slice(2 + 64 * i, 2 + 64 * (i + 1)));
}

/** The `DepositQueued` or `ForcedExitQueued` event of `rollup` in a receipt. */
export function queuedFromReceipt(receipt: Receipt, rollup: string): Queued {
  const deposit = eventTopic(SIGNATURES.DepositQueued);
  const exit = eventTopic(SIGNATURES.ForcedExitQueued);
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== rollup.toLowerCase()) continue;
    const [topic, priorityId, account] = log.topics;
    if (topic === undefined || priorityId === undefined || account === undefined) continue;
    const base = { l1Tx: receipt.transactionHash, priorityId: BigInt(priorityId), account: Number(BigInt(account)) };
    if (topic.toLowerCase() === deposit) {
      // data: amount, pubkey[5], expiry
      return { ...base, amount: wordAt(log.data, 0), expiry: wordAt(log.data, 6) };
    }
    if (topic.toLowerCase() === exit) {
      return { ...base, amount: 0n, expiry: wordAt(log.data, 0) };
    }
  }
  throw new Error(`transaction ${receipt.transactionHash} queued nothing on rollup ${rollup}`);
}

/** Options of [`RollupL1`]. */
export interface RollupL1Options {
  /** The sending account; by default the provider's first (`eth_accounts`, or `eth_requestAccounts` in a wallet). */
  from?: string;
  /** How often a receipt is polled for (ms). */
  pollMs?: number;
  /** How long to wait for a receipt (ms). */
  timeoutMs?: number;
}

/** The rollup contract at `address`, called through `provider`. Amounts are L2 units (gwei); ETH sent is derived. */
export class RollupL1 {
  readonly provider: Eip1193Provider;
  readonly address: string;
  readonly #opts: RollupL1Options;
  #from: string | undefined;

  constructor(provider: Eip1193Provider, address: string, opts: RollupL1Options = {}) {
    if (fromHex(address).length !== 20) throw new RangeError(`a rollup address is 20 bytes: ${address}`);
    this.provider = provider;
    this.address = address;
    this.#opts = opts;
    this.#from = opts.from;
  }

  /** The sending account. */
  async sender(): Promise<string> {
    if (this.#from !== undefined) return this.#from;
    let accounts = (await this.provider.request({ method: "eth_accounts" })) as string[];
    if (accounts.length === 0) accounts = (await this.provider.request({ method: "eth_requestAccounts" })) as string[];
    const first = accounts[0];
    if (first === undefined) throw new Error("the provider has no account to send from");
    this.#from = first;
    return first;
  }

  /** Opens a new L2 account for `pubkey` with a first deposit of `units`; the sender becomes its exit owner. */
  async openAccount(pubkey: PublicKey, units: bigint): Promise<Queued> {
    return this.#queue(encodeOpenAccount(pubkey), unitsToWei(units));
  }

  /** Deposits `units` into the existing account `accountId`, whose key is `pubkey`. */
  async deposit(accountId: number, pubkey: PublicKey, units: bigint): Promise<Queued> {
    return this.#queue(encodeDeposit(accountId, pubkey), unitsToWei(units));
  }

  /** Queues a forced exit of `accountId` (the sender must be its exit owner). */
  async requestForcedExit(accountId: number): Promise<Queued> {
    return this.#queue(encodeRequestForcedExit(accountId), 0n);
  }

  /** What the rollup owes `account` (wei), to be pulled with `withdrawPending`. */
  async pendingWithdrawals(account?: string): Promise<bigint> {
    const who = account ?? (await this.sender());
    return BigInt((await this.#call(encodePendingWithdrawals(who))) || "0x0");
  }

  /** Pulls what the rollup owes the sender: the wei pulled and the receipt. */
  async withdrawPending(): Promise<{ wei: bigint; receipt: Receipt }> {
    const wei = await this.pendingWithdrawals();
    const receipt = await this.send(encodeWithdrawPending(), 0n);
    return { wei, receipt };
  }

  /** Whether the rollup is in exit mode. */
  async exitMode(): Promise<boolean> {
    return BigInt(await this.#call(encodeCall(SIGNATURES.exitMode, []))) !== 0n;
  }

  /** Switches the rollup into exit mode (anyone may, once a priority operation is past its expiry). */
  async activateExitMode(): Promise<Receipt> {
    return this.send(encodeCall(SIGNATURES.activateExitMode, []), 0n);
  }

  /**
   * The escape hatch (exit mode): pays `account`'s balance to its exit owner as a pending withdrawal, given its Merkle
   * proof against the contract's last executed root (`executedRoot()`).
   */
  async exit(accountId: number, account: Account, siblings: readonly Digest[]): Promise<Receipt> {
    return this.send(encodeExit(accountId, account, siblings), 0n);
  }

  /** Sends `data` with `value` wei to the rollup and waits for its receipt; a revert throws with its reason. */
  async send(data: string, value: bigint): Promise<Receipt> {
    const from = await this.sender();
    const tx = { from, to: this.address, data, value: "0x" + value.toString(16) };
    // estimating first surfaces the contract's refusal by name before anything is signed
    await this.provider.request({ method: "eth_estimateGas", params: [tx] }).catch((e: unknown) => {
      throw asRpcError(e);
    });
    const hash = (await this.provider.request({ method: "eth_sendTransaction", params: [tx] }).catch((e: unknown) => {
      throw asRpcError(e);
    })) as string;
    const receipt = await this.waitForReceipt(hash);
    if (BigInt(receipt.status) !== 1n) throw new Error(`L1 transaction ${hash} reverted`);
    return receipt;
  }

  /** Polls for the receipt of `hash`. */
  async waitForReceipt(hash: string): Promise<Receipt> {
    const deadline = Date.now() + (this.#opts.timeoutMs ?? 120_000);
    for (;;) {
      const r = (await this.provider.request({ method: "eth_getTransactionReceipt", params: [hash] })) as Receipt | null;
      if (r !== null && r !== undefined) return r;
      if (Date.now() > deadline) throw new Error(`no receipt for L1 transaction ${hash}`);
      await new Promise((res) => setTimeout(res, this.#opts.pollMs ?? 500));
    }
  }

  async #queue(data: string, value: bigint): Promise<Queued> {
    return queuedFromReceipt(await this.send(data, value), this.address);
  }

  async #call(data: string): Promise<string> {
    const r = await this.provider
      .request({ method: "eth_call", params: [{ to: this.address, data }, "latest"] })
      .catch((e: unknown) => {
        throw asRpcError(e);
      });
    return r as string;
  }
}

function asRpcError(e: unknown): unknown {
  if (e instanceof RpcError) return e;
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    const o = e as { code: unknown; message: unknown; data?: unknown };
    return new RpcError(Number(o.code), String(o.message), o.data);
  }
  return e;
}
