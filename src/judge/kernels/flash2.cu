// Flash attention for heads of width 32 in bf16, FlashAttention-2's design: the scores, their
// softmax and the probabilities stay in registers between the two tensor-core products.
// Compiled at run time by NVRTC (flash2.rs), without headers: bf16 values travel as their bits.
//
// A cube of WARPS warps owns WARPS × 16 query rows of one head of one sequence. Keys and values
// go global → shared memory in blocks of 64, two blocks in flight (cp.async); each warp then
//   - computes its 16 × 64 scores with mma.sync m16n8k16 (the keys read by ldmatrix),
//   - takes the online softmax in registers (each row is held by a quad of 4 lanes),
//   - reuses the score accumulators as the left operand of the value product: the layout of an
//     m16n8 f32 accumulator pair is that of an m16k16 bf16 operand once rounded,
//   - adds probabilities × values to its 16 × 32 running output (the values read by
//     ldmatrix.trans).
//
// Inputs: `qkv` [batch, len, 3 · hidden] (queries already scaled by 1/√d, then keys, then
// values, each heads × 32 wide; rows `qkv_row` apart), `keys` [batch, len] (0 on padding).
// Output: the first `q_len` query rows of each sequence, `out` [batch, q_len, hidden], contiguous
// (`q_len` is `len`, or 1 where only the [CLS] row is read).

typedef unsigned short bf16_bits;
typedef unsigned int u32;

#define KEYS 64                // keys per block (32 measured slower: 460 against 407 µs)
#define PITCH 40               // staged row: 32 values and 8 of padding, so ldmatrix's rows
                               // fall on different banks
#define MAX_LEN 512
#define LOG2E 1.4426950408889634f
#define NEG (-1.0e30f)

__device__ __forceinline__ u32 shared_address(const void* p) {
    u32 r;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p));
    return r;
}

__device__ __forceinline__ void copy16(void* shared, const void* global) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(shared_address(shared)), "l"(global));
}

__device__ __forceinline__ void copies_commit() { asm volatile("cp.async.commit_group;"); }

template <int N>
__device__ __forceinline__ void copies_wait() { asm volatile("cp.async.wait_group %0;" ::"n"(N)); }

// Two f32 rounded to one bf16 pair, `lo` in the low half (the lower column).
__device__ __forceinline__ u32 pack(float lo, float hi) {
    u32 r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

// c += a · b for one m16n8k16 tile, f32 accumulation.
__device__ __forceinline__ void mma(float* c, const u32* a, u32 b0, u32 b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void ldmatrix4(u32* r, const void* row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(shared_address(row)));
}

__device__ __forceinline__ void ldmatrix4_trans(u32* r, const void* row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(shared_address(row)));
}

