//! An L1 inside the process: zkr-evm's revm chain, one block per transaction (instant "mining").

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use async_trait::async_trait;
use zkr_evm::{CallOutcome, Evm};

use crate::chain::{ChainLog, Receipt, L1};
use crate::error::{describe_revert, L1Error};

/// Chain id of the in-process L1 (its EVM's `block.chainid`; hardhat's, so deployment records look alike).
pub const IN_PROCESS_CHAIN_ID: u64 = zkr_evm::CHAIN_ID;

struct Chain {
    evm: Evm,
    /// Number of the latest mined block (0 = genesis, nothing mined yet).
    head: u64,
    receipts: HashMap<B256, Receipt>,
    /// Transactions sent so far (mixed into synthetic transaction hashes).
    sent: u64,
    /// Runtime code of the contracts deployed through this L1 (zkr-evm exposes no code lookup).
    code: HashMap<Address, Vec<u8>>,
    /// Block `i + 1`: its hash and its one transaction.
    blocks: Vec<(B256, B256)>,
}

type Job = Box<dyn FnOnce(&mut Chain) + Send>;

/// [`L1`] over [`zkr_evm::Evm`]: every transaction (reverted ones included) mines its own block, so a
/// transaction has 1 confirmation when `send` returns and one more per later transaction.
///
/// revm's EVM is not `Send`, so it lives on a thread of its own and calls are jobs sent to it (each is short:
/// callers block on the reply).
pub struct InProcessL1 {
    jobs: mpsc::Sender<Job>,
    sender: Address,
}

impl std::fmt::Debug for InProcessL1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessL1").field("sender", &self.sender).finish_non_exhaustive()
    }
}

impl Default for InProcessL1 {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessL1 {
    /// A fresh chain; transactions are sent from the funded `Evm::account(0)`.
    pub fn new() -> Self {
        Self::with_evm_and_sender(Evm::new, Evm::account(0))
    }

    /// Over the EVM `make_evm` builds (on the EVM's thread), sending from `sender` (which must hold funds for any
    /// value it sends).
    pub fn with_evm_and_sender(make_evm: impl FnOnce() -> Evm + Send + 'static, sender: Address) -> Self {
        let (jobs, inbox) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("zkr-in-process-l1".into())
            .spawn(move || {
                let mut chain = Chain {
                    evm: make_evm(),
                    head: 0,
                    receipts: HashMap::new(),
                    sent: 0,
                    code: HashMap::new(),
                    blocks: Vec::new(),
                };
                // Ends when the InProcessL1 (the only sender of jobs) is dropped.
                while let Ok(job) = inbox.recv() {
                    job(&mut chain);
                }
            })
            .expect("spawning the in-process L1 thread");
        InProcessL1 { jobs, sender }
    }

    /// Direct access to the EVM (other senders, balances, clock). Transactions made here mine no block of this
    /// L1 and have no receipt in it; `code_at` only knows contracts deployed through [`L1::deploy`].
    pub fn with_evm<R: Send + 'static>(&self, f: impl FnOnce(&mut Evm) -> R + Send + 'static) -> R {
        self.run(move |chain| f(&mut chain.evm))
    }

    fn run<R: Send + 'static>(&self, f: impl FnOnce(&mut Chain) -> R + Send + 'static) -> R {
        let (reply, answer) = mpsc::channel();
        let job: Job = Box::new(move |chain| {
            let _ = reply.send(f(chain));
        });
        // The thread only stops when `self` is dropped, or when a job panicked (a bug in the EVM: re-raise it).
        self.jobs.send(job).expect("the in-process L1 thread stopped");
        answer.recv().expect("the in-process L1 thread stopped")
    }

    /// Mines one block holding one transaction and records its receipt.
    fn mine(&self, to: Option<Address>, data: Vec<u8>, value: U256) -> Result<(Receipt, CallOutcome), L1Error> {
        let sender = self.sender;
        self.run(move |chain| Self::mine_on(chain, sender, to, data, value))
    }

    fn mine_on(
        chain: &mut Chain,
        sender: Address,
        to: Option<Address>,
        data: Vec<u8>,
        value: U256,
    ) -> Result<(Receipt, CallOutcome), L1Error> {
        let block = chain.head + 1;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let timestamp = now.max(chain.evm.timestamp() + 1);
        chain.evm.set_block_number(block);
        chain.evm.set_timestamp(timestamp);
        let mut hash_input = Vec::with_capacity(100 + data.len());
        hash_input.extend_from_slice(sender.as_slice());
        hash_input.extend_from_slice(&chain.sent.to_be_bytes());
        hash_input.extend_from_slice(&block.to_be_bytes());
        hash_input.extend_from_slice(&value.to_be_bytes::<32>());
        if let Some(to) = &to {
            hash_input.extend_from_slice(to.as_slice());
        }
        hash_input.extend_from_slice(&data);
        let tx_hash = keccak256(hash_input);
        let outcome = match to {
            Some(to) => chain.evm.call(sender, to, data, value),
            None => chain.evm.deploy_with_outcome(sender, data, value),
        }
        .map_err(|e| L1Error::Evm { reason: e.to_string() })?;
        chain.head = block;
        chain.sent += 1;
        let receipt = Receipt {
            tx_hash,
            block_number: block,
            gas_used: outcome.gas_used,
            success: outcome.success,
            logs: outcome.logs.clone(),
            contract_address: outcome.created,
        };
        chain.receipts.insert(tx_hash, receipt.clone());
        // this chain never reorganises: a block's hash only has to be unique
        let mut block_input = b"zkr in-process block".to_vec();
        block_input.extend_from_slice(&block.to_be_bytes());
        block_input.extend_from_slice(tx_hash.as_slice());
        chain.blocks.push((keccak256(block_input), tx_hash));
        if let Some(created) = outcome.created {
            chain.code.insert(created, outcome.output.clone());
        }
        Ok((receipt, outcome))
    }

    fn check(receipt: Receipt, outcome: CallOutcome, to: Option<Address>) -> Result<Receipt, L1Error> {
        if receipt.success {
            return Ok(receipt);
        }
        let reason = match outcome.failure {
            Some(f) if outcome.output.is_empty() => f,
            _ => describe_revert(&outcome.output),
        };
        Err(L1Error::Reverted { tx_hash: Some(receipt.tx_hash), to, data: Bytes::from(outcome.output), reason })
    }
}

