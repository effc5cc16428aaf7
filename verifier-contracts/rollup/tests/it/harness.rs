//! A deployed rollup (with the test verifier) in revm, plus a native L2 mirror that builds real batches.

use std::sync::OnceLock;

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{sol, SolCall, SolEvent};
use zkr_circuits::batch::{Batch, BatchBuilder};
use zkr_circuits::config::Digest;
use zkr_circuits::demo;
use zkr_circuits::schnorr::{PublicKey, SecretKey};
use zkr_circuits::state::State;
use zkr_circuits::tx::{SignedTx, Tx};
use zkr_evm::{compile_solidity, Artifact, CallOutcome, Evm, SolcSettings};
use zkr_rollup::calldata::{
    amount_wei, deposit_call, deposit_tx, forced_exit_call, forced_exit_tx, genesis_accounts, genesis_funding_wei,
    open_account_call,
};
use zkr_rollup::sources::{compile_rollup, deploy_code, RollupArtifacts};
use zkr_rollup::{decode_revert, pack_digest, EpochData, IZkrRollup};

sol! {
    contract TestVerifier {
        function accept(bytes calldata proof, uint256[24] calldata publicInputs) external;
        function setReverts(bool r) external;
        function setAcceptAll(bool a) external;
        function verifyProof(bytes calldata proof, uint256[24] calldata publicInputs) external view returns (bool);
    }
}

pub const GOVERNOR: usize = 0;
pub const GUARDIAN: usize = 1;
pub const OPERATOR: usize = 2;
/// Deposit expiry used by the fixture (seconds).
pub const EXPIRY: u64 = 3 * 24 * 3600;
/// Timelock delay used by the fixture (seconds): it must exceed the deposit expiry.
pub const DELAY: u64 = 4 * 24 * 3600;
/// Number of genesis accounts (ids 0..GENESIS).
pub const GENESIS: usize = 3;

pub fn addr(i: usize) -> Address {
    Evm::account(i)
}

/// The L1 address that owns genesis account `id` for exits.
pub fn genesis_owner(id: u32) -> Address {
    addr(7 + id as usize % 3)
}

struct Compiled {
    rollup: RollupArtifacts,
    verifier: Artifact,
}

fn compiled() -> &'static Compiled {
    static C: OnceLock<Compiled> = OnceLock::new();
    C.get_or_init(|| {
        let settings = SolcSettings::default();
        let rollup = compile_rollup(&settings).expect("the rollup compiles");
        let src = include_str!("../contracts/TestVerifier.sol").to_string();
        let arts = compile_solidity(&[("TestVerifier.sol".to_string(), src)], &settings).expect("test verifier");
        let verifier = Artifact::named(&arts, "TestVerifier").expect("TestVerifier artifact").clone();
        Compiled { rollup, verifier }
    })
}

/// Runtime code sizes of (ZkrRollup, ZkrPoseidon).
pub fn compiled_runtime_lens() -> (usize, usize) {
    let c = compiled();
    (c.rollup.rollup.runtime_code.len(), c.rollup.poseidon.runtime_code.len())
}

pub struct Fixture {
    pub evm: Evm,
    pub rollup: Address,
    pub verifier: Address,
    pub keys: Vec<SecretKey>,
    /// The L2 state as the sequencer holds it.
    pub state: State,
    pub batches_per_epoch: usize,
    pub capacity: usize,
    /// Deposits seen on L1 and not yet put in a batch, in priority order.
    pub queued: Vec<SignedTx>,
    /// Gas of the last successful call.
    pub last_gas: u64,
    /// The constructor's genesis accounts, as sent.
    pub genesis: Vec<IZkrRollup::GenesisAccount>,
    /// The calldata of every successful `commitEpoch`, in order: what anyone can read back from L1.
    pub l1_commits: Vec<Vec<u8>>,
}

impl Fixture {
    pub fn new(batches_per_epoch: usize, capacity: usize) -> Self {
        Self::deploy(batches_per_epoch, capacity, EXPIRY, DELAY, None).expect("deploy rollup")
    }

    /// Deploys with another priority expiry and timelock delay (the constructor may refuse them).
    pub fn try_new_with(priority_expiry: u64, timelock_delay: u64) -> Result<Self, String> {
        Self::deploy(1, 4, priority_expiry, timelock_delay, None)
    }

    /// Deploys sending `funding` wei instead of exactly what backs the genesis balances.
    pub fn try_new_funded(funding: U256) -> Result<Self, String> {
        Self::deploy(1, 4, EXPIRY, DELAY, Some(funding))
    }

