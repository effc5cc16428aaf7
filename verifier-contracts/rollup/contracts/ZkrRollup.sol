// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {IZkrRollup} from "./IZkrRollup.sol";
import {IZkrVerifier} from "./IZkrVerifier.sol";
import {IZkrPoseidon} from "./ZkrPoseidon.sol";

/// zkr's rollup: commit → prove → execute of epochs (one wrap proof each), an L1 priority queue of deposits,
/// pull-based withdrawals, a guardian pause, a timelock for verifier/parameter/role changes, and an exit mode.
///
/// Roles: operators commit/prove/execute/revert epochs; the guardian pauses/unpauses and may cancel scheduled
/// operations; the governor schedules operations, which anyone may execute once `timelockDelay` has passed. Every
/// parameter and role change (verifier and epoch shape, operators, guardian, governor, deposit expiry, the delay
/// itself) goes through that timelock; the setters accept calls only from the contract itself.
///
/// Decisions (see also IZkrRollup.sol):
/// - Pause stops commit/prove/execute for at most MAX_PAUSE; it then lapses by itself, and the guardian may pause
///   again only PAUSE_COOLDOWN after a pause ended, so no guardian can hold the rollup still for good (priority
///   operations keep expiring meanwhile: MIN_PRIORITY_EXPIRY exceeds MAX_PAUSE, so one pause alone never expires an
///   operation queued before it, but a lock that outlasts the expiry lets users into exit mode). A pause does NOT
///   stop: deposits, opening accounts, forced-exit requests, pulling pending withdrawals (they come only from executed
///   epochs, exits or refunds, so they are final), reverting unexecuted epochs (an operator may need it
///   during an incident), the timelock, exit mode and exits (a guardian must not be able to lock funds for good).
/// - Exit payee: an L2 account is an EcGFp5 public key, which the L1 cannot check a signature of. So every account id
///   is bound on L1 to the L1 address that opened it (genesis accounts: the owners given to the constructor). New
///   accounts are opened only by `openAccount`, which assigns the next free id: nobody can pick an id someone else is
///   about to open, so front-running a first deposit takes nothing (the front-runner opens an account of its own).
///   The opener (or whoever it hands the role to by transferExitOwnership) receives the account's exit and may request
///   its forced exit. Limitation: opening an account for someone else makes the funder its exit payee; an account
///   should be opened from its key holder's own L1 address. Deposits to an existing id must name the key bound to it,
///   so no queued deposit can be unprocessable on L2 for a key mismatch.
/// - Timelock: its delay exceeds the priority expiry, so a user who rejects a scheduled change can leave (forced exit,
///   or exit mode if the operator refuses) before it lands; it is bounded, so no delay overflows or bricks governance.
///   The guardian may cancel scheduled operations except a change of the guardian itself.
/// - A deposit names 5 canonical, not-all-zero field elements as the key; L1 does not check that they encode a
///   curve point (too costly here). The L2 circuit proves whether the key decodes to a group element: a deposit whose
///   key does not credits nothing, its record is a refunded deposit (0x06), and `executeEpoch` refunds its depositor.
///   Queued deposits do not name the key (it is bound to the account id on L1, at `openAccount`, and `deposit` must
///   name it); the records that carry one (0x05 opening, 0x06 refunded) must carry that bound key, so the operator
///   can neither open an account under another key nor refund a deposit by calling a usable key unusable.
/// - Forced exit: an account's exit owner may queue `requestForcedExit` (open while paused); the L2 must withdraw the
///   account's whole balance to that owner, in queue order with the deposits and under the same expiry, or anyone may
///   switch the rollup into exit mode. An operator that censors the account's signed withdrawals gains nothing.
/// - Domain and data: every L2 signature is over Poseidon(domain ‖ slot layout), the domain being (block.chainid,
///   rollupId). The proof's statement binds the posted data by a Keccak chain over the epoch's batches, in order:
///   h = keccak256(h ‖ chainId (8 bytes) ‖ rollupId (8 bytes) ‖ feeAccount (4 bytes) ‖ pubdata), big-endian, from the
///   previous epoch's dataHash (zero at genesis) to this epoch's. This contract chains the posted bytes with its own
///   chain id, rollup id and fee account, so a batch proven for another chain or another rollup (whose signatures
///   would otherwise replay here) fails verification; likewise a batch whose fees went to another account. Keccak
///   (not Poseidon) because the contract hashes every posted byte: the L1 cost per record must stay small.
/// - Genesis balances are backed by the constructor's msg.value, which must equal their sum exactly; withdrawals,
///   exits and refunds are paid from the contract's ETH.
/// - Exit mode starts when the oldest unexecuted priority operation (deposit or forced exit) is past its expiry. Then
///   every L2 account exits once, against the last executed root; deposits not executed by then are refunded to their
///   depositors.
contract ZkrRollup is IZkrRollup {
    /// The Goldilocks prime.
    uint256 internal constant P = 0xFFFFFFFF00000001;
    /// Largest L2 amount or balance (tx.rs MAX_AMOUNT).
    uint256 public constant MAX_AMOUNT = (1 << 62) - 1;
    /// One L2 amount unit in wei.
    uint256 public constant AMOUNT_UNIT = 1 gwei;
    // pubdata.rs record tags
    uint256 internal constant TAG_TRANSFER = 1;
    uint256 internal constant TAG_WITHDRAW = 2;
    /// Also the tag in a queued deposit's data hash, whichever record (0x03, 0x05, 0x06) processes it.
    uint256 internal constant TAG_DEPOSIT = 3;
    uint256 internal constant TAG_FORCED_EXIT = 4;
    uint256 internal constant TAG_DEPOSIT_OPEN = 5;
    uint256 internal constant TAG_DEPOSIT_REFUNDED = 6;
    /// A transfer record's length in bytes, its tag included.
    uint256 internal constant TRANSFER_BYTES = 25;
    /// Record lengths in bytes, tag included (pubdata.rs Record::len_of): byte t (from the most significant) is the
    /// length of a record with tag t, 0 for an unknown tag: 25 transfer, 41 withdraw, 13 deposit, 33 forced exit, 53
    /// deposit opening an account, 53 refunded deposit.
    uint256 internal constant RECORD_BYTES = 0x0019290d21353500000000000000000000000000000000000000000000000000;
    // Byte offsets inside a record (after the 1-byte tag): the account (u32) of every record; the L1 address (20
    // bytes) then the amount (u64) of a withdraw or forced exit; the amount (u64) then the key (5 × u64) of a deposit.
    uint256 internal constant R_ACCOUNT = 1;
    uint256 internal constant R_L1_ADDRESS = 5;
    uint256 internal constant R_PAYOUT_AMOUNT = 25;
    uint256 internal constant R_DEPOSIT_AMOUNT = 5;
    uint256 internal constant R_KEY = 13;
    /// batch.rs HEADER_BYTES: chain id (8), rollup id (8), fee account (4), between the digest and the records.
    uint256 internal constant HEADER_BYTES = 20;
    uint256 internal constant TREE_DEPTH = 32;
    uint256 internal constant MAX_BATCH_CAPACITY = 4096;
    uint256 internal constant MAX_BATCHES_PER_EPOCH = 1024;
    /// Keeps `block.timestamp + priorityExpiry` within uint32 for a century.
    uint64 internal constant MAX_PRIORITY_EXPIRY = 365 days * 10;
    /// The longest a single pause holds.
    uint64 public constant MAX_PAUSE = 1 days;
    /// How long after a pause ends (lifted or lapsed) before the guardian may pause again.
    uint64 public constant PAUSE_COOLDOWN = 1 days;
    /// Longer than a pause: a pause alone never expires an operation queued before it.
    uint64 internal constant MIN_PRIORITY_EXPIRY = 2 days;
    /// Bounds the timelock (and keeps `block.timestamp + timelockDelay` far inside uint64).
    uint64 internal constant MAX_TIMELOCK_DELAY = MAX_PRIORITY_EXPIRY + 30 days;

    address public governor;
    address public guardian;
    mapping(address => bool) public isOperator;
    address public verifier;
    /// The deployed ZkrPoseidon (Poseidon is too large to link into this contract under EIP-170).
    IZkrPoseidon internal immutable _poseidon;
    uint64 internal immutable _chainId;
    uint64 internal immutable _rollupId;
    uint32 public immutable feeAccount;
    uint64 public batchesPerEpoch;
    uint64 public batchCapacity;
    uint64 public priorityExpiry;
    uint64 public timelockDelay;
    /// The end of the current or last pause (0: never paused).
    uint64 public pausedUntil;
    /// The id `openAccount` assigns next.
    uint32 public nextAccountId;
    bool public exitMode;

    uint64 public totalCommitted;
    uint64 public totalProven;
    uint64 public totalExecuted;
    uint64 public priorityQueueLength;
    uint64 public priorityOpsCommitted;
    uint64 public priorityOpsExecuted;

    mapping(uint64 => StoredEpoch) internal _epochs;
    mapping(uint64 => PriorityOp) internal _priorityOps;
    mapping(uint32 => AccountInfo) internal _accounts;
    mapping(uint32 => bool) public exited;
    mapping(address => uint256) public pendingWithdrawals;
    mapping(bytes32 => uint64) public operationReadyAt;
    /// Committed deposits whose key the L2 found unusable: refunded when their epoch executes.
    mapping(uint64 => bool) public refundOnExecute;
    /// Scheduled operations that change the guardian (the guardian may not cancel them).
    mapping(bytes32 => bool) internal _changesGuardian;

    /// Running state of the pubdata scan of one commit (across its batches).
    struct Scan {
        uint64 nextPriority;
        uint64 queueLength;
        uint64 withdrawals;
        bytes32 withdrawalsHash;
    }

    modifier onlyOperator() {
        if (!isOperator[msg.sender]) revert NotOperator(msg.sender);
        _;
    }

    modifier onlyGovernor() {
        if (msg.sender != governor) revert NotGovernor(msg.sender);
        _;
    }

    modifier onlyGuardian() {
        if (msg.sender != guardian) revert NotGuardian(msg.sender);
        _;
    }

    modifier onlySelf() {
        if (msg.sender != address(this)) revert OnlyTimelock(msg.sender);
        _;
    }

    /// Not paused and not in exit mode.
    modifier whenLive() {
        if (exitMode) revert ExitModeActive();
        if (paused()) revert ContractPaused();
        _;
    }

    /// `msg.value` backs the genesis accounts' L2 balances (the contract pays withdrawals and exits from its ETH).
    constructor(InitParams memory p, GenesisAccount[] memory genesisAccounts) payable {
        if (p.governor == address(0) || p.guardian == address(0)) revert ZeroAddress();
        governor = p.governor;
        guardian = p.guardian;
        emit GovernorChanged(p.governor);
        emit GuardianChanged(p.guardian);
        if (p.operator != address(0)) {
            isOperator[p.operator] = true;
            emit OperatorSet(p.operator, true);
        }
        if (p.poseidon == address(0)) revert ZeroAddress();
        _poseidon = IZkrPoseidon(p.poseidon);
        if (block.chainid > type(uint64).max) revert ChainIdTooLarge(block.chainid);
        _chainId = uint64(block.chainid);
        _rollupId = p.rollupId;
        feeAccount = p.feeAccount;
        _setVerifier(p.verifier, p.batchesPerEpoch, p.batchCapacity);
        _setPriorityExpiry(p.priorityExpiry);
        _setTimelockDelay(p.timelockDelay);
        _checkDigest(p.genesisRoot);
        _epochs[0].newRoot = p.genesisRoot;
        _epochs[0].dataHash = p.genesisData;
        // _epochs[0].dataHash stays zero: the data chain starts from zero (epoch 1's dataIn)
        if (genesisAccounts.length >= type(uint32).max) revert AccountIdsExhausted();
        nextAccountId = uint32(genesisAccounts.length);
        uint256 funded;
        for (uint256 i; i < genesisAccounts.length; ++i) {
            GenesisAccount memory g = genesisAccounts[i];
            if (g.owner == address(0)) revert ZeroAddress();
            if (g.balance > MAX_AMOUNT) revert BalanceTooLarge(g.balance, MAX_AMOUNT);
            funded += uint256(g.balance) * AMOUNT_UNIT;
            bytes32 pkHash = keccak256(abi.encode(g.pubkey));
            _accounts[uint32(i)] = AccountInfo(pkHash, g.owner);
            emit AccountRegistered(uint32(i), g.owner, pkHash);
            emit GenesisAccountCreated(uint32(i), g.pubkey, g.balance, g.owner);
        }
        // every genesis balance is backed, exactly (the root is the deployer's claim; the ETH behind it is checked)
        if (msg.value != funded) revert GenesisUnfunded(funded, msg.value);
    }

    // ================================================================ lifecycle

    /// Records the epoch's new root and chains its posted pubdata into its dataHash (the proof's dataOut), checking
    /// every record on the way: deposits and forced exits against the priority queue, withdrawals chained for
    /// executeEpoch. The proof then binds the new root to exactly these bytes.
    function commitEpoch(EpochCommit calldata c) external onlyOperator whenLive {
        uint64 committed = totalCommitted;
        if (c.epoch <= committed) revert EpochAlreadyCommitted(c.epoch);
        if (c.epoch != committed + 1) revert UnexpectedEpoch(committed + 1, c.epoch);
        bytes32 lastRoot = _epochs[committed].newRoot;
        if (c.oldRoot != lastRoot) revert RootDoesNotChain(lastRoot, c.oldRoot);
        _checkDigest(c.newRoot);
        uint256 n = batchesPerEpoch;
        if (c.pubdata.length != n) revert WrongBatchCount(n, c.pubdata.length);

        uint64 first = priorityOpsCommitted;
        Scan memory s = Scan(first, priorityQueueLength, 0, bytes32(0));
        // batch.rs header_bytes, left-aligned: chain id, rollup id, fee account (big-endian), then 12 zero bytes
        uint256 header = (uint256(_chainId) << 192) | (uint256(_rollupId) << 128) | (uint256(feeAccount) << 96);
        bytes32 dataHash = _epochs[committed].dataHash;
        for (uint256 b; b < n; ++b) {
            bytes calldata data = c.pubdata[b];
            dataHash = _chainData(dataHash, header, data);
            _scanBatch(data, b, c.epoch, s);
        }

        _epochs[c.epoch] = StoredEpoch({
            newRoot: c.newRoot,
            dataHash: dataHash,
            withdrawalsHash: s.withdrawalsHash,
            firstPriorityId: first,
            priorityOps: s.nextPriority - first,
            withdrawals: s.withdrawals
        });
        totalCommitted = c.epoch;
        priorityOpsCommitted = s.nextPriority;
        emit BatchCommitted(c.epoch, c.oldRoot, c.newRoot, dataHash, s.nextPriority - first, s.withdrawals);
    }

    function proveEpoch(uint64 epoch, bytes calldata proof) external onlyOperator whenLive {
        uint64 proven = totalProven;
        if (epoch <= proven) revert EpochAlreadyProven(epoch);
        if (epoch > totalCommitted) revert EpochNotCommitted(epoch);
        if (epoch != proven + 1) revert UnexpectedEpoch(proven + 1, epoch);
        if (!_verify(proof, publicInputs(epoch))) revert InvalidProof(epoch);
        totalProven = epoch;
        emit BatchProven(epoch, _epochs[epoch].newRoot);
    }

    function executeEpoch(uint64 epoch, Withdrawal[] calldata withdrawals) external onlyOperator whenLive {
        uint64 executed = totalExecuted;
        if (epoch <= executed) revert EpochAlreadyExecuted(epoch);
        if (epoch > totalProven) revert EpochNotProven(epoch);
        if (epoch != executed + 1) revert UnexpectedEpoch(executed + 1, epoch);
        StoredEpoch storage e = _epochs[epoch];
        // Credit while re-deriving the chain; a mismatch reverts every credit.
        bytes32 h;
        for (uint256 i; i < withdrawals.length; ++i) {
            address to = withdrawals[i].to;
            uint64 amount = withdrawals[i].amount;
            h = _chainWithdrawal(h, to, amount);
            uint256 amountWei = uint256(amount) * AMOUNT_UNIT;
            pendingWithdrawals[to] += amountWei;
            emit WithdrawalPending(to, amountWei);
        }
        if (withdrawals.length != e.withdrawals || h != e.withdrawalsHash) revert WithdrawalsMismatch(epoch);
        // The epoch's priority operations are now on L2 for good: free their queue entries, refunding the deposits
        // the L2 could not credit.
        uint64 first = e.firstPriorityId;
        uint64 end = first + e.priorityOps;
        for (uint64 id = first; id < end; ++id) {
            if (refundOnExecute[id]) {
                delete refundOnExecute[id];
                _refund(id);
            }
            delete _priorityOps[id];
        }
        priorityOpsExecuted = end;
        totalExecuted = epoch;
        emit BatchExecuted(epoch, e.newRoot, e.priorityOps, e.withdrawals);
    }

    /// Drops the committed (and possibly proven) epochs after `lastKeptEpoch`; executed epochs stay.
    function revertEpochs(uint64 lastKeptEpoch) external onlyOperator {
        if (exitMode) revert ExitModeActive();
        if (lastKeptEpoch < totalExecuted) revert CannotRevertExecuted(lastKeptEpoch, totalExecuted);
        uint64 committed = totalCommitted;
        if (lastKeptEpoch >= committed) revert NothingToRevert(lastKeptEpoch, committed);
        uint64 firstReverted = _epochs[lastKeptEpoch + 1].firstPriorityId;
        for (uint64 id = firstReverted; id < priorityOpsCommitted; ++id) {
            delete refundOnExecute[id];
        }
        priorityOpsCommitted = firstReverted;
        for (uint64 e = lastKeptEpoch + 1; e <= committed; ++e) {
            delete _epochs[e];
        }
        totalCommitted = lastKeptEpoch;
        if (totalProven > lastKeptEpoch) totalProven = lastKeptEpoch;
        emit BatchesReverted(lastKeptEpoch, committed);
    }

    // ================================================================ users

    /// Open while paused (a pause must not lock users in or out); not in exit mode.
    function openAccount(uint64[5] calldata pubkey) external payable returns (uint32 accountId) {
        uint256 amount = _depositAmount(pubkey);
        accountId = nextAccountId;
        if (accountId == type(uint32).max) revert AccountIdsExhausted();
        nextAccountId = accountId + 1;
        bytes32 pkHash = keccak256(abi.encode(pubkey));
        _accounts[accountId] = AccountInfo(pkHash, msg.sender);
        emit AccountRegistered(accountId, msg.sender, pkHash);
        _queueDeposit(accountId, amount, pubkey);
    }

    /// Open while paused; not in exit mode. Anyone may top up an account, naming its key.
    function deposit(uint32 accountId, uint64[5] calldata pubkey) external payable {
        uint256 amount = _depositAmount(pubkey);
        AccountInfo storage acct = _accounts[accountId];
        if (acct.owner == address(0)) revert UnknownAccount(accountId);
        if (acct.pubkeyHash != keccak256(abi.encode(pubkey))) revert PubkeyMismatch(accountId);
        _queueDeposit(accountId, amount, pubkey);
    }

    /// The L2 amount of `msg.value`, with the key checked (not in exit mode).
    function _depositAmount(uint64[5] calldata pubkey) internal view returns (uint256 amount) {
        if (exitMode) revert ExitModeActive();
        if (msg.value % AMOUNT_UNIT != 0) revert DepositNotMultipleOfUnit(msg.value, AMOUNT_UNIT);
        amount = msg.value / AMOUNT_UNIT;
        if (amount == 0) revert ZeroDeposit();
        if (amount > MAX_AMOUNT) revert DepositTooLarge(amount, MAX_AMOUNT);
        _checkPubkey(pubkey);
    }

    /// The queued data hash leaves the key out: the key is bound to `accountId` on L1 (checked by the callers), and a
    /// record that carries one is checked against that binding (`_applyRecord`).
    function _queueDeposit(uint32 accountId, uint256 amount, uint64[5] calldata pubkey) internal {
        uint64 id = priorityQueueLength;
        priorityQueueLength = id + 1;
        uint64 expiry = uint64(block.timestamp) + priorityExpiry;
        _priorityOps[id] = PriorityOp({
            dataHash: keccak256(abi.encode(TAG_DEPOSIT, uint256(accountId), amount)),
            depositor: msg.sender,
            expiry: uint32(expiry),
            amount: uint64(amount)
        });
        emit DepositQueued(id, accountId, msg.sender, uint64(amount), pubkey, expiry);
    }

    /// Open while paused (the guardian must not be able to keep an account in); not in exit mode (exits replace it).
    function requestForcedExit(uint32 accountId) external returns (uint64 id) {
        if (exitMode) revert ExitModeActive();
        address owner = _accounts[accountId].owner;
        if (msg.sender != owner || owner == address(0)) revert NotExitOwner(accountId, msg.sender);
        id = priorityQueueLength;
        priorityQueueLength = id + 1;
        uint64 expiry = uint64(block.timestamp) + priorityExpiry;
        _priorityOps[id] = PriorityOp({
            dataHash: keccak256(abi.encode(TAG_FORCED_EXIT, uint256(accountId), owner)),
            depositor: owner,
            expiry: uint32(expiry),
            amount: 0
        });
        emit ForcedExitQueued(id, accountId, owner, expiry);
    }

    /// Pays the caller's pending balance (withdrawals, exits, refunds). Works while paused and in exit mode.
    function withdrawPending() external {
        uint256 amount = pendingWithdrawals[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        pendingWithdrawals[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
        emit WithdrawalPulled(msg.sender, amount);
    }

    function transferExitOwnership(uint32 accountId, address newOwner) external {
        address owner = _accounts[accountId].owner;
        if (msg.sender != owner || owner == address(0)) revert NotExitOwner(accountId, msg.sender);
        if (newOwner == address(0)) revert ZeroAddress();
        _accounts[accountId].owner = newOwner;
        emit ExitOwnerTransferred(accountId, owner, newOwner);
    }

    // ================================================================ guardian

    function pause() external onlyGuardian {
        if (exitMode) revert ExitModeActive();
        if (paused()) revert ContractPaused();
        uint64 ended = pausedUntil;
        if (ended != 0 && block.timestamp < ended + PAUSE_COOLDOWN) revert PauseCoolingDown(ended + PAUSE_COOLDOWN);
        pausedUntil = uint64(block.timestamp) + MAX_PAUSE;
        emit Paused(msg.sender);
    }

    /// Lifts the pause early (it lapses by itself at `pausedUntil`).
    function unpause() external onlyGuardian {
        if (!paused()) revert NotPaused();
        pausedUntil = uint64(block.timestamp);
        emit Unpaused(msg.sender);
    }

    function paused() public view returns (bool) {
        return block.timestamp < pausedUntil;
    }

    // ================================================================ timelock

    function operationId(bytes calldata data, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(data, salt));
    }

    /// The governor schedules a call of one of the timelocked setters on this contract.
    function schedule(bytes calldata data, bytes32 salt) external onlyGovernor returns (bytes32 id) {
        bytes4 selector = data.length >= 4 ? bytes4(data[:4]) : bytes4(0);
        if (
            selector != this.setVerifier.selector && selector != this.setOperator.selector
                && selector != this.setGuardian.selector && selector != this.setGovernor.selector
                && selector != this.setPriorityExpiry.selector && selector != this.setTimelockDelay.selector
        ) revert UnsupportedOperation(selector);
        id = operationId(data, salt);
        if (operationReadyAt[id] != 0) revert OperationAlreadyScheduled(id);
        // timelockDelay is bounded: no overflow, and never 0 ("not scheduled")
        uint64 readyAt = uint64(block.timestamp) + timelockDelay;
        operationReadyAt[id] = readyAt;
        _changesGuardian[id] = selector == this.setGuardian.selector;
        emit OperationScheduled(id, data, salt, readyAt);
    }

    /// Anyone may execute a scheduled operation once its delay has passed.
    function executeOperation(bytes calldata data, bytes32 salt) external {
        bytes32 id = operationId(data, salt);
        uint64 readyAt = operationReadyAt[id];
        if (readyAt == 0) revert OperationNotScheduled(id);
        if (block.timestamp < readyAt) revert OperationNotReady(id, readyAt, uint64(block.timestamp));
        delete operationReadyAt[id];
        (bool ok, bytes memory reason) = address(this).call(data);
        if (!ok) revert OperationFailed(id, reason);
        emit OperationExecuted(id);
    }

    /// The governor may cancel any scheduled operation; the guardian any but a change of the guardian.
    function cancel(bytes32 id) external {
        if (msg.sender != governor && msg.sender != guardian) revert NotGovernorOrGuardian(msg.sender);
        if (operationReadyAt[id] == 0) revert OperationNotScheduled(id);
        if (msg.sender != governor && _changesGuardian[id]) revert GuardianCannotCancel(id);
        delete operationReadyAt[id];
        delete _changesGuardian[id];
        emit OperationCancelled(id);
    }

    /// Applies to proofs submitted afterwards. A change of epoch shape should follow reverting unproven epochs.
    function setVerifier(address verifier_, uint64 batchesPerEpoch_, uint64 batchCapacity_) external onlySelf {
        _setVerifier(verifier_, batchesPerEpoch_, batchCapacity_);
    }

    function setOperator(address operator, bool enabled) external onlySelf {
        isOperator[operator] = enabled;
        emit OperatorSet(operator, enabled);
    }

    function setGuardian(address guardian_) external onlySelf {
        if (guardian_ == address(0)) revert ZeroAddress();
        guardian = guardian_;
        emit GuardianChanged(guardian_);
    }

    function setGovernor(address governor_) external onlySelf {
        if (governor_ == address(0)) revert ZeroAddress();
        governor = governor_;
        emit GovernorChanged(governor_);
    }

    function setPriorityExpiry(uint64 priorityExpiry_) external onlySelf {
        _setPriorityExpiry(priorityExpiry_);
    }

    function setTimelockDelay(uint64 timelockDelay_) external onlySelf {
        _setTimelockDelay(timelockDelay_);
    }

    // ================================================================ exit mode

    function activateExitMode() external {
        if (exitMode) revert ExitModeActive();
        uint64 id = priorityOpsExecuted;
        if (id >= priorityQueueLength) revert NoPendingPriorityOp(id);
        uint64 expiry = _priorityOps[id].expiry;
        if (block.timestamp <= expiry) revert PriorityOpNotExpired(id, expiry, uint64(block.timestamp));
        exitMode = true;
        emit ExitModeActivated(id, _epochs[totalExecuted].newRoot);
    }

    /// Anyone may submit an account's exit; it pays the account's exit owner (see the contract's notes).
    /// `siblings[h]` is the sibling at height h (leaf level first), as smt.rs MerkleProof.
    function exit(
        uint32 accountId,
        uint64[5] calldata pubkey,
        uint64 balance,
        uint32 nonce,
        bytes32[32] calldata siblings
    ) external {
        if (!exitMode) revert NotInExitMode();
        if (exited[accountId]) revert AlreadyExited(accountId);
        address owner = _accounts[accountId].owner;
        if (owner == address(0)) revert NoExitOwner(accountId);
        if (balance > MAX_AMOUNT) revert BalanceTooLarge(balance, MAX_AMOUNT);
        _checkPubkey(pubkey);
        // state.rs Account::leaf: H(pubkey[5], balance, nonce)
        uint256[] memory leafIn = new uint256[](7);
        for (uint256 i; i < 5; ++i) {
            leafIn[i] = pubkey[i];
        }
        leafIn[5] = balance;
        leafIn[6] = nonce;
        uint256[4][] memory path = new uint256[4][](TREE_DEPTH);
        for (uint256 h; h < TREE_DEPTH; ++h) {
            path[h] = _unpack(siblings[h]);
        }
        // smt.rs MerkleProof::root_for
        uint256[4] memory root = _poseidon.smtRoot(_poseidon.hashNoPad(leafIn), accountId, path);
        if (_pack(root) != _epochs[totalExecuted].newRoot) revert InvalidMerkleProof(accountId);
        exited[accountId] = true;
        uint256 amountWei = uint256(balance) * AMOUNT_UNIT;
        pendingWithdrawals[owner] += amountWei;
        emit Exited(accountId, owner, balance);
        emit WithdrawalPending(owner, amountWei);
    }

    /// In exit mode, a deposit that no executed epoch processed goes back to its depositor.
    function refundDeposit(uint64 priorityId) external {
        if (!exitMode) revert NotInExitMode();
        if (priorityId < priorityOpsExecuted) revert DepositAlreadyProcessed(priorityId);
        if (priorityId >= priorityQueueLength) revert PriorityOpMissing(priorityId);
        PriorityOp storage op = _priorityOps[priorityId];
        if (op.depositor == address(0)) revert AlreadyRefunded(priorityId);
        // a forced exit moves nothing on L1: its account exits like any other
        if (op.amount == 0) revert NotADeposit(priorityId);
        _refund(priorityId);
        delete _priorityOps[priorityId];
    }

    // ================================================================ views

    function poseidon() external view returns (address) {
        return address(_poseidon);
    }

    function executedRoot() external view returns (bytes32) {
        return _epochs[totalExecuted].newRoot;
    }

    function lastCommittedRoot() external view returns (bytes32) {
        return _epochs[totalCommitted].newRoot;
    }

    function epochInfo(uint64 epoch) external view returns (StoredEpoch memory) {
        return _epochs[epoch];
    }

    function priorityOp(uint64 priorityId) external view returns (PriorityOp memory) {
        return _priorityOps[priorityId];
    }

    function _refund(uint64 priorityId) internal {
        PriorityOp storage op = _priorityOps[priorityId];
        address depositor = op.depositor;
        uint64 amount = op.amount;
        uint256 amountWei = uint256(amount) * AMOUNT_UNIT;
        pendingWithdrawals[depositor] += amountWei;
        emit DepositRefunded(priorityId, depositor, amount);
        emit WithdrawalPending(depositor, amountWei);
    }

    function accountInfo(uint32 accountId) external view returns (AccountInfo memory) {
        return _accounts[accountId];
    }

    function domain() external view returns (uint64 chainId, uint64 rollupId) {
        return (_chainId, _rollupId);
    }

    /// oldRoot, newRoot: a packed digest's four elements e0..e3; dataIn, dataOut: a Keccak digest's eight 32-bit
    /// limbs, most significant first (IZkrVerifier.verifyProof). Epoch 0's dataHash is zero.
    function publicInputs(uint64 epoch) public view returns (uint256[24] memory inputs) {
        if (epoch == 0 || epoch > totalCommitted) revert EpochNotCommitted(epoch);
        StoredEpoch storage prev = _epochs[epoch - 1];
        StoredEpoch storage e = _epochs[epoch];
        uint256 oldRoot = uint256(prev.newRoot);
        uint256 newRoot = uint256(e.newRoot);
        for (uint256 j; j < 4; ++j) {
            inputs[j] = (oldRoot >> (192 - 64 * j)) & 0xFFFFFFFFFFFFFFFF;
            inputs[4 + j] = (newRoot >> (192 - 64 * j)) & 0xFFFFFFFFFFFFFFFF;
        }
        uint256 dataIn = uint256(prev.dataHash);
        uint256 dataOut = uint256(e.dataHash);
        for (uint256 k; k < 8; ++k) {
            inputs[8 + k] = (dataIn >> (224 - 32 * k)) & 0xFFFFFFFF;
            inputs[16 + k] = (dataOut >> (224 - 32 * k)) & 0xFFFFFFFF;
        }
    }

    // ================================================================ internals

    function _setVerifier(address verifier_, uint64 batchesPerEpoch_, uint64 batchCapacity_) internal {
        if (verifier_ == address(0)) revert ZeroAddress();
        bool powerOfTwo = batchesPerEpoch_ != 0 && (batchesPerEpoch_ & (batchesPerEpoch_ - 1)) == 0;
        if (
            !powerOfTwo || batchesPerEpoch_ > MAX_BATCHES_PER_EPOCH || batchCapacity_ == 0
                || batchCapacity_ > MAX_BATCH_CAPACITY
        ) revert BadEpochShape(batchesPerEpoch_, batchCapacity_);
        verifier = verifier_;
        batchesPerEpoch = batchesPerEpoch_;
        batchCapacity = batchCapacity_;
        emit VerifierChanged(verifier_, batchesPerEpoch_, batchCapacity_);
    }

    /// Within [MIN_PRIORITY_EXPIRY, MAX_PRIORITY_EXPIRY] and below the timelock delay (checked once it is set).
    function _setPriorityExpiry(uint64 priorityExpiry_) internal {
        uint64 delay = timelockDelay;
        uint64 max = delay == 0 || delay - 1 > MAX_PRIORITY_EXPIRY ? MAX_PRIORITY_EXPIRY : delay - 1;
        if (priorityExpiry_ < MIN_PRIORITY_EXPIRY || priorityExpiry_ > max) {
            revert BadPriorityExpiry(priorityExpiry_, MIN_PRIORITY_EXPIRY, max);
        }
        priorityExpiry = priorityExpiry_;
        emit PriorityExpiryChanged(priorityExpiry_);
    }

    /// Above the priority expiry and at most MAX_TIMELOCK_DELAY.
    function _setTimelockDelay(uint64 timelockDelay_) internal {
        if (timelockDelay_ <= priorityExpiry || timelockDelay_ > MAX_TIMELOCK_DELAY) {
            revert BadTimelockDelay(timelockDelay_, priorityExpiry + 1, MAX_TIMELOCK_DELAY);
        }
        timelockDelay = timelockDelay_;
        emit TimelockDelayChanged(timelockDelay_);
    }

    /// A revert, a wrong return size or anything but `true` counts as invalid.
    function _verify(bytes calldata proof, uint256[24] memory inputs) internal view returns (bool) {
        (bool ok, bytes memory ret) =
            verifier.staticcall(abi.encodeWithSelector(IZkrVerifier.verifyProof.selector, proof, inputs));
        return ok && ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }

    /// One step of the data chain (batch.rs chain_data): keccak256(h ‖ header ‖ data), `header` holding the
    /// HEADER_BYTES header bytes left-aligned. Hashed in scratch memory past the free memory pointer, never allocated:
    /// memory does not grow with the epoch's batches.
    function _chainData(bytes32 h, uint256 header, bytes calldata data) internal pure returns (bytes32 r) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, h)
            mstore(add(m, 32), header)
            calldatacopy(add(m, add(32, HEADER_BYTES)), data.offset, data.length)
            r := keccak256(m, add(add(32, HEADER_BYTES), data.length))
        }
    }

    /// Walks one L2 batch's compact records: each must have a known tag and lie inside the batch, and there may be at
    /// most `batchCapacity` of them. Transfers change nothing on L1 and are only skipped; the other records go to
    /// `_applyRecord`. Reads the records straight from calldata.
    function _scanBatch(bytes calldata data, uint256 batch, uint64 epoch, Scan memory s) internal {
        uint256 start;
        uint256 end;
        assembly ("memory-safe") {
            start := data.offset
            end := add(start, data.length)
        }
        uint256 p = start;
        uint256 records;
        while (true) {
            // The bulk of the pubdata: skip each run of transfers in a tight loop (a transfer's tail may lie past
            // `end`: caught below) and count them by the run's length.
            assembly ("memory-safe") {
                let run := p
                for {} and(lt(p, end), eq(shr(248, calldataload(p)), TAG_TRANSFER)) {} { p := add(p, TRANSFER_BYTES) }
                records := add(records, div(sub(p, run), TRANSFER_BYTES))
            }
            if (p >= end) break;
            uint256 tag;
            uint256 len;
            assembly ("memory-safe") {
                tag := shr(248, calldataload(p))
                len := byte(tag, RECORD_BYTES)
            }
            if (len == 0) revert UnknownTag(batch, p - start, tag);
            if (len > end - p) revert RecordTruncated(batch, p - start);
            _applyRecord(tag, p, epoch, s);
            p += len;
            ++records;
        }
        // every other record's length was checked before its fields were read: only a transfer can overrun
        if (p != end) revert RecordTruncated(batch, p - TRANSFER_BYTES - start);
        uint256 capacity = batchCapacity;
        if (records > capacity) revert TooManyRecords(batch, capacity, records);
    }

    /// The record at calldata position `p` (tag 2..6, lying wholly inside its batch). A deposit (3: to an existing
    /// account, 5: opening it, 6: refunded) or forced exit (4) must be the next queued priority operation; an opening
    /// or refunded deposit must carry the key bound to its account, and a refunded one is marked for executeEpoch. A
    /// withdrawal (2) or forced exit pays out on L1: it is chained for executeEpoch.
    function _applyRecord(uint256 tag, uint256 p, uint64 epoch, Scan memory s) internal {
        uint256 account;
        assembly ("memory-safe") {
            account := shr(224, calldataload(add(p, R_ACCOUNT)))
        }
        if (tag == TAG_WITHDRAW || tag == TAG_FORCED_EXIT) {
            address to;
            uint64 payout;
            assembly ("memory-safe") {
                to := shr(96, calldataload(add(p, R_L1_ADDRESS)))
                payout := shr(192, calldataload(add(p, R_PAYOUT_AMOUNT)))
            }
            // a forced exit pays the exit owner that requested it (the queued operation names it)
            if (tag == TAG_FORCED_EXIT) _nextPriorityOp(_opHash(TAG_FORCED_EXIT, account, uint160(to)), s);
            s.withdrawalsHash = _chainWithdrawal(s.withdrawalsHash, to, payout);
            s.withdrawals += 1;
            return;
        }
        uint256 amount;
        assembly ("memory-safe") {
            amount := shr(192, calldataload(add(p, R_DEPOSIT_AMOUNT)))
        }
        uint64 id = _nextPriorityOp(_opHash(TAG_DEPOSIT, account, amount), s);
        if (tag == TAG_DEPOSIT) return;
        // the queued deposit does not name the key: without this check the operator could open the account under a
        // key of its own, or refund a deposit by publishing some unusable key in place of the account's
        if (_keyHash(p + R_KEY) != _accounts[uint32(account)].pubkeyHash) revert DepositKeyMismatch(id);
        if (tag == TAG_DEPOSIT_REFUNDED) {
            refundOnExecute[id] = true;
            emit DepositRefundScheduled(id, epoch);
        }
    }

    /// A deposit or forced-exit record, whose queue data hashes to `h`, takes the next queued priority operation
    /// (records carry no ids: the queue's order is theirs). Returns its id.
    function _nextPriorityOp(bytes32 h, Scan memory s) internal view returns (uint64 id) {
        id = s.nextPriority;
        if (id >= s.queueLength) revert PriorityOpMissing(id);
        if (h != _priorityOps[id].dataHash) revert DepositMismatch(id);
        s.nextPriority = id + 1;
    }

    /// keccak256(abi.encode(tag, account, x)): a queued priority operation's data hash (deposit: x = amount; forced
    /// exit: x = the exit owner), hashed in scratch memory so the scan allocates nothing.
    function _opHash(uint256 tag, uint256 account, uint256 x) internal pure returns (bytes32 r) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, tag)
            mstore(add(m, 32), account)
            mstore(add(m, 64), x)
            r := keccak256(m, 96)
        }
    }

    /// keccak256(abi.encode(uint64[5] key)) of the five big-endian u64 at calldata position `q`: comparable with
    /// AccountInfo.pubkeyHash.
    function _keyHash(uint256 q) internal pure returns (bytes32 r) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            for { let i := 0 } lt(i, 5) { i := add(i, 1) } {
                mstore(add(m, shl(5, i)), shr(192, calldataload(add(q, shl(3, i)))))
            }
            r := keccak256(m, 160)
        }
    }

    /// h' = keccak256(h ‖ to (20 bytes) ‖ amount (8 bytes, big-endian)).
    function _chainWithdrawal(bytes32 h, address to, uint64 amount) internal pure returns (bytes32 r) {
        assembly ("memory-safe") {
            mstore(0, h)
            mstore(32, or(shl(96, to), shl(32, amount)))
            r := keccak256(0, 60)
        }
    }

    function _pack(uint256[4] memory d) internal pure returns (bytes32) {
        return bytes32((d[0] << 192) | (d[1] << 128) | (d[2] << 64) | d[3]);
    }

    function _unpack(bytes32 packed) internal pure returns (uint256[4] memory d) {
        uint256 w = uint256(packed);
        for (uint256 j; j < 4; ++j) {
            d[j] = (w >> (192 - 64 * j)) & 0xFFFFFFFFFFFFFFFF;
            if (d[j] >= P) revert NonCanonicalDigest(packed);
        }
    }

    function _checkDigest(bytes32 packed) internal pure {
        _unpack(packed);
    }

    function _checkPubkey(uint64[5] calldata pubkey) internal pure {
        bool allZero = true;
        for (uint256 i; i < 5; ++i) {
            if (pubkey[i] >= P) revert NonCanonicalPubkey(i, pubkey[i]);
            if (pubkey[i] != 0) allZero = false;
        }
        if (allZero) revert ZeroPubkey();
    }
}
