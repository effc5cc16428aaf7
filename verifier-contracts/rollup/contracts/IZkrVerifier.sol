// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// The wrap-proof verifier the rollup calls (the generated ZkrVerifier.sol implements it).
interface IZkrVerifier {
    /// True iff `proof` (zkr's calldata encoding of a wrap proof) is valid for these 20 public inputs
    /// (Goldilocks elements < p, in order: oldRoot[4], newRoot[4], pubdataCommitment[4], depositsCommitment[4],
    /// withdrawalsCommitment[4]). May revert on a malformed encoding (callers treat a revert as "invalid").
    function verifyProof(bytes calldata proof, uint256[20] calldata publicInputs) external view returns (bool);
}
