//! CUDA at run time: device probing, NVRTC compilation of the kernel sources and the launches.
//!
//! Nothing here links against CUDA: cudarc loads libcuda / libnvrtc dynamically. cudarc panics when a library
//! or symbol is missing, so every entry point first checks with a plain dlopen and then runs the cudarc calls
//! inside `catch_unwind`; callers only ever see [`GpuError`].
// FFI is unavoidable here: the dlopen checks, kernel launches (cudarc marks them unsafe because argument types
// cannot be checked) and NVRTC's CUBIN getters, which cudarc only exposes as raw bindings.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::Ptx;
use tracing::{debug, info_span};

use crate::constants::{full_program_source, KERNEL_NAMES};
use crate::error::GpuError;
use crate::exec::Exec;

/// Threads per block of every launch (the kernels use no shared memory, so any size works).
const BLOCK: u32 = 256;
/// Device memory left unused by a job: the driver, other processes and fragmentation need some.
const MEMORY_RESERVE_BYTES: u64 = 256 << 20;

const NVRTC_HINT: &str = "install it with `pip install nvidia-cuda-nvrtc-cu12` and add \
    <site-packages>/nvidia/cuda_nvrtc/lib to LD_LIBRARY_PATH";

/// What [`probe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuInfo {
    pub ordinal: usize,
    pub name: String,
    /// (major, minor), e.g. (9, 0) for an H100.
    pub compute_capability: (i32, i32),
    pub total_memory_bytes: u64,
    pub free_memory_bytes: u64,
}

impl GpuInfo {
    /// The NVRTC/CUBIN architecture name, e.g. `sm_90`.
    pub fn arch(&self) -> String {
        format!("sm_{}{}", self.compute_capability.0, self.compute_capability.1)
    }
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Runs a cudarc call, turning both its errors and its panics into [`GpuError`].
fn guard<T, E: std::fmt::Display>(op: &'static str, f: impl FnOnce() -> Result<T, E>) -> Result<T, GpuError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(GpuError::Driver { op, message: e.to_string() }),
        Err(p) => Err(GpuError::Panicked { op, message: panic_text(p) }),
    }
}

/// Whether the NVIDIA driver library (libcuda.so.1 and cudarc's other candidate names) can be dlopen'ed.
pub fn driver_available() -> bool {
    // `is_culib_present` only tries `Library::new` on cudarc's candidate names (no symbol lookups).
    catch_unwind(|| unsafe { cudarc::driver::sys::is_culib_present() }).unwrap_or(false)
}

/// Whether libnvrtc (e.g. libnvrtc.so.12) can be dlopen'ed.
pub fn nvrtc_available() -> bool {
    catch_unwind(|| unsafe { cudarc::nvrtc::sys::is_culib_present() }).unwrap_or(false)
}

fn require_driver() -> Result<(), GpuError> {
    if driver_available() {
        Ok(())
    } else {
        Err(GpuError::LibraryMissing {
            library: "libcuda.so.1",
            hint: "no NVIDIA driver found; install the NVIDIA driver or run on the CPU backend",
        })
    }
}

fn require_nvrtc() -> Result<(), GpuError> {
    if nvrtc_available() {
        Ok(())
    } else {
        Err(GpuError::LibraryMissing { library: "libnvrtc.so.12", hint: NVRTC_HINT })
    }
}

fn open(ordinal: usize) -> Result<(Arc<CudaContext>, GpuInfo), GpuError> {
    require_driver()?;
    guard("cuInit", cudarc::driver::result::init)?;
    let count = guard("cuDeviceGetCount", CudaContext::device_count)?;
    if ordinal >= count.max(0) as usize {
        return Err(GpuError::NoDevice { ordinal, count: count.max(0) as usize });
    }
    let ctx = guard("cuDevicePrimaryCtxRetain", || CudaContext::new(ordinal))?;
    let name = guard("cuDeviceGetName", || ctx.name())?;
    let compute_capability = guard("cuDeviceGetAttribute", || ctx.compute_capability())?;
    let (free, total) = guard("cuMemGetInfo", || ctx.mem_get_info())?;
    let info =
        GpuInfo { ordinal, name, compute_capability, total_memory_bytes: total as u64, free_memory_bytes: free as u64 };
    Ok((ctx, info))
}

