//! A user's own calls to the rollup on L1: deposits (opening an account, or topping one up), forced-exit requests,
//! and pulling what the rollup owes. Each deposit or request returns the priority operation it queued and the L2
//! transaction the sequencer will execute for it (its `Tx::id()` is the hash the wallet API reports its status under).

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent};
use thiserror::Error;
use zkr_circuits::schnorr::PublicKey;
use zkr_circuits::tx::Tx;
use zkr_rollup::calldata::{amount_wei, deposit_call, deposit_tx, forced_exit_call, forced_exit_tx, open_account_call};
use zkr_rollup::{decode_revert, IZkrRollup};

use crate::chain::{Receipt, L1};
use crate::error::L1Error;
use crate::rollup::view;

/// Why a user's L1 call did not queue its operation.
#[derive(Debug, Error)]
pub enum WalletL1Error {
    /// The rollup reverted with one of its own errors (decoded).
    #[error("the rollup refused: {0}")]
    Refused(String),
    #[error(transparent)]
    L1(L1Error),
    #[error("account {account} is not registered on the rollup at {rollup}")]
    UnknownAccount { account: u32, rollup: Address },
    #[error(
        "no deposit or genesis event of account {account} in the rollup's logs from block {from_block}: start at the \
         rollup's deploy block, or name the account's key"
    )]
    KeyNotFound { account: u32, from_block: u64 },
    /// An event the rollup emitted does not decode into an L2 transaction.
    #[error(transparent)]
    Event(#[from] zkr_rollup::L1Error),
    #[error("transaction {tx} emitted no {event} event")]
    NoEvent { tx: B256, event: &'static str },
}

impl From<L1Error> for WalletL1Error {
    fn from(e: L1Error) -> Self {
        if let L1Error::Reverted { data, .. } = &e {
            if let Some(r) = decode_revert(data) {
                // `Variant(Variant { field: … })` → `Variant { field: … }`
                let s = format!("{r:?}");
                let inner = s.split_once('(').and_then(|(_, rest)| rest.strip_suffix(')')).unwrap_or(&s);
                return WalletL1Error::Refused(inner.to_string());
            }
        }
        WalletL1Error::L1(e)
    }
}

/// A priority operation a user queued on L1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// The L1 transaction and its block.
    pub l1_tx: B256,
    pub block: u64,
    /// Its place in the rollup's priority queue.
    pub priority_id: u64,
    /// The L2 account (a deposit's recipient, or the account a forced exit empties).
    pub account: u32,
    /// A deposit's L2 amount (0 for a forced exit: the L2 pays out the whole balance).
    pub amount: u64,
    /// Unix seconds after which, if the operation is still unprocessed, anyone may switch the rollup into exit mode.
    pub expiry_s: u64,
    /// The L2 transaction the sequencer executes for it.
    pub tx: Tx,
}

fn event<E: SolEvent>(r: &Receipt) -> Result<E, WalletL1Error> {
    r.logs
        .iter()
        .find_map(|l| E::decode_log(l).ok())
        .map(|l| l.data)
        .ok_or(WalletL1Error::NoEvent { tx: r.tx_hash, event: E::SIGNATURE })
}

fn queued_deposit(r: &Receipt) -> Result<Queued, WalletL1Error> {
    let ev: IZkrRollup::DepositQueued = event(r)?;
    Ok(Queued {
        l1_tx: r.tx_hash,
        block: r.block_number,
        priority_id: ev.priorityId,
        account: ev.accountId,
        amount: ev.amount,
        expiry_s: ev.expiry,
        tx: deposit_tx(&ev)?,
    })
}

/// Opens a new L2 account under `pubkey` (the rollup picks its id, the sender becomes its exit owner) with a first
/// deposit of `amount` L2 units (`amount_wei(amount)` sent along).
pub async fn open_account(
    l1: &dyn L1,
    rollup: Address,
    pubkey: &PublicKey,
    amount: u64,
) -> Result<Queued, WalletL1Error> {
    let r = l1.send(rollup, open_account_call(pubkey).abi_encode(), amount_wei(amount)).await?;
    queued_deposit(&r)
}

/// Deposits `amount` L2 units into the existing account `account`, whose key is `pubkey`.
pub async fn deposit(
    l1: &dyn L1,
    rollup: Address,
    account: u32,
    pubkey: &PublicKey,
    amount: u64,
) -> Result<Queued, WalletL1Error> {
    let r = l1.send(rollup, deposit_call(account, pubkey).abi_encode(), amount_wei(amount)).await?;
    queued_deposit(&r)
}

/// Asks for a forced exit of `account` (the sender must be its exit owner): the L2 must pay its whole balance to the
/// owner before the operation expires.
pub async fn request_forced_exit(l1: &dyn L1, rollup: Address, account: u32) -> Result<Queued, WalletL1Error> {
    let r = l1.send(rollup, forced_exit_call(account).abi_encode(), U256::ZERO).await?;
    let ev: IZkrRollup::ForcedExitQueued = event(&r)?;
    Ok(Queued {
        l1_tx: r.tx_hash,
        block: r.block_number,
        priority_id: ev.priorityId,
        account: ev.accountId,
        amount: 0,
        expiry_s: ev.expiry,
        tx: forced_exit_tx(&ev),
    })
}

/// Pulls what the rollup owes the sender (`withdrawPending`): the wei pulled and the receipt.
pub async fn withdraw_pending(l1: &dyn L1, rollup: Address) -> Result<(U256, Receipt), WalletL1Error> {
    let owed = view(l1, rollup, IZkrRollup::pendingWithdrawalsCall { account: l1.sender() }).await?;
    let r = l1.send(rollup, IZkrRollup::withdrawPendingCall {}.abi_encode(), U256::ZERO).await?;
    Ok((owed, r))
}

/// The key bound on L1 to `account`, read from the rollup's events from `from_block` on: its genesis event, or any
/// deposit into it (the contract binds the key at `openAccount` and every later deposit must name the same one).
pub async fn account_key(
    l1: &dyn L1,
    rollup: Address,
    account: u32,
    from_block: u64,
) -> Result<PublicKey, WalletL1Error> {
    let info = view(l1, rollup, IZkrRollup::accountInfoCall { accountId: account }).await?;
    if info.owner == Address::ZERO {
        return Err(WalletL1Error::UnknownAccount { account, rollup });
    }
    let head = l1.block_number().await?;
    let topics = [IZkrRollup::GenesisAccountCreated::SIGNATURE_HASH, IZkrRollup::DepositQueued::SIGNATURE_HASH];
    for l in l1.logs(rollup, &topics, from_block, head).await? {
        let words = if let Ok(g) = IZkrRollup::GenesisAccountCreated::decode_log(&l.log) {
            (g.accountId == account).then_some(g.pubkey)
        } else if let Ok(d) = IZkrRollup::DepositQueued::decode_log(&l.log) {
            (d.accountId == account).then_some(d.pubkey)
        } else {
            None
        };
        if let Some(words) = words {
            // the contract refuses non-canonical keys; a key that is not a curve point cannot sign, but it is still
            // the one every deposit into this account must name
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            if let Ok(pk) = PublicKey::from_canonical_bytes(&bytes) {
                return Ok(pk);
            }
        }
    }
    Err(WalletL1Error::KeyNotFound { account, from_block })
}
