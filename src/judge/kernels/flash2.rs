//! Flash attention in FlashAttention-2's design for the serving encoder on CUDA: a hand-written
//! CUDA C++ kernel (`flash2.cu`), compiled at run time by NVRTC (the compiler CubeCL itself uses)
//! and queued on CubeCL's stream as a custom op in burn's fusion stream.
//!
//! Why a second flash kernel: [`super::flash`], written in CubeCL, keeps each block's scores in
//! shared memory between its two tensor-core products, because CubeCL 0.10's `cmma` fragments are
//! opaque; Nsight Compute measured it latency-bound on that round trip (1.64 ms per layer at 128
//! pairs of 512 tokens on an H100; docs/benchmarks.md). The fragments of PTX's
//! `mma.sync` have a documented layout, so here the scores, their online softmax and the
//! probabilities never leave registers: the accumulators of the score product, rounded to bf16,
//! are the left operand of the value product. `flash2.cu` says how the work is laid out.
//!
//! Scope: what [`super::flash`] covers (bf16 on burn's CUDA backend with fusion, heads of width
//! 32, lengths a multiple of 16), up to 512 tokens, on GPUs of compute capability 8.0 or newer.
//! [`attention`] returns `None` for anything else, and the caller falls back to
//! [`super::flash`] (for a full layer) or Burn's composition (for the `[CLS]`-only last layer).
//! Numerics are those of [`super::flash`]: scores and softmax in f32, probabilities rounded to
//! bf16 for the value product, the output rounded once; every sequence must have a real key.
//! Denormals flush to zero, so a probability below 2⁻¹²⁶ of its row's largest counts as 0.
//!
//! Where NVRTC or the driver fails (compiling, loading), a warning says why, once, and the
//! caller falls back the same way.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use super::flash::covers;

/// The longest sequence the kernel's shared key bias holds.
pub const MAX_LEN: usize = 512;

/// `softmax(q·kᵀ + padding) · v` for every head of a layer, heads merged, for the first
/// `queries` query rows of each sequence (`len` for all of them, 1 for the `[CLS]` row alone), or
/// `None` where the kernel does not apply (see the module docs).
///
/// - `qkv`: `[batch, len, 3 · hidden]`, the queries (already scaled by `1/√d`), keys and
///   values side by side, each `[heads × 32]` wide.
/// - `keys`: `[batch, len]`, 0 where the key is padding.
///
/// Returns `[batch, queries, hidden]`.
pub fn attention<B: Backend>(qkv: &Tensor<B, 3>, keys: &Tensor<B, 2, Int>, heads: usize, queries: usize) -> Option<Tensor<B, 3>> {
    let [_, len, width] = qkv.dims();
    if !covers(len, width, heads) || len > MAX_LEN || queries == 0 || queries > len {
        return None;
    }
    #[cfg(feature = "cuda")]
    {
        cuda::attention::<B>(qkv, keys, heads, queries)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = keys;
        None
    }
}

