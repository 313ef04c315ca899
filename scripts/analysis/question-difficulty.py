#!/usr/bin/env python3
"""Can the question alone tell how redundant a problem's traces will be?

The pooled AUROC of a pair judge rewards knowing which problems are easy: scoring every pair by
its problem's true same-answer rate reaches 0.895 pooled on traces-eval-1.5b. A judge given the
question as a third segment could learn that only if the question predicts the rate. This fits a
ridge regression from the question (TF-IDF of word uni- and bigrams, the source, the log length)
to each training problem's same-answer rate, predicts the eval problems' rates, and scores every
eval pair by its problem's predicted rate: the pooled AUROC such a judge could gain from the
question (within-problem AUROC is 0.5 by construction). Rows: the prediction, the source alone,
and the true rate (the bound). A last row adds what a pair judge reads within a problem, stood in
for by the word Jaccard of the two 128-token prefixes (scripts/analysis/pair-signal.py): a
logistic regression over (predicted rate, Jaccard) fitted on the training pairs, with the
training problems' rates predicted out of fold, so nothing is fitted on the eval set.

Needs numpy, scipy and scikit-learn (pip install numpy scikit-learn); CI does not run it.
Usage: python3 scripts/analysis/question-difficulty.py PROBLEMS.jsonl EVAL.jsonl.gz TRAIN.jsonl.gz [TRAIN ...]
"""
import base64, collections, gzip, itertools, json, re, sys

import numpy as np
from scipy.sparse import csr_matrix, hstack
from scipy.stats import spearmanr
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.metrics import roc_auc_score


K = 128


def words(t):
    """The word uni- and bigrams of a trace's first K generator tokens."""
    text = t["text"].encode()[: sum(base64.b64decode(t["tok_bytes"])[:K])].decode("utf-8", "ignore")
    w = re.findall(r"[A-Za-z]+|\d+(?:\.\d+)?", text.lower())
    return set(w) | set(zip(w, w[1:]))


def classes(paths):
    """pid -> list of answer classes (-1: no answer), over the given trace files; and pid -> each
    trace's prefix words."""
    by, ws = collections.defaultdict(list), collections.defaultdict(list)
    for path in paths:
        with gzip.open(path, "rt") as f:
            for line in f:
                t = json.loads(line)
                by[t["pid"]].append(t["answer_class"])
                ws[t["pid"]].append(words(t))
    return by, ws


def jaccard_pairs(cs, ws):
    """(same, Jaccard) of every pair of one problem's traces, i < j."""
    return [(a == b and a >= 0, len(x & y) / max(1, len(x | y)))
            for (a, x), (b, y) in itertools.combinations(zip(cs, ws), 2)]


def within_auroc(groups):
    """The mean per-problem AUROC weighted by pairs, over problems with both labels."""
    num = den = 0
    for labels, scores in groups:
        if 0 < sum(labels) < len(labels):
            num += roc_auc_score(labels, scores) * len(labels)
            den += len(labels)
    return num / den


def pair_labels(cs):
    """(same, count) of every pair of one problem's traces, i < j."""
    counts = collections.Counter(c for c in cs if c >= 0)
    n = len(cs)
    total = n * (n - 1) // 2
    same = sum(k * (k - 1) // 2 for k in counts.values())
    return same, total


def main():
    problems = {p["pid"]: p for p in map(json.loads, open(sys.argv[1]))}
    (ev, ev_w), (tr, tr_w) = classes([sys.argv[2]]), classes(sys.argv[3:])
    assert not set(ev) & set(tr), "an eval problem is in the training traces"
    def rate(cs):
        s, t = pair_labels(cs)
        return s / t if t else 0.0
    tr_ids, ev_ids = sorted(tr), sorted(ev)
    text = lambda pid: problems[pid]["question"]
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x_tr_text = tfidf.fit_transform([text(p) for p in tr_ids])
    sources = sorted({problems[p]["source"] for p in tr_ids + ev_ids})
    def dense(ids):
        return csr_matrix([[problems[p]["source"] == s for s in sources] + [np.log1p(len(text(p)))] for p in ids], dtype=float)
    x_tr = hstack([x_tr_text, dense(tr_ids)]).tocsr()
    x_ev = hstack([tfidf.transform([text(p) for p in ev_ids]), dense(ev_ids)]).tocsr()
    y_tr = np.array([rate(tr[p]) for p in tr_ids])
    y_ev = np.array([rate(ev[p]) for p in ev_ids])
    predicted = dict(zip(ev_ids, Ridge(alpha=1.0).fit(x_tr, y_tr).predict(x_ev)))
    by_source = collections.defaultdict(list)
    for p, y in zip(tr_ids, y_tr):
        by_source[problems[p]["source"]].append(y)
    source_mean = {s: np.mean(v) for s, v in by_source.items()}
    print(f"{len(tr_ids)} training problems, {len(ev_ids)} eval problems; "
          f"Spearman of predicted and true rate: {spearmanr([predicted[p] for p in ev_ids], y_ev).statistic:.3f}")
    rows = [("predicted from the question", predicted),
            ("mean rate of the problem's source", {p: source_mean.get(problems[p]["source"], np.mean(y_tr)) for p in ev_ids}),
            ("the problem's true rate (bound)", dict(zip(ev_ids, y_ev)))]
    for name, score in rows:
        labels, scores = [], []
        for p in ev_ids:
            s, t = pair_labels(ev[p])
            labels += [1] * s + [0] * (t - s)
            scores += [score[p]] * t
        print(f"{name:36s} pooled AUROC {roc_auc_score(labels, scores):.3f}")
    # Out-of-fold predicted rates for the training problems, then (rate, Jaccard) -> same.
    oof = np.zeros(len(tr_ids))
    for fit, held in KFold(5, shuffle=True, random_state=0).split(tr_ids):
        oof[held] = Ridge(alpha=1.0).fit(x_tr[fit], y_tr[fit]).predict(x_tr[held])
    def design(ids, rates, cs, ws):
        x, y, groups = [], [], []
        for p, r in zip(ids, rates):
            pj = jaccard_pairs(cs[p], ws[p])
            x += [(r, j) for _, j in pj]
            y += [l for l, _ in pj]
            groups.append(len(pj))
        return np.array(x), np.array(y), groups
    x, y, _ = design(tr_ids, oof, tr, tr_w)
    model = LogisticRegression().fit(x, y)
    x, y, groups = design(ev_ids, [predicted[p] for p in ev_ids], ev, ev_w)
    score = model.decision_function(x)
    bounds = np.cumsum([0] + groups)
    within = within_auroc([(y[a:b], score[a:b]) for a, b in zip(bounds, bounds[1:])])
    jac = within_auroc([(y[a:b], x[a:b, 1]) for a, b in zip(bounds, bounds[1:])])
    print(f"{'Jaccard at ' + str(K) + ' tokens alone':36s} pooled AUROC {roc_auc_score(y, x[:, 1]):.3f}, within {jac:.3f}")
    print(f"{'predicted rate + Jaccard':36s} pooled AUROC {roc_auc_score(y, score):.3f}, within {within:.3f}")


if __name__ == "__main__":
    main()
