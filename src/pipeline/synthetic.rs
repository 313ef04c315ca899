//! The synthetic load source: problems of made-up traces with a controllable similarity
//! structure, built one problem at a time as the generator reaches it, so a load test of
//! thousands of problems holds only the problems in flight in memory.
//!
//! Each problem has `answer_groups` answers; trace i picks group g with probability ∝ 1/(g+1)
//! (group 0, the gold answer, is the most common). Each group has a template word sequence; a
//! trace copies each template word with probability `similarity` and otherwise draws a random
//! word, so traces of one group share more of their prefix than traces of different groups.
//! Every word (with its trailing space) is one token. The trace ends with
//! `so the answer is \boxed{A}` for its group's answer A. Everything is seeded: the same config
//! gives the same traces.

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::config::SyntheticConfig;
use crate::trace::Trace;

impl SyntheticConfig {
    /// The id of problem `index`.
    pub fn pid(&self, index: usize) -> String {
        format!("synthetic-{index:06}")
    }

    /// The traces of problem `index` and its gold answer.
    pub fn problem(&self, index: usize) -> (Vec<Arc<Trace>>, String) {
        let mut rng = SmallRng::seed_from_u64(self.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let groups = self.answer_groups.max(1);
        let max_len = ((self.tokens_per_trace as f64) * (1.0 + self.length_spread)).ceil() as usize + 1;
        let templates: Vec<Vec<&'static str>> =
            (0..groups).map(|_| (0..max_len).map(|_| WORDS[rng.random_range(0..WORDS.len())]).collect()).collect();
        let answers: Vec<u64> = (0..groups as u64).map(|g| (index as u64 * 7 + g * 13) % 1000 + g * 1000).collect();
        let weights: Vec<f64> = (0..groups).map(|g| 1.0 / (g as f64 + 1.0)).collect();
        let total: f64 = weights.iter().sum();
        let pid = self.pid(index);
        let traces = (0..self.traces_per_problem)
            .map(|sample| {
                let mut pick = rng.random::<f64>() * total;
                let group = weights.iter().position(|w| {
                    pick -= w;
                    pick < 0.0
                });
                let group = group.unwrap_or(groups - 1);
                let spread = self.length_spread * (2.0 * rng.random::<f64>() - 1.0);
                let len = ((self.tokens_per_trace as f64) * (1.0 + spread)).round().max(1.0) as usize;
                let mut text = String::with_capacity(len * 8);
                let mut tok_bytes = Vec::with_capacity(len + 5);
                for &word in templates[group].iter().take(len) {
                    let w = if rng.random::<f64>() < self.similarity { word } else { WORDS[rng.random_range(0..WORDS.len())] };
                    text.push_str(w);
                    text.push(' ');
                    tok_bytes.push((w.len() + 1) as u8);
                }
                for w in ["so ", "the ", "answer ", "is "] {
                    text.push_str(w);
                    tok_bytes.push(w.len() as u8);
                }
                let boxed = format!("\\boxed{{{}}}", answers[group]);
                text.push_str(&boxed);
                tok_bytes.push(boxed.len() as u8);
                Arc::new(Trace {
                    pid: pid.clone(),
                    sample: sample as u32,
                    text: text.into(),
                    tok_bytes: Some(tok_bytes),
                    conf: None,
                    finish: None,
                    answer: Some(answers[group].to_string()),
                    answer_class: Some(group as i64),
                    correct: Some(group == 0),
                })
            })
            .collect();
        (traces, answers[0].to_string())
    }
}

/// Words the synthetic traces are made of, reasoning words included.
const WORDS: &[&str] = &[
    "let", "x", "be", "the", "number", "of", "apples", "we", "have", "so", "then", "since", "thus", "wait",
    "check", "sum", "product", "equals", "two", "three", "five", "seven", "square", "root", "divide", "by",
    "multiply", "add", "subtract", "total", "each", "side", "angle", "triangle", "area", "length", "ratio",
    "therefore", "because", "first", "next", "now", "consider", "suppose", "note", "hence", "value", "term",
    "sequence", "prime", "factor", "remainder", "modulo", "integer", "solve", "for", "y", "z", "plus", "minus",
    "times", "over", "half", "double",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_seeded_and_well_formed() {
        let cfg = SyntheticConfig { problems: 3, traces_per_problem: 20, tokens_per_trace: 30, ..Default::default() };
        let (a, gold) = cfg.problem(1);
        let (b, _) = cfg.problem(1);
        assert_eq!(a, b, "same config, same traces");
        assert_ne!(cfg.problem(2).0[0].text, a[0].text);
        for t in &a {
            let bytes: usize = t.tok_bytes.as_ref().unwrap().iter().map(|&b| b as usize).sum();
            assert_eq!(bytes, t.text.len(), "token boundaries cover the text of {}", t.name());
            let extracted = crate::answer::extract(&t.text).expect("every trace states an answer");
            assert_eq!(Some(extracted), t.answer);
        }
        // Group 0 is the gold answer and the most common.
        let gold_share = a.iter().filter(|t| t.answer.as_deref() == Some(gold.as_str())).count();
        assert!(gold_share * 4 > a.len(), "gold in {gold_share} of {}", a.len());
    }

    #[test]
    fn same_group_traces_share_more_of_their_prefix() {
        let cfg = SyntheticConfig { traces_per_problem: 40, tokens_per_trace: 60, similarity: 0.8, ..Default::default() };
        let (traces, _) = cfg.problem(0);
        let overlap = |a: &Trace, b: &Trace| a.text.split(' ').zip(b.text.split(' ')).take(40).filter(|(x, y)| x == y).count();
        let (mut same, mut same_n, mut diff, mut diff_n) = (0usize, 0usize, 0usize, 0usize);
        for (i, a) in traces.iter().enumerate() {
            for b in &traces[i + 1..] {
                if a.answer_class == b.answer_class {
                    same += overlap(a, b);
                    same_n += 1;
                } else {
                    diff += overlap(a, b);
                    diff_n += 1;
                }
            }
        }
        assert!(same as f64 / same_n as f64 > 2.0 * diff as f64 / diff_n as f64);
    }
}
