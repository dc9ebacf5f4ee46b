// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @dev The part of ERC-20 the escrow uses.
interface IERC20Like {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function balanceOf(address account) external view returns (uint256);
}

/// @dev EIP-1271: signature validation by a contract account.
interface IERC1271 {
    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4);
}

/// @title LilyEscrow — settlement of lilynode compute deals
/// @notice One settlement token per deployment (native ETH when `token` is the zero address,
/// otherwise an ERC-20). Parties keep free balances here (deposit / withdraw, pull payments);
/// a deal moves the creator's price and the provider's collateral from free balances into
/// escrow, and every way out of a deal moves them back to free balances.
///
/// Storage layout of a deal: ONE packed slot `_deals[jobOfferHash]`:
///   bits   0..7    status (see the STATUS_* constants)
///   bits   8..47   deadline (unix seconds): result deadline while Open, end of the
///                  challenge window while Submitted
///   bits  48..255  the high 208 bits of dealId (the EIP-712 digest of the Deal)
/// Keying the slot by the job offer folds the "job offer used once" flag into the deal
/// itself: the slot never returns to zero, so a job offer is refused forever, whatever
/// deal names it. Later calls pass the Deal as calldata; the contract re-derives dealId
/// and checks it against the stored 208 bits. Only the slow path uses more slots
/// (`resultOf`, `_disputes`), and clears them when the deal closes.
///
/// Dispute economics: the creator pays `mediationFee` to challenge. The drawn mediator
/// always earns exactly `mediationFee` (so its pay does not depend on how it rules); the
/// winner receives price + collateral. If the provider wins, the creator has lost its
/// price and its fee; if the creator wins, the provider has lost its collateral, which
/// pays the creator's fee back (net: creator gets price + collateral, mediator the fee).
/// A mediator that misses its deadline loses its whole stake, split between the two
/// parties, and the deal is drawn again.
contract LilyEscrow {
    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                           TYPES                            */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev The deal both parties sign (EIP-712 `Deal`); field order is the ABI/EIP-712 order.
    struct Deal {
        bytes32 jobOfferHash;
        bytes32 resourceOfferHash;
        address creator;
        address provider;
        uint256 price;
        uint256 collateral;
        uint32 timeout;
        uint64 matchEpoch;
        uint64 openBy;
    }

    /// @dev Slow-path state of a challenged deal (one slot).
    struct Dispute {
        address mediator;
        uint40 challengeBlock;
        uint40 deadline;
    }

    /// @dev A mediator's registry entry (one slot). `index` is its 1-based position in
    /// `_mediatorList` (0 = not drawable).
    struct Mediator {
        uint128 stake;
        uint32 index;
        uint32 assigned;
        uint40 unlockAt;
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                       CUSTOM ERRORS                        */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev The free balance of `account` is `available`, less than the `required` amount.
    error InsufficientBalance(address account, uint256 available, uint256 required);
    /// @dev msg.value does not fit the settlement token (must equal the amount for ETH, 0 for ERC-20).
    error WrongValue(uint256 value, uint256 amount);
    /// @dev A token or ETH transfer failed.
    error TransferFailed();
    /// @dev A function that moves funds was re-entered.
    error Reentrancy();
    /// @dev The amount is zero.
    error ZeroAmount();
    /// @dev The job offer of this deal was already used by another deal (or this one).
    error JobOfferUsed(bytes32 jobOfferHash);
    /// @dev This exact deal is already open (or closed).
    error DealAlreadyOpened(bytes32 dealId);
    /// @dev No deal with this id was opened (the Deal calldata does not match the stored one).
    error UnknownDeal(bytes32 dealId);
    /// @dev The deal is in `status`, which does not allow this call.
    error WrongStatus(bytes32 dealId, uint8 status);
    /// @dev The deal can no longer be opened: `openBy` has passed.
    error DealExpired(bytes32 dealId, uint64 openBy);
    /// @dev A deal whose creator is its provider.
    error SameParty();
    /// @dev The signature is not `signer`'s over the digest (nor an EIP-1271 approval).
    error InvalidSignature(address signer);
    /// @dev A 65-byte signature with s in the upper half of the curve order (malleable).
    error SignatureHighS();
    /// @dev The caller is not the party (or mediator) this function is reserved for.
    error Unauthorized(address caller);
    /// @dev Too early: the deadline or window ends at `when` (seconds or block number).
    error TooEarly(uint256 when);
    /// @dev Too late: the deadline or window ended at `when` (seconds).
    error TooLate(uint256 when);
    /// @dev A mediator is already drawn for this deal.
    error AlreadyDrawn(bytes32 dealId);
    /// @dev No mediator is drawn for this deal yet.
    error NotDrawn(bytes32 dealId);
    /// @dev No staked mediator other than the deal's parties can be drawn.
    error NoEligibleMediator();
    /// @dev The stake is below `minStake`.
    error StakeTooLow(uint256 stake, uint256 minStake);
    /// @dev The caller is not a registered mediator.
    error NotMediator(address account);
    /// @dev The stake cannot be withdrawn yet (still listed, unlock time ahead, or deals assigned).
    error StakeLocked(uint256 unlockAt, uint256 assigned);
    /// @dev Batched arrays of different lengths.
    error LengthMismatch();

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                           EVENTS                           */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev `amount` credited to the free balance of `account`.
    event Deposited(address indexed account, uint256 amount);
    /// @dev `amount` paid out of the free balance of `account`.
    event Withdrawn(address indexed account, uint256 amount);
    /// @dev `party` approved `dealId` on-chain (instead of signing it).
    event DealApproved(bytes32 indexed dealId, address indexed party);
    /// @dev A deal was opened: price and collateral are in escrow.
    event DealOpened(bytes32 indexed dealId, bytes32 indexed jobOfferHash, bytes32 resourceOfferHash);
    /// @dev The provider put its result on-chain; the challenge window runs until `windowEnd`.
    event ResultSubmitted(bytes32 indexed dealId, bytes32 resultHash, uint256 windowEnd);
    /// @dev The creator challenged the result in block `challengeBlock`; the draw uses blockhash(challengeBlock + 1).
    event DealChallenged(bytes32 indexed dealId, uint256 challengeBlock);
    /// @dev The draw anchor moved to `challengeBlock` (blockhash too old, or a mediator was replaced).
    event DrawReanchored(bytes32 indexed dealId, uint256 challengeBlock);
    /// @dev `mediator` was drawn for `dealId` and must rule before `deadline`.
    event MediatorDrawn(bytes32 indexed dealId, address indexed mediator, uint256 deadline);
    /// @dev `mediator` missed its deadline on `dealId` and lost `amount` of stake.
    event MediatorSlashed(bytes32 indexed dealId, address indexed mediator, uint256 amount);
    /// @dev The creator accepted the result; the provider was paid (happy path).
    event DealCompleted(bytes32 indexed dealId);
    /// @dev The provider claimed after an unchallenged window.
    event DealClaimed(bytes32 indexed dealId);
    /// @dev No result in time: the creator got its price and the provider's collateral.
    event DealTimedOut(bytes32 indexed dealId);
    /// @dev The mediator ruled; `providerWins` tells for whom.
    event DealResolved(bytes32 indexed dealId, bool providerWins);
    /// @dev `mediator` staked; its stake is now `stake`.
    event MediatorRegistered(address indexed mediator, uint256 stake);
    /// @dev `mediator` left the draw; its stake unlocks at `unlockAt`.
    event MediatorUnregistered(address indexed mediator, uint256 unlockAt);
    /// @dev `mediator` took its stake of `amount` back.
    event StakeWithdrawn(address indexed mediator, uint256 amount);

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                         CONSTANTS                          */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev No deal uses this job offer.
    uint8 internal constant STATUS_NONE = 0;
    /// @dev Open: price and collateral escrowed, result due by the deadline.
    uint8 internal constant STATUS_OPEN = 1;
    /// @dev Result submitted on-chain; challenge window running.
    uint8 internal constant STATUS_SUBMITTED = 2;
    /// @dev Challenged by the creator; mediation running.
    uint8 internal constant STATUS_CHALLENGED = 3;
    /// @dev Closed: the creator accepted the result (happy path).
    uint8 internal constant STATUS_COMPLETED = 4;
    /// @dev Closed: the provider claimed after an unchallenged window.
    uint8 internal constant STATUS_CLAIMED = 5;
    /// @dev Closed: no result in time; creator refunded, collateral slashed to the creator.
    uint8 internal constant STATUS_TIMED_OUT = 6;
    /// @dev Closed: the mediator ruled for the provider.
    uint8 internal constant STATUS_PROVIDER_WON = 7;
    /// @dev Closed: the mediator ruled for the creator.
    uint8 internal constant STATUS_CREATOR_WON = 8;

    /// @dev keccak256 of the EIP-712 `Deal` type string (src/protocol/eip712.ts).
    bytes32 internal constant DEAL_TYPEHASH = keccak256(
        "Deal(bytes32 jobOfferHash,bytes32 resourceOfferHash,address creator,address provider,uint256 price,uint256 collateral,uint32 timeout,uint64 matchEpoch,uint64 openBy)"
    );
    /// @dev keccak256 of the EIP-712 `ResultAcceptance` type string.
    bytes32 internal constant RESULT_ACCEPTANCE_TYPEHASH = keccak256("ResultAcceptance(bytes32 dealId,bytes32 resultHash)");
    /// @dev keccak256 of the EIP-712 domain type string.
    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    /// @dev keccak256("lilynode"), the EIP-712 domain name.
    bytes32 private constant _NAME_HASH = keccak256("lilynode");
    /// @dev keccak256("1"), the EIP-712 domain version.
    bytes32 private constant _VERSION_HASH = keccak256("1");
    /// @dev secp256k1 n / 2: signatures with a larger s are malleable and refused.
    uint256 private constant _HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    /// @dev EIP-1271 magic value.
    bytes4 private constant _ERC1271_MAGIC = 0x1626ba7e;
    /// @dev Mask of the dealId bits kept in a deal slot (the high 208 bits).
    uint256 private constant _TAG_MASK = ~uint256(0) << 48;
    /// @dev Transient storage slot of the reentrancy lock.
    uint256 private constant _LOCK_SLOT = uint256(keccak256("lilynode.escrow.lock")) - 1;

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                         IMMUTABLES                         */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice The settlement token; address(0) = native ETH.
    address public immutable token;
    /// @notice Seconds after `submitResult` during which the creator may challenge.
    uint256 public immutable challengeWindow;
    /// @notice What the creator pays to challenge; the drawn mediator earns it.
    uint256 public immutable mediationFee;
    /// @notice Least stake of a drawable mediator.
    uint256 public immutable minStake;
    /// @notice Seconds a drawn mediator has to rule.
    uint256 public immutable mediatorTimeout;
    /// @notice Seconds between `unregisterMediator` and `withdrawStake`.
    uint256 public immutable unstakeDelay;

    /// @dev Chain id the cached domain separator was built for.
    uint256 private immutable _cachedChainId;
    /// @dev Address the cached domain separator was built for (guards delegatecall copies).
    address private immutable _cachedThis;
    /// @dev The EIP-712 domain separator at deployment.
    bytes32 private immutable _cachedDomainSeparator;

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                          STORAGE                           */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev jobOfferHash => packed deal slot (see the contract comment).
    mapping(bytes32 => uint256) private _deals;
    /// @notice Free (withdrawable) balance of each account.
    mapping(address => uint256) public balanceOf;
    /// @notice Result hash a provider submitted on-chain, by dealId (slow path only).
    mapping(bytes32 => bytes32) public resultOf;
    /// @notice Stored approvals: dealId => party => approved (EIP-1271-free path for contracts).
    mapping(bytes32 => mapping(address => bool)) public approved;
    /// @dev dealId => dispute (slow path only).
    mapping(bytes32 => Dispute) private _disputes;
    /// @dev Mediator registry.
    mapping(address => Mediator) private _mediators;
    /// @dev Drawable mediators.
    address[] private _mediatorList;

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                        CONSTRUCTOR                         */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @param token_ settlement token (address(0) = native ETH)
    /// @param challengeWindow_ seconds to challenge a submitted result
    /// @param mediationFee_ fee the challenger pays, earned by the mediator
    /// @param minStake_ least mediator stake
    /// @param mediatorTimeout_ seconds a drawn mediator has to rule
    /// @param unstakeDelay_ seconds from unregistering to withdrawing the stake
    constructor(
        address token_,
        uint256 challengeWindow_,
        uint256 mediationFee_,
        uint256 minStake_,
        uint256 mediatorTimeout_,
        uint256 unstakeDelay_
    ) {
        token = token_;
        challengeWindow = challengeWindow_;
        mediationFee = mediationFee_;
        minStake = minStake_;
        mediatorTimeout = mediatorTimeout_;
        unstakeDelay = unstakeDelay_;
        _cachedChainId = block.chainid;
        _cachedThis = address(this);
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                          BALANCES                          */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice Credits `amount` of the settlement token to the caller's free balance.
    /// @dev ETH: msg.value must equal `amount`. ERC-20: pulled with transferFrom (approve
    /// first); the amount actually received is credited.
    /// @param amount how much to deposit
    function deposit(uint256 amount) external payable {
        depositFor(msg.sender, amount);
    }

    /// @notice Credits `amount` to `account`'s free balance, paid by the caller.
    /// @param account whose balance grows
    /// @param amount how much to deposit
    function depositFor(address account, uint256 amount) public payable {
        _lock();
        uint256 received = _pull(amount);
        balanceOf[account] += received;
        emit Deposited(account, received);
        _unlock();
    }

    /// @notice Pays `amount` out of the caller's free balance to the caller.
    /// @param amount how much to withdraw
    function withdraw(uint256 amount) external {
        _lock();
        if (amount == 0) revert ZeroAmount();
        uint256 b = balanceOf[msg.sender];
        if (b < amount) revert InsufficientBalance(msg.sender, b, amount);
        unchecked {
            balanceOf[msg.sender] = b - amount;
        }
        emit Withdrawn(msg.sender, amount);
        _push(msg.sender, amount);
        _unlock();
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                        OPENING DEALS                       */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice Records the caller's approval of `dealId`, so the deal can be opened without the
    /// caller's signature (for contract accounts, e.g. an on-chain job request).
    /// @param id the dealId (EIP-712 digest of the Deal)
    function approveDeal(bytes32 id) external {
        approved[id][msg.sender] = true;
        emit DealApproved(id, msg.sender);
    }

    /// @notice Opens a deal both parties agreed to: moves `price` from the creator's free balance
    /// and `collateral` from the provider's into escrow. The job offer is used for good.
    /// @dev Each party's approval is one of: an empty signature when the party is the caller or
    /// approved the deal with `approveDeal`; a 65-byte low-s ECDSA signature (r ‖ s ‖ v) over
    /// the Deal digest; an EIP-1271 signature when the party is a contract.
    /// @param deal the Deal
    /// @param sigCreator the creator's approval
    /// @param sigProvider the provider's approval
    /// @return id the dealId
    function openDeal(Deal calldata deal, bytes calldata sigCreator, bytes calldata sigProvider)
        external
        returns (bytes32 id)
    {
        id = _open(deal, sigCreator, sigProvider, false);
    }

    /// @notice Opens many deals in one transaction. A deal that is already open (same dealId)
    /// is skipped, so a batch can be re-sent after a partial race; any other failure reverts all.
    /// @param deals the Deals
    /// @param sigsCreator the creators' approvals, one per deal
    /// @param sigsProvider the providers' approvals, one per deal
    /// @return opened how many deals this call opened
    function openDeals(Deal[] calldata deals, bytes[] calldata sigsCreator, bytes[] calldata sigsProvider)
        external
        returns (uint256 opened)
    {
        uint256 n = deals.length;
        if (sigsCreator.length != n || sigsProvider.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            if (_open(deals[i], sigsCreator[i], sigsProvider[i], true) != bytes32(0)) {
                unchecked {
                    ++opened;
                }
            }
        }
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                         HAPPY PATH                         */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice Settles a deal in one transaction with the creator's acceptance of the result:
    /// the provider is credited price + collateral. Anyone may send it (usually the provider).
    /// @param deal the Deal
    /// @param resultHash hash of the result bundle the creator accepted
    /// @param sigCreatorAcceptsResult the creator's approval of ResultAcceptance(dealId, resultHash);
    /// empty when the creator is the caller
    function complete(Deal calldata deal, bytes32 resultHash, bytes calldata sigCreatorAcceptsResult) external {
        (bytes32 id, uint256 slot) = _load(deal);
        uint8 status = uint8(slot);
        if (status != STATUS_OPEN && status != STATUS_SUBMITTED) revert WrongStatus(id, status);
        if (sigCreatorAcceptsResult.length != 0 || msg.sender != deal.creator) {
            _checkSignature(deal.creator, _resultDigest(id, resultHash), sigCreatorAcceptsResult);
        }
        _close(deal, slot, STATUS_COMPLETED);
        if (status == STATUS_SUBMITTED) delete resultOf[id];
        balanceOf[deal.provider] += deal.price + deal.collateral;
        emit DealCompleted(id);
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                         SLOW PATHS                         */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice The provider puts its result hash on-chain before the result deadline; the creator
    /// then has `challengeWindow` seconds to challenge, after which the provider can `claim`.
    /// @param deal the Deal
    /// @param resultHash hash of the result bundle
    function submitResult(Deal calldata deal, bytes32 resultHash) external {
        (bytes32 id, uint256 slot) = _load(deal);
        if (msg.sender != deal.provider) revert Unauthorized(msg.sender);
        _requireStatus(id, slot, STATUS_OPEN);
        uint256 deadline = _deadline(slot);
        if (block.timestamp > deadline) revert TooLate(deadline);
        uint256 windowEnd = block.timestamp + challengeWindow;
        resultOf[id] = resultHash;
        _deals[deal.jobOfferHash] = (slot & _TAG_MASK) | (windowEnd << 8) | STATUS_SUBMITTED;
        emit ResultSubmitted(id, resultHash, windowEnd);
    }

    /// @notice After an unchallenged window, credits the provider price + collateral. Anyone may call.
    /// @param deal the Deal
    function claim(Deal calldata deal) external {
        (bytes32 id, uint256 slot) = _load(deal);
        _requireStatus(id, slot, STATUS_SUBMITTED);
        uint256 windowEnd = _deadline(slot);
        if (block.timestamp <= windowEnd) revert TooEarly(windowEnd + 1);
        _close(deal, slot, STATUS_CLAIMED);
        delete resultOf[id];
        balanceOf[deal.provider] += deal.price + deal.collateral;
        emit DealClaimed(id);
    }

    /// @notice The creator disputes a submitted result within the window and pays `mediationFee`.
    /// The mediator is drawn later (`draw`) from blockhash(challenge block + 1), unknown now.
    /// @param deal the Deal
    function challenge(Deal calldata deal) external {
        (bytes32 id, uint256 slot) = _load(deal);
        if (msg.sender != deal.creator) revert Unauthorized(msg.sender);
        _requireStatus(id, slot, STATUS_SUBMITTED);
        uint256 windowEnd = _deadline(slot);
        if (block.timestamp > windowEnd) revert TooLate(windowEnd);
        _debit(msg.sender, mediationFee);
        _deals[deal.jobOfferHash] = (slot & ~uint256(0xff)) | STATUS_CHALLENGED;
        _disputes[id] = Dispute(address(0), uint40(block.number), 0);
        emit DealChallenged(id, block.number);
    }

    /// @notice Draws the mediator of a challenged deal from blockhash(challengeBlock + 1) and the
    /// dealId, over the staked mediators other than the parties. Anyone may call it once that
    /// block exists; if its hash is no longer available (256 blocks), the anchor moves to the
    /// current block and the draw is made again later.
    /// @param deal the Deal
    /// @return mediator the drawn mediator (address(0) when the anchor moved)
    function draw(Deal calldata deal) external returns (address mediator) {
        (bytes32 id, uint256 slot) = _load(deal);
        _requireStatus(id, slot, STATUS_CHALLENGED);
        Dispute memory d = _disputes[id];
        if (d.mediator != address(0)) revert AlreadyDrawn(id);
        bytes32 seed = _seed(id, d.challengeBlock);
        if (seed == bytes32(0)) {
            _disputes[id].challengeBlock = uint40(block.number);
            emit DrawReanchored(id, block.number);
            return address(0);
        }
        mediator = _pick(seed, deal.creator, deal.provider);
        uint256 deadline = block.timestamp + mediatorTimeout;
        _disputes[id] = Dispute(mediator, d.challengeBlock, uint40(deadline));
        unchecked {
            ++_mediators[mediator].assigned;
        }
        emit MediatorDrawn(id, mediator, deadline);
    }

    /// @notice The drawn mediator rules before its deadline. The mediator is credited
    /// `mediationFee`; the winner price + collateral (see the contract comment).
    /// @param deal the Deal
    /// @param providerWins true when the provider's result stands
    function resolve(Deal calldata deal, bool providerWins) external {
        (bytes32 id, uint256 slot) = _load(deal);
        _requireStatus(id, slot, STATUS_CHALLENGED);
        Dispute memory d = _disputes[id];
        if (d.mediator == address(0) || msg.sender != d.mediator) revert Unauthorized(msg.sender);
        if (block.timestamp > d.deadline) revert TooLate(d.deadline);
        delete _disputes[id];
        delete resultOf[id];
        unchecked {
            --_mediators[d.mediator].assigned;
        }
        balanceOf[d.mediator] += mediationFee;
        _close(deal, slot, providerWins ? STATUS_PROVIDER_WON : STATUS_CREATOR_WON);
        balanceOf[providerWins ? deal.provider : deal.creator] += deal.price + deal.collateral;
        emit DealResolved(id, providerWins);
    }

    /// @notice Replaces a drawn mediator that missed its deadline: its whole stake is slashed,
    /// half to the provider and the rest to the creator, it leaves the draw, and the next draw
    /// uses the hash of the block after this one. Anyone may call.
    /// @param deal the Deal
    function redraw(Deal calldata deal) external {
        (bytes32 id, uint256 slot) = _load(deal);
        _requireStatus(id, slot, STATUS_CHALLENGED);
        Dispute memory d = _disputes[id];
        if (d.mediator == address(0)) revert NotDrawn(id);
        if (block.timestamp <= d.deadline) revert TooEarly(uint256(d.deadline) + 1);
        Mediator storage m = _mediators[d.mediator];
        uint256 slashed = m.stake;
        m.stake = 0;
        unchecked {
            --m.assigned;
        }
        if (m.index != 0) _unlist(m);
        uint256 half = slashed / 2;
        balanceOf[deal.provider] += half;
        balanceOf[deal.creator] += slashed - half;
        _disputes[id] = Dispute(address(0), uint40(block.number), 0);
        emit MediatorSlashed(id, d.mediator, slashed);
        emit DrawReanchored(id, block.number);
    }

    /// @notice When no result came by the result deadline: the creator is credited its price and
    /// the provider's collateral. Anyone may call.
    /// @param deal the Deal
    function timeout(Deal calldata deal) external {
        (bytes32 id, uint256 slot) = _load(deal);
        _requireStatus(id, slot, STATUS_OPEN);
        uint256 deadline = _deadline(slot);
        if (block.timestamp <= deadline) revert TooEarly(deadline + 1);
        _close(deal, slot, STATUS_TIMED_OUT);
        balanceOf[deal.creator] += deal.price + deal.collateral;
        emit DealTimedOut(id);
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                     MEDIATOR REGISTRY                      */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice Stakes `amount` (ETH: msg.value) and makes the caller drawable as a mediator.
    /// Registering again adds to the stake and cancels a pending unregistration.
    /// @param amount stake to add
    function registerMediator(uint256 amount) external payable {
        _lock();
        uint256 received = _pull(amount);
        Mediator storage m = _mediators[msg.sender];
        uint256 stake = m.stake + received;
        if (stake < minStake || stake > type(uint128).max) revert StakeTooLow(stake, minStake);
        m.stake = uint128(stake);
        m.unlockAt = 0;
        if (m.index == 0) {
            _mediatorList.push(msg.sender);
            m.index = uint32(_mediatorList.length);
        }
        emit MediatorRegistered(msg.sender, stake);
        _unlock();
    }

    /// @notice Leaves the draw; the stake can be withdrawn `unstakeDelay` seconds later, once no
    /// drawn dispute is pending.
    function unregisterMediator() external {
        Mediator storage m = _mediators[msg.sender];
        if (m.index == 0) revert NotMediator(msg.sender);
        _unlist(m);
        uint256 unlockAt = block.timestamp + unstakeDelay;
        m.unlockAt = uint40(unlockAt);
        emit MediatorUnregistered(msg.sender, unlockAt);
    }

    /// @notice Pays an unregistered mediator its stake once unlocked.
    function withdrawStake() external {
        _lock();
        Mediator storage m = _mediators[msg.sender];
        uint256 amount = m.stake;
        if (amount == 0) revert ZeroAmount();
        if (m.index != 0 || m.unlockAt == 0 || block.timestamp < m.unlockAt || m.assigned != 0) {
            revert StakeLocked(m.unlockAt, m.assigned);
        }
        m.stake = 0;
        m.unlockAt = 0;
        emit StakeWithdrawn(msg.sender, amount);
        _push(msg.sender, amount);
        _unlock();
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                           VIEWS                            */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice The EIP-712 domain separator (rebuilt if the chain id changed since deployment).
    /// @return the separator
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparator();
    }

    /// @notice dealId = the EIP-712 digest of `deal` under this contract's domain.
    /// @param deal the Deal
    /// @return the dealId
    function dealId(Deal calldata deal) external view returns (bytes32) {
        return _dealId(deal);
    }

    /// @notice The EIP-712 digest of ResultAcceptance(dealId, resultHash).
    /// @param id the dealId
    /// @param resultHash the result hash
    /// @return the digest the creator signs
    function hashResultAcceptance(bytes32 id, bytes32 resultHash) external view returns (bytes32) {
        return _resultDigest(id, resultHash);
    }

    /// @notice The state of the slot of a job offer.
    /// @param jobOfferHash the job offer's id
    /// @return status STATUS_* (0 = job offer unused)
    /// @return deadline result deadline (Open) or window end (Submitted), unix seconds
    /// @return dealIdTag the high 208 bits of the dealId that used the job offer (low 48 bits zero)
    function jobOfferState(bytes32 jobOfferHash)
        external
        view
        returns (uint8 status, uint40 deadline, bytes32 dealIdTag)
    {
        uint256 slot = _deals[jobOfferHash];
        return (uint8(slot), uint40(slot >> 8), bytes32(slot & _TAG_MASK));
    }

    /// @notice The state of a deal.
    /// @param deal the Deal
    /// @return id the dealId
    /// @return status STATUS_* (0 when this deal was never opened, even if its job offer was used)
    /// @return deadline result deadline (Open) or window end (Submitted), unix seconds
    function dealState(Deal calldata deal) external view returns (bytes32 id, uint8 status, uint40 deadline) {
        id = _dealId(deal);
        uint256 slot = _deals[deal.jobOfferHash];
        if ((slot ^ uint256(id)) & _TAG_MASK != 0) return (id, STATUS_NONE, 0);
        return (id, uint8(slot), uint40(slot >> 8));
    }

    /// @notice The dispute of a challenged deal.
    /// @param id the dealId
    /// @return mediator the drawn mediator (address(0) before the draw)
    /// @return challengeBlock the draw anchor b (the draw uses blockhash(b + 1))
    /// @return deadline the mediator's deadline, unix seconds
    function disputeOf(bytes32 id) external view returns (address mediator, uint40 challengeBlock, uint40 deadline) {
        Dispute memory d = _disputes[id];
        return (d.mediator, d.challengeBlock, d.deadline);
    }

    /// @notice The mediator a `draw` in this block would pick (reverts TooEarly before block b + 2).
    /// @param deal the Deal
    /// @return the mediator, or address(0) when the anchor's hash is too old
    function previewDraw(Deal calldata deal) external view returns (address) {
        (bytes32 id, uint256 slot) = _load(deal);
        _requireStatus(id, slot, STATUS_CHALLENGED);
        bytes32 seed = _seed(id, _disputes[id].challengeBlock);
        if (seed == bytes32(0)) return address(0);
        return _pick(seed, deal.creator, deal.provider);
    }

    /// @notice A mediator's registry entry.
    /// @param account the mediator
    /// @return stake its stake
    /// @return listed whether it can be drawn
    /// @return assigned how many drawn disputes await its ruling
    /// @return unlockAt when its stake unlocks (0 = not unregistering)
    function mediatorInfo(address account)
        external
        view
        returns (uint256 stake, bool listed, uint256 assigned, uint256 unlockAt)
    {
        Mediator memory m = _mediators[account];
        return (m.stake, m.index != 0, m.assigned, m.unlockAt);
    }

    /// @notice The drawable mediators, in draw order.
    /// @return the list
    function mediators() external view returns (address[] memory) {
        return _mediatorList;
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                          INTERNAL                          */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev Opens one deal; with `skipIfOpen`, returns 0 instead of reverting when this exact
    /// deal is already open.
    function _open(Deal calldata deal, bytes calldata sigCreator, bytes calldata sigProvider, bool skipIfOpen)
        internal
        returns (bytes32 id)
    {
        id = _dealId(deal);
        bytes32 jobOfferHash = deal.jobOfferHash;
        uint256 slot = _deals[jobOfferHash];
        if (slot != 0) {
            if ((slot ^ uint256(id)) & _TAG_MASK != 0) revert JobOfferUsed(jobOfferHash);
            if (skipIfOpen) return bytes32(0);
            revert DealAlreadyOpened(id);
        }
        if (block.timestamp > deal.openBy) revert DealExpired(id, deal.openBy);
        address creator = deal.creator;
        address provider = deal.provider;
        if (creator == provider) revert SameParty();
        _approve(id, creator, sigCreator);
        _approve(id, provider, sigProvider);
        _debit(creator, deal.price);
        _debit(provider, deal.collateral);
        _deals[jobOfferHash] = (uint256(id) & _TAG_MASK) | ((block.timestamp + deal.timeout) << 8) | STATUS_OPEN;
        emit DealOpened(id, jobOfferHash, deal.resourceOfferHash);
    }

    /// @dev Checks a party's approval of a deal to open (see `openDeal`).
    function _approve(bytes32 id, address party, bytes calldata sig) internal {
        if (sig.length == 0) {
            if (msg.sender == party) return;
            if (approved[id][party]) {
                delete approved[id][party];
                return;
            }
            revert InvalidSignature(party);
        }
        _checkSignature(party, id, sig);
    }

    /// @dev Loads the slot of `deal` and checks it belongs to this exact deal.
    function _load(Deal calldata deal) internal view returns (bytes32 id, uint256 slot) {
        id = _dealId(deal);
        slot = _deals[deal.jobOfferHash];
        if (slot == 0 || (slot ^ uint256(id)) & _TAG_MASK != 0) revert UnknownDeal(id);
    }

    /// @dev Reverts unless the slot holds `status`.
    function _requireStatus(bytes32 id, uint256 slot, uint8 status) internal pure {
        if (uint8(slot) != status) revert WrongStatus(id, uint8(slot));
    }

    /// @dev The deadline field of a slot.
    function _deadline(uint256 slot) internal pure returns (uint256) {
        return uint40(slot >> 8);
    }

    /// @dev Marks a deal closed with `outcome`; the slot stays non-zero so the job offer stays used.
    /// Events are emitted by the callers (one event name per way out, without data: cheaper).
    function _close(Deal calldata deal, uint256 slot, uint8 outcome) internal {
        _deals[deal.jobOfferHash] = (slot & ~uint256(0xff)) | outcome;
    }

    /// @dev Moves `amount` out of `account`'s free balance.
    function _debit(address account, uint256 amount) internal {
        uint256 b = balanceOf[account];
        if (b < amount) revert InsufficientBalance(account, b, amount);
        unchecked {
            balanceOf[account] = b - amount;
        }
    }

    /// @dev The draw seed keccak256(blockhash(b + 1), dealId); zero when that hash is gone.
    function _seed(bytes32 id, uint256 challengeBlock) internal view returns (bytes32) {
        uint256 b1 = challengeBlock + 1;
        if (block.number <= b1) revert TooEarly(b1 + 1);
        bytes32 h = blockhash(b1);
        if (h == bytes32(0)) return bytes32(0);
        return keccak256(abi.encode(h, id));
    }

    /// @dev The mediator at seed % n, stepping past the deal's parties.
    function _pick(bytes32 seed, address creator, address provider) internal view returns (address) {
        uint256 n = _mediatorList.length;
        if (n == 0) revert NoEligibleMediator();
        uint256 start = uint256(seed) % n;
        for (uint256 k; k < n && k < 3; ++k) {
            address m = _mediatorList[(start + k) % n];
            if (m != creator && m != provider) return m;
        }
        revert NoEligibleMediator();
    }

    /// @dev Removes a mediator from the draw list (swap and pop).
    function _unlist(Mediator storage m) internal {
        uint256 i = m.index - 1;
        uint256 last = _mediatorList.length - 1;
        if (i != last) {
            address moved = _mediatorList[last];
            _mediatorList[i] = moved;
            _mediators[moved].index = uint32(i + 1);
        }
        _mediatorList.pop();
        m.index = 0;
    }

    /// @dev Checks `sig` approves `digest` for `signer`: a 65-byte low-s ECDSA signature of the
    /// signer, or, when the signer is a contract, EIP-1271.
    function _checkSignature(address signer, bytes32 digest, bytes calldata sig) internal view {
        if (sig.length == 65) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly ("memory-safe") {
                r := calldataload(sig.offset)
                s := calldataload(add(sig.offset, 0x20))
                v := byte(0, calldataload(add(sig.offset, 0x40)))
            }
            if (uint256(s) > _HALF_N) {
                if (signer.code.length == 0) revert SignatureHighS();
            } else {
                address recovered = _ecrecover(digest, v, r, s);
                if (recovered == signer && recovered != address(0)) return;
            }
        }
        if (signer.code.length != 0) {
            (bool ok, bytes memory ret) =
                signer.staticcall(abi.encodeWithSelector(IERC1271.isValidSignature.selector, digest, sig));
            if (ok && ret.length >= 32 && abi.decode(ret, (bytes4)) == _ERC1271_MAGIC) return;
        }
        revert InvalidSignature(signer);
    }

    /// @dev ecrecover through the precompile; address(0) when it fails (bad v, bad point).
    function _ecrecover(bytes32 digest, uint8 v, bytes32 r, bytes32 s) internal view returns (address recovered) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, digest)
            mstore(add(m, 0x20), v)
            mstore(add(m, 0x40), r)
            mstore(add(m, 0x60), s)
            let ok := staticcall(gas(), 1, m, 0x80, 0x00, 0x20)
            recovered := mul(mload(0x00), and(ok, eq(returndatasize(), 0x20)))
        }
    }

    /// @dev dealId: keccak256(0x1901 ‖ domainSeparator ‖ keccak256(DEAL_TYPEHASH ‖ abi.encode(deal))).
    /// The Deal's ABI encoding is its nine static words, hashed straight from calldata.
    function _dealId(Deal calldata deal) internal view returns (bytes32 id) {
        bytes32 separator = _domainSeparator();
        bytes32 typeHash = DEAL_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), deal, 0x120)
            let structHash := keccak256(m, 0x140)
            mstore(m, 0x1901)
            mstore(add(m, 0x20), separator)
            mstore(add(m, 0x40), structHash)
            id := keccak256(add(m, 0x1e), 0x42)
        }
    }

    /// @dev The EIP-712 digest of ResultAcceptance(dealId, resultHash).
    function _resultDigest(bytes32 id, bytes32 resultHash) internal view returns (bytes32 digest) {
        bytes32 separator = _domainSeparator();
        bytes32 typeHash = RESULT_ACCEPTANCE_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), id)
            mstore(add(m, 0x40), resultHash)
            let structHash := keccak256(m, 0x60)
            mstore(m, 0x1901)
            mstore(add(m, 0x20), separator)
            mstore(add(m, 0x40), structHash)
            digest := keccak256(add(m, 0x1e), 0x42)
        }
    }

    /// @dev The cached domain separator, or a fresh one after a chain fork changed the id.
    function _domainSeparator() internal view returns (bytes32) {
        if (block.chainid == _cachedChainId && address(this) == _cachedThis) return _cachedDomainSeparator;
        return _buildDomainSeparator();
    }

    /// @dev Builds the EIP-712 domain separator for the current chain and address.
    function _buildDomainSeparator() internal view returns (bytes32) {
        return keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }

    /// @dev Takes `amount` from the caller into the contract; returns what arrived.
    function _pull(uint256 amount) internal returns (uint256 received) {
        if (amount == 0) revert ZeroAmount();
        if (token == address(0)) {
            if (msg.value != amount) revert WrongValue(msg.value, amount);
            return amount;
        }
        if (msg.value != 0) revert WrongValue(msg.value, amount);
        uint256 before = IERC20Like(token).balanceOf(address(this));
        _call(abi.encodeWithSelector(IERC20Like.transferFrom.selector, msg.sender, address(this), amount));
        received = IERC20Like(token).balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
    }

    /// @dev Pays `amount` out to `to`.
    function _push(address to, uint256 amount) internal {
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert TransferFailed();
        } else {
            _call(abi.encodeWithSelector(IERC20Like.transfer.selector, to, amount));
        }
    }

    /// @dev Calls the token; accepts tokens that return true or nothing.
    function _call(bytes memory data) internal {
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok || (ret.length != 0 && (ret.length < 32 || !abi.decode(ret, (bool))))) revert TransferFailed();
        if (ret.length == 0 && token.code.length == 0) revert TransferFailed();
    }

    /// @dev Takes the transient reentrancy lock.
    function _lock() internal {
        uint256 slot = _LOCK_SLOT;
        bool locked;
        assembly ("memory-safe") {
            locked := tload(slot)
        }
        if (locked) revert Reentrancy();
        assembly ("memory-safe") {
            tstore(slot, 1)
        }
    }

    /// @dev Releases the transient reentrancy lock.
    function _unlock() internal {
        uint256 slot = _LOCK_SLOT;
        assembly ("memory-safe") {
            tstore(slot, 0)
        }
    }
}
