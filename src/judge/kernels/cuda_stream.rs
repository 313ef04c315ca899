//! CubeCL's CUDA stream for the calling thread, and the CUDA context, for the encoder's kernels
//! that do not launch through CubeCL ([`super::dense`]'s cuBLASLt products and
//! [`super::flash2`]'s kernel).
//!
//! Both must run on CubeCL's own stream, behind the kernels that produce their inputs and ahead
//! of those that read their outputs, so that nothing waits on the host. CubeCL 0.10 does not
//! expose that stream, so it is learnt once per thread with NVIDIA's CUPTI callback API: a
//! subscriber to `cuLaunchKernel` sees a probe kernel of a shape no other kernel uses launched
//! through CubeCL, and reads the stream from the launch's parameters. Where CUPTI cannot be loaded
//! (it ships with the CUDA toolkit, in `extras/CUPTI/lib64`), the callers wait for CubeCL's stream
//! to drain and for their own work instead, which is slower; a warning says so.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::{Mutex, OnceLock};

use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn::tensor::{DType, Shape};
use cubecl::client::ComputeClient;
use cubecl::cuda::{CudaDevice, CudaRuntime};
use cubecl::prelude::{CubeCount, CubeDim};
use cudarc::cupti::sys as cupti;
use cudarc::driver::result as driver;
use cudarc::driver::sys::{CUcontext, CUstream};

use super::CudaError;

/// The probe's launch shape: 3 cubes of 7 units, which no other kernel uses.
const PROBE_CUBES: u32 = 3;
const PROBE_UNITS: u32 = 7;

thread_local! {
    /// This thread's CubeCL stream: unknown yet, found, or not findable.
    static STREAM: Cell<Option<Option<usize>>> = const { Cell::new(None) };
}

/// CubeCL's stream for the calling thread, or `None` where CUPTI cannot tell it.
fn of_this_thread(client: &ComputeClient<CudaRuntime>, device: &CudaDevice) -> Option<CUstream> {
    let known = STREAM.with(|s| s.get());
    let found = match known {
        Some(found) => found,
        None => {
            let found = match probe(client, device) {
                Ok(stream) => Some(stream as usize),
                Err(e) => {
                    warn_once(&e);
                    None
                }
            };
            STREAM.with(|s| s.set(Some(found)));
            found
        }
    };
    found.map(|s| s as CUstream)
}

/// CubeCL's stream for the calling thread, where a kernel of `what` (named in panics) can be
/// queued behind its inputs' producers; or `None` once everything queued before has run, and
/// the caller must then run on a stream of its own and wait for it.
pub(super) fn for_launch(client: &ComputeClient<CudaRuntime>, device: &CudaDevice, what: &str) -> Option<CUstream> {
    let stream = of_this_thread(client, device);
    if stream.is_none() {
        if let Err(e) = cubecl::future::block_on(client.sync()) {
            panic!("{what}: the CUDA stream failed before it: {e:?}");
        }
    }
    stream
}

/// The device address of `t`'s first element, for a kernel of `what` (named in panics).
pub(super) fn address(client: &ComputeClient<CudaRuntime>, t: &CubeTensor<CudaRuntime>, what: &str) -> u64 {
    match client.get_resource(t.handle.clone()) {
        Ok(r) => r.resource().ptr,
        Err(e) => panic!("{what}: no device address for an input: {e:?}"),
    }
}

fn warn_once(reason: &CudaError) {
    static WARNED: OnceLock<()> = OnceLock::new();
    WARNED.get_or_init(|| {
        tracing::warn!(
            "the judge's cuBLASLt products and flash2 attention cannot be queued on CubeCL's CUDA stream ({reason}); each one \
             waits for the GPU, which is slower than Burn's kernels. CUPTI comes with the CUDA toolkit (extras/CUPTI/lib64; a \
             profiler attached to the process holds it too); or set judge.matmul: burn and judge.attention: flash"
        );
    });
}

/// The primary context of CUDA device 0, the one CubeCL serves the judge on, retained once for
/// the process; callers make it current before using it.
pub(super) fn context() -> Result<CUcontext, CudaError> {
    static CONTEXT: OnceLock<Result<usize, CudaError>> = OnceLock::new();
    let context = CONTEXT.get_or_init(|| {
        driver::init().map_err(|e| CudaError::call("cuInit", e))?;
        let device = driver::device::get(0).map_err(|e| CudaError::call("CUDA device 0", e))?;
        // SAFETY: `device` came from `device::get`. CubeCL retains the same primary context.
        let context = unsafe { driver::primary_ctx::retain(device) }.map_err(|e| CudaError::call("CUDA context", e))?;
        Ok(context as usize)
    });
    context.clone().map(|c| c as CUcontext)
}

