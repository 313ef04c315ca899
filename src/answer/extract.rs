//! Pulling the final answer out of a reasoning trace's text.
//!
//! Models state a final answer in a few common ways. They are tried in this order:
//!
//! 1. the last complete `\boxed{...}`, as asked by the prompt the shared traces were
//!    generated under ("put your final answer within \boxed{}"), and as Qwen, DeepSeek-R1
//!    and Llama-3 write on math prompts; in a trace that ended on its own, a last box whose
//!    closing brace is missing counts up to the end of its formula;
//! 2. an explicit answer marker, the last one in the text: `The final answer is ...`
//!    (Llama-3, and the Minerva form `Final Answer: The final answer is 6. I hope it is
//!    correct.`), `Answer: ...` and `**Answer:** ...` (Mistral, Phi), a line that starts
//!    `A: ...`, and GSM8K's `#### ...` line;
//! 3. an "answer is ..." phrase in prose;
//! 4. the last number in the text.
//!
//! In a trace that reasons inside `<think>...</think>` (DeepSeek-R1 and its distillations),
//! the text after the last `</think>` is searched first, so that an answer stated there
//! beats a box written while thinking.
//!
//! A trace cut off at the token limit keeps only (1): in it, (2)–(4) would read an
//! intermediate value as the answer, and the reference labels give such traces no answer.

use std::cmp::Reverse;

use crate::trace::Finish;

/// LaTeX commands whose argument is a final answer, tried in this order at each position.
const BOX_COMMANDS: [&str; 2] = ["\\boxed", "\\fbox"];

/// Where a [`Marker`] must stand to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    /// Anywhere after a non-letter: `So the final answer is 6`, `**Answer:** 6`.
    Word,
    /// At the start of a line, after spaces or markdown `*` / `>` only: `A: 6`, `#### 6`.
    LineStart,
}

/// An explicit answer marker: the answer follows it.
#[derive(Debug)]
struct Marker {
    /// The marker text; lowercase unless `case_sensitive`.
    text: &'static str,
    /// Whether the marker is matched exactly rather than ASCII-case-insensitively.
    case_sensitive: bool,
    /// Where it must stand.
    anchor: Anchor,
}

/// The explicit markers (tier 2 above). `Final Answer: The final answer is 6.` is read after
/// its inner `the final answer is`, which ends last; `**Answer:**` is read after `answer:`,
/// and its closing `**` is skipped as decoration.
const MARKERS: [Marker; 4] = [
    Marker { text: "the final answer is", case_sensitive: false, anchor: Anchor::Word },
    Marker { text: "answer:", case_sensitive: false, anchor: Anchor::Word },
    Marker { text: "A:", case_sensitive: true, anchor: Anchor::LineStart },
    Marker { text: "####", case_sensitive: true, anchor: Anchor::LineStart },
];

/// Prose phrases that introduce an answer (tier 3 above), matched case-insensitively after
/// a non-letter: `the answer is`, `my final answer is`, `the correct answer is`.
const PHRASES: [Marker; 1] = [Marker { text: "answer is", case_sensitive: false, anchor: Anchor::Word }];

/// Most marker or phrase occurrences examined, from the end, before giving up; keeps
/// hostile input (thousands of `answer:`) linear.
const MAX_MARKER_CANDIDATES: usize = 32;

/// Longest answer span taken after a marker or phrase; longer spans are prose, not answers.
const MAX_PHRASE_ANSWER_CHARS: usize = 120;

/// Longest stretch scanned for the end of a plain answer: well past
/// [`MAX_PHRASE_ANSWER_CHARS`], and a bound on the work for one long line.
const MAX_SCANNED_SPAN_BYTES: usize = 4 * MAX_PHRASE_ANSWER_CHARS;

/// Longest contents read from a box whose closing brace is missing; longer is prose.
const MAX_UNCLOSED_BOX_BYTES: usize = 400;

/// Longest display-math block (`\[` ... `\]` over several lines) read as an answer.
const MAX_DISPLAY_BYTES: usize = 400;