    fn deploy(
        batches_per_epoch: usize,
        capacity: usize,
        expiry: u64,
        delay: u64,
        funding: Option<U256>,
    ) -> Result<Self, String> {
        let c = compiled();
        let mut evm = Evm::new();
        let verifier = evm.deploy(addr(GOVERNOR), c.verifier.creation_code.clone()).expect("deploy verifier");
        let poseidon = evm.deploy(addr(GOVERNOR), c.rollup.poseidon.creation_code.clone()).expect("deploy poseidon");
        let mut keys = demo::keys(11, GENESIS);
        let state = demo::genesis(&keys);
        // keys[GENESIS] is demo's spare key; a few more for accounts opened by deposits
        keys.extend(demo::keys(99, 3));
        let params = IZkrRollup::InitParams {
            governor: addr(GOVERNOR),
            guardian: addr(GUARDIAN),
            operator: addr(OPERATOR),
            verifier,
            poseidon,
            batchesPerEpoch: batches_per_epoch as u64,
            batchCapacity: capacity as u64,
            genesisRoot: pack_digest(&state.root()),
            genesisData: state.data_digest().into(),
            priorityExpiry: expiry,
            timelockDelay: delay,
            rollupId: state.domain().rollup_id,
            feeAccount: state.fee_account(),
        };
        let genesis = genesis_accounts(&state, genesis_owner).unwrap();
        let funding = funding.unwrap_or_else(|| genesis_funding_wei(&genesis));
        let out = evm
            .deploy_with_outcome(
                addr(GOVERNOR),
                deploy_code(&c.rollup.rollup.creation_code, &params, &genesis),
                funding,
            )
            .map_err(|e| format!("{e:#}"))?;
        let rollup = out.created.ok_or_else(|| {
            decode_revert(&out.output).map_or_else(|| format!("{:?}", out.failure), |e| format!("{e:?}"))
        })?;
        Ok(Fixture {
            evm,
            rollup,
            verifier,
            keys,
            state,
            batches_per_epoch,
            capacity,
            queued: Vec::new(),
            last_gas: 0,
            genesis,
            l1_commits: Vec::new(),
        })
    }

    pub fn call_value<C: SolCall>(&mut self, from: usize, call: &C, value: U256) -> CallOutcome {
        self.evm.call(addr(from), self.rollup, call.abi_encode(), value).expect("the EVM accepts the transaction")
    }

    /// A call that must succeed.
    pub fn ok<C: SolCall>(&mut self, from: usize, call: &C) -> CallOutcome {
        self.ok_value(from, call, U256::ZERO)
    }

    pub fn ok_value<C: SolCall>(&mut self, from: usize, call: &C, value: U256) -> CallOutcome {
        let out = self.call_value(from, call, value);
        assert!(out.success, "{} failed: {:?} / {:?}", C::SIGNATURE, out.failure, decode_revert(&out.output));
        self.last_gas = out.gas_used;
        if C::SELECTOR == IZkrRollup::commitEpochCall::SELECTOR {
            self.l1_commits.push(call.abi_encode());
        }
        out
    }

    /// A call that must revert with one of the rollup's custom errors.
    pub fn refused<C: SolCall>(&mut self, from: usize, call: &C) -> IZkrRollup::IZkrRollupErrors {
        self.refused_value(from, call, U256::ZERO)
    }

    pub fn refused_value<C: SolCall>(&mut self, from: usize, call: &C, value: U256) -> IZkrRollup::IZkrRollupErrors {
        let out = self.call_value(from, call, value);
        assert!(!out.success, "{} unexpectedly succeeded", C::SIGNATURE);
        decode_revert(&out.output)
            .unwrap_or_else(|| panic!("{} reverted without a rollup error: {:?}", C::SIGNATURE, out.failure))
    }

    pub fn view<C: SolCall>(&mut self, call: &C) -> C::Return {
        let out = self.evm.view(self.rollup, call.abi_encode()).expect("view");
        assert!(out.success, "{} view failed: {:?}", C::SIGNATURE, out.failure);
        C::abi_decode_returns(&out.output).expect("decodes")
    }

    pub fn advance(&mut self, seconds: u64) {
        let t = self.evm.timestamp();
        self.evm.set_timestamp(t + seconds);
    }

    /// `from` deposits `amount` units to `account_id` under key `key` (opening it with `openAccount` when the id is
    /// not registered yet: it must then be the id the contract assigns next); the L2 mirror queues the deposit from
    /// the contract's event. Returns the event.
    pub fn deposit(&mut self, from: usize, account_id: u32, key: usize, amount: u64) -> IZkrRollup::DepositQueued {
        let pk = self.keys[key].public_key();
        self.deposit_key(from, account_id, &pk, amount)
    }

    /// As [`Self::deposit`] with any key (one nobody can sign with included).
    pub fn deposit_key(
        &mut self,
        from: usize,
        account_id: u32,
        pk: &PublicKey,
        amount: u64,
    ) -> IZkrRollup::DepositQueued {
        let pk = *pk;
        let open = self.view(&IZkrRollup::accountInfoCall { accountId: account_id }).owner == Address::ZERO;
        let out = if open {
            let next = self.view(&IZkrRollup::nextAccountIdCall {});
            assert_eq!(next, account_id, "openAccount assigns {next}, the test expects {account_id}");
            self.ok_value(from, &open_account_call(&pk), amount_wei(amount))
        } else {
            self.ok_value(from, &deposit_call(account_id, &pk), amount_wei(amount))
        };
        let ev = out
            .logs
            .iter()
            .find_map(|l| IZkrRollup::DepositQueued::decode_log(l).ok())
            .expect("a DepositQueued event")
            .data;
        self.queued.push(SignedTx { tx: deposit_tx(&ev).unwrap(), signature: None });
        ev
    }

