//! Deploys a generated verifier (its part contracts, then `ZkrVerifier`) with real creation transactions in
//! zkr-evm's revm, under EIP-170's code size limit and Osaka's per-transaction gas cap, and calls it.

use zkr_evm::{Address, Artifact, Evm, TX_GAS_CAP};
use zkr_generator::{part_contract_name, verifier_constructor_args};

pub struct Runner {
    evm: Evm,
    target: Address,
}

pub struct Outcome {
    pub success: bool,
    pub output: Vec<u8>,
    pub gas_used: u64,
}

/// What deploying one verifier took.
#[derive(Clone, Debug)]
pub struct DeployReport {
    /// (contract, runtime code bytes, deployment gas)
    pub contracts: Vec<(String, usize, u64)>,
}

impl Runner {
    /// Deploys every part, then the verifier; panics (failing the test) if any deployment fails.
    pub fn deploy(artifacts: &[Artifact]) -> (Self, DeployReport) {
        let mut evm = Evm::new();
        let me = Evm::account(0);
        let mut report = DeployReport { contracts: Vec::new() };
        let mut parts = Vec::new();
        for k in 0.. {
            let name = part_contract_name(k);
            let Some(art) = artifacts.iter().find(|a| a.name == name) else { break };
            let out = evm.deploy_with_outcome(me, art.creation_code.clone(), Default::default()).expect("EVM runs");
            let addr = out.created.unwrap_or_else(|| panic!("deploying {name} failed: {:?}", out.failure));
            report.contracts.push((name, art.runtime_code.len(), out.gas_used));
            parts.push(addr.into_array());
        }
        let main = artifacts.iter().find(|a| a.name == "ZkrVerifier").expect("ZkrVerifier artifact");
        let mut code = main.creation_code.clone();
        code.extend(verifier_constructor_args(&parts));
        let out = evm.deploy_with_outcome(me, code, Default::default()).expect("EVM runs");
        let target = out.created.unwrap_or_else(|| panic!("deploying ZkrVerifier failed: {:?}", out.failure));
        report.contracts.push(("ZkrVerifier".into(), main.runtime_code.len(), out.gas_used));
        for (name, size, gas) in &report.contracts {
            assert!(*size <= 24_576, "{name}: {size} bytes of runtime code exceed EIP-170");
            assert!(*gas <= TX_GAS_CAP, "{name}: deployment gas {gas} exceeds 2^24");
        }
        (Self { evm, target }, report)
    }

    pub fn view(&mut self, data: Vec<u8>) -> Outcome {
        let out = self.evm.view(self.target, data).expect("the EVM runs the call");
        Outcome { success: out.success, output: out.output, gas_used: out.gas_used }
    }

    pub fn profile(&mut self, data: Vec<u8>) -> zkr_evm::GasProfile {
        self.evm.profile_view(self.target, data).expect("the EVM runs the call")
    }
}
