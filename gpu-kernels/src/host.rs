//! The kernels compiled as host C++ (build.rs) and launched by a loop over the grid, one thread at a time.
//! This is the reference implementation used to test the CUDA sources without a GPU; it is not fast.
// FFI into the C++ build of the kernels needs `unsafe`; every call passes buffers whose lengths were checked
// against the launch size by the callers in this module.
#![allow(unsafe_code)]

use crate::error::GpuError;
use crate::exec::Exec;

type U64 = u64;

extern "C" {
    fn zkr_host_powers(out: *mut U64, base: U64, count: U64);
    fn zkr_host_ntt_dif_stage(data: *mut U64, twiddles: *const U64, log_n: u32, stage: u32, total: U64);
    fn zkr_host_bitrev_scale(src: *const U64, dst: *mut U64, log_n: u32, scale: U64, total: U64);
    fn zkr_host_coset_expand(
        coeffs: *const U64,
        shift_powers: *const U64,
        lde: *mut U64,
        log_n: u32,
        rate_bits: u32,
        total: U64,
    );
    fn zkr_host_transpose(cols: *const U64, rows: *mut U64, len: U64, batch: U64, total: U64);
    fn zkr_host_poseidon_permute_batch(states: *mut U64, count: U64);
    fn zkr_host_hash_or_noop_batch(inputs: *const U64, len: U64, digests: *mut U64, count: U64);
    fn zkr_host_merkle_leaves(
        leaves: *const U64,
        leaf_len: U64,
        digests: *mut U64,
        cap: *mut U64,
        sub_layers: u32,
        num_leaves: U64,
    );
    fn zkr_host_merkle_layer(digests: *mut U64, cap: *mut U64, layer: u32, sub_layers: u32, num_nodes: U64);
}

/// Runs the CUDA kernel sources on the CPU (single thread). Always available.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostKernels;

impl HostKernels {
    pub fn new() -> Self {
        Self
    }
}

/// Fails (instead of reading out of bounds) when a buffer is shorter than a launch needs.
fn need(op: &'static str, buf: &[u64], len: u64) -> Result<(), GpuError> {
    if (buf.len() as u64) < len {
        return Err(GpuError::invalid(op, format!("buffer holds {} elements, launch needs {len}", buf.len())));
    }
    Ok(())
}

impl Exec for HostKernels {
    type Buf = Vec<u64>;

    fn check_fits(&self, _job: &str, _bytes: u64) -> Result<(), GpuError> {
        Ok(())
    }

    fn upload(&self, data: &[u64]) -> Result<Vec<u64>, GpuError> {
        Ok(data.to_vec())
    }

    fn zeros(&self, len: usize) -> Result<Vec<u64>, GpuError> {
        Ok(vec![0; len])
    }

    fn download(&self, buf: &Vec<u64>, len: usize) -> Result<Vec<u64>, GpuError> {
        need("download", buf, len as u64)?;
        Ok(buf[..len].to_vec())
    }

    fn powers(&self, out: &mut Vec<u64>, base: u64, count: u64) -> Result<(), GpuError> {
        need("powers", out, count)?;
        unsafe { zkr_host_powers(out.as_mut_ptr(), base, count) };
        Ok(())
    }

    fn dif_stage(
        &self,
        data: &mut Vec<u64>,
        tw: &Vec<u64>,
        log_n: u32,
        stage: u32,
        total: u64,
    ) -> Result<(), GpuError> {
        need("dif_stage", data, total * 2)?;
        need("dif_stage twiddles", tw, (1u64 << log_n) / 2)?;
        unsafe { zkr_host_ntt_dif_stage(data.as_mut_ptr(), tw.as_ptr(), log_n, stage, total) };
        Ok(())
    }

