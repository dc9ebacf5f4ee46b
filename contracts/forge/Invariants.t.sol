// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LilyEscrow} from "../LilyEscrow.sol";
import {Base} from "./Base.sol";

/// @dev Drives LilyEscrow with five parties and four mediators through every external function
/// in random order; keeps ghost state for the invariants of EscrowInvariants.
contract Handler is Base {
    LilyEscrow public immutable e;
    uint256 internal constant ACTORS = 5;
    uint256 internal constant MEDS = 4;

    struct Tracked {
        LilyEscrow.Deal deal;
        bytes32 id;
        uint256 openedAt;
    }

    Tracked[] internal _deals;
    address[] public everyone;
    uint256 public stakes;
    bool public openedTwice;
    bool public wrongResolver;
    bool public overpaid;
    bool public strangerCompleted;
    uint256 public calls;

    constructor(LilyEscrow e_) {
        e = e_;
        for (uint256 i; i < ACTORS; ++i) everyone.push(vm.addr(i + 1));
        for (uint256 i; i < MEDS; ++i) everyone.push(address(uint160(0xAA00 + i)));
    }

    function dealCount() external view returns (uint256) {
        return _deals.length;
    }

    function dealAt(uint256 i) external view returns (LilyEscrow.Deal memory, uint256 openedAt) {
        return (_deals[i].deal, _deals[i].openedAt);
    }

    function everyoneCount() external view returns (uint256) {
        return everyone.length;
    }

    function _actor(uint256 seed) internal pure returns (uint256 pk, address a) {
        pk = (seed % ACTORS) + 1;
        a = vm.addr(pk);
    }

    function _med(uint256 seed) internal pure returns (address) {
        return address(uint160(0xAA00 + (seed % MEDS)));
    }

    function _pick(uint256 i) internal view returns (Tracked memory t, bool ok) {
        if (_deals.length == 0) return (t, false);
        t = _deals[i % _deals.length];
        ok = true;
    }

    function deposit(uint256 who, uint256 amount) external {
        calls++;
        (, address a) = _actor(who);
        amount = bound(amount, 1, 10 ether);
        fund(e, a, amount);
    }

    function withdraw(uint256 who, uint256 amount) external {
        calls++;
        (, address a) = _actor(who);
        uint256 b = e.balanceOf(a);
        amount = bound(amount, 1, b + 1 ether);
        uint256 before = a.balance;
        vm.prank(a);
        try e.withdraw(amount) {
            if (amount > b || a.balance != before + amount) overpaid = true;
        } catch {}
    }

    function open(uint256 c, uint256 p, uint256 job, uint256 price, uint256 collateral) external {
        calls++;
        (uint256 cpk, address ca) = _actor(c);
        (uint256 ppk, address pa) = _actor(p);
        LilyEscrow.Deal memory d =
            makeDeal(bytes32(job % 8), ca, pa, bound(price, 0, 2 ether), bound(collateral, 0, 2 ether));
        d.matchEpoch = uint64(job % 3); // several deals for one job offer
        bytes32 id = e.dealId(d);
        (uint8 before,,) = e.jobOfferState(ca, d.jobOfferHash);
        try e.openDeal(d, sig(cpk, id), sig(ppk, id)) {
            if (before != 0) openedTwice = true;
            _deals.push(Tracked(d, id, block.timestamp));
        } catch {}
    }

    /// @dev The compact open, sent by one party with the other's EIP-2098 signature.
    function openPacked(uint256 c, uint256 p, uint256 job, uint256 price, uint256 collateral, bool byCreator) external {
        calls++;
        (uint256 cpk, address ca) = _actor(c);
        (uint256 ppk, address pa) = _actor(p);
        LilyEscrow.Deal memory d =
            makeDeal(bytes32(job % 8), ca, pa, bound(price, 0, 2 ether), bound(collateral, 0, 2 ether));
        d.matchEpoch = uint64(job % 3);
        (uint8 before,,) = e.jobOfferState(ca, d.jobOfferHash);
        try this.sendPacked(d, byCreator ? ppk : cpk, byCreator) returns (bytes32 got) {
            if (before != 0 || got != e.dealId(d)) openedTwice = true;
            _deals.push(Tracked(d, got, block.timestamp));
        } catch {}
    }

    /// @dev openDealPacked_XMg of `d` (external, so that openPacked can try it).
    function sendPacked(LilyEscrow.Deal memory d, uint256 otherPk, bool byCreator) external returns (bytes32) {
        return openPacked(e, d, otherPk, byCreator);
    }

    /// @dev The compact complete, sent by the provider (or, `asOther`, by someone else: must fail).
    function completePackedBy(uint256 i, bool asOther) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (!ok) return;
        (uint256 cpk,) = _actor(_pkIndex(t.deal.creator));
        bytes32 rh = keccak256("r");
        (bytes32 r, bytes32 vs) = compact(cpk, e.hashResultAcceptance(t.id, rh));
        address sender = asOther ? t.deal.creator : t.deal.provider;
        vm.prank(sender);
        try e.completePacked_TWd(t.deal.jobOfferHash, t.id, t.deal.price + t.deal.collateral, rh, r, vs) {
            if (asOther && t.deal.creator != t.deal.provider) strangerCompleted = true;
        } catch {}
    }

    function complete(uint256 i) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (!ok) return;
        (uint256 cpk,) = _actor(_pkIndex(t.deal.creator));
        bytes32 rh = keccak256("r");
        try e.complete(t.deal, rh, sig(cpk, e.hashResultAcceptance(t.id, rh))) {} catch {}
    }

    function submit(uint256 i) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (!ok) return;
        bytes32 c = commitOf(t.id, t.deal.provider, secretOf(t.id, t.deal.provider));
        vm.prank(t.deal.provider);
        try e.submitResult(t.deal, keccak256("r"), c) {} catch {}
    }

    function claim(uint256 i) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (ok) try e.claim(t.deal) {} catch {}
    }

    function challenge(uint256 i) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (!ok) return;
        bytes32 c = commitOf(t.id, t.deal.creator, secretOf(t.id, t.deal.creator));
        vm.prank(t.deal.creator);
        try e.challenge(t.deal, c) {} catch {}
    }

    function reveal(uint256 i, bool byCreator) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (!ok) return;
        address who = byCreator ? t.deal.creator : t.deal.provider;
        vm.prank(who);
        try e.reveal(t.deal, secretOf(t.id, who)) {} catch {}
    }

    function forfeit(uint256 i) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (ok) try e.forfeit(t.deal) {} catch {}
    }

    function resolve(uint256 i, uint256 by, bool providerWins) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (!ok) return;
        (address drawn,,,) = e.disputeOf(t.id);
        address m = by % 2 == 0 && drawn != address(0) ? drawn : _med(by);
        vm.prank(m);
        try e.resolve(t.deal, providerWins) {
            if (m != drawn) wrongResolver = true;
        } catch {}
    }

    function redraw(uint256 i) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (!ok) return;
        (address m,,,) = e.disputeOf(t.id);
        (uint256 stake,,,,,) = e.mediatorInfo(m);
        try e.redraw(t.deal) {
            stakes -= stake;
        } catch {}
    }

    function timeout(uint256 i) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (ok) try e.timeout(t.deal) {} catch {}
    }

    function expire(uint256 i) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (ok) try e.expireDispute(t.deal) {} catch {}
    }

    function settle(uint256 i, uint256 share) external {
        calls++;
        (Tracked memory t, bool ok) = _pick(i);
        if (!ok) return;
        share = bound(share, 0, t.deal.price + t.deal.collateral);
        (uint256 cpk,) = _actor(_pkIndex(t.deal.creator));
        (uint256 ppk,) = _actor(_pkIndex(t.deal.provider));
        bytes32 digest = e.hashSettlement(t.id, share);
        try e.settleMutually(t.deal, share, sig(cpk, digest), sig(ppk, digest)) {} catch {}
    }

    function register(uint256 who, uint256 amount) external {
        calls++;
        address m = _med(who);
        amount = bound(amount, MIN_STAKE, 10 * MIN_STAKE);
        vm.deal(m, m.balance + amount);
        vm.prank(m);
        try e.registerMediator{value: amount}(amount) {
            stakes += amount;
        } catch {}
    }

    function unregister(uint256 who) external {
        calls++;
        vm.prank(_med(who));
        try e.unregisterMediator() {} catch {}
    }

    function withdrawStake(uint256 who) external {
        calls++;
        address m = _med(who);
        (uint256 stake,,,,,) = e.mediatorInfo(m);
        vm.prank(m);
        try e.withdrawStake() {
            stakes -= stake;
        } catch {}
    }

    function warp(uint256 dt) external {
        calls++;
        vm.warp(block.timestamp + bound(dt, 1, 2 hours));
        vm.roll(block.number + 1);
    }

    /// @dev 0-based actor index of `a` (actors are vm.addr(1..ACTORS)).
    function _pkIndex(address a) internal pure returns (uint256) {
        for (uint256 i; i < ACTORS; ++i) if (vm.addr(i + 1) == a) return i;
        return 0;
    }
}

