// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TestToken} from "./TestToken.sol";

/// @title ReentrantToken — a malicious ERC-20 that calls back into the escrow from inside
/// `transfer` and `transferFrom`, to prove the escrow's reentrancy lock and
/// checks-effects-interactions hold. Each callback's outcome is recorded.
contract ReentrantToken is TestToken {
    /// @notice Escrow to attack (0 = behave).
    address public target;
    /// @notice Calldata to send to the escrow during the next transfer.
    bytes public payload;
    /// @notice How many callbacks were attempted / succeeded.
    uint256 public attempts;
    uint256 public successes;
    /// @notice Revert data of the last failed callback.
    bytes public lastError;

    /// @notice Arms the attack: during the next transfer, call `target_` with `payload_`.
    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function transfer(address to, uint256 amount) public override returns (bool) {
        _attack();
        return super.transfer(to, amount);
    }

    function transferFrom(address from, address to, uint256 amount) public override returns (bool) {
        _attack();
        return super.transferFrom(from, to, amount);
    }

    function _attack() internal {
        address t = target;
        if (t == address(0)) return;
        target = address(0);
        attempts++;
        (bool ok, bytes memory ret) = t.call(payload);
        if (ok) successes++;
        else lastError = ret;
    }
}
