//! Textual normalisation of a raw answer: LaTeX layout commands, text wrappers, units,
//! degree and percent signs, thousands separators and whitespace are removed, so that what
//! is left is either a plain math expression or a short piece of text.

use super::extract::balanced_group_within;

/// Marks the start of the contents of a `\text{...}`-like group until units are decided.
const TEXT_OPEN: char = '\u{1}';
/// Marks the end of the contents of a `\text{...}`-like group.
const TEXT_CLOSE: char = '\u{2}';

/// Left where a unit group was dropped, so that a power after it can be dropped too.
const DROPPED_UNIT: char = '\u{3}';

/// Commands whose braced argument is plain text (or a unit) rather than math.
const TEXT_COMMANDS: [&str; 10] =
    ["text", "textbf", "textit", "textrm", "mathrm", "mathbf", "mathit", "mbox", "operatorname", "textnormal"];

/// Commands that only affect layout or spacing and carry no value.
const DROPPED_COMMANDS: [&str; 20] = [
    "left",
    "right",
    "big",
    "Big",
    "bigg",
    "Bigg",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "displaystyle",
    "textstyle",
    "quad",
    "qquad",
    "boxed",
    "fbox",
    "limits",
    "enspace",
    "thinspace",
    "negthinspace",
];

/// Unit words stripped from the end of an answer that also has a number. Short ones are
/// listed because they are too short for the generic "trailing word" rule.
const UNITS: [&str; 44] = [
    "cm", "mm", "km", "m", "kg", "g", "mg", "mi", "min", "mins", "h", "hr", "hrs", "s", "sec", "ft", "in", "yd", "lb",
    "lbs", "oz", "mph", "kmh", "l", "ml", "units", "unit", "dollars", "dollar", "cents", "cent", "degrees", "degree",
    "percent", "sq", "square", "cubic", "per", "meters", "inches", "feet", "hours", "minutes", "seconds",
];

/// Longest `\text{...}` argument unwrapped; longer (or unclosed) ones stay as written.
const MAX_TEXT_GROUP_BYTES: usize = 1024;

/// Most unit words stripped from the end of one answer.
const MAX_UNIT_WORDS: usize = 6;

/// Longest digit-and-comma run examined for thousands separators; longer runs are lists.
const MAX_GROUPED_NUMBER_CHARS: usize = 40;

/// Deepest brace nesting followed when unwrapping text commands; beyond it the text is kept
/// verbatim so that hostile input cannot blow the stack.
const MAX_DEPTH: usize = 32;

/// Normalise a raw answer to a compact canonical string.
pub(crate) fn normalize(raw: &str) -> String {
    let s = strip_delimiters(raw.trim());
    // `~` is a non-breaking space in TeX (`0.05 \mathrm{~N}`).
    let s = rewrite_commands(&s.replace('~', " "), 0);
    let s = s.replace("{,}", ",").replace('°', "");
    let s = drop_empty_superscripts(&s);
    let s = resolve_text_groups(&s);
    let s = s.replace(['%', '$'], "");
    let s = strip_trailing_units(s.trim());
    let s = remove_whitespace(&s);
    let s = s.trim_end_matches(['.', ',', ';']).to_string();
    remove_thousands_separators(&s)
}

/// Strip the outer math delimiters (`$...$`, `\(...\)`, `\[...\]`) an answer may carry.
fn strip_delimiters(s: &str) -> &str {
    let mut s = s.trim();
    for (open, close) in [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")] {
        if let Some(inner) = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            s = inner.trim();
        }
    }
    s
}