/// Words that end an answer written in prose: `6 because ...`, `18 dollars, which is ...`,
/// `72 is the total`. Units are not among them: the normaliser strips those.
const STOP_WORDS: [&str; 24] = [
    "because",
    "since",
    "which",
    "that",
    "so",
    "as",
    "when",
    "where",
    "if",
    "is",
    "are",
    "was",
    "were",
    "will",
    "for",
    "but",
    "then",
    "hence",
    "thus",
    "therefore",
    "i",
    "we",
    "it",
    "and",
];

/// Words before an answer that are not part of it: `the answer is approximately 6`.
const FILLER_PREFIXES: [&str; 6] = ["approximately ", "about ", "roughly ", "exactly ", "equal to ", "just "];

/// Ends the reasoning of a `<think>` model; the answer section follows it.
const THINK_END: &str = "</think>";

/// Extract the final answer from a reasoning trace's text, when how the trace ended is not
/// known. Same as [`extract_with_finish`] with `finish = None`.
pub fn extract(text: &str) -> Option<String> {
    extract_with_finish(text, None)
}

/// Extract the final answer from a reasoning trace's text.
///
/// Returns the raw (un-normalised) answer text, or `None` when the text holds no boxed
/// answer, no answer marker or phrase and no number.
///
/// A trace cut off at the token limit (`finish = Length`) gets only a boxed answer: its
/// last number is an intermediate value rather than an answer. When `finish` is unknown,
/// a trace counts as cut off unless it ends like a finished answer: with sentence-final
/// punctuation, or with an answer line such as `#### 6` or `Answer: 6`.
pub fn extract_with_finish(text: &str, finish: Option<Finish>) -> Option<String> {
    if let Some(i) = text.rfind(THINK_END) {
        let answer_section = &text[i + THINK_END.len()..];
        if let Some(found) = extract_section(answer_section, finish, false) {
            return Some(found);
        }
    }
    extract_section(text, finish, true)
}

/// Tiers 1–3 on `text`, then tier 4 when `last_number` is set.
fn extract_section(text: &str, finish: Option<Finish>, last_number: bool) -> Option<String> {
    let boxed = extract_boxed(text);
    let unclosed = unclosed_last_box(text);
    if unclosed.is_none() && boxed.is_some() {
        return boxed;
    }
    let stated = stated_answer(text);
    let finished = match finish {
        Some(Finish::Stop) => true,
        Some(Finish::Length) => false,
        None => ends_sentence(text) || stated.as_ref().is_some_and(|s| s.ends_text(text)),
    };
    if !finished {
        // Cut off: a box left open was cut mid-answer, so an earlier complete one stands.
        return boxed;
    }
    if let Some(inner) = unclosed {
        return Some(inner.to_string());
    }
    boxed.or_else(|| stated.map(|s| s.answer)).or_else(|| last_number.then(|| extract_last_number(text)).flatten())
}

/// The contents of the last box when its closing brace is missing, up to the end of its
/// formula (`\[\boxed{\frac{1}{2}\]`). In a trace that ended on its own this is the
/// model's answer with a typo, and the reference labels read it so.
fn unclosed_last_box(text: &str) -> Option<&str> {
    let (start, cmd) =
        BOX_COMMANDS.iter().filter_map(|cmd| text.rfind(cmd).map(|i| (i, *cmd))).max_by_key(|(i, _)| *i)?;
    let rest = &text[start + cmd.len()..];
    if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let group = rest.trim_start();
    let arg = group.strip_prefix('{')?;
    if balanced_group(group).is_some() {
        return None;
    }
    let end = ["\\]", "\\)", "$"].iter().filter_map(|close| arg.find(close)).min().unwrap_or(arg.len());
    let inner = arg[..end].trim().trim_end_matches('.').trim_end();
    (!inner.is_empty() && inner.len() <= MAX_UNCLOSED_BOX_BYTES).then_some(inner)
}

/// Whether `text` ends with sentence-final punctuation, as a completed answer does.
fn ends_sentence(text: &str) -> bool {
    text.trim_end().ends_with(['.', '!', '?'])
}

