//! zkr's CUDA kernels for the heavy parts of a plonky2 commitment, and their launchers.
//!
//! # Public API
//! - [`Kernels`]: the operations, all bit-for-bit equal to plonky2 =1.1.0's CPU code (Goldilocks,
//!   `PoseidonHash`):
//!   - [`Kernels::ifft_batch`] / [`Kernels::fft_batch`]: batched (inverse) NTT, like `PolynomialValues::ifft` /
//!     `PolynomialCoeffs::fft`;
//!   - [`Kernels::coset_lde_leaves`]: batched coset LDE on `F::coset_shift() * <w>` with blowup `2^rate_bits`,
//!     returned as plonky2's Merkle leaves (one row per point, rows in bit-reversed order);
//!   - [`Kernels::poseidon_permute_batch`], [`Kernels::hash_or_noop_batch`];
//!   - [`Kernels::merkle_tree`]: a `MerkleTree<F, PoseidonHash>` with plonky2's exact `digests` layout and cap;
//!   - [`Kernels::commit_values`] / [`Kernels::commit_coeffs`]: `PolynomialBatch::from_values` /
//!     `from_coeffs` (no blinding) in one device round trip, as a [`Commitment`]
//!     ([`Commitment::into_polynomial_batch`] gives the plonky2 struct).
//! - [`HostKernels`] ([`host`]): the same CUDA C sources compiled as host C++ by build.rs and run one thread at a
//!   time. Always available; it is how the kernels are tested without a GPU.
//! - [`cuda`]: [`cuda::probe`] (never panics: plain dlopen of libcuda first), [`cuda::CudaKernels`] (NVRTC
//!   compilation at run time for the device's architecture, memory checked against the device's free memory),
//!   [`cuda::compile_ptx`] / [`cuda::compile_source_to_ptx`] / [`cuda::compile_cubin`],
//!   [`cuda::driver_available`], [`cuda::nvrtc_available`], [`cuda::GpuInfo`].
//! - [`constants`]: the kernel sources as strings and the generator of `cuda/poseidon_constants.cuh`.
//! - [`GpuError`]: every failure, including "no driver" and "does not fit in device memory".
//!
//! Not supported: plonky2's blinding (random salt columns), i.e. commitments with `blinding = true`.
//!
//! # Kernel design
//! Every kernel is one independent thread per element (butterfly, leaf, node), without shared memory or
//! `__syncthreads`; multi-stage work (NTT stages, Merkle layers) is a sequence of launches. That is what lets
//! the sources run unchanged as host C++ (`cuda/compat.cuh` maps the CUDA names, `host/launchers.cpp` loops over
//! the grid). The NTT is decimation-in-frequency: natural order in, bit-reversed order out, which is directly
//! plonky2's leaf order for LDEs. Merkle digests are written by the GPU straight into plonky2's interleaved
//! `MerkleTree::digests` layout (see `cuda/merkle.cu`), so the host only converts types.

pub mod constants;
pub mod cuda;
mod error;
mod exec;
pub mod host;
mod ops;

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::polynomial::{PolynomialCoeffs, PolynomialValues};
use plonky2::fri::oracle::PolynomialBatch;
use plonky2::hash::hash_types::HashOut;
use plonky2::hash::merkle_tree::MerkleTree;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::config::GenericConfig;

pub use error::GpuError;
pub use host::HostKernels;

/// The field every kernel works in.
pub type F = GoldilocksField;

/// Output of [`Kernels::commit_values`] / [`Kernels::commit_coeffs`]: the fields of plonky2's
/// `PolynomialBatch` (without blinding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitment {
    pub polynomials: Vec<PolynomialCoeffs<F>>,
    pub merkle_tree: MerkleTree<F, PoseidonHash>,
    pub degree_log: usize,
    pub rate_bits: usize,
}

impl Commitment {
    /// The plonky2 struct (`blinding = false`), for any config whose hasher is Poseidon.
    pub fn into_polynomial_batch<C>(self) -> PolynomialBatch<F, C, 2>
    where
        C: GenericConfig<2, F = F, Hasher = PoseidonHash>,
    {
        PolynomialBatch {
            polynomials: self.polynomials,
            merkle_tree: self.merkle_tree,
            degree_log: self.degree_log,
            rate_bits: self.rate_bits,
            blinding: false,
        }
    }
}

/// The kernel operations; implemented by [`HostKernels`] and [`cuda::CudaKernels`] with the same launch sequence.
pub trait Kernels {
    /// A short description of where the kernels run.
    fn backend_name(&self) -> String;

    /// Inverse NTT of each polynomial (all of the same power-of-two length), like `PolynomialValues::ifft`.
    fn ifft_batch(&self, values: &[PolynomialValues<F>]) -> Result<Vec<PolynomialCoeffs<F>>, GpuError>;

    /// Forward NTT of each polynomial, values in natural order, like `PolynomialCoeffs::fft`.
    fn fft_batch(&self, coeffs: &[PolynomialCoeffs<F>]) -> Result<Vec<PolynomialValues<F>>, GpuError>;