/// One pass over the LaTeX commands: synonyms are unified, layout commands dropped, and
/// text commands replaced by their argument between [`TEXT_OPEN`] / [`TEXT_CLOSE`].
fn rewrite_commands(s: &str, depth: usize) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let name_len = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
        if name_len == 0 {
            // A one-character command such as `\,`, `\!`, `\%`, `\{`.
            let mut chars = after.chars();
            match chars.next() {
                // Spacing commands carry no value.
                Some(',' | ';' | ':' | '!' | ' ' | '>') => {}
                Some('%') => out.push('%'),
                Some('$') => out.push('$'),
                Some(c) => {
                    out.push('\\');
                    out.push(c);
                }
                None => {}
            }
            rest = chars.as_str();
            continue;
        }
        let name = &after[..name_len];
        let mut tail = &after[name_len..];
        match name {
            // `90^\circ`: the degree sign takes its superscript caret with it.
            "circ" | "degree" => {
                let kept = out.trim_end().strip_suffix('^').map(str::len);
                if let Some(len) = kept {
                    out.truncate(len);
                }
            }
            "dfrac" | "tfrac" | "cfrac" => out.push_str("\\frac"),
            "cdot" | "times" | "ast" => out.push('*'),
            "div" => out.push('/'),
            "le" | "leq" | "leqslant" => out.push('≤'),
            "ge" | "geq" | "geqslant" => out.push('≥'),
            "ne" | "neq" => out.push('≠'),
            "lt" => out.push('<'),
            "gt" => out.push('>'),
            "approx" => out.push('≈'),
            "in" => out.push('∈'),
            "cup" => out.push('∪'),
            "lbrace" => out.push_str("\\{"),
            "rbrace" => out.push_str("\\}"),
            "dots" | "ldots" | "cdots" => out.push_str("..."),
            _ if TEXT_COMMANDS.contains(&name) => {
                let arg = tail.trim_start();
                let group = if depth < MAX_DEPTH { balanced_group_within(arg, MAX_TEXT_GROUP_BYTES) } else { None };
                if let Some(inner) = group {
                    out.push(TEXT_OPEN);
                    out.push_str(&rewrite_commands(inner, depth + 1));
                    out.push(TEXT_CLOSE);
                    // `inner` is a subslice of `arg` bounded by ASCII braces.
                    tail = &arg[inner.len() + 2..];
                }
            }
            _ if DROPPED_COMMANDS.contains(&name) => {}
            _ => {
                out.push('\\');
                out.push_str(name);
                // Keep command boundaries: `\pi r` must not become `\pir`.
                if tail.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    out.push(' ');
                }
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Remove `^{}` and dangling `^` left behind when a degree sign was dropped.
fn drop_empty_superscripts(s: &str) -> String {
    let mut s = s.replace("^{}", "").replace("^ {}", "");
    while s.trim_end().ends_with('^') {
        s = s.trim_end().trim_end_matches('^').to_string();
    }
    s
}

/// Decide what each text group is: when the answer has a number outside the text groups,
/// word-only groups are units or commentary and are dropped; otherwise their contents stay.
fn resolve_text_groups(s: &str) -> String {
    if !s.contains(TEXT_OPEN) {
        return s.to_string();
    }
    let mut outside = String::new();
    let mut groups = Vec::new();
    let mut current: Option<String> = None;
    for c in s.chars() {
        match (c, current.as_mut()) {
            (TEXT_OPEN, None) => current = Some(String::new()),
            (TEXT_CLOSE, Some(_)) => groups.extend(current.take()),
            (TEXT_OPEN | TEXT_CLOSE, _) => {}
            (c, Some(g)) => g.push(c),
            (c, None) => outside.push(c),
        }
    }
    let has_number_outside = outside.chars().any(|c| c.is_ascii_digit());
    let mut out = String::with_capacity(s.len());
    let mut in_group = false;
    let mut group_idx = 0;
    for c in s.chars() {
        match c {
            TEXT_OPEN => {
                in_group = true;
                let g = groups.get(group_idx).map(String::as_str).unwrap_or("");
                let wordy = g.chars().any(|c| c.is_alphabetic())
                    && g.chars().all(|c| c.is_alphabetic() || " /.^-".contains(c) || c.is_ascii_digit());
                // `-1 \text{ and } 6` lists two answers, as `-1, 6` does.
                if matches!(g.trim(), "and" | "or") {
                    out.push(',');
                } else if has_number_outside && wordy {
                    out.push(DROPPED_UNIT);
                } else {
                    out.push(' ');
                    out.push_str(g);
                    out.push(' ');
                }
                group_idx += 1;
            }
            TEXT_CLOSE => in_group = false,
            _ if in_group => {}
            c => out.push(c),
        }
    }
    drop_unit_powers(&out)
}

/// Remove the power left behind by a dropped unit (`5 \text{ cm}^2` → `5`) and the marks.
fn drop_unit_powers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find(DROPPED_UNIT) {
        out.push_str(&rest[..pos]);
        let after = rest[pos + DROPPED_UNIT.len_utf8()..].trim_start();
        rest = match after.strip_prefix('^') {
            Some(power) => {
                let power = power.trim_start();
                let braced = power.strip_prefix('{').and_then(|p| p.split_once('}'));
                match braced {
                    Some((inner, tail)) if inner.trim().chars().all(|c| c.is_ascii_digit()) => tail,
                    _ => power.trim_start_matches(|c: char| c.is_ascii_digit()),
                }
            }
            None => after,
        };
        out.push(' ');
    }
    out.push_str(rest);
    out
}

