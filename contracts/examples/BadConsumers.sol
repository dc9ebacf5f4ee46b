// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LilyRequests, ILilyConsumer} from "../LilyRequests.sol";

/// @title RevertingConsumer — a consumer whose callback always reverts (tests: the provider is still paid)
contract RevertingConsumer is ILilyConsumer {
    /// @dev Always thrown by the callback.
    error NoThanks();

    /// @notice Requests a job through `requests`, paying msg.value.
    /// @param requests the companion
    /// @param p the terms
    /// @return the request id
    function run(LilyRequests requests, LilyRequests.RequestParams calldata p) external payable returns (uint64) {
        return requests.request{value: msg.value}(p);
    }

    /// @notice Reverts.
    function onLilyResult(uint64, bytes32, bytes calldata, bool) external pure {
        revert NoThanks();
    }
}

/// @title GasBurnerConsumer — a consumer whose callback burns all the gas it gets (tests: the provider is still paid)
contract GasBurnerConsumer is ILilyConsumer {
    /// @notice Counter the callback increments forever.
    uint256 public spins;

    /// @notice Requests a job through `requests`, paying msg.value.
    /// @param requests the companion
    /// @param p the terms
    /// @return the request id
    function run(LilyRequests requests, LilyRequests.RequestParams calldata p) external payable returns (uint64) {
        return requests.request{value: msg.value}(p);
    }

    /// @notice Loops until out of gas.
    function onLilyResult(uint64, bytes32, bytes calldata, bool) external {
        while (true) {
            ++spins;
        }
    }
}
