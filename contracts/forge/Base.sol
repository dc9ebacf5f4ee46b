// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LilyEscrow} from "../LilyEscrow.sol";

/// @dev The forge cheatcodes the suite uses (the Vm interface at its fixed address; no forge-std).
interface Vm {
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function deal(address account, uint256 balance) external;
    function expectRevert(bytes4 selector) external;
    function expectRevert(bytes calldata data) external;
    function expectRevert() external;
    function assume(bool condition) external pure;
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function etch(address target, bytes calldata code) external;
}

/// @dev Assertions and fixtures shared by the suites.
abstract contract Base {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    uint256 internal constant N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;

    uint256 internal constant CHALLENGE_WINDOW = 600;
    uint256 internal constant FEE = 1e15;
    uint256 internal constant MIN_STAKE = 1e16;
    uint256 internal constant MEDIATOR_TIMEOUT = 900;
    uint256 internal constant UNSTAKE_DELAY = 3600;
    uint256 internal constant DISPUTE_TIMEOUT = 3600;
    uint256 internal constant MEDIATOR_DELAY = 3600;

    error AssertionFailed(string what);

    function assertTrue(bool ok, string memory what) internal pure {
        if (!ok) revert AssertionFailed(what);
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what);
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what);
    }

    /// @dev x mapped into [lo, hi].
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (hi <= lo) return lo;
        return lo + (x % (hi - lo + 1));
    }

    function newEscrow() internal returns (LilyEscrow) {
        return new LilyEscrow(address(0), CHALLENGE_WINDOW, FEE, MIN_STAKE, MEDIATOR_TIMEOUT, UNSTAKE_DELAY, DISPUTE_TIMEOUT, MEDIATOR_DELAY);
    }

    /// @dev The draw commitment LilyEscrow.commitment computes.
    function commitOf(bytes32 id, address party, bytes32 secret) internal pure returns (bytes32) {
        return keccak256(abi.encode(id, party, secret));
    }

    /// @dev A party's draw secret in the tests.
    function secretOf(bytes32 id, address party) internal pure returns (bytes32) {
        return keccak256(abi.encode("secret", id, party));
    }

    function sig(uint256 pk, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The same signature with s' = n − s and the other v: valid for ecrecover, refused as malleable.
    function highS(uint256 pk, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        return abi.encodePacked(r, bytes32(N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    /// @dev An EIP-2098 compact signature (r, vs) of `pk` over `digest`.
    function compact(uint256 pk, bytes32 digest) internal pure returns (bytes32 r, bytes32 vs) {
        (uint8 v, bytes32 r_, bytes32 s) = vm.sign(pk, digest);
        return (r_, bytes32(uint256(s) | (uint256(v - 27) << 255)));
    }

    /// @dev openDealPacked_XMg's `party` word: the other party, timeout, matchEpoch.
    function packParty(LilyEscrow.Deal memory d, bool senderIsCreator) internal pure returns (uint256) {
        address other = senderIsCreator ? d.provider : d.creator;
        return uint256(uint160(other)) | (uint256(d.timeout) << 160) | (uint256(d.matchEpoch) << 192);
    }

    /// @dev openDealPacked_XMg's `terms` word: price, collateral, openBy, the sender's role.
    function packTerms(LilyEscrow.Deal memory d, bool senderIsCreator) internal pure returns (uint256) {
        return uint256(uint96(d.price)) | (uint256(uint96(d.collateral)) << 96) | (uint256(d.openBy) << 192)
            | (senderIsCreator ? uint256(1) << 255 : 0);
    }

    /// @dev Opens `d` with openDealPacked_XMg, sent by one party with the other's compact signature.
    function openPacked(LilyEscrow e, LilyEscrow.Deal memory d, uint256 otherPk, bool senderIsCreator)
        internal
        returns (bytes32 id)
    {
        (bytes32 r, bytes32 vs) = compact(otherPk, e.dealId(d));
        vm.prank(senderIsCreator ? d.creator : d.provider);
        id = e.openDealPacked_XMg(d.jobOfferHash, d.resourceOfferHash, packParty(d, senderIsCreator), packTerms(d, senderIsCreator), r, vs);
    }

    function fund(LilyEscrow e, address who, uint256 amount) internal {
        vm.deal(who, who.balance + amount);
        vm.prank(who);
        e.deposit{value: amount}(amount);
    }

    function makeDeal(bytes32 job, address creator, address provider, uint256 price, uint256 collateral)
        internal
        view
        returns (LilyEscrow.Deal memory)
    {
        return LilyEscrow.Deal({
            jobOfferHash: job,
            resourceOfferHash: keccak256(abi.encode("resource", job)),
            creator: creator,
            provider: provider,
            price: price,
            collateral: collateral,
            timeout: 1200,
            matchEpoch: 42,
            openBy: uint64(block.timestamp + 1 days)
        });
    }
}
