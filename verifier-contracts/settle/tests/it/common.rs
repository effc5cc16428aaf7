use std::path::PathBuf;

use zkr_evm::{compile_solidity, Artifact, SolcSettings};

/// Compiles `tests/contracts/<file>` and returns contract `name`.
pub fn compile(file: &str, name: &str) -> Artifact {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contracts").join(file);
    let source = std::fs::read_to_string(&path).unwrap();
    let artifacts = compile_solidity(&[(file.to_string(), source)], &SolcSettings::default()).unwrap();
    Artifact::named(&artifacts, name).unwrap().clone()
}
