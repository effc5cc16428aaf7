// @zkr/sdk: the wallet side of zkr, byte-compatible with the Rust statement (circuits/).

export * as field from "./field.js";
export * as ext5 from "./ext5.js";
export type { Fp5 } from "./ext5.js";
export { Point, A as CURVE_A, B as CURVE_B } from "./curve.js";
export { N as SCALAR_ORDER, SCALAR_BYTES, reduceScalar, scalarToBytes, scalarFromWideBytes } from "./scalar.js";
export {
  type Digest,
  ZERO_DIGEST,
  permute,
  hashNoPad,
  hashNToMNoPad,
  twoToOne,
  hashOrNoop,
  digestEq,
  digestToBytes,
  digestFromBytes,
  digestToHex,
  txHashHex,
} from "./poseidon.js";
export {
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SIGNATURE_BYTES,
  type SchnorrErrorKind,
  SchnorrError,
  PublicKey,
  SecretKey,
  Signature,
  challenge,
  challengeScalar,
} from "./schnorr.js";
export * from "./tx.js";
export {
  DEPTH,
  type Account,
  type AccountResponse,
  accountLeafFields,
  accountLeaf,
  leafOf,
  emptyHashes,
  emptyRoot,
  MerkleProof,
  SparseMerkleTree,
  verifyAccountResponse,
} from "./merkle.js";
export * from "./amounts.js";
export { toHex, fromHex, bytesEqual, concatBytes } from "./bytes.js";
export { keccak256 } from "./keccak.js";
export * from "./api.js";
export * from "./l1.js";
