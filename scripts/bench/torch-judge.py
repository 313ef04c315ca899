#!/usr/bin/env python3
"""The reference side of `deepprune bench judge`: the same weights through PyTorch.

Runs transformers' BertForSequenceClassification (num_labels=1) built from the same base model
directory, in bf16 on CUDA, with SDPA attention, on random pairs that fill every position, with
the same batch sizes and length as the Rust bench, and prints one JSON line per batch size with
the same keys. `--compile` adds torch.compile (reported separately).

Usage: python3 scripts/bench/torch-judge.py --model DIR --max-len 512 --batch 64,128 --pairs 4096
       [--compile] [--random-init]
       python3 scripts/bench/torch-judge.py --gemm 65536x384x1536,8192x8192x8192 [--reps 20]
`--gemm` times bf16 matmuls of the given shapes MxKxN instead, one JSON line each, with the keys
of `deepprune bench matmul --json`.
"""
import argparse, json, time

import torch
from transformers import BertConfig, BertForSequenceClassification


def flops_per_pair(cfg, length):
    d, f, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    per_layer = 2 * length * (4 * d * d + 2 * d * f) + 2 * 2 * length * length * d
    return per_layer * layers


def matmul_peak(n=8192, reps=50):
    """Dense bf16 matmul rate on n×n matrices, measured the same way as the Rust bench."""
    return matmul_rate(n, n, n, reps, min_seconds=0.0)


def matmul_rate(m, k, n, reps, min_seconds=0.5):
    """bf16 rate on one product shape, timed as the Rust `bench matmul` does: at least `reps`
    products, and more until about `min_seconds` have passed, then one synchronisation."""
    a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(k, n, device="cuda", dtype=torch.bfloat16)
    (a @ b)[0, 0].item()

    def run(count):
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(count):
            a @ b
        torch.cuda.synchronize()
        return time.perf_counter() - t

    first = run(reps)
    count = reps if first >= min_seconds else int(-(-min_seconds * reps // first))
    seconds = first if count == reps else run(count)
    return 2 * m * k * n * count / seconds / 1e12


def random_batch(batch, length):
    ids = torch.randint(1000, 29000, (batch, length), device="cuda")
    types = torch.zeros_like(ids)
    types[:, length // 2:] = 1
    mask = torch.ones_like(ids)
    return ids, types, mask


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model")
    p.add_argument("--gemm", help="time bf16 matmuls of these shapes MxKxN (comma-separated) and exit")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--max-len", type=int, default=512)
    p.add_argument("--batch", default="64")
    p.add_argument("--pairs", type=int, default=4096)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--random-init", action="store_true",
                   help="random weights from DIR/config.json (as the Rust bench without --judge)")
    args = p.parse_args()
    if args.gemm:
        for shape in args.gemm.split(","):
            m, k, n = (int(d) for d in shape.split("x"))
            print(json.dumps({"device": "torch bf16", "m": m, "k": k, "n": n,
                              "tflops": matmul_rate(m, k, n, args.reps)}), flush=True)
        return
    if not args.model:
        p.error("--model is required unless --gemm is given")
    cfg = BertConfig.from_pretrained(args.model)
    cfg.num_labels = 1
    t0 = time.perf_counter()
    if args.random_init:
        # Throughput does not depend on the weights' values: only config.json is needed.
        model = BertForSequenceClassification._from_config(
            cfg, torch_dtype=torch.bfloat16, attn_implementation="sdpa"
        ).cuda().eval()
    else:
        model = BertForSequenceClassification.from_pretrained(
            args.model, config=cfg, torch_dtype=torch.bfloat16, attn_implementation="sdpa"
        ).cuda().eval()
    if args.compile:
        model = torch.compile(model)
    peak = matmul_peak()
    for batch in [int(b) for b in args.batch.split(",")]:
        with torch.inference_mode():
            start = time.perf_counter()
            ids, types, mask = random_batch(batch, args.max_len)
            model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits.sigmoid().float().cpu()
            first = time.perf_counter() - start
            for _ in range(3):
                ids, types, mask = random_batch(batch, args.max_len)
                model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits.sigmoid().float().cpu()
            n = max(1, -(-args.pairs // batch))
            lat = []
            timed = time.perf_counter()
            for _ in range(n):
                ids, types, mask = random_batch(batch, args.max_len)
                t = time.perf_counter()
                model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits.sigmoid().float().cpu()
                lat.append((time.perf_counter() - t) * 1e3)
            total = time.perf_counter() - timed
        lat.sort()
        pps = n * batch / total
        fpp = flops_per_pair(cfg, args.max_len)
        achieved = fpp * pps / 1e12
        print(json.dumps({
            "device": "torch bf16 sdpa" + (" compiled" if args.compile else ""),
            "batch": batch, "max_len": args.max_len, "pairs": n * batch,
            "time_to_first_result_s": first, "pairs_per_sec": pps,
            "batch_latency_p50_ms": lat[len(lat) // 2],
            "batch_latency_p99_ms": lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))],
            "flops_per_pair": fpp, "achieved_tflops": achieved, "peak_tflops": peak,
            "fraction_of_peak": achieved / peak, "load_seconds": t0 and (time.perf_counter() - t0),
        }), flush=True)


if __name__ == "__main__":
    main()