/// Strip unit words (and `per` / `/` joining them) from the end of an answer that keeps a
/// number after the stripping.
fn strip_trailing_units(s: &str) -> String {
    let mut s = s.to_string();
    // Real answers carry a unit or two (`miles per hour`); the bound keeps this linear.
    for _ in 0..MAX_UNIT_WORDS {
        let trimmed = s.trim_end();
        // A unit may carry a power: `cm^2`, `m^{3}`.
        let without_power = strip_power_suffix(trimmed);
        let word_start =
            without_power.char_indices().rev().take_while(|(_, c)| c.is_ascii_alphabetic()).last().map(|(i, _)| i);
        let Some(start) = word_start else { break };
        let word = &without_power[start..];
        let before = &without_power[..start];
        let prev = before.chars().last();
        if prev == Some('\\') {
            break;
        }
        let is_unit = UNITS.iter().any(|u| u.eq_ignore_ascii_case(word));
        let spaced = prev.is_some_and(char::is_whitespace);
        let generic_word = spaced && word.chars().count() >= 3;
        let boundary_ok = prev.is_none_or(|c| c.is_whitespace() || c.is_ascii_digit() || c == '}' || c == '/');
        if !(boundary_ok && (is_unit || generic_word) && before.chars().any(|c| c.is_ascii_digit())) {
            break;
        }
        s = before.trim_end().trim_end_matches('/').to_string();
    }
    s
}

/// `s` without a trailing `^2` / `^{3}` power.
fn strip_power_suffix(s: &str) -> &str {
    if let Some(p) = s.strip_suffix('}') {
        if let Some(i) = p.rfind("^{") {
            if p[i + 2..].chars().all(|c| c.is_ascii_digit()) {
                return &s[..i];
            }
        }
    }
    let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 && s[..s.len() - digits].ends_with('^') {
        return &s[..s.len() - digits - 1];
    }
    s
}

/// Remove whitespace, except a single space where it ends a command name before a letter
/// (`\pi r` must not become the unknown command `\pir`).
fn remove_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_command = false;
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = in_command;
            continue;
        }
        if pending_space && c.is_ascii_alphabetic() {
            out.push(' ');
        }
        pending_space = false;
        in_command = match c {
            '\\' => true,
            c if c.is_ascii_alphabetic() => in_command,
            _ => false,
        };
        out.push(c);
    }
    out
}