template <int WARPS>
__device__ __forceinline__ void flash2(const bf16_bits* __restrict__ qkv, const int* __restrict__ keys,
                                       bf16_bits* __restrict__ out, int len, int q_len, int heads,
                                       long long qkv_batch, int qkv_row, long long keys_batch, int keys_step) {
    __shared__ __align__(16) bf16_bits k_tile[2][KEYS * PITCH];
    __shared__ __align__(16) bf16_bits v_tile[2][KEYS * PITCH];
    // The additive key bias, in log2 units: 0 on real keys, NEG on padding and past `len`.
    __shared__ float bias[MAX_LEN + KEYS];
    __shared__ int last_real;

    const int threads = WARPS * 32;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;  // the quad (a row pair) and the lane within it
    const int head = blockIdx.y, batch = blockIdx.z;
    const int hidden = heads * 32;
    const bf16_bits* base = qkv + batch * qkv_batch;
    const int k_col = hidden + head * 32, v_col = 2 * hidden + head * 32;
    const int row0 = (blockIdx.x * WARPS + warp) * 16;
    const bool active = row0 < q_len;

    if (tid == 0) last_real = 0;
    __syncthreads();
    const int span = (len + KEYS - 1) / KEYS * KEYS;
    int mine = 0;
    for (int j = tid; j < span; j += threads) {
        const bool real = j < len && keys[batch * keys_batch + (long long)j * keys_step] != 0;
        bias[j] = real ? 0.0f : NEG;
        if (real) mine = j;
    }
    atomicMax(&last_real, mine);

    // Stages key block `kb` in buffer `s`: 64 rows of 4 × 16 bytes each for keys and values.
    // Rows past the sequence repeat its last row (finite values; their keys are masked).
    auto stage = [&](int s, int kb) {
        for (int c = tid; c < KEYS * 4; c += threads) {
            const int r = c >> 2, part = (c & 3) * 8;
            const int key = min(kb * KEYS + r, len - 1);
            const bf16_bits* src = base + (long long)key * qkv_row;
            copy16(&k_tile[s][r * PITCH + part], src + k_col + part);
            copy16(&v_tile[s][r * PITCH + part], src + v_col + part);
        }
        copies_commit();
    };
    stage(0, 0);

    // The warp's 16 query rows as two m16k16 operands (head dims 0–15 and 16–31).
    u32 q[2][4];
    {
        const int r0 = min(row0 + g, len - 1), r1 = min(row0 + g + 8, len - 1);
        const bf16_bits* q0 = base + (long long)r0 * qkv_row + head * 32;
        const bf16_bits* q1 = base + (long long)r1 * qkv_row + head * 32;
#pragma unroll
        for (int kk = 0; kk < 2; ++kk) {
            const int c = kk * 16 + 2 * t;
            q[kk][0] = *(const u32*)(q0 + c);
            q[kk][1] = *(const u32*)(q1 + c);
            q[kk][2] = *(const u32*)(q0 + c + 8);
            q[kk][3] = *(const u32*)(q1 + c + 8);
        }
    }

    __syncthreads();
    const int blocks = last_real / KEYS + 1;

    // Running output: 4 tiles of 8 head dims; [0], [1] on row g, [2], [3] on row g + 8.
    float o[4][4];
#pragma unroll
    for (int d = 0; d < 4; ++d) o[d][0] = o[d][1] = o[d][2] = o[d][3] = 0.0f;
    float max0 = NEG, max1 = NEG, sum0 = 0.0f, sum1 = 0.0f;

    for (int kb = 0; kb < blocks; ++kb) {
        const int s = kb & 1;
        if (kb + 1 < blocks) {
            stage(s ^ 1, kb + 1);
            copies_wait<1>();
        } else {
            copies_wait<0>();
        }
        __syncthreads();
        if (active) {
            // Scores: 8 tiles of 8 keys; [0], [1] row g, keys 2t, 2t + 1; [2], [3] row g + 8.
            float sc[KEYS / 8][4];
#pragma unroll
            for (int n = 0; n < KEYS / 8; ++n) {
                sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.0f;
                u32 b[4];
                ldmatrix4(b, &k_tile[s][(n * 8 + (lane & 7)) * PITCH + (lane >> 3) * 8]);
                mma(sc[n], q[0], b[0], b[1]);
                mma(sc[n], q[1], b[2], b[3]);
            }
            float m0 = max0, m1 = max1;
#pragma unroll
            for (int n = 0; n < KEYS / 8; ++n) {
                const float2 bk = *(const float2*)&bias[kb * KEYS + n * 8 + 2 * t];
                sc[n][0] = fmaf(sc[n][0], LOG2E, bk.x);
                sc[n][1] = fmaf(sc[n][1], LOG2E, bk.y);
                sc[n][2] = fmaf(sc[n][2], LOG2E, bk.x);
                sc[n][3] = fmaf(sc[n][3], LOG2E, bk.y);
                m0 = fmaxf(m0, fmaxf(sc[n][0], sc[n][1]));
                m1 = fmaxf(m1, fmaxf(sc[n][2], sc[n][3]));
            }
            m0 = fmaxf(m0, __shfl_xor_sync(0xffffffffu, m0, 1));
            m0 = fmaxf(m0, __shfl_xor_sync(0xffffffffu, m0, 2));
            m1 = fmaxf(m1, __shfl_xor_sync(0xffffffffu, m1, 1));
            m1 = fmaxf(m1, __shfl_xor_sync(0xffffffffu, m1, 2));
            const float scale0 = exp2f(max0 - m0), scale1 = exp2f(max1 - m1);
            max0 = m0;
            max1 = m1;
            sum0 *= scale0;
            sum1 *= scale1;
#pragma unroll
            for (int d = 0; d < 4; ++d) {
                o[d][0] *= scale0;
                o[d][1] *= scale0;
                o[d][2] *= scale1;
                o[d][3] *= scale1;
            }
#pragma unroll
            for (int n = 0; n < KEYS / 8; ++n) {
                sc[n][0] = exp2f(sc[n][0] - m0);
                sc[n][1] = exp2f(sc[n][1] - m0);
                sc[n][2] = exp2f(sc[n][2] - m1);
                sc[n][3] = exp2f(sc[n][3] - m1);
                sum0 += sc[n][0] + sc[n][1];
                sum1 += sc[n][2] + sc[n][3];
            }
            // Probabilities × values, 16 keys at a time.
#pragma unroll
            for (int j = 0; j < KEYS / 16; ++j) {
                const u32 p[4] = {pack(sc[2 * j][0], sc[2 * j][1]), pack(sc[2 * j][2], sc[2 * j][3]),
                                  pack(sc[2 * j + 1][0], sc[2 * j + 1][1]), pack(sc[2 * j + 1][2], sc[2 * j + 1][3])};
                const int m = lane >> 3;
                const int key = j * 16 + (m & 1) * 8 + (lane & 7);
#pragma unroll
                for (int d = 0; d < 4; d += 2) {
                    u32 b[4];
                    ldmatrix4_trans(b, &v_tile[s][key * PITCH + d * 8 + (m >> 1) * 8]);
                    mma(o[d], p, b[0], b[1]);
                    mma(o[d + 1], p, b[2], b[3]);
                }
            }
        }
        // Every warp is done with buffer `s` before the next iteration stages into it.
        __syncthreads();
    }

    if (!active) return;
    sum0 += __shfl_xor_sync(0xffffffffu, sum0, 1);
    sum0 += __shfl_xor_sync(0xffffffffu, sum0, 2);
    sum1 += __shfl_xor_sync(0xffffffffu, sum1, 1);
    sum1 += __shfl_xor_sync(0xffffffffu, sum1, 2);
    const float inv0 = 1.0f / sum0, inv1 = 1.0f / sum1;
    bf16_bits* out0 = out + ((long long)batch * q_len + row0 + g) * hidden + head * 32 + 2 * t;
    bf16_bits* out1 = out0 + 8 * hidden;
    const bool write0 = row0 + g < q_len, write1 = row0 + g + 8 < q_len;
#pragma unroll
    for (int d = 0; d < 4; ++d) {
        if (write0) *(u32*)(out0 + d * 8) = pack(o[d][0] * inv0, o[d][1] * inv0);
        if (write1) *(u32*)(out1 + d * 8) = pack(o[d][2] * inv1, o[d][3] * inv1);
    }
}

// Four warps of 16 query rows per cube, at least 3 cubes per SM (ptxas keeps it to 128 registers,
// so 4 fit). On an H100 at 128 pairs of 512 tokens, compiled with denormals flushed to zero
// (flash2.rs), this took 397 µs per layer, against 407 µs asking for at least 4 cubes, 445 µs for
// that without flushing denormals (exp2 then needs more than one instruction), 474 µs at 5 cubes
// per SM (96 registers), 491 µs at 6 (80, spilling) and 513 µs for cubes of 8 warps (Nsight
// Compute; docs/benchmarks.md).
extern "C" __global__ void __launch_bounds__(128, 3)
    deepprune_flash2(const bf16_bits* __restrict__ qkv, const int* __restrict__ keys, bf16_bits* __restrict__ out,
                     int len, int q_len, int heads, long long qkv_batch, int qkv_row, long long keys_batch,
                     int keys_step) {
    flash2<4>(qkv, keys, out, len, q_len, heads, qkv_batch, qkv_row, keys_batch, keys_step);
}
