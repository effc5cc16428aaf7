// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// zkr's rollup contract: types, events, errors and functions (implemented by ZkrRollup.sol).
///
/// Conventions:
/// - A Poseidon digest (4 Goldilocks elements e0..e3, each < p = 2^64 - 2^32 + 1) travels packed in one bytes32:
///   `e0 << 192 | e1 << 128 | e2 << 64 | e3`. Every packed digest a caller passes must have canonical elements.
/// - An "epoch" is one L1 batch: `batchesPerEpoch` L2 batches of at most `batchCapacity` transactions each, proven by
///   one wrap proof. Epochs are numbered from 1; epoch 0 is genesis (its newRoot is the genesis state root, its
///   dataHash zero).
/// - A batch's pubdata is its transactions' compact records, concatenated (pubdata.rs; integers big-endian, an L1
///   address as its 20 bytes in order, no padding; a padding slot publishes nothing). Tag, fields, bytes with the tag:
///     0x01 transfer                         from u32 · to u32 · amount u64 · fee u64     25
///     0x02 withdraw                         from u32 · l1Address · amount u64 · fee u64  41
///     0x03 deposit to an existing account   to u32 · amount u64                          13
///     0x04 forced exit                      account u32 · l1Address · amount u64         33
///     0x05 deposit opening an account       to u32 · amount u64 · key (5 × u64)          53
///     0x06 refunded deposit (unusable key)  to u32 · amount u64 · key (5 × u64)          53
///   Records carry no priority ids: deposits and forced exits are processed in queue order.
/// - Data chain: over an epoch's batches in order, h = keccak256(h ‖ chainId (u64) ‖ rollupId (u64) ‖ feeAccount
///   (u32) ‖ pubdata), big-endian, starting from the previous epoch's dataHash; the epoch's dataHash is the last h.
/// - L2 amounts are in units of 1 gwei (AMOUNT_UNIT wei) and at most MAX_AMOUNT = 2^62 - 1 units.
interface IZkrRollup {
    /// Everything commitEpoch needs; pubdata[i] is L2 batch i's `Batch::pubdata_bytes` (its compact records).
    struct EpochCommit {
        uint64 epoch;
        bytes32 oldRoot;
        bytes32 newRoot;
        bytes[] pubdata;
    }

    /// What the contract keeps per committed epoch.
    struct StoredEpoch {
        bytes32 newRoot;
        /// The data chain's digest after this epoch's batches (computed on-chain from the posted pubdata).
        bytes32 dataHash;
        /// keccak chain over the epoch's withdrawals, in pubdata order: h = keccak256(h ‖ to ‖ uint64 amount).
        bytes32 withdrawalsHash;
        uint64 firstPriorityId;
        uint64 priorityOps;
        uint64 withdrawals;
    }

    /// One L2 withdrawal as executeEpoch takes it (amount in L2 units).
    struct Withdrawal {
        address to;
        uint64 amount;
    }

    /// A queued priority operation. Deposit: `dataHash` = keccak256(abi.encode(uint256 3, uint256 accountId, uint256
    /// amount)) (no key: the account's key is bound on L1, in AccountInfo.pubkeyHash), `depositor` its sender,
    /// `amount` its L2 amount. Forced exit: `dataHash` =
    /// keccak256(abi.encode(uint256 4, uint256 accountId, address owner)), `depositor` the owner who requested it,
    /// `amount` 0 (the L2 pays out the whole balance, whatever it is when the operation is processed).
    struct PriorityOp {
        bytes32 dataHash;
        address depositor;
        /// Unix seconds after which the op counts as expired if still unexecuted (uint32: until 2106).
        uint32 expiry;
        uint64 amount;
    }

    /// The L1 side of an L2 account: its key (hash of the 5 elements) and the L1 address exits pay.
    struct AccountInfo {
        bytes32 pubkeyHash;
        address owner;
    }

