// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LilyRequests, ILilyConsumer} from "../LilyRequests.sol";

/// @title ExampleConsumer — a contract that buys a compute job from lilynode
/// @notice `run` requests a job (e.g. the cowsay module's hash) paying in ETH; `onLilyResult`
/// stores the last result hash and data, and only LilyRequests may call it.
contract ExampleConsumer is ILilyConsumer {
    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                       CUSTOM ERRORS                        */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev Only LilyRequests may deliver results.
    error OnlyRequests(address caller);
    /// @dev Only the owner may request jobs or withdraw.
    error OnlyOwner(address caller);
    /// @dev Sending ETH failed.
    error TransferFailed();

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                           EVENTS                           */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev A result for `requestId` was stored.
    event ResultReceived(uint64 indexed requestId, bytes32 resultHash, bytes data, bool isFinal);

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                          STORAGE                           */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice The companion contract results come from.
    LilyRequests public immutable requests;
    /// @notice Who may request jobs and withdraw refunds.
    address public immutable owner;
    /// @notice The request of the last result.
    uint64 public lastRequestId;
    /// @notice The last result hash.
    bytes32 public lastResultHash;
    /// @notice The last result data.
    bytes public lastData;
    /// @notice Whether the last result is final (paid, no longer challengeable).
    bool public lastFinal;

    /// @param requests_ the LilyRequests deployment
    constructor(LilyRequests requests_) {
        requests = requests_;
        owner = msg.sender;
    }

    /// @notice Accepts refunds withdrawn from LilyRequests.
    receive() external payable {}

    /// @notice Requests a job, paying msg.value (= p.maxPrice) in ETH.
    /// @param p the request's terms
    /// @return requestId the request's id
    function run(LilyRequests.RequestParams calldata p) external payable returns (uint64 requestId) {
        if (msg.sender != owner) revert OnlyOwner(msg.sender);
        return requests.request{value: msg.value}(p);
    }

    /// @notice Stores the result; only LilyRequests may call it.
    /// @param requestId the request
    /// @param resultHash the result bundle's hash
    /// @param data the short result
    /// @param isFinal whether the result can no longer be challenged
    function onLilyResult(uint64 requestId, bytes32 resultHash, bytes calldata data, bool isFinal) external {
        if (msg.sender != address(requests)) revert OnlyRequests(msg.sender);
        lastRequestId = requestId;
        lastResultHash = resultHash;
        lastData = data;
        lastFinal = isFinal;
        emit ResultReceived(requestId, resultHash, data, isFinal);
    }

    /// @notice Withdraws this contract's refunds from LilyRequests and sends all its ETH to the owner.
    function withdraw() external {
        if (msg.sender != owner) revert OnlyOwner(msg.sender);
        if (requests.creditOf(address(this)) != 0) requests.withdraw(address(this));
        (bool ok,) = owner.call{value: address(this).balance}("");
        if (!ok) revert TransferFailed();
    }
}