/// @dev Invariants of LilyEscrow under the handler: solvency, one opening per job offer and
/// creator, only the drawn mediator resolves, withdrawals bounded, every deal closable in bounded
/// time, and at the end everyone can take everything out.
contract EscrowInvariants is Base {
    LilyEscrow internal e;
    Handler internal h;

    function setUp() public {
        vm.warp(1_700_000_000);
        e = newEscrow();
        h = new Handler(e);
    }

    /// @dev forge's invariant runner calls only the handler.
    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(h);
    }

    function _escrowed() internal view returns (uint256 sum) {
        uint256 n = h.dealCount();
        for (uint256 i; i < n; ++i) {
            (LilyEscrow.Deal memory d,) = h.dealAt(i);
            (, uint8 s,) = e.dealState(d);
            if (s == 1 || s == 2) sum += d.price + d.collateral;
            if (s == 3) sum += d.price + d.collateral + FEE;
        }
    }

    function invariant_solvencyIsExact() public view {
        uint256 free;
        uint256 n = h.everyoneCount();
        for (uint256 i; i < n; ++i) free += e.balanceOf(h.everyone(i));
        assertEq(address(e).balance, free + _escrowed() + h.stakes(), "holdings = free + escrowed + fees + stakes");
    }

    function invariant_aJobOfferOpensOnce() public view {
        assertTrue(!h.openedTwice(), "a second deal opened for a creator's job offer");
    }

    function invariant_onlyTheDrawnMediatorResolves() public view {
        assertTrue(!h.wrongResolver(), "someone other than the drawn mediator resolved");
    }

    function invariant_withdrawNeverPaysMoreThanTheBalance() public view {
        assertTrue(!h.overpaid(), "a withdrawal paid more than the free balance");
    }

    function invariant_onlyTheProviderCompletesPacked() public view {
        assertTrue(!h.strangerCompleted(), "completePacked_TWd credited someone other than the provider");
    }

    function invariant_everyLiveDealClosesInBoundedTime() public view {
        uint256 n = h.dealCount();
        for (uint256 i; i < n; ++i) {
            (LilyEscrow.Deal memory d, uint256 openedAt) = h.dealAt(i);
            (, uint8 s, uint40 deadline) = e.dealState(d);
            if (s < 1 || s > 3) continue;
            assertTrue(deadline <= openedAt + d.timeout + CHALLENGE_WINDOW + DISPUTE_TIMEOUT, "a live deal's next close is unbounded");
        }
    }

    /// @dev After each run: close every deal, let every mediator leave, and take all money out.
    function afterInvariant() public {
        vm.warp(block.timestamp + 10 days);
        uint256 n = h.dealCount();
        for (uint256 i; i < n; ++i) {
            (LilyEscrow.Deal memory d,) = h.dealAt(i);
            (, uint8 s,) = e.dealState(d);
            if (s == 1) e.timeout(d);
            else if (s == 2) e.claim(d);
            else if (s == 3) e.expireDispute(d);
        }
        uint256 m = h.everyoneCount();
        for (uint256 i; i < m; ++i) {
            address a = h.everyone(i);
            (, bool listed,,,, uint256 leaveAt) = e.mediatorInfo(a);
            if (listed) {
                vm.prank(a);
                e.unregisterMediator();
            }
            (uint256 stake,,,, uint256 activeAt,) = e.mediatorInfo(a);
            if (activeAt != 0 || stake != 0 || leaveAt != 0) {
                vm.warp(block.timestamp + 10 days);
                vm.prank(a);
                e.withdrawStake();
            }
        }
        for (uint256 i; i < m; ++i) {
            address a = h.everyone(i);
            uint256 b = e.balanceOf(a);
            if (b == 0) continue;
            vm.prank(a);
            e.withdraw(b);
        }
        assertEq(address(e).balance, 0, "everyone got everything out");
    }
}