#[async_trait]
impl L1 for InProcessL1 {
    async fn chain_id(&self) -> Result<u64, L1Error> {
        Ok(IN_PROCESS_CHAIN_ID)
    }

    fn sender(&self) -> Address {
        self.sender
    }

    async fn deploy(&self, creation_code: Vec<u8>, value: U256) -> Result<Receipt, L1Error> {
        let (receipt, outcome) = self.mine(None, creation_code, value)?;
        let tx_hash = receipt.tx_hash;
        let receipt = Self::check(receipt, outcome, None)?;
        if receipt.contract_address.is_none() {
            return Err(L1Error::NoContract { tx_hash });
        }
        Ok(receipt)
    }

    async fn send(&self, to: Address, calldata: Vec<u8>, value: U256) -> Result<Receipt, L1Error> {
        let (receipt, outcome) = self.mine(Some(to), calldata, value)?;
        Self::check(receipt, outcome, Some(to))
    }

    async fn call(&self, to: Address, calldata: Vec<u8>) -> Result<Vec<u8>, L1Error> {
        let outcome =
            self.run(move |c| c.evm.view(to, calldata)).map_err(|e| L1Error::Evm { reason: e.to_string() })?;
        if outcome.success {
            return Ok(outcome.output);
        }
        let reason = describe_revert(&outcome.output);
        Err(L1Error::Reverted { tx_hash: None, to: Some(to), data: Bytes::from(outcome.output), reason })
    }

    async fn block_number(&self) -> Result<u64, L1Error> {
        Ok(self.run(|c| c.head))
    }

    async fn receipt(&self, tx_hash: B256) -> Result<Option<Receipt>, L1Error> {
        Ok(self.run(move |c| c.receipts.get(&tx_hash).cloned()))
    }

    async fn code_at(&self, address: Address) -> Result<Vec<u8>, L1Error> {
        Ok(self.run(move |c| c.code.get(&address).cloned().unwrap_or_default()))
    }

    async fn balance(&self, address: Address) -> Result<U256, L1Error> {
        Ok(self.run(move |c| c.evm.balance(address)))
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, L1Error> {
        Ok(self.run(move |c| match number {
            0 => Some(B256::ZERO),
            n => c.blocks.get(n as usize - 1).map(|b| b.0),
        }))
    }

    async fn logs(&self, address: Address, topics0: &[B256], from: u64, to: u64) -> Result<Vec<ChainLog>, L1Error> {
        let topics0 = topics0.to_vec();
        Ok(self.run(move |c| {
            let mut out = Vec::new();
            let (first, last) = (from.max(1), to.min(c.head));
            for number in first..=last {
                let (block_hash, tx_hash) = c.blocks[number as usize - 1];
                let Some(r) = c.receipts.get(&tx_hash) else { continue };
                for (i, log) in r.logs.iter().enumerate() {
                    let topic0 = log.data.topics().first();
                    if log.address == address && topic0.is_some_and(|t| topics0.contains(t)) {
                        let log_index = i as u64;
                        out.push(ChainLog { block_number: number, block_hash, tx_hash, log_index, log: log.clone() });
                    }
                }
            }
            out
        }))
    }
}
