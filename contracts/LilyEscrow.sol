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
/// Storage layout of a deal: ONE packed slot `_deals[keccak256(creator, jobOfferHash)]`:
///   bits   0..7    status (see the STATUS_* constants)
///   bits   8..47   deadline (unix seconds): result deadline while Open, end of the
///                  challenge window while Submitted, end of the dispute while Challenged
///   bits  48..255  the high 208 bits of the deal's tag keccak256(abi.encode(dealId, provider,
///                  price + collateral)), dealId being the EIP-712 digest of the Deal
/// Keying the slot by (creator, job offer) folds the "job offer used once" flag into the
/// deal itself, and only a deal of the job offer's own creator (whose approval opening
/// needs) can take it: a stranger cannot squat someone else's job offer. The slot never
/// returns to zero. Later calls pass the Deal as calldata; the contract re-derives dealId and
/// the tag and checks it against the stored 208 bits. The tag also binds the provider and the
/// payout to dealId, so the compact happy path (`openDealPacked_XMg`, `completePacked_TWd`) can close
/// a deal from its id, the provider (the sender) and the payout alone, without the whole Deal. Only the slow path uses more slots
/// (`resultOf`, `_disputes`), and clears them when the deal closes.
///
/// Every deal closes in bounded time: Open → `timeout` after its deadline; Submitted →
/// `claim` after the window; Challenged → `expireDispute` after `disputeTimeout` (price and
/// fee back to the creator, collateral back to the provider) when no mediator ruled; and
/// both parties can close any live deal at once with a signed split (`settleMutually`).
///
/// Mediator draws use a candidate set frozen at challenge time: a mediator counts for a
/// dispute when it became active (`mediatorDelay` after registering) no later than the
/// challenge and did not leave (`mediatorDelay` after unregistering) before it; a stake can
/// only be withdrawn `disputeTimeout` after leaving, once every draw it could take part in is
/// over. Draws are weighted by stake.
///
/// The draw's seed comes from a commit–reveal between the two parties, with no block hash
/// (which the Arbitrum sequencer produces and could grind): the provider commits to a secret in
/// `submitResult`, the creator in `challenge`, each as keccak256(abi.encode(dealId, party,
/// secret)); both `reveal` within `mediatorTimeout` of the challenge, and the second reveal
/// draws with seed keccak256(abi.encode(creatorSecret, providerSecret, dealId)). The provider's
/// secret is fixed before the creator commits, and the creator's before any secret is known, so
/// the seed is uniform if either party is honest; a party that does not reveal in time forfeits
/// the dispute (`forfeit`), so withholding the last reveal only loses.
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

    /// @dev Slow-path state of a challenged deal (one slot). `deadline`: the reveal deadline until
    /// the draw, then the drawn mediator's. `revealed`: bit 0 the creator, bit 1 the provider.
    struct Dispute {
        address mediator;
        uint40 deadline;
        uint32 round;
        uint8 revealed;
    }

    /// @dev The parties' commitments, replaced by their secrets as they reveal; after the draw
    /// `creator` holds the seed.
    struct Secrets {
        bytes32 creator;
        bytes32 provider;
    }

    /// @dev A mediator's registry entry (one slot). A listed mediator is in `_mediatorList`;
    /// it counts for disputes challenged in [activeAt, leaveAt) (leaveAt 0 = not leaving).
    struct Mediator {
        uint128 stake;
        uint40 activeAt;
        uint40 leaveAt;
        uint32 assigned;
        bool listed;
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
    /// @dev `party` revealed a secret that does not match its commitment.
    error BadReveal(address party);
    /// @dev `party` already revealed.
    error AlreadyRevealed(address party);
    /// @dev The stake is below `minStake`.
    error StakeTooLow(uint256 stake, uint256 minStake);
    /// @dev The caller is not a registered mediator.
    error NotMediator(address account);
    /// @dev The stake cannot be withdrawn yet (still listed, unlock time ahead, or deals assigned).
    error StakeLocked(uint256 unlockAt, uint256 assigned);
    /// @dev Batched arrays of different lengths.
    error LengthMismatch();
    /// @dev A constructor parameter is out of bounds (`what` names it; allowed: [min, max]).
    error BadParameter(string what, uint256 value, uint256 min, uint256 max);
    /// @dev A value does not fit the narrower type it is stored in.
    error CastOverflow(uint256 value);
    /// @dev The caller is already a registered mediator (leave and withdraw first to change its stake).
    error AlreadyRegistered(address account);
    /// @dev The mediator registry holds MAX_MEDIATORS entries.
    error TooManyMediators();
    /// @dev A mutual settlement gives the provider more than price + collateral.
    error BadSplit(uint256 providerShare, uint256 total);

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
    /// @dev The creator challenged the result; both parties reveal their secrets by `revealBy`.
    event DealChallenged(bytes32 indexed dealId, uint256 revealBy);
    /// @dev `party` revealed its secret for the draw.
    event SecretRevealed(bytes32 indexed dealId, address indexed party);
    /// @dev A party did not reveal in time; the dispute went to the other (`providerWins`), or back to both when neither revealed.
    event DisputeForfeited(bytes32 indexed dealId, bool providerWins);
    /// @dev No mediator of the frozen set other than the parties is staked: the dispute waits for `expireDispute`.
    event NoMediatorEligible(bytes32 indexed dealId);
    /// @dev openDeals skipped `dealId`: its slot was already taken (this deal or another of its creator's) or it expired.
    event DealSkipped(bytes32 indexed dealId);
    /// @dev No mediator ruled within `disputeTimeout`: price and fee went back to the creator, collateral to the provider.
    event DisputeExpired(bytes32 indexed dealId);
    /// @dev Both parties closed the deal with a split: `providerShare` to the provider, the rest to the creator.
    event DealSettled(bytes32 indexed dealId, uint256 providerShare);
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
    /// @dev `mediator` staked `stake`; it counts for disputes challenged from `activeAt` on.
    event MediatorRegistered(address indexed mediator, uint256 stake, uint256 activeAt);
    /// @dev `mediator` leaves: it counts for disputes challenged before `leaveAt`; its stake unlocks at `unlockAt`.
    event MediatorUnregistered(address indexed mediator, uint256 leaveAt, uint256 unlockAt);
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
    /// @dev Closed: no ruling within disputeTimeout; price and fee to the creator, collateral to the provider.
    uint8 internal constant STATUS_DISPUTE_EXPIRED = 9;
    /// @dev Closed: both parties signed a split.
    uint8 internal constant STATUS_SETTLED = 10;
    /// @dev Closed: the provider did not reveal; price, collateral and fee to the creator.
    uint8 internal constant STATUS_PROVIDER_FORFEITED = 11;
    /// @dev Closed: the creator did not reveal; price, collateral and fee to the provider.
    uint8 internal constant STATUS_CREATOR_FORFEITED = 12;

    /// @notice Most entries the mediator registry holds (bounds the draw's loop).
    uint256 public constant MAX_MEDIATORS = 64;
    /// @notice Gas given to an EIP-1271 `isValidSignature` call (bounds what a contract party costs a relayer).
    uint256 public constant ERC1271_GAS = 50_000;
    /// @notice Bounds of the time parameters, seconds.
    uint256 public constant MIN_PERIOD = 1;
    uint256 public constant MAX_PERIOD = 90 days;
    uint256 public constant MAX_DISPUTE_TIMEOUT = 365 days;

    /// @dev keccak256 of the EIP-712 `Deal` type string (src/protocol/eip712.ts).
    bytes32 internal constant DEAL_TYPEHASH = keccak256(
        "Deal(bytes32 jobOfferHash,bytes32 resourceOfferHash,address creator,address provider,uint256 price,uint256 collateral,uint32 timeout,uint64 matchEpoch,uint64 openBy)"
    );
    /// @dev keccak256 of the EIP-712 `ResultAcceptance` type string.
    bytes32 internal constant RESULT_ACCEPTANCE_TYPEHASH = keccak256("ResultAcceptance(bytes32 dealId,bytes32 resultHash)");
    /// @dev keccak256 of the EIP-712 `Settlement` type string (a mutual split).
    bytes32 internal constant SETTLEMENT_TYPEHASH = keccak256("Settlement(bytes32 dealId,uint256 providerShare)");
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
    /// @dev Mask of the tag bits kept in a deal slot (the high 208 bits).
    uint256 private constant _TAG_MASK = ~uint256(0) << 48;
    /// @dev openDealPacked_XMg's `terms`: bit 255 set when the sender is the creator (else the provider).
    uint256 private constant _SENDER_IS_CREATOR = 1 << 255;
    /// @dev EIP-2098 `vs`: the low 255 bits are s, the top bit is v − 27.
    uint256 private constant _S_MASK = (1 << 255) - 1;
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
    /// @notice Seconds between `unregisterMediator` and `withdrawStake` (at least leaving + disputeTimeout).
    uint256 public immutable unstakeDelay;
    /// @notice Seconds after a challenge after which a deal no mediator ruled on can be closed
    /// (`expireDispute`); a draw happens within it.
    uint256 public immutable disputeTimeout;
    /// @notice Seconds from `registerMediator` / `unregisterMediator` until joining / leaving the
    /// mediator set takes effect (real chains: disputeTimeout, longer than any draw).
    uint256 public immutable mediatorDelay;

    /// @dev Chain id the cached domain separator was built for.
    uint256 private immutable _cachedChainId;
    /// @dev Address the cached domain separator was built for (guards delegatecall copies).
    address private immutable _cachedThis;
    /// @dev The EIP-712 domain separator at deployment.
    bytes32 private immutable _cachedDomainSeparator;

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                          STORAGE                           */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @dev keccak256(creator, jobOfferHash) => packed deal slot (see the contract comment).
    mapping(bytes32 => uint256) private _deals;
    /// @notice Free (withdrawable) balance of each account.
    mapping(address => uint256) public balanceOf;
    /// @notice Result hash a provider submitted on-chain, by dealId (slow path only).
    mapping(bytes32 => bytes32) public resultOf;
    /// @notice Stored approvals: dealId => party => approved (EIP-1271-free path for contracts).
    mapping(bytes32 => mapping(address => bool)) public approved;
    /// @dev dealId => dispute (slow path only).
    mapping(bytes32 => Dispute) private _disputes;
    /// @dev dealId => the parties' draw commitments / secrets (slow path only).
    mapping(bytes32 => Secrets) private _secrets;
    /// @dev Mediator registry.
    mapping(address => Mediator) private _mediators;
    /// @dev Registered mediators in registration order (an entry leaves only by `withdrawStake`).
    address[] private _mediatorList;

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                        CONSTRUCTOR                         */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @param token_ settlement token (address(0) = native ETH)
    /// @param challengeWindow_ seconds to challenge a submitted result
    /// @param mediationFee_ fee the challenger pays, earned by the mediator
    /// @param minStake_ least mediator stake
    /// @param mediatorTimeout_ seconds a drawn mediator has to rule
    /// @param unstakeDelay_ seconds from unregistering to withdrawing the stake (≤ 365 days)
    /// @param disputeTimeout_ seconds after a challenge until an unruled dispute can be expired
    /// (≥ 2 × mediatorTimeout, ≤ 365 days)
    /// @param mediatorDelay_ seconds until joining or leaving the mediator set takes effect (≤ 365 days)
    constructor(
        address token_,
        uint256 challengeWindow_,
        uint256 mediationFee_,
        uint256 minStake_,
        uint256 mediatorTimeout_,
        uint256 unstakeDelay_,
        uint256 disputeTimeout_,
        uint256 mediatorDelay_
    ) {
        _bound("mediatorDelay", mediatorDelay_, 0, MAX_DISPUTE_TIMEOUT);
        mediatorDelay = mediatorDelay_;
        _bound("challengeWindow", challengeWindow_, MIN_PERIOD, MAX_PERIOD);
        _bound("mediationFee", mediationFee_, 0, type(uint128).max);
        _bound("minStake", minStake_, 1, type(uint128).max);
        _bound("mediatorTimeout", mediatorTimeout_, MIN_PERIOD, MAX_PERIOD);
        _bound("unstakeDelay", unstakeDelay_, 0, MAX_DISPUTE_TIMEOUT);
        _bound("disputeTimeout", disputeTimeout_, 2 * mediatorTimeout_, MAX_DISPUTE_TIMEOUT);
        disputeTimeout = disputeTimeout_;
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

    /// @notice `openDeal` for the common case, with the Deal packed into four words (the name's
    /// suffix gives the selector 0x0000f875: two zero calldata bytes, first in the dispatcher): the sender
    /// is one party (its approval is the call itself) and the other party signs with its key,
    /// as an EIP-2098 compact signature (r, vs). Same checks and effects as `openDeal`; a deal
    /// whose price or collateral does not fit 96 bits, whose openBy does not fit 63 bits, or
    /// whose other party approves otherwise (EIP-1271, `approveDeal`) goes through `openDeal`.
    /// @param jobOfferHash the Deal's jobOfferHash
    /// @param resourceOfferHash the Deal's resourceOfferHash
    /// @param party the other party (bits 0..159), the Deal's timeout (160..191) and matchEpoch (192..255)
    /// @param terms the Deal's price (bits 0..95), collateral (96..191) and openBy (192..254);
    /// bit 255 set when the sender is the creator, clear when it is the provider
    /// @param r the other party's signature over dealId, EIP-2098 r
    /// @param vs the same signature's EIP-2098 vs (s, with v − 27 in the top bit; low s only)
    /// @return id the dealId
    function openDealPacked_XMg(
        bytes32 jobOfferHash,
        bytes32 resourceOfferHash,
        uint256 party,
        uint256 terms,
        bytes32 r,
        bytes32 vs
    ) external returns (bytes32 id) {
        // the hot path: dealId, then tag and slot in one assembly block; the checks follow in
        // openDeal's order (same errors); LilyEscrowPacked.t.sol checks it against openDeal
        address creator = address(uint160(party));
        address provider = msg.sender;
        if (terms & _SENDER_IS_CREATOR != 0) (creator, provider) = (msg.sender, creator);
        id = _dealIdPacked(jobOfferHash, resourceOfferHash, creator, provider, party, terms);
        uint256 tag;
        uint256 dealSlot;
        uint256 slot;
        assembly ("memory-safe") {
            let low96 := sub(shl(96, 1), 1)
            // tag = keccak256(id, provider, price + collateral)
            let m := mload(0x40)
            mstore(m, id)
            mstore(add(m, 0x20), shr(96, shl(96, provider)))
            mstore(add(m, 0x40), add(and(terms, low96), and(shr(96, terms), low96)))
            tag := keccak256(m, 0x60)
            // _deals[keccak256(creator, jobOfferHash)]
            mstore(0x00, shr(96, shl(96, creator)))
            mstore(0x20, jobOfferHash)
            mstore(0x00, keccak256(0x00, 0x40))
            mstore(0x20, _deals.slot)
            dealSlot := keccak256(0x00, 0x40)
            slot := sload(dealSlot)
        }
        if (slot != 0) {
            if ((slot ^ tag) & _TAG_MASK != 0) revert JobOfferUsed(jobOfferHash);
            revert DealAlreadyOpened(id);
        }
        {
            uint256 openBy = (terms >> 192) & ((1 << 63) - 1);
            if (block.timestamp > openBy) revert DealExpired(id, uint64(openBy));
        }
        if (creator == provider) revert SameParty();
        if (_recoverCompact(id, r, vs) != address(uint160(party))) revert InvalidSignature(address(uint160(party)));
        _debit(creator, uint96(terms));
        _debit(provider, uint96(terms >> 96));
        uint256 deadline = block.timestamp + uint32(party >> 160);
        if (deadline > type(uint40).max) revert CastOverflow(deadline);
        uint256 packed = (tag & _TAG_MASK) | (deadline << 8) | STATUS_OPEN;
        assembly ("memory-safe") {
            sstore(dealSlot, packed)
        }
        emit DealOpened(id, jobOfferHash, resourceOfferHash);
    }

    /// @notice Opens many deals in one transaction. A deal whose slot is already taken (this
    /// deal, or another deal of the same creator for the same job offer) or whose `openBy` has
    /// passed is skipped (`DealSkipped`), so a batch can be re-sent after a partial race and one
    /// stale entry does not sink the others; any other failure reverts all.
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
        if (status == STATUS_SUBMITTED) {
            delete resultOf[id];
            delete _secrets[id];
        }
        balanceOf[deal.provider] += deal.price + deal.collateral;
        emit DealCompleted(id);
    }

    /// @notice `complete` for the common case, without the Deal (selector 0x000086a8, like
    /// `openDealPacked_XMg`'s): sent by the provider, with the
    /// creator's ResultAcceptance signature as EIP-2098 (r, vs). The creator is the signer
    /// ecrecover returns: its slot keccak256(abi.encode(creator, jobOfferHash)) must hold the tag
    /// of (dealId, sender, payout), so a wrong signer, deal, provider or payout finds no deal
    /// (UnknownDeal). A contract creator, a creator-sent call or a relayer use `complete`.
    /// @param jobOfferHash the Deal's jobOfferHash
    /// @param id the dealId
    /// @param payout the Deal's price + collateral, credited to the provider
    /// @param resultHash hash of the result bundle the creator accepted
    /// @param r the creator's ResultAcceptance(dealId, resultHash) signature, EIP-2098 r
    /// @param vs the same signature's EIP-2098 vs (low s only)
    function completePacked_TWd(bytes32 jobOfferHash, bytes32 id, uint256 payout, bytes32 resultHash, bytes32 r, bytes32 vs)
        external
    {
        address creator = _recoverCompact(_resultDigest(id, resultHash), r, vs);
        if (creator == address(0)) revert InvalidSignature(address(0));
        uint256 dealSlot;
        uint256 slot;
        uint256 tag;
        uint256 balanceSlot;
        assembly ("memory-safe") {
            // _deals[keccak256(creator, jobOfferHash)] and the tag keccak256(id, sender, payout)
            mstore(0x00, creator)
            mstore(0x20, jobOfferHash)
            mstore(0x00, keccak256(0x00, 0x40))
            mstore(0x20, _deals.slot)
            dealSlot := keccak256(0x00, 0x40)
            slot := sload(dealSlot)
            let m := mload(0x40)
            mstore(m, id)
            mstore(add(m, 0x20), caller())
            mstore(add(m, 0x40), payout)
            tag := keccak256(m, 0x60)
            mstore(0x00, caller())
            mstore(0x20, balanceOf.slot)
            balanceSlot := keccak256(0x00, 0x40)
        }
        if (slot == 0 || (slot ^ tag) & _TAG_MASK != 0) revert UnknownDeal(id);
        uint8 status = uint8(slot);
        if (status != STATUS_OPEN && status != STATUS_SUBMITTED) revert WrongStatus(id, status);
        if (status == STATUS_SUBMITTED) {
            delete resultOf[id];
            delete _secrets[id];
        }
        uint256 closed = (slot & ~uint256(0xff)) | STATUS_COMPLETED;
        uint256 credit;
        assembly ("memory-safe") {
            sstore(dealSlot, closed)
            credit := sload(balanceSlot)
        }
        credit += payout; // checked
        assembly ("memory-safe") {
            sstore(balanceSlot, credit)
        }
        emit DealCompleted(id);
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                         SLOW PATHS                         */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice The provider puts its result hash on-chain before the result deadline; the creator
    /// then has `challengeWindow` seconds to challenge, after which the provider can `claim`.
    /// @param deal the Deal
    /// @param resultHash hash of the result bundle
    /// @param commit the provider's draw commitment keccak256(abi.encode(dealId, provider, secret))
    /// (see `commitment`), revealed only if the result is challenged
    function submitResult(Deal calldata deal, bytes32 resultHash, bytes32 commit) external {
        (bytes32 id, uint256 slot) = _load(deal);
        if (msg.sender != deal.provider) revert Unauthorized(msg.sender);
        _requireStatus(id, slot, STATUS_OPEN);
        uint256 deadline = _deadline(slot);
        if (block.timestamp > deadline) revert TooLate(deadline);
        uint256 windowEnd = block.timestamp + challengeWindow;
        resultOf[id] = resultHash;
        _secrets[id].provider = commit;
        _deals[_key(deal)] = (slot & _TAG_MASK) | (uint256(_u40(windowEnd)) << 8) | STATUS_SUBMITTED;
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
        delete _secrets[id];
        balanceOf[deal.provider] += deal.price + deal.collateral;
        emit DealClaimed(id);
    }

    /// @notice The creator disputes a submitted result within the window and pays `mediationFee`,
    /// committing to its draw secret. Both parties then `reveal` within `mediatorTimeout`.
    /// @param deal the Deal
    /// @param commit the creator's commitment keccak256(abi.encode(dealId, creator, secret))
    function challenge(Deal calldata deal, bytes32 commit) external {
        (bytes32 id, uint256 slot) = _load(deal);
        if (msg.sender != deal.creator) revert Unauthorized(msg.sender);
        _requireStatus(id, slot, STATUS_SUBMITTED);
        uint256 windowEnd = _deadline(slot);
        if (block.timestamp > windowEnd) revert TooLate(windowEnd);
        _debit(msg.sender, mediationFee);
        _deals[_key(deal)] = (slot & _TAG_MASK) | (uint256(_u40(block.timestamp + disputeTimeout)) << 8) | STATUS_CHALLENGED;
        uint256 revealBy = block.timestamp + mediatorTimeout;
        _disputes[id] = Dispute(address(0), _u40(revealBy), 0, 0);
        _secrets[id].creator = commit;
        emit DealChallenged(id, revealBy);
    }

    /// @notice A party of a challenged deal reveals its draw secret before the reveal deadline;
    /// the second reveal draws the mediator, weighted by stake, from the set frozen at the
    /// challenge, with seed keccak256(abi.encode(creatorSecret, providerSecret, dealId)).
    /// @param deal the Deal
    /// @param secret the secret the caller committed to
    /// @return mediator the drawn mediator (address(0) until both revealed, or when none is eligible)
    function reveal(Deal calldata deal, bytes32 secret) external returns (address mediator) {
        (bytes32 id, uint256 slot) = _load(deal);
        _requireStatus(id, slot, STATUS_CHALLENGED);
        Dispute memory d = _disputes[id];
        if (d.mediator != address(0) || d.revealed == 3) revert AlreadyDrawn(id);
        if (block.timestamp > d.deadline) revert TooLate(d.deadline);
        Secrets storage sec = _secrets[id];
        uint8 bit = msg.sender == deal.creator ? 1 : msg.sender == deal.provider ? 2 : 0;
        if (bit != 0 && d.revealed & bit != 0) revert AlreadyRevealed(msg.sender);
        if (bit == 1) {
            if (sec.creator != _commitment(id, msg.sender, secret)) revert BadReveal(msg.sender);
            sec.creator = secret;
        } else if (bit == 2) {
            if (sec.provider != _commitment(id, msg.sender, secret)) revert BadReveal(msg.sender);
            sec.provider = secret;
        } else {
            revert Unauthorized(msg.sender);
        }
        d.revealed |= bit;
        emit SecretRevealed(id, msg.sender);
        if (d.revealed != 3) {
            _disputes[id].revealed = d.revealed;
            return address(0);
        }
        bytes32 seed = keccak256(abi.encode(sec.creator, sec.provider, id));
        sec.creator = seed;
        sec.provider = bytes32(0);
        _disputes[id].revealed = 3;
        return _assign(deal, id, slot, seed, 0);
    }

    /// @notice After the reveal deadline, closes a dispute a party did not reveal for: the other
    /// party wins price + collateral + fee; when neither revealed, the deal closes as an expired
    /// dispute (price and fee to the creator, collateral to the provider). Anyone may call.
    /// @param deal the Deal
    function forfeit(Deal calldata deal) external {
        (bytes32 id, uint256 slot) = _load(deal);
        _requireStatus(id, slot, STATUS_CHALLENGED);
        Dispute memory d = _disputes[id];
        if (d.revealed == 3) revert AlreadyDrawn(id);
        if (block.timestamp <= d.deadline) revert TooEarly(uint256(d.deadline) + 1);
        _endDispute(id);
        uint256 total = deal.price + deal.collateral + mediationFee;
        if (d.revealed == 1) {
            _close(deal, slot, STATUS_PROVIDER_FORFEITED);
            balanceOf[deal.creator] += total;
            emit DisputeForfeited(id, false);
        } else if (d.revealed == 2) {
            _close(deal, slot, STATUS_CREATOR_FORFEITED);
            balanceOf[deal.provider] += total;
            emit DisputeForfeited(id, true);
        } else {
            _close(deal, slot, STATUS_DISPUTE_EXPIRED);
            balanceOf[deal.creator] += deal.price + mediationFee;
            balanceOf[deal.provider] += deal.collateral;
            emit DisputeExpired(id);
        }
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
        delete _secrets[id];
        unchecked {
            --_mediators[d.mediator].assigned;
        }
        balanceOf[d.mediator] += mediationFee;
        _close(deal, slot, providerWins ? STATUS_PROVIDER_WON : STATUS_CREATOR_WON);
        balanceOf[providerWins ? deal.provider : deal.creator] += deal.price + deal.collateral;
        emit DealResolved(id, providerWins);
    }

    /// @notice Replaces a drawn mediator that missed its deadline: its whole stake is slashed,
    /// half to the provider and the rest to the creator, it leaves the set, and the next mediator
    /// is drawn at once with seed keccak256(abi.encode(seed, round)). Anyone may call.
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
        // out of every later dispute's set; its zero weight leaves the pending draws of others as they are
        if (m.leaveAt == 0) m.leaveAt = _u40(block.timestamp);
        uint256 half = slashed / 2;
        balanceOf[deal.provider] += half;
        balanceOf[deal.creator] += slashed - half;
        emit MediatorSlashed(id, d.mediator, slashed);
        uint32 round = d.round + 1;
        _assign(deal, id, slot, keccak256(abi.encode(_secrets[id].creator, round)), round);
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

    /// @notice Closes a challenged deal no mediator ruled on within `disputeTimeout` of the
    /// challenge (none eligible, none drawn in time, or the drawn ones late): the creator is
    /// credited its price and fee back, the provider its collateral. Anyone may call.
    /// @param deal the Deal
    function expireDispute(Deal calldata deal) external {
        (bytes32 id, uint256 slot) = _load(deal);
        _requireStatus(id, slot, STATUS_CHALLENGED);
        uint256 end = _deadline(slot);
        if (block.timestamp <= end) revert TooEarly(end + 1);
        _endDispute(id);
        _close(deal, slot, STATUS_DISPUTE_EXPIRED);
        balanceOf[deal.creator] += deal.price + mediationFee;
        balanceOf[deal.provider] += deal.collateral;
        emit DisputeExpired(id);
    }

    /// @notice Closes any live deal (Open, Submitted or Challenged) with a split both parties
    /// signed: `providerShare` of price + collateral to the provider, the rest to the creator (and
    /// a paid mediation fee back to the creator). Anyone may send it.
    /// @dev Each approval: empty when the party is the caller, a 65-byte low-s ECDSA signature, or
    /// EIP-1271, over the EIP-712 `Settlement(bytes32 dealId,uint256 providerShare)`.
    /// @param deal the Deal
    /// @param providerShare what the provider gets (≤ price + collateral)
    /// @param sigCreator the creator's approval
    /// @param sigProvider the provider's approval
    function settleMutually(Deal calldata deal, uint256 providerShare, bytes calldata sigCreator, bytes calldata sigProvider)
        external
    {
        (bytes32 id, uint256 slot) = _load(deal);
        uint8 status = uint8(slot);
        if (status != STATUS_OPEN && status != STATUS_SUBMITTED && status != STATUS_CHALLENGED) {
            revert WrongStatus(id, status);
        }
        uint256 total = deal.price + deal.collateral;
        if (providerShare > total) revert BadSplit(providerShare, total);
        bytes32 digest = _settlementDigest(id, providerShare);
        if (sigCreator.length != 0 || msg.sender != deal.creator) _checkSignature(deal.creator, digest, sigCreator);
        if (sigProvider.length != 0 || msg.sender != deal.provider) _checkSignature(deal.provider, digest, sigProvider);
        uint256 toCreator = total - providerShare;
        if (status == STATUS_CHALLENGED) {
            _endDispute(id);
            toCreator += mediationFee;
        } else if (status == STATUS_SUBMITTED) {
            delete resultOf[id];
            delete _secrets[id];
        }
        _close(deal, slot, STATUS_SETTLED);
        balanceOf[deal.provider] += providerShare;
        balanceOf[deal.creator] += toCreator;
        emit DealSettled(id, providerShare);
    }

    /*´:°•.°+.*•´.*:˚.°*.˚•´.°:°•.°•.*•´.*:˚.°*.˚•´.°:°•.°+.*•´.*:*/
    /*                     MEDIATOR REGISTRY                      */
    /*.•°:°.´+˚.*°.˚:*.´•*.+°.•°:´*.´•*.•°.•°:°.´:•˚°.*°.˚:*.´+°.•*/

    /// @notice Stakes `amount` (ETH: msg.value) and joins the mediator set: the caller counts
    /// for disputes challenged `mediatorDelay` seconds from now on, weighted by its stake. A
    /// registered mediator cannot top up (that would change the weights of pending draws):
    /// leave, withdraw and register again.
    /// @param amount the stake (≥ minStake)
    function registerMediator(uint256 amount) external payable {
        _lock();
        Mediator storage m = _mediators[msg.sender];
        if (m.listed) revert AlreadyRegistered(msg.sender);
        if (_mediatorList.length >= MAX_MEDIATORS) revert TooManyMediators();
        uint256 stake = _pull(amount);
        if (stake < minStake || stake > type(uint128).max) revert StakeTooLow(stake, minStake);
        uint256 activeAt = block.timestamp + mediatorDelay;
        _mediators[msg.sender] = Mediator(uint128(stake), _u40(activeAt), 0, 0, true);
        _mediatorList.push(msg.sender);
        emit MediatorRegistered(msg.sender, stake, activeAt);
        _unlock();
    }

    /// @notice Leaves the mediator set: the caller still counts for disputes challenged in the
    /// next `mediatorDelay` seconds (leaveAt); its stake can be withdrawn from
    /// leaveAt + max(disputeTimeout, unstakeDelay) on, once no drawn dispute awaits its ruling.
    function unregisterMediator() external {
        Mediator storage m = _mediators[msg.sender];
        if (!m.listed || m.leaveAt != 0) revert NotMediator(msg.sender);
        uint256 leaveAt = block.timestamp + mediatorDelay;
        m.leaveAt = _u40(leaveAt);
        emit MediatorUnregistered(msg.sender, leaveAt, _stakeUnlockAt(m.leaveAt));
    }

    /// @notice Pays a mediator that left its stake (nothing when it was slashed) and removes it
    /// from the registry, once every draw it could take part in is over and no drawn dispute
    /// awaits its ruling.
    function withdrawStake() external {
        _lock();
        Mediator memory m = _mediators[msg.sender];
        if (!m.listed) revert NotMediator(msg.sender);
        uint256 unlockAt = m.leaveAt == 0 ? 0 : _stakeUnlockAt(m.leaveAt);
        if (m.leaveAt == 0 || block.timestamp < unlockAt || m.assigned != 0) revert StakeLocked(unlockAt, m.assigned);
        delete _mediators[msg.sender];
        _removeFromList(msg.sender);
        emit StakeWithdrawn(msg.sender, m.stake);
        if (m.stake != 0) _push(msg.sender, m.stake);
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

    /// @notice The slot key of a creator's job offer: keccak256(abi.encode(creator, jobOfferHash)).
    /// @param creator the job offer's creator
    /// @param jobOfferHash the job offer's id
    /// @return the key
    function slotKey(address creator, bytes32 jobOfferHash) external pure returns (bytes32) {
        return _slotKey(creator, jobOfferHash);
    }

    /// @notice The EIP-712 digest of Settlement(dealId, providerShare), what both parties sign for `settleMutually`.
    /// @param id the dealId
    /// @param providerShare the provider's part of price + collateral
    /// @return the digest
    function hashSettlement(bytes32 id, uint256 providerShare) external view returns (bytes32) {
        return _settlementDigest(id, providerShare);
    }

    /// @notice The state of the slot of a creator's job offer.
    /// @param creator the job offer's creator
    /// @param jobOfferHash the job offer's id
    /// @return status STATUS_* (0 = job offer unused)
    /// @return deadline result deadline (Open) or window end (Submitted), unix seconds
    /// @return dealIdTag the high 208 bits of the tag of the deal that used the job offer,
    /// keccak256(abi.encode(dealId, provider, price + collateral)) (low 48 bits zero)
    function jobOfferState(address creator, bytes32 jobOfferHash)
        external
        view
        returns (uint8 status, uint40 deadline, bytes32 dealIdTag)
    {
        uint256 slot = _deals[_slotKey(creator, jobOfferHash)];
        return (uint8(slot), uint40(slot >> 8), bytes32(slot & _TAG_MASK));
    }

    /// @notice The state of a deal.
    /// @param deal the Deal
    /// @return id the dealId
    /// @return status STATUS_* (0 when this deal was never opened, even if its job offer was used)
    /// @return deadline result deadline (Open), window end (Submitted) or dispute end (Challenged), unix seconds
    function dealState(Deal calldata deal) external view returns (bytes32 id, uint8 status, uint40 deadline) {
        id = _dealId(deal);
        uint256 slot = _deals[_key(deal)];
        if ((slot ^ _tag(id, deal.provider, deal.price + deal.collateral)) & _TAG_MASK != 0) return (id, STATUS_NONE, 0);
        return (id, uint8(slot), uint40(slot >> 8));
    }

    /// @notice The dispute of a challenged deal.
    /// @param id the dealId
    /// @return mediator the drawn mediator (address(0) before the draw)
    /// @return round how many late mediators were replaced
    /// @return deadline the reveal deadline before the draw, the mediator's deadline after it, unix seconds
    /// @return revealed bit 0: the creator revealed, bit 1: the provider revealed
    function disputeOf(bytes32 id) external view returns (address mediator, uint32 round, uint40 deadline, uint8 revealed) {
        Dispute memory d = _disputes[id];
        return (d.mediator, d.round, d.deadline, d.revealed);
    }

    /// @notice The draw commitment of `party` to `secret` for deal `id`: keccak256(abi.encode(id, party, secret)).
    /// @param id the dealId
    /// @param party the creator or the provider
    /// @param secret a random 32-byte secret
    /// @return the commitment
    function commitment(bytes32 id, address party, bytes32 secret) external pure returns (bytes32) {
        return _commitment(id, party, secret);
    }

    /// @notice A mediator's registry entry.
    /// @param account the mediator
    /// @return stake its stake (its draw weight)
    /// @return listed whether it is registered and not leaving (counts for new challenges once active)
    /// @return assigned how many drawn disputes await its ruling
    /// @return unlockAt when its stake unlocks (0 = not leaving)
    /// @return activeAt disputes challenged from then on count it
    /// @return leaveAt disputes challenged from then on no longer count it (0 = not leaving)
    function mediatorInfo(address account)
        external
        view
        returns (uint256 stake, bool listed, uint256 assigned, uint256 unlockAt, uint256 activeAt, uint256 leaveAt)
    {
        Mediator memory m = _mediators[account];
        uint256 unlock = m.leaveAt == 0 ? 0 : _stakeUnlockAt(m.leaveAt);
        return (m.stake, m.listed && m.leaveAt == 0, m.assigned, unlock, m.activeAt, m.leaveAt);
    }

    /// @notice The registered mediators, in draw order.
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
        bytes32 key = _key(deal);
        uint256 tag = _tag(id, deal.provider, deal.price + deal.collateral);
        uint256 slot = _deals[key];
        if (slot != 0) {
            if (skipIfOpen) {
                emit DealSkipped(id);
                return bytes32(0);
            }
            if ((slot ^ tag) & _TAG_MASK != 0) revert JobOfferUsed(jobOfferHash);
            revert DealAlreadyOpened(id);
        }
        if (block.timestamp > deal.openBy) {
            if (skipIfOpen) {
                emit DealSkipped(id);
                return bytes32(0);
            }
            revert DealExpired(id, deal.openBy);
        }
        address creator = deal.creator;
        address provider = deal.provider;
        if (creator == provider) revert SameParty();
        _approve(id, creator, sigCreator);
        _approve(id, provider, sigProvider);
        _debit(creator, deal.price);
        _debit(provider, deal.collateral);
        _deals[key] = (tag & _TAG_MASK) | (uint256(_u40(block.timestamp + deal.timeout)) << 8) | STATUS_OPEN;
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
        slot = _deals[_key(deal)];
        if (slot == 0 || (slot ^ _tag(id, deal.provider, deal.price + deal.collateral)) & _TAG_MASK != 0) revert UnknownDeal(id);
    }

    /// @dev A deal's tag: keccak256(abi.encode(id, provider, payout)) (its high 208 bits are kept in the slot).
    function _tag(bytes32 id, address provider, uint256 payout) internal pure returns (uint256 t) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, id)
            mstore(add(m, 0x20), shr(96, shl(96, provider)))
            mstore(add(m, 0x40), payout)
            t := keccak256(m, 0x60)
        }
    }

    /// @dev The signer of `digest` under an EIP-2098 signature (r, vs); address(0) when none.
    /// Reverts SignatureHighS for s in the upper half, like `_checkSignature`.
    function _recoverCompact(bytes32 digest, bytes32 r, bytes32 vs) internal view returns (address) {
        uint256 s = uint256(vs) & _S_MASK;
        if (s > _HALF_N) revert SignatureHighS();
        return _ecrecover(digest, uint8((uint256(vs) >> 255) + 27), r, bytes32(s));
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
        _deals[_key(deal)] = (slot & ~uint256(0xff)) | outcome;
    }

    /// @dev Moves `amount` out of `account`'s free balance.
    function _debit(address account, uint256 amount) internal {
        uint256 b = balanceOf[account];
        if (b < amount) revert InsufficientBalance(account, b, amount);
        unchecked {
            balanceOf[account] = b - amount;
        }
    }

    /// @dev keccak256(abi.encode(id, party, secret)).
    function _commitment(bytes32 id, address party, bytes32 secret) internal pure returns (bytes32) {
        return keccak256(abi.encode(id, party, secret));
    }

    /// @dev Draws the mediator of round `round` from `seed` over the frozen set and starts its
    /// deadline; none eligible (or the dispute over) leaves the dispute for `expireDispute`.
    function _assign(Deal calldata deal, bytes32 id, uint256 slot, bytes32 seed, uint32 round)
        internal
        returns (address mediator)
    {
        uint256 end = _deadline(slot);
        if (block.timestamp <= end) mediator = _pick(seed, deal.creator, deal.provider, end - disputeTimeout);
        if (mediator == address(0)) {
            _disputes[id] = Dispute(address(0), _u40(end), round, 3);
            emit NoMediatorEligible(id);
            return address(0);
        }
        uint256 deadline = block.timestamp + mediatorTimeout;
        _disputes[id] = Dispute(mediator, _u40(deadline), round, 3);
        unchecked {
            ++_mediators[mediator].assigned;
        }
        emit MediatorDrawn(id, mediator, deadline);
    }

    /// @dev Whether `m` counts for a dispute challenged at `challengedAt` (frozen set).
    function _eligible(Mediator memory m, uint256 challengedAt) internal pure returns (bool) {
        return m.stake != 0 && m.activeAt <= challengedAt && (m.leaveAt == 0 || challengedAt < m.leaveAt);
    }

    /// @dev Stake-weighted draw over the set frozen at `challengedAt`, without the deal's parties:
    /// the mediator whose cumulative-stake interval holds seed % (total stake).
    function _pick(bytes32 seed, address creator, address provider, uint256 challengedAt) internal view returns (address) {
        uint256 n = _mediatorList.length;
        uint256 total;
        for (uint256 i; i < n; ++i) {
            address a = _mediatorList[i];
            if (a == creator || a == provider) continue;
            Mediator memory m = _mediators[a];
            if (_eligible(m, challengedAt)) total += m.stake;
        }
        if (total == 0) return address(0);
        uint256 r = uint256(seed) % total;
        for (uint256 i; i < n; ++i) {
            address a = _mediatorList[i];
            if (a == creator || a == provider) continue;
            Mediator memory m = _mediators[a];
            if (!_eligible(m, challengedAt)) continue;
            if (r < m.stake) return a;
            r -= m.stake;
        }
        return address(0); // unreachable: r < total
    }

    /// @dev Removes `account` from the registry list, keeping the order of the others (a draw's
    /// cumulative-stake intervals of the mediators that remain do not move).
    function _removeFromList(address account) internal {
        uint256 n = _mediatorList.length;
        uint256 i;
        while (i < n && _mediatorList[i] != account) ++i;
        for (; i + 1 < n; ++i) {
            _mediatorList[i] = _mediatorList[i + 1];
        }
        _mediatorList.pop();
    }

    /// @dev Unlock time of a stake: leaveAt + max(disputeTimeout, unstakeDelay).
    function _stakeUnlockAt(uint40 leaveAt) internal view returns (uint256) {
        return uint256(leaveAt) + (disputeTimeout > unstakeDelay ? disputeTimeout : unstakeDelay);
    }

    /// @dev Clears a dispute's state; a drawn mediator no longer awaits it.
    function _endDispute(bytes32 id) internal {
        address mediator = _disputes[id].mediator;
        if (mediator != address(0)) {
            unchecked {
                --_mediators[mediator].assigned;
            }
        }
        delete _disputes[id];
        delete _secrets[id];
        delete resultOf[id];
    }

    /// @dev The slot key of a deal: keccak256(abi.encode(creator, jobOfferHash)).
    function _key(Deal calldata deal) internal pure returns (bytes32) {
        return _slotKey(deal.creator, deal.jobOfferHash);
    }

    /// @dev keccak256(abi.encode(creator, jobOfferHash)).
    function _slotKey(address creator, bytes32 jobOfferHash) internal pure returns (bytes32 k) {
        assembly ("memory-safe") {
            mstore(0x00, shr(96, shl(96, creator)))
            mstore(0x20, jobOfferHash)
            k := keccak256(0x00, 0x40)
        }
    }

    /// @dev Checked narrowing to 40 bits.
    function _u40(uint256 x) internal pure returns (uint40) {
        if (x > type(uint40).max) revert CastOverflow(x);
        return uint40(x);
    }

    /// @dev Reverts BadParameter unless min ≤ value ≤ max.
    function _bound(string memory what, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert BadParameter(what, value, min, max);
    }

    /// @dev Checks `sig` approves `digest` for `signer`: a 65-byte low-s ECDSA signature of the
    /// signer (high s is refused on every path), or, when the signer is a contract that is not an
    /// EIP-7702 delegated account, EIP-1271 with ERC1271_GAS gas and 32 bytes of return data read.
    /// A 7702 account is an EOA with a delegate: only its key signs for it, so a failed ECDSA
    /// check never falls through to the delegate's `isValidSignature`.
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
            if (uint256(s) > _HALF_N) revert SignatureHighS();
            address recovered = _ecrecover(digest, v, r, s);
            if (recovered == signer && recovered != address(0)) return;
        }
        if (signer.code.length != 0 && !_isDelegated(signer)) {
            bytes memory cd = abi.encodeWithSelector(IERC1271.isValidSignature.selector, digest, sig);
            uint256 gasLimit = ERC1271_GAS;
            bool ok;
            bytes32 ret;
            assembly ("memory-safe") {
                mstore(0x00, 0)
                ok := staticcall(gasLimit, signer, add(cd, 0x20), mload(cd), 0x00, 0x20)
                ok := and(ok, iszero(lt(returndatasize(), 0x20)))
                ret := mload(0x00)
            }
            if (ok && bytes4(ret) == _ERC1271_MAGIC) return;
        }
        revert InvalidSignature(signer);
    }

    /// @dev Whether `account`'s code is an EIP-7702 delegation designator (0xef0100 ‖ address).
    function _isDelegated(address account) internal view returns (bool) {
        if (account.code.length != 23) return false;
        bytes3 prefix;
        assembly ("memory-safe") {
            extcodecopy(account, 0x00, 0, 3)
            prefix := mload(0x00)
        }
        return prefix == 0xef0100;
    }

    /// @dev The EIP-712 digest of Settlement(dealId, providerShare).
    function _settlementDigest(bytes32 id, uint256 providerShare) internal view returns (bytes32) {
        return keccak256(
            abi.encodePacked(hex"1901", _domainSeparator(), keccak256(abi.encode(SETTLEMENT_TYPEHASH, id, providerShare)))
        );
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

    /// @dev dealId of the Deal `openDealPacked_XMg` takes (the same digest as `_dealId`): price,
    /// collateral and openBy from `terms`, timeout and matchEpoch from `party`.
    function _dealIdPacked(
        bytes32 jobOfferHash,
        bytes32 resourceOfferHash,
        address creator,
        address provider,
        uint256 party,
        uint256 terms
    ) internal view returns (bytes32 id) {
        bytes32 separator = _domainSeparator();
        bytes32 typeHash = DEAL_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), jobOfferHash)
            mstore(add(m, 0x40), resourceOfferHash)
            // addresses cleaned: legacy codegen may leave dirty high bits on narrow types
            mstore(add(m, 0x60), shr(96, shl(96, creator)))
            mstore(add(m, 0x80), shr(96, shl(96, provider)))
            let low96 := sub(shl(96, 1), 1)
            mstore(add(m, 0xa0), and(terms, low96))
            mstore(add(m, 0xc0), and(shr(96, terms), low96))
            mstore(add(m, 0xe0), and(shr(160, party), 0xffffffff))
            mstore(add(m, 0x100), shr(192, party))
            mstore(add(m, 0x120), and(shr(192, terms), sub(shl(63, 1), 1)))
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
