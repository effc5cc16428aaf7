//! Choosing a proving backend: zkr's own proving pipeline (`zkr-engine`) on the CPU (rayon) or
//! with its heavy steps (IFFT, coset LDE, Poseidon Merkle trees) on a CUDA GPU (`zkr-gpu-kernels`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use plonky2::field::polynomial::{PolynomialCoeffs, PolynomialValues};
use thiserror::Error;
use zkr_circuits::config::F;
use zkr_engine::{CpuBackend, PoseidonDigests, ProverBackend};
use zkr_gpu_kernels::cuda::CudaKernels;
use zkr_gpu_kernels::Kernels;

/// What the operator asked for (`--backend`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// CUDA when libcuda loads and a device answers, otherwise CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

/// The kind of backend a worker actually runs (metrics label, coordinator report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Cpu,
    Cuda,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Cuda => "cuda",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Error)]
pub enum BackendError {
    #[error("--backend cuda was asked for but no CUDA device can be used: {reason}")]
    CudaUnavailable { reason: String },
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

/// A resolved backend: what the engine proves with.
#[derive(Clone)]
pub struct ProvingBackend {
    pub kind: Backend,
    pub engine: Arc<dyn ProverBackend>,
}

impl fmt::Debug for ProvingBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvingBackend").field("kind", &self.kind).finish()
    }
}

impl ProvingBackend {
    pub fn cpu() -> Self {
        ProvingBackend { kind: Backend::Cpu, engine: Arc::new(CpuBackend) }
    }
}

impl BackendChoice {
    /// Resolves the choice. `auto` probes for CUDA (a plain dlopen first: a missing driver never
    /// panics) and logs once what it picked; `cuda` fails clearly when no device can be used.
    pub fn resolve(self) -> Result<ProvingBackend, BackendError> {
        match self {
            BackendChoice::Cpu => Ok(ProvingBackend::cpu()),
            BackendChoice::Cuda => {
                let b = CudaBackend::open(0).map_err(|reason| BackendError::CudaUnavailable { reason })?;
                tracing::info!(device = %b.describe(), "backend cuda");
                Ok(ProvingBackend { kind: Backend::Cuda, engine: Arc::new(b) })
            }
            BackendChoice::Auto => match CudaBackend::open(0) {
                Ok(b) => {
                    tracing::info!(device = %b.describe(), "backend auto: CUDA device found, proving on the GPU");
                    Ok(ProvingBackend { kind: Backend::Cuda, engine: Arc::new(b) })
                }
                Err(reason) => {
                    tracing::info!(%reason, "backend auto: no usable CUDA device, proving on the CPU");
                    Ok(ProvingBackend::cpu())
                }
            },
        }
    }
}

/// The engine's backend trait over a set of kernels: the CUDA kernels on a GPU ([`CudaBackend`]), or the same
/// kernel sources compiled for the host (`KernelBackend::host()`, for tests of the whole proving path without a
/// GPU). A kernel error (e.g. a job larger than the device's free memory) falls back to the CPU for that step,
/// with a warning, so a proof is never lost to a GPU limit.
pub struct KernelBackend<K> {
    kernels: K,
    name: &'static str,
}

/// The CUDA backend.
pub type CudaBackend = KernelBackend<CudaKernels>;

impl CudaBackend {
    /// Opens device `ordinal` and compiles the kernels for it (NVRTC).
    pub fn open(ordinal: usize) -> Result<Self, String> {
        CudaKernels::new(ordinal).map(|kernels| KernelBackend { kernels, name: "cuda" }).map_err(|e| e.to_string())
    }

    pub fn describe(&self) -> String {
        let i = self.kernels.info();
        format!("{} (sm_{}{})", i.name, i.compute_capability.0, i.compute_capability.1)
    }
}

impl KernelBackend<zkr_gpu_kernels::host::HostKernels> {
    /// The CUDA kernel sources built as host C++ (one thread at a time: for correctness, not speed).
    pub fn host() -> Self {
        KernelBackend { kernels: zkr_gpu_kernels::host::HostKernels::new(), name: "host-kernels" }
    }
}

impl<K: Kernels + Send + Sync> ProverBackend for KernelBackend<K> {
    fn name(&self) -> &str {
        self.name
    }

