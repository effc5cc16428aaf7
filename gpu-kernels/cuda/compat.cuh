// Host compatibility layer: lets the kernel sources in this folder compile as ordinary C++ (never seen by NVRTC).
// Each kernel is then a plain function that reads the thread coordinates below; host/launchers.cpp calls it
// once per (block, thread) of the grid, which is valid because the kernels never share memory or synchronise.
#ifndef ZKR_COMPAT_CUH
#define ZKR_COMPAT_CUH
#if defined(__CUDACC__)
#error "compat.cuh is for the host build only"
#endif

#define __global__
#define __device__
#define __constant__
#define __forceinline__ inline

struct zkr_dim3 {
    unsigned int x;
    unsigned int y;
    unsigned int z;
};

// thread_local: two Rust test threads may run host launches at the same time.
static thread_local zkr_dim3 threadIdx;
static thread_local zkr_dim3 blockIdx;
static thread_local zkr_dim3 blockDim;
static thread_local zkr_dim3 gridDim;

#endif
