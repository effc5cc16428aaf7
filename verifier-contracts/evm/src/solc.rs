//! Compiling through solcjs (npm `solc`, pinned) with standard JSON over a `node` child process.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

/// Compiler settings that matter to zkr's contracts.
#[derive(Clone, Debug)]
pub struct SolcSettings {
    pub optimize: bool,
    pub runs: u32,
    /// The IR pipeline: solcjs runs out of its WebAssembly heap on large generated functions, so off by default.
    pub via_ir: bool,
    /// The Yul optimizer (on with `optimize` by default). The generated verifier needs it off: its common
    /// subexpression pass turns the gates' straight-line code into variables and fails with StackTooDeep.
    pub yul_optimizer: bool,
    /// Append the CBOR metadata (with the source's hash) to the bytecode. Off for the verifier: its parts' code
    /// must not change when the verifier's text around them does, so the verifier can pin their code hashes.
    pub append_cbor: bool,
}

impl Default for SolcSettings {
    fn default() -> Self {
        SolcSettings { optimize: true, runs: 200, via_ir: false, yul_optimizer: true, append_cbor: true }
    }
}

impl SolcSettings {
    /// The settings the generated verifier (`ZkrVerifier.sol`) is compiled with: optimizer on, Yul optimizer off, no
    /// CBOR metadata.
    pub fn verifier() -> Self {
        SolcSettings { yul_optimizer: false, append_cbor: false, ..SolcSettings::default() }
    }
}

/// One compiled contract.
#[derive(Clone, Debug)]
pub struct Artifact {
    pub file: String,
    pub name: String,
    /// Creation code (append ABI-encoded constructor arguments before deploying).
    pub creation_code: Vec<u8>,
    pub runtime_code: Vec<u8>,
    pub abi: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum SolcError {
    #[error("cannot run node on the solc wrapper {script}: {source}; is Node.js installed?")]
    Spawn {
        script: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "solc is not installed under {dir}: run `npm ci --prefix verifier-contracts` (expected node_modules/solc there)"
    )]
    NotInstalled { dir: PathBuf },
    #[error("the solc wrapper exited with {status}: {stderr}")]
    Failed { status: String, stderr: String },
    #[error("solc printed output that is not standard JSON: {reason}")]
    BadOutput { reason: String },
    #[error("solc reported errors:\n{messages}")]
    Compile { messages: String },
    #[error("contract {name} is missing from solc's output")]
    Missing { name: String },
}

/// The folder holding `package.json`, `node_modules/solc` and `solc/compile.js`.
///
/// `ZKR_SOLC_DIR` overrides it; the default is this repository's `verifier-contracts/`.
pub fn solc_dir() -> PathBuf {
    match std::env::var_os("ZKR_SOLC_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
    }
}

fn run_standard_json(input: &Value) -> Result<Value, SolcError> {
    let dir = solc_dir();
    if !dir.join("node_modules/solc/package.json").exists() {
        return Err(SolcError::NotInstalled { dir });
    }
    let script = dir.join("solc/compile.js");
    let mut child = Command::new("node")
        .arg(&script)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SolcError::Spawn { script: script.clone(), source })?;
    let body = input.to_string();
    {
        let mut stdin = child.stdin.take().ok_or_else(|| SolcError::BadOutput { reason: "no stdin pipe".into() })?;
        stdin.write_all(body.as_bytes()).map_err(|source| SolcError::Spawn { script: script.clone(), source })?;
    }
    let out = child.wait_with_output().map_err(|source| SolcError::Spawn { script, source })?;
    if !out.status.success() {
        return Err(SolcError::Failed {
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| SolcError::BadOutput { reason: e.to_string() })?;
    let errors: Vec<String> = v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["severity"] == "error")
                .map(|e| e["formattedMessage"].as_str().or(e["message"].as_str()).unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(SolcError::Compile { messages: errors.join("\n") });
    }
    Ok(v)
}

fn hex_field(v: &Value, what: &str) -> Result<Vec<u8>, SolcError> {
    let s = v.as_str().ok_or_else(|| SolcError::BadOutput { reason: format!("{what} is not a string") })?;
    hex::decode(s).map_err(|e| SolcError::BadOutput { reason: format!("{what}: {e}") })
}

/// Compiles Solidity sources (file name, source) and returns every contract they define.
pub fn compile_solidity(sources: &[(String, String)], settings: &SolcSettings) -> Result<Vec<Artifact>, SolcError> {
    let srcs: serde_json::Map<String, Value> =
        sources.iter().map(|(name, src)| (name.clone(), json!({ "content": src }))).collect();
    let input = json!({
        "language": "Solidity",
        "sources": srcs,
        "settings": {
            "optimizer": {
                "enabled": settings.optimize,
                "runs": settings.runs,
                "details": { "yul": settings.optimize && settings.yul_optimizer }
            },
            "viaIR": settings.via_ir,
            "metadata": { "appendCBOR": settings.append_cbor },
            "evmVersion": "cancun",
            "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } }
        }
    });
    let out = run_standard_json(&input)?;
    let mut artifacts = Vec::new();
    if let Some(files) = out["contracts"].as_object() {
        for (file, contracts) in files {
            let Some(contracts) = contracts.as_object() else { continue };
            for (name, c) in contracts {
                artifacts.push(Artifact {
                    file: file.clone(),
                    name: name.clone(),
                    creation_code: hex_field(&c["evm"]["bytecode"]["object"], "bytecode")?,
                    runtime_code: hex_field(&c["evm"]["deployedBytecode"]["object"], "deployedBytecode")?,
                    abi: c["abi"].clone(),
                });
            }
        }
    }
    Ok(artifacts)
}

/// Compiles one Yul object and returns its creation code.
pub fn compile_yul(source: &str, optimize: bool) -> Result<Vec<u8>, SolcError> {
    let input = json!({
        "language": "Yul",
        "sources": { "input.yul": { "content": source } },
        "settings": {
            "optimizer": { "enabled": optimize, "details": { "yul": optimize } },
            "evmVersion": "cancun",
            "outputSelection": { "*": { "*": ["evm.bytecode.object"] } }
        }
    });
    let out = run_standard_json(&input)?;
    let contracts = out["contracts"]["input.yul"]
        .as_object()
        .ok_or_else(|| SolcError::Missing { name: "the Yul object".into() })?;
    let (_, c) = contracts.iter().next().ok_or_else(|| SolcError::Missing { name: "the Yul object".into() })?;
    hex_field(&c["evm"]["bytecode"]["object"], "bytecode")
}

/// Finds a contract by name among artifacts.
pub fn find<'a>(artifacts: &'a [Artifact], name: &str) -> Result<&'a Artifact, SolcError> {
    artifacts.iter().find(|a| a.name == name).ok_or_else(|| SolcError::Missing { name: name.to_string() })
}

impl Artifact {
    /// Looks a contract up by name among compiled artifacts.
    pub fn named<'a>(artifacts: &'a [Artifact], name: &str) -> Result<&'a Artifact, SolcError> {
        find(artifacts, name)
    }
}