/// The contents of the last complete `\boxed{...}` / `\fbox{...}` / `\boxed x` in `text`.
///
/// A box whose braces never close (a trace cut off mid-answer) is skipped in favour of an
/// earlier complete one, because a half-written answer is not an answer.
///
/// Boxes written side by side in one formula (`\boxed{15}, \boxed{-36}`) are one answer
/// in parts, and are joined with commas, as the reference grader joins them.
pub fn extract_boxed(text: &str) -> Option<String> {
    let (start, inner) = last_box_before(text, text.len())?;
    let mut parts = vec![inner];
    let mut first_start = start;
    while parts.len() < MAX_JOINED_BOXES {
        let Some((prev_start, prev_inner)) = last_box_before(text, first_start) else { break };
        // A box nested in another (`\boxed{\boxed{x}}`) is not a separate part.
        let Some(prev_end) = box_end(text, prev_start).filter(|e| *e <= first_start) else { break };
        let gap = text.get(prev_end..first_start).unwrap_or("");
        if !is_list_connective(gap) {
            break;
        }
        parts.push(prev_inner);
        first_start = prev_start;
    }
    parts.reverse();
    Some(parts.join(", "))
}

/// Most boxes joined into one answer.
const MAX_JOINED_BOXES: usize = 8;

/// Whether the text between two boxes only lists them (`, `, ` and `, `\text{ or }`), so
/// that they are parts of one answer rather than an intermediate and a final result.
fn is_list_connective(gap: &str) -> bool {
    let bare: String = gap.replace("\\text{", "").chars().filter(|c| !c.is_whitespace() && *c != '}').collect();
    matches!(bare.as_str(), "" | "," | ";" | "and" | ",and" | "or" | ",or")
}

/// Start and trimmed contents of the last complete, non-empty box that starts before `end`.
fn last_box_before(text: &str, end: usize) -> Option<(usize, &str)> {
    let mut end = end;
    // Each failed candidate costs a scan to the end of the text; a bound keeps hostile
    // input (thousands of unclosed boxes) linear.
    for _ in 0..MAX_BOX_CANDIDATES {
        let (start, cmd) = BOX_COMMANDS
            .iter()
            .filter_map(|cmd| text.get(..end)?.rfind(cmd).map(|i| (i, *cmd)))
            .max_by_key(|(i, _)| *i)?;
        if let Some(inner) = box_argument(&text[start + cmd.len()..]) {
            let inner = inner.trim();
            if !inner.is_empty() {
                return Some((start, inner));
            }
        }
        end = start;
    }
    None
}

/// Most box commands examined, from the end, when looking for a complete one.
const MAX_BOX_CANDIDATES: usize = 64;

/// Byte offset just past the box starting at `start`.
fn box_end(text: &str, start: usize) -> Option<usize> {
    let cmd = BOX_COMMANDS.iter().find(|c| text.get(start..).is_some_and(|t| t.starts_with(*c)))?;
    let rest = text.get(start + cmd.len()..)?;
    let inner = box_argument(rest)?;
    // `inner` is a subslice of `rest`; the argument ends after it (plus a closing brace).
    let offset = inner.as_ptr() as usize - rest.as_ptr() as usize + inner.len();
    let close = usize::from(rest.get(offset..).is_some_and(|t| t.starts_with('}')));
    Some(start + cmd.len() + offset + close)
}

/// The argument of a box command, given the text right after the command name.
fn box_argument(rest: &str) -> Option<&str> {
    // `\boxedfoo` is a different command, not a box.
    if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let trimmed = rest.trim_start();
    if trimmed.starts_with('{') {
        return balanced_group(trimmed);
    }
    // `\boxed 5`: TeX takes one token; models write a whole short word or number.
    if trimmed.len() == rest.len() {
        return None;
    }
    let token_end =
        trimmed.find(|c: char| c.is_whitespace() || c == '$' || c == '\\' || c == '}').unwrap_or(trimmed.len());
    let token = trimmed[..token_end].trim_end_matches(['.', ',']);
    (!token.is_empty()).then_some(token)
}

/// Given text starting with `{`, the contents up to its matching `}`, or `None` if the
/// braces never balance. Escaped braces (`\{`, `\}`) do not count.
pub(crate) fn balanced_group(s: &str) -> Option<&str> {
    balanced_group_within(s, usize::MAX)
}

