#!/usr/bin/env python3
"""How much the generator's own token confidence says about whether two traces agree.

A question for the judge (issue 3): would feeding it DeepConf's per-token confidence (the `conf`
field of the shared traces) lift its AUROC towards the 0.80 target? This scores every
same-problem pair of the first K generator tokens with confidence features alone and prints
pooled and within-problem AUROC, the judge's two metrics (within-problem: each problem's own
AUROC, weighted by its pair count, over problems with both labels).

Pair scores: per-trace prefix features (mean confidence, lowest 32-token window, mean of the
last 32 tokens), combined as the pair's minimum, sum, or negated difference; then problem-level
scores (the mean over a problem's traces, and the benchmark a problem comes from), which can only
help the pooled figure.

Usage: python3 scripts/analysis/confidence-signal.py ../shared/data/traces-eval.jsonl.gz \
           ../shared/data/problems.jsonl [K=128]
Pure Python, no dependencies; a few seconds on the eval traces.
"""
import base64, gzip, itertools, json, sys
from collections import defaultdict


def auroc(pos, neg):
    """Mann-Whitney AUROC with ties counted half."""
    scored = sorted([(v, 1) for v in pos] + [(v, 0) for v in neg])
    rank_sum, i = 0.0, 0
    while i < len(scored):
        j = i
        while j + 1 < len(scored) and scored[j + 1][0] == scored[i][0]:
            j += 1
        mid = (i + j) / 2 + 1
        rank_sum += mid * sum(label for _, label in scored[i:j + 1])
        i = j + 1
    n1, n0 = len(pos), len(neg)
    return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)


def report(name, problems, pair_score):
    pos, neg, weighted, weight = [], [], 0.0, 0
    for pid, traces in problems.items():
        p, n = [], []
        for a, b in itertools.combinations(traces, 2):
            same = a["class"] == b["class"] and a["class"] >= 0
            (p if same else n).append(pair_score(pid, a, b))
        pos += p
        neg += n
        if p and n:
            weighted += auroc(p, n) * (len(p) + len(n))
            weight += len(p) + len(n)
    print(f"{name:34s} pooled {auroc(pos, neg):.3f}  within-problem {weighted / weight:.3f}")


def main():
    traces_path, problems_path = sys.argv[1], sys.argv[2]
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    problems = defaultdict(list)
    for line in gzip.open(traces_path, "rt"):
        d = json.loads(line)
        conf = base64.b64decode(d["conf"])[:k]
        windows = [sum(conf[i:i + 32]) / 32 for i in range(max(1, len(conf) - 31))]
        problems[d["pid"]].append({
            "class": int(d["answer_class"]),
            "mean": sum(conf) / len(conf),
            "lowest window": min(windows),
            "tail": sum(conf[-32:]) / len(conf[-32:]),
        })
    print(f"{sum(map(len, problems.values()))} traces, {len(problems)} problems, first {k} tokens")
    for feature in ("mean", "lowest window", "tail"):
        report(f"{feature}, pair minimum", problems, lambda _, a, b: min(a[feature], b[feature]))
        report(f"{feature}, pair sum", problems, lambda _, a, b: a[feature] + b[feature])
        report(f"{feature}, -|difference|", problems, lambda _, a, b: -abs(a[feature] - b[feature]))
    for feature in ("mean", "tail"):
        level = {pid: sum(t[feature] for t in ts) / len(ts) for pid, ts in problems.items()}
        report(f"{feature}, problem mean", problems, lambda pid, a, b: level[pid])
    source = {json.loads(l)["pid"]: json.loads(l)["source"] for l in open(problems_path)}
    same, total = defaultdict(int), defaultdict(int)
    for pid, ts in problems.items():
        for a, b in itertools.combinations(ts, 2):
            same[source[pid]] += a["class"] == b["class"] and a["class"] >= 0
            total[source[pid]] += 1
    rate = {s: same[s] / total[s] for s in total}
    print("same-answer rate by benchmark:", {s: round(r, 3) for s, r in rate.items()})
    report("benchmark's same-answer rate", problems, lambda pid, a, b: rate[source[pid]])


if __name__ == "__main__":
    main()
