//! Backend selection as the CLI and the TOML config spell it, on a machine without a usable GPU.

use zkr_worker::backend::{Backend, BackendChoice, BackendError};

#[test]
fn cuda_without_a_device_is_a_clear_error_and_auto_falls_back_to_cpu() {
    if zkr_gpu_kernels::cuda::probe(0).is_ok() {
        eprintln!("a CUDA device answers here: the no-GPU behaviour is not what this machine shows");
        return;
    }
    let err = BackendChoice::Cuda.resolve().unwrap_err();
    assert!(matches!(err, BackendError::CudaUnavailable { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("--backend cuda"), "the error should name the choice: {msg}");
    assert_eq!(BackendChoice::Auto.resolve().unwrap().kind, Backend::Cpu);
    assert_eq!(BackendChoice::Cpu.resolve().unwrap().kind, Backend::Cpu);
    assert!(matches!("cuda".parse::<BackendChoice>(), Ok(BackendChoice::Cuda)));
    let from_toml: BackendChoice = serde_json::from_str("\"cuda\"").unwrap();
    assert!(matches!(from_toml.resolve(), Err(BackendError::CudaUnavailable { .. })));
}
