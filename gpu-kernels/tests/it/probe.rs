//! Without a GPU (CI, dev machines) the CUDA entry points return errors; they must never panic.

use zkr_gpu_kernels::cuda::{self, CudaKernels};
use zkr_gpu_kernels::GpuError;

#[test]
fn probe_and_new_do_not_panic() {
    let probed = cuda::probe(0);
    let kernels = CudaKernels::new(0);
    if !cuda::driver_available() {
        assert!(matches!(probed, Err(GpuError::LibraryMissing { .. })), "{probed:?}");
        assert!(matches!(kernels, Err(GpuError::LibraryMissing { .. })), "{kernels:?}");
    } else {
        eprintln!("NOTE: a CUDA driver is present: probe(0) = {probed:?}");
    }
    // An absurd ordinal is an error either way.
    assert!(cuda::probe(1 << 20).is_err());
}
