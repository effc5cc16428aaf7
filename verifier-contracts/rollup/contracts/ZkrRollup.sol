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
///   key does not credits nothing, its pubdata slot carries a refund flag, and `executeEpoch` refunds its depositor.
/// - Forced exit: an account's exit owner may queue `requestForcedExit` (open while paused); the L2 must withdraw the
///   account's whole balance to that owner, in queue order with the deposits and under the same expiry, or anyone may
///   switch the rollup into exit mode. An operator that censors the account's signed withdrawals gains nothing.
/// - Domain: every L2 signature is over Poseidon(domain ‖ slot layout), and each batch's pubdata commitment is
///   Poseidon(domain ‖ feeAccount ‖ pubdata), where the domain is (block.chainid, rollupId) as four 32-bit limbs. This contract
///   hashes the pubdata with its own domain, so a batch proven for another chain or another rollup (whose
///   signatures would otherwise replay here) fails verification; likewise a batch whose fees went to another account.
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
    uint256 internal constant TX_FIELDS = 16;
    /// batch.rs HEADER_FIELDS: the pubdata commitment's preimage starts with the domain (4) and the fee account.
    uint256 internal constant HEADER_FIELDS = 5;
    uint256 internal constant SLOT_BYTES = 128;
    uint256 internal constant TAG_WITHDRAW = 2;
    uint256 internal constant TAG_DEPOSIT = 3;
    uint256 internal constant TAG_FORCED_EXIT = 4;
    // tx.rs layout offsets
    uint256 internal constant F_ACCOUNT_A = 1;
    uint256 internal constant F_AMOUNT = 3;
    uint256 internal constant F_REFUND = 4;
    uint256 internal constant F_L1_ADDRESS = 5;
    uint256 internal constant F_PUBKEY = 10;
    uint256 internal constant F_PRIORITY_ID = 15;
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

    /// Running state of the pubdata scan of one commit.
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

    function commitEpoch(EpochCommit calldata c) external onlyOperator whenLive {
        uint64 committed = totalCommitted;
        if (c.epoch <= committed) revert EpochAlreadyCommitted(c.epoch);
        if (c.epoch != committed + 1) revert UnexpectedEpoch(committed + 1, c.epoch);
        bytes32 lastRoot = _epochs[committed].newRoot;
        if (c.oldRoot != lastRoot) revert RootDoesNotChain(lastRoot, c.oldRoot);
        _checkDigest(c.newRoot);
        _checkDigest(c.depositsCommitment);
        _checkDigest(c.withdrawalsCommitment);
        uint256 n = batchesPerEpoch;
        if (c.pubdata.length != n) revert WrongBatchCount(n, c.pubdata.length);

        Scan memory s = Scan(priorityOpsCommitted, priorityQueueLength, 0, bytes32(0));
        uint256[4][] memory level = new uint256[4][](n);
        for (uint256 b; b < n; ++b) {
            level[b] = _scanBatch(c.pubdata[b], b, c.epoch, s);
        }
        // aggregate.rs `combine`: node = hash_no_pad(left ‖ right), a complete binary tree over the batches.
        while (n > 1) {
            n >>= 1;
            for (uint256 i; i < n; ++i) {
                level[i] = _hashPair(level[2 * i], level[2 * i + 1]);
            }
        }
        bytes32 pubdataCommitment = _pack(level[0]);

        uint64 first = priorityOpsCommitted;
        _epochs[c.epoch] = StoredEpoch({
            newRoot: c.newRoot,
            pubdataCommitment: pubdataCommitment,
            depositsCommitment: c.depositsCommitment,
            withdrawalsCommitment: c.withdrawalsCommitment,
            withdrawalsHash: s.withdrawalsHash,
            firstPriorityId: first,
            priorityOps: s.nextPriority - first,
            withdrawals: s.withdrawals
        });
        totalCommitted = c.epoch;
        priorityOpsCommitted = s.nextPriority;
        emit BatchCommitted(
            c.epoch,
            c.oldRoot,
            c.newRoot,
            pubdataCommitment,
            c.depositsCommitment,
            c.withdrawalsCommitment,
            s.nextPriority - first,
            s.withdrawals
        );
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

    function _queueDeposit(uint32 accountId, uint256 amount, uint64[5] calldata pubkey) internal {
        uint64 id = priorityQueueLength;
        priorityQueueLength = id + 1;
        uint64 expiry = uint64(block.timestamp) + priorityExpiry;
        _priorityOps[id] = PriorityOp({
            dataHash: keccak256(abi.encode(TAG_DEPOSIT, uint256(accountId), amount, pubkey)),
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

    function publicInputs(uint64 epoch) public view returns (uint256[20] memory inputs) {
        if (epoch == 0 || epoch > totalCommitted) revert EpochNotCommitted(epoch);
        StoredEpoch storage e = _epochs[epoch];
        bytes32[5] memory digests =
            [_epochs[epoch - 1].newRoot, e.newRoot, e.pubdataCommitment, e.depositsCommitment, e.withdrawalsCommitment];
        for (uint256 d; d < 5; ++d) {
            uint256 w = uint256(digests[d]);
            for (uint256 j; j < 4; ++j) {
                inputs[4 * d + j] = (w >> (192 - 64 * j)) & 0xFFFFFFFFFFFFFFFF;
            }
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
    function _verify(bytes calldata proof, uint256[20] memory inputs) internal view returns (bool) {
        (bool ok, bytes memory ret) =
            verifier.staticcall(abi.encodeWithSelector(IZkrVerifier.verifyProof.selector, proof, inputs));
        return ok && ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }

    /// Decodes, checks and hashes one L2 batch's pubdata; checks its priority operations against the queue, marks the
    /// deposits to refund and chains its withdrawals (withdraw and forced-exit slots). Returns Poseidon hash_no_pad over
    /// this rollup's batch header (domain, fee account) then the batch's field elements (batch.rs pubdata_commitment).
    function _scanBatch(bytes calldata data, uint256 batch, uint64 epoch, Scan memory s)
        internal
        returns (uint256[4] memory)
    {
        uint256 slots = batchCapacity;
        if (data.length != slots * SLOT_BYTES) revert WrongPubdataLength(batch, slots * SLOT_BYTES, data.length);
        // batch.rs Batch::header (tx.rs Domain::to_fields, the fee account), then the slots
        uint256[] memory el = new uint256[](HEADER_FIELDS + slots * TX_FIELDS);
        el[0] = _chainId & 0xFFFFFFFF;
        el[1] = _chainId >> 32;
        el[2] = _rollupId & 0xFFFFFFFF;
        el[3] = _rollupId >> 32;
        el[4] = feeAccount;
        uint256 allCanonical = 1;
        assembly ("memory-safe") {
            let src := data.offset
            let end := add(src, data.length)
            let dst := add(el, add(32, mul(32, HEADER_FIELDS)))
            let m64 := 0xFFFFFFFFFFFFFFFF
            for {} lt(src, end) {
                src := add(src, 32)
                dst := add(dst, 128)
            } {
                // 4 little-endian u64 per word: reverse the bytes inside each 8-byte lane
                let w := calldataload(src)
                w := or(
                    shr(8, and(w, 0xFF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00)),
                    shl(8, and(w, 0x00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF))
                )
                w := or(
                    shr(16, and(w, 0xFFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000)),
                    shl(16, and(w, 0x0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF))
                )
                w := or(
                    shr(32, and(w, 0xFFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000)),
                    shl(32, and(w, 0x00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF))
                )
                let e0 := shr(192, w)
                let e1 := and(shr(128, w), m64)
                let e2 := and(shr(64, w), m64)
                let e3 := and(w, m64)
                mstore(dst, e0)
                mstore(add(dst, 32), e1)
                mstore(add(dst, 64), e2)
                mstore(add(dst, 96), e3)
                allCanonical := and(allCanonical, and(and(lt(e0, P), lt(e1, P)), and(lt(e2, P), lt(e3, P))))
            }
        }
        if (allCanonical == 0) {
            for (uint256 i = HEADER_FIELDS; i < el.length; ++i) {
                if (el[i] >= P) revert NonCanonicalElement(batch, i - HEADER_FIELDS, el[i]);
            }
        }
        for (uint256 slot; slot < slots; ++slot) {
            uint256 base = HEADER_FIELDS + slot * TX_FIELDS;
            uint256 tag = el[base];
            if (tag == TAG_DEPOSIT) {
                bytes32 h = keccak256(
                    abi.encode(
                        TAG_DEPOSIT,
                        el[base + F_ACCOUNT_A],
                        el[base + F_AMOUNT],
                        el[base + F_PUBKEY],
                        el[base + F_PUBKEY + 1],
                        el[base + F_PUBKEY + 2],
                        el[base + F_PUBKEY + 3],
                        el[base + F_PUBKEY + 4]
                    )
                );
                uint64 id = _nextPriorityOp(el, base, h, s);
                // the circuit proves the flag (0 or 1): 1 iff the key decodes to no usable public key
                if (el[base + F_REFUND] != 0) {
                    refundOnExecute[id] = true;
                    emit DepositRefundScheduled(id, epoch);
                }
            } else if (tag == TAG_WITHDRAW || tag == TAG_FORCED_EXIT) {
                address to = _l1Address(el, base, batch, slot);
                if (tag == TAG_FORCED_EXIT) {
                    _nextPriorityOp(el, base, keccak256(abi.encode(TAG_FORCED_EXIT, el[base + F_ACCOUNT_A], to)), s);
                }
                s.withdrawalsHash = _chainWithdrawal(s.withdrawalsHash, to, uint64(el[base + F_AMOUNT]));
                s.withdrawals += 1;
            } else if (tag > TAG_FORCED_EXIT) {
                revert UnknownTag(batch, slot, tag);
            }
        }
        return _poseidon.hashNoPad(el);
    }

    /// The priority slot at `base` (deposit or forced exit, whose queue data hashes to `h`) must be the next queued
    /// priority operation.
    function _nextPriorityOp(uint256[] memory el, uint256 base, bytes32 h, Scan memory s)
        internal
        view
        returns (uint64)
    {
        uint256 id = el[base + F_PRIORITY_ID];
        if (id != s.nextPriority) revert DepositOutOfOrder(s.nextPriority, id);
        if (id >= s.queueLength) revert PriorityOpMissing(id);
        if (h != _priorityOps[uint64(id)].dataHash) revert DepositMismatch(uint64(id));
        s.nextPriority += 1;
        return uint64(id);
    }

    /// tx.rs l1_address_limbs: five 32-bit limbs, limb i holding address bytes 4i..4i+4 little-endian.
    function _l1Address(uint256[] memory el, uint256 base, uint256 batch, uint256 slot)
        internal
        pure
        returns (address)
    {
        uint256 a;
        for (uint256 i; i < 5; ++i) {
            uint256 limb = el[base + F_L1_ADDRESS + i];
            if (limb > 0xFFFFFFFF) revert NonCanonicalL1Address(batch, slot);
            uint256 be = ((limb & 0xFF) << 24) | ((limb & 0xFF00) << 8) | ((limb >> 8) & 0xFF00) | (limb >> 24);
            a = (a << 32) | be;
        }
        return address(uint160(a));
    }

    /// h' = keccak256(h ‖ to (20 bytes) ‖ amount (8 bytes, big-endian)).
    function _chainWithdrawal(bytes32 h, address to, uint64 amount) internal pure returns (bytes32 r) {
        assembly ("memory-safe") {
            mstore(0, h)
            mstore(32, or(shl(96, to), shl(32, amount)))
            r := keccak256(0, 60)
        }
    }

    function _hashPair(uint256[4] memory l, uint256[4] memory r) internal view returns (uint256[4] memory) {
        uint256[] memory x = new uint256[](8);
        for (uint256 i; i < 4; ++i) {
            x[i] = l[i];
            x[4 + i] = r[i];
        }
        return _poseidon.hashNoPad(x);
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
