//! Final-answer extraction, normalisation and equivalence for math answers.
//!
//! Two traces "agree" when their final answers are equivalent; that relation drives the
//! pair labels, the clusters and the vote. The reference labels were computed with the
//! `math-verify` package, so this module aims to reproduce its verdicts with plain Rust:
//!
//! - [`extract`] finds the final answer in a trace (last `\boxed{}`, an explicit marker
//!   such as `The final answer is`, `Answer:` or `####`, an "answer is" phrase, or the last
//!   number); [`extract_with_finish`] does the same knowing whether the trace was cut off;
//! - [`Answer::parse`] normalises it once (LaTeX, units, separators) and summarises it as an
//!   exact rational, a sampled expression, a tuple / interval / set, or text;
//! - [`Answer::equivalent`] then compares two summaries cheaply, for the O(N²) pairs.
//!
//! Nothing here panics on any input: arithmetic is checked, slicing is on char boundaries,
//! and nesting depth is capped.

mod expr;
mod extract;
mod normalize;

pub mod agreement;

pub use extract::{extract, extract_boxed, extract_with_finish};

use expr::Numeric;

/// Deepest nesting of tuples, sets and unions followed; deeper input compares as text.
const MAX_SEQ_DEPTH: usize = 8;

/// A parsed, normalised answer, cheap to compare many times.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The normalised text, for display.
    normalized: String,
    /// The normalised text lowercased and without braces (`2^{10}` = `2^10`), the last
    /// resort for comparison.
    key: String,
    /// The structured value compared first.
    value: Value,
}

/// What an answer denotes, as far as this module can tell.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    /// A number or expression, summarised for comparison.
    Expr(Numeric),
    /// A tuple, interval, set, bare list or union of intervals.
    Seq(Seq),
    /// An equation `lhs = rhs`. Against a non-equation only the right-hand side counts
    /// (`x = 5` is `5`); two equations must match on both sides.
    Equation(Box<Value>, Box<Value>),
    /// Anything else, lowercased (words such as `even`).
    Text(String),
}

/// A bracketed sequence of values.
#[derive(Debug, Clone, PartialEq)]
struct Seq {
    /// The bracket pair around the items.
    brackets: Brackets,
    /// The items in written order.
    items: Vec<Value>,
}

/// The brackets of a [`Seq`], which decide both its kind and whether order matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Brackets {
    /// `1, 2` with no brackets.
    Bare,
    /// `\{1, 2\}`: order does not matter.
    Set,
    /// `A \cup B`: order does not matter.
    Union,
    /// `(a, b)`, `[a, b]`, `[a, b)`, `(a, b]`: the open and close characters.
    Pair(char, char),
}

impl Brackets {
    fn unordered(self) -> bool {
        matches!(self, Brackets::Set | Brackets::Union)
    }

    /// Whether two bracket kinds can denote the same object. A bare list is read as a tuple
    /// or a set, as the reference grader reads `15, -36` and `(15, -36)` as the same.
    fn compatible(self, other: Brackets) -> bool {
        self == other
            || matches!(
                (self, other),
                (Brackets::Bare, Brackets::Set | Brackets::Pair('(', ')'))
                    | (Brackets::Set | Brackets::Pair('(', ')'), Brackets::Bare)
            )
    }
}

impl Answer {
    /// Parse and normalise a raw answer (as returned by [`extract`] or a gold label).
    pub fn parse(raw: &str) -> Answer {
        let normalized = normalize::normalize(raw);
        let value = parse_value(&normalized, 0);
        let key = normalized.chars().filter(|c| !matches!(c, '{' | '}')).collect::<String>().to_lowercase();
        Answer { normalized, key, value }
    }

    /// The normalised text form (for display and hashing fallbacks).
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// Whether two answers are mathematically the same: structurally when both parse, and
    /// by normalised text (case-insensitively) otherwise.
    pub fn equivalent(&self, other: &Answer) -> bool {
        self.value.equivalent(&other.value) || self.key == other.key
    }
}

/// Convenience: parse both and compare.
pub fn equivalent(a: &str, b: &str) -> bool {
    Answer::parse(a).equivalent(&Answer::parse(b))
}

impl Value {
    fn equivalent(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Expr(a), Value::Expr(b)) => a.same(b),
            (Value::Seq(a), Value::Seq(b)) => a.equivalent(b),
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::Equation(la, ra), Value::Equation(lb, rb)) => la.equivalent(lb) && ra.equivalent(rb),
            (Value::Equation(_, rhs), other) | (other, Value::Equation(_, rhs)) => rhs.equivalent(other),
            _ => false,
        }
    }
}

