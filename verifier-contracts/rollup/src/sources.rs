//! The rollup's Solidity sources and their compilation (npm solc through `zkr-evm`).

use alloy_sol_types::SolValue;
use zkr_evm::{compile_solidity, Artifact, SolcError, SolcSettings};

use crate::abi::IZkrRollup;

/// The rollup contract.
pub const ROLLUP_SOL: &str = include_str!("../contracts/ZkrRollup.sol");
/// Its interface: types, events, errors (the source of the Rust bindings in [`crate::abi`]).
pub const IROLLUP_SOL: &str = include_str!("../contracts/IZkrRollup.sol");
/// Poseidon as a deployed contract (wraps the generated library; the rollup calls it).
pub const POSEIDON_SOL: &str = include_str!("../contracts/ZkrPoseidon.sol");
/// The verifier interface the rollup calls.
pub const IVERIFIER_SOL: &str = include_str!("../contracts/IZkrVerifier.sol");
/// Source-unit name under which `ZkrPoseidon.sol` imports the generated Poseidon library (not a file of this
/// crate: [`rollup_sources`] supplies its text from `zkr-yul`).
pub const POSEIDON_UNIT: &str = "generated/PoseidonGoldilocks.sol";
/// Name of the rollup contract in the compiler output.
pub const ROLLUP_CONTRACT: &str = "ZkrRollup";
/// Name of the Poseidon contract in the compiler output.
pub const POSEIDON_CONTRACT: &str = "ZkrPoseidon";

/// The two contracts a deployment needs: deploy `poseidon` first and pass its address in `InitParams.poseidon`.
#[derive(Clone, Debug)]
pub struct RollupArtifacts {
    pub rollup: Artifact,
    pub poseidon: Artifact,
}

/// Every source unit the rollup needs, named as its imports name them (compile them together).
///
/// The Poseidon library comes from `zkr_yul::poseidon::solidity_library()`, the same text `zkr contracts generate`
/// writes as `PoseidonGoldilocks.sol` next to the committed devnet contract set.
pub fn rollup_sources() -> Vec<(String, String)> {
    vec![
        ("ZkrRollup.sol".to_string(), ROLLUP_SOL.to_string()),
        ("IZkrRollup.sol".to_string(), IROLLUP_SOL.to_string()),
        ("IZkrVerifier.sol".to_string(), IVERIFIER_SOL.to_string()),
        ("ZkrPoseidon.sol".to_string(), POSEIDON_SOL.to_string()),
        (POSEIDON_UNIT.to_string(), zkr_yul::poseidon::solidity_library()),
    ]
}

/// Compiles the rollup and its Poseidon contract (the project's settings: legacy pipeline, optimizer on).
pub fn compile_rollup(settings: &SolcSettings) -> Result<RollupArtifacts, SolcError> {
    let artifacts = compile_solidity(&rollup_sources(), settings)?;
    Ok(RollupArtifacts {
        rollup: Artifact::named(&artifacts, ROLLUP_CONTRACT)?.clone(),
        poseidon: Artifact::named(&artifacts, POSEIDON_CONTRACT)?.clone(),
    })
}

/// Creation code followed by the ABI-encoded constructor arguments `(InitParams, GenesisAccount[])`.
pub fn deploy_code(
    creation_code: &[u8],
    params: &IZkrRollup::InitParams,
    genesis_accounts: &[IZkrRollup::GenesisAccount],
) -> Vec<u8> {
    let mut code = creation_code.to_vec();
    code.extend((params.clone(), genesis_accounts.to_vec()).abi_encode_params());
    code
}
