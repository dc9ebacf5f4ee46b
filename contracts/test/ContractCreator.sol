// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ContractCreator — a contract account that creates jobs: it approves deals either by
/// EIP-1271 (its owner's ECDSA signature) or on-chain through the escrow's approveDeal.
contract ContractCreator {
    /// @notice The EOA whose signatures this contract accepts.
    address public immutable owner;

    error NotOwner();

    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice EIP-1271: valid when `signature` is the owner's 65-byte signature of `digest`.
    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        return ecrecover(digest, v, r, s) == owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
    }

    /// @notice Calls `target` with `data` and `msg.value` (owner only).
    function exec(address target, bytes calldata data) external payable returns (bytes memory) {
        if (msg.sender != owner) revert NotOwner();
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        return ret;
    }

    receive() external payable {}
}
