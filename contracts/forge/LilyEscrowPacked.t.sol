// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LilyEscrow} from "../LilyEscrow.sol";
import {Base} from "./Base.sol";

/// @dev The compact happy path (openDealPacked_XMg, completePacked_TWd): the same deal, checks and
/// effects as openDeal / complete, from fewer calldata bytes.
contract LilyEscrowPackedTest is Base {
    LilyEscrow internal e;
    uint256 internal constant CPK = 0xC0FFEE;
    uint256 internal constant PPK = 0xBEEF;
    address internal creator;
    address internal provider;

    function setUp() public {
        vm.warp(1_700_000_000);
        e = newEscrow();
        creator = vm.addr(CPK);
        provider = vm.addr(PPK);
        fund(e, creator, 100 ether);
        fund(e, provider, 100 ether);
    }

    function _status(LilyEscrow.Deal memory d) internal view returns (uint8 s) {
        (, s,) = e.dealState(d);
    }

    /// @dev openDealPacked_XMg of `d` with the signature (r, vs); the caller pranks the sender.
    function _send(LilyEscrow.Deal memory d, bool byCreator, bytes32 r, bytes32 vs) internal {
        e.openDealPacked_XMg(d.jobOfferHash, d.resourceOfferHash, packParty(d, byCreator), packTerms(d, byCreator), r, vs);
    }

    function _completePacked(LilyEscrow.Deal memory d, bytes32 rh, uint256 signerPk, address sender, uint256 payout)
        internal
    {
        bytes32 id = e.dealId(d);
        (bytes32 r, bytes32 vs) = compact(signerPk, e.hashResultAcceptance(id, rh));
        vm.prank(sender);
        e.completePacked_TWd(d.jobOfferHash, id, payout, rh, r, vs);
    }

    function testFuzz_packedOpenIsTheSameDealAsOpenDeal(
        bytes32 job,
        uint96 price,
        uint96 collateral,
        uint32 timeout_,
        uint64 epoch,
        bool byCreator
    ) public {
        price = uint96(bound(price, 0, 50 ether));
        collateral = uint96(bound(collateral, 0, 50 ether));
        LilyEscrow.Deal memory d = makeDeal(job, creator, provider, price, collateral);
        d.timeout = timeout_;
        d.matchEpoch = epoch;
        uint256 c0 = e.balanceOf(creator);
        uint256 p0 = e.balanceOf(provider);
        bytes32 id = openPacked(e, d, byCreator ? PPK : CPK, byCreator);
        (bytes32 stateId, uint8 s, uint40 deadline) = e.dealState(d);
        assertTrue(id == e.dealId(d) && stateId == id, "the packed deal is the Deal's dealId");
        assertEq(s, 1, "open");
        assertEq(deadline, block.timestamp + timeout_, "result deadline");
        assertEq(e.balanceOf(creator), c0 - price, "price escrowed");
        assertEq(e.balanceOf(provider), p0 - collateral, "collateral escrowed");
        // the same deal again, either way in
        (bytes32 r, bytes32 vs) = compact(byCreator ? PPK : CPK, id);
        vm.prank(byCreator ? creator : provider);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.DealAlreadyOpened.selector, id));
        _send(d, byCreator, r, vs);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.DealAlreadyOpened.selector, id));
        e.openDeal(d, sig(CPK, id), "");
    }

    function testFuzz_packedHappyPathPaysTheProvider(bytes32 job, uint96 price, uint96 collateral) public {
        price = uint96(bound(price, 0, 50 ether));
        collateral = uint96(bound(collateral, 0, 50 ether));
        LilyEscrow.Deal memory d = makeDeal(job, creator, provider, price, collateral);
        openPacked(e, d, CPK, false);
        uint256 p0 = e.balanceOf(provider);
        bytes32 rh = keccak256(abi.encode(job));
        _completePacked(d, rh, CPK, provider, uint256(price) + collateral);
        assertEq(_status(d), 4, "completed");
        assertEq(e.balanceOf(provider), p0 + uint256(price) + collateral, "paid");
        // never twice
        bytes32 id = e.dealId(d);
        (bytes32 r, bytes32 vs) = compact(CPK, e.hashResultAcceptance(id, rh));
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.WrongStatus.selector, id, uint8(4)));
        e.completePacked_TWd(d.jobOfferHash, id, uint256(price) + collateral, rh, r, vs);
        bytes memory full = sig(CPK, e.hashResultAcceptance(id, rh));
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.WrongStatus.selector, id, uint8(4)));
        e.complete(d, rh, full);
    }

    function testFuzz_completePackedFindsNoDealForAWrongPayoutSenderOrSigner(bytes32 job, uint256 extra, uint256 pk)
        public
    {
        LilyEscrow.Deal memory d = makeDeal(job, creator, provider, 1 ether, 2 ether);
        bytes32 id = openPacked(e, d, CPK, false);
        bytes32 rh = keccak256("result");
        extra = bound(extra, 1, type(uint128).max);
        // more than price + collateral
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.UnknownDeal.selector, id));
        this.completeAs(d, rh, CPK, provider, 3 ether + extra);
        // less
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.UnknownDeal.selector, id));
        this.completeAs(d, rh, CPK, provider, 3 ether - (extra % (3 ether)) - 1);
        // sent by someone else than the provider (the creator, a stranger)
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.UnknownDeal.selector, id));
        this.completeAs(d, rh, CPK, creator, 3 ether);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.UnknownDeal.selector, id));
        this.completeAs(d, rh, CPK, address(0xBAD), 3 ether);
        // signed by another key than the creator's
        pk = bound(pk, 1, N - 1);
        vm.assume(pk != CPK);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.UnknownDeal.selector, id));
        this.completeAs(d, rh, pk, provider, 3 ether);
        assertEq(_status(d), 1, "still open");
        _completePacked(d, rh, CPK, provider, 3 ether);
        assertEq(_status(d), 4, "completed by the provider with the creator's acceptance");
    }

    /// @dev completePacked_TWd from `sender`, as an external call so that expectRevert sees its revert.
    function completeAs(LilyEscrow.Deal memory d, bytes32 rh, uint256 signerPk, address sender, uint256 payout) external {
        _completePacked(d, rh, signerPk, sender, payout);
    }

    function test_packedOpenRefusesWhatOpenDealRefuses() public {
        LilyEscrow.Deal memory d = makeDeal(keccak256("j"), creator, provider, 1 ether, 1 ether);
        bytes32 id = e.dealId(d);
        uint256 party = packParty(d, false);
        uint256 terms = packTerms(d, false);
        // a signature by another key
        (bytes32 r, bytes32 vs) = compact(PPK, id);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.InvalidSignature.selector, creator));
        e.openDealPacked_XMg(d.jobOfferHash, d.resourceOfferHash, party, terms, r, vs);
        // s above n/2 (EIP-2098 cannot carry n − s of a real signature, which is above 2^255;
        // s in (n/2, 2^255) is refused before ecrecover, as for a 65-byte signature)
        (r, vs) = compact(CPK, id);
        bytes32 high = bytes32(HALF_N + 1);
        vm.prank(provider);
        vm.expectRevert(LilyEscrow.SignatureHighS.selector);
        e.openDealPacked_XMg(d.jobOfferHash, d.resourceOfferHash, party, terms, r, high);
        // the sender is not the party its role bit says (the signature is then over another deal)
        vm.prank(address(0xBAD));
        vm.expectRevert();
        e.openDealPacked_XMg(d.jobOfferHash, d.resourceOfferHash, party, terms, r, vs);
        // a short balance
        LilyEscrow.Deal memory big = makeDeal(keccak256("big"), creator, provider, 200 ether, 1);
        (bytes32 rb, bytes32 vsb) = compact(CPK, e.dealId(big));
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.InsufficientBalance.selector, creator, 100 ether, 200 ether));
        _send(big, false, rb, vsb);
        // the creator's own deal with itself
        LilyEscrow.Deal memory self = makeDeal(keccak256("self"), creator, creator, 1, 1);
        (bytes32 rs, bytes32 vss) = compact(CPK, e.dealId(self));
        vm.prank(creator);
        vm.expectRevert(LilyEscrow.SameParty.selector);
        _send(self, true, rs, vss);
        // opens; then another deal of the creator's for the same job offer is refused
        openPacked(e, d, CPK, false);
        LilyEscrow.Deal memory again = makeDeal(keccak256("j"), creator, provider, 1 ether, 1 ether);
        again.matchEpoch = 43;
        (bytes32 ra, bytes32 vsa) = compact(CPK, e.dealId(again));
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.JobOfferUsed.selector, again.jobOfferHash));
        _send(again, false, ra, vsa);
        // expired
        LilyEscrow.Deal memory late = makeDeal(keccak256("late"), creator, provider, 1, 1);
        bytes32 lid = e.dealId(late);
        (bytes32 rl, bytes32 vsl) = compact(CPK, lid);
        vm.warp(late.openBy + 1);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.DealExpired.selector, lid, late.openBy));
        _send(late, false, rl, vsl);
    }

    function test_strangersCannotSquatAJobOfferThroughThePackedOpen() public {
        uint256 pkA = 0xA11CE;
        address a = vm.addr(pkA);
        LilyEscrow.Deal memory squat = makeDeal(keccak256("j"), a, address(0xB0B), 0, 0);
        openPacked(e, squat, pkA, false);
        LilyEscrow.Deal memory real = makeDeal(keccak256("j"), creator, provider, 1 ether, 1 ether);
        openPacked(e, real, CPK, false);
        assertEq(_status(real), 1, "the creator's own deal opened");
    }

    function test_theTwoPathsInteroperate() public {
        // opened compact, closed by the slow path (submit + claim) through the full Deal
        LilyEscrow.Deal memory d = makeDeal(keccak256("a"), creator, provider, 1 ether, 2 ether);
        bytes32 id = openPacked(e, d, PPK, true);
        vm.prank(provider);
        e.submitResult(d, keccak256("r"), commitOf(id, provider, secretOf(id, provider)));
        vm.warp(block.timestamp + CHALLENGE_WINDOW + 1);
        uint256 p0 = e.balanceOf(provider);
        e.claim(d);
        assertEq(e.balanceOf(provider), p0 + 3 ether, "claimed");
        // opened with openDeal, completed compact after a submitted result
        LilyEscrow.Deal memory f = makeDeal(keccak256("b"), creator, provider, 1 ether, 2 ether);
        bytes32 fid = e.dealId(f);
        vm.prank(provider);
        e.openDeal(f, sig(CPK, fid), "");
        vm.prank(provider);
        e.submitResult(f, keccak256("r"), commitOf(fid, provider, secretOf(fid, provider)));
        p0 = e.balanceOf(provider);
        _completePacked(f, keccak256("r"), CPK, provider, 3 ether);
        assertEq(_status(f), 4, "completed");
        assertEq(e.balanceOf(provider), p0 + 3 ether, "paid");
        assertTrue(e.resultOf(fid) == bytes32(0), "slow-path state cleared");
        // opened compact, timed out through the full Deal
        LilyEscrow.Deal memory t = makeDeal(keccak256("c"), creator, provider, 1 ether, 2 ether);
        openPacked(e, t, CPK, false);
        vm.warp(block.timestamp + t.timeout + 1);
        uint256 c0 = e.balanceOf(creator);
        e.timeout(t);
        assertEq(e.balanceOf(creator), c0 + 3 ether, "timed out");
    }
}
