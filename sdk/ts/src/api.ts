// A client of the sequencer's wallet HTTP API (the JSON gateway over the gRPC wallet service; sequencer/src/http.rs).
// `fetch` only: Node ≥ 20 and browsers.

import { fromHex, toHex } from "./bytes.js";
import { type AccountResponse } from "./merkle.js";
import { type Domain, type SignedTx, signedTxToBytes } from "./tx.js";

/** A transaction's stage (`TxStage` in the proto, lower case). */
export type TxStage = "received" | "sequenced" | "proven" | "aggregated" | "finalized" | "rejected";

/** The stages a transaction never leaves. */
export const FINAL_STAGES: readonly TxStage[] = ["finalized", "rejected"];

export interface TxStatus {
  stage: TxStage;
  /** The batch, from `sequenced` on. */
  batch: number | null;
  /** Why, when `rejected`. */
  reason: string | null;
  /** A deposit's or forced exit's L1 transaction (0x…). */
  l1Tx: string | null;
  /** Once `finalized`: the L1 transaction that executed its epoch. */
  executeTx: string | null;
}

export interface Submitted {
  /** 0x + 64 hex digits: `txHashHex(txId(tx))`. */
  hash: string;
  status: TxStatus;
}

export interface Info {
  /** The domain every signature is made for. */
  domain: Domain;
  batchCapacity: number;
  /** The smallest fee accepted (L2 units). */
  minFee: bigint;
  feeAccount: number;
}

/** An account as the API returns it, with its Merkle proof (`verifyAccountResponse(id, account)` checks it). */
export interface AccountView extends AccountResponse {
  account: number;
  proven: boolean;
  /** Sealed batches included in this state. */
  batches: number;
}

/** A refusal or failure of the API: the HTTP status, the sequencer's stable label and its message. */
export class ApiError extends Error {
  readonly status: number;
  /** e.g. `nonce_too_low`, `insufficient_balance`, `bad_signature`, `unknown_tx`, `too_large`, `unavailable`. */
  readonly reason: string;

  constructor(status: number, reason: string, message: string) {
    super(`${message} (${reason})`);
    this.name = "ApiError";
    this.status = status;
    this.reason = reason;
  }
}

export interface ClientOptions {
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
}

export interface FollowOptions {
  /** Called with each status as it arrives (the current one first). */
  onStatus?: (status: TxStatus) => void;
  /** Stop following. */
  signal?: AbortSignal;
  /** Poll `GET /v1/tx/{hash}` every this many ms instead of opening an event stream. */
  pollMs?: number;
}

interface StatusJson {
  stage: TxStage;
  batch: number | null;
  reason: string | null;
  l1_tx: string | null;
  execute_tx: string | null;
}

function status(j: StatusJson): TxStatus {
  return { stage: j.stage, batch: j.batch, reason: j.reason, l1Tx: j.l1_tx, executeTx: j.execute_tx };
}

/** A client of a sequencer's HTTP API, e.g. `new ZkrClient("http://127.0.0.1:50080")`. */
export class ZkrClient {
  readonly baseUrl: string;
  readonly #fetch: typeof fetch;

  constructor(baseUrl: string, opts: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    const f = opts.fetch ?? globalThis.fetch;
    // a browser's fetch must be called unbound from its window
    this.#fetch = (input, init) => f(input, init);
  }

  /** The domain, the minimum fee and the batch shape (`GET /v1/info`). */
  async info(): Promise<Info> {
    const j = (await this.#json("GET", "/v1/info")) as {
      chain_id: string;
      rollup_id: string;
      batch_capacity: number;
      min_fee: string;
      fee_account: number;
    };
    return {
      domain: { chainId: BigInt(j.chain_id), rollupId: BigInt(j.rollup_id) },
      batchCapacity: j.batch_capacity,
      minFee: BigInt(j.min_fee),
      feeAccount: j.fee_account,
    };
  }

