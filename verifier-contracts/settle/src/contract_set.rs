//! The compiled contracts of one deployment (verifier parts, verifier, Poseidon, rollup) and deploying them.
//!
//! The devnet's set (capacity [`zkr_generator::DEVNET_CAPACITY`], epoch height
//! [`zkr_generator::DEVNET_EPOCH_HEIGHT`]) is committed as `generated/devnet-contracts.json` in this crate, next to
//! the generated sources it was compiled from (`ZkrVerifier.sol`, `PoseidonGoldilocks.sol`), so the devnet and
//! `zkr l1 deploy` need no Solidity compiler; `zkr contracts generate` rewrites the folder and tests fail when a
//! file no longer matches a fresh generation. Other circuits compile at run time (npm solc).

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::SolValue;
use serde::{Deserialize, Serialize};
use tracing::info;
use zkr_evm::{compile_solidity, Artifact, SolcError, SolcSettings};
use zkr_generator::{part_contract_name, verifier_constructor_args};
use zkr_rollup::IZkrRollup;

use crate::chain::L1;
use crate::deploy::{DeployError, Deployment};
use crate::error::L1Error;

/// The committed devnet set.
pub const DEVNET_CONTRACTS_JSON: &str = include_str!("../generated/devnet-contracts.json");
/// Where [`DEVNET_CONTRACTS_JSON`] lives, relative to this crate's folder (`verifier-contracts/settle`).
pub const DEVNET_CONTRACTS_PATH: &str = "generated/devnet-contracts.json";
/// The devnet's generated verifier, the source of the set's verifier (relative to this crate's folder).
pub const DEVNET_VERIFIER_PATH: &str = "generated/ZkrVerifier.sol";
/// The generated Poseidon library the rollup imports (relative to this crate's folder).
pub const DEVNET_POSEIDON_PATH: &str = "generated/PoseidonGoldilocks.sol";

