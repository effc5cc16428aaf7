// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// A small contract for exercising an L1 backend: a constructor argument, state, an event, a revert, value.
contract Counter {
    uint256 public n;
    event Bumped(uint256 n);

    constructor(uint256 start) {
        n = start;
    }

    function bump(uint256 by) external payable {
        require(by < 100, "too big");
        n += by;
        emit Bumped(n);
    }

    function held() external view returns (uint256) {
        return address(this).balance;
    }
}
