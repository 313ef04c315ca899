#!/usr/bin/env python3
"""Compiles the judge's hand-written CUDA kernel (src/judge/kernels/flash2.cu) with NVRTC, as
flash2.rs does at run time, for the GPU generations it serves (sm_80 and sm_90), and checks
that it compiles and that ptxas spills no registers (the kernel is laid out to keep its scores in
registers; a spill would make it slower, not wrong). No GPU or driver is needed.

Usage: python3 scripts/dev/check-cuda-kernels.py LIB_DIR
  LIB_DIR holds libnvrtc.so.13 and libnvrtc-builtins.so.13.0 (scripts/dev/fetch-nvrtc.sh).
Prints one line per target with ptxas's register and spill counts; exits 1 on any failure.
"""
import ctypes
import os
import re
import sys

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "judge", "kernels", "flash2.cu")
# What flash2.rs passes (`ftz: Some(true)` and the device's `sm_XY`).
OPTIONS = ["--ftz=true"]
TARGETS = ["sm_80", "sm_90"]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    lib_dir = sys.argv[1]
    # NVRTC opens its builtins library by name; loading it first by path satisfies that.
    ctypes.CDLL(os.path.join(lib_dir, "libnvrtc-builtins.so.13.0"), mode=ctypes.RTLD_GLOBAL)
    nvrtc = ctypes.CDLL(os.path.join(lib_dir, "libnvrtc.so.13"))
    source = open(SOURCE, "rb").read()
    failed = False
    for target in TARGETS:
        ok, log = compile_for(nvrtc, source, target)
        spills = [int(n) for n in re.findall(r"(\d+) bytes spill stores", log)]
        registers = re.findall(r"Used (\d+) registers", log)
        if not ok:
            print(f"{target}: NVRTC failed:\n{log}")
            failed = True
        elif any(spills):
            print(f"{target}: compiles, but ptxas spills registers ({spills} bytes):\n{log}")
            failed = True
        else:
            print(f"{target}: compiles; {', '.join(registers)} registers, no spills")
    sys.exit(1 if failed else 0)


def compile_for(nvrtc, source, target):
    """Compiles `source` to a cubin for `target`; returns (success, NVRTC's log)."""
    program = ctypes.c_void_p()
    if nvrtc.nvrtcCreateProgram(ctypes.byref(program), source, b"flash2.cu", 0, None, None) != 0:
        return False, "nvrtcCreateProgram failed"
    options = [f"--gpu-architecture={target}", "-Xptxas=-v"] + OPTIONS
    array = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
    result = nvrtc.nvrtcCompileProgram(program, len(options), array)
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(program, log)
    nvrtc.nvrtcDestroyProgram(ctypes.byref(program))
    return result == 0, log.value.decode(errors="replace")


if __name__ == "__main__":
    main()