impl Seq {
    fn equivalent(&self, other: &Seq) -> bool {
        if !self.brackets.compatible(other.brackets) || self.items.len() != other.items.len() {
            return false;
        }
        if self.brackets.unordered() || other.brackets.unordered() {
            // Multiset match; answers are short, so the quadratic scan is cheap.
            let mut used = vec![false; other.items.len()];
            self.items.iter().all(|a| {
                let hit = other.items.iter().enumerate().find(|(j, b)| !used[*j] && a.equivalent(b));
                hit.map(|(j, _)| used[j] = true).is_some()
            })
        } else {
            self.items.iter().zip(&other.items).all(|(a, b)| a.equivalent(b))
        }
    }
}

/// Build the structured value of a normalised answer.
fn parse_value(s: &str, depth: usize) -> Value {
    // Only command-separating spaces survive normalisation; at the edges they mean nothing.
    let s = s.trim();
    if depth > MAX_SEQ_DEPTH {
        return Value::Text(s.to_lowercase());
    }
    let union = split_top_level(s, '∪');
    if union.len() > 1 {
        return seq(Brackets::Union, &union, depth);
    }
    // `x \in [0, 1]`: the set is the answer.
    let s = split_top_level(s, '∈').pop().unwrap_or(s);
    if let Some((brackets, inner)) = unwrap_brackets(s) {
        let parts = split_top_level(inner, ',');
        if parts.len() > 1 {
            return seq(brackets, &parts, depth);
        }
        if brackets == Brackets::Set {
            // Set-builder `\{x \mid -2 \le x < 1\}`: the condition is the answer.
            let condition =
                ["\\mid", "|", ":"].iter().find_map(|sep| inner.split_once(sep).map(|(_, cond)| cond)).unwrap_or(inner);
            return parse_value(condition, depth + 1);
        }
    }
    let parts = split_top_level(s, ',');
    if parts.len() > 1 {
        return seq(Brackets::Bare, &parts, depth);
    }
    scalar(s, depth)
}

fn seq(brackets: Brackets, parts: &[&str], depth: usize) -> Value {
    let items = parts.iter().map(|p| parse_value(p, depth + 1)).collect();
    Value::Seq(Seq { brackets, items })
}

/// A single (non-sequence) answer: an equation, an inequality, an expression or text.
fn scalar(s: &str, depth: usize) -> Value {
    // `\approx 3.2`, `x \approx 3.2`: the approximation is the value.
    let s = split_top_level(s, '≈').into_iter().rev().find(|p| !p.is_empty()).unwrap_or(s);
    let parts: Vec<&str> = split_top_level(s, '=').into_iter().filter(|p| !p.is_empty()).collect();
    if parts.len() >= 2 {
        // `f(x) = ... = 7`: the first side names the thing, the last side is its value.
        let lhs = atom(parts[0]);
        let rhs = atom(parts[parts.len() - 1]);
        return Value::Equation(Box::new(lhs), Box::new(rhs));
    }
    if let Some(interval) = inequality_interval(s, depth) {
        return interval;
    }
    atom(s)
}

/// An expression, or text when it does not parse as one.
fn atom(s: &str) -> Value {
    if s.contains(['≤', '≥', '<', '>', '≠']) || is_wordy(s) {
        return Value::Text(s.to_lowercase());
    }
    match expr::numeric(s) {
        Some(n) => Value::Expr(n),
        None => Value::Text(s.to_lowercase()),
    }
}

