//! The L1 → L2 bridge's eyes: follows a rollup's priority queue (`DepositQueued`, `ForcedExitQueued`) and hands each
//! operation on once it has enough confirmations.
//!
//! A watcher is a pure poller: [`PriorityWatcher::poll`] takes the cursor of the last block handed on (its number
//! and hash), reads the logs from there to the head and splits them into confirmed operations (to sequence now,
//! in queue order) and unconfirmed ones (shown, not sequenced). A reorganisation of the unconfirmed blocks needs
//! nothing: the next poll reads the logs again, and a removed log is simply gone. A reorganisation that replaces the
//! cursor's block — deeper than the confirmations, so an operation may already be sequenced — is an incident
//! ([`WatchError::DeepReorg`]): the caller stops feeding and pages someone.

use std::sync::Arc;

use alloy_primitives::{Address, B256};
use alloy_sol_types::SolEvent;
use thiserror::Error;
use zkr_circuits::tx::Tx;
use zkr_rollup::calldata::{deposit_tx, forced_exit_tx};
use zkr_rollup::IZkrRollup;

use crate::chain::{ChainLog, L1};
use crate::error::L1Error;

/// The last block whose operations were handed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub block: u64,
    pub hash: B256,
}

/// A priority operation read from L1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedOp {
    pub priority_id: u64,
    /// `Tx::Deposit` or `Tx::ForcedExit`, as the L2 executes it.
    pub tx: Tx,
    /// The L1 transaction that queued it.
    pub l1_tx: B256,
    pub block: u64,
    /// Unix seconds after which an unprocessed operation lets anyone switch the rollup into exit mode.
    pub expiry: u64,
}

/// How a watcher reads the chain.
#[derive(Clone, Copy, Debug)]
pub struct WatchConfig {
    /// Blocks an operation's block needs, its own included, before it is handed on (1: as soon as it is mined).
    pub confirmations: u64,
    /// Most blocks asked for in one `eth_getLogs`.
    pub max_range: u64,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self { confirmations: 1, max_range: 5_000 }
    }
}

#[derive(Debug, Error)]
pub enum WatchError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error(
        "L1 reorganised deeper than the watcher's confirmations: block {block} was {expected} when its operations \
         were handed on, it is now {}; operations from the replaced blocks may be sequenced on L2 and will not \
         match the L1 queue",
        found.map_or_else(|| "gone".to_string(), |h| h.to_string())
    )]
    DeepReorg { block: u64, expected: B256, found: Option<B256> },
    #[error("log {log_index} of L1 transaction {tx_hash}: {reason}")]
    BadLog { tx_hash: B256, log_index: u64, reason: String },
}

/// One poll's answer.
#[derive(Clone, Debug, Default)]
pub struct Round {
    /// The chain head seen.
    pub head: u64,
    /// Operations with enough confirmations, in queue order: hand them on, then store `cursor`.
    pub confirmed: Vec<ObservedOp>,
    /// The new cursor (unchanged when no new block is confirmed).
    pub cursor: Option<Cursor>,
    /// Operations seen in blocks that are not confirmed yet (a reorg may still remove them).
    pub unconfirmed: Vec<ObservedOp>,
}

/// Follows one rollup's priority queue.
pub struct PriorityWatcher {
    l1: Arc<dyn L1>,
    rollup: Address,
    /// First block to read when there is no cursor (the rollup's deploy block).
    start_block: u64,
    config: WatchConfig,
}

impl std::fmt::Debug for PriorityWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PriorityWatcher").field("rollup", &self.rollup).field("config", &self.config).finish()
    }
}

impl PriorityWatcher {
    pub fn new(l1: Arc<dyn L1>, rollup: Address, start_block: u64, config: WatchConfig) -> Self {
        let config = WatchConfig { confirmations: config.confirmations.max(1), max_range: config.max_range.max(1) };
        Self { l1, rollup, start_block, config }
    }

    pub fn rollup(&self) -> Address {
        self.rollup
    }

