//! The judge's hand-written CUDA kernel (`src/judge/kernels/flash2.cu`) is compiled at run time on
//! the GPU, so a broken source would only show there, and CI has no GPU. NVRTC compiles without
//! a GPU or a driver: this test runs `scripts/dev/check-cuda-kernels.py`, which compiles the kernel
//! as `flash2.rs` does, for sm_80 and sm_90, and fails on a compile error or a register spill.
//!
//! It needs NVRTC (`scripts/dev/fetch-nvrtc.sh`, from PyPI), so it runs only with
//! `DEEPPRUNE_NVRTC_TESTS=1` (`.ci/run` fetches NVRTC and sets it); otherwise it says so and
//! passes without checking anything. `DEEPPRUNE_NVRTC_LIB` names another library folder.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn the_flash2_kernel_compiles_for_ampere_and_hopper_without_spills() {
    if !std::env::var("DEEPPRUNE_NVRTC_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("skipped: set DEEPPRUNE_NVRTC_TESTS=1 (and run scripts/dev/fetch-nvrtc.sh) to compile the CUDA kernel with NVRTC");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = match std::env::var_os("DEEPPRUNE_NVRTC_LIB") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/deepprune/nvrtc/lib"),
    };
    assert!(lib.join("libnvrtc.so.13").exists(), "no NVRTC in {}: run scripts/dev/fetch-nvrtc.sh", lib.display());
    let out = Command::new("python3")
        .arg(root.join("scripts/dev/check-cuda-kernels.py"))
        .arg(&lib)
        .output()
        .expect("running python3 scripts/dev/check-cuda-kernels.py");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{report}");
    assert!(out.status.success(), "the flash2 kernel does not compile cleanly:\n{report}");
    assert!(report.contains("sm_80: compiles") && report.contains("sm_90: compiles"), "{report}");
}
