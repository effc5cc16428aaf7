// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {PoseidonGoldilocks} from "./generated/PoseidonGoldilocks.sol";

/// What the rollup needs of Poseidon (plonky2's, over Goldilocks). Elements are uint256 words < p.
interface IZkrPoseidon {
    /// plonky2 hash_n_to_hash_no_pad.
    function hashNoPad(uint256[] calldata input) external pure returns (uint256[4] memory);
    /// The root of a sparse-Merkle-tree path (smt.rs MerkleProof::root_for): `siblings[h]` is the sibling at height
    /// h, leaf level first; bit h of `index` set means the node at height h is a right child.
    function smtRoot(uint256[4] calldata leaf, uint256 index, uint256[4][] calldata siblings)
        external
        pure
        returns (uint256[4] memory);
}

/// The generated PoseidonGoldilocks library as a deployed contract: the rollup calls it instead of linking it in,
/// which keeps the rollup's runtime code under EIP-170's 24,576 bytes.
contract ZkrPoseidon is IZkrPoseidon {
    function hashNoPad(uint256[] calldata input) external pure returns (uint256[4] memory) {
        return PoseidonGoldilocks.hashNoPad(input);
    }

    function smtRoot(uint256[4] calldata leaf, uint256 index, uint256[4][] calldata siblings)
        external
        pure
        returns (uint256[4] memory node)
    {
        node = leaf;
        for (uint256 h; h < siblings.length; ++h) {
            uint256[4] memory sib = siblings[h];
            node = (index >> h) & 1 == 1 ? PoseidonGoldilocks.twoToOne(sib, node) : PoseidonGoldilocks.twoToOne(node, sib);
        }
    }
}