/// Creation code (hex, no constructor arguments) of every contract of a deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractSet {
    /// The wrap circuit the verifier is for.
    pub capacity: usize,
    pub epoch_height: u32,
    /// keccak256 of the verifier's Solidity source as generated (before its parts' code is pinned): tells whether
    /// this set matches a freshly generated verifier.
    pub verifier_source_hash: B256,
    /// `ZkrVerifierPart0`, `ZkrVerifierPart1`, … in constructor order.
    #[serde(with = "hex_list")]
    pub verifier_parts: Vec<Vec<u8>>,
    #[serde(with = "hex_bytes")]
    pub verifier: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub poseidon: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub rollup: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ContractSetError {
    #[error("compiling the contracts failed: {0}")]
    Solc(#[from] SolcError),
    #[error("the compiled verifier has no part contracts (expected {first}, …)")]
    NoParts { first: String },
    #[error("the contract set is not valid JSON of the expected shape: {reason}")]
    Parse { reason: String },
    #[error("the verifier source has no unpinned PARTS_CODEHASH line: is it zkr-generator's output?")]
    NotAGeneratedVerifier,
    #[error("the verifier's part contracts compiled to other code once their hash was pinned (CBOR metadata on?)")]
    PinDrift,
}

/// keccak256 of the parts' runtime code hashes, in order: what `ZkrVerifier`'s constructor checks.
pub fn parts_codehash(parts: &[Artifact]) -> B256 {
    let mut hashes = Vec::with_capacity(32 * parts.len());
    for p in parts {
        hashes.extend_from_slice(keccak256(&p.runtime_code).as_slice());
    }
    keccak256(hashes)
}

impl ContractSet {
    /// Compiles a generated verifier (`zkr_generator::generate_verifier`) and the rollup with the pinned solc.
    pub fn compile(verifier_source: &str, capacity: usize, epoch_height: u32) -> Result<Self, ContractSetError> {
        Ok(Self::compile_pinned(verifier_source, capacity, epoch_height)?.0)
    }

    /// [`ContractSet::compile`], also returning the verifier's source with its parts' code pinned (what is
    /// compiled and deployed, and committed for the devnet): the parts are compiled first, and
    /// `zkr_generator::pin_parts` writes the hash of their runtime code into the verifier, whose constructor then
    /// refuses any other parts.
    pub fn compile_pinned(
        verifier_source: &str,
        capacity: usize,
        epoch_height: u32,
    ) -> Result<(Self, String), ContractSetError> {
        let compile = |src: &str| {
            compile_solidity(&[("ZkrVerifier.sol".to_string(), src.to_string())], &SolcSettings::verifier())
        };
        let first = compile(verifier_source)?;
        let parts = |arts: &[Artifact]| -> Vec<Artifact> {
            (0..).map_while(|k| arts.iter().find(|a| a.name == part_contract_name(k)).cloned()).collect()
        };
        let unpinned_parts = parts(&first);
        if unpinned_parts.is_empty() {
            return Err(ContractSetError::NoParts { first: part_contract_name(0) });
        }
        let pinned = zkr_generator::pin_parts(verifier_source, parts_codehash(&unpinned_parts).0)
            .ok_or(ContractSetError::NotAGeneratedVerifier)?;
        let second = compile(&pinned)?;
        let pinned_parts = parts(&second);
        if pinned_parts.iter().map(|a| &a.runtime_code).ne(unpinned_parts.iter().map(|a| &a.runtime_code)) {
            return Err(ContractSetError::PinDrift);
        }
        let verifier = Artifact::named(&second, "ZkrVerifier")?.creation_code.clone();
        let rollup = zkr_rollup::compile_rollup(&SolcSettings::default())?;
        let set = ContractSet {
            capacity,
            epoch_height,
            verifier_source_hash: keccak256(verifier_source.as_bytes()),
            verifier_parts: pinned_parts.into_iter().map(|a| a.creation_code).collect(),
            verifier,
            poseidon: rollup.poseidon.creation_code,
            rollup: rollup.rollup.creation_code,
        };
        Ok((set, pinned))
    }

    /// The committed devnet set.
    pub fn devnet() -> Result<Self, ContractSetError> {
        Self::from_json(DEVNET_CONTRACTS_JSON)
    }

    pub fn from_json(text: &str) -> Result<Self, ContractSetError> {
        serde_json::from_str(text).map_err(|e| ContractSetError::Parse { reason: e.to_string() })
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plain data serialises");
        s.push('\n');
        s
    }

    /// Whether this set's verifier was compiled from `verifier_source`.
    pub fn matches_source(&self, verifier_source: &str) -> bool {
        self.verifier_source_hash == keccak256(verifier_source.as_bytes())
    }
}

/// The rollup's constructor parameters, less the addresses the deployment itself produces.
#[derive(Clone, Debug)]
pub struct RollupSetup {
    pub governor: Address,
    pub guardian: Address,
    /// May commit, prove and execute (the settlement side's sender).
    pub operator: Address,
    pub batches_per_epoch: u64,
    pub batch_capacity: u64,
    /// The packed L2 root epoch 1 starts from (`zkr_rollup::pack_digest`).
    pub genesis_root: B256,
    /// The data-chain digest epoch 1 continues from (zero at the L2's genesis; `State::data_digest` after the last
    /// batch before epoch 1 otherwise).
    pub genesis_data: B256,
    /// The accounts of the genesis state, for exits (`zkr_rollup::calldata::genesis_accounts`).
    pub genesis_accounts: Vec<IZkrRollup::GenesisAccount>,
    /// Seconds before an unprocessed deposit puts the rollup into exit mode.
    pub priority_expiry: u64,
    /// Seconds a verifier or parameter change waits in the timelock.
    pub timelock_delay: u64,
    /// The L2 domain: the chain the signatures were made for (the L1's own id, checked before anything is
    /// deployed) and the rollup's id on it.
    pub domain: zkr_circuits::tx::Domain,
    /// The L2 account every fee is credited to (part of each batch's committed header).
    pub fee_account: u32,
}

/// Deploys the verifier parts, the verifier, Poseidon and the rollup from the L1's sender, then checks the code
/// is there. `on_step` hears (contract, gas) after each deployment.
pub async fn deploy_contracts(
    l1: &dyn L1,
    set: &ContractSet,
    setup: &RollupSetup,
    mut on_step: impl FnMut(&str, u64) + Send,
) -> Result<Deployment, DeployError> {
    let chain_id = l1.chain_id().await.map_err(|source| DeployError::Check { source })?;
    if chain_id != setup.domain.chain_id {
        // the contract binds its own chain id: every L2 signature made for the configured one would be refused
        return Err(DeployError::DomainChainMismatch { expected: setup.domain.chain_id, got: chain_id });
    }
    let deploy = |code: Vec<u8>, value: U256| async move {
        let r = l1.deploy(code, value).await?;
        let addr = r.contract_address.ok_or(L1Error::NoContract { tx_hash: r.tx_hash })?;
        Ok::<_, L1Error>((addr, r))
    };
    let mut parts = Vec::new();
    for (k, code) in set.verifier_parts.iter().enumerate() {
        let (addr, r) = deploy(code.clone(), U256::ZERO).await.map_err(|source| DeployError::Verifier { source })?;
        let name = part_contract_name(k);
        info!(contract = %name, %addr, gas = r.gas_used, "deployed");
        on_step(&name, r.gas_used);
        parts.push(addr);
    }
    let mut code = set.verifier.clone();
    code.extend(verifier_constructor_args(&parts.iter().map(|a| a.into_array()).collect::<Vec<_>>()));
    let (verifier, r) = deploy(code, U256::ZERO).await.map_err(|source| DeployError::Verifier { source })?;
    info!(%verifier, gas = r.gas_used, "verifier deployed");
    on_step("ZkrVerifier", r.gas_used);
    let (poseidon, r) =
        deploy(set.poseidon.clone(), U256::ZERO).await.map_err(|source| DeployError::Rollup { source })?;
    on_step("ZkrPoseidon", r.gas_used);
    let params = IZkrRollup::InitParams {
        governor: setup.governor,
        guardian: setup.guardian,
        operator: setup.operator,
        verifier,
        poseidon,
        batchesPerEpoch: setup.batches_per_epoch,
        batchCapacity: setup.batch_capacity,
        genesisRoot: setup.genesis_root,
        genesisData: setup.genesis_data,
        priorityExpiry: setup.priority_expiry,
        timelockDelay: setup.timelock_delay,
        rollupId: setup.domain.rollup_id,
        feeAccount: setup.fee_account,
    };
    let mut code = set.rollup.clone();
    code.extend((params, setup.genesis_accounts.clone()).abi_encode_params());
    // the constructor refuses genesis balances its ETH does not back
    let funding = zkr_rollup::calldata::genesis_funding_wei(&setup.genesis_accounts);
    let (rollup, r) = deploy(code, funding).await.map_err(|source| DeployError::Rollup { source })?;
    info!(%rollup, gas = r.gas_used, "rollup deployed");
    on_step("ZkrRollup", r.gas_used);
    let deployment =
        Deployment { chain_id, verifier, rollup, deploy_block: r.block_number, poseidon, verifier_parts: parts };
    deployment.check(l1).await?;
    Ok(deployment)
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s.strip_prefix("0x").unwrap_or(&s)).map_err(serde::de::Error::custom)
    }
}

mod hex_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|b| format!("0x{}", hex::encode(b))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter().map(|s| hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(serde::de::Error::custom)).collect()
    }
}
