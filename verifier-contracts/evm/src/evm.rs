//! An in-process EVM (revm, default spec = Osaka) over an in-memory database.

use alloy_primitives::{Address, Bytes, Log, TxKind, U256};
use revm::context::result::{ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainnetEvm};
use revm::state::AccountInfo;
use revm::{Database, MainContext};

type Ctx = Context<BlockEnv, TxEnv, CfgEnv, CacheDB<EmptyDB>>;

/// The chain id the EVM runs as (`block.chainid`), a local devnet's, as a hardhat node's.
pub const CHAIN_ID: u64 = 31337;

/// Osaka's per-transaction gas cap (EIP-7825): 2^24.
pub const TX_GAS_CAP: u64 = 1 << 24;

/// Funded test accounts.
const NUM_ACCOUNTS: usize = 10;

/// What one call did.
#[derive(Clone, Debug)]
pub struct CallOutcome {
    /// False when the call reverted or halted.
    pub success: bool,
    /// Return data (or revert data).
    pub output: Vec<u8>,
    /// Gas the transaction used, as a receipt reports it (intrinsic and calldata costs included).
    pub gas_used: u64,
    pub logs: Vec<Log>,
    /// Address of a created contract.
    pub created: Option<Address>,
    /// Why it failed, in words (revert reason decoded when it is an `Error(string)`).
    pub failure: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    #[error("the EVM refused the transaction from {from}: {reason}")]
    Rejected { from: Address, reason: String },
    #[error("deployment failed: {reason}")]
    Deploy { reason: String },
}

/// An in-memory chain with funded accounts; state persists across calls.
pub struct Evm {
    evm: MainnetEvm<Ctx>,
}

impl std::fmt::Debug for Evm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evm").finish_non_exhaustive()
    }
}

impl Default for Evm {
    fn default() -> Self {
        Self::new()
    }
}

impl Evm {
    /// A fresh chain: accounts 0..10 hold 10^24 wei each; mainnet rules, EIP-170's 24,576-byte code limit
    /// and EIP-3860's initcode limit included.
    pub fn new() -> Self {
        Self::build(false)
    }

    /// As [`Evm::new`] with the code size limits lifted: for tests of code fragments that are never deployed
    /// alone on a real chain.
    pub fn unlimited() -> Self {
        Self::build(true)
    }

    fn build(unlimited: bool) -> Self {
        let mut db = CacheDB::new(EmptyDB::new());
        for i in 0..NUM_ACCOUNTS {
            db.insert_account_info(
                Self::account(i),
                AccountInfo { balance: U256::from(10u64).pow(U256::from(24u64)), ..Default::default() },
            );
        }
        let ctx = Context::mainnet()
            .with_db(db)
            .modify_cfg_chained(|cfg| {
                cfg.chain_id = CHAIN_ID;
                if unlimited {
                    cfg.limit_contract_code_size = Some(usize::MAX);
                    cfg.limit_contract_initcode_size = Some(usize::MAX);
                }
            })
            .modify_block_chained(|b| {
                b.number = U256::from(1u64);
                b.timestamp = U256::from(1_700_000_000u64);
                b.gas_limit = 60_000_000;
                // Zero base fee: test transactions pay no gas price.
                b.basefee = 0;
            });
        Evm { evm: ctx.build_mainnet() }
    }

    /// Funded test account `i` (0..10).
    pub fn account(i: usize) -> Address {
        let mut b = [0u8; 20];
        b[0] = 0x10;
        b[19] = i as u8 + 1;
        Address::from(b)
    }

    fn nonce(&mut self, who: Address) -> u64 {
        self.evm.ctx.journaled_state.database.basic(who).ok().flatten().map(|a| a.nonce).unwrap_or(0)
    }

    /// Balance of an account.
    pub fn balance(&mut self, who: Address) -> U256 {
        self.evm.ctx.journaled_state.database.basic(who).ok().flatten().map(|a| a.balance).unwrap_or_default()
    }

    pub fn set_timestamp(&mut self, t: u64) {
        self.evm.ctx.block.timestamp = U256::from(t);
    }

    pub fn timestamp(&self) -> u64 {
        self.evm.ctx.block.timestamp.saturating_to()
    }

    pub fn set_block_number(&mut self, n: u64) {
        self.evm.ctx.block.number = U256::from(n);
    }

    pub fn block_number(&self) -> u64 {
        self.evm.ctx.block.number.saturating_to()
    }

    fn tx(&mut self, from: Address, kind: TxKind, data: Vec<u8>, value: U256) -> Result<TxEnv, EvmError> {
        let nonce = self.nonce(from);
        TxEnv::builder()
            .caller(from)
            .kind(kind)
            .data(Bytes::from(data))
            .value(value)
            .nonce(nonce)
            .gas_limit(TX_GAS_CAP)
            .gas_price(0)
            .chain_id(Some(CHAIN_ID))
            .build()
            .map_err(|e| EvmError::Rejected { from, reason: format!("{e:?}") })
    }

