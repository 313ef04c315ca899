#!/usr/bin/env python3
"""Builds data/sample/ (the quickstart's embedded data) from ../shared/data.

Takes 10 hand-picked evaluation problems with 32 traces each, chosen to mix easy and hard
problems (GSM8K, MATH-500, AMC 2023) so that the quickstart's accuracy is not trivially 0 or 1,
and writes their traces and problems.jsonl rows unchanged. Run from the repository root: python3 scripts/dev/make-sample.py
"""
import gzip, json, os

SRC = "../shared/data"
PIDS = [
    "amc23/15", "gsm8k-test/104", "gsm8k-test/399", "gsm8k-test/764", "gsm8k-test/794",
    "gsm8k-test/1221", "math500/algebra/2023", "math500/prealgebra/1787",
    "math500/counting_and_probability/23957", "math500/precalculus/96",
]
rows = {}
with gzip.open(f"{SRC}/traces-eval.jsonl.gz", "rt") as f:
    for line in f:
        t = json.loads(line)
        rows.setdefault(t["pid"], []).append(line)
pids = [p for p in PIDS if len(rows.get(p, [])) == 32]
assert pids == PIDS, "the shared data changed; pick new problems"
os.makedirs("data/sample", exist_ok=True)
with gzip.open("data/sample/traces.jsonl.gz", "wt", compresslevel=9) as out:
    for pid in pids:
        out.writelines(rows[pid])
with open(f"{SRC}/problems.jsonl") as f, open("data/sample/problems.jsonl", "w") as out:
    for line in f:
        if json.loads(line)["pid"] in pids:
            out.write(line)
print("sample problems:", pids)
