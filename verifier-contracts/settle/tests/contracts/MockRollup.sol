// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// Test double of the rollup's lifecycle: commit, prove and execute are accepted only in order, one epoch at a time.
contract MockRollup {
    uint64 public totalCommitted;
    uint64 public totalProven;
    uint64 public totalExecuted;
    mapping(uint64 => bytes32) public statement;

    error OutOfOrder(uint64 expected, uint64 got);
    error StatementMismatch(uint64 epoch);

    event Committed(uint64 indexed epoch);
    event Proven(uint64 indexed epoch);
    event Executed(uint64 indexed epoch);

    function commit(uint64 epoch, bytes[] calldata pubdata, uint256[24] calldata publicInputs) external {
        if (epoch != totalCommitted + 1) revert OutOfOrder(totalCommitted + 1, epoch);
        require(pubdata.length > 0, "no batches");
        statement[epoch] = keccak256(abi.encode(pubdata, publicInputs));
        totalCommitted = epoch;
        emit Committed(epoch);
    }

    function prove(uint64 epoch, bytes calldata proof, bytes32 committed) external {
        if (epoch != totalProven + 1 || epoch > totalCommitted) revert OutOfOrder(totalProven + 1, epoch);
        if (statement[epoch] != committed) revert StatementMismatch(epoch);
        require(proof.length > 0, "empty proof");
        totalProven = epoch;
        emit Proven(epoch);
    }

    function execute(uint64 epoch) external {
        if (epoch != totalExecuted + 1 || epoch > totalProven) revert OutOfOrder(totalExecuted + 1, epoch);
        totalExecuted = epoch;
        emit Executed(epoch);
    }
}