    struct InitParams {
        address governor;
        address guardian;
        address operator;
        address verifier;
        /// The deployed ZkrPoseidon contract.
        address poseidon;
        uint64 batchesPerEpoch;
        uint64 batchCapacity;
        bytes32 genesisRoot;
        /// The data chain's digest epoch 1 continues from: zero for a rollup that starts at the L2's genesis, the
        /// last sealed batch's data digest for one deployed mid-chain.
        bytes32 genesisData;
        uint64 priorityExpiry;
        uint64 timelockDelay;
        /// This rollup's id on this chain: with block.chainid, the domain every L2 signature is made for.
        uint64 rollupId;
        /// The L2 account every fee is credited to: part of each batch's header in the data chain.
        uint32 feeAccount;
    }

    /// A genesis account (ids 0, 1, … in list order) and the L1 address its exit pays.
    /// A genesis account: its key, its L2 balance (backed by the constructor's ETH) and its exit owner.
    struct GenesisAccount {
        uint64[5] pubkey;
        uint64 balance;
        address owner;
    }

    // ---------------------------------------------------------------- events
    event BatchCommitted(
        uint64 indexed epoch,
        bytes32 oldRoot,
        bytes32 newRoot,
        bytes32 dataHash,
        uint64 priorityOps,
        uint64 withdrawals
    );
    event BatchProven(uint64 indexed epoch, bytes32 newRoot);
    event BatchExecuted(uint64 indexed epoch, bytes32 newRoot, uint64 priorityOps, uint64 withdrawals);
    event BatchesReverted(uint64 lastKeptEpoch, uint64 previousTotalCommitted);
    event DepositQueued(
        uint64 indexed priorityId,
        uint32 indexed accountId,
        address indexed depositor,
        uint64 amount,
        uint64[5] pubkey,
        uint64 expiry
    );
    event ForcedExitQueued(uint64 indexed priorityId, uint32 indexed accountId, address indexed owner, uint64 expiry);
    /// A deposit whose key nobody can sign with (the L2 credited nothing) is refunded when its epoch executes.
    event DepositRefundScheduled(uint64 indexed priorityId, uint64 indexed epoch);
    event AccountRegistered(uint32 indexed accountId, address indexed owner, bytes32 pubkeyHash);
    /// Emitted by the constructor for every genesis account: with the commits' calldata, all that rebuilding the L2
    /// state from L1 needs.
    event GenesisAccountCreated(uint32 indexed accountId, uint64[5] pubkey, uint64 balance, address owner);
    event ExitOwnerTransferred(uint32 indexed accountId, address indexed previousOwner, address indexed newOwner);
    event WithdrawalPending(address indexed to, uint256 amountWei);
    event WithdrawalPulled(address indexed to, uint256 amountWei);
    event Paused(address indexed guardian);
    event Unpaused(address indexed guardian);
    event ExitModeActivated(uint64 expiredPriorityId, bytes32 executedRoot);
    event Exited(uint32 indexed accountId, address indexed owner, uint64 balance);
    event DepositRefunded(uint64 indexed priorityId, address indexed depositor, uint64 amount);
    event OperationScheduled(bytes32 indexed id, bytes data, bytes32 salt, uint64 readyAt);
    event OperationExecuted(bytes32 indexed id);
    event OperationCancelled(bytes32 indexed id);
    event VerifierChanged(address verifier, uint64 batchesPerEpoch, uint64 batchCapacity);
    event OperatorSet(address indexed operator, bool enabled);
    event GuardianChanged(address guardian);
    event GovernorChanged(address governor);
    event PriorityExpiryChanged(uint64 priorityExpiry);
    event TimelockDelayChanged(uint64 timelockDelay);

    // ---------------------------------------------------------------- errors
    error NotGovernor(address caller);
    error NotGuardian(address caller);
    error NotOperator(address caller);
    error NotGovernorOrGuardian(address caller);
    error OnlyTimelock(address caller);
    error ContractPaused();
    error NotPaused();
    error ExitModeActive();
    error NotInExitMode();
    error ZeroAddress();