/// Looks for CUDA device `ordinal`. Never panics: without a driver or device it returns an error.
pub fn probe(ordinal: usize) -> Result<GpuInfo, GpuError> {
    open(ordinal).map(|(_, info)| info)
}

/// NVRTC output kind.
#[derive(Clone, Copy)]
enum Output {
    Ptx,
    Cubin,
}

/// Compiles one NVRTC program. `arch` is `sm_XY` (CUBIN) or `compute_XY` (PTX).
fn nvrtc_compile(program: &str, src: &str, arch: &str, output: Output) -> Result<Vec<u8>, GpuError> {
    use cudarc::nvrtc::{result, sys};
    require_nvrtc()?;
    let compile_err = |log: String| GpuError::Compile { program: program.to_string(), arch: arch.to_string(), log };
    let c_src = CString::new(src).map_err(|_| compile_err("source contains a NUL byte".into()))?;
    let c_name = CString::new(program).map_err(|_| compile_err("program name contains a NUL byte".into()))?;
    let options = vec![format!("--gpu-architecture={arch}"), "--std=c++17".to_string()];
    let run = || -> Result<Vec<u8>, GpuError> {
        let prog = result::create_program(&c_src, Some(&c_name)).map_err(|e| compile_err(e.to_string()))?;
        let out = (|| {
            if let Err(e) = unsafe { result::compile_program(prog, &options) } {
                let log = unsafe { result::get_program_log(prog) }
                    .map(|l| l.iter().take_while(|&&c| c != 0).map(|&c| c as u8 as char).collect::<String>())
                    .unwrap_or_default();
                return Err(compile_err(format!("{e}: {log}")));
            }
            match output {
                Output::Ptx => {
                    let ptx = unsafe { result::get_ptx(prog) }.map_err(|e| compile_err(e.to_string()))?;
                    Ok(ptx.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect())
                }
                Output::Cubin => {
                    let mut size = 0usize;
                    unsafe { sys::nvrtcGetCUBINSize(prog, &mut size) }
                        .result()
                        .map_err(|e| compile_err(e.to_string()))?;
                    let mut buf = vec![0u8; size];
                    unsafe { sys::nvrtcGetCUBIN(prog, buf.as_mut_ptr().cast()) }
                        .result()
                        .map_err(|e| compile_err(e.to_string()))?;
                    Ok(buf)
                }
            }
        })();
        let _ = unsafe { result::destroy_program(prog) };
        out
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(p) => Err(GpuError::Panicked { op: "nvrtc", message: panic_text(p) }),
    }
}

/// `sm_90` / `compute_90` / `90` -> `compute_90`.
fn virtual_arch(arch: &str) -> Result<String, GpuError> {
    let digits = arch.trim_start_matches("sm_").trim_start_matches("compute_");
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(GpuError::invalid(
            "compile_ptx",
            format!("architecture `{arch}`: expected e.g. sm_80 or compute_90"),
        ));
    }
    Ok(format!("compute_{digits}"))
}

/// Compiles the whole kernel bundle to PTX for `arch` (e.g. `sm_80`, `sm_90`) with NVRTC.
/// Returns [`GpuError::LibraryMissing`] (never panics) when libnvrtc is not loadable.
pub fn compile_ptx(arch: &str) -> Result<String, GpuError> {
    compile_source_to_ptx("zkr_kernels.cu", &full_program_source(), arch)
}