    fn outcome(result: ExecutionResult) -> CallOutcome {
        let gas_used = result.tx_gas_used();
        match result {
            ExecutionResult::Success { logs, output, .. } => {
                let created = match &output {
                    Output::Create(_, addr) => *addr,
                    Output::Call(_) => None,
                };
                CallOutcome { success: true, output: output.data().to_vec(), gas_used, logs, created, failure: None }
            }
            ExecutionResult::Revert { logs, output, .. } => CallOutcome {
                success: false,
                failure: Some(describe_revert(&output)),
                output: output.to_vec(),
                gas_used,
                logs,
                created: None,
            },
            ExecutionResult::Halt { reason, logs, .. } => CallOutcome {
                success: false,
                output: Vec::new(),
                gas_used,
                logs,
                created: None,
                failure: Some(format!("halted: {reason:?}")),
            },
        }
    }

    /// Deploys creation code (constructor arguments appended) from `from`.
    pub fn deploy(&mut self, from: Address, creation_code: Vec<u8>) -> Result<Address, EvmError> {
        let out = self.deploy_with_outcome(from, creation_code, U256::ZERO)?;
        out.created.ok_or_else(|| EvmError::Deploy { reason: out.failure.unwrap_or_else(|| "no address".into()) })
    }

    /// Deploys and returns the whole outcome (gas used included).
    pub fn deploy_with_outcome(
        &mut self,
        from: Address,
        creation_code: Vec<u8>,
        value: U256,
    ) -> Result<CallOutcome, EvmError> {
        let tx = self.tx(from, TxKind::Create, creation_code, value)?;
        let r = self.evm.transact_commit(tx).map_err(|e| EvmError::Rejected { from, reason: format!("{e:?}") })?;
        Ok(Self::outcome(r))
    }

    /// Sends a transaction and commits its effects (a revert commits nothing but the nonce and gas).
    pub fn call(
        &mut self,
        from: Address,
        to: Address,
        calldata: Vec<u8>,
        value: U256,
    ) -> Result<CallOutcome, EvmError> {
        let tx = self.tx(from, TxKind::Call(to), calldata, value)?;
        let r = self.evm.transact_commit(tx).map_err(|e| EvmError::Rejected { from, reason: format!("{e:?}") })?;
        Ok(Self::outcome(r))
    }

    /// Runs a call without committing anything (like `eth_call`).
    pub fn view(&mut self, to: Address, calldata: Vec<u8>) -> Result<CallOutcome, EvmError> {
        let from = Self::account(NUM_ACCOUNTS - 1);
        let tx = self.tx(from, TxKind::Call(to), calldata, U256::ZERO)?;
        let r = self.evm.transact(tx).map_err(|e| EvmError::Rejected { from, reason: format!("{e:?}") })?;
        Ok(Self::outcome(r.result))
    }

    /// As [`Evm::view`], counting the gas of every opcode executed (for benchmarks: slower than a view).
    pub fn profile_view(&mut self, to: Address, calldata: Vec<u8>) -> Result<GasProfile, EvmError> {
        use revm::InspectEvm;
        let from = Self::account(NUM_ACCOUNTS - 1);
        let tx = self.tx(from, TxKind::Call(to), calldata, U256::ZERO)?;
        let mut evm = self.evm.ctx.clone().build_mainnet_with_inspector(OpcodeGas::default());
        let r = evm.inspect_one_tx(tx).map_err(|e| EvmError::Rejected { from, reason: format!("{e:?}") })?;
        let insp = &evm.inspector;
        let by_opcode =
            insp.counts.iter().enumerate().filter(|(_, c)| c.0 > 0).map(|(op, &(n, gas))| (op as u8, n, gas)).collect();
        Ok(GasProfile {
            outcome: Self::outcome(r),
            by_opcode,
            by_depth: insp.by_depth.clone(),
            by_contract: insp.by_contract.clone(),
        })
    }
}

/// Where a call's gas went, opcode by opcode (execution only: the intrinsic and calldata costs are
/// `gas_used` minus the sum of `by_opcode`, less the gas the calls forward, which is counted in the callee).
#[derive(Clone, Debug)]
pub struct GasProfile {
    pub outcome: CallOutcome,
    /// (executions, gas) per opcode, over every call depth; CALL-family opcodes count their own cost only.
    pub by_opcode: Vec<(u8, u64, u64)>,
    /// Execution gas per call depth (1: the called contract).
    pub by_depth: Vec<u64>,
    /// Execution gas per contract whose code ran, in order of first execution.
    pub by_contract: Vec<(Address, u64)>,
}

#[derive(Default)]
struct OpcodeGas {
    counts: Vec<(u64, u64)>,
    by_depth: Vec<u64>,
    by_contract: Vec<(Address, u64)>,
    /// (opcode, gas remaining before it, depth, contract) of the step in progress.
    pending: Vec<(u8, u64, usize, Address)>,
}