    /// `from` (the exit owner of `account_id`) requests its forced exit; the L2 mirror queues it from the event.
    pub fn forced_exit(&mut self, from: usize, account_id: u32) -> IZkrRollup::ForcedExitQueued {
        let out = self.ok(from, &forced_exit_call(account_id));
        let ev = out
            .logs
            .iter()
            .find_map(|l| IZkrRollup::ForcedExitQueued::decode_log(l).ok())
            .expect("a ForcedExitQueued event")
            .data;
        self.queued.push(SignedTx { tx: forced_exit_tx(&ev), signature: None });
        ev
    }

    /// Seals the next epoch from `txs` (signed L2 transactions, applied in order after any queued deposits when
    /// `with_deposits`), spread over `batches_per_epoch` batches of `capacity` slots.
    pub fn build_epoch(&mut self, epoch: u64, txs: Vec<Tx>, with_deposits: bool) -> (EpochData, Vec<Batch>) {
        // deposits come signed-less from L1; the rest is signed when applied (the signer may be opened by a
        // deposit earlier in the same epoch)
        let mut all: Vec<Result<SignedTx, Tx>> =
            if with_deposits { std::mem::take(&mut self.queued).into_iter().map(Ok).collect() } else { Vec::new() };
        all.extend(txs.into_iter().map(Err));
        assert!(all.len() <= self.batches_per_epoch * self.capacity, "too many transactions for one epoch");
        let mut it = all.into_iter();
        let mut batches = Vec::new();
        for _ in 0..self.batches_per_epoch {
            let mut b = BatchBuilder::new(self.capacity);
            for tx in it.by_ref().take(self.capacity) {
                let signed = tx.unwrap_or_else(|tx| {
                    let signer = match &tx {
                        Tx::Transfer(t) => t.from,
                        Tx::Withdraw(w) => w.from,
                        Tx::Deposit(_) | Tx::ForcedExit(_) => {
                            unreachable!("priority operations come from the L1 queue")
                        }
                    };
                    let key = self.key_of(signer);
                    tx.sign(&key, &self.state.domain())
                });
                b.push(&mut self.state, &signed).expect("valid L2 transaction");
            }
            batches.push(b.seal(&mut self.state));
        }
        (EpochData::from_batches(epoch, &batches).unwrap(), batches)
    }

    /// The secret key that controls account `id` (genesis accounts and accounts opened with a fixture key).
    pub fn key_of(&self, id: u32) -> SecretKey {
        let pk = self.state.account(id).expect("known account").pubkey;
        self.keys.iter().find(|k| k.public_key() == pk).expect("a fixture key").clone()
    }

    /// Registers `proof` for the epoch's natively computed statement with the test verifier.
    pub fn accept(&mut self, data: &EpochData, proof: &[u8]) {
        let call =
            TestVerifier::acceptCall { proof: Bytes::from(proof.to_vec()), publicInputs: data.public_input_words() };
        let out = self.evm.call(addr(GOVERNOR), self.verifier, call.abi_encode(), U256::ZERO).unwrap();
        assert!(out.success, "accept failed: {:?}", out.failure);
    }

    pub fn set_verifier_accept_all(&mut self, a: bool) {
        let call = TestVerifier::setAcceptAllCall { a };
        let out = self.evm.call(addr(GOVERNOR), self.verifier, call.abi_encode(), U256::ZERO).unwrap();
        assert!(out.success);
    }

    pub fn set_verifier_reverts(&mut self, r: bool) {
        let call = TestVerifier::setRevertsCall { r };
        let out = self.evm.call(addr(GOVERNOR), self.verifier, call.abi_encode(), U256::ZERO).unwrap();
        assert!(out.success);
    }

    /// commit → prove → execute with a proof the test verifier accepts.
    pub fn settle(&mut self, data: &EpochData) {
        self.ok(OPERATOR, &data.commit_call());
        let proof = proof_bytes(data.epoch);
        self.accept(data, &proof);
        self.ok(OPERATOR, &data.prove_call(proof));
        self.ok(OPERATOR, &data.execute_call());
    }

    pub fn executed_root(&mut self) -> alloy_primitives::B256 {
        self.view(&IZkrRollup::executedRootCall {})
    }

    pub fn pending(&mut self, who: Address) -> U256 {
        self.view(&IZkrRollup::pendingWithdrawalsCall { account: who })
    }
}

/// Stand-in proof bytes for an epoch.
pub fn proof_bytes(epoch: u64) -> Vec<u8> {
    format!("wrap proof of epoch {epoch}").into_bytes()
}

pub fn packed(d: &Digest) -> alloy_primitives::B256 {
    pack_digest(d)
}
