// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IEscrowForReceiver {
    function deposit(uint256 amount) external payable;
    function withdraw(uint256 amount) external;
}

/// @title ReentrantReceiver — an account whose receive() re-enters the escrow's withdraw,
/// to prove ETH payouts cannot be drained twice. The callback's outcome is recorded.
contract ReentrantReceiver {
    IEscrowForReceiver public immutable escrow;
    uint256 public attempts;
    uint256 public successes;
    bytes public lastError;
    uint256 private _reenterAmount;

    constructor(address escrow_) {
        escrow = IEscrowForReceiver(escrow_);
    }

    /// @notice Deposits msg.value into the escrow.
    function deposit() external payable {
        escrow.deposit{value: msg.value}(msg.value);
    }

    /// @notice Withdraws `amount`, then tries to withdraw `reenterAmount` again from receive().
    function attack(uint256 amount, uint256 reenterAmount) external {
        _reenterAmount = reenterAmount;
        escrow.withdraw(amount);
    }

    receive() external payable {
        uint256 a = _reenterAmount;
        if (a == 0) return;
        _reenterAmount = 0;
        attempts++;
        try escrow.withdraw(a) {
            successes++;
        } catch (bytes memory ret) {
            lastError = ret;
        }
    }
}
