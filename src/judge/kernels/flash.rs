//! Flash attention for the serving encoder on CUDA: one CubeCL kernel that computes a whole
//! layer's `softmax(q·kᵀ + padding) · v` for every head, reading the queries, keys and values
//! straight from the fused q/k/v projection and writing the heads merged, so that neither the
//! `[batch, heads, len, len]` scores nor the head split and merge ever touch GPU memory.
//!
//! burn 0.21's composition ([`crate::judge::bert::Attention::Deferred`]) passes over the
//! scores about six times per layer (805 MB each at 128 pairs of 512 tokens), and its own fused
//! attention op measured slower still (docs/judge.md). This kernel keeps the scores on chip:
//!
//! - A plane (32 lanes) owns 16 query rows of one head. Its two 16×16 query tiles stay in
//!   tensor-core fragments for the whole pass.
//! - Keys and values are read in blocks of up to 32, staged in shared memory by the cube's
//!   planes (up to 4, the same head; 8 measured 4–7% slower at 512 tokens, equal at 384). On an
//!   H100 at 512 tokens, blocks of 32 took 1.63 ms per layer against 1.81 ms for 64 (Nsight
//!   Compute; the kernel holds 128 registers per thread, which bounds its occupancy at 4 cubes
//!   per SM, and smaller blocks wait less at each barrier). For each block a plane computes its
//!   16×block scores with tensor-core products, the row maxima and exponentials with an online
//!   softmax (the running output is rescaled only when a row's maximum grows by more than 8),
//!   then adds the block's probabilities times its values to the running output, again on
//!   tensor cores.
//!
//! On an H100 it made the judge 1.40× faster at 512-token pairs and 1.56× at 384 than
//! `Deferred` (docs/benchmarks.md); `deepprune bench judge` reports its largest
//! difference from Burn's reference composition, the check of its correctness (CI has no GPU).
//! - Key blocks after the last real key of the sequence are skipped; padded keys inside a
//!   block get probability 0.
//!
//! Scope: bf16 on burn's CUDA backend with fusion (what the judge serves with), heads of width
//! 32 (MiniLM's 384 / 12), lengths a multiple of 16 (the serving buckets are multiples of 32).
//! [`attention`] returns `None` for anything else, and the caller computes the composition.
//! Scores and the softmax run in f32, probabilities are rounded to bf16 for the value product
//! (as in FlashAttention), and the output is rounded to bf16 once. Like
//! [`crate::judge::bert::attention_deferred`], it expects every sequence to have a real key
//! (the judge's pairs always start with `[CLS]`); a sequence of padding alone would get the
//! mean of its values rather than a defined result.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

/// Query rows a plane computes: the height of a tensor-core tile.
pub const ROWS: usize = 16;
/// The head width the kernel is written for (two 16-wide tensor-core steps).
pub const HEAD_DIM: usize = 32;

/// Whether a fused q/k/v projection `[_, len, width]` of `heads` heads has the shape the flash
/// kernels are written for ([`attention`] and [`super::flash2::attention`]): heads of width 32
/// and a length that is a whole number of 16-row tiles.
pub fn covers(len: usize, width: usize, heads: usize) -> bool {
    width == 3 * heads * HEAD_DIM && len.is_multiple_of(ROWS)
}