unsafe extern "C" fn on_launch(userdata: *mut c_void, domain: cupti::CUpti_CallbackDomain, cbid: cupti::CUpti_CallbackId, data: *const c_void) {
    if domain != cupti::CUpti_CallbackDomain::CUPTI_CB_DOMAIN_DRIVER_API
        || cbid != cupti::CUpti_driver_api_trace_cbid_enum::CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel as u32
    {
        return;
    }
    // SAFETY: CUPTI passes a `CUpti_CallbackData` for driver-API callbacks, whose
    // `functionParams` are `cuLaunchKernel`'s for this callback id; `userdata` is the
    // `Mutex` for the stream seen that `probe` subscribed with and keeps alive until it
    // unsubscribes.
    let data = unsafe { &*(data as *const cupti::CUpti_CallbackData) };
    if data.callbackSite != cupti::CUpti_ApiCallbackSite::CUPTI_API_ENTER {
        return;
    }
    let params = unsafe { &*(data.functionParams as *const cupti::cuLaunchKernel_params) };
    let probe = (params.gridDimX, params.gridDimY, params.gridDimZ, params.blockDimX, params.blockDimY, params.blockDimZ)
        == (PROBE_CUBES, 1, 1, PROBE_UNITS, 1, 1);
    if probe {
        let seen = unsafe { &*(userdata as *const Mutex<Option<usize>>) };
        if let Ok(mut seen) = seen.lock() {
            *seen = Some(params.hStream as usize);
        }
    }
}

/// Launches the probe kernel through CubeCL with CUPTI listening, and returns the stream
/// it went to.
fn probe(client: &ComputeClient<CudaRuntime>, device: &CudaDevice) -> Result<CUstream, CudaError> {
    // One probe at a time: CUPTI allows one subscriber.
    static ONE: Mutex<()> = Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|p| p.into_inner());
    load_cupti()?;
    // The stream the callback saw the probe launched on.
    let seen: Box<Mutex<Option<usize>>> = Box::default();
    let mut subscriber: cupti::CUpti_SubscriberHandle = std::ptr::null_mut();
    let userdata = &*seen as *const Mutex<Option<usize>> as *mut c_void;
    // SAFETY: `seen` outlives the subscription, which ends below on every path.
    unsafe {
        let r = cupti::cuptiSubscribe(&mut subscriber, Some(on_launch), userdata);
        if r != cupti::CUptiResult::CUPTI_SUCCESS {
            return Err(CudaError::call("cuptiSubscribe", format_args!("{r:?}")));
        }
        let r = cupti::cuptiEnableCallback(
            1,
            subscriber,
            cupti::CUpti_CallbackDomain::CUPTI_CB_DOMAIN_DRIVER_API,
            cupti::CUpti_driver_api_trace_cbid_enum::CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel as u32,
        );
        let launched = if r == cupti::CUptiResult::CUPTI_SUCCESS {
            launch_probe(client, device)
        } else {
            Err(CudaError::call("cuptiEnableCallback", format_args!("{r:?}")))
        };
        cupti::cuptiUnsubscribe(subscriber);
        launched?;
    }
    let stream = *seen.lock().map_err(|_| CudaError::CallbackPanicked)?;
    stream.map(|s| s as CUstream).ok_or(CudaError::ProbeUnseen)
}

fn launch_probe(client: &ComputeClient<CudaRuntime>, device: &CudaDevice) -> Result<(), CudaError> {
    let out = empty_device_dtype::<CudaRuntime>(client.clone(), device.clone(), Shape::new([1]), DType::U32);
    kernel::stream_probe::launch::<CudaRuntime>(
        client,
        CubeCount::Static(PROBE_CUBES, 1, 1),
        CubeDim::new_1d(PROBE_UNITS),
        out.into_tensor_arg(),
    );
    // The launch reaches the driver once the client's queue is flushed and run.
    cubecl::future::block_on(client.sync()).map_err(|e| CudaError::call("probe kernel", format_args!("{e:?}")))
}

/// Loads CUPTI: from the library path, else from the CUDA toolkit's `extras/CUPTI/lib64`
/// (then cudarc finds it under its soname).
fn load_cupti() -> Result<(), CudaError> {
    static LOADED: OnceLock<Result<(), CudaError>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            // SAFETY: only probes for and loads the shared library.
            if unsafe { cupti::is_culib_present() } {
                return Ok(());
            }
            let roots: Vec<String> = ["CUDA_HOME", "CUDA_PATH"]
                .iter()
                .filter_map(|v| std::env::var(v).ok())
                .chain(["/usr/local/cuda".to_string()])
                .collect();
            for root in &roots {
                for dir in ["extras/CUPTI/lib64", "lib64", "targets/x86_64-linux/lib"] {
                    for name in ["libcupti.so.13", "libcupti.so"] {
                        let path = std::path::Path::new(root).join(dir).join(name);
                        // SAFETY: loading CUDA's own library; kept loaded for the process.
                        if let Ok(lib) = unsafe { libloading::Library::new(&path) } {
                            std::mem::forget(lib);
                            if unsafe { cupti::is_culib_present() } {
                                return Ok(());
                            }
                        }
                    }
                }
            }
            Err(CudaError::Library { library: "libcupti" })
        })
        .clone()
}

/// The probe kernel, in a module of its own: CubeCL's prelude names `Tensor` too.
mod kernel {
    use cubecl::prelude::*;

    #[cube(launch)]
    pub(super) fn stream_probe(out: &mut Tensor<u32>) {
        out[0] = 1u32;
    }
}