/// `a < x \le b` as the interval `(a, b]`, and `x \ge a` as `[a, \infty)`, so that a
/// solution written as an inequality meets the same solution written as an interval.
fn inequality_interval(s: &str, depth: usize) -> Option<Value> {
    let mut parts = Vec::new();
    let mut ops = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if matches!(c, '<' | '>' | '≤' | '≥') {
            parts.push(s[start..i].trim());
            ops.push(c);
            start = i + c.len_utf8();
        }
    }
    parts.push(s[start..].trim());
    let is_var = |p: &str| p.chars().count() == 1 && p.chars().all(|c| c.is_ascii_alphabetic());
    let less = |op: char| matches!(op, '<' | '≤');
    let closed = |op: char| matches!(op, '≤' | '≥');
    // (low, high, low closed, high closed)
    let (low, high, lc, hc) = match (parts.as_slice(), ops.as_slice()) {
        ([a, x, b], [o1, o2]) if is_var(x) && less(*o1) && less(*o2) => (*a, *b, closed(*o1), closed(*o2)),
        ([b, x, a], [o1, o2]) if is_var(x) && !less(*o1) && !less(*o2) => (*a, *b, closed(*o2), closed(*o1)),
        ([x, v], [o]) if is_var(x) && less(*o) => ("-\\infty", *v, false, closed(*o)),
        ([x, v], [o]) if is_var(x) => (*v, "\\infty", closed(*o), false),
        ([v, x], [o]) if is_var(x) && less(*o) => (*v, "\\infty", closed(*o), false),
        ([v, x], [o]) if is_var(x) => ("-\\infty", *v, false, closed(*o)),
        _ => return None,
    };
    let brackets = Brackets::Pair(if lc { '[' } else { '(' }, if hc { ']' } else { ')' });
    Some(seq(brackets, &[low, high], depth))
}

/// Whether `s` reads as words rather than algebra: a run of three or more letters that is
/// not a LaTeX command name.
fn is_wordy(s: &str) -> bool {
    let mut run = 0;
    let mut in_command = false;
    for c in s.chars() {
        if c.is_ascii_alphabetic() {
            if !in_command {
                run += 1;
                if run >= 3 {
                    return true;
                }
            }
        } else {
            run = 0;
            in_command = c == '\\';
            continue;
        }
    }
    false
}