/// Compiles one NVRTC program (e.g. from [`crate::constants::program_source`]) to PTX for `arch`.
pub fn compile_source_to_ptx(program: &str, src: &str, arch: &str) -> Result<String, GpuError> {
    let arch = virtual_arch(arch)?;
    let bytes = nvrtc_compile(program, src, &arch, Output::Ptx)?;
    String::from_utf8(bytes).map_err(|_| GpuError::Compile {
        program: program.to_string(),
        arch,
        log: "NVRTC returned PTX that is not UTF-8".into(),
    })
}

/// Compiles the whole kernel bundle to a CUBIN (ELF) for a real architecture `sm_XY`: what
/// [`CudaKernels::new`] loads, so that the driver never has to JIT PTX from a newer NVRTC than itself.
pub fn compile_cubin(arch: &str) -> Result<Vec<u8>, GpuError> {
    let digits = arch.strip_prefix("sm_").unwrap_or("");
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(GpuError::invalid("compile_cubin", format!("architecture `{arch}`: expected e.g. sm_90")));
    }
    nvrtc_compile("zkr_kernels.cu", &full_program_source(), arch, Output::Cubin)
}

struct Functions {
    powers: CudaFunction,
    dif_stage: CudaFunction,
    bitrev_scale: CudaFunction,
    coset_expand: CudaFunction,
    transpose: CudaFunction,
    permute: CudaFunction,
    hash_or_noop: CudaFunction,
    merkle_leaves: CudaFunction,
    merkle_layer: CudaFunction,
}

/// The kernels on one CUDA device, compiled at construction for the device's architecture.
pub struct CudaKernels {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    _module: Arc<CudaModule>,
    f: Functions,
    info: GpuInfo,
}

impl std::fmt::Debug for CudaKernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaKernels").field("info", &self.info).finish_non_exhaustive()
    }
}

impl CudaKernels {
    /// Opens device `ordinal` and compiles the kernels for it (CUBIN for its exact `sm_XY`, so the driver need
    /// not understand the PTX version of the NVRTC in use). Fails cleanly without driver, device or NVRTC.
    pub fn new(ordinal: usize) -> Result<Self, GpuError> {
        let _span = info_span!("cuda_kernels_new", ordinal).entered();
        let (ctx, info) = open(ordinal)?;
        let arch = info.arch();
        let cubin = compile_cubin(&arch)?;
        debug!(arch, bytes = cubin.len(), "compiled kernels");
        let module = guard("cuModuleLoadData", || ctx.load_module(Ptx::from_binary(cubin)))?;
        let load = |name: &'static str| guard("cuModuleGetFunction", || module.load_function(name));
        debug_assert_eq!(KERNEL_NAMES.len(), 9);
        let f = Functions {
            powers: load("zkr_powers")?,
            dif_stage: load("zkr_ntt_dif_stage")?,
            bitrev_scale: load("zkr_bitrev_scale")?,
            coset_expand: load("zkr_coset_expand")?,
            transpose: load("zkr_transpose")?,
            permute: load("zkr_poseidon_permute_batch")?,
            hash_or_noop: load("zkr_hash_or_noop_batch")?,
            merkle_leaves: load("zkr_merkle_leaves")?,
            merkle_layer: load("zkr_merkle_layer")?,
        };
        let stream = guard("cuStreamCreate", || ctx.new_stream())?;
        Ok(Self { ctx, stream, _module: module, f, info })
    }

    /// The device as probed when the kernels were built (free memory is re-read per job).
    pub fn info(&self) -> &GpuInfo {
        &self.info
    }

    /// Bytes of device memory free right now.
    pub fn free_memory_bytes(&self) -> Result<u64, GpuError> {
        guard("cuMemGetInfo", || self.ctx.mem_get_info()).map(|(free, _)| free as u64)
    }

    /// Waits for all queued work.
    pub fn synchronize(&self) -> Result<(), GpuError> {
        guard("cuStreamSynchronize", || self.stream.synchronize())
    }