  /** Submits a signed transaction (`POST /v1/tx`); resolves once the sequencer stored it, or throws its refusal. */
  async submit(tx: SignedTx | Uint8Array): Promise<Submitted> {
    const bytes = tx instanceof Uint8Array ? tx : signedTxToBytes(tx);
    const j = (await this.#json("POST", "/v1/tx", "0x" + toHex(bytes))) as { hash: string; status: StatusJson };
    return { hash: j.hash, status: status(j.status) };
  }

  /** The status of a transaction (`GET /v1/tx/{hash}`); an unknown hash throws an ApiError with status 404. */
  async status(hash: string): Promise<TxStatus> {
    return status((await this.#json("GET", `/v1/tx/${hash}`)) as StatusJson);
  }

  /** An account with its Merkle proof, in the latest state or (`proven`) the state after the last proven batch. */
  async account(id: number, opts: { proven?: boolean } = {}): Promise<AccountView> {
    const j = (await this.#json("GET", `/v1/account/${id}${opts.proven === true ? "?proven=true" : ""}`)) as {
      account: number;
      proven: boolean;
      exists: boolean;
      balance: string;
      nonce: number;
      pubkey: string | null;
      root: string;
      siblings: string[];
      batches: number;
    };
    return {
      account: j.account,
      proven: j.proven,
      exists: j.exists,
      balance: BigInt(j.balance),
      nonce: j.nonce,
      pubkey: j.pubkey === null ? new Uint8Array(0) : fromHex(j.pubkey),
      root: fromHex(j.root),
      siblings: j.siblings.map(fromHex),
      batches: j.batches,
    };
  }

  /**
   * Follows a transaction until it is `finalized` or `rejected` (or `until` is reached) and returns that status. Uses
   * the event stream (`GET /v1/tx/{hash}/events`), or polling with `pollMs`.
   */
  async follow(hash: string, opts: FollowOptions & { until?: TxStage } = {}): Promise<TxStatus> {
    const done = (s: TxStatus): boolean =>
      FINAL_STAGES.includes(s.stage) || (opts.until !== undefined && reached(s.stage, opts.until));
    if (opts.pollMs !== undefined) return this.#poll(hash, opts.pollMs, done, opts);
    let last: TxStatus | undefined;
    for await (const s of this.events(hash, opts.signal)) {
      last = s;
      opts.onStatus?.(s);
      if (done(s)) return s;
    }
    // the stream ended early (the server went away): the current status says where it stands
    last = await this.status(hash);
    if (done(last)) return last;
    throw new ApiError(503, "stream_ended", `the status stream of ${hash} ended at ${last.stage}`);
  }

  /** The status of `hash` as it changes (Server-Sent Events); ends after `finalized` or `rejected`. */
  async *events(hash: string, signal?: AbortSignal): AsyncGenerator<TxStatus> {
    const res = await this.#fetch(`${this.baseUrl}/v1/tx/${hash}/events`, {
      headers: { accept: "text/event-stream" },
      ...(signal === undefined ? {} : { signal }),
    });
    if (!res.ok) throw await apiError(res);
    if (res.body === null) throw new ApiError(502, "no_body", "the event stream has no body");
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value.replace(/\r\n/g, "\n");
        let end: number;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const v = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") event = v;
            else if (field === "data") data.push(v);
          }
          if (data.length === 0) continue;
          const j = JSON.parse(data.join("\n")) as {
            status?: StatusJson;
            error?: { status: number; reason: string; message: string };
          };
          if (event === "error" && j.error !== undefined) throw new ApiError(j.error.status, j.error.reason, j.error.message);
          if (event === "status" && j.status !== undefined) yield status(j.status);
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  async #poll(hash: string, ms: number, done: (s: TxStatus) => boolean, opts: FollowOptions): Promise<TxStatus> {
    let last: string | undefined;
    for (;;) {
      opts.signal?.throwIfAborted();
      const s = await this.status(hash);
      const key = JSON.stringify(s);
      if (key !== last) {
        last = key;
        opts.onStatus?.(s);
      }
      if (done(s)) return s;
      await new Promise((res) => setTimeout(res, ms));
    }
  }

  async #json(method: string, path: string, body?: string): Promise<unknown> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.baseUrl}${path}`, {
        method,
        // text/plain keeps a browser's cross-origin POST a "simple" request (no preflight)
        ...(body === undefined ? {} : { body, headers: { "content-type": "text/plain" } }),
      });
    } catch (e) {
      throw new ApiError(0, "unreachable", `${this.baseUrl} did not answer: ${(e as Error).message}`);
    }
    if (!res.ok) throw await apiError(res);
    return res.json();
  }
}

const ORDER: readonly TxStage[] = ["received", "sequenced", "proven", "aggregated", "finalized"];

/** Whether `stage` is at or past `target` (a rejected transaction reaches nothing). */
export function reached(stage: TxStage, target: TxStage): boolean {
  if (stage === "rejected" || target === "rejected") return stage === target;
  return ORDER.indexOf(stage) >= ORDER.indexOf(target);
}

async function apiError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const j = JSON.parse(text) as { error?: { reason?: string; message?: string } };
    if (j.error?.reason !== undefined) return new ApiError(res.status, j.error.reason, j.error.message ?? text);
  } catch {
    // not the API's JSON: a proxy's page, say
  }
  return new ApiError(res.status, "http_error", `HTTP ${res.status}: ${text.slice(0, 200)}`);
}