    error EpochAlreadyCommitted(uint64 epoch);
    error EpochAlreadyProven(uint64 epoch);
    error EpochAlreadyExecuted(uint64 epoch);
    error UnexpectedEpoch(uint64 expected, uint64 got);
    error EpochNotCommitted(uint64 epoch);
    error EpochNotProven(uint64 epoch);
    error RootDoesNotChain(bytes32 expected, bytes32 got);
    error NonCanonicalDigest(bytes32 digest);
    error WrongBatchCount(uint256 expected, uint256 got);
    /// The record at byte `offset` of batch `batch`'s pubdata has a tag outside 0x01..0x06.
    error UnknownTag(uint256 batch, uint256 offset, uint256 tag);
    /// The record at byte `offset` of batch `batch`'s pubdata runs past the end of that batch's bytes.
    error RecordTruncated(uint256 batch, uint256 offset);
    /// Batch `batch` has `count` records, more than the `capacity` transactions a batch proves.
    error TooManyRecords(uint256 batch, uint256 capacity, uint256 count);
    /// A deposit or forced-exit record with no queued priority operation left for it.
    error PriorityOpMissing(uint256 priorityId);
    /// A deposit or forced-exit record that is not what the next queued priority operation asked for.
    error DepositMismatch(uint64 priorityId);
    /// A deposit record (opening or refunded) whose key is not the one bound on L1 to its account.
    error DepositKeyMismatch(uint64 priorityId);
    error InvalidProof(uint64 epoch);
    error WithdrawalsMismatch(uint64 epoch);
    error CannotRevertExecuted(uint64 lastKeptEpoch, uint64 totalExecuted);
    error NothingToRevert(uint64 lastKeptEpoch, uint64 totalCommitted);

    error DepositNotMultipleOfUnit(uint256 value, uint256 unit);
    error ZeroDeposit();
    error DepositTooLarge(uint256 amount, uint256 max);
    error NonCanonicalPubkey(uint256 index, uint256 value);
    error ZeroPubkey();
    error PubkeyMismatch(uint32 accountId);
    error NothingToWithdraw(address account);
    error TransferFailed(address to, uint256 amountWei);
    error NotExitOwner(uint32 accountId, address caller);

    error UnsupportedOperation(bytes4 selector);
    error OperationAlreadyScheduled(bytes32 id);
    error OperationNotScheduled(bytes32 id);
    error OperationNotReady(bytes32 id, uint64 readyAt, uint64 now_);
    error OperationFailed(bytes32 id, bytes reason);
    error BadEpochShape(uint64 batchesPerEpoch, uint64 batchCapacity);
    error BadPriorityExpiry(uint64 priorityExpiry, uint64 min, uint64 max);
    error BadTimelockDelay(uint64 timelockDelay, uint64 min, uint64 max);
    error PauseCoolingDown(uint64 pauseAllowedAt);
    error GuardianCannotCancel(bytes32 id);
    error UnknownAccount(uint32 accountId);
    error AccountIdsExhausted();
    error GenesisUnfunded(uint256 expectedWei, uint256 gotWei);
    error ChainIdTooLarge(uint256 chainId);

    error NoPendingPriorityOp(uint64 priorityId);
    error PriorityOpNotExpired(uint64 priorityId, uint64 expiry, uint64 now_);
    error AlreadyExited(uint32 accountId);
    error NoExitOwner(uint32 accountId);
    error BalanceTooLarge(uint64 balance, uint256 max);
    error InvalidMerkleProof(uint32 accountId);
    error DepositAlreadyProcessed(uint64 priorityId);
    error AlreadyRefunded(uint64 priorityId);
    error NotADeposit(uint64 priorityId);

    // ---------------------------------------------------------------- lifecycle (operators)
    function commitEpoch(EpochCommit calldata c) external;
    function proveEpoch(uint64 epoch, bytes calldata proof) external;
    function executeEpoch(uint64 epoch, Withdrawal[] calldata withdrawals) external;
    function revertEpochs(uint64 lastKeptEpoch) external;

