//! Backend selection.

use zkr_prover::backend::{Backend, BackendChoice, BackendError};

#[test]
fn cuda_is_a_clear_error_until_it_exists() {
    let err = BackendChoice::Cuda.resolve().unwrap_err();
    assert_eq!(err, BackendError::CudaUnavailable);
    let msg = err.to_string();
    assert!(msg.contains("CUDA backend is not available"), "{msg}");
    assert!(msg.contains("--backend cpu"), "the error should say what to do instead: {msg}");
    assert_eq!(BackendChoice::Auto.resolve(), Ok(Backend::Cpu));
    assert_eq!(BackendChoice::Cpu.resolve(), Ok(Backend::Cpu));
    // as the CLI and the TOML config spell it
    assert_eq!("cuda".parse::<BackendChoice>(), Ok(BackendChoice::Cuda));
    let from_toml: BackendChoice = serde_json::from_str("\"cuda\"").unwrap();
    assert_eq!(from_toml.resolve(), Err(BackendError::CudaUnavailable));
}
