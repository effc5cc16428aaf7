// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// The wrap-proof verifier the rollup calls (the generated ZkrVerifier.sol implements it).
interface IZkrVerifier {
    /// True iff `proof` (zkr's calldata encoding of a wrap proof) is valid for these 24 public inputs, in order:
    /// oldRoot[4], newRoot[4] (Goldilocks elements < p: a packed Poseidon digest's e0..e3), dataIn[8], dataOut[8] (the
    /// Keccak data chain's digest before and after the epoch as eight 32-bit limbs, limb k = bytes 4k..4k+4 read
    /// big-endian, so uint256(digest) = Σ limb_k · 2^(32·(7−k))). May revert on a malformed encoding (callers treat a
    /// revert as "invalid").
    function verifyProof(bytes calldata proof, uint256[24] calldata publicInputs) external view returns (bool);
}
