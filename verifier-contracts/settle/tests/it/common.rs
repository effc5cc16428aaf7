use std::path::PathBuf;

use zkr_evm::{compile_solidity, Artifact, SolcSettings};

/// Compiles `tests/contracts/<file>` and returns contract `name`.
pub fn compile(file: &str, name: &str) -> Artifact {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contracts").join(file);
    let source = std::fs::read_to_string(&path).unwrap();
    let artifacts = compile_solidity(&[(file.to_string(), source)], &SolcSettings::default()).unwrap();
    Artifact::named(&artifacts, name).unwrap().clone()
}

/// The setup of a rollup for the committed devnet contract set, sender in every role, no genesis accounts.
pub fn devnet_setup(set: &zkr_settle::ContractSet, me: zkr_settle::Address, chain_id: u64) -> zkr_settle::RollupSetup {
    zkr_settle::RollupSetup {
        governor: me,
        guardian: me,
        operator: me,
        batches_per_epoch: 1 << set.epoch_height,
        batch_capacity: set.capacity as u64,
        genesis_root: Default::default(),
        genesis_data: Default::default(),
        genesis_accounts: vec![],
        priority_expiry: 2 * 24 * 3600,
        timelock_delay: 3 * 24 * 3600,
        domain: zkr_circuits::tx::Domain { chain_id, rollup_id: 1 },
        fee_account: 0,
    }
}
