//! Integration tests: every kernel against plonky2's CPU code (host build always, CUDA with
//! `--features gpu-device-tests`), NVRTC compilation to PTX, and the no-GPU paths.

mod check;
#[cfg(feature = "gpu-device-tests")]
mod device;
mod host;
mod nvrtc;
mod probe;