/// [`balanced_group`], giving up when the group would be longer than `max_bytes`, so
/// that callers scanning many groups stay linear on unclosed input.
pub(crate) fn balanced_group_within(s: &str, max_bytes: usize) -> Option<&str> {
    let mut depth = 0usize;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if i > max_bytes {
            return None;
        }
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return s.get(1..i);
                }
            }
            _ => {}
        }
    }
    None
}

/// An answer read after a marker or phrase.
#[derive(Debug)]
struct Stated {
    /// The answer text, wrappers and trailing prose removed.
    answer: String,
    /// Nothing but punctuation or markdown follows the answer on its line.
    whole_line: bool,
    /// Byte offset where the answer's line (or display block) ends.
    line_end: usize,
}

impl Stated {
    /// Whether the answer is the last thing in `text`, so that the text ends with it.
    fn ends_text(&self, text: &str) -> bool {
        self.whole_line && text.get(self.line_end..).is_some_and(|t| t.trim().is_empty())
    }
}

/// The answer after the last explicit marker that introduces one, else after the last
/// "answer is" phrase that does.
fn stated_answer(text: &str) -> Option<Stated> {
    // ASCII lowercasing keeps byte offsets identical to `text`.
    let lower = text.to_ascii_lowercase();
    after_last(text, &lower, &MARKERS).or_else(|| after_last(text, &lower, &PHRASES))
}

/// The answer after the last occurrence of any of `markers` that is followed by one.
fn after_last(text: &str, lower: &str, markers: &'static [Marker]) -> Option<Stated> {
    let mut found: Vec<(usize, &Marker)> = Vec::new();
    for m in markers {
        let haystack = if m.case_sensitive { text } else { lower };
        let hits = haystack.rmatch_indices(m.text).take(MAX_MARKER_CANDIDATES);
        found.extend(hits.filter(|(i, _)| stands(text, *i, m)).map(|(i, _)| (i + m.text.len(), m)));
    }
    // Overlapping markers (`Final Answer: The final answer is`) are read after the one
    // that ends last.
    found.sort_by_key(|(end, _)| Reverse(*end));
    found.into_iter().take(MAX_MARKER_CANDIDATES).find_map(|(end, m)| {
        let stated = read_answer(text, end)?;
        // A line marker owns its whole line: `#### Case 1: x > 0` is a heading and
        // `A: 5 + 3 = 8. The answer is 8.` is a worked solution, not answers.
        let line_ok = m.anchor == Anchor::Word || stated.whole_line;
        (line_ok && !(m.text == "A:" && lists_options(text, end))).then_some(stated)
    })
}

/// Whether marker `m` found at byte `i` of `text` stands where it counts.
fn stands(text: &str, i: usize, m: &Marker) -> bool {
    let before = &text[..i];
    match m.anchor {
        Anchor::Word => !before.ends_with(|c: char| c.is_ascii_alphanumeric()),
        Anchor::LineStart => {
            let line_head = before.rsplit('\n').next().unwrap_or("");
            let after = &text[i + m.text.len()..];
            line_head.chars().all(|c| matches!(c, ' ' | '\t' | '*' | '>')) && !after.starts_with('#')
        }
    }
}

/// Whether the `A:` line ending at byte `end` opens a list of options (`B:` on the next
/// line), so that it is a choice rather than the answer.
fn lists_options(text: &str, end: usize) -> bool {
    let rest = &text[end..];
    let next_line = rest.split_once('\n').map(|(_, r)| r.trim_start()).unwrap_or("");
    next_line.trim_start_matches(['*', '>', ' ']).starts_with("B:")
}

