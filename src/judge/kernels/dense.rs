//! The encoder's dense products (`x · W + b`) through NVIDIA's cuBLASLt on CUDA.
//!
//! Burn 0.21's matmul kernels reach 0.33–0.36× cuBLAS's rate on the judge's shapes on an H100
//! (docs/benchmarks.md), and after the flash-attention kernel they were the largest part
//! of a forward pass. [`Matmul::CublasLt`] runs the q/k/v, attention-output and feed-forward
//! products through cuBLASLt instead, the bias added in its epilogue; GELU stays a Burn op, because
//! cuBLASLt's GELU epilogue is the tanh approximation and MiniLM's is the exact one.
//!
//! How it runs:
//! - It is a custom op in burn's fusion stream (like [`super::flash`]), so it sees its inputs
//!   after every op queued before it.
//! - It queues cuBLASLt on CubeCL's own CUDA stream, behind the kernels that produce its inputs
//!   and ahead of those that read its output, so nothing waits on the host; [`super::cuda_stream`]
//!   says how that stream is found (CUPTI).
//! - Where CUPTI cannot be loaded, the op waits for CubeCL's stream to drain, runs the product on
//!   a stream of its own, and waits for that. The GPU then idles while the host queues the next
//!   kernels: on an H100 this made the judge slower than Burn's own matmul (docs/benchmarks.md), and a warning says so.
//! - cuBLASLt is loaded at run time (`libcublasLt.so` of the CUDA toolkit). Where it cannot be
//!   loaded, or for anything but bf16 on burn's CUDA backend with fusion, [`dense`] returns
//!   `None` and the caller uses Burn's matmul.
//! - It runs on CUDA device 0, the device the judge serves on (burn's default CUDA device).
//!
//! Numerics: bf16 inputs, f32 accumulation, the bias added in f32, the output rounded to bf16
//! once (Burn's fused matmul does the same).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

// The setting is config data; the kernel reads it here.
pub use crate::config::Matmul;


