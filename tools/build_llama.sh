#!/usr/bin/env bash
# Build and install llama-cpp-python for the Omni-Prompt's local model, around llama.cpp's AMX fast path.
#
# Why: llama.cpp's AMX matmul (ggml_backend_amx_mul_mat) segfaults at the first decode on some Xeon machine
# types (upstream llama.cpp issue 20824, closed stale without a fix). A default source build uses
# -march=native, which turns AMX on wherever the compiler sees it. We build with GGML_NATIVE=OFF instead and
# enable, one by one, only the x86 extensions this CPU reports, with the three AMX switches always OFF, so
# the AMX code is never compiled in (it is guarded by __AMX_INT8__ in ggml-cpu/amx/).
#
# The built wheel is kept in a folder keyed by the version and the exact CMake flags, so a wheel built
# with other flags (pip's own wheel cache keys on the sdist URL only) can never be picked up by mistake.
# pip's HTTP cache is used for the sdist and the build dependencies.
#
# Usage: tools/build_llama.sh [path/to/python]     (default: .venv/bin/python)
#        tools/build_llama.sh --print-cmake-args    (the flags for this CPU, nothing built)
# Env:   LLAMA_CPP_VERSION (default 0.3.36), PROXIMITY_LLAMA_WHEELS (wheel folder), EXTRA_CMAKE_ARGS.
set -euo pipefail

PRINT_ONLY=0
if [ "${1:-}" = "--print-cmake-args" ]; then
    PRINT_ONLY=1
    shift
fi
PYTHON="${1:-.venv/bin/python}"
VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
WHEEL_ROOT="${PROXIMITY_LLAMA_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/proximity/llama-cpp-wheels}"

cpu_has() { grep -m1 -E '^flags' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' | grep -qx "$1"; }
on_off() { if cpu_has "$1"; then echo ON; else echo OFF; fi; }

cmake_args() {
    local arch
    arch="$(uname -m)"
    if [ "$arch" != "x86_64" ]; then
        # AMX exists only on x86; elsewhere llama.cpp's native defaults are safe.
        echo "-DGGML_NATIVE=ON"
        return
    fi
    local avx512=OFF
    # ggml's GGML_AVX512 switch turns on F, CD, VL, DQ and BW together.
    if cpu_has avx512f && cpu_has avx512cd && cpu_has avx512vl && cpu_has avx512dq && cpu_has avx512bw; then
        avx512=ON
    fi
    local vbmi=OFF vnni=OFF bf16=OFF
    if [ "$avx512" = ON ]; then
        vbmi="$(on_off avx512vbmi)"
        vnni="$(on_off avx512_vnni)"
        bf16="$(on_off avx512_bf16)"
    fi
    echo "-DGGML_NATIVE=OFF -DGGML_SSE42=$(on_off sse4_2) -DGGML_AVX=$(on_off avx) -DGGML_AVX2=$(on_off avx2)" \
         "-DGGML_FMA=$(on_off fma) -DGGML_F16C=$(on_off f16c) -DGGML_BMI2=$(on_off bmi2)" \
         "-DGGML_AVX_VNNI=$(on_off avx_vnni)" \
         "-DGGML_AVX512=$avx512 -DGGML_AVX512_VBMI=$vbmi -DGGML_AVX512_VNNI=$vnni -DGGML_AVX512_BF16=$bf16" \
         "-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
}

CMAKE_ARGS="$(cmake_args) ${EXTRA_CMAKE_ARGS:-}"
CMAKE_ARGS="$(echo "$CMAKE_ARGS" | tr -s ' ' | sed 's/ *$//')"
if [ "$PRINT_ONLY" = 1 ]; then
    echo "$CMAKE_ARGS"
    exit 0
fi
KEY="$(printf '%s|%s' "$VERSION" "$CMAKE_ARGS" | sha256sum | cut -c1-16)"
WHEEL_DIR="$WHEEL_ROOT/$VERSION-$KEY"
STAMP_CONTENT="llama-cpp-python==$VERSION $CMAKE_ARGS"
VENV_STAMP="$("$PYTHON" -c 'import sys; print(sys.prefix)')/.proximity-llama-build"

if [ -f "$VENV_STAMP" ] && [ "$(cat "$VENV_STAMP")" = "$STAMP_CONTENT" ] \
   && "$PYTHON" -c 'import llama_cpp' 2>/dev/null; then
    echo "llama-cpp-python $VERSION already built with these flags"
    exit 0
fi

echo "CMAKE_ARGS=$CMAKE_ARGS"
if ! ls "$WHEEL_DIR"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
    mkdir -p "$WHEEL_DIR/src"
    "$PYTHON" -m pip download --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$WHEEL_DIR/src"
    # The sdist's path contains the key, so pip's wheel cache (keyed on that path) cannot mix builds.
    CMAKE_ARGS="$CMAKE_ARGS" FORCE_CMAKE=1 CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$PYTHON" -m pip wheel --no-deps -w "$WHEEL_DIR" "$WHEEL_DIR/src/llama_cpp_python-$VERSION.tar.gz"
fi
WHEEL="$(ls "$WHEEL_DIR"/llama_cpp_python-"$VERSION"-*.whl | head -n1)"
"$PYTHON" -m pip install --no-deps --force-reinstall "$WHEEL"
"$PYTHON" -m pip install "$WHEEL"   # its dependencies (numpy, jinja2, diskcache), left alone if present

# Refuse a build that still reports AMX: it is the path that crashes.
"$PYTHON" - <<'EOF'
import sys
import llama_cpp

info = llama_cpp.llama_print_system_info().decode()
if "AMX_INT8 = 1" in info:
    sys.exit(f"llama.cpp was built with AMX, which segfaults on some CPUs: {info}")
print("llama.cpp system info:", info.strip())
EOF
echo "$STAMP_CONTENT" > "$VENV_STAMP"