/// The answer written from byte `start` of `text` on: the rest of that line, or the next
/// line (or display block) when the marker ends its line.
fn read_answer(text: &str, start: usize) -> Option<Stated> {
    let rest = text.get(start..)?;
    let mut from = start + (rest.len() - rest.trim_start_matches([' ', '\t', ':', '*', '_']).len());
    let below = line_at(text, from).trim().is_empty();
    if below {
        // `**Final Answer:**` on a line of its own, the answer below it.
        let below = text.get(from..)?;
        from += below.len() - below.trim_start().len();
        if from >= text.len() || text[from..].starts_with("```") {
            return None;
        }
    }
    let region_end = display_end(text, from).unwrap_or(from + line_at(text, from).len());
    let (answer, whole_line) = clean_span(&text[from..region_end])?;
    // An answer on a line of its own owns the line; `1. First, ...` is the next step.
    (whole_line || !below).then_some(Stated { answer, whole_line, line_end: region_end })
}

/// The text from byte `from` to the end of its line.
fn line_at(text: &str, from: usize) -> &str {
    let rest = text.get(from..).unwrap_or("");
    rest.split('\n').next().unwrap_or("")
}

/// When the line at `from` opens display math (`\[` or `$$`) that closes on a later line,
/// the byte offset where the closing line ends.
fn display_end(text: &str, from: usize) -> Option<usize> {
    let rest = &text[from..];
    let (open, close) = [("\\[", "\\]"), ("$$", "$$")].into_iter().find(|(o, _)| rest.starts_with(o))?;
    let line = line_at(text, from);
    if line[open.len()..].contains(close) {
        return None;
    }
    let close_at = rest[open.len()..].find(close)? + open.len();
    if close_at > MAX_DISPLAY_BYTES {
        return None;
    }
    let after_close = from + close_at + close.len();
    Some(after_close + line_at(text, after_close).len())
}

/// The answer at the start of `span`, and whether it took all of `span` (bar punctuation
/// and markdown), or `None` when `span` does not start with something answer-like.
fn clean_span(span: &str) -> Option<(String, bool)> {
    let s = span.trim().trim_start_matches(['*', '_']).trim_start();
    let s = FILLER_PREFIXES
        .iter()
        .find_map(|f| s.get(..f.len()).filter(|head| head.eq_ignore_ascii_case(f)).map(|_| &s[f.len()..]))
        .unwrap_or(s);
    let (body, tail) = leading_math(s).unwrap_or_else(|| plain_answer(s));
    let body = body.trim().trim_matches(['*', '_']).trim().trim_end_matches(['.', ',', ';']).trim_end();
    let whole = tail.trim().chars().all(|c| matches!(c, '.' | '*' | '_' | '!'));
    plausible(body).then(|| (body.to_string(), whole))
}

/// When `s` opens with a math group (`$...$`, `$$...$$`, `\(...\)`, `\[...\]`), its contents
/// and what follows it. A `$` that never closes, or whose contents end in a space, is a
/// currency sign (`$18 and $20`), not math.
fn leading_math(s: &str) -> Option<(&str, &str)> {
    let (open, close) =
        [("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$")].into_iter().find(|(o, _)| s.starts_with(o))?;
    let inner = &s[open.len()..];
    let end = if close == "$" {
        // `\$` inside math is a dollar sign, not the closing delimiter.
        inner.char_indices().find(|&(i, c)| c == '$' && !inner[..i].ends_with('\\')).map(|(i, _)| i)?
    } else {
        inner.find(close)?
    };
    let contents = &inner[..end];
    if close == "$" && contents.ends_with(char::is_whitespace) {
        return None;
    }
    Some((contents, &inner[end + close.len()..]))
}

