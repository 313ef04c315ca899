//! What the encoder's CUDA kernels ([`super::flash`], [`super::dense`], [`super::norm`]) share:
//! the backend the judge serves with, and the way in and out of burn's fusion stream, where each
//! kernel runs as a custom operation, in order with the lazily queued ops around it.
//!
//! Each kernel applies only when the model's backend `B` is exactly [`Served`] (bf16 on CUDA with
//! fusion); the downcasts below check that at run time and give `None` otherwise, and the caller
//! then uses Burn's ops.

use std::any::{Any, TypeId};

use burn::tensor::backend::Backend;
use burn::tensor::{bf16, DType, Int, Shape, Tensor, TensorPrimitive};
use burn_cubecl::CubeBackend;
use burn_fusion::stream::{Operation, OperationStreams};
use burn_fusion::{Fusion, FusionTensor};
use burn_ir::{CustomOpIr, HandleContainer, OperationIr, OperationOutput, TensorIr};
use cubecl::cuda::CudaRuntime;

/// The backend under fusion that the kernels launch on.
pub(super) type Inner = CubeBackend<CudaRuntime, bf16, i32, u8>;
/// The backend the judge serves with on CUDA.
pub(super) type Served = Fusion<Inner>;
/// Burn's fusion runtime for [`Inner`].
pub(super) type Runtime = <Inner as burn_fusion::FusionBackend>::FusionRuntime;
/// What a custom operation's `execute` reads its inputs from and registers its output in.
pub(super) type Handles = HandleContainer<<Runtime as burn_fusion::FusionRuntime>::FusionHandle>;

fn downcast<T: 'static>(value: impl Any) -> Option<T> {
    (Box::new(value) as Box<dyn Any>).downcast::<T>().ok().map(|b| *b)
}

/// The fusion tensor behind a bf16 float tensor of the served backend; `None` for any other
/// backend or element type.
pub(super) fn served<B: Backend, const D: usize>(t: &Tensor<B, D>) -> Option<FusionTensor<Runtime>> {
    if TypeId::of::<B>() != TypeId::of::<Served>() || t.dtype() != DType::BF16 {
        return None;
    }
    downcast(t.clone().into_primitive().tensor())
}

/// The fusion tensor behind an int tensor of the served backend; `None` for any other backend.
pub(super) fn served_int<B: Backend, const D: usize>(t: &Tensor<B, D, Int>) -> Option<FusionTensor<Runtime>> {
    if TypeId::of::<B>() != TypeId::of::<Served>() {
        return None;
    }
    downcast(t.clone().into_primitive())
}

/// Registers the custom operation `name` that reads `inputs` and writes one float tensor of
/// `shape` and the first input's element type, built by `op` from its description; returns the
/// output as a tensor of `B` (which is [`Served`], as the inputs came from [`served`]).
pub(super) fn register<B: Backend, const D: usize, O: Operation<Runtime> + 'static>(
    name: &'static str,
    inputs: Vec<FusionTensor<Runtime>>,
    shape: Shape,
    op: impl FnOnce(CustomOpIr) -> O,
) -> Option<Tensor<B, D>> {
    let first = inputs.first()?;
    let (client, dtype) = (first.client.clone(), first.dtype);
    let streams = OperationStreams::with_inputs(inputs.iter());
    let out = TensorIr::uninit(client.create_empty_handle(), shape, dtype);
    let inputs: Vec<TensorIr> = inputs.into_iter().map(|t| t.into_ir()).collect();
    let desc = CustomOpIr::new(name, &inputs, &[out]);
    let out = client.register(streams, OperationIr::Custom(desc.clone()), op(desc)).output();
    let out = downcast::<B::FloatTensorPrimitive>(out)?;
    Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
}
