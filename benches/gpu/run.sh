#!/usr/bin/env bash
# GPU check + benchmark for zkr, for the first CUDA host it runs on. Non-interactive; see README.md.
#   benches/gpu/run.sh            # everything
# Environment (all optional):
#   ZKR_BENCH_SIZES=12,16,20      log2 polynomial sizes for the kernel table
#   ZKR_BENCH_POLYS=100           polynomials per batch
#   ZKR_BENCH_RATE_BITS=3         LDE blowup
#   ZKR_NVRTC_LIB_DIR=/path       directory holding libnvrtc.so.12 (skips the pip lookup/install)
#   CUDA_VISIBLE_DEVICES          as usual; device 0 of what is visible is used
set -euo pipefail

die() { echo "run.sh: ERROR: $*" >&2; exit 1; }
step() { echo; echo "==== $* ===="; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$ROOT/benches/gpu/results/$STAMP"
mkdir -p "$OUT"

step "1/6 driver"
command -v nvidia-smi >/dev/null 2>&1 || die "nvidia-smi not found: this script needs a CUDA host with the NVIDIA driver installed"
nvidia-smi --query-gpu=index,name,driver_version,compute_cap,memory.total,memory.free --format=csv \
    | tee "$OUT/nvidia-smi.csv" || die "nvidia-smi failed: the driver is installed but not working (see its message above)"
nvidia-smi >/dev/null 2>&1 || die "nvidia-smi reports an error"

step "2/6 NVRTC (libnvrtc.so.12)"
if [[ -n "${ZKR_NVRTC_LIB_DIR:-}" ]]; then
    NVRTC_DIR="$ZKR_NVRTC_LIB_DIR"
else
    PY="$(command -v python3 || true)"
    [[ -n "$PY" ]] || die "python3 not found; install the wheel nvidia-cuda-nvrtc-cu12 yourself and set ZKR_NVRTC_LIB_DIR"
    find_nvrtc() {
        "$PY" -c 'import os, nvidia.cuda_nvrtc as m; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null || true
    }
    NVRTC_DIR="$(find_nvrtc)"
    if [[ -z "$NVRTC_DIR" ]]; then
        echo "installing the PyPI wheel nvidia-cuda-nvrtc-cu12 (user site)"
        "$PY" -m pip install --quiet --user nvidia-cuda-nvrtc-cu12 \
            || "$PY" -m pip install --quiet nvidia-cuda-nvrtc-cu12 \
            || "$PY" -m pip install --quiet --user --break-system-packages nvidia-cuda-nvrtc-cu12 \
            || die "pip install nvidia-cuda-nvrtc-cu12 failed; install it or set ZKR_NVRTC_LIB_DIR"
        NVRTC_DIR="$(find_nvrtc)"
    fi
fi
[[ -e "$NVRTC_DIR/libnvrtc.so.12" ]] || die "no libnvrtc.so.12 in '$NVRTC_DIR'"
export LD_LIBRARY_PATH="$NVRTC_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ZKR_REQUIRE_NVRTC=1
echo "libnvrtc: $NVRTC_DIR"

step "3/6 build (release)"
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
cargo build --release -p zkr-gpu-kernels --example kernel-bench --features gpu-device-tests \
    || die "building zkr-gpu-kernels failed (see the compiler output above)"
cargo build --release -p zkr || die "building the zkr binary failed (see the compiler output above)"

step "4/6 GPU vs CPU outputs (gpu-device-tests)"
cargo test --release -p zkr-gpu-kernels --features gpu-device-tests 2>&1 | tee "$OUT/device-tests.log" \
    || die "device tests failed (GPU output differs from plonky2, or the device could not be used); see $OUT/device-tests.log"

step "5/6 kernel timings: GPU vs plonky2 CPU"
cargo run --release -p zkr-gpu-kernels --example kernel-bench -- \
    --backend cuda \
    --sizes "${ZKR_BENCH_SIZES:-12,16,20}" \
    --polys "${ZKR_BENCH_POLYS:-100}" \
    --rate-bits "${ZKR_BENCH_RATE_BITS:-3}" \
    | tee "$OUT/kernel-bench.md" \
    || die "kernel-bench failed; see $OUT/kernel-bench.md"

step "6/6 full batch proofs: CPU vs CUDA backend"
cargo run --release -p zkr -- bench backends 2>&1 | tee "$OUT/bench-backends.md" \
    || die "'zkr bench backends' failed; see $OUT/bench-backends.md"

echo
echo "done: results in $OUT"