    /// Coset LDE of each polynomial (`lde(rate_bits)` then `coset_fft(F::coset_shift())`), transposed and
    /// bit-reversed exactly like `PolynomialBatch::merkle_tree.leaves`.
    fn coset_lde_leaves(&self, coeffs: &[PolynomialCoeffs<F>], rate_bits: usize) -> Result<Vec<Vec<F>>, GpuError>;

    /// Poseidon (width 12) permutation of each state.
    fn poseidon_permute_batch(&self, states: &[[F; 12]]) -> Result<Vec<[F; 12]>, GpuError>;

    /// `PoseidonHash::hash_or_noop` of each input (all of the same length).
    fn hash_or_noop_batch(&self, inputs: &[Vec<F>]) -> Result<Vec<HashOut<F>>, GpuError>;

    /// `MerkleTree::new(leaves, cap_height)` with Poseidon.
    fn merkle_tree(&self, leaves: Vec<Vec<F>>, cap_height: usize) -> Result<MerkleTree<F, PoseidonHash>, GpuError>;

    /// `PolynomialBatch::from_values(values, rate_bits, false, cap_height, ..)`.
    fn commit_values(
        &self,
        values: &[PolynomialValues<F>],
        rate_bits: usize,
        cap_height: usize,
    ) -> Result<Commitment, GpuError>;

    /// `PolynomialBatch::from_coeffs(coeffs, rate_bits, false, cap_height, ..)`.
    fn commit_coeffs(
        &self,
        coeffs: &[PolynomialCoeffs<F>],
        rate_bits: usize,
        cap_height: usize,
    ) -> Result<Commitment, GpuError>;
}

/// Implements [`Kernels`] for a type by forwarding to [`ops`] with the given device expression.
macro_rules! impl_kernels {
    ($ty:ty, |$s:ident| $exec:expr, $name:expr) => {
        impl $crate::Kernels for $ty {
            fn backend_name(&self) -> String {
                let $s = self;
                $name
            }
            fn ifft_batch(
                &self,
                values: &[plonky2::field::polynomial::PolynomialValues<$crate::F>],
            ) -> Result<Vec<plonky2::field::polynomial::PolynomialCoeffs<$crate::F>>, $crate::GpuError> {
                let $s = self;
                $crate::ops::ifft_batch($exec, values)
            }
            fn fft_batch(
                &self,
                coeffs: &[plonky2::field::polynomial::PolynomialCoeffs<$crate::F>],
            ) -> Result<Vec<plonky2::field::polynomial::PolynomialValues<$crate::F>>, $crate::GpuError> {
                let $s = self;
                $crate::ops::fft_batch($exec, coeffs)
            }
            fn coset_lde_leaves(
                &self,
                coeffs: &[plonky2::field::polynomial::PolynomialCoeffs<$crate::F>],
                rate_bits: usize,
            ) -> Result<Vec<Vec<$crate::F>>, $crate::GpuError> {
                let $s = self;
                $crate::ops::coset_lde_leaves($exec, coeffs, rate_bits)
            }
            fn poseidon_permute_batch(
                &self,
                states: &[[$crate::F; 12]],
            ) -> Result<Vec<[$crate::F; 12]>, $crate::GpuError> {
                let $s = self;
                $crate::ops::poseidon_permute_batch($exec, states)
            }
            fn hash_or_noop_batch(
                &self,
                inputs: &[Vec<$crate::F>],
            ) -> Result<Vec<plonky2::hash::hash_types::HashOut<$crate::F>>, $crate::GpuError> {
                let $s = self;
                $crate::ops::hash_or_noop_batch($exec, inputs)
            }
            fn merkle_tree(
                &self,
                leaves: Vec<Vec<$crate::F>>,
                cap_height: usize,
            ) -> Result<
                plonky2::hash::merkle_tree::MerkleTree<$crate::F, plonky2::hash::poseidon::PoseidonHash>,
                $crate::GpuError,
            > {
                let $s = self;
                $crate::ops::merkle_tree($exec, leaves, cap_height)
            }
            fn commit_values(
                &self,
                values: &[plonky2::field::polynomial::PolynomialValues<$crate::F>],
                rate_bits: usize,
                cap_height: usize,
            ) -> Result<$crate::Commitment, $crate::GpuError> {
                let $s = self;
                $crate::ops::commit($exec, $crate::ops::CommitInput::Values(values), rate_bits, cap_height)
            }
            fn commit_coeffs(
                &self,
                coeffs: &[plonky2::field::polynomial::PolynomialCoeffs<$crate::F>],
                rate_bits: usize,
                cap_height: usize,
            ) -> Result<$crate::Commitment, $crate::GpuError> {
                let $s = self;
                $crate::ops::commit($exec, $crate::ops::CommitInput::Coeffs(coeffs), rate_bits, cap_height)
            }
        }
    };
}
pub(crate) use impl_kernels;

impl_kernels!(HostKernels, |s| s, {
    let _ = s;
    "host C++ build of the CUDA kernels (1 thread)".to_string()
});

#[cfg(test)]
mod tests {
    /// Provers move backends into worker threads; both must stay Send + Sync.
    #[test]
    fn backends_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::HostKernels>();
        send_sync::<crate::cuda::CudaKernels>();
        send_sync::<crate::GpuError>();
    }
}
