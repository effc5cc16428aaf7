//! Deploying the verifier and the rollup, and the record of where they are.

use std::path::Path;

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::chain::L1;
use crate::error::L1Error;

/// Where zkr's contracts live on an L1 (saved as TOML next to the node's config).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub chain_id: u64,
    pub verifier: Address,
    pub rollup: Address,
    /// Block of the rollup's deployment: where to start scanning its events.
    pub deploy_block: u64,
    /// The Poseidon contract the rollup calls (zero when unknown).
    #[serde(default)]
    pub poseidon: Address,
    /// The verifier's part contracts, in order.
    #[serde(default)]
    pub verifier_parts: Vec<Address>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("deploying the verifier failed: {source}")]
    Verifier {
        #[source]
        source: L1Error,
    },
    #[error("deploying the rollup failed: {source}")]
    Rollup {
        #[source]
        source: L1Error,
    },
    #[error("checking the deployment failed: {source}")]
    Check {
        #[source]
        source: L1Error,
    },
    #[error("the deployment record is for chain {expected}, but the L1 node reports chain {got}")]
    ChainMismatch { expected: u64, got: u64 },
    #[error(
        "the L2 domain is for chain {expected}, but the L1 node reports chain {got}: L2 signatures made for chain \
         {expected} would never verify there (set the genesis chain_id to the L1's)"
    )]
    DomainChainMismatch { expected: u64, got: u64 },
    #[error("no contract code at the {what} address {address} on chain {chain_id}")]
    NoCode { what: &'static str, address: Address, chain_id: u64 },
    #[error("cannot {action} the deployment record {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the deployment record {path} is not valid TOML with chain_id, verifier, rollup, deploy_block: {reason}")]
    Parse { path: String, reason: String },
}

impl Deployment {
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a struct of integers and addresses always serialises")
    }

    /// Parses a record; `origin` names it in errors (a path, or e.g. "stdin").
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, DeployError> {
        toml::from_str(text).map_err(|e| DeployError::Parse { path: origin.to_string(), reason: e.to_string() })
    }

    pub fn save(&self, path: &Path) -> Result<(), DeployError> {
        std::fs::write(path, self.to_toml()).map_err(|source| DeployError::Io {
            action: "write",
            path: path.display().to_string(),
            source,
        })
    }

    pub fn load(path: &Path) -> Result<Self, DeployError> {
        let text = std::fs::read_to_string(path).map_err(|source| DeployError::Io {
            action: "read",
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Checks the record against a live L1: same chain id, code at both addresses.
    pub async fn check(&self, l1: &dyn L1) -> Result<(), DeployError> {
        let got = l1.chain_id().await.map_err(|source| DeployError::Check { source })?;
        if got != self.chain_id {
            return Err(DeployError::ChainMismatch { expected: self.chain_id, got });
        }
        for (what, address) in [("verifier", self.verifier), ("rollup", self.rollup)] {
            let code = l1.code_at(address).await.map_err(|source| DeployError::Check { source })?;
            if code.is_empty() {
                return Err(DeployError::NoCode { what, address, chain_id: self.chain_id });
            }
        }
        Ok(())
    }
}

/// Deploys the verifier, then the rollup, from the L1's sender.
///
/// `rollup_creation_code` gets the verifier's address and returns the rollup's creation code with its
/// ABI-encoded constructor arguments appended (the constructor takes the verifier's address, so the code can only
/// be finished once the verifier is deployed).
pub async fn deploy_all(
    l1: &dyn L1,
    verifier_creation_code: Vec<u8>,
    rollup_creation_code: impl FnOnce(Address) -> Vec<u8> + Send,
) -> Result<Deployment, DeployError> {
    let chain_id = l1.chain_id().await.map_err(|source| DeployError::Check { source })?;
    let v = l1.deploy(verifier_creation_code, U256::ZERO).await.map_err(|source| DeployError::Verifier { source })?;
    let verifier =
        v.contract_address.ok_or(DeployError::Verifier { source: L1Error::NoContract { tx_hash: v.tx_hash } })?;
    info!(%verifier, block = v.block_number, gas = v.gas_used, "verifier deployed");
    let r =
        l1.deploy(rollup_creation_code(verifier), U256::ZERO).await.map_err(|source| DeployError::Rollup { source })?;
    let rollup =
        r.contract_address.ok_or(DeployError::Rollup { source: L1Error::NoContract { tx_hash: r.tx_hash } })?;
    info!(%rollup, block = r.block_number, gas = r.gas_used, "rollup deployed");
    let deployment = Deployment {
        chain_id,
        verifier,
        rollup,
        deploy_block: r.block_number,
        poseidon: Address::ZERO,
        verifier_parts: Vec::new(),
    };
    deployment.check(l1).await?;
    Ok(deployment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_and_errors() {
        let d = Deployment {
            chain_id: 31337,
            verifier: Address::repeat_byte(0x11),
            rollup: Address::repeat_byte(0x22),
            deploy_block: 7,
            poseidon: Address::repeat_byte(0x33),
            verifier_parts: vec![Address::repeat_byte(0x44)],
        };
        let text = d.to_toml();
        assert!(text.contains("chain_id = 31337"), "{text}");
        assert_eq!(Deployment::from_toml(&text, "t").unwrap(), d);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l1.toml");
        d.save(&path).unwrap();
        assert_eq!(Deployment::load(&path).unwrap(), d);
        let bad = text.replace("deploy_block = 7", "");
        assert!(matches!(Deployment::from_toml(&bad, "t"), Err(DeployError::Parse { .. })));
        let bad_addr = text.replace(&d.rollup.to_string(), "0x1234");
        assert!(matches!(Deployment::from_toml(&bad_addr, "t"), Err(DeployError::Parse { .. })));
        assert!(matches!(Deployment::load(&dir.path().join("missing.toml")), Err(DeployError::Io { .. })));
    }
}