/// Split plain text at the end of its leading answer: at a sentence end (`. `), a `;`, a
/// comma before a word (`6, which`), a parenthesised remark (`72 (clips)`) or a
/// [`STOP_WORDS`] word, whichever comes first outside math and brackets.
fn plain_answer(s: &str) -> (&str, &str) {
    let mut depth = 0usize;
    let mut in_math = false;
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        if i > MAX_SCANNED_SPAN_BYTES {
            // Already too long to be an answer; `plausible` rejects it.
            return (s, "");
        }
        let next = &s[i + c.len_utf8()..];
        match c {
            // A `$` that never closes is a currency sign (`$18. I hope`), not math.
            '$' if prev != '\\' && (in_math || next.bytes().take(MAX_SCANNED_SPAN_BYTES).any(|b| b == b'$')) => {
                in_math = !in_math
            }
            '{' | '(' | '[' if !in_math => {
                if depth == 0 && prev.is_whitespace() && c == '(' && starts_with_word(next, 2) {
                    return s.split_at(i);
                }
                depth += 1;
            }
            '}' | ')' | ']' if !in_math => depth = depth.saturating_sub(1),
            _ if in_math || depth > 0 => {}
            '.' if next.starts_with(char::is_whitespace) => return s.split_at(i),
            ';' => return s.split_at(i),
            ',' if next.starts_with(' ') && starts_with_word(next.trim_start(), 2) => return s.split_at(i),
            c if c.is_whitespace() => {
                let word = next.split_whitespace().next().unwrap_or("");
                let word = word.trim_end_matches([',', '.', ';', ':']).to_ascii_lowercase();
                if STOP_WORDS.contains(&word.as_str()) {
                    return s.split_at(i);
                }
            }
            _ => {}
        }
        prev = c;
    }
    (s, "")
}

/// Whether `s` starts with a word of at least `min` ASCII letters.
fn starts_with_word(s: &str, min: usize) -> bool {
    let letters = s.chars().take_while(char::is_ascii_alphabetic).count();
    letters >= min && !s[letters..].starts_with(|c: char| c.is_ascii_digit() || c == '_' || c == '^')
}

/// Whether a span reads as an answer: short, with a digit or LaTeX in it, and not opening
/// with a word (`Case 1:`, `Step 2`, `The total is`) or ending as a label (`:`).
fn plausible(body: &str) -> bool {
    let first = body.split_whitespace().next().unwrap_or("");
    let opens_with_word = first.chars().all(|c| c.is_ascii_alphabetic())
        && (first.chars().count() >= 3 || STOP_WORDS.contains(&first.to_ascii_lowercase().as_str()));
    !body.is_empty()
        && body.chars().count() <= MAX_PHRASE_ANSWER_CHARS
        && body.chars().any(|c| c.is_ascii_digit() || c == '\\')
        && !opens_with_word
        && !body.ends_with(':')
}

