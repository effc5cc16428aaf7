//! The timestamps behind the sequencer's age gauges: how long the oldest transaction has waited in the mempool and
//! in the open batch, and how old the oldest sequenced transaction is that has not reached each stage (proven,
//! aggregated, finalized). The executor keeps them up to date as transactions arrive, batches seal and progress
//! comes in; the gauges are computed from them against the clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::types::BatchProgress;

/// The stages a sequenced transaction goes through after its batch is sealed, as the `stage` label names them.
pub(crate) const STAGES: [&str; 3] = ["proven", "aggregated", "finalized"];

fn reached(p: &BatchProgress) -> [bool; 3] {
    [p.proven, p.aggregated, p.finalized]
}

#[derive(Debug, Default)]
pub(crate) struct Ages {
    /// When each transaction waiting in the mempool was received (unix ms), as a multiset.
    mempool: BTreeMap<i64, usize>,
    /// When the oldest transaction of the open batch was received.
    open: Option<i64>,
    /// Per stage: (oldest transaction received, batch) of every sealed batch that has not reached it.
    pending: [BTreeSet<(i64, u64)>; 3],
    /// The oldest transaction received of every sealed batch that is not finalized (empty batches have none).
    batches: HashMap<u64, i64>,
    /// When the last batch was sealed.
    last_sealed_ms: Option<i64>,
}

impl Ages {
    /// A transaction received at `ms` waits in the mempool.
    pub fn mempool_add(&mut self, ms: i64) {
        *self.mempool.entry(ms).or_default() += 1;
    }

    /// A transaction received at `ms` left the mempool (executed or rejected).
    pub fn mempool_remove(&mut self, ms: i64) {
        if let Some(n) = self.mempool.get_mut(&ms) {
            *n -= 1;
            if *n == 0 {
                self.mempool.remove(&ms);
            }
        }
    }

    /// A transaction received at `ms` executed into the open batch.
    pub fn executed(&mut self, ms: i64) {
        self.open = Some(self.open.map_or(ms, |t| t.min(ms)));
    }

    /// The open batch was sealed as batch `number` at `sealed_ms`.
    pub fn sealed(&mut self, number: u64, sealed_ms: i64) {
        self.last_sealed_ms = Some(self.last_sealed_ms.map_or(sealed_ms, |t| t.max(sealed_ms)));
        if let Some(t) = self.open.take() {
            self.batches.insert(number, t);
            for set in &mut self.pending {
                set.insert((t, number));
            }
        }
    }

    /// At start: sealed batch `number` (its oldest transaction received at `oldest`, none if it is empty), sealed
    /// at `sealed_ms`, with the progress the store holds.
    pub fn restore_batch(&mut self, number: u64, oldest: Option<i64>, progress: BatchProgress, sealed_ms: i64) {
        self.last_sealed_ms = Some(self.last_sealed_ms.map_or(sealed_ms, |t| t.max(sealed_ms)));
        let Some(t) = oldest else { return };
        if progress.finalized {
            return;
        }
        self.batches.insert(number, t);
        for (set, done) in self.pending.iter_mut().zip(reached(&progress)) {
            if !done {
                set.insert((t, number));
            }
        }
    }

    /// Batch `number` has reached the stages `progress` says.
    pub fn progress(&mut self, number: u64, progress: BatchProgress) {
        let Some(&t) = self.batches.get(&number) else { return };
        for (set, done) in self.pending.iter_mut().zip(reached(&progress)) {
            if done {
                set.remove(&(t, number));
            }
        }
        if progress.finalized {
            self.batches.remove(&number);
        }
    }

    /// When the oldest transaction waiting in the mempool, and the oldest one in the open batch, were received.
    pub fn oldest_waiting(&self) -> (Option<i64>, Option<i64>) {
        (self.mempool.keys().next().copied(), self.open)
    }

    /// When the oldest sequenced transaction that has not reached `STAGES[stage]` was received (the open batch's
    /// transactions have reached none).
    pub fn not_reached_since(&self, stage: usize) -> Option<i64> {
        let sealed = self.pending[stage].first().map(|(t, _)| *t);
        match (sealed, self.open) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn last_sealed_ms(&self) -> Option<i64> {
        self.last_sealed_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(proven: bool, aggregated: bool, finalized: bool) -> BatchProgress {
        BatchProgress { proven, aggregated, finalized }
    }

    #[test]
    fn the_oldest_transaction_leaves_each_stage_as_its_batch_reaches_it() {
        let mut a = Ages::default();
        assert_eq!(a.not_reached_since(0), None);
        // two transactions into the open batch, then sealed as batch 0
        a.executed(1_000);
        a.executed(900);
        assert_eq!(a.oldest_waiting(), (None, Some(900)));
        a.sealed(0, 2_000);
        assert_eq!(a.oldest_waiting(), (None, None));
        assert_eq!(a.last_sealed_ms(), Some(2_000));
        // batch 1: one newer transaction
        a.executed(1_500);
        a.sealed(1, 2_500);
        // an empty batch adds nothing
        a.sealed(2, 2_600);
        assert_eq!([0, 1, 2].map(|s| a.not_reached_since(s)), [Some(900); 3]);
        // batch 0 proven: the proven lag moves to batch 1; the others stay
        a.progress(0, progress(true, false, false));
        assert_eq!([0, 1, 2].map(|s| a.not_reached_since(s)), [Some(1_500), Some(900), Some(900)]);
        // a waiting transaction in the open batch counts for every stage
        a.executed(1_200);
        assert_eq!(a.not_reached_since(0), Some(1_200));
        a.sealed(3, 3_000);
        // batch 0 finalized (aggregated with it): only later batches remain
        a.progress(0, progress(true, true, true));
        assert_eq!([0, 1, 2].map(|s| a.not_reached_since(s)), [Some(1_200), Some(1_200), Some(1_200)]);
        a.progress(3, progress(true, true, true));
        a.progress(1, progress(true, true, true));
        assert_eq!([0, 1, 2].map(|s| a.not_reached_since(s)), [None; 3]);
    }

    #[test]
    fn mempool_waits_are_counted_per_transaction() {
        let mut a = Ages::default();
        a.mempool_add(500);
        a.mempool_add(500);
        a.mempool_add(700);
        assert_eq!(a.oldest_waiting().0, Some(500));
        a.mempool_remove(500);
        assert_eq!(a.oldest_waiting().0, Some(500), "another transaction received at the same ms still waits");
        a.mempool_remove(500);
        assert_eq!(a.oldest_waiting().0, Some(700));
        a.mempool_remove(700);
        a.mempool_remove(700); // unknown: ignored
        assert_eq!(a.oldest_waiting().0, None);
    }

    #[test]
    fn a_restored_history_keeps_the_stages_it_had_not_reached() {
        let mut a = Ages::default();
        a.restore_batch(0, Some(100), progress(true, true, true), 1_000);
        a.restore_batch(1, Some(200), progress(true, false, false), 1_100);
        a.restore_batch(2, None, progress(false, false, false), 1_200);
        a.restore_batch(3, Some(300), progress(false, false, false), 1_300);
        assert_eq!(a.last_sealed_ms(), Some(1_300));
        assert_eq!([0, 1, 2].map(|s| a.not_reached_since(s)), [Some(300), Some(200), Some(200)]);
    }
}