/// Remove commas that separate thousands (`1,000,000`), leaving list commas alone.
fn remove_thousands_separators(s: &str) -> String {
    if !s.contains(',') {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ',' && is_thousands_comma(&chars, i) {
            continue;
        }
        out.push(c);
    }
    out
}

/// Whether the comma at `i` sits inside a number written with thousands separators: 1–3
/// digits before the first comma, exactly three after each, and no decimal point before.
fn is_thousands_comma(chars: &[char], i: usize) -> bool {
    let digits_after = chars[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits_after != 3 {
        return false;
    }
    if chars.get(i + 4).is_some_and(char::is_ascii_digit) {
        return false;
    }
    let mut j = i;
    let mut group = 0;
    while j > 0 {
        if i - j > MAX_GROUPED_NUMBER_CHARS {
            return false;
        }
        let c = chars[j - 1];
        if c.is_ascii_digit() {
            group += 1;
        } else if c == ',' {
            if group != 3 {
                return false;
            }
            group = 0;
        } else {
            break;
        }
        j -= 1;
    }
    let first_group_ok = (1..=3).contains(&group);
    let preceded_ok = j == 0 || !matches!(chars[j - 1], '.' | '_');
    first_group_ok && preceded_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_latex_and_text() {
        let cases: &[(&str, &str)] = &[
            ("42", "42"),
            ("$42$", "42"),
            ("\\(42\\)", "42"),
            ("\\dfrac{1}{2}", "\\frac{1}{2}"),
            ("\\tfrac12", "\\frac12"),
            ("\\left( 1, 2 \\right)", "(1,2)"),
            ("90^\\circ", "90"),
            ("90^{\\circ}", "90"),
            ("180^\\circ - 30^\\circ", "180-30"),
            ("90°", "90"),
            ("50\\%", "50"),
            ("\\$24", "24"),
            ("1{,}000", "1000"),
            ("1,250,000", "1250000"),
            ("15,-36", "15,-36"),
            ("1,2,3", "1,2,3"),
            ("(1,000, 2)", "(1000,2)"),
            ("3.6 hours", "3.6"),
            ("5 \\text{ cm}^2", "5"),
            ("7 \\text{ yards}", "7"),
            ("36\\sqrt{7}cm^{3}", "36\\sqrt{7}"),
            ("\\text{(A)}", "(A)"),
            ("\\textbf{(B) } 5", "(B)5"),
            ("\\text{even}", "even"),
            ("\\text{a} + \\text{b}", "a+b"),
            ("-1 \\text{ and } 6", "-1,6"),
            ("(1,2) \\text{ or } (3,4)", "(1,2),(3,4)"),
            ("x = 5.", "x=5"),
            ("0.0112 \\mathrm{~g}", "0.0112"),
            ("2 \\cdot 3", "2*3"),
            ("a \\times b", "a*b"),
            ("\\pi r^2", "\\pi r^2"),
            ("\\pi\\cdot 2", "\\pi*2"),
            ("1\\,000", "1000"),
            ("\\!\\!3", "3"),
            ("No solution", "Nosolution"),
            ("4x^2", "4x^2"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize(raw), *want, "raw: {raw:?}");
        }
    }

    #[test]
    fn unit_stripping_keeps_a_number() {
        let cases: &[(&str, &str)] = &[("12 dollars", "12"), ("cm", "cm"), ("2 ab", "2ab"), ("5 m", "5")];
        for (raw, want) in cases {
            assert_eq!(strip_trailing_units(raw).replace(' ', ""), *want, "raw: {raw:?}");
        }
    }

    #[test]
    fn survives_deep_and_broken_input() {
        let deep = "\\text{".repeat(10_000) + &"}".repeat(10_000);
        let _ = normalize(&deep);
        let _ = normalize(&"\\text{".repeat(20_000));
        for s in ["\\", "\\text", "\\text{", "^", ",", "1,", ",123", "é,123", "\u{1}\u{2}"] {
            let _ = normalize(s);
        }
    }
}
