// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// Test-only stand-in for the generated wrap verifier (same ABI as IZkrVerifier): accepts exactly the
/// (proof, public inputs) pairs a test registered, and can be told to revert.
contract TestVerifier {
    mapping(bytes32 => bool) public accepted;
    bool public reverts;
    /// Accept everything (to measure the rollup's own cost of proveEpoch).
    bool public acceptAll;

    function accept(bytes calldata proof, uint256[24] calldata publicInputs) external {
        accepted[keccak256(abi.encode(proof, publicInputs))] = true;
    }

    function setReverts(bool r) external {
        reverts = r;
    }

    function setAcceptAll(bool a) external {
        acceptAll = a;
    }

    function verifyProof(bytes calldata proof, uint256[24] calldata publicInputs) external view returns (bool) {
        if (reverts) revert("TestVerifier: told to revert");
        if (acceptAll) return true;
        return accepted[keccak256(abi.encode(proof, publicInputs))];
    }
}
