// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LilyEscrow} from "../LilyEscrow.sol";
import {Base} from "./Base.sol";

/// @dev An EIP-1271 wallet that approves every digest (what a malicious 7702 delegate would do).
contract YesWallet {
    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4) {
        return 0x1626ba7e;
    }
}

/// @dev An EIP-1271 wallet that burns all the gas it gets.
contract BurnerWallet {
    function isValidSignature(bytes32, bytes calldata) external view returns (bytes4) {
        uint256 x;
        while (gasleft() > 1000) x++;
        return bytes4(uint32(x));
    }
}

/// @dev One test (or fuzz test) per finding of the audit and per external function of LilyEscrow.
contract LilyEscrowTest is Base {
    LilyEscrow internal e;
    uint256 internal constant CPK = 0xC0FFEE;
    uint256 internal constant PPK = 0xBEEF;
    address internal creator;
    address internal provider;
    address[3] internal meds;

    function setUp() public {
        vm.warp(1_700_000_000);
        e = newEscrow();
        creator = vm.addr(CPK);
        provider = vm.addr(PPK);
        fund(e, creator, 100 ether);
        fund(e, provider, 100 ether);
        for (uint256 i; i < 3; ++i) {
            meds[i] = address(uint160(0xA000 + i));
            vm.deal(meds[i], MIN_STAKE * (i + 1));
            vm.prank(meds[i]);
            e.registerMediator{value: MIN_STAKE * (i + 1)}(MIN_STAKE * (i + 1));
        }
        vm.warp(block.timestamp + MEDIATOR_DELAY);
    }

    function _open(LilyEscrow.Deal memory d) internal returns (bytes32 id) {
        id = e.dealId(d);
        vm.prank(provider);
        e.openDeal(d, sig(CPK, id), "");
    }

    function _status(LilyEscrow.Deal memory d) internal view returns (uint8 s) {
        (, s,) = e.dealState(d);
    }

    function _submit(LilyEscrow e_, LilyEscrow.Deal memory d) internal {
        bytes32 id = e_.dealId(d);
        bytes32 c = commitOf(id, d.provider, secretOf(id, d.provider));
        vm.prank(d.provider);
        e_.submitResult(d, keccak256("result"), c);
    }

    function _challenge(LilyEscrow e_, LilyEscrow.Deal memory d) internal {
        bytes32 id = e_.dealId(d);
        bytes32 c = commitOf(id, d.creator, secretOf(id, d.creator));
        vm.prank(d.creator);
        e_.challenge(d, c);
    }

    /// @dev Both parties reveal; returns the drawn mediator.
    function _reveal(LilyEscrow e_, LilyEscrow.Deal memory d) internal returns (address) {
        bytes32 id = e_.dealId(d);
        vm.prank(d.creator);
        e_.reveal(d, secretOf(id, d.creator));
        vm.prank(d.provider);
        return e_.reveal(d, secretOf(id, d.provider));
    }

    function _challenged(bytes32 job) internal returns (LilyEscrow.Deal memory d, bytes32 id) {
        d = makeDeal(job, creator, provider, 1 ether, 2 ether);
        id = _open(d);
        _submit(e, d);
        _challenge(e, d);
    }

    // ---- finding 4: a job offer can no longer be squatted by strangers -----------------------

    function testFuzz_strangersCannotSquatAJobOffer(bytes32 job, uint256 pkA, uint256 pkB) public {
        pkA = bound(pkA, 1, N - 1);
        pkB = bound(pkB, 1, N - 1);
        address a = vm.addr(pkA);
        address b = vm.addr(pkB);
        vm.assume(a != b && a != creator && a != provider && b != creator && b != provider);
        // two empty accounts open a price-0, collateral-0 deal naming the job offer
        LilyEscrow.Deal memory squat = makeDeal(job, a, b, 0, 0);
        bytes32 sid = e.dealId(squat);
        e.openDeal(squat, sig(pkA, sid), sig(pkB, sid));
        // the real creator's deal still opens
        LilyEscrow.Deal memory real = makeDeal(job, creator, provider, 1 ether, 1 ether);
        _open(real);
        assertEq(_status(real), 1, "the creator's own deal opened");
    }

    function test_openDealsSkipsATakenSlotAndOpensTheOthers() public {
        LilyEscrow.Deal memory first = makeDeal(keccak256("j1"), creator, provider, 1, 1);
        _open(first);
        LilyEscrow.Deal[] memory ds = new LilyEscrow.Deal[](2);
        ds[0] = makeDeal(keccak256("j1"), creator, provider, 2, 2); // another deal of the creator's used offer
        ds[1] = makeDeal(keccak256("j2"), creator, provider, 3, 3);
        bytes[] memory sc = new bytes[](2);
        bytes[] memory sp = new bytes[](2);
        for (uint256 i; i < 2; ++i) {
            sc[i] = sig(CPK, e.dealId(ds[i]));
            sp[i] = sig(PPK, e.dealId(ds[i]));
        }
        assertEq(e.openDeals(ds, sc, sp), 1, "one opened");
        assertEq(_status(ds[0]), 0, "the used offer's second deal skipped");
        assertEq(_status(ds[1]), 1, "the other deal opened");
    }

    // ---- finding 6: bounded constructor, checked casts ---------------------------------------

    function testFuzz_constructorBoundsTheChallengeWindow(uint256 w) public {
        w = bound(w, 90 days + 1, type(uint256).max - 1);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.BadParameter.selector, "challengeWindow", w, 1, 90 days));
        new LilyEscrow(address(0), w, FEE, MIN_STAKE, MEDIATOR_TIMEOUT, UNSTAKE_DELAY, DISPUTE_TIMEOUT, 0);
    }

    function test_constructorBoundsEveryParameter() public {
        vm.expectRevert();
        new LilyEscrow(address(0), 0, FEE, MIN_STAKE, MEDIATOR_TIMEOUT, UNSTAKE_DELAY, DISPUTE_TIMEOUT, 0);
        vm.expectRevert();
        new LilyEscrow(address(0), 1 << 40, FEE, MIN_STAKE, MEDIATOR_TIMEOUT, UNSTAKE_DELAY, DISPUTE_TIMEOUT, 0);
        vm.expectRevert();
        new LilyEscrow(address(0), CHALLENGE_WINDOW, 1 << 128, MIN_STAKE, MEDIATOR_TIMEOUT, UNSTAKE_DELAY, DISPUTE_TIMEOUT, 0);
        vm.expectRevert();
        new LilyEscrow(address(0), CHALLENGE_WINDOW, FEE, 0, MEDIATOR_TIMEOUT, UNSTAKE_DELAY, DISPUTE_TIMEOUT, 0);
        vm.expectRevert();
        new LilyEscrow(address(0), CHALLENGE_WINDOW, FEE, MIN_STAKE, 1 << 40, UNSTAKE_DELAY, DISPUTE_TIMEOUT, 0);
        vm.expectRevert();
        new LilyEscrow(address(0), CHALLENGE_WINDOW, FEE, MIN_STAKE, MEDIATOR_TIMEOUT, 1 << 40, DISPUTE_TIMEOUT, 0);
        vm.expectRevert();
        new LilyEscrow(address(0), CHALLENGE_WINDOW, FEE, MIN_STAKE, MEDIATOR_TIMEOUT, UNSTAKE_DELAY, MEDIATOR_TIMEOUT, 0);
        vm.expectRevert();
        new LilyEscrow(address(0), CHALLENGE_WINDOW, FEE, MIN_STAKE, MEDIATOR_TIMEOUT, UNSTAKE_DELAY, DISPUTE_TIMEOUT, 1 << 40);
    }

    // ---- finding 5: a challenged deal with no eligible mediator closes -----------------------

    function test_challengedDealWithNoMediatorExpires() public {
        LilyEscrow bare = newEscrow();
        fund(bare, creator, 10 ether);
        fund(bare, provider, 10 ether);
        LilyEscrow.Deal memory d = makeDeal(keccak256("j"), creator, provider, 1 ether, 2 ether);
        bytes32 id = bare.dealId(d);
        vm.prank(provider);
        bare.openDeal(d, sig(CPK, id), "");
        _submit(bare, d);
        _challenge(bare, d);
        assertEq(_reveal(bare, d), address(0), "nobody to draw");
        vm.expectRevert();
        bare.expireDispute(d);
        vm.warp(block.timestamp + DISPUTE_TIMEOUT + 1);
        bare.expireDispute(d);
        assertEq(bare.balanceOf(creator), 10 ether, "price and fee back to the creator");
        assertEq(bare.balanceOf(provider), 10 ether, "collateral back to the provider");
        assertEq(address(bare).balance, 20 ether, "solvent");
    }

    function testFuzz_mutualSettlementClosesAnyLiveDeal(uint256 share, uint8 phase) public {
        phase = uint8(bound(phase, 0, 2));
        LilyEscrow.Deal memory d = makeDeal(keccak256(abi.encode("s", phase)), creator, provider, 1 ether, 2 ether);
        bytes32 id = _open(d);
        if (phase >= 1) _submit(e, d);
        if (phase == 2) {
            _challenge(e, d);
            _reveal(e, d);
        }
        uint256 c0 = e.balanceOf(creator);
        uint256 p0 = e.balanceOf(provider);
        share = bound(share, 0, 4 ether);
        bytes32 digest = e.hashSettlement(id, share);
        if (share > 3 ether) {
            vm.expectRevert(abi.encodeWithSelector(LilyEscrow.BadSplit.selector, share, 3 ether));
            e.settleMutually(d, share, sig(CPK, digest), sig(PPK, digest));
            return;
        }
        // one party alone cannot settle
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.InvalidSignature.selector, provider));
        e.settleMutually(d, share, sig(CPK, digest), sig(CPK, digest));
        e.settleMutually(d, share, sig(CPK, digest), sig(PPK, digest));
        assertEq(_status(d), 10, "settled");
        assertEq(e.balanceOf(provider), p0 + share, "provider's share");
        assertEq(e.balanceOf(creator), c0 + 3 ether - share + (phase == 2 ? FEE : 0), "creator's share (and its fee)");
    }

    // ---- findings 2 + 3: the candidate set is frozen at challenge time, weighted by stake ----

    function testFuzz_joiningOrLeavingAfterTheChallengeDoesNotChangeTheSet(bytes32 job) public {
        (LilyEscrow.Deal memory d,) = _challenged(job);
        // a creator's sybils registered now (after the challenge) never count for this dispute
        for (uint256 i; i < 10; ++i) {
            address s = address(uint160(0xB000 + i));
            vm.deal(s, 100 * MIN_STAKE);
            vm.prank(s);
            e.registerMediator{value: 100 * MIN_STAKE}(100 * MIN_STAKE);
        }
        vm.warp(block.timestamp + 60);
        // nor does leaving
        for (uint256 i; i < 3; ++i) {
            vm.prank(meds[i]);
            e.unregisterMediator();
        }
        address m = _reveal(e, d);
        assertTrue(m == meds[0] || m == meds[1] || m == meds[2], "drawn from the set frozen at the challenge");
        vm.prank(m);
        e.resolve(d, true);
    }

    function testFuzz_aPartyThatDoesNotRevealForfeits(bytes32 job, bool creatorReveals) public {
        (LilyEscrow.Deal memory d, bytes32 id) = _challenged(job);
        address who = creatorReveals ? creator : provider;
        vm.prank(who);
        e.reveal(d, secretOf(id, who));
        vm.expectRevert();
        e.forfeit(d);
        vm.warp(block.timestamp + MEDIATOR_TIMEOUT + 1);
        uint256 w0 = e.balanceOf(who);
        e.forfeit(d);
        assertEq(e.balanceOf(who), w0 + 3 ether + FEE, "the revealer wins price, collateral and fee");
        assertEq(_status(d), creatorReveals ? 11 : 12, "forfeited");
    }

    function test_aWrongSecretIsRefused() public {
        (LilyEscrow.Deal memory d, bytes32 id) = _challenged(keccak256("wrong"));
        bytes32 other = secretOf(id, provider);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.BadReveal.selector, creator));
        e.reveal(d, other);
    }

    function test_aMediatorCountsOnlyAfterTheDelay() public {
        LilyEscrow fresh = newEscrow();
        fund(fresh, creator, 10 ether);
        fund(fresh, provider, 10 ether);
        address m = address(0xCAFE);
        vm.deal(m, MIN_STAKE);
        vm.prank(m);
        fresh.registerMediator{value: MIN_STAKE}(MIN_STAKE);
        LilyEscrow.Deal memory d = makeDeal(keccak256("late"), creator, provider, 1, 1);
        bytes32 id = fresh.dealId(d);
        vm.prank(provider);
        fresh.openDeal(d, sig(CPK, id), "");
        _submit(fresh, d);
        _challenge(fresh, d);
        assertEq(_reveal(fresh, d), address(0), "registered, but not active at the challenge");
    }

    function testFuzz_drawIsWeightedByStake(bytes32 job) public {
        (LilyEscrow.Deal memory d,) = _challenged(job);
        address m = _reveal(e, d);
        assertTrue(m == meds[0] || m == meds[1] || m == meds[2], "a registered mediator");
        // only the drawn mediator resolves
        for (uint256 i; i < 3; ++i) {
            if (meds[i] == m) continue;
            vm.prank(meds[i]);
            vm.expectRevert(abi.encodeWithSelector(LilyEscrow.Unauthorized.selector, meds[i]));
            e.resolve(d, false);
        }
        vm.prank(m);
        e.resolve(d, false);
        assertEq(_status(d), 8, "creator won");
    }

    // ---- finding 7: signatures --------------------------------------------------------------

    function testFuzz_highSIsRefused(bytes32 job) public {
        LilyEscrow.Deal memory d = makeDeal(job, creator, provider, 1, 1);
        bytes32 id = e.dealId(d);
        vm.prank(provider);
        vm.expectRevert(LilyEscrow.SignatureHighS.selector);
        e.openDeal(d, highS(CPK, id), "");
    }

    function test_highSIsRefusedForAContractPartyToo() public {
        YesWallet w = new YesWallet();
        fund(e, address(w), 1 ether);
        LilyEscrow.Deal memory d = makeDeal(keccak256("w"), address(w), provider, 1, 1);
        bytes32 id = e.dealId(d);
        vm.prank(provider);
        vm.expectRevert(LilyEscrow.SignatureHighS.selector);
        e.openDeal(d, highS(CPK, id), "");
    }

    function test_a7702AccountIsNotApprovedByItsDelegate() public {
        YesWallet w = new YesWallet();
        uint256 pk = 0x7702;
        address acct = vm.addr(pk);
        vm.etch(acct, abi.encodePacked(hex"ef0100", address(w)));
        fund(e, acct, 1 ether);
        LilyEscrow.Deal memory d = makeDeal(keccak256("7702"), acct, provider, 1, 1);
        bytes32 id = e.dealId(d);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.InvalidSignature.selector, acct));
        e.openDeal(d, sig(CPK, id), ""); // someone else's key
        vm.prank(provider);
        e.openDeal(d, sig(pk, id), ""); // its own key
        assertEq(_status(d), 1, "its own ECDSA signature opens it");
    }

    function test_anEip1271CallGetsBoundedGas() public {
        BurnerWallet w = new BurnerWallet();
        fund(e, address(w), 1 ether);
        LilyEscrow.Deal memory d = makeDeal(keccak256("burn"), address(w), provider, 1, 1);
        bytes32 id = e.dealId(d);
        uint256 g = gasleft();
        vm.prank(provider);
        try e.openDeal{gas: 5_000_000}(d, sig(CPK, id), "") {
            revert AssertionFailed("opened");
        } catch {}
        assertTrue(g - gasleft() < 200_000, "the wallet could burn at most ERC1271_GAS");
    }

    // ---- fuzz tests of the other external functions -----------------------------------------

    function testFuzz_depositWithdraw(uint256 amount, uint256 take) public {
        amount = bound(amount, 1, 1e30);
        address a = address(0xD00D);
        fund(e, a, amount);
        take = bound(take, 1, amount + 10);
        vm.prank(a);
        if (take > amount) {
            vm.expectRevert(abi.encodeWithSelector(LilyEscrow.InsufficientBalance.selector, a, amount, take));
            e.withdraw(take);
            return;
        }
        e.withdraw(take);
        assertEq(e.balanceOf(a), amount - take, "balance");
        assertEq(a.balance, take, "paid");
    }

    function testFuzz_openCompleteHappyPath(bytes32 job, uint128 price, uint128 collateral) public {
        price = uint128(bound(price, 0, 50 ether));
        collateral = uint128(bound(collateral, 0, 50 ether));
        LilyEscrow.Deal memory d = makeDeal(job, creator, provider, price, collateral);
        bytes32 id = _open(d);
        bytes memory sc = sig(CPK, id);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.DealAlreadyOpened.selector, id));
        e.openDeal(d, sc, "");
        uint256 p0 = e.balanceOf(provider);
        bytes32 rh = keccak256(abi.encode(job));
        bytes32 acc = e.hashResultAcceptance(id, rh);
        bytes memory wrong = sig(PPK, acc);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.InvalidSignature.selector, creator));
        e.complete(d, rh, wrong);
        e.complete(d, rh, sig(CPK, acc));
        assertEq(e.balanceOf(provider), p0 + price + collateral, "paid");
    }

    function testFuzz_submitClaimAndTimeout(bytes32 job, uint256 dt) public {
        LilyEscrow.Deal memory d = makeDeal(job, creator, provider, 1 ether, 1 ether);
        _open(d);
        dt = bound(dt, 0, 3000);
        vm.warp(block.timestamp + dt);
        if (dt > 1200) {
            vm.prank(provider);
            vm.expectRevert();
            e.submitResult(d, keccak256("r"), bytes32(0));
            e.timeout(d);
            assertEq(_status(d), 6, "timed out");
            return;
        }
        vm.expectRevert();
        e.timeout(d);
        _submit(e, d);
        vm.expectRevert();
        e.claim(d);
        vm.warp(block.timestamp + CHALLENGE_WINDOW + 1);
        vm.prank(creator);
        vm.expectRevert();
        e.challenge(d, bytes32(0));
        e.claim(d);
        assertEq(_status(d), 5, "claimed");
    }

    function testFuzz_redrawSlashesALateMediator(bytes32 job) public {
        (LilyEscrow.Deal memory d, bytes32 id) = _challenged(job);
        address m = _reveal(e, d);
        vm.expectRevert();
        e.redraw(d);
        vm.warp(block.timestamp + MEDIATOR_TIMEOUT + 1);
        (uint256 stake,,,,,) = e.mediatorInfo(m);
        uint256 c0 = e.balanceOf(creator);
        uint256 p0 = e.balanceOf(provider);
        e.redraw(d);
        assertEq(e.balanceOf(creator) + e.balanceOf(provider), c0 + p0 + stake, "stake split between the parties");
        (address next, uint32 round,,) = e.disputeOf(id);
        assertEq(round, 1, "second round");
        assertTrue(next != m && next != address(0), "the slashed one has no weight; the next is drawn at once");
        vm.prank(next);
        e.resolve(d, true);
    }

    function test_stakeLeavesOnlyAfterItsDisputesCanNoLongerDraw() public {
        vm.prank(meds[0]);
        e.unregisterMediator();
        (,,, uint256 unlockAt,,) = e.mediatorInfo(meds[0]);
        vm.prank(meds[0]);
        vm.expectRevert();
        e.withdrawStake();
        vm.warp(unlockAt);
        uint256 b0 = meds[0].balance;
        vm.prank(meds[0]);
        e.withdrawStake();
        assertEq(meds[0].balance, b0 + MIN_STAKE, "stake back");
        assertEq(e.mediators().length, 2, "left the registry");
    }

    function testFuzz_approveDealOpensForAContract(bytes32 job) public {
        YesWallet w = new YesWallet();
        fund(e, address(w), 1 ether);
        LilyEscrow.Deal memory d = makeDeal(job, address(w), provider, 1, 1);
        bytes32 id = e.dealId(d);
        vm.prank(address(w));
        e.approveDeal(id);
        vm.prank(provider);
        e.openDeal(d, "", "");
        assertEq(_status(d), 1, "opened");
    }
}
