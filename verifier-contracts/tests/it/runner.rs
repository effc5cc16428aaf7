//! A minimal revm runner that installs runtime code directly (no deployment transaction): the
//! generated verifier is larger than one Osaka transaction can deploy (see the crate report), and
//! these tests are about what it computes.

use revm::bytecode::Bytecode;
use revm::context::result::ExecutionResult;
use revm::context::{BlockEnv, CfgEnv, Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{ExecuteEvm, MainBuilder, MainnetEvm};
use revm::primitives::{Address, Bytes, TxKind, U256};
use revm::state::AccountInfo;
use revm::MainContext;

type Ctx = Context<BlockEnv, TxEnv, CfgEnv, CacheDB<EmptyDB>>;

pub struct Runner {
    evm: MainnetEvm<Ctx>,
}

pub struct Outcome {
    pub success: bool,
    pub output: Vec<u8>,
    pub gas_used: u64,
}

const TARGET: Address = Address::new([0x22; 20]);
const CALLER: Address = Address::new([0x11; 20]);

impl Runner {
    pub fn with_code(runtime_code: &[u8]) -> Self {
        let mut db = CacheDB::new(EmptyDB::new());
        db.insert_account_info(
            CALLER,
            AccountInfo { balance: U256::from(10u64).pow(U256::from(24u64)), ..Default::default() },
        );
        let code = Bytecode::new_raw(Bytes::copy_from_slice(runtime_code));
        db.insert_account_info(
            TARGET,
            AccountInfo { code_hash: code.hash_slow(), code: Some(code), nonce: 1, ..Default::default() },
        );
        let evm = Context::mainnet()
            .with_db(db)
            .modify_cfg_chained(|cfg| {
                cfg.limit_contract_code_size = Some(usize::MAX);
            })
            .modify_block_chained(|b| {
                b.number = U256::from(1u64);
                b.gas_limit = 60_000_000;
                b.basefee = 0;
            })
            .build_mainnet();
        Self { evm }
    }

    pub fn view(&mut self, data: Vec<u8>) -> Outcome {
        let tx = TxEnv::builder()
            .caller(CALLER)
            .kind(TxKind::Call(TARGET))
            .data(Bytes::from(data))
            .nonce(0)
            .gas_limit(1 << 24)
            .gas_price(0)
            .build()
            .expect("a valid transaction");
        let r = self.evm.transact(tx).expect("the EVM runs the call").result;
        let gas_used = r.tx_gas_used();
        match r {
            ExecutionResult::Success { output, .. } => {
                Outcome { success: true, output: output.data().to_vec(), gas_used }
            }
            ExecutionResult::Revert { output, .. } => Outcome { success: false, output: output.to_vec(), gas_used },
            ExecutionResult::Halt { .. } => Outcome { success: false, output: vec![], gas_used },
        }
    }
}