/// `softmax(q·kᵀ + padding) · v` for every head of a full layer, heads merged, or `None` when
/// the backend or shape is not one the kernel covers (see the module docs).
///
/// - `qkv`: `[batch, len, 3 · hidden]`, the queries (already scaled by `1/√d`), keys and
///   values side by side, each `[heads × 32]` wide.
/// - `keys`: `[batch, len]`, 0 where the key is padding.
///
/// Returns `[batch, len, hidden]`.
pub fn attention<B: Backend>(qkv: &Tensor<B, 3>, keys: &Tensor<B, 2, Int>, heads: usize) -> Option<Tensor<B, 3>> {
    let [_, len, width] = qkv.dims();
    if !covers(len, width, heads) {
        return None;
    }
    #[cfg(feature = "cuda")]
    {
        cuda::attention::<B>(qkv, keys, heads)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = keys;
        None
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use burn::tensor::backend::Backend;
    use burn::tensor::{Int, Shape, Tensor};
    use burn_cubecl::kernel::into_contiguous;
    use burn_cubecl::ops::numeric::empty_device_dtype;
    use burn_cubecl::tensor::CubeTensor;
    use burn_cubecl::CubeRuntime;
    use burn_fusion::stream::Operation;
    use burn_ir::CustomOpIr;
    use cubecl::prelude::{CubeCount, CubeDim};

    use super::super::cuda_op::{register, served, served_int, Handles, Inner, Runtime};
    use super::{HEAD_DIM, ROWS};

    /// Planes per cube: the planes of a cube read the same head's keys and values, which the
    /// SM's L1 cache then serves once.
    const PLANES: usize = 4;

    /// The kernel as a custom operation in burn's fusion stream.
    #[derive(Debug)]
    struct FlashOp {
        desc: CustomOpIr,
        heads: usize,
    }

    impl Operation<Runtime> for FlashOp {
        fn execute(&self, handles: &mut Handles) {
            let ([qkv, keys], [out]) = self.desc.as_fixed();
            let qkv = handles.get_float_tensor::<Inner>(qkv);
            let keys = handles.get_int_tensor::<Inner>(keys);
            let context = launch(qkv, keys, self.heads);
            handles.register_float_tensor::<Inner>(&out.id, context);
        }
    }

    pub(super) fn attention<B: Backend>(qkv: &Tensor<B, 3>, keys: &Tensor<B, 2, Int>, heads: usize) -> Option<Tensor<B, 3>> {
        let [batch, len, width] = qkv.dims();
        let inputs = vec![served(qkv)?, served_int(keys)?];
        let shape = Shape::new([batch, len, width / 3]);
        register::<B, 3, _>("deepprune_flash_attention", inputs, shape, |desc| FlashOp { desc, heads })
    }

    /// The largest key block of 32 or 16 that divides `len`, so no block reads past the
    /// sequence.
    fn key_block(len: usize) -> usize {
        [32, 16].into_iter().find(|b| len % b == 0).unwrap_or(ROWS)
    }

    /// Launches the kernel on the inner backend's tensors.
    pub(super) fn launch<R: CubeRuntime>(qkv: CubeTensor<R>, keys: CubeTensor<R>, heads: usize) -> CubeTensor<R> {
        // The kernel reads rows through their strides; only the innermost must be 1.
        let qkv = if qkv.meta.strides()[2] == 1 { qkv } else { into_contiguous(qkv) };
        let keys = if keys.meta.strides()[1] == 1 { keys } else { into_contiguous(keys) };
        let [batch, len, width] = qkv.meta.shape.dims::<3>();
        let hidden = width / 3;
        let out = empty_device_dtype::<R>(qkv.client.clone(), qkv.device.clone(), Shape::new([batch, len, hidden]), qkv.dtype);
        let tiles = len / ROWS;
        let planes = [PLANES, 2, 1].into_iter().find(|p| tiles % p == 0).unwrap_or(1);
        let cube_count = CubeCount::Static((tiles / planes) as u32, heads as u32, batch as u32);
        let cube_dim = CubeDim::new_2d(32, planes as u32);
        let (float, int) = (qkv.dtype, keys.dtype);
        let client = qkv.client.clone();
        kernel::flash_attention_kernel::launch::<R>(
            &client,
            cube_count,
            cube_dim,
            qkv.into_tensor_arg(),
            keys.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            len,
            key_block(len),
            planes,
            [float.into(), int.into()],
        );
        out
    }

    /// The kernel, in a module of its own: CubeCL's prelude names `Tensor` and `Int` too.
    mod kernel {
        use cubecl::prelude::*;

        /// Rescaling threshold of the online softmax, in natural-log units: the running
        /// maximum is raised only when a block's maximum exceeds it by more than this, so
        /// probabilities stay below e⁸ ≈ 3,000 (FlashAttention-4's lazy rescaling). Exact: the
        /// final division by the row sum cancels whichever maximum was used.
        const RESCALE_ABOVE: f32 = 8.0;

        /// A 16×16 tensor-core tile of the product's left operand (`A`), right operand (`B`)
        /// or f32 accumulator.
        #[cube]
        fn tile<E: Numeric>(#[comptime] ident: cmma::MatrixIdent, #[comptime] layout: cmma::MatrixLayout) -> cmma::Matrix<E> {
            unsafe { cmma::Matrix::<E>::uninitialized(ident, 16usize, 16usize, 16usize, layout) }
        }

        /// Row stride of the staged keys and values in shared memory: 32 values and 8 of
        /// padding, which spreads a tile's rows over the banks.
        const KV_STRIDE: usize = 40;

        /// One plane per 16 query rows of one head; see the module docs.
        ///
        /// Each block of keys and values is first staged in shared memory by the whole cube,
        /// with coalesced loads issued one block ahead, and read from there by every plane's
        /// tensor-core tiles.
        ///
        /// Lane `lane` works on row `r = lane / 2` of a 16-row tile, on the columns of one parity
        /// (`lane % 2`), visited in an order rotated by the row, so the 32 lanes of a plane
        /// touch 32 different shared-memory banks at every step.
        #[cube(launch)]
        pub(super) fn flash_attention_kernel<F: Float, I: Int>(
            qkv: &Tensor<F>,
            keys: &Tensor<I>,
            out: &mut Tensor<F>,
            #[comptime] len: usize,
            #[comptime] block: usize,
            #[comptime] planes: usize,
            #[define(F, I)] _dtypes: [StorageType; 2],
        ) {
            let lane = UNIT_POS_X as usize;
            let plane = UNIT_POS_Y as usize;
            let thread = plane * 32 + lane;
            let head = CUBE_POS_Y as usize;
            let batch = CUBE_POS_Z as usize;
            let row0 = (CUBE_POS_X as usize * planes + plane) * 16;
            let hidden = out.shape(2);
            let stride = qkv.stride(1);
            let base = batch * qkv.stride(0);
            let q_col = head * 32;
            let k_col = hidden + head * 32;
            let v_col = 2 * hidden + head * 32;
            let key_base = batch * keys.stride(0);
            let key_step = keys.stride(1);

            // The sequence's additive key bias (0 or -1e30), shared by the cube's planes, and
            // the last real key: blocks after it hold only padding.
            let mut bias = SharedMemory::<f32>::new_aligned(len, 128usize);
            let mut last = 0u32;
            let mut j = thread;
            while j < len {
                let real = u32::cast_from(keys[key_base + j * key_step]) != 0;
                bias[j] = select(real, f32::new(0.0), f32::new(-1.0e30));
                if real {
                    last = j as u32;
                }
                j += planes * 32;
            }
            // The cube's staged keys (rows 0..block) and values (rows block..2·block).
            let mut kv = SharedMemory::<F>::new_aligned(2 * block * KV_STRIDE, 128usize);
            // Per plane: the block's scores (f32; also where the running output passes through
            // on a rescale and at the end, so at least 16 × 32) and its probabilities (the
            // value product's left operand; first the plane's staged queries).
            let wide = comptime!(if block > 32 { block } else { 32 });
            let mut scores = SharedMemory::<f32>::new_aligned(planes * 16 * wide, 128usize);
            let mut probs = SharedMemory::<F>::new_aligned(planes * 16 * wide, 128usize);
            let s_off = plane * 16 * wide;
            let mut lasts = SharedMemory::<u32>::new(planes);
            let plane_last = plane_max(last);
            if lane == 0 {
                lasts[plane] = plane_last;
            }

            // The plane's 16 query rows, staged with coalesced loads.
            #[unroll]
            for i in 0..16usize {
                probs[s_off + i * 32 + lane] = qkv[base + (row0 + i) * stride + q_col + lane];
            }
            sync_cube();
            let mut cube_last = lasts[0];
            #[unroll]
            for p in 1..planes {
                cube_last = max(cube_last, lasts[p]);
            }
            let blocks = cube_last as usize / block + 1;

            let q0 = tile::<F>(cmma::MatrixIdent::A, cmma::MatrixLayout::RowMajor);
            let q1 = tile::<F>(cmma::MatrixIdent::A, cmma::MatrixLayout::RowMajor);
            cmma::load(&q0, &probs.slice(s_off, s_off + 16 * 32), 32u32);
            cmma::load(&q1, &probs.slice(s_off + 16, s_off + 16 * 32), 32u32);
            let o0 = tile::<f32>(cmma::MatrixIdent::Accumulator, cmma::MatrixLayout::Undefined);
            let o1 = tile::<f32>(cmma::MatrixIdent::Accumulator, cmma::MatrixLayout::Undefined);
            cmma::fill(&o0, f32::new(0.0));
            cmma::fill(&o1, f32::new(0.0));

            let r = lane / 2;
            let parity = lane % 2;
            let mut row_max = f32::new(-1.0e30);
            let mut row_sum = f32::new(0.0);

            // Keys and values travel global → shared memory, a block at a time. (Loading the next
            // block into registers while computing this one, and unrolling the softmax loops, cost
            // registers: 165–249 per thread against 128, and so occupancy; measured slower.)
            let rows = comptime!(block / planes);

            for kb in 0..blocks {
                let key0 = kb * block;
                // Stage the block's keys and values: 32 consecutive values of a row per plane
                // and step, each load instruction reading 64 contiguous bytes.
                sync_cube();
                #[unroll]
                for i in 0..rows {
                    let row = i * planes + plane;
                    let at = base + (key0 + row) * stride + lane;
                    kv[row * KV_STRIDE + lane] = qkv[at + k_col];
                    kv[(block + row) * KV_STRIDE + lane] = qkv[at + v_col];
                }
                sync_cube();

                // Scores of the block: q · kᵀ, one 16×16 tile at a time.
                #[unroll]
                for t in 0..block / 16 {
                    let s = tile::<f32>(cmma::MatrixIdent::Accumulator, cmma::MatrixLayout::Undefined);
                    cmma::fill(&s, f32::new(0.0));
                    let k_at = t * 16 * KV_STRIDE;
                    let k0 = tile::<F>(cmma::MatrixIdent::B, cmma::MatrixLayout::ColMajor);
                    let k1 = tile::<F>(cmma::MatrixIdent::B, cmma::MatrixLayout::ColMajor);
                    cmma::load(&k0, &kv.slice(k_at, k_at + 16 * KV_STRIDE), KV_STRIDE as u32);
                    cmma::load(&k1, &kv.slice(k_at + 16, k_at + 16 * KV_STRIDE), KV_STRIDE as u32);
                    cmma::execute::<F, F, f32, f32>(&q0, &k0, &s, &s);
                    cmma::execute::<F, F, f32, f32>(&q1, &k1, &s, &s);
                    cmma::store(
                        &mut scores.slice_mut(s_off + t * 16, s_off + 16 * block),
                        &s,
                        block as u32,
                        cmma::MatrixLayout::RowMajor,
                    );
                }
                sync_plane();

                // Row `r`'s maximum over the block, shared by the lane pair (lane, lane ^ 1).
                let row = s_off + r * block;
                let mut block_max = f32::new(-1.0e30);
                #[unroll(false)]
                for c in 0..block / 2 {
                    let col = (2 * c + parity + 2 * r) % block;
                    block_max = max(block_max, scores[row + col] + bias[key0 + col]);
                }
                block_max = max(block_max, plane_shuffle_xor(block_max, 1));
                // Lazy rescaling: raise the running maximum only when it is exceeded by more
                // than RESCALE_ABOVE, and then rescale the running output through shared memory.
                let raise = block_max > row_max + RESCALE_ABOVE;
                let rescaling = plane_any(raise);
                let new_max = select(raise, block_max, row_max);
                let rescale = (row_max - new_max).exp();
                row_sum *= rescale;
                row_max = new_max;
                let mut block_sum = f32::new(0.0);
                #[unroll(false)]
                for c in 0..block / 2 {
                    let col = (2 * c + parity + 2 * r) % block;
                    let p = (scores[row + col] + bias[key0 + col] - row_max).exp();
                    probs[row + col] = F::cast_from(p);
                    block_sum += p;
                }
                row_sum += block_sum + plane_shuffle_xor(block_sum, 1);
                sync_plane();
                // The scores are read: their buffer can carry the output to be rescaled.
                if rescaling {
                    scale_rows(&mut scores, &o0, &o1, s_off, r, parity, rescale);
                }

                // Running output += probabilities · values, on tensor cores.
                #[unroll]
                for t in 0..block / 16 {
                    let p = tile::<F>(cmma::MatrixIdent::A, cmma::MatrixLayout::RowMajor);
                    cmma::load(&p, &probs.slice(s_off + t * 16, s_off + 16 * block), block as u32);
                    let v_at = (block + t * 16) * KV_STRIDE;
                    let v0 = tile::<F>(cmma::MatrixIdent::B, cmma::MatrixLayout::RowMajor);
                    let v1 = tile::<F>(cmma::MatrixIdent::B, cmma::MatrixLayout::RowMajor);
                    cmma::load(&v0, &kv.slice(v_at, v_at + 16 * KV_STRIDE), KV_STRIDE as u32);
                    cmma::load(&v1, &kv.slice(v_at + 16, v_at + 16 * KV_STRIDE), KV_STRIDE as u32);
                    cmma::execute::<F, F, f32, f32>(&p, &v0, &o0, &o0);
                    cmma::execute::<F, F, f32, f32>(&p, &v1, &o1, &o1);
                }
            }

            // Normalise and write the heads merged: out[batch, row, head · 32 + d].
            scale_rows(&mut scores, &o0, &o1, s_off, r, parity, f32::new(1.0) / row_sum);
            let out_at = batch * out.stride(0) + (row0 + r) * out.stride(1) + head * 32 + parity * 16;
            #[unroll]
            for d in 0..16usize {
                let e = (d + r) % 16;
                out[out_at + e] = F::cast_from(scores[s_off + r * 32 + parity * 16 + e]);
            }
        }

        /// Multiplies row `r` of the running output (the two 16×16 accumulator tiles) by
        /// `factor`, through the plane's shared scratch `buf` at `at` (16 × 32 f32, row-major),
        /// and leaves the scaled rows there too. Each lane scales half of its row. The caller
        /// synchronises the plane first if its lanes were reading `buf`.
        #[cube]
        fn scale_rows(
            buf: &mut SharedMemory<f32>,
            o0: &cmma::Matrix<f32>,
            o1: &cmma::Matrix<f32>,
            at: usize,
            r: usize,
            parity: usize,
            factor: f32,
        ) {
            cmma::store(&mut buf.slice_mut(at, at + 16 * 32), o0, 32u32, cmma::MatrixLayout::RowMajor);
            cmma::store(&mut buf.slice_mut(at + 16, at + 16 * 32), o1, 32u32, cmma::MatrixLayout::RowMajor);
            sync_plane();
            #[unroll]
            for d in 0..16usize {
                let i = at + r * 32 + parity * 16 + (d + r) % 16;
                buf[i] *= factor;
            }
            sync_plane();
            cmma::load_with_layout(o0, &buf.slice(at, at + 16 * 32), 32u32, cmma::MatrixLayout::RowMajor);
            cmma::load_with_layout(o1, &buf.slice(at + 16, at + 16 * 32), 32u32, cmma::MatrixLayout::RowMajor);
        }
    }

    #[allow(dead_code)]
    const _: () = assert!(HEAD_DIM == 32 && ROWS == 16);
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Int, Tensor};

    #[test]
    fn the_kernel_declines_backends_and_shapes_it_does_not_cover() {
        // The CPU backend, and on any backend a head width other than 32 or a length that is
        // not a multiple of 16: the caller computes the composition instead.
        type B = burn::backend::Flex;
        let device = Default::default();
        let keys = Tensor::<B, 2, Int>::ones([2, 32], &device);
        assert!(super::attention(&Tensor::<B, 3>::zeros([2, 32, 3 * 384], &device), &keys, 12).is_none());
        assert!(super::attention(&Tensor::<B, 3>::zeros([2, 32, 3 * 384], &device), &keys, 6).is_none());
        let keys = Tensor::<B, 2, Int>::ones([2, 24], &device);
        assert!(super::attention(&Tensor::<B, 3>::zeros([2, 24, 3 * 384], &device), &keys, 12).is_none());
    }
}
