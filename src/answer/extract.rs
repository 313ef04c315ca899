//! Pulling the final answer out of a reasoning trace's text.
//!
//! The order of preference follows the system prompt the traces were generated under
//! ("put your final answer within \boxed{}"): the last complete `\boxed{...}` wins; without
//! one, an explicit "the answer is ..." phrase; without that, the last number in the text.

/// LaTeX commands whose argument is a final answer, tried in this order at each position.
const BOX_COMMANDS: [&str; 2] = ["\\boxed", "\\fbox"];

/// Phrases that introduce a final answer in plain prose, matched case-insensitively.
const ANSWER_PHRASES: [&str; 4] = ["final answer is", "final answer:", "the answer is", "answer:"];

/// Longest answer span taken after an answer phrase; longer spans are prose, not answers.
const MAX_PHRASE_ANSWER_CHARS: usize = 120;

/// Extract the final answer from a reasoning trace's text.
///
/// Returns the raw (un-normalised) answer text, or `None` when the text holds no boxed
/// answer, no answer phrase and no number.
///
/// The unboxed fallbacks apply only to a text that ends like a finished sentence: a trace
/// cut off by the token limit stops mid-sentence, and its last number is an intermediate
/// value rather than an answer (the reference labels give such traces no answer).
pub fn extract(text: &str) -> Option<String> {
    extract_boxed(text).or_else(|| {
        if !looks_finished(text) {
            return None;
        }
        extract_phrase(text).or_else(|| extract_last_number(text))
    })
}

/// Whether `text` ends the way a completed answer does, with sentence-final punctuation.
fn looks_finished(text: &str) -> bool {
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

/// The answer after the last "the answer is" / "final answer:" phrase, up to the end of
/// its sentence, if that span contains anything answer-like (a digit or LaTeX).
fn extract_phrase(text: &str) -> Option<String> {
    // ASCII lowercasing keeps byte offsets identical to `text`.
    let lower = text.to_ascii_lowercase();
    let (pos, phrase) =
        ANSWER_PHRASES.iter().filter_map(|p| lower.rfind(p).map(|i| (i, *p))).max_by_key(|(i, p)| (*i, p.len()))?;
    let rest = text.get(pos + phrase.len()..)?;
    let rest = rest.trim_start_matches([' ', ':', '\t']);
    let line = rest.split('\n').next().unwrap_or("");
    // A sentence ends at ". " — but not at a decimal point.
    let end = line.find(". ").unwrap_or(line.len());
    let span = line[..end].trim().trim_end_matches('.').trim();
    let span = strip_math_delimiters(span);
    let answer_like = span.chars().any(|c| c.is_ascii_digit() || c == '\\');
    (answer_like && !span.is_empty() && span.chars().count() <= MAX_PHRASE_ANSWER_CHARS).then(|| span.to_string())
}

/// Strip one layer of `$...$`, `\(...\)` or `\[...\]` around `s`.
fn strip_math_delimiters(s: &str) -> &str {
    let s = s.trim();
    for (open, close) in [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")] {
        if let Some(inner) = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            return inner.trim();
        }
    }
    s
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
        let inputs = ["\\boxed{{{{{{{{", "}}}}\\boxed}", "\\fbox", "answer is", "é.5", ".", "-"];
        for s in inputs {
            let _ = extract(s);
        }
    }
}
