//! Random valid batches from funded genesis accounts: for the CLI, benches and tests.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use zkr_ecgfp5::schnorr::{PublicKey, SecretKey};

use crate::batch::{Batch, BatchBuilder};
use crate::state::State;
use crate::tx::{Deposit, ForcedExit, Transfer, Tx, Withdraw};

/// Balance of every genesis account.
pub const GENESIS_FUNDS: u64 = 1_000_000;

/// Deterministic keys for `n` genesis accounts plus one spare key (for deposits that
/// open a new account).
pub fn keys(seed: u64, n: usize) -> Vec<SecretKey> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..=n).map(|_| SecretKey::random(&mut rng)).collect()
}

/// Genesis state: `keys[i]` owns account `i` with [`GENESIS_FUNDS`] (the spare key owns nothing).
pub fn genesis(keys: &[SecretKey]) -> State {
    let n = keys.len().saturating_sub(1);
    let g: Vec<(PublicKey, u64)> = keys[..n].iter().map(|k| (k.public_key(), GENESIS_FUNDS)).collect();
    State::genesis(&g)
}

/// Which kinds of transaction a random batch may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    /// Transfers only (the common case, and what `zkr bench` measures per tx).
    Transfers,
    /// Transfers, withdrawals, deposits (to new and existing accounts, now and then with a key nobody can sign with,
    /// which is refunded) and forced exits (of the account deposits open, so genesis accounts keep funds).
    All,
}

/// A random valid batch of `n_txs` transactions (at most `capacity`) applied to `state`.
pub fn random_batch(
    rng: &mut ChaCha20Rng,
    keys: &[SecretKey],
    state: &mut State,
    capacity: usize,
    n_txs: usize,
    mix: Mix,
) -> Batch {
    assert!(n_txs <= capacity, "more transactions than batch capacity");
    let accounts = (keys.len() - 1) as u32;
    assert!(accounts >= 2, "need at least two genesis accounts");
    let spare = accounts + 1000;
    let mut builder = BatchBuilder::new(capacity);
    let mut priority_id = rng.gen_range(0..1u64 << 40);
    while builder.len() < n_txs {
        let from = rng.gen_range(0..accounts);
        let nonce = state.account(from).map_or(0, |a| a.nonce);
        let amount = rng.gen_range(1..=100);
        // fees go to account 0 (the genesis fee account)
        let fee = rng.gen_range(0..=3);
        let kind = if mix == Mix::Transfers { 0 } else { rng.gen_range(0..4) };
        let tx = match kind {
            0 => {
                let to = (from + rng.gen_range(1..accounts)) % accounts;
                Tx::Transfer(Transfer { from, to, amount, fee, nonce })
            }
            1 => Tx::Withdraw(Withdraw { from, l1_address: rng.gen(), amount, fee, nonce }),
            2 => {
                priority_id += 1;
                let (to, pubkey) = match rng.gen_range(0..5) {
                    0 => (spare + 1, unusable_key(rng)),
                    1 | 2 => (from, keys[from as usize].public_key()),
                    _ => (spare, keys[accounts as usize].public_key()),
                };
                Tx::Deposit(Deposit { priority_id, to, pubkey, amount })
            }
            _ => {
                priority_id += 1;
                Tx::ForcedExit(ForcedExit { priority_id, account: spare, l1_address: rng.gen() })
            }
        };
        let domain = state.domain();
        builder.push(state, &tx.sign(&keys[from as usize], &domain)).expect("generated transactions are valid");
    }
    builder.seal(state)
}

/// A random key of five canonical elements that encodes no group element (about half of all values).
fn unusable_key(rng: &mut ChaCha20Rng) -> PublicKey {
    loop {
        let k = PublicKey::from_fields(std::array::from_fn(|_| {
            plonky2::field::types::Field::from_canonical_u64(rng.gen_range(0..0xFFFF_FFFF_0000_0001))
        }));
        if k.point().is_err() {
            return k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_batches_apply_and_pad() {
        let ks = keys(3, 4);
        let mut s = genesis(&ks);
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        for _ in 0..5 {
            let before = s.root();
            let b = random_batch(&mut rng, &ks, &mut s, 4, 3, Mix::All);
            assert_eq!(b.capacity(), 4);
            assert_eq!(b.num_txs(), 3);
            let pi = b.public_inputs();
            assert_eq!(pi.old_root, before);
            assert_eq!(pi.new_root, s.root());
        }
    }
}