    /// Reads from the block after `cursor` (or from the start block) to the head.
    pub async fn poll(&self, cursor: Option<Cursor>) -> Result<Round, WatchError> {
        let head = self.l1.block_number().await?;
        if let Some(c) = cursor {
            let found = self.l1.block_hash(c.block).await?;
            if found != Some(c.hash) {
                return Err(WatchError::DeepReorg { block: c.block, expected: c.hash, found });
            }
        }
        let from = cursor.map_or(self.start_block, |c| c.block + 1);
        let mut round = Round { head, cursor, ..Round::default() };
        if from > head {
            return Ok(round);
        }
        // the last block with enough confirmations (none yet when the chain is too short)
        let safe = (head + 1).checked_sub(self.config.confirmations).filter(|s| *s >= from);
        let safe_hash = match safe {
            Some(s) => Some(self.l1.block_hash(s).await?.ok_or(WatchError::DeepReorg {
                block: s,
                expected: B256::ZERO,
                found: None,
            })?),
            None => None,
        };
        let topics = [IZkrRollup::DepositQueued::SIGNATURE_HASH, IZkrRollup::ForcedExitQueued::SIGNATURE_HASH];
        let mut start = from;
        while start <= head {
            let end = head.min(start + self.config.max_range - 1);
            for log in self.l1.logs(self.rollup, &topics, start, end).await? {
                let op = decode(&log)?;
                if safe.is_some_and(|s| op.block <= s) {
                    round.confirmed.push(op);
                } else {
                    round.unconfirmed.push(op);
                }
            }
            start = end + 1;
        }
        if let (Some(block), Some(hash)) = (safe, safe_hash) {
            // a reorg while the logs were read: take nothing this round, the next poll reads again
            if self.l1.block_hash(block).await? != Some(hash) {
                return Ok(Round { head, cursor, ..Round::default() });
            }
            round.cursor = Some(Cursor { block, hash });
        }
        round.confirmed.sort_by_key(|o| o.priority_id);
        round.unconfirmed.sort_by_key(|o| o.priority_id);
        Ok(round)
    }
}

fn decode(l: &ChainLog) -> Result<ObservedOp, WatchError> {
    let bad = |reason: String| WatchError::BadLog { tx_hash: l.tx_hash, log_index: l.log_index, reason };
    let topic0 = l.log.data.topics().first().copied();
    let (priority_id, tx, expiry) = if topic0 == Some(IZkrRollup::DepositQueued::SIGNATURE_HASH) {
        let e = IZkrRollup::DepositQueued::decode_log(&l.log).map_err(|e| bad(format!("DepositQueued: {e}")))?.data;
        let tx = deposit_tx(&e).map_err(|e| bad(format!("DepositQueued: {e}")))?;
        (e.priorityId, tx, e.expiry)
    } else if topic0 == Some(IZkrRollup::ForcedExitQueued::SIGNATURE_HASH) {
        let e =
            IZkrRollup::ForcedExitQueued::decode_log(&l.log).map_err(|e| bad(format!("ForcedExitQueued: {e}")))?.data;
        let tx = forced_exit_tx(&e);
        (e.priorityId, tx, e.expiry)
    } else {
        return Err(bad("not a priority-queue event".into()));
    };
    Ok(ObservedOp { priority_id, tx, l1_tx: l.tx_hash, block: l.block_number, expiry })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InProcessL1;

    #[tokio::test]
    async fn an_empty_chain_gives_an_empty_round_and_a_replaced_cursor_block_is_a_deep_reorg() {
        let l1 = Arc::new(InProcessL1::new());
        // no rollup here: any contract's logs would do, but an empty chain must answer an empty round
        let w = PriorityWatcher::new(l1.clone(), Address::repeat_byte(7), 0, WatchConfig::default());
        let r = w.poll(None).await.unwrap();
        assert!(r.confirmed.is_empty() && r.unconfirmed.is_empty());
        assert_eq!(r.cursor.map(|c| c.block), Some(0));
        // a cursor whose block hash changed is a deep reorg
        let bogus = Cursor { block: 0, hash: B256::repeat_byte(1) };
        assert!(matches!(w.poll(Some(bogus)).await, Err(WatchError::DeepReorg { block: 0, .. })));
    }
}
