//! The one error type of this crate.

/// Everything that can go wrong when loading CUDA, compiling kernels or running a job.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// A CUDA library could not be opened (no driver installed, or libnvrtc not on the loader path).
    #[error("{library} could not be loaded ({hint}); expected a loadable {library} on the library search path")]
    LibraryMissing { library: &'static str, hint: &'static str },
    /// The driver reports fewer devices than the ordinal asked for.
    #[error("CUDA device {ordinal} requested but the driver reports {count} device(s)")]
    NoDevice { ordinal: usize, count: usize },
    /// A CUDA driver call failed.
    #[error("CUDA driver call `{op}` failed: {message}")]
    Driver { op: &'static str, message: String },
    /// A library call panicked (cudarc panics on missing symbols); caught so the caller can fall back.
    #[error("CUDA call `{op}` panicked: {message}")]
    Panicked { op: &'static str, message: String },
    /// NVRTC rejected the kernel sources.
    #[error("NVRTC failed to compile `{program}` for {arch}: {log}")]
    Compile { program: String, arch: String, log: String },
    /// The job does not fit into the device memory that is free right now.
    #[error("{job} needs {needed_bytes} bytes of device memory but only {free_bytes} bytes are free on {device}")]
    OutOfDeviceMemory { job: String, device: String, needed_bytes: u64, free_bytes: u64 },
    /// The caller passed data that the operation cannot accept.
    #[error("invalid input to {op}: {reason}")]
    InvalidInput { op: &'static str, reason: String },
}

impl GpuError {
    pub(crate) fn invalid(op: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput { op, reason: reason.into() }
    }
}
