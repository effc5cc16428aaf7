// Amounts and fees. zkr works in base units (u64 values at most 2^62 − 1); one unit is 1 gwei on L1 (9 decimals
// of ETH). The formatting helpers take the number of decimals as a parameter. The spend checks mirror the Rust
// state transition (circuits/src/state.rs) and the sequencer's fee check (sequencer/src/executor.rs), with the
// same messages, so a wallet can refuse a doomed transaction before it signs.

import { assertU32 } from "./bytes.js";
import { MAX_AMOUNT, type Transfer, type Withdraw } from "./tx.js";

/** Why a spend would be refused, with the Rust text in `message`. */
export type SpendError =
  | { reason: "fee_too_low"; message: string }
  | { reason: "zero_amount"; message: string }
  | { reason: "self_transfer"; message: string }
  | { reason: "withdraw_to_zero_address"; message: string }
  | { reason: "insufficient_balance"; message: string }
  | { reason: "amount_overflow"; message: string };

function checkAmount(v: bigint, what: string): void {
  if (typeof v !== "bigint" || v < 0n || v > MAX_AMOUNT) {
    throw new RangeError(`${what} must be a bigint in 0..=${MAX_AMOUNT}, got ${String(v)}`);
  }
}

/** What a signed transaction debits from its sender: amount + fee (both ≤ 2^62 − 1, so the sum cannot wrap). */
export function totalDebit(amount: bigint, fee: bigint): bigint {
  checkAmount(amount, "amount");
  checkAmount(fee, "fee");
  return amount + fee;
}

/** The sender's balance after debiting `amount + fee`, or `undefined` when it would underflow. */
export function balanceAfterDebit(balance: bigint, amount: bigint, fee: bigint): bigint | undefined {
  checkAmount(balance, "balance");
  const needed = totalDebit(amount, fee);
  return needed > balance ? undefined : balance - needed;
}

/** The recipient's balance after a credit, or `undefined` when it would exceed 2^62 − 1. */
export function balanceAfterCredit(balance: bigint, amount: bigint): bigint | undefined {
  checkAmount(balance, "balance");
  checkAmount(amount, "amount");
  const b = balance + amount;
  return b > MAX_AMOUNT ? undefined : b;
}

/** The context a spend is checked in: the sender's balance, the recipient's (transfers), the sequencer's minimum fee. */
export interface SpendContext {
  readonly senderBalance: bigint;
  /** The transfer recipient's balance (omit to skip the overflow check). */
  readonly recipientBalance?: bigint;
  /** GetInfo's `min_fee` (omit to skip). */
  readonly minFee?: bigint;
}

/**
 * Checks a transfer or withdrawal against balances: the sequencer's minimum fee first, then in the state
 * transition's order self-transfer, zero address, zero amount, sender balance (amount + fee), recipient overflow.
 * Returns `null` when none refuses it (the signature, nonce and accounts' existence are not checked here).
 */
export function checkSpend(tx: Transfer | Withdraw, ctx: SpendContext): SpendError | null {
  checkAmount(tx.amount, "amount");
  checkAmount(tx.fee, "fee");
  const from = assertU32(tx.from, "from");
  if (ctx.minFee !== undefined && tx.fee < ctx.minFee) {
    return { reason: "fee_too_low", message: `fee too low: ${tx.fee} is below this sequencer's minimum fee ${ctx.minFee}` };
  }
  if (tx.kind === "transfer" && tx.to === tx.from) {
    return { reason: "self_transfer", message: `self-transfer from account ${from} to itself is not allowed` };
  }
  if (tx.kind === "withdraw" && tx.l1Address.every((b) => b === 0)) {
    return {
      reason: "withdraw_to_zero_address",
      message: `withdrawal from account ${from} to the zero L1 address: nobody could pull it`,
    };
  }
  if (tx.amount === 0n) {
    return { reason: "zero_amount", message: `zero amount: a ${tx.kind} must move a positive amount` };
  }
  const needed = tx.amount + tx.fee;
  if (balanceAfterDebit(ctx.senderBalance, tx.amount, tx.fee) === undefined) {
    return {
      reason: "insufficient_balance",
      message: `insufficient balance in account ${from}: balance ${ctx.senderBalance}, needed ${needed}`,
    };
  }
  if (tx.kind === "transfer" && ctx.recipientBalance !== undefined) {
    if (balanceAfterCredit(ctx.recipientBalance, tx.amount) === undefined) {
      return {
        reason: "amount_overflow",
        message:
          `amount overflow in account ${tx.to}: balance ${ctx.recipientBalance} + ${tx.amount} ` +
          `exceeds ${MAX_AMOUNT}`,
      };
    }
  }
  return null;
}

function checkDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 30) {
    throw new RangeError(`decimals must be an integer in 0..=30, got ${String(decimals)}`);
  }
}

/** Base units as a decimal string with `decimals` fractional digits, trailing zeros dropped: (1500n, 3) → "1.5". */
export function formatUnits(amount: bigint, decimals: number): string {
  checkDecimals(decimals);
  if (typeof amount !== "bigint" || amount < 0n) throw new RangeError("amount must be a non-negative bigint");
  if (decimals === 0) return amount.toString();
  const scale = 10n ** BigInt(decimals);
  const whole = amount / scale;
  const frac = (amount % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  return frac === "" ? whole.toString() : `${whole}.${frac}`;
}

/**
 * Base units of a decimal string ("1.5" with 3 decimals → 1500n). Refuses signs, exponents, more fractional
 * digits than `decimals`, and values above 2^62 − 1.
 */
export function parseUnits(text: string, decimals: number): bigint {
  checkDecimals(decimals);
  const m = /^(\d+)(?:\.(\d*))?$|^\.(\d+)$/.exec(text.trim());
  if (m === null) throw new RangeError(`not a decimal amount: ${JSON.stringify(text)}`);
  const whole = m[1] ?? "0";
  const frac = m[2] ?? m[3] ?? "";
  if (frac.length > decimals) {
    throw new RangeError(`${JSON.stringify(text)} has more than ${decimals} fractional digits`);
  }
  const v = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0");
  if (v > MAX_AMOUNT) throw new RangeError(`${JSON.stringify(text)} exceeds the largest amount ${MAX_AMOUNT} base units`);
  return v;
}