/// Split `s` at `sep` where it is outside every bracket. Mismatched interval brackets such
/// as `[1, 2)` balance because any opener is closed by any closer.
fn split_top_level(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            c if c == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// If all of `s` is one bracketed group, its brackets and contents.
fn unwrap_brackets(s: &str) -> Option<(Brackets, &str)> {
    if let Some(inner) = s.strip_prefix("\\{").and_then(|r| r.strip_suffix("\\}")) {
        return encloses_all(inner).then_some((Brackets::Set, inner));
    }
    let open = s.chars().next()?;
    let close = s.chars().last()?;
    if !matches!(open, '(' | '[') || !matches!(close, ')' | ']') || s.len() < 2 {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    encloses_all(inner).then_some((Brackets::Pair(open, close), inner))
}

/// Whether brackets inside `inner` balance, so the outer pair really encloses all of it
/// (rules out `(1)+(2)`).
fn encloses_all(inner: &str) -> bool {
    let mut depth = 0usize;
    for c in inner.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_pairs() {
        let cases: &[(&str, &str)] = &[
            ("42", "42"),
            ("1", "1.0"),
            ("54", "54.00"),
            ("\\frac{1}{4}", "0.25"),
            ("\\dfrac{3}{2}", "1.5"),
            ("3/2", "\\tfrac32"),
            ("-\\frac{54}{11}", "\\frac{-54}{11}"),
            ("6,621", "6621"),
            ("1{,}000", "1000"),
            ("90^\\circ", "90"),
            ("100\\%", "100"),
            ("\\$24", "24"),
            ("x = 5", "5"),
            ("k=3", "3"),
            ("y^2 - 4y = 0", "0"),
            ("7 \\text{ yards}", "7"),
            ("3.6 hours", "3.6"),
            ("\\text{D}", "D"),
            ("(A)", "A"),
            ("\\text{(C)}", "C"),
            ("\\text{Second}", "second"),
            ("\\text{even}", "even"),
            ("(15, -36)", "15,-36"),
            ("(1, 2)", "\\left(1,2\\right)"),
            ("[0, \\frac{\\pi}{2}]", "x \\in [0, \\frac{\\pi}{2}]"),
            ("\\{1,2\\}", "\\{2,1\\}"),
            ("\\{-2\\}", "-2"),
            ("(-\\infty, 5) \\cup (5, \\infty)", "(5, \\infty) \\cup (-\\infty, 5)"),
            ("2\\sqrt{3}", "\\sqrt{12}"),
            ("\\frac{\\sqrt{30}}{2}", "\\sqrt{\\frac{15}{2}}"),
            ("2^{235423523}", "2^235423523"),
            ("24 \\times 20", "480"),
            ("4x^2", "\\frac{12 x^{2}}{3}"),
            ("a(b + 2)", "ab+2a"),
            ("-1 - \\sqrt{3}i", "(-1) - (\\sqrt{3})i"),
            ("6 + 9i", "6+9i"),
            ("\\mathbb{R}^3", "\\mathbb{R}^{3}"),
            ("128_{10}", "128"),
            ("137 \\frac{1}{2}", "137.5"),
            ("y = x", "x"),
            ("x = 1, y = 2", "(1, 2)"),
            ("1 < x < 3", "(1,3)"),
            ("-2 \\leq x < 1", "[-2, 1)"),
            ("\\{x \\mid -2 \\leq x < 1\\}", "\\{x|-2\\leq x < 1\\}"),
            ("\\{x \\mid x \\geq -2\\}", "[-2, \\infty)"),
            ("x > 5", "(5, \\infty)"),
            ("3 \\geq x", "(-\\infty, 3]"),
            ("x \\approx 3.5", "3.5"),
            ("0.05 \\mathrm{~N}", "\\frac{1}{20}"),
        ];
        for (a, b) in cases {
            assert!(equivalent(a, b), "{a:?} should equal {b:?}");
            assert!(equivalent(b, a), "{b:?} should equal {a:?} (symmetry)");
        }
    }

    #[test]
    fn different_pairs() {
        let cases: &[(&str, &str)] = &[
            ("42", "43"),
            ("\\frac{1}{3}", "0.33"),
            ("(1, 2)", "(2, 1)"),
            ("[1, 2)", "(1, 2)"),
            ("(1, 2)", "(1, 2, 3)"),
            ("A", "B"),
            ("\\text{even}", "\\text{odd}"),
            ("\\sqrt{2}", "2"),
            ("x^2", "2x"),
            ("2^{1000000}", "3^{1000000}"),
            ("x > 1", "x < 1"),
            ("x^2 - 4x - 2 = 0", "3x^2 + x = 0"),
            ("x = 5", "y = 5"),
            ("(1, 3)", "1 \\leq x < 3"),
        ];
        for (a, b) in cases {
            assert!(!equivalent(a, b), "{a:?} should differ from {b:?}");
        }
    }

    #[test]
    fn normalized_form_is_exposed() {
        assert_eq!(Answer::parse("$\\dfrac{1}{2}$").normalized(), "\\frac{1}{2}");
        assert_eq!(Answer::parse(" 1,000. ").normalized(), "1000");
    }

    #[test]
    fn extract_then_compare() {
        // (trace, gold): what each format's answer normalises to, wrappers, separators,
        // currency and units included.
        let cases: &[(&str, &str)] = &[
            ("We get $x = 3$. So the final answer is \\boxed{\\dfrac{6}{2}}.", "3"),
            ("The final answer is $\\boxed{1,234}$", "1234"),
            ("Final Answer: The final answer is $\\$18$. I hope it is correct.", "18"),
            ("**Answer:** **$18**", "18"),
            ("#### 1,234", "1234"),
            ("A: 72 clips", "72"),
            ("Answer: 3.5 hours", "3.5"),
            ("The answer is 18 dollars, which she spends.", "18"),
            ("The answer is $18.", "18"),
            ("The answer is 1,234 people in total.", "1234"),
            ("So the answer is \\(\\frac{1}{2}\\) of the pie.", "0.5"),
            ("The answer is 50\\% because half of them are.", "50"),
        ];
        for (trace, gold) in cases {
            let got = extract(trace).unwrap_or_else(|| panic!("no answer in {trace:?}"));
            assert!(equivalent(&got, gold), "{trace:?} gave {got:?}, not equivalent to {gold:?}");
        }
    }

    #[test]
    fn never_panics_on_hostile_input() {
        let inputs = [
            String::new(),
            "\\".into(),
            "{".repeat(50_000),
            "(".repeat(50_000),
            "\\{".repeat(10_000),
            "1,".repeat(10_000),
            "∪".repeat(1_000),
            "\\frac{".repeat(5_000),
            "^".repeat(10_000),
            "é∈ü=∪,".into(),
            "9".repeat(400) + "/" + &"9".repeat(400),
            "\\boxed{".repeat(1_000) + "1",
            "\\boxed{1}".to_string() + &"\\boxed{".repeat(20_000),
            "1,000".repeat(20_000),
            "5".to_string() + &" cm".repeat(20_000),
            "x".repeat(100_000),
            "1+".repeat(100_000) + "1",
        ];
        for s in &inputs {
            let a = Answer::parse(s);
            let _ = a.equivalent(&a);
            for finish in [None, Some(crate::trace::Finish::Stop), Some(crate::trace::Finish::Length)] {
                let _ = extract_with_finish(s, finish);
            }
        }
    }
}
