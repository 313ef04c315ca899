//! The lexical judge: a cheap, real baseline on the prefixes' text.
//!
//! The score is the mean of two Jaccard overlaps: of the numbers the prefixes contain (traces
//! heading for the same answer tend to compute the same intermediate values) and of their
//! lower-cased word bigrams (the same approach in the same words).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use super::{JudgeError, PairInput, PairJudge};

/// The features of one prefix, hashed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LexicalFeatures {
    numbers: HashSet<u64>,
    bigrams: HashSet<u64>,
}

fn hash_str(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl LexicalFeatures {
    /// Extracts numbers (digits with an optional decimal part) and word bigrams.
    pub fn of(text: &str) -> Self {
        let mut numbers = HashSet::new();
        let mut words: Vec<String> = Vec::new();
        let mut token = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() || (c == '.' && token.chars().all(|t| t.is_ascii_digit()) && !token.is_empty() && chars.peek().is_some_and(|n| n.is_ascii_digit())) {
                token.push(c);
                continue;
            }
            if !token.is_empty() {
                numbers.insert(hash_str(token.trim_end_matches('.')));
                words.push(std::mem::take(&mut token));
            }
            if c.is_alphabetic() {
                let mut w = c.to_lowercase().to_string();
                while let Some(&n) = chars.peek() {
                    if !n.is_alphabetic() {
                        break;
                    }
                    w.extend(n.to_lowercase());
                    chars.next();
                }
                words.push(w);
            }
        }
        if !token.is_empty() {
            numbers.insert(hash_str(&token));
            words.push(token);
        }
        let bigrams = words.windows(2).map(|w| hash_str(&format!("{} {}", w[0], w[1]))).collect();
        Self { numbers, bigrams }
    }

    /// The similarity of two prefixes' features, in [0, 1].
    pub fn similarity(&self, other: &Self) -> f32 {
        0.5 * jaccard(&self.numbers, &other.numbers) + 0.5 * jaccard(&self.bigrams, &other.bigrams)
    }
}

fn jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    let inter = a.intersection(b).count();
    inter as f32 / (a.len() + b.len() - inter) as f32
}

/// The lexical judge, caching each prefix's features.
#[derive(Debug, Default)]
pub struct LexicalJudge {
    cache: HashMap<(std::sync::Arc<str>, u32, usize), LexicalFeatures>,
}

/// Past this many cached prefixes the cache is cleared, to keep memory bounded on long runs.
const CACHE_CAP: usize = 65_536;

impl LexicalJudge {
    fn features(&mut self, p: &crate::trace::TracePrefix) -> LexicalFeatures {
        if self.cache.len() >= CACHE_CAP {
            self.cache.clear();
        }
        self.cache
            .entry((p.pid.clone(), p.sample, p.tokens))
            .or_insert_with(|| LexicalFeatures::of(&p.text))
            .clone()
    }
}

impl PairJudge for LexicalJudge {
    fn name(&self) -> &str {
        "lexical"
    }

    fn score(&mut self, pairs: &[PairInput]) -> Result<Vec<f32>, JudgeError> {
        Ok(pairs
            .iter()
            .map(|p| {
                let a = self.features(&p.a);
                let b = self.features(&p.b);
                a.similarity(&b)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_orders_related_text_higher() {
        let a = LexicalFeatures::of("We compute 12 * 3 = 36, so the total is 36.5 apples");
        let b = LexicalFeatures::of("We compute 12 * 3 = 36, then the total is 36.5");
        let c = LexicalFeatures::of("Let x be the side of the square; its area is x^2 = 49");
        assert!(a.similarity(&b) > 0.5, "{}", a.similarity(&b));
        assert!(a.similarity(&c) < 0.1, "{}", a.similarity(&c));
        assert_eq!(a.similarity(&a), 1.0);
        assert!(a.numbers.contains(&hash_str("36.5")));
        assert_eq!(LexicalFeatures::of("").similarity(&LexicalFeatures::of("")), 0.0);
    }
}