    fn config(op: &'static str, total: u64) -> Result<LaunchConfig, GpuError> {
        let blocks = total.div_ceil(BLOCK as u64);
        let grid = u32::try_from(blocks)
            .ok()
            .filter(|&g| g <= i32::MAX as u32)
            .ok_or_else(|| GpuError::invalid(op, format!("{total} threads exceed the maximum grid")))?;
        Ok(LaunchConfig { grid_dim: (grid, 1, 1), block_dim: (BLOCK, 1, 1), shared_mem_bytes: 0 })
    }
}

/// Launches `$func` over `$total` threads with the given kernel arguments (in the C signature's order and types).
macro_rules! launch {
    ($self:ident, $op:literal, $func:ident, $total:expr, [$($arg:expr),* $(,)?]) => {{
        let total: u64 = $total;
        if total == 0 {
            return Ok(());
        }
        let cfg = CudaKernels::config($op, total)?;
        guard($op, || {
            let mut b = $self.stream.launch_builder(&$self.f.$func);
            $( b.arg($arg); )*
            // SAFETY: the arguments match the kernel's C signature; buffer sizes were checked by `need`.
            unsafe { b.launch(cfg) }.map(|_| ())
        })
    }};
}

fn need(op: &'static str, buf: &CudaSlice<u64>, len: u64) -> Result<(), GpuError> {
    if (buf.len() as u64) < len {
        return Err(GpuError::invalid(op, format!("device buffer holds {} elements, launch needs {len}", buf.len())));
    }
    Ok(())
}

impl Exec for CudaKernels {
    type Buf = CudaSlice<u64>;

    fn check_fits(&self, job: &str, bytes: u64) -> Result<(), GpuError> {
        let free = self.free_memory_bytes()?;
        if bytes.saturating_add(MEMORY_RESERVE_BYTES) > free {
            return Err(GpuError::OutOfDeviceMemory {
                job: job.to_string(),
                device: format!("{} (device {})", self.info.name, self.info.ordinal),
                needed_bytes: bytes.saturating_add(MEMORY_RESERVE_BYTES),
                free_bytes: free,
            });
        }
        Ok(())
    }

    fn upload(&self, data: &[u64]) -> Result<CudaSlice<u64>, GpuError> {
        if data.is_empty() {
            return self.zeros(1);
        }
        guard("cuMemcpyHtoD", || self.stream.clone_htod(data))
    }

    fn zeros(&self, len: usize) -> Result<CudaSlice<u64>, GpuError> {
        guard("cuMemAlloc", || self.stream.alloc_zeros::<u64>(len.max(1)))
    }

