//! Choosing a proving backend. Only the CPU backend exists so far (plonky2's prover); the
//! CUDA backend arrives with the GPU work, and asking for it before then is an error.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// What the operator asked for (`--backend`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// CUDA when available, otherwise CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

/// The backend a worker actually runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Cpu,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BackendError {
    #[error("the CUDA backend is not available in this build of zkr (GPU proving is not implemented yet); use --backend cpu or auto")]
    CudaUnavailable,
    #[error("unknown backend {given:?}: expected auto, cpu or cuda")]
    Unknown { given: String },
}

impl FromStr for BackendChoice {
    type Err = BackendError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(BackendError::Unknown { given: other.to_string() }),
        }
    }
}

impl BackendChoice {
    /// Resolves the choice; `auto` logs what it picked.
    pub fn resolve(self) -> Result<Backend, BackendError> {
        match self {
            BackendChoice::Cpu => Ok(Backend::Cpu),
            BackendChoice::Cuda => Err(BackendError::CudaUnavailable),
            BackendChoice::Auto => {
                tracing::info!("backend auto: no CUDA backend in this build, proving on the CPU");
                Ok(Backend::Cpu)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_resolve() {
        assert_eq!("auto".parse::<BackendChoice>().unwrap().resolve(), Ok(Backend::Cpu));
        assert_eq!("cpu".parse::<BackendChoice>().unwrap().resolve(), Ok(Backend::Cpu));
        assert_eq!("cuda".parse::<BackendChoice>().unwrap().resolve(), Err(BackendError::CudaUnavailable));
        assert!(matches!("gpu".parse::<BackendChoice>(), Err(BackendError::Unknown { .. })));
    }
}
