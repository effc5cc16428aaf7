//! The escape hatch's first half: the L2 state rebuilt from L1 data alone (the genesis accounts given to the
//! constructor and the pubdata of every executed `commitEpoch`), checked against the roots the contract stores, so a
//! user can prove its account for `exit` without the operator or its databases.

use alloy_primitives::B256;
use alloy_sol_types::SolCall;
use plonky2::field::types::{Field, Field64};
use thiserror::Error;
use zkr_circuits::config::F;
use zkr_circuits::pubdata::ReplayPubdataError;
use zkr_circuits::schnorr::PublicKey;
use zkr_circuits::state::{Account, State};
use zkr_circuits::tx::MAX_AMOUNT;

use crate::calldata::{exit_call, pack_digest};
use crate::IZkrRollup;

/// Why the state could not be rebuilt.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RebuildError {
    #[error("genesis account {index}: {what}")]
    Genesis { index: usize, what: &'static str },
    #[error("not a commitEpoch call: {reason}")]
    NotACommit { reason: String },
    #[error("epoch {got} committed after epoch {last}: expected epoch {expected}", expected = last + 1)]
    EpochOrder { last: u64, got: u64 },
    #[error("epoch {epoch} starts at root {got}, but the rebuilt state is at {expected}")]
    OldRoot { epoch: u64, expected: B256, got: B256 },
    #[error("epoch {epoch}, batch {batch}: {source}")]
    Replay {
        epoch: u64,
        batch: usize,
        #[source]
        source: ReplayPubdataError,
    },
    #[error("epoch {epoch} ends at root {rebuilt} when replayed, but its commit claims {committed}")]
    NewRoot { epoch: u64, rebuilt: B256, committed: B256 },
    #[error("account {account} is empty in the rebuilt state: nothing to exit")]
    NoAccount { account: u32 },
    #[error(transparent)]
    Exit(#[from] crate::calldata::L1Error),
}

/// A state rebuilt epoch by epoch from L1 data.
#[derive(Clone, Debug)]
pub struct Rebuilder {
    state: State,
    epoch: u64,
}

impl Rebuilder {
    /// The genesis state from the constructor's `genesisAccounts` (ids 0, 1, …) and its `feeAccount`.
    pub fn from_genesis(accounts: &[IZkrRollup::GenesisAccount], fee_account: u32) -> Result<Self, RebuildError> {
        let mut g = Vec::with_capacity(accounts.len());
        for (index, a) in accounts.iter().enumerate() {
            if a.pubkey.iter().any(|&w| w >= F::ORDER) {
                return Err(RebuildError::Genesis { index, what: "a public key element is not canonical" });
            }
            if a.balance > MAX_AMOUNT {
                return Err(RebuildError::Genesis { index, what: "the balance exceeds the maximum" });
            }
            g.push((PublicKey::from_fields(a.pubkey.map(F::from_canonical_u64)), a.balance));
        }
        Ok(Self { state: State::genesis(&g).with_fee_account(fee_account), epoch: 0 })
    }

    /// Applies the calldata of the `commitEpoch` transaction of the next epoch (the last commit of that epoch: an
    /// epoch reverted and committed again counts once, as finally committed). Returns the epoch's new root, which
    /// the caller should compare with the contract's `epochInfo(epoch).newRoot` (`executedRoot()` for the last
    /// executed epoch).
    pub fn apply_commit_calldata(&mut self, input: &[u8]) -> Result<B256, RebuildError> {
        let call = IZkrRollup::commitEpochCall::abi_decode(input)
            .map_err(|e| RebuildError::NotACommit { reason: e.to_string() })?;
        self.apply_commit(&call.c)
    }

    /// As [`Self::apply_commit_calldata`], from the decoded commit.
    pub fn apply_commit(&mut self, c: &IZkrRollup::EpochCommit) -> Result<B256, RebuildError> {
        if c.epoch != self.epoch + 1 {
            return Err(RebuildError::EpochOrder { last: self.epoch, got: c.epoch });
        }
        let epoch = c.epoch;
        let root = pack_digest(&self.state.root());
        if c.oldRoot != root {
            return Err(RebuildError::OldRoot { epoch, expected: root, got: c.oldRoot });
        }
        // replay on a copy: a bad epoch leaves the rebuilt state where it was
        let mut state = self.state.clone();
        for (batch, data) in c.pubdata.iter().enumerate() {
            state.replay_pubdata(data).map_err(|source| RebuildError::Replay { epoch, batch, source })?;
        }
        let rebuilt = pack_digest(&state.root());
        if rebuilt != c.newRoot {
            return Err(RebuildError::NewRoot { epoch, rebuilt, committed: c.newRoot });
        }
        self.state = state;
        self.epoch = epoch;
        Ok(rebuilt)
    }

    /// The last epoch applied (0: genesis).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// The packed root of the rebuilt state.
    pub fn root(&self) -> B256 {
        pack_digest(&self.state.root())
    }

    /// The `exit` call for `account` against the rebuilt state (rebuild up to the last executed epoch first).
    pub fn exit_call(&self, account: u32) -> Result<IZkrRollup::exitCall, RebuildError> {
        let acct: Account = *self.state.account(account).ok_or(RebuildError::NoAccount { account })?;
        Ok(exit_call(account, &acct, &self.state.proof(account))?)
    }
}
