// Account leaves and the sparse Merkle tree's proofs (circuits/src/state.rs, circuits/src/smt.rs): a leaf is
// Poseidon(pubkey (5), balance, nonce), an empty leaf is the zero digest, nodes are two_to_one, depth 32, and
// bit h of the account id says whether the node at height h on the path is a right child.

import { assertU32, assertU64 } from "./bytes.js";
import { type Digest, ZERO_DIGEST, digestEq, digestFromBytes, hashNoPad, twoToOne } from "./poseidon.js";
import { PublicKey } from "./schnorr.js";

/** Tree depth: one leaf per u32 account id. */
export const DEPTH = 32;

/** An account as its leaf holds it. */
export interface Account {
  readonly pubkey: PublicKey;
  readonly balance: bigint;
  readonly nonce: number;
}

/** The leaf's hash input: the key's 5 elements, balance, nonce. */
export function accountLeafFields(a: Account): bigint[] {
  assertU64(a.balance, "balance");
  if (a.balance >= 0xffff_ffff_0000_0001n) throw new RangeError("balance is not a canonical field element");
  assertU32(a.nonce, "nonce");
  return [...a.pubkey.toFields(), a.balance, BigInt(a.nonce)];
}

/** The leaf of an account. */
export function accountLeaf(a: Account): Digest {
  return hashNoPad(accountLeafFields(a));
}

/** The leaf of an optional account (`null`: the empty leaf, the zero digest). */
export function leafOf(a: Account | null): Digest {
  return a === null ? ZERO_DIGEST : accountLeaf(a);
}

let EMPTY: Digest[] | undefined;

/** `emptyHashes()[h]`: the root of an empty subtree of height h (h = 0: the empty leaf). */
export function emptyHashes(): readonly Digest[] {
  if (EMPTY === undefined) {
    const out: Digest[] = [ZERO_DIGEST];
    for (let h = 1; h <= DEPTH; h++) out.push(twoToOne(out[h - 1]!, out[h - 1]!));
    EMPTY = out;
  }
  return EMPTY;
}

/** The root of the empty tree. */
export function emptyRoot(): Digest {
  return emptyHashes()[DEPTH]!;
}

/** An inclusion proof: the siblings from the leaf level (index 0) up to just below the root. */
export class MerkleProof {
  readonly index: number;
  readonly siblings: readonly Digest[];

  constructor(index: number, siblings: readonly Digest[]) {
    this.index = assertU32(index, "leaf index");
    this.siblings = [...siblings];
  }

  /** The root obtained by hashing `leaf` up this path. */
  rootFor(leaf: Digest): Digest {
    let node = leaf;
    this.siblings.forEach((sib, h) => {
      const right = h < 32 && ((this.index >>> h) & 1) === 1;
      node = right ? twoToOne(sib, node) : twoToOne(node, sib);
    });
    return node;
  }

  /** Whether `leaf` sits at `index` under `root` (and the path has 32 siblings). */
  verify(root: Digest, leaf: Digest): boolean {
    return this.siblings.length === DEPTH && digestEq(this.rootFor(leaf), root);
  }
}

/**
 * A sparse tree in memory, as the Rust `SparseMerkleTree`: only non-empty nodes are stored. For tools and tests
 * (a wallet only needs {@link MerkleProof}).
 */
export class SparseMerkleTree {
  readonly #nodes = new Map<string, Digest>();

  #node(height: number, index: bigint): Digest {
    return this.#nodes.get(`${height}:${index}`) ?? emptyHashes()[height]!;
  }

  root(): Digest {
    return this.#node(DEPTH, 0n);
  }

  leaf(index: number): Digest {
    return this.#node(0, BigInt(assertU32(index, "leaf index")));
  }

  /** Sets a leaf and rehashes its path (the empty value removes stored nodes). */
  set(index: number, leaf: Digest): void {
    let idx = BigInt(assertU32(index, "leaf index"));
    let node = leaf;
    for (let h = 0; h <= DEPTH; h++) {
      const key = `${h}:${idx}`;
      if (digestEq(node, emptyHashes()[h]!)) this.#nodes.delete(key);
      else this.#nodes.set(key, node);
      if (h === DEPTH) break;
      const sib = this.#node(h, idx ^ 1n);
      node = (idx & 1n) === 1n ? twoToOne(sib, node) : twoToOne(node, sib);
      idx >>= 1n;
    }
  }

  prove(index: number): MerkleProof {
    let idx = BigInt(assertU32(index, "leaf index"));
    const siblings: Digest[] = [];
    for (let h = 0; h < DEPTH; h++) {
      siblings.push(this.#node(h, idx ^ 1n));
      idx >>= 1n;
    }
    return new MerkleProof(index, siblings);
  }
}

/** The wallet API's GetAccountResponse (bytes as the gRPC message carries them). */
export interface AccountResponse {
  readonly exists: boolean;
  readonly balance: bigint;
  readonly nonce: number;
  /** 40 bytes; empty when the account does not exist. */
  readonly pubkey: Uint8Array;
  /** 32 bytes. */
  readonly root: Uint8Array;
  /** 32 siblings of 32 bytes, leaf level first. */
  readonly siblings: readonly Uint8Array[];
}

/**
 * Checks a GetAccount answer for account `id`: the account's leaf (or the empty leaf when `exists` is false) must
 * hash up its siblings to `root`. Returns the account (or null) and the root; throws with the reason otherwise.
 */
export function verifyAccountResponse(id: number, r: AccountResponse): { account: Account | null; root: Digest } {
  const root = digestFromBytes(r.root);
  if (r.siblings.length !== DEPTH) throw new Error(`account proof has ${r.siblings.length} siblings, expected ${DEPTH}`);
  const proof = new MerkleProof(id, r.siblings.map(digestFromBytes));
  let account: Account | null = null;
  if (r.exists) {
    account = { pubkey: PublicKey.fromCanonicalBytes(r.pubkey), balance: r.balance, nonce: r.nonce };
  } else if (r.pubkey.length !== 0 || r.balance !== 0n || r.nonce !== 0) {
    throw new Error("an account that does not exist has no key, balance or nonce");
  }
  if (!proof.verify(root, leafOf(account))) {
    throw new Error(`account ${id}: the Merkle proof does not lead to the root`);
  }
  return { account, root };
}
