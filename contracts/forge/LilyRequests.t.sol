// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LilyEscrow} from "../LilyEscrow.sol";
import {LilyRequests, ILilyConsumer} from "../LilyRequests.sol";
import {Base} from "./Base.sol";

/// @dev A consumer that records its callbacks.
contract RecordingConsumer is ILilyConsumer {
    uint256 public calls;
    bool public lastFinal;
    bytes public lastData;

    function onLilyResult(uint64, bytes32, bytes calldata data, bool isFinal) external {
        calls++;
        lastFinal = isFinal;
        lastData = data;
    }
}

/// @dev Finding 1: nobody but the matcher's deal (opened by the request's agent) serves a request,
/// and no one is paid before the challenge window.
contract LilyRequestsTest is Base {
    LilyEscrow internal e;
    LilyRequests internal q;
    RecordingConsumer internal consumer;
    uint256 internal constant PPK = 0xBEEF;
    uint256 internal constant SPK = 0x5757;
    address internal provider;
    address internal stranger;
    address internal agent = address(0xA6E7);

    function setUp() public {
        vm.warp(1_700_000_000);
        e = newEscrow();
        q = new LilyRequests(e);
        consumer = new RecordingConsumer();
        provider = vm.addr(PPK);
        stranger = vm.addr(SPK);
        fund(e, provider, 10 ether);
        fund(e, stranger, 10 ether);
    }

    function _params(uint256 maxPrice) internal view returns (LilyRequests.RequestParams memory) {
        return LilyRequests.RequestParams({
            module: keccak256("cowsay"),
            inputsHash: keccak256("moo"),
            cpu: 1000,
            ram: 512,
            gpus: 0,
            gpuVram: 0,
            disk: 1024,
            maxPrice: maxPrice,
            collateral: 1e14,
            timeout: 600,
            deadline: uint64(block.timestamp + 3600),
            callbackGasLimit: 200_000,
            agent: agent
        });
    }

    function _request(uint256 maxPrice) internal returns (uint64 id) {
        vm.deal(address(consumer), maxPrice);
        vm.prank(address(consumer));
        id = q.request{value: maxPrice}(_params(maxPrice));
    }

    function _deal(uint64 id, address prov, uint256 price) internal view returns (LilyEscrow.Deal memory d) {
        d = makeDeal(q.jobOfferHash(id, 5, 9), address(q), prov, price, 1e14);
        d.timeout = 600;
    }

    /// The audit's attack: a stranger opens the request's deal as provider (approveDeal) at
    /// maxPrice and fulfils it with made-up data in the same transaction.
    function testFuzz_aStrangerCannotTakeARequestsBudget(uint256 maxPrice, uint256 price) public {
        maxPrice = bound(maxPrice, 1, 1 ether);
        price = bound(price, 0, maxPrice);
        uint64 id = _request(maxPrice);
        LilyEscrow.Deal memory d = _deal(id, stranger, price);
        bytes32 did = e.dealId(d);
        vm.startPrank(stranger);
        e.approveDeal(did);
        vm.expectRevert(abi.encodeWithSelector(LilyRequests.Unauthorized.selector, stranger));
        q.openRequestDeal(id, d, 5, 9, "");
        vm.expectRevert(abi.encodeWithSelector(LilyEscrow.InvalidSignature.selector, address(q)));
        e.openDeal(d, "", "");
        vm.stopPrank();
        (, uint8 status,,) = q.getRequest(id);
        assertEq(status, 1, "still pending");
        assertEq(e.balanceOf(address(q)), maxPrice, "the budget is intact");
    }

    /// Even the agent's deal pays nothing at once: delivery is provisional, payment follows the window.
    function testFuzz_paymentOnlyAfterTheWindowAndTheCallbackSaysFinal(uint256 wait, bytes calldata data) public {
        vm.assume(data.length <= 512);
        uint64 id = _request(1e15);
        LilyEscrow.Deal memory d = _deal(id, provider, 5e14);
        bytes32 did = e.dealId(d);
        bytes memory sp = sig(PPK, did);
        vm.prank(agent);
        q.openRequestDeal(id, d, 5, 9, sp);
        vm.prank(provider);
        vm.expectRevert();
        q.fulfill(id, d, data); // no result on-chain yet
        vm.prank(provider);
        e.submitResult(d, keccak256("r"), bytes32(0));
        vm.prank(provider);
        q.fulfill(id, d, data);
        assertEq(consumer.calls(), 1, "one provisional callback");
        assertTrue(!consumer.lastFinal(), "not final");
        uint256 p0 = e.balanceOf(provider);
        wait = bound(wait, 0, 2 * CHALLENGE_WINDOW);
        vm.warp(block.timestamp + wait);
        if (wait <= CHALLENGE_WINDOW) {
            vm.expectRevert();
            q.settle(id, d, data);
            return;
        }
        q.settle(id, d, data);
        assertEq(e.balanceOf(provider), p0 + 5e14 + 1e14, "paid after the window");
        assertEq(consumer.calls(), 2, "the final callback");
        assertTrue(consumer.lastFinal(), "final");
    }

    /// The agent (or the consumer) challenges on the consumer's behalf; a stranger cannot.
    function test_onlyTheAgentOrTheConsumerChallenges() public {
        uint64 id = _request(1e15);
        LilyEscrow.Deal memory d = _deal(id, provider, 5e14);
        bytes memory sp = sig(PPK, e.dealId(d));
        vm.prank(agent);
        q.openRequestDeal(id, d, 5, 9, sp);
        vm.prank(provider);
        e.submitResult(d, keccak256("made up"), bytes32(0));
        vm.deal(stranger, FEE);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(LilyRequests.Unauthorized.selector, stranger));
        q.challengeRequest{value: FEE}(id, d, bytes32(0));
        vm.deal(agent, FEE);
        vm.prank(agent);
        q.challengeRequest{value: FEE}(id, d, bytes32(0));
        (, uint8 s,) = e.dealState(d);
        assertEq(s, 3, "challenged");
        vm.warp(block.timestamp + CHALLENGE_WINDOW + 1);
        vm.expectRevert();
        q.settle(id, d, "");
    }
}