    // ---------------------------------------------------------------- users
    /// Opens a new L2 account with `pubkey` under the next free id (returned; also in `AccountRegistered`), the caller
    /// its exit owner, and deposits `msg.value` into it.
    function openAccount(uint64[5] calldata pubkey) external payable returns (uint32 accountId);
    /// Deposits `msg.value` into an existing account; `pubkey` must be the key bound to it.
    function deposit(uint32 accountId, uint64[5] calldata pubkey) external payable;
    function withdrawPending() external;
    function transferExitOwnership(uint32 accountId, address newOwner) external;
    /// Queues a forced exit of `accountId` (its exit owner only): the L2 must withdraw the account's whole balance to
    /// the caller before the operation expires, or the rollup falls into exit mode. Open while paused.
    function requestForcedExit(uint32 accountId) external returns (uint64 priorityId);

    // ---------------------------------------------------------------- guardian
    function pause() external;
    function unpause() external;

    // ---------------------------------------------------------------- timelock
    function schedule(bytes calldata data, bytes32 salt) external returns (bytes32 id);
    function executeOperation(bytes calldata data, bytes32 salt) external;
    function cancel(bytes32 id) external;
    function operationId(bytes calldata data, bytes32 salt) external pure returns (bytes32);
    // only through the timelock (msg.sender == the contract itself)
    function setVerifier(address verifier, uint64 batchesPerEpoch, uint64 batchCapacity) external;
    function setOperator(address operator, bool enabled) external;
    function setGuardian(address guardian) external;
    function setGovernor(address governor) external;
    function setPriorityExpiry(uint64 priorityExpiry) external;
    function setTimelockDelay(uint64 timelockDelay) external;

    // ---------------------------------------------------------------- exit mode
    function activateExitMode() external;
    function exit(
        uint32 accountId,
        uint64[5] calldata pubkey,
        uint64 balance,
        uint32 nonce,
        bytes32[32] calldata siblings
    ) external;
    function refundDeposit(uint64 priorityId) external;

    // ---------------------------------------------------------------- views
    function governor() external view returns (address);
    function guardian() external view returns (address);
    function isOperator(address account) external view returns (bool);
    function verifier() external view returns (address);
    function poseidon() external view returns (address);
    function batchesPerEpoch() external view returns (uint64);
    function batchCapacity() external view returns (uint64);
    function priorityExpiry() external view returns (uint64);
    function timelockDelay() external view returns (uint64);
    function paused() external view returns (bool);
    /// The end of the current or last pause (0: never paused).
    function pausedUntil() external view returns (uint64);
    function nextAccountId() external view returns (uint32);
    function MAX_PAUSE() external view returns (uint64);
    function PAUSE_COOLDOWN() external view returns (uint64);
    function exitMode() external view returns (bool);
    function totalCommitted() external view returns (uint64);
    function totalProven() external view returns (uint64);
    function totalExecuted() external view returns (uint64);
    function priorityQueueLength() external view returns (uint64);
    function priorityOpsCommitted() external view returns (uint64);
    function priorityOpsExecuted() external view returns (uint64);
    function pendingWithdrawals(address account) external view returns (uint256);
    function exited(uint32 accountId) external view returns (bool);
    function operationReadyAt(bytes32 id) external view returns (uint64);
    function executedRoot() external view returns (bytes32);
    function lastCommittedRoot() external view returns (bytes32);
    function epochInfo(uint64 epoch) external view returns (StoredEpoch memory);
    function priorityOp(uint64 priorityId) external view returns (PriorityOp memory);
    function accountInfo(uint32 accountId) external view returns (AccountInfo memory);
    /// Whether a committed, unexecuted deposit will be refunded when its epoch executes (its key was unusable).
    function refundOnExecute(uint64 priorityId) external view returns (bool);
    /// The domain every L2 signature and every batch's header in the data chain is bound to: this chain and this
    /// rollup.
    function domain() external view returns (uint64 chainId, uint64 rollupId);
    /// The L2 account every fee is credited to.
    function feeAccount() external view returns (uint32);
    /// The 24 public inputs the verifier gets for a committed epoch (IZkrVerifier.verifyProof): old root, new root
    /// (4 elements each), dataIn, dataOut (8 limbs each: the previous epoch's and this epoch's dataHash).
    function publicInputs(uint64 epoch) external view returns (uint256[24] memory);
}