/// The last number in `text`: an optional minus sign, digits, optional decimal part.
fn extract_last_number(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let last_digit = bytes.iter().rposition(u8::is_ascii_digit)?;
    let mut start = last_digit;
    while start > 0 && (bytes[start - 1].is_ascii_digit() || bytes[start - 1] == b'.') {
        start -= 1;
    }
    // A leading '.' is sentence punctuation unless digits follow it on both sides.
    while start < last_digit && bytes[start] == b'.' {
        start += 1;
    }
    if start > 0 && bytes[start - 1] == b'-' {
        start -= 1;
    }
    // Every byte in the span is ASCII, so these are char boundaries.
    text.get(start..=last_digit).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_expected_answer() {
        let cases: &[(&str, Option<&str>)] = &[
            ("so \\boxed{42}.", Some("42")),
            ("\\boxed{1} then \\boxed{2}", Some("2")),
            ("\\boxed{1} and \\boxed{2}", Some("1, 2")),
            ("\\boxed{1} \\text{ or } \\boxed{2}", Some("1, 2")),
            ("$\\boxed{1}$ and $\\boxed{2}$", Some("2")),
            ("\\boxed{\\boxed{7}}", Some("7")),
            ("\\(\\boxed{15}, \\boxed{-36}\\)", Some("15, -36")),
            ("\\boxed{1}.\n\nLater we find \\boxed{2}", Some("2")),
            ("\\boxed{\\frac{1}{2}}", Some("\\frac{1}{2}")),
            ("\\boxed{\\{1,2\\}}", Some("\\{1,2\\}")),
            ("\\fbox{7} done", Some("7")),
            ("$\\boxed 5$", Some("5")),
            ("\\boxed {x+1}", Some("x+1")),
            // An unclosed box (trace cut off) falls back to the previous complete one.
            ("\\boxed{3} and later \\boxed{\\frac{1}{", Some("3")),
            ("\\boxed{}  the answer is 9.", Some("9")),
            // Unboxed text cut off mid-sentence has no final answer yet.
            ("so far we have 12 and then", None),
            ("the answer is 9 and", None),
            ("Answer: 6\n\nLet me double-check: 2 * 3 =", None),
            ("Therefore, the answer is $12$. Done.", Some("12")),
            ("Final Answer: \\frac{3}{4}.", Some("\\frac{3}{4}")),
            ("he had 15 marbles at the end of the day.", Some("15")),
            ("it costs -3.5 dollars.", Some("-3.5")),
            ("in 2008.", Some("2008")),
            ("no digits here", None),
            ("", None),
            ("\\boxed{", None),
            ("\\boxed", None),
            ("ünïcödé \\boxed{é}", Some("é")),
        ];
        for (text, want) in cases {
            assert_eq!(extract(text).as_deref(), *want, "text: {text:?}");
        }
    }

    /// One case per answer format, written the way each model family writes it. The
    /// finish is unknown here, as it is for a text without metadata; the answer lines
    /// below are recognised as finished without trailing punctuation.
    #[test]
    fn extracts_each_answer_format() {
        let cases: &[(&str, &str, &str)] = &[
            // Qwen / DeepSeek-R1: a box after the thinking.
            ("r1 box after think", "<think>\nTry 5: \\boxed{5}? No, 2*3 = 6.\n</think>\n\nSo $\\boxed{6}$", "6"),
            ("r1 marker after think beats box inside", "<think>\nmaybe \\boxed{5}\n</think>\n**Answer:** 6", "6"),
            ("qwen box", "Adding up: $2 + 4 = 6$.\n\nThe final answer is \\(\\boxed{6}\\).", "6"),
            // Llama-3.
            ("llama boxed", "## Step 2: Add\n2 + 4 = 6\n\nThe final answer is: $\\boxed{6}$", "6"),
            ("llama plain", "## Step 2: Add\n2 + 4 = 6\n\nThe final answer is 6", "6"),
            ("llama dollar", "The final answer is $6$", "6"),
            ("minerva", "So 2 + 4 = 6.\nFinal Answer: The final answer is 6. I hope it is correct.", "6"),
            (
                "minerva latex",
                "Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.",
                "\\frac{3}{4}",
            ),
            // Mistral / Mixtral.
            ("mistral bold", "Julie read 12 + 24 = 36 pages.\n\n**Answer:** 6", "6"),
            ("mistral bold inside", "**Answer: 6**", "6"),
            ("mistral bold value", "**Answer:** **6**", "6"),
            ("answer heading", "### Final Answer:\n\n6", "6"),
            ("answer display", "**Final Answer:**\n\\[\n\\frac{1}{2}\n\\]", "\\frac{1}{2}"),
            // GSM8K style.
            ("gsm8k", "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72", "72"),
            ("gsm8k thousands", "In total 1,000 + 234 = 1,234\n#### 1,234", "1,234"),
            ("gsm8k after headings", "#### Step 1: Find the sum\n2 + 4 = 6\n#### 6", "6"),
            ("few-shot A", "Q: what is 2 + 4?\nA: 6", "6"),
            ("A bold", "**A:** 42", "42"),
            ("A worked solution", "A: 5 + 3 = 8. The answer is 8.", "8"),
            ("A option list", "A: 12\nB: 15\nC: 18\n\nThe answer is 18.", "18"),
            // Phi.
            ("phi", "Step 1: 2 + 4 = 6.\nAnswer: 6", "6"),
            ("phi units", "Answer: 6 apples", "6 apples"),
            // Plain prose with trailing words.
            ("answer is with words", "So, the answer is 6 because 2 times 3 is 6.", "6"),
            ("answer is with clause", "The answer is 18 dollars, which she spends.", "18 dollars"),
            ("answer is remark", "The answer is 72 (clips) in all.", "72"),
            ("answer is filler", "The answer is approximately 3.14.", "3.14"),
            ("answer is currency", "The answer is $18.", "$18"),
            ("answer is escaped currency", "The answer is \\$18.", "\\$18"),
            ("answer is decimal", "Thus the answer is 6.5.", "6.5"),
            ("answer is thousands", "The answer is 1,234 people.", "1,234 people"),
            ("answer is list", "The answer is 1, 2, 3.", "1, 2, 3"),
            ("answer is pair", "The answer is x = 1, y = 2.", "x = 1, y = 2"),
            ("answer is math", "The correct answer is \\(\\frac{5}{2}\\) hours.", "\\frac{5}{2}"),
            // Precedence: the last box, then the last marker, then a phrase, then a number.
            ("box beats later marker", "\\boxed{5}\n\nAnswer: 6", "5"),
            ("last marker wins", "Answer: 5\n\nWait, I made an error.\n\n**Answer:** 6", "6"),
            ("marker beats later phrase", "**Answer:** 6\n\nSo the answer is 7.", "6"),
            ("heading is no answer", "#### Case 1: x > 0\nso we get 6.", "6"),
            ("prose after marker", "Answer: Let me compute 2 + 4 = 6.", "6"),
        ];
        for (name, text, want) in cases {
            assert_eq!(extract(text).as_deref(), Some(*want), "case {name}: {text:?}");
        }
    }

    #[test]
    fn finish_decides_cut_off_not_punctuation() {
        let cases: &[(&str, Option<Finish>, Option<&str>)] = &[
            ("2 + 4 = 6\nAnswer: 6", Some(Finish::Stop), Some("6")),
            ("2 + 4 = 6\nAnswer: 6", Some(Finish::Length), None),
            ("2 + 4 = 6\nAnswer: 6", None, Some("6")),
            // Cut off at the limit, yet ending on a period: no answer.
            ("First, 2 + 4 = 6.", Some(Finish::Length), None),
            ("First, 2 + 4 = 6.", None, Some("6")),
            // Ended on its own without punctuation: the fallbacks apply.
            ("so the total is 35.71% (to the nearest tenth)", Some(Finish::Stop), Some("35.71")),
            ("so the total is 35.71% (to the nearest tenth)", None, None),
            // A box counts however the trace ended.
            ("\\boxed{6} and then we", Some(Finish::Length), Some("6")),
            // A box left open: a typo when the trace ended, cut off when it did not.
            ("\\boxed{5}. So:\n\\[\\boxed{\\frac{1}{2}\\]", Some(Finish::Stop), Some("\\frac{1}{2}")),
            ("\\boxed{5}. So:\n\\[\\boxed{\\frac{1}{2}\\]", Some(Finish::Length), Some("5")),
            ("\\boxed{5}. So:\n\\[\\boxed{\\frac{1}{2}\\]", None, Some("5")),
            ("So $\\boxed{x = 3$.", Some(Finish::Stop), Some("x = 3")),
            ("<think>\n\\boxed{5}\n</think>\nAnswer: 6", Some(Finish::Length), Some("5")),
        ];
        for (text, finish, want) in cases {
            assert_eq!(extract_with_finish(text, *finish).as_deref(), *want, "text {text:?}, finish {finish:?}");
        }
    }

    #[test]
    fn balanced_group_handles_escapes_and_truncation() {
        let cases: &[(&str, Option<&str>)] =
            &[("{a}", Some("a")), ("{a{b}c}d", Some("a{b}c")), ("{\\}}", Some("\\}")), ("{{}", None), ("{", None)];
        for (s, want) in cases {
            assert_eq!(balanced_group(s), *want, "input: {s:?}");
        }
    }

    #[test]
    fn never_panics_on_awkward_input() {
        let inputs = [
            "\\boxed{{{{{{{{",
            "}}}}\\boxed}",
            "\\fbox",
            "answer is",
            "é.5",
            ".",
            "-",
            "Answer:",
            "Answer: $",
            "Answer: \\[",
            "answer is $$",
            "####",
            "A:\nB:",
            "</think>",
            "Answer:\n\n",
            "answer is é (é",
        ];
        let long = ["answer: 1 ".repeat(20_000), "\n#### x".repeat(20_000), "answer is $".repeat(20_000)];
        let finishes = [None, Some(Finish::Stop), Some(Finish::Length)];
        for s in long.iter().map(String::as_str).chain(inputs) {
            for finish in finishes {
                let _ = extract_with_finish(s, finish);
            }
        }
    }
}