/// `x · weight + bias` for `x` `[batch, len, in]`, `weight` `[in, out]` and `bias` `[out]`
/// through cuBLASLt, or `None` where it does not run (see the module docs).
pub fn dense<B: Backend>(x: &Tensor<B, 3>, weight: &Tensor<B, 2>, bias: &Tensor<B, 1>) -> Option<Tensor<B, 3>> {
    #[cfg(feature = "cuda")]
    {
        cuda::dense::<B>(x, weight, bias)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = (x, weight, bias);
        None
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use std::collections::HashMap;
    use std::ffi::c_void;
    use std::sync::{Mutex, OnceLock};

    use burn::tensor::backend::Backend;
    use burn::tensor::{Shape, Tensor};
    use burn_cubecl::kernel::into_contiguous;
    use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
    use burn_cubecl::tensor::CubeTensor;
    use burn_fusion::stream::Operation;
    use burn_ir::CustomOpIr;
    use cubecl::cuda::CudaRuntime;
    use cudarc::cublaslt::{result as lt, sys};
    use cudarc::driver::result as driver;
    use cudarc::driver::sys::CUstream;

    use super::super::cuda_op::{register, served, Handles, Inner, Runtime};
    use super::super::cuda_stream as stream;
    use super::super::CudaError;

    /// cuBLASLt's scratch space; 32 MiB is what NVIDIA recommends for Hopper.
    const WORKSPACE: usize = 32 << 20;

    /// The product as a custom operation in burn's fusion stream.
    #[derive(Debug)]
    struct DenseOp {
        desc: CustomOpIr,
    }

    impl Operation<Runtime> for DenseOp {
        fn execute(&self, handles: &mut Handles) {
            let ([x, weight, bias], [out]) = self.desc.as_fixed();
            let x = handles.get_float_tensor::<Inner>(x);
            let weight = handles.get_float_tensor::<Inner>(weight);
            let bias = handles.get_float_tensor::<Inner>(bias);
            let product = launch(x, weight, bias);
            handles.register_float_tensor::<Inner>(&out.id, product);
        }
    }

    pub(super) fn dense<B: Backend>(x: &Tensor<B, 3>, weight: &Tensor<B, 2>, bias: &Tensor<B, 1>) -> Option<Tensor<B, 3>> {
        let [batch, len, _] = x.dims();
        let [_, width] = weight.dims();
        let inputs = vec![served(x)?, served(weight)?, served(bias)?];
        Lt::shared()?;
        register::<B, 3, _>("deepprune_cublaslt_dense", inputs, Shape::new([batch, len, width]), |desc| DenseOp { desc })
    }

    /// Runs the product on the inner backend's tensors.
    fn launch(x: CubeTensor<CudaRuntime>, weight: CubeTensor<CudaRuntime>, bias: CubeTensor<CudaRuntime>) -> CubeTensor<CudaRuntime> {
        // cuBLASLt reads matrices whose rows are evenly spaced, 16-byte aligned; anything else is
        // copied first. `x` is often a view: the `[CLS]` rows of a whole batch, for one.
        let (x, ld_x) = with_rows(x);
        let (weight, ld_w) = with_rows(weight);
        let bias = if bias.meta.strides()[0] == 1 && aligned(&bias) { bias } else { into_contiguous(bias) };
        let [batch, len, k] = x.meta.shape.dims::<3>();
        let [_, n] = weight.meta.shape.dims::<2>();
        // Contiguous: CubeCL's default layout may pad rows, and cuBLASLt writes them `n` apart.
        let out = empty_device_contiguous_dtype::<CudaRuntime>(x.client.clone(), x.device.clone(), Shape::new([batch, len, n]), x.dtype);
        let client = x.client.clone();
        const WHAT: &str = "cuBLASLt dense product";
        let stream = stream::for_launch(&client, &x.device, WHAT);
        let address = |t: &CubeTensor<CudaRuntime>| stream::address(&client, t, WHAT);
        let product = Product {
            m: batch * len,
            n,
            k,
            ld_x,
            ld_w,
            x: address(&x),
            weight: address(&weight),
            bias: address(&bias),
            out: address(&out),
        };
        let lt = Lt::shared().expect("cuBLASLt was loaded before the op was queued");
        let mut lt = lt.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(e) = lt.run(&product, stream) {
            panic!("cuBLASLt dense product {}×{}×{}: {e}", product.m, product.k, product.n);
        }
        out
    }

    /// The distance between consecutive rows of a row-major matrix view (`[rows, width]`, or
    /// `[batch, len, width]` read as `batch · len` rows), in elements, where the rows are evenly
    /// spaced with unit stride inside each and the view starts 16-byte aligned; else `None`.
    fn rows(t: &CubeTensor<CudaRuntime>) -> Option<usize> {
        let shape: Vec<usize> = t.meta.shape().iter().copied().collect();
        let strides: Vec<usize> = t.meta.strides().iter().copied().collect();
        let width = *shape.last()?;
        if width > 1 && strides[strides.len() - 1] != 1 {
            return None;
        }
        // Walk the outer axes innermost first: the row stride is the first non-trivial one's,
        // and each further axis must continue the same even spacing.
        let mut ld = None;
        let mut span = 1;
        for axis in (0..shape.len() - 1).rev() {
            if shape[axis] == 1 {
                continue;
            }
            match ld {
                None => ld = Some(strides[axis]),
                Some(l) if strides[axis] != l * span => return None,
                Some(_) => {}
            }
            span *= shape[axis];
        }
        let ld = ld.unwrap_or(width);
        (ld >= width && (ld * 2) % 16 == 0 && aligned(t)).then_some(ld)
    }

    /// `t` and its row stride ([`rows`]), copied to a contiguous tensor first where its rows are
    /// not evenly spaced or aligned (a contiguous tensor's rows are `width` apart).
    fn with_rows(t: CubeTensor<CudaRuntime>) -> (CubeTensor<CudaRuntime>, usize) {
        match rows(&t) {
            Some(ld) => (t, ld),
            None => {
                let width = t.meta.shape()[t.meta.shape().num_dims() - 1];
                (into_contiguous(t), width)
            }
        }
    }

    /// Whether the view starts 16-byte aligned (cuBLASLt's assumption for bf16 operands).
    fn aligned(t: &CubeTensor<CudaRuntime>) -> bool {
        t.handle.offset_start.unwrap_or(0) % 16 == 0
    }

    /// Device addresses and sizes of one product: `out[m, n] = x[m, k] · weight[k, n] + bias[n]`,
    /// row-major, the rows of `x` `ld_x` elements apart and those of `weight` `ld_w`.
    struct Product {
        m: usize,
        n: usize,
        k: usize,
        ld_x: usize,
        ld_w: usize,
        x: u64,
        weight: u64,
        bias: u64,
        out: u64,
    }

    /// The process's cuBLASLt handle, a stream of its own (for when CubeCL's is unknown), a
    /// workspace per stream, and one plan per shape.
    struct Lt {
        context: cudarc::driver::sys::CUcontext,
        handle: sys::cublasLtHandle_t,
        own_stream: CUstream,
        workspaces: HashMap<usize, u64>,
        plans: HashMap<(usize, usize, usize, usize, usize), Plan>,
    }

    // SAFETY: the raw CUDA handles are only used under the `Mutex` in `Lt::shared`, one thread at a
    // time, with the context made current first.
    unsafe impl Send for Lt {}

    /// A product's descriptors and the algorithm cuBLASLt's heuristic picked for it.
    struct Plan {
        desc: sys::cublasLtMatmulDesc_t,
        weight: sys::cublasLtMatrixLayout_t,
        x: sys::cublasLtMatrixLayout_t,
        out: sys::cublasLtMatrixLayout_t,
        algo: sys::cublasLtMatmulAlgo_t,
    }

    impl Lt {
        /// The shared instance, set up on first use; `None` (with one warning) where cuBLASLt
        /// cannot be loaded or set up.
        fn shared() -> Option<&'static Mutex<Lt>> {
            static SHARED: OnceLock<Option<Mutex<Lt>>> = OnceLock::new();
            SHARED
                .get_or_init(|| match Lt::new() {
                    Ok(lt) => Some(Mutex::new(lt)),
                    Err(e) => {
                        tracing::warn!("cuBLASLt is not available ({e}); the judge's dense products use Burn's matmul");
                        None
                    }
                })
                .as_ref()
        }

        fn new() -> Result<Self, CudaError> {
            // SAFETY: only probes for the shared library.
            if !unsafe { sys::is_culib_present() } {
                return Err(CudaError::Library { library: "libcublasLt" });
            }
            let context = stream::context()?;
            // SAFETY: `context` is a live primary context.
            unsafe { driver::ctx::set_current(context) }.map_err(|e| CudaError::call("CUDA context", e))?;
            let own_stream =
                driver::stream::create(driver::stream::StreamKind::NonBlocking).map_err(|e| CudaError::call("CUDA stream", e))?;
            let handle = lt::create_handle().map_err(|e| CudaError::call("cuBLASLt handle", e))?;
            Ok(Self { context, handle, own_stream, workspaces: HashMap::new(), plans: HashMap::new() })
        }

        /// Queues one product on `stream` (CubeCL's), or with `None` runs it on a stream of its
        /// own and waits for it.
        fn run(&mut self, p: &Product, stream: Option<CUstream>) -> Result<(), CudaError> {
            // SAFETY: the context is a live primary context; everything below uses handles this
            // struct created and device addresses of live buffers. On CubeCL's stream the product
            // is ordered with every kernel that touches them; on its own stream, CubeCL's was
            // drained before and this waits for the product before returning.
            unsafe {
                driver::ctx::set_current(self.context).map_err(|e| CudaError::call("CUDA context", e))?;
                let on = stream.unwrap_or(self.own_stream);
                // One workspace per stream: products on one stream run one after another.
                let workspace = match self.workspaces.get(&(on as usize)) {
                    Some(&w) => w,
                    None => {
                        let w = driver::malloc_sync(WORKSPACE).map_err(|e| CudaError::call("cuBLASLt workspace", e))?;
                        self.workspaces.insert(on as usize, w);
                        w
                    }
                };
                let handle = self.handle;
                let plan = match self.plans.entry((p.m, p.n, p.k, p.ld_x, p.ld_w)) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => e.insert(Plan::new(handle, p)?),
                };
                let bias = p.bias;
                lt::set_matmul_desc_attribute(
                    plan.desc,
                    sys::cublasLtMatmulDescAttributes_t::CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                    (&bias) as *const u64 as *const c_void,
                    std::mem::size_of::<u64>(),
                )
                .map_err(|e| CudaError::call("bias pointer", format_args!("{e:?}")))?;
                let (alpha, beta) = (1.0f32, 0.0f32);
                // Column-major view: outᵀ[n, m] = weightᵀ[n, k] · xᵀ[k, m], which is how cuBLAS
                // sees the row-major buffers.
                lt::matmul(
                    handle,
                    plan.desc,
                    (&alpha) as *const f32 as *const c_void,
                    (&beta) as *const f32 as *const c_void,
                    p.weight as *const c_void,
                    plan.weight,
                    p.x as *const c_void,
                    plan.x,
                    p.out as *const c_void,
                    plan.out,
                    p.out as *mut c_void,
                    plan.out,
                    &plan.algo,
                    workspace as *mut c_void,
                    WORKSPACE,
                    on as sys::cudaStream_t,
                )
                .map_err(|e| CudaError::call("cublasLtMatmul", format_args!("{e:?}")))?;
                if stream.is_none() {
                    driver::stream::synchronize(on).map_err(|e| CudaError::call("stream", e))?;
                }
            }
            Ok(())
        }
    }

    impl Plan {
        /// Descriptors for `p`'s shape, and the heuristic's first algorithm for them.
        ///
        /// # Safety
        /// `handle` must be a live cuBLASLt handle, with its context current.
        unsafe fn new(handle: sys::cublasLtHandle_t, p: &Product) -> Result<Self, CudaError> {
            let err = |what: &'static str| move |e: lt::CublasError| CudaError::call(what, format_args!("{e:?}"));
            let bf16 = sys::cudaDataType_t::CUDA_R_16BF;
            let (m, n, k) = (p.m as u64, p.n as u64, p.k as u64);
            let desc = lt::create_matmul_desc(sys::cublasComputeType_t::CUBLAS_COMPUTE_32F, sys::cudaDataType_t::CUDA_R_32F)
                .map_err(err("matmul descriptor"))?;
            let epilogue = sys::cublasLtEpilogue_t::CUBLASLT_EPILOGUE_BIAS;
            lt::set_matmul_desc_attribute(
                desc,
                sys::cublasLtMatmulDescAttributes_t::CUBLASLT_MATMUL_DESC_EPILOGUE,
                (&epilogue) as *const sys::cublasLtEpilogue_t as *const c_void,
                std::mem::size_of::<sys::cublasLtEpilogue_t>(),
            )
            .map_err(err("bias epilogue"))?;
            let weight = lt::create_matrix_layout(bf16, n, k, p.ld_w as i64).map_err(err("weight layout"))?;
            let x = lt::create_matrix_layout(bf16, k, m, p.ld_x as i64).map_err(err("input layout"))?;
            let out = lt::create_matrix_layout(bf16, n, m, n as i64).map_err(err("output layout"))?;
            let preference = lt::create_matmul_pref().map_err(err("preference"))?;
            lt::set_matmul_pref_attribute(
                preference,
                sys::cublasLtMatmulPreferenceAttributes_t::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                (&WORKSPACE) as *const usize as *const c_void,
                std::mem::size_of::<usize>(),
            )
            .map_err(err("workspace preference"))?;
            let heuristic = lt::get_matmul_algo_heuristic(handle, desc, weight, x, out, out, preference);
            let _ = lt::destroy_matmul_pref(preference);
            let heuristic = heuristic.map_err(err("no algorithm"))?;
            Ok(Self { desc, weight, x, out, algo: heuristic.algo })
        }
    }

}

#[cfg(test)]
mod tests {
    use burn::tensor::Tensor;

    #[test]
    fn the_product_declines_the_cpu_backend() {
        type B = burn::backend::Flex;
        let device = Default::default();
        let x = Tensor::<B, 3>::zeros([2, 4, 8], &device);
        assert!(super::dense(&x, &Tensor::zeros([8, 3], &device), &Tensor::zeros([3], &device)).is_none());
    }
}