/// Whether [`attention`] runs for the backend `B` at all (bf16 CUDA with fusion, and the kernel
/// compiled), so a caller can skip preparing its input where it would not.
pub fn available<B: Backend>() -> bool {
    #[cfg(feature = "cuda")]
    {
        cuda::available::<B>()
    }
    #[cfg(not(feature = "cuda"))]
    {
        false
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use std::ffi::{c_void, CString};
    use std::sync::OnceLock;

    use burn::tensor::backend::Backend;
    use burn::tensor::{DType, Int, Shape, Tensor};
    use burn_cubecl::kernel::into_contiguous;
    use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
    use burn_cubecl::tensor::CubeTensor;
    use burn_fusion::stream::Operation;
    use burn_ir::CustomOpIr;
    use cubecl::cuda::CudaRuntime;
    use cudarc::driver::result as driver;
    use cudarc::driver::sys::{CUdevice_attribute, CUfunction};

    use super::super::cuda_op::{register, served, served_int, Handles, Inner, Runtime};
    use super::super::cuda_stream as stream;
    use super::super::flash::ROWS;
    use super::super::CudaError;

    /// The kernel's source; see its header comment.
    const SOURCE: &str = include_str!("flash2.cu");

    /// The kernel as a custom operation in burn's fusion stream.
    #[derive(Debug)]
    struct Flash2Op {
        desc: CustomOpIr,
        heads: usize,
        queries: usize,
    }

    impl Operation<Runtime> for Flash2Op {
        fn execute(&self, handles: &mut Handles) {
            let ([qkv, keys], [out]) = self.desc.as_fixed();
            let qkv = handles.get_float_tensor::<Inner>(qkv);
            let keys = handles.get_int_tensor::<Inner>(keys);
            let context = launch(qkv, keys, self.heads, self.queries);
            handles.register_float_tensor::<Inner>(&out.id, context);
        }
    }

    pub(super) fn attention<B: Backend>(qkv: &Tensor<B, 3>, keys: &Tensor<B, 2, Int>, heads: usize, queries: usize) -> Option<Tensor<B, 3>> {
        let [batch, _, width] = qkv.dims();
        let inputs = vec![served(qkv)?, served_int(keys)?];
        if inputs[1].dtype != DType::I32 {
            return None;
        }
        Kernel::shared()?;
        let shape = Shape::new([batch, queries, width / 3]);
        register::<B, 3, _>("deepprune_flash2_attention", inputs, shape, |desc| Flash2Op { desc, heads, queries })
    }

    pub(super) fn available<B: Backend>() -> bool {
        std::any::TypeId::of::<B>() == std::any::TypeId::of::<super::super::cuda_op::Served>() && Kernel::shared().is_some()
    }

    /// Warps per cube, each computing 16 query rows: what `flash2.cu` instantiates (`flash2<4>`,
    /// 128 threads in its launch bounds; it says why 4).
    const WARPS: usize = 4;

    /// The compiled kernel and the context it was loaded in (raw handles, kept as addresses so
    /// the shared instance can be `Sync`).
    struct Kernel {
        context: usize,
        function: usize,
    }

    impl Kernel {
        /// The process's kernel, compiled on first use; `None` (with one warning) where it
        /// cannot be.
        fn shared() -> Option<&'static Kernel> {
            static SHARED: OnceLock<Option<Kernel>> = OnceLock::new();
            SHARED
                .get_or_init(|| match Kernel::new() {
                    Ok(kernel) => Some(kernel),
                    Err(e) => {
                        tracing::warn!("the flash2 attention kernel is not available ({e}); the judge uses judge.attention flash");
                        None
                    }
                })
                .as_ref()
        }

        fn new() -> Result<Self, CudaError> {
            let context = stream::context()?;
            // SAFETY: `context` is a live primary context; the device is the one it belongs to.
            let (major, minor) = unsafe {
                driver::ctx::set_current(context).map_err(|e| CudaError::call("CUDA context", e))?;
                let device = driver::device::get(0).map_err(|e| CudaError::call("CUDA device 0", e))?;
                let attribute = |a| driver::device::get_attribute(device, a).map_err(|e| CudaError::call("compute capability", e));
                (
                    attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
                    attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?,
                )
            };
            if major < 8 {
                return Err(CudaError::ComputeCapability { major, minor });
            }
            // NVRTC names the target by a static string.
            let arch: &'static str = Box::leak(format!("sm_{major}{minor}").into_boxed_str());
            // Denormals flush to zero: exp2 is then one instruction, and a probability below
            // 2⁻¹²⁶ of the row's largest counts as 0 (bf16 rounds it away in any case).
            let options = cudarc::nvrtc::CompileOptions { arch: Some(arch), name: Some("flash2.cu".into()), ftz: Some(true), ..Default::default() };
            let ptx = cudarc::nvrtc::compile_ptx_with_opts(SOURCE, options).map_err(|e| CudaError::call("NVRTC", format_args!("{e:?}")))?;
            let image = CString::new(ptx.to_src()).map_err(|_| CudaError::call("NVRTC", "its PTX holds a NUL byte"))?;
            // SAFETY: the image is NVRTC's PTX, NUL-terminated; the module stays loaded for the
            // process, so its functions stay valid.
            unsafe {
                let module =
                    driver::module::load_data(image.as_ptr() as *const c_void).map_err(|e| CudaError::call("loading the PTX", e))?;
                let function = |name: &'static str| {
                    driver::module::get_function(module, CString::new(name).expect("no NUL"))
                        .map(|f| f as usize)
                        .map_err(|e| CudaError::call(name, e))
                };
                Ok(Self { context: context as usize, function: function("deepprune_flash2")? })
            }
        }
    }

    /// Launches the kernel on the inner backend's tensors.
    fn launch(qkv: CubeTensor<CudaRuntime>, keys: CubeTensor<CudaRuntime>, heads: usize, queries: usize) -> CubeTensor<CudaRuntime> {
        // The kernel copies 16-byte pieces of rows: the innermost stride must be 1, and the rows
        // and the view's start 16-byte aligned.
        let strides = qkv.meta.strides();
        let aligned = strides[2] == 1
            && strides[1].is_multiple_of(8)
            && strides[0].is_multiple_of(8)
            && qkv.handle.offset_start.unwrap_or(0).is_multiple_of(16);
        let qkv = if aligned { qkv } else { into_contiguous(qkv) };
        let [batch, len, width] = qkv.meta.shape.dims::<3>();
        let (mut qkv_batch, mut qkv_row) = (qkv.meta.strides()[0] as i64, qkv.meta.strides()[1] as i32);
        let (mut keys_batch, mut keys_step) = (keys.meta.strides()[0] as i64, keys.meta.strides()[1] as i32);
        let out = empty_device_contiguous_dtype::<CudaRuntime>(qkv.client.clone(), qkv.device.clone(), Shape::new([batch, queries, width / 3]), qkv.dtype);
        let client = qkv.client.clone();
        const WHAT: &str = "flash2 attention";
        let on = stream::for_launch(&client, &qkv.device, WHAT);
        let address = |t: &CubeTensor<CudaRuntime>| stream::address(&client, t, WHAT);
        let kernel = Kernel::shared().expect("the kernel was compiled before the op was queued");
        let function = kernel.function as CUfunction;
        let (mut q, mut k, mut o) = (address(&qkv), address(&keys), address(&out));
        let (mut len_arg, mut queries_arg, mut heads_arg) = (len as i32, queries as i32, heads as i32);
        let mut params: [*mut c_void; 10] = [
            &mut q as *mut u64 as *mut c_void,
            &mut k as *mut u64 as *mut c_void,
            &mut o as *mut u64 as *mut c_void,
            &mut len_arg as *mut i32 as *mut c_void,
            &mut queries_arg as *mut i32 as *mut c_void,
            &mut heads_arg as *mut i32 as *mut c_void,
            &mut qkv_batch as *mut i64 as *mut c_void,
            &mut qkv_row as *mut i32 as *mut c_void,
            &mut keys_batch as *mut i64 as *mut c_void,
            &mut keys_step as *mut i32 as *mut c_void,
        ];
        let grid = (queries.div_ceil(ROWS * WARPS) as u32, heads as u32, batch as u32);
        // SAFETY: the function was compiled for these parameters (three device addresses of live
        // buffers, sized as the kernel reads and writes them, then the scalars in order); on
        // CubeCL's stream the launch is ordered with every kernel that touches the buffers, and
        // without it CubeCL's stream was drained above and the launch is waited for below.
        unsafe {
            let launched = driver::ctx::set_current(kernel.context as _)
                .and_then(|_| driver::launch_kernel(function, grid, ((32 * WARPS) as u32, 1, 1), 0, on.unwrap_or(std::ptr::null_mut()), &mut params))
                .and_then(|_| if on.is_none() { driver::ctx::synchronize() } else { Ok(()) });
            if let Err(e) = launched {
                panic!("flash2 attention, {batch} × {len} tokens: {e}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Int, Tensor};

    #[test]
    fn the_kernel_declines_backends_and_shapes_it_does_not_cover() {
        type B = burn::backend::Flex;
        let device = Default::default();
        let keys = Tensor::<B, 2, Int>::ones([2, 32], &device);
        assert!(!super::available::<B>());
        assert!(super::attention(&Tensor::<B, 3>::zeros([2, 32, 3 * 384], &device), &keys, 12, 32).is_none());
        assert!(super::attention(&Tensor::<B, 3>::zeros([2, 32, 3 * 384], &device), &keys, 6, 32).is_none());
        let keys = Tensor::<B, 2, Int>::ones([1, 528], &device);
        assert!(super::attention(&Tensor::<B, 3>::zeros([1, 528, 3 * 384], &device), &keys, 12, 528).is_none());
    }
}
