// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LilyEscrow} from "./LilyEscrow.sol";

/// @dev What a consumer contract implements to receive results.
interface ILilyConsumer {
    /// @notice Called by LilyRequests when the provider delivered a result for `requestId`
    /// (`isFinal` false: it may still be challenged and overturned) and again when the provider
    /// was paid for it (`isFinal` true: the challenge window passed or a mediator upheld it).
    /// @param requestId the request
    /// @param resultHash hash of the result bundle the provider delivered
    /// @param data the short result (at most MAX_RESULT_DATA bytes)
    /// @param isFinal whether the result can no longer be challenged
    function onLilyResult(uint64 requestId, bytes32 resultHash, bytes calldata data, bool isFinal) external;
}

/// @dev The part of ERC-20 the companion uses.
interface IERC20Min {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @title LilyRequests — compute jobs requested by smart contracts
/// @notice A consumer contract pays `maxPrice` into `request`; the companion deposits it into the
/// escrow under its own address and is the on-chain creator of the deal. The request names its
/// `agent` (a relay node): only the agent may open the request's deal, through
/// `openRequestDeal`, which checks the deal against the request before the escrow opens it — so
/// nobody can change the terms, and a stranger cannot open a deal of its own on the request (the
/// agent opens only the deal its matcher derived). The provider puts its result hash on-chain
/// with the escrow's `submitResult` and delivers the short result with `fulfill` (callback with
/// `isFinal = false`); during the escrow's challenge window the agent or the consumer can
/// `challengeRequest` (paying the mediation fee) on the consumer's behalf. Only after the window
/// (or a mediator's ruling for the provider) does `settle` pay the provider (the escrow's
/// `claim`) and call the consumer back with `isFinal = true`; a failing callback never blocks it.
///
/// Money: the companion's free balance in the escrow always equals `owed` (what it owes
/// consumers: the maxPrice of Pending requests plus unwithdrawn credits) plus what closed, not yet
/// settled deals gave back. Consumers withdraw their credits with `withdraw`.
contract LilyRequests {
    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                           TYPES                            */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev The terms of a request, fixed for good when it is made.
    struct RequestParams {
        bytes32 module;
        bytes32 inputsHash;
        uint32 cpu;
        uint32 ram;
        uint32 gpus;
        uint32 gpuVram;
        uint32 disk;
        uint256 maxPrice;
        uint256 collateral;
        uint32 timeout;
        uint64 deadline;
        uint32 callbackGasLimit;
        address agent;
    }

    /// @dev A stored request.
    struct Request {
        address consumer;
        uint8 status;
        RequestParams params;
        bytes32 dealId;
        bytes32 resultHash;
        bytes32 dataHash;
        address challenger;
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                       CUSTOM ERRORS                        */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev A request parameter is out of bounds (`what` names it).
    error BadParams(string what);
    /// @dev msg.value does not fit the settlement token (must equal maxPrice for ETH, 0 for ERC-20).
    error WrongValue(uint256 value, uint256 expected);
    /// @dev The request is in `status`, which does not allow this call.
    error WrongRequestStatus(uint64 requestId, uint8 status);
    /// @dev The deal does not match the request: `what` names the term.
    error TermsMismatch(uint64 requestId, string what);
    /// @dev The deal is not the one opened for the request.
    error WrongDeal(uint64 requestId, bytes32 dealId);
    /// @dev Too early: allowed after `when` (unix seconds).
    error TooEarly(uint256 when);
    /// @dev Too late: the deadline `when` (unix seconds) has passed.
    error TooLate(uint256 when);
    /// @dev The caller is not allowed to make this call.
    error Unauthorized(address caller);
    /// @dev The result data is longer than MAX_RESULT_DATA.
    error DataTooLong(uint256 length);
    /// @dev Too little gas left to give the callback its full gas limit; resend with more gas.
    error InsufficientGas(uint256 left, uint256 needed);
    /// @dev The deal is still live in the escrow (status `status`); nothing to settle yet.
    error DealNotClosed(bytes32 dealId, uint8 status);
    /// @dev Nothing to withdraw.
    error ZeroAmount();
    /// @dev A token or ETH transfer failed, or the token credited a different amount.
    error TransferFailed();
    /// @dev ETH sent by someone other than the escrow.
    error UnexpectedEth();

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                           EVENTS                           */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev `consumer` paid `params.maxPrice` for a job; nodes turn it into a JobOffer.
    event JobRequested(uint64 indexed requestId, address indexed consumer, RequestParams params);
    /// @dev The deal `dealId` for the request was opened in the escrow; `refunded` (maxPrice − price) was credited to the consumer.
    event RequestOpened(uint64 indexed requestId, bytes32 indexed dealId, address indexed provider, uint256 price, uint256 refunded);
    /// @dev The provider delivered `resultHash` (submitted in the escrow) and `data`; not final until the window passes.
    event RequestFulfilled(uint64 indexed requestId, bytes32 indexed dealId, bytes32 resultHash, bytes data);
    /// @dev The provider was paid for the delivered result: it is final.
    event RequestFinalized(uint64 indexed requestId, bytes32 indexed dealId, bytes32 resultHash);
    /// @dev `challenger` challenged the request's result in the escrow, paying the mediation fee.
    event RequestChallenged(uint64 indexed requestId, bytes32 indexed dealId, address indexed challenger);
    /// @dev The consumer's callback (`isFinal`) returned (`ok`) or reverted / ran out of gas (`!ok`).
    event CallbackResult(uint64 indexed requestId, bool ok, bool isFinal);
    /// @dev The request's deal closed in the escrow without `fulfill` (escrow status `dealStatus`); `credited` went to the consumer.
    event RequestSettled(uint64 indexed requestId, bytes32 indexed dealId, uint8 dealStatus, uint256 credited);
    /// @dev Nobody served the request by its deadline; `amount` was credited to the consumer.
    event RequestRefunded(uint64 indexed requestId, uint256 amount);
    /// @dev `account` withdrew `amount` of its credit to `to`.
    event CreditWithdrawn(address indexed account, address indexed to, uint256 amount);

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                         CONSTANTS                          */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice No such request.
    uint8 public constant STATUS_NONE = 0;
    /// @notice Paid, waiting for a deal.
    uint8 public constant STATUS_PENDING = 1;
    /// @notice A deal is open in the escrow.
    uint8 public constant STATUS_OPEN = 2;
    /// @notice Fulfilled: the result is final, the provider was paid, the consumer called back.
    uint8 public constant STATUS_FULFILLED = 3;
    /// @notice The deal closed another way (timeout, claim, mediation); funds settled.
    uint8 public constant STATUS_SETTLED = 4;
    /// @notice Unserved by its deadline; refunded.
    uint8 public constant STATUS_REFUNDED = 5;
    /// @notice The provider delivered its result; the challenge window runs (not final yet).
    uint8 public constant STATUS_DELIVERED = 6;

    /// @notice Largest result `data` delivered to a consumer, in bytes.
    uint256 public constant MAX_RESULT_DATA = 512;
    /// @notice Largest callback gas limit a request may set.
    uint32 public constant MAX_CALLBACK_GAS = 2_000_000;
    /// @notice Gas kept back for the work after the callback (event, return).
    uint256 public constant CALLBACK_RESERVE = 20_000;

    /// @dev keccak256 of the EIP-712 `JobOffer` type string (src/protocol/eip712.ts).
    bytes32 public constant JOB_OFFER_TYPEHASH = keccak256(
        "JobOffer(address creator,uint64 nonce,bytes32 module,bytes32 inputsHash,uint32 cpu,uint32 ram,uint32 gpus,uint32 gpuVram,uint32 disk,uint256 maxPrice,uint32 timeout,uint256 collateral,uint64 epoch,uint64 expiryEpoch)"
    );

    /// @dev Escrow deal statuses this contract reads (LilyEscrow STATUS_*).
    uint8 internal constant _ESCROW_SUBMITTED = 2;
    uint8 internal constant _ESCROW_CHALLENGED = 3;
    uint8 internal constant _ESCROW_CLAIMED = 5;
    uint8 internal constant _ESCROW_DISPUTE_EXPIRED = 9;
    uint8 internal constant _ESCROW_PROVIDER_FORFEITED = 11;
    uint8 internal constant _ESCROW_CREATOR_FORFEITED = 12;
    uint8 internal constant _ESCROW_TIMED_OUT = 6;
    uint8 internal constant _ESCROW_PROVIDER_WON = 7;
    uint8 internal constant _ESCROW_CREATOR_WON = 8;

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                         IMMUTABLES                         */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice The escrow deals are opened in.
    LilyEscrow public immutable escrow;
    /// @notice The escrow's settlement token; address(0) = native ETH.
    address public immutable token;

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                          STORAGE                           */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice How many requests were made; request ids are 1..requestCount.
    uint64 public requestCount;
    /// @notice What the companion owes consumers: maxPrice of Pending requests + unwithdrawn credits.
    uint256 public owed;
    /// @notice Withdrawable credit of each consumer (refunds, unused funds).
    mapping(address => uint256) public creditOf;
    /// @dev requestId => request.
    mapping(uint64 => Request) internal _requests;

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                        CONSTRUCTOR                         */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @param escrow_ the LilyEscrow deployment
    constructor(LilyEscrow escrow_) {
        escrow = escrow_;
        address t = escrow_.token();
        token = t;
        if (t != address(0)) _tokenCall(abi.encodeCall(IERC20Min.approve, (address(escrow_), type(uint256).max)));
    }

    /// @notice Accepts ETH only from the escrow (withdrawals of credits).
    receive() external payable {
        if (msg.sender != address(escrow)) revert UnexpectedEth();
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                          REQUESTS                          */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice Requests a job, paying `p.maxPrice` now (ETH: msg.value; ERC-20: transferFrom the
    /// caller, approve this contract first). The caller is the consumer: it receives the callback
    /// and every refund.
    /// @param p the terms; `deadline` is the last second a deal may open, after which an unserved
    /// request is refundable
    /// @return requestId the request's id (also the nonce of its JobOffer)
    function request(RequestParams calldata p) external payable returns (uint64 requestId) {
        if (p.maxPrice == 0) revert BadParams("maxPrice");
        if (p.timeout == 0) revert BadParams("timeout");
        if (p.deadline <= block.timestamp) revert BadParams("deadline");
        if (p.callbackGasLimit > MAX_CALLBACK_GAS) revert BadParams("callbackGasLimit");
        if (p.module == bytes32(0)) revert BadParams("module");
        if (p.agent == address(0)) revert BadParams("agent");
        if (token == address(0)) {
            if (msg.value != p.maxPrice) revert WrongValue(msg.value, p.maxPrice);
            escrow.depositFor{value: p.maxPrice}(address(this), p.maxPrice);
        } else {
            if (msg.value != 0) revert WrongValue(msg.value, 0);
            uint256 before = escrow.balanceOf(address(this));
            _tokenCall(abi.encodeCall(IERC20Min.transferFrom, (msg.sender, address(this), p.maxPrice)));
            escrow.depositFor(address(this), p.maxPrice);
            if (escrow.balanceOf(address(this)) - before != p.maxPrice) revert TransferFailed();
        }
        unchecked {
            requestId = ++requestCount;
        }
        Request storage r = _requests[requestId];
        r.consumer = msg.sender;
        r.status = STATUS_PENDING;
        r.params = p;
        owed += p.maxPrice;
        emit JobRequested(requestId, msg.sender, p);
    }

    /// @notice Opens the matched deal of a request in the escrow, as its creator, after checking
    /// that the deal is bound to the request: `deal.jobOfferHash` must be the EIP-712 digest (under
    /// the escrow's domain) of the JobOffer built from the request with `epoch` / `expiryEpoch`,
    /// price ≤ maxPrice, collateral ≥ the required collateral, the same timeout, and a provider
    /// other than the consumer. Only the request's agent may send it (the relay, which opens the
    /// deal its matcher derived). Credits maxPrice − price to the consumer.
    /// @param requestId the request
    /// @param deal the Deal (creator = this contract)
    /// @param epoch the JobOffer's first epoch, chosen by the node that published it
    /// @param expiryEpoch the JobOffer's last epoch
    /// @param sigProvider the provider's approval of the deal (65-byte signature, or empty after
    /// its own `approveDeal`)
    /// @return id the dealId
    function openRequestDeal(
        uint64 requestId,
        LilyEscrow.Deal calldata deal,
        uint64 epoch,
        uint64 expiryEpoch,
        bytes calldata sigProvider
    ) external returns (bytes32 id) {
        Request storage r = _requests[requestId];
        if (r.status != STATUS_PENDING) revert WrongRequestStatus(requestId, r.status);
        RequestParams memory p = r.params;
        if (msg.sender != p.agent) revert Unauthorized(msg.sender);
        if (block.timestamp > p.deadline) revert TooLate(p.deadline);
        if (deal.creator != address(this)) revert TermsMismatch(requestId, "creator");
        if (deal.jobOfferHash != _jobOfferDigest(requestId, p, epoch, expiryEpoch)) {
            revert TermsMismatch(requestId, "jobOfferHash");
        }
        if (deal.price > p.maxPrice) revert TermsMismatch(requestId, "price");
        if (deal.collateral < p.collateral) revert TermsMismatch(requestId, "collateral");
        if (deal.timeout != p.timeout) revert TermsMismatch(requestId, "timeout");
        if (deal.provider == r.consumer) revert TermsMismatch(requestId, "provider");
        r.status = STATUS_OPEN;
        id = escrow.openDeal(deal, "", sigProvider);
        r.dealId = id;
        uint256 unused = p.maxPrice - deal.price;
        owed -= deal.price;
        creditOf[r.consumer] += unused;
        emit RequestOpened(requestId, id, deal.provider, deal.price, unused);
    }

    /// @notice The provider delivers its short result after putting its result hash on-chain
    /// (the escrow's `submitResult`): the consumer is called back with `isFinal = false` under the
    /// request's gas limit. Nothing is paid yet: the escrow's challenge window runs, during which
    /// the agent or the consumer may `challengeRequest`. Send it with enough gas for the callback's
    /// full limit (`InsufficientGas` otherwise), so no caller can starve the callback.
    /// @param requestId the request
    /// @param deal the request's Deal
    /// @param data the short result, at most MAX_RESULT_DATA bytes
    function fulfill(uint64 requestId, LilyEscrow.Deal calldata deal, bytes calldata data) external {
        Request storage r = _requests[requestId];
        if (r.status != STATUS_OPEN) revert WrongRequestStatus(requestId, r.status);
        if (msg.sender != deal.provider) revert Unauthorized(msg.sender);
        if (data.length > MAX_RESULT_DATA) revert DataTooLong(data.length);
        (bytes32 id, uint8 status,) = escrow.dealState(deal);
        if (id != r.dealId) revert WrongDeal(requestId, r.dealId);
        if (status != _ESCROW_SUBMITTED && status != _ESCROW_CHALLENGED) revert DealNotClosed(id, status);
        bytes32 resultHash = escrow.resultOf(id);
        r.status = STATUS_DELIVERED;
        r.resultHash = resultHash;
        r.dataHash = keccak256(data);
        emit RequestFulfilled(requestId, id, resultHash, data);
        _callback(r, requestId, resultHash, data, false);
    }

    /// @notice Challenges the request's submitted result in the escrow on the consumer's behalf,
    /// within the escrow's challenge window. Only the request's agent or its consumer may call it;
    /// the caller pays the escrow's `mediationFee` (ETH: msg.value; ERC-20: transferFrom, approve
    /// first) and gets it back (out of what the escrow returns) when the creator side wins. The
    /// caller commits to the draw secret it reveals later with `revealRequest` (the escrow sees the
    /// companion as the creator): commit = escrow.commitment(dealId, address(this), secret).
    /// @param requestId the request
    /// @param deal the request's Deal
    /// @param commit the draw commitment
    function challengeRequest(uint64 requestId, LilyEscrow.Deal calldata deal, bytes32 commit) external payable {
        Request storage r = _requests[requestId];
        if (r.status != STATUS_OPEN && r.status != STATUS_DELIVERED) revert WrongRequestStatus(requestId, r.status);
        if (msg.sender != r.params.agent && msg.sender != r.consumer) revert Unauthorized(msg.sender);
        bytes32 id = escrow.dealId(deal);
        if (id != r.dealId) revert WrongDeal(requestId, r.dealId);
        uint256 fee = escrow.mediationFee();
        r.challenger = msg.sender;
        if (token == address(0)) {
            if (msg.value != fee) revert WrongValue(msg.value, fee);
            if (fee != 0) escrow.depositFor{value: fee}(address(this), fee);
        } else {
            if (msg.value != 0) revert WrongValue(msg.value, 0);
            if (fee != 0) {
                uint256 before = escrow.balanceOf(address(this));
                _tokenCall(abi.encodeCall(IERC20Min.transferFrom, (msg.sender, address(this), fee)));
                escrow.depositFor(address(this), fee);
                if (escrow.balanceOf(address(this)) - before != fee) revert TransferFailed();
            }
        }
        escrow.challenge(deal, commit);
        emit RequestChallenged(requestId, id, msg.sender);
    }

    /// @notice The challenger of a request reveals its draw secret in the escrow (as the creator),
    /// within the escrow's reveal deadline; not revealing forfeits the dispute to the provider.
    /// @param requestId the request
    /// @param deal the request's Deal
    /// @param secret the secret behind the challenger's commitment
    function revealRequest(uint64 requestId, LilyEscrow.Deal calldata deal, bytes32 secret) external {
        Request storage r = _requests[requestId];
        if (msg.sender != r.challenger) revert Unauthorized(msg.sender);
        if (escrow.dealId(deal) != r.dealId) revert WrongDeal(requestId, r.dealId);
        escrow.reveal(deal, secret);
    }

    /// @notice Settles a request whose deal is over in the escrow (claiming it there first when
    /// its challenge window has passed). The provider was paid (Claimed, ProviderWon): the result
    /// is final (also when the challenger did not reveal), the consumer is called back with `isFinal = true` (`data` must be what `fulfill`
    /// delivered, empty when the provider never delivered). Otherwise what the escrow gave back
    /// is credited: first the challenger's mediation fee (at most what came back), the rest to the
    /// consumer (price + collateral after a timeout or a creator win; price + fee after an expired
    /// dispute). Anyone may call.
    /// @param requestId the request
    /// @param deal the request's Deal
    /// @param data the delivered short result (see above)
    /// @return credited what was credited to the consumer and the challenger together
    function settle(uint64 requestId, LilyEscrow.Deal calldata deal, bytes calldata data) external returns (uint256 credited) {
        Request storage r = _requests[requestId];
        uint8 rs = r.status;
        if (rs != STATUS_OPEN && rs != STATUS_DELIVERED) revert WrongRequestStatus(requestId, rs);
        (bytes32 id, uint8 status, uint40 windowEnd) = escrow.dealState(deal);
        if (id != r.dealId) revert WrongDeal(requestId, r.dealId);
        if (status == _ESCROW_SUBMITTED) {
            if (block.timestamp <= windowEnd) revert TooEarly(uint256(windowEnd) + 1);
            if (rs == STATUS_OPEN) r.resultHash = escrow.resultOf(id);
            escrow.claim(deal);
            status = _ESCROW_CLAIMED;
        }
        if (status == _ESCROW_CLAIMED || status == _ESCROW_PROVIDER_WON || status == _ESCROW_CREATOR_FORFEITED) {
            bytes32 want = rs == STATUS_DELIVERED ? r.dataHash : keccak256("");
            if (keccak256(data) != want) revert TermsMismatch(requestId, "data");
            r.status = STATUS_FULFILLED;
            emit RequestSettled(requestId, id, status, 0);
            emit RequestFinalized(requestId, id, r.resultHash);
            _callback(r, requestId, r.resultHash, data, true);
            return 0;
        }
        if (status == _ESCROW_TIMED_OUT || status == _ESCROW_CREATOR_WON) {
            credited = deal.price + deal.collateral;
        } else if (status == _ESCROW_DISPUTE_EXPIRED) {
            credited = deal.price + escrow.mediationFee();
        } else if (status == _ESCROW_PROVIDER_FORFEITED) {
            credited = deal.price + deal.collateral + escrow.mediationFee();
        } else {
            revert DealNotClosed(id, status);
        }
        r.status = STATUS_SETTLED;
        owed += credited;
        uint256 toConsumer = credited;
        address challenger = r.challenger;
        if (challenger != address(0) && status != _ESCROW_TIMED_OUT) {
            uint256 fee = escrow.mediationFee();
            uint256 back = fee < credited ? fee : credited;
            creditOf[challenger] += back;
            toConsumer -= back;
        }
        creditOf[r.consumer] += toConsumer;
        emit RequestSettled(requestId, id, status, credited);
    }

    /// @notice Refunds a request nobody served by its deadline: maxPrice is credited to the
    /// consumer. Anyone may call.
    /// @param requestId the request
    function refund(uint64 requestId) external {
        Request storage r = _requests[requestId];
        if (r.status != STATUS_PENDING) revert WrongRequestStatus(requestId, r.status);
        uint256 deadline = r.params.deadline;
        if (block.timestamp <= deadline) revert TooEarly(deadline + 1);
        r.status = STATUS_REFUNDED;
        uint256 amount = r.params.maxPrice;
        creditOf[r.consumer] += amount;
        emit RequestRefunded(requestId, amount);
    }

    /// @notice Pays the caller's whole credit to `to` (ETH or the token).
    /// @param to the recipient
    /// @return amount what was paid
    function withdraw(address to) external returns (uint256 amount) {
        amount = creditOf[msg.sender];
        if (amount == 0) revert ZeroAmount();
        creditOf[msg.sender] = 0;
        owed -= amount;
        emit CreditWithdrawn(msg.sender, to, amount);
        escrow.withdraw(amount);
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert TransferFailed();
        } else {
            _tokenCall(abi.encodeCall(IERC20Min.transfer, (to, amount)));
        }
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                           VIEWS                            */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice A request.
    /// @param requestId the request
    /// @return consumer who made it (address(0) = no such request)
    /// @return status STATUS_*
    /// @return params its terms
    /// @return dealId the opened deal (zero before)
    function getRequest(uint64 requestId)
        external
        view
        returns (address consumer, uint8 status, RequestParams memory params, bytes32 dealId)
    {
        Request storage r = _requests[requestId];
        return (r.consumer, r.status, r.params, r.dealId);
    }

    /// @notice The jobOfferHash a deal for `requestId` must carry: the EIP-712 digest (escrow
    /// domain) of JobOffer{creator: this, nonce: requestId, the request's terms, epoch, expiryEpoch}.
    /// @param requestId the request
    /// @param epoch the JobOffer's first epoch
    /// @param expiryEpoch the JobOffer's last epoch
    /// @return the digest
    function jobOfferHash(uint64 requestId, uint64 epoch, uint64 expiryEpoch) external view returns (bytes32) {
        Request storage r = _requests[requestId];
        if (r.status == STATUS_NONE) revert WrongRequestStatus(requestId, STATUS_NONE);
        return _jobOfferDigest(requestId, r.params, epoch, expiryEpoch);
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                          INTERNAL                          */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev The EIP-712 digest of the request's JobOffer under the escrow's domain.
    function _jobOfferDigest(uint64 requestId, RequestParams memory p, uint64 epoch, uint64 expiryEpoch)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(
            bytes.concat(
                abi.encode(JOB_OFFER_TYPEHASH, address(this), requestId, p.module, p.inputsHash, p.cpu, p.ram, p.gpus),
                abi.encode(p.gpuVram, p.disk, p.maxPrice, p.timeout, p.collateral, epoch, expiryEpoch)
            )
        );
        return keccak256(abi.encodePacked(hex"1901", escrow.domainSeparator(), structHash));
    }

    /// @dev Calls the consumer back with the request's gas limit; a revert or running out of gas
    /// only emits CallbackResult(ok = false). Reverts InsufficientGas when too little gas is left
    /// to give the callback its full limit (63/64 rule).
    function _callback(Request storage r, uint64 requestId, bytes32 resultHash, bytes calldata data, bool isFinal) internal {
        uint256 limit = r.params.callbackGasLimit;
        address consumer = r.consumer;
        bool ok;
        if (limit != 0) {
            uint256 needed = limit + limit / 63 + CALLBACK_RESERVE;
            if (gasleft() < needed) revert InsufficientGas(gasleft(), needed);
            bytes memory cd = abi.encodeCall(ILilyConsumer.onLilyResult, (requestId, resultHash, data, isFinal));
            assembly ("memory-safe") {
                // no return data copied: a callback cannot make this call run out of gas
                ok := call(limit, consumer, 0, add(cd, 0x20), mload(cd), 0, 0)
            }
        }
        emit CallbackResult(requestId, ok, isFinal);
    }

    /// @dev Calls the token; accepts tokens that return true or nothing.
    function _tokenCall(bytes memory data) internal {
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok || (ret.length != 0 && (ret.length < 32 || !abi.decode(ret, (bool))))) revert TransferFailed();
        if (ret.length == 0 && token.code.length == 0) revert TransferFailed();
    }
}