impl<CTX: revm::context_interface::ContextTr, INTR: revm::interpreter::InterpreterTypes> revm::Inspector<CTX, INTR>
    for OpcodeGas
{
    fn step(&mut self, interp: &mut revm::interpreter::Interpreter<INTR>, ctx: &mut CTX) {
        use revm::context_interface::JournalTr;
        use revm::interpreter::interpreter_types::{InputsTr, Jumps};
        let code = interp.input.bytecode_address().copied().unwrap_or_else(|| interp.input.target_address());
        self.pending.push((interp.bytecode.opcode(), interp.gas.remaining(), ctx.journal_ref().depth(), code));
    }

    fn step_end(&mut self, interp: &mut revm::interpreter::Interpreter<INTR>, _ctx: &mut CTX) {
        let Some((op, before, depth, code)) = self.pending.pop() else { return };
        // A call's step ends before its callee runs, with the forwarded gas still deducted; the callee's steps
        // count that gas, so a call here counts nothing but one execution.
        let gas = if matches!(op, 0xf1 | 0xf2 | 0xf4 | 0xfa | 0xf0 | 0xf5) {
            0
        } else {
            before.saturating_sub(interp.gas.remaining())
        };
        if self.counts.is_empty() {
            self.counts = vec![(0, 0); 256];
        }
        self.counts[op as usize].0 += 1;
        self.counts[op as usize].1 += gas;
        if self.by_depth.len() <= depth {
            self.by_depth.resize(depth + 1, 0);
        }
        self.by_depth[depth] += gas;
        match self.by_contract.iter_mut().find(|(a, _)| *a == code) {
            Some(c) => c.1 += gas,
            None => self.by_contract.push((code, gas)),
        }
    }
}

/// Decodes `Error(string)` revert data; otherwise shows the raw bytes (a custom error's selector and arguments).
fn describe_revert(data: &[u8]) -> String {
    const ERROR_STRING: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];
    if data.len() >= 68 && data[..4] == ERROR_STRING {
        let len = U256::from_be_slice(&data[36..68]).saturating_to::<usize>();
        if let Some(s) = data.get(68..68 + len) {
            return format!("reverted: {}", String::from_utf8_lossy(s));
        }
    }
    if data.is_empty() {
        "reverted without data".to_string()
    } else {
        format!("reverted with 0x{}", hex::encode(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compile_solidity, compile_yul, SolcSettings};

    const COUNTER: &str = r#"
        // SPDX-License-Identifier: MIT
        pragma solidity ^0.8.28;
        contract Counter {
            uint256 public n;
            event Bumped(uint256 n);
            function bump(uint256 by) external payable { require(by < 100, "too big"); n += by; emit Bumped(n); }
        }
    "#;

    fn word(x: u64) -> Vec<u8> {
        U256::from(x).to_be_bytes::<32>().to_vec()
    }

    #[test]
    fn solidity_deploy_call_revert_and_view() {
        let arts = compile_solidity(&[("Counter.sol".into(), COUNTER.into())], &SolcSettings::default()).unwrap();
        let c = crate::Artifact::named(&arts, "Counter").unwrap();
        let mut evm = Evm::new();
        let me = Evm::account(0);
        let addr = evm.deploy(me, c.creation_code.clone()).unwrap();
        // bump(uint256) selector = keccak("bump(uint256)")[..4]
        let sel = alloy_primitives::keccak256("bump(uint256)")[..4].to_vec();
        let ok = evm.call(me, addr, [sel.clone(), word(5)].concat(), U256::from(7u64)).unwrap();
        assert!(ok.success, "{:?}", ok.failure);
        assert_eq!(ok.logs.len(), 1);
        assert!(ok.gas_used > 21_000);
        let bad = evm.call(me, addr, [sel, word(500)].concat(), U256::ZERO).unwrap();
        assert!(!bad.success);
        assert_eq!(bad.failure.as_deref(), Some("reverted: too big"));
        let n = evm.view(addr, alloy_primitives::keccak256("n()")[..4].to_vec()).unwrap();
        assert_eq!(n.output, word(5));
        assert_eq!(evm.balance(addr), U256::from(7u64));
    }

    #[test]
    fn yul_object_runs() {
        let src = r#"object "A" { code { datacopy(0, dataoffset("R"), datasize("R")) return(0, datasize("R")) }
            object "R" { code { mstore(0, add(calldataload(0), 1)) return(0, 32) } } }"#;
        let code = compile_yul(src, true).unwrap();
        let mut evm = Evm::new();
        let addr = evm.deploy(Evm::account(1), code).unwrap();
        let out = evm.view(addr, word(41)).unwrap();
        assert_eq!(out.output, word(42));
    }

    #[test]
    fn compile_errors_are_reported() {
        let err = compile_solidity(&[("B.sol".into(), "contract B { x }".into())], &SolcSettings::default());
        assert!(matches!(err, Err(crate::SolcError::Compile { .. })), "{err:?}");
    }
}