    fn bitrev_scale(
        &self,
        src: &Vec<u64>,
        dst: &mut Vec<u64>,
        log_n: u32,
        scale: u64,
        total: u64,
    ) -> Result<(), GpuError> {
        need("bitrev_scale src", src, total)?;
        need("bitrev_scale dst", dst, total)?;
        unsafe { zkr_host_bitrev_scale(src.as_ptr(), dst.as_mut_ptr(), log_n, scale, total) };
        Ok(())
    }

    fn coset_expand(
        &self,
        coeffs: &Vec<u64>,
        shift_powers: &Vec<u64>,
        lde: &mut Vec<u64>,
        log_n: u32,
        rate_bits: u32,
        total: u64,
    ) -> Result<(), GpuError> {
        need("coset_expand coeffs", coeffs, total >> rate_bits)?;
        need("coset_expand shift powers", shift_powers, 1u64 << log_n)?;
        need("coset_expand lde", lde, total)?;
        unsafe {
            zkr_host_coset_expand(coeffs.as_ptr(), shift_powers.as_ptr(), lde.as_mut_ptr(), log_n, rate_bits, total)
        };
        Ok(())
    }

    fn transpose(
        &self,
        cols: &Vec<u64>,
        rows: &mut Vec<u64>,
        len: u64,
        batch: u64,
        total: u64,
    ) -> Result<(), GpuError> {
        need("transpose cols", cols, len * batch)?;
        need("transpose rows", rows, total)?;
        unsafe { zkr_host_transpose(cols.as_ptr(), rows.as_mut_ptr(), len, batch, total) };
        Ok(())
    }

    fn permute(&self, states: &mut Vec<u64>, count: u64) -> Result<(), GpuError> {
        need("permute", states, count * 12)?;
        unsafe { zkr_host_poseidon_permute_batch(states.as_mut_ptr(), count) };
        Ok(())
    }

    fn hash_or_noop(&self, inputs: &Vec<u64>, len: u64, digests: &mut Vec<u64>, count: u64) -> Result<(), GpuError> {
        need("hash_or_noop inputs", inputs, len * count)?;
        need("hash_or_noop digests", digests, 4 * count)?;
        unsafe { zkr_host_hash_or_noop_batch(inputs.as_ptr(), len, digests.as_mut_ptr(), count) };
        Ok(())
    }

    fn merkle_leaves(
        &self,
        leaves: &Vec<u64>,
        leaf_len: u64,
        digests: &mut Vec<u64>,
        cap: &mut Vec<u64>,
        sub_layers: u32,
        num_leaves: u64,
    ) -> Result<(), GpuError> {
        need("merkle_leaves leaves", leaves, leaf_len * num_leaves)?;
        let cap_len = num_leaves >> sub_layers;
        need("merkle_leaves digests", digests, 4 * 2 * (num_leaves - cap_len))?;
        need("merkle_leaves cap", cap, 4 * cap_len)?;
        unsafe {
            zkr_host_merkle_leaves(
                leaves.as_ptr(),
                leaf_len,
                digests.as_mut_ptr(),
                cap.as_mut_ptr(),
                sub_layers,
                num_leaves,
            )
        };
        Ok(())
    }

    fn merkle_layer(
        &self,
        digests: &mut Vec<u64>,
        cap: &mut Vec<u64>,
        layer: u32,
        sub_layers: u32,
        nodes: u64,
    ) -> Result<(), GpuError> {
        if layer == 0 || layer > sub_layers {
            return Err(GpuError::invalid("merkle_layer", format!("layer {layer} outside 1..={sub_layers}")));
        }
        let num_leaves = nodes << layer;
        let cap_len = num_leaves >> sub_layers;
        need("merkle_layer digests", digests, 4 * 2 * (num_leaves - cap_len))?;
        need("merkle_layer cap", cap, 4 * cap_len)?;
        unsafe { zkr_host_merkle_layer(digests.as_mut_ptr(), cap.as_mut_ptr(), layer, sub_layers, nodes) };
        Ok(())
    }
}