    fn download(&self, buf: &CudaSlice<u64>, len: usize) -> Result<Vec<u64>, GpuError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        need("download", buf, len as u64)?;
        guard("cuMemcpyDtoH", || self.stream.clone_dtoh(&buf.slice(0..len)))
    }

    fn powers(&self, out: &mut CudaSlice<u64>, base: u64, count: u64) -> Result<(), GpuError> {
        need("powers", out, count)?;
        launch!(self, "zkr_powers", powers, count, [out, &base, &count])
    }

    fn dif_stage(
        &self,
        data: &mut CudaSlice<u64>,
        tw: &CudaSlice<u64>,
        log_n: u32,
        stage: u32,
        total: u64,
    ) -> Result<(), GpuError> {
        need("dif_stage", data, total * 2)?;
        need("dif_stage twiddles", tw, (1u64 << log_n) / 2)?;
        launch!(self, "zkr_ntt_dif_stage", dif_stage, total, [data, tw, &log_n, &stage, &total])
    }

    fn bitrev_scale(
        &self,
        src: &CudaSlice<u64>,
        dst: &mut CudaSlice<u64>,
        log_n: u32,
        scale: u64,
        total: u64,
    ) -> Result<(), GpuError> {
        need("bitrev_scale src", src, total)?;
        need("bitrev_scale dst", dst, total)?;
        launch!(self, "zkr_bitrev_scale", bitrev_scale, total, [src, dst, &log_n, &scale, &total])
    }

    fn coset_expand(
        &self,
        coeffs: &CudaSlice<u64>,
        shift_powers: &CudaSlice<u64>,
        lde: &mut CudaSlice<u64>,
        log_n: u32,
        rate_bits: u32,
        total: u64,
    ) -> Result<(), GpuError> {
        need("coset_expand coeffs", coeffs, total >> rate_bits)?;
        need("coset_expand shift powers", shift_powers, 1u64 << log_n)?;
        need("coset_expand lde", lde, total)?;
        launch!(self, "zkr_coset_expand", coset_expand, total, [coeffs, shift_powers, lde, &log_n, &rate_bits, &total])
    }

    fn transpose(
        &self,
        cols: &CudaSlice<u64>,
        rows: &mut CudaSlice<u64>,
        len: u64,
        batch: u64,
        total: u64,
    ) -> Result<(), GpuError> {
        need("transpose cols", cols, len * batch)?;
        need("transpose rows", rows, total)?;
        launch!(self, "zkr_transpose", transpose, total, [cols, rows, &len, &batch, &total])
    }

    fn permute(&self, states: &mut CudaSlice<u64>, count: u64) -> Result<(), GpuError> {
        need("permute", states, count * 12)?;
        launch!(self, "zkr_poseidon_permute_batch", permute, count, [states, &count])
    }

    fn hash_or_noop(
        &self,
        inputs: &CudaSlice<u64>,
        len: u64,
        digests: &mut CudaSlice<u64>,
        count: u64,
    ) -> Result<(), GpuError> {
        need("hash_or_noop inputs", inputs, len * count)?;
        need("hash_or_noop digests", digests, 4 * count)?;
        launch!(self, "zkr_hash_or_noop_batch", hash_or_noop, count, [inputs, &len, digests, &count])
    }

    fn merkle_leaves(
        &self,
        leaves: &CudaSlice<u64>,
        leaf_len: u64,
        digests: &mut CudaSlice<u64>,
        cap: &mut CudaSlice<u64>,
        sub_layers: u32,
        num_leaves: u64,
    ) -> Result<(), GpuError> {
        need("merkle_leaves leaves", leaves, leaf_len * num_leaves)?;
        let cap_len = num_leaves >> sub_layers;
        need("merkle_leaves digests", digests, 4 * 2 * (num_leaves - cap_len))?;
        need("merkle_leaves cap", cap, 4 * cap_len)?;
        launch!(
            self,
            "zkr_merkle_leaves",
            merkle_leaves,
            num_leaves,
            [leaves, &leaf_len, digests, cap, &sub_layers, &num_leaves]
        )
    }

    fn merkle_layer(
        &self,
        digests: &mut CudaSlice<u64>,
        cap: &mut CudaSlice<u64>,
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
        launch!(self, "zkr_merkle_layer", merkle_layer, nodes, [digests, cap, &layer, &sub_layers, &nodes])
    }
}

crate::impl_kernels!(
    CudaKernels,
    |s| s,
    format!("CUDA {} ({}), device {}", s.info.name, s.info.arch(), s.info.ordinal)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_names() {
        assert_eq!(virtual_arch("sm_90").unwrap(), "compute_90");
        assert_eq!(virtual_arch("compute_80").unwrap(), "compute_80");
        assert!(virtual_arch("sm_").is_err());
        assert!(virtual_arch("sm_9a").is_err());
        let info = GpuInfo {
            ordinal: 0,
            name: "x".into(),
            compute_capability: (8, 9),
            total_memory_bytes: 0,
            free_memory_bytes: 0,
        };
        assert_eq!(info.arch(), "sm_89");
    }

    #[test]
    fn launch_config_covers_every_thread() {
        let cfg = CudaKernels::config("t", 257).unwrap();
        assert_eq!((cfg.grid_dim.0, cfg.block_dim.0), (2, BLOCK));
        assert!(CudaKernels::config("t", u64::MAX).is_err());
    }
}
