#!/usr/bin/env python3
"""Prints Burn-to-PyTorch ratios from one run of scripts/gpu/bench-judge.sh (its bench-judge.jsonl):
pairs/s per (tokens, batch) for each Burn attention implementation, and TFLOP/s per matmul shape.
Only rows of the same file are paired, so both sides of a ratio come from the same run. Where
PyTorch ran more than once (TORCH_RUNS in scripts/gpu/bench-judge.sh), the ratio is against its best run.

Usage: python3 scripts/bench/ratios.py bench-judge.jsonl
"""
import json, sys


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    torch_judge = {}
    for r in rows:
        if "pairs_per_sec" in r and r["device"].startswith("torch"):
            key = (r["max_len"], r["batch"])
            best = torch_judge.get(key)
            r["runs"] = (best["runs"] if best else 0) + 1
            if best is None or r["pairs_per_sec"] > best["pairs_per_sec"]:
                torch_judge[key] = r
            else:
                best["runs"] = r["runs"]
    torch_gemm = {(r["m"], r["k"], r["n"]): r for r in rows if "tflops" in r and r["device"].startswith("torch")}
    for r in rows:
        if r["device"].startswith("torch"):
            continue
        if "pairs_per_sec" in r:
            ref = torch_judge.get((r["max_len"], r["batch"]))
            if ref:
                best = f" (best of {ref['runs']} runs)" if ref["runs"] > 1 else ""
                print(f"judge, {r['max_len']} tokens, batch {r['batch']}, {r['device']}: "
                      f"{r['pairs_per_sec']:.0f} / {ref['pairs_per_sec']:.0f} pairs/s = "
                      f"{r['pairs_per_sec'] / ref['pairs_per_sec']:.2f}x PyTorch{best}")
        elif "tflops" in r:
            ref = torch_gemm.get((r["m"], r["k"], r["n"]))
            if ref:
                form = f", rhs {r.get('rhs', 'row_major')}, split {r.get('split', 1)}"
                print(f"matmul {r['m']}x{r['k']}x{r['n']}, {r['device']}{form}: "
                      f"{r['tflops']:.1f} / {ref['tflops']:.1f} TFLOP/s = {r['tflops'] / ref['tflops']:.2f}x PyTorch")


if __name__ == "__main__":
    main()
