//! Compiles the CUDA kernel sources as host C++ (see host/launchers.cpp) so that every kernel can be tested
//! against plonky2 on machines without a GPU. Needs only a C++ compiler, never a CUDA toolkit.

fn main() {
    for path in [
        "host/launchers.cpp",
        "cuda/compat.cuh",
        "cuda/goldilocks.cuh",
        "cuda/poseidon_constants.cuh",
        "cuda/poseidon.cuh",
        "cuda/ntt.cu",
        "cuda/poseidon.cu",
        "cuda/merkle.cu",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    cc::Build::new()
        .cpp(true)
        .file("host/launchers.cpp")
        .flag_if_supported("-std=c++17")
        .opt_level(3)
        .warnings(true)
        .compile("zkr_host_kernels");
}