    fn ifft_columns(&self, columns: Vec<Vec<F>>) -> Vec<Vec<F>> {
        let values: Vec<PolynomialValues<F>> = columns.into_iter().map(PolynomialValues::new).collect();
        match self.kernels.ifft_batch(&values) {
            Ok(c) => c.into_iter().map(|p| p.coeffs).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "GPU IFFT failed; this step runs on the CPU");
                CpuBackend.ifft_columns(values.into_iter().map(|v| v.values).collect())
            }
        }
    }

    fn lde_rows(&self, polys: &[Vec<F>], rate_bits: usize) -> Vec<F> {
        let coeffs: Vec<_> = polys.iter().map(|p| PolynomialCoeffs::new(p.clone())).collect();
        match self.kernels.coset_lde_leaves(&coeffs, rate_bits) {
            Ok(rows) => rows.concat(),
            Err(e) => {
                tracing::warn!(error = %e, "GPU LDE failed; this step runs on the CPU");
                CpuBackend.lde_rows(polys, rate_bits)
            }
        }
    }

    fn poseidon_merkle(&self, leaves: &[F], width: usize, cap_height: usize) -> Option<PoseidonDigests> {
        let rows: Vec<Vec<F>> =
            if width == 0 { Vec::new() } else { leaves.chunks(width).map(|r| r.to_vec()).collect() };
        match self.kernels.merkle_tree(rows, cap_height) {
            Ok(t) => Some(PoseidonDigests { digests: t.digests, cap: t.cap.0 }),
            Err(e) => {
                tracing::warn!(error = %e, "GPU Merkle tree failed; this step runs on the CPU");
                CpuBackend.poseidon_merkle(leaves, width, cap_height)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_resolve_without_a_gpu() {
        // This machine (and CI) has no CUDA driver: auto falls back, cuda is a clear error, nothing panics.
        let auto = "auto".parse::<BackendChoice>().unwrap().resolve().unwrap();
        if zkr_gpu_kernels::cuda::driver_available() {
            return; // a GPU host: nothing more to check here
        }
        assert_eq!(auto.kind, Backend::Cpu);
        assert_eq!("cpu".parse::<BackendChoice>().unwrap().resolve().unwrap().kind, Backend::Cpu);
        let err = "cuda".parse::<BackendChoice>().unwrap().resolve().unwrap_err();
        assert!(matches!(err, BackendError::CudaUnavailable { .. }), "{err}");
        assert!(err.to_string().contains("cuda"));
        assert!(matches!("gpu".parse::<BackendChoice>(), Err(BackendError::Unknown { .. })));
    }

    /// The whole proving path through the kernel adapter, with the CUDA C kernel sources compiled for the host:
    /// plonky2's verifier must accept the proof (batch circuits take too long single-threaded; a Poseidon and
    /// arithmetic circuit of 2^9 rows exercises every kernel: IFFT, coset LDE, leaf hashing, Merkle layers).
    #[test]
    fn kernel_adapter_proofs_verify() {
        use plonky2::field::types::Field;
        use plonky2::hash::poseidon::PoseidonHash;
        use plonky2::iop::witness::{PartialWitness, WitnessWrite};
        use plonky2::plonk::circuit_builder::CircuitBuilder;
        use plonky2::plonk::circuit_data::CircuitConfig;
        use zkr_circuits::config::{C, D};

        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let inputs = b.add_virtual_targets(4);
        let mut h = b.hash_n_to_hash_no_pad::<PoseidonHash>(inputs.clone());
        for _ in 0..20 {
            h = b.hash_n_to_hash_no_pad::<PoseidonHash>(h.elements.to_vec());
        }
        let mut acc = inputs[0];
        for (i, &e) in h.elements.iter().enumerate() {
            let k = b.constant(F::from_canonical_u64(i as u64 + 3));
            acc = b.mul_add(acc, k, e);
        }
        b.register_public_input(acc);
        let data = b.build::<C>();
        let mut pw = PartialWitness::new();
        for (i, &t) in inputs.iter().enumerate() {
            pw.set_target(t, F::from_canonical_u64(i as u64 * 7 + 1)).unwrap();
        }
        let backend = KernelBackend::host();
        let (proof, _) = zkr_engine::prove_circuit(&backend, &data, pw).expect("proves through the host kernels");
        data.verify(proof).expect("plonky2 accepts the proof");
    }
}
