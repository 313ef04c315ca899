#!/usr/bin/env python3
"""Does the text of a short prefix say more than the `lexical` judge reads? (issue 3)

Scores every same-problem pair of the eval traces with text-only similarities of their first K
generator tokens, and prints pooled and within-problem AUROC for each, to see whether a
problem-aware lexical score (one that discounts what every trace of a problem shares, such as
the restated question) carries the signal the learned judge misses.

Scores:
  bigrams+numbers        Jaccard of word bigrams and numbers (close to the `lexical` judge)
  new words              Jaccard of the words not in the question
  new numbers            Jaccard of the numbers not in the question
  tf-idf words           cosine of word counts weighted by IDF over the problem's own prefixes
  tf-idf bigrams         the same over bigrams and numbers
  same last number       1 when both prefixes end their last number alike
  problem mean           the mean bigrams+numbers similarity of all the problem's prefix pairs
                         (a problem-level score, as the problem's true same-answer rate is)

Usage: python3 scripts/analysis/lexical-signal.py TRACES.jsonl.gz PROBLEMS.jsonl K [K ...]
"""
import base64, bisect, collections, gzip, itertools, json, math, re, sys


def auroc(scores, labels):
    pos = [s for s, l in zip(scores, labels) if l]
    neg = sorted(s for s, l in zip(scores, labels) if not l)
    if not pos or not neg:
        return None
    hits = 0.0
    for s in pos:
        lo, hi = bisect.bisect_left(neg, s), bisect.bisect_right(neg, s)
        hits += lo + 0.5 * (hi - lo)
    return hits / (len(pos) * len(neg))


def words(s):
    return re.findall(r"[a-z]+|\d+(?:\.\d+)?", s.lower())


def numbers(s):
    return re.findall(r"\d+(?:\.\d+)?", s)


def jaccard(a, b):
    return len(a & b) / max(1, len(a | b))


def cosine(a, b):
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    na, nb = math.sqrt(sum(v * v for v in a.values())), math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def prefix(trace, k):
    cut = sum(base64.b64decode(trace["tok_bytes"])[:k])
    return trace["text"].encode()[:cut].decode("utf-8", "ignore")


def main():
    traces_path, problems_path, lengths = sys.argv[1], sys.argv[2], [int(k) for k in sys.argv[3:]]
    question = {p["pid"]: p["question"] for p in map(json.loads, open(problems_path))}
    by_problem = collections.defaultdict(list)
    for t in map(json.loads, gzip.open(traces_path, "rt")):
        by_problem[t["pid"]].append(t)
    for k in lengths:
        pooled, labels, within = collections.defaultdict(list), [], collections.defaultdict(list)
        for pid, ts in by_problem.items():
            texts = [prefix(t, k) for t in ts]
            q_words, q_numbers = set(words(question[pid])), set(numbers(question[pid]))
            toks = [words(s) for s in texts]
            grams = [set(zip(w, w[1:])) | {x for x in w if x[0].isdigit()} for w in toks]
            n = len(ts)
            word_df = collections.Counter(x for w in toks for x in set(w))
            gram_df = collections.Counter(x for g in grams for x in g)
            tfidf_w = [{x: c * math.log((n + 1) / (word_df[x] + 0.5)) for x, c in collections.Counter(w).items()} for w in toks]
            tfidf_g = [{x: math.log((n + 1) / (gram_df[x] + 0.5)) for x in g} for g in grams]
            new_w = [set(w) - q_words for w in toks]
            new_n = [set(numbers(s)) - q_numbers for s in texts]
            last = [(numbers(s) or [None])[-1] for s in texts]
            scores, pair_labels = collections.defaultdict(list), []
            for i, j in itertools.combinations(range(n), 2):
                ci, cj = ts[i]["answer_class"], ts[j]["answer_class"]
                pair_labels.append(ci == cj and ci >= 0)
                scores["bigrams+numbers"].append(jaccard(grams[i], grams[j]))
                scores["new words"].append(jaccard(new_w[i], new_w[j]))
                scores["new numbers"].append(jaccard(new_n[i], new_n[j]))
                scores["tf-idf words"].append(cosine(tfidf_w[i], tfidf_w[j]))
                scores["tf-idf bigrams"].append(cosine(tfidf_g[i], tfidf_g[j]))
                scores["same last number"].append(float(last[i] is not None and last[i] == last[j]))
            mean = sum(scores["bigrams+numbers"]) / len(pair_labels)
            scores["problem mean"] = [mean] * len(pair_labels)
            labels += pair_labels
            for name, s in scores.items():
                pooled[name] += s
                a = auroc(s, pair_labels)
                if a is not None:
                    within[name].append((a, len(pair_labels)))
        print(f"first {k} tokens: {len(labels)} pairs, same-answer rate {sum(labels) / len(labels):.3f}")
        print(f"  {'score':<20} {'pooled AUROC':>12} {'within-problem AUROC':>21}")
        for name in pooled:
            w = within[name]
            w_auroc = sum(a * m for a, m in w) / sum(m for _, m in w)
            print(f"  {name:<20} {auroc(pooled[name], labels):>12.3f} {w_auroc:>21.3f}")


if __name__ == "__main__":
    main()
