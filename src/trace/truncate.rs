//! The truncator's logic: where a trace's comparable prefix ends.
//!
//! A prefix is either the first `k` generator tokens or the text up to the `k`-th reasoning word
//! (DeepPrune §3 truncates at reasoning words such as "wait", "thus", "since"). Either way the cut
//! falls on a token boundary. The streaming [`PrefixScanner`] is the only implementation: the
//! offline [`cut`] used for judge training feeds it token by token, so training and the pipeline
//! always cut identically.

use std::collections::HashSet;
use std::sync::Arc;

use super::{Trace, TracePrefix};

/// How a prefix is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefixMode {
    /// The first `count` generator tokens.
    Tokens,
    /// Everything up to (the token holding the end of) the `count`-th reasoning word.
    ReasoningWords,
}

/// The default reasoning words: discourse markers that open a new step of reasoning.
pub fn default_reasoning_words() -> Vec<String> {
    [
        "wait", "thus", "since", "therefore", "so", "but", "however", "hence", "because", "then",
        "first", "next", "now", "alternatively", "hmm", "actually", "check", "verify", "recall",
        "note", "consider", "suppose", "finally", "instead", "perhaps",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// What the truncator cuts: the mode, the count and the reasoning-word list.
#[derive(Debug, Clone)]
pub struct TruncationSpec {
    mode: PrefixMode,
    count: usize,
    words: Arc<HashSet<String>>,
}

/// Why a trace could not be cut.
#[derive(Debug, thiserror::Error)]
pub enum TruncateError {
    /// Token mode needs the generator's token boundaries.
    #[error("trace {trace} has no `tok_bytes`; truncator.mode = tokens needs token boundaries")]
    NoTokenBoundaries {
        /// `pid#sample`.
        trace: String,
    },
}

impl TruncationSpec {
    /// A spec; `words` are matched case-insensitively as whole ASCII words.
    pub fn new(mode: PrefixMode, count: usize, words: &[String]) -> Self {
        let words = words.iter().map(|w| w.to_ascii_lowercase()).collect();
        Self { mode, count, words: Arc::new(words) }
    }

    /// The prefix mode.
    pub fn mode(&self) -> PrefixMode {
        self.mode
    }

    /// The count `k`.
    pub fn count(&self) -> usize {
        self.count
    }

    /// A fresh scanner for one streamed trace.
    pub fn scanner(&self) -> PrefixScanner {
        PrefixScanner {
            spec: self.clone(),
            buf: Vec::new(),
            token_ends: Vec::new(),
            scan_pos: 0,
            word_start: None,
            words_seen: 0,
            cut: None,
        }
    }
}

/// Where a prefix ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixCut {
    /// Tokens in the prefix.
    pub tokens: usize,
    /// Bytes of text in the prefix (a token boundary).
    pub bytes: usize,
    /// True when the trace ended before the cut point.
    pub whole_trace: bool,
}

/// Watches one trace's token stream and reports when its prefix is complete.
#[derive(Debug, Clone)]
pub struct PrefixScanner {
    spec: TruncationSpec,
    buf: Vec<u8>,
    token_ends: Vec<usize>,
    scan_pos: usize,
    word_start: Option<usize>,
    words_seen: usize,
    cut: Option<PrefixCut>,
}

impl PrefixScanner {
    /// Feeds one generator token; returns the cut the first time the prefix is complete.
    pub fn push_token(&mut self, bytes: &[u8]) -> Option<PrefixCut> {
        if self.cut.is_some() {
            return None;
        }
        self.buf.extend_from_slice(bytes);
        self.token_ends.push(self.buf.len());
        let cut = match self.spec.mode {
            PrefixMode::Tokens => (self.token_ends.len() >= self.spec.count).then_some(PrefixCut {
                tokens: self.token_ends.len(),
                bytes: self.buf.len(),
                whole_trace: false,
            }),
            PrefixMode::ReasoningWords => self.scan_words(false),
        };
        self.cut = cut;
        cut
    }

    /// The trace ended: returns the cut if it was not already reported (the whole trace, unless
    /// a word closing at the very end completes the count).
    pub fn finish(&mut self) -> Option<PrefixCut> {
        if self.cut.is_some() {
            return None;
        }
        let cut = match self.spec.mode {
            PrefixMode::ReasoningWords => self.scan_words(true),
            PrefixMode::Tokens => None,
        }
        .unwrap_or(PrefixCut { tokens: self.token_ends.len(), bytes: self.buf.len(), whole_trace: true });
        self.cut = Some(cut);
        Some(cut)
    }

    /// The cut, once known.
    pub fn cut(&self) -> Option<PrefixCut> {
        self.cut
    }

    /// Staged judging: after a cut, looks for the next one at `count` tokens or reasoning words
    /// from the start of the trace (`count` above the last). Returns the cut at once when the
    /// tokens already fed complete it (several reasoning words can end in one token).
    pub fn rearm(&mut self, count: usize) -> Option<PrefixCut> {
        self.spec.count = count;
        let cut = match self.spec.mode {
            PrefixMode::Tokens => (count >= 1 && self.token_ends.len() >= count).then(|| PrefixCut {
                tokens: count,
                bytes: self.token_ends[count - 1],
                whole_trace: false,
            }),
            PrefixMode::ReasoningWords => self.scan_words(false),
        };
        self.cut = cut;
        cut
    }

    /// The text of the prefix: the bytes up to the cut, ending on a whole UTF-8 character.
    pub fn prefix_text(&self) -> &str {
        let end = self.cut.map_or(self.buf.len(), |c| c.bytes);
        valid_utf8_prefix(&self.buf[..end])
    }

    fn scan_words(&mut self, at_end: bool) -> Option<PrefixCut> {
        let mut i = self.scan_pos;
        while i < self.buf.len() || (at_end && i == self.buf.len()) {
            let is_letter = i < self.buf.len() && self.buf[i].is_ascii_alphabetic();
            match (is_letter, self.word_start) {
                (true, None) => self.word_start = Some(i),
                (false, Some(start)) => {
                    self.word_start = None;
                    let word = std::str::from_utf8(&self.buf[start..i]).unwrap_or("").to_ascii_lowercase();
                    // A letter run glued to a non-ASCII letter is not a whole word.
                    let glued = (start > 0 && self.buf[start - 1] >= 0x80) || (i < self.buf.len() && self.buf[i] >= 0x80);
                    if !glued && self.spec.words.contains(&word) {
                        self.words_seen += 1;
                        if self.words_seen >= self.spec.count {
                            // The cut is the end of the token holding the word's last byte.
                            let t = self.token_ends.partition_point(|&end| end < i);
                            let t = t.min(self.token_ends.len().saturating_sub(1));
                            let bytes = self.token_ends.get(t).copied().unwrap_or(self.buf.len());
                            // A later checkpoint ([`Self::rearm`]) counts on from just after the word.
                            self.scan_pos = i;
                            return Some(PrefixCut { tokens: t + 1, bytes, whole_trace: false });
                        }
                    }
                }
                _ => {}
            }
            if i == self.buf.len() {
                break;
            }
            i += 1;
        }
        // An unfinished word at the end of the buffer is rescanned when more bytes arrive.
        self.scan_pos = self.word_start.unwrap_or(self.buf.len());
        if let Some(start) = self.word_start {
            self.word_start = None;
            self.scan_pos = start;
        }
        None
    }
}

/// One prefix a [`CheckpointScanner`] completed.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointCut {
    /// The checkpoint: 0 for the spec's `count`, then 1, 2, ... for each later count.
    pub checkpoint: usize,
    /// Where the prefix ends.
    pub cut: PrefixCut,
    /// The prefix text (ending on a whole UTF-8 character).
    pub text: Arc<str>,
}

/// Staged judging: watches one trace's token stream and reports its prefix at each checkpoint,
/// the spec's `count` first, then each later count. With no later counts it cuts exactly as one
/// [`PrefixScanner`] does.
#[derive(Debug, Clone)]
pub struct CheckpointScanner {
    scanner: PrefixScanner,
    later: Arc<[usize]>,
    /// The checkpoint looked for; `1 + later.len()` once every one is cut.
    next: usize,
}

impl CheckpointScanner {
    /// A scanner cutting at `spec`'s count, then at each of `later` (strictly increasing, each
    /// above the count; the config checks this).
    pub fn new(spec: &TruncationSpec, later: Arc<[usize]>) -> Self {
        Self { scanner: spec.scanner(), later, next: 0 }
    }

    /// The checkpoint still looked for, or `None` once every checkpoint is cut.
    pub fn next_checkpoint(&self) -> Option<usize> {
        (self.next <= self.later.len()).then_some(self.next)
    }

    /// Feeds one generator token; returns the prefixes it completed (usually none).
    pub fn push_token(&mut self, bytes: &[u8]) -> Vec<CheckpointCut> {
        let mut out = Vec::new();
        if self.next_checkpoint().is_some() {
            let mut cut = self.scanner.push_token(bytes);
            while let Some(c) = cut {
                cut = self.take(c, &mut out);
            }
        }
        out
    }

    /// The trace ended: every checkpoint not reached gets the whole trace as its prefix (unless
    /// a reasoning word closing at the very end completes one).
    pub fn finish(&mut self) -> Vec<CheckpointCut> {
        let mut out = Vec::new();
        while self.next_checkpoint().is_some() {
            let mut cut = self.scanner.finish();
            debug_assert!(cut.is_some(), "no cut is pending between checkpoints");
            if cut.is_none() {
                break;
            }
            while let Some(c) = cut {
                cut = self.take(c, &mut out);
            }
        }
        out
    }

    /// Records the cut of the checkpoint looked for and rearms for the next one.
    fn take(&mut self, cut: PrefixCut, out: &mut Vec<CheckpointCut>) -> Option<PrefixCut> {
        out.push(CheckpointCut { checkpoint: self.next, cut, text: self.scanner.prefix_text().into() });
        self.next += 1;
        let count = *self.later.get(self.next - 1)?;
        self.scanner.rearm(count)
    }
}

/// The longest prefix of `bytes` that is valid UTF-8.
pub fn valid_utf8_prefix(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    }
}

/// Splits a trace into its generator tokens. Without `tok_bytes`, reasoning-word mode falls back
/// to whitespace-led pseudo-tokens; token mode needs the real boundaries.
pub fn tokens_of<'a>(spec: &TruncationSpec, trace: &'a Trace) -> Result<Vec<&'a [u8]>, TruncateError> {
    let text = trace.text.as_bytes();
    match (&trace.tok_bytes, spec.mode) {
        (Some(lens), _) => {
            let mut out = Vec::with_capacity(lens.len());
            let mut at = 0usize;
            for &len in lens {
                let end = (at + len as usize).min(text.len());
                out.push(&text[at..end]);
                at = end;
            }
            Ok(out)
        }
        (None, PrefixMode::Tokens) => Err(TruncateError::NoTokenBoundaries { trace: trace.name() }),
        (None, PrefixMode::ReasoningWords) => {
            let mut out = Vec::new();
            let mut start = 0;
            for (i, &b) in text.iter().enumerate() {
                if i > start && b.is_ascii_whitespace() && !text[i - 1].is_ascii_whitespace() {
                    out.push(&text[start..i]);
                    start = i;
                }
            }
            if start < text.len() {
                out.push(&text[start..]);
            }
            Ok(out)
        }
    }
}

/// Cuts a whole recorded trace offline, exactly as the streaming truncator would.
pub fn cut(spec: &TruncationSpec, trace: &Trace) -> Result<TracePrefix, TruncateError> {
    let mut scanner = spec.scanner();
    let mut cut = None;
    for token in tokens_of(spec, trace)? {
        if let Some(c) = scanner.push_token(token) {
            cut = Some(c);
            break;
        }
    }
    let cut = match cut {
        Some(c) => c,
        None => scanner.finish().expect("finish reports the cut when none was reported; this is a bug"),
    };
    Ok(TracePrefix {
        pid: trace.pid.as_str().into(),
        sample: trace.sample,
        text: scanner.prefix_text().into(),
        tokens: cut.tokens,
        whole_trace: cut.whole_trace,
        answer_class: trace.answer_class,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(tokens: &[&str]) -> Trace {
        Trace {
            pid: "p".into(),
            sample: 0,
            text: tokens.concat().into(),
            tok_bytes: Some(tokens.iter().map(|t| t.len() as u8).collect()),
            conf: None,
            finish: None,
            answer: None,
            answer_class: Some(1),
            correct: None,
        }
    }

    #[test]
    fn token_mode_cuts_after_k_tokens() {
        let t = trace(&["We", " have", " 2", "+", "2", ".", " So", " 4"]);
        let spec = TruncationSpec::new(PrefixMode::Tokens, 3, &[]);
        let p = cut(&spec, &t).unwrap();
        assert_eq!((p.text.as_ref(), p.tokens, p.whole_trace), ("We have 2", 3, false));
    }

    #[test]
    fn short_trace_is_whole() {
        let t = trace(&["A", "B"]);
        let spec = TruncationSpec::new(PrefixMode::Tokens, 5, &[]);
        let p = cut(&spec, &t).unwrap();
        assert_eq!((p.text.as_ref(), p.tokens, p.whole_trace), ("AB", 2, true));
    }

    #[test]
    fn reasoning_words_cut_at_token_boundary() {
        let words = default_reasoning_words();
        let cases: &[(&[&str], usize, &str, usize, bool)] = &[
            // The 2nd reasoning word ("Thus") ends inside token " Thu"+"s,", cut after that token.
            (&["Wait", ",", " x", "=1.", " Thu", "s,", " y", "=2"], 2, "Wait, x=1. Thus,", 6, false),
            // Whole words only: "Sounds" and "sothat" do not count.
            (&["Sounds", " sothat", " so", " end"], 1, "Sounds sothat so", 3, false),
            // A word ending exactly at the end of the stream still counts.
            (&["x", " then"], 1, "x then", 2, false),
            // Too few words: the whole trace.
            (&["wait", " a"], 3, "wait a", 2, true),
        ];
        for (tokens, k, text, n, whole) in cases {
            let spec = TruncationSpec::new(PrefixMode::ReasoningWords, *k, &words);
            let p = cut(&spec, &trace(tokens)).unwrap();
            assert_eq!((p.text.as_ref(), p.tokens, p.whole_trace), (*text, *n, *whole), "tokens {tokens:?}");
        }
    }

    #[test]
    fn split_utf8_character_is_not_cut_in_half() {
        // "é" is two bytes, split over two tokens by a byte-level tokenizer.
        let t = Trace { tok_bytes: Some(vec![1, 1, 1]), text: "aé".into(), ..trace(&["a"]) };
        let spec = TruncationSpec::new(PrefixMode::Tokens, 2, &[]);
        let p = cut(&spec, &t).unwrap();
        assert_eq!((p.text.as_ref(), p.tokens), ("a", 2));
    }

    /// Every checkpoint's prefix from one [`CheckpointScanner`], fed token by token.
    fn staged_cuts(spec: &TruncationSpec, later: &[usize], t: &Trace) -> Vec<(usize, String, usize, bool)> {
        let mut scanner = CheckpointScanner::new(spec, later.into());
        let mut cuts = Vec::new();
        for token in tokens_of(spec, t).unwrap() {
            cuts.extend(scanner.push_token(token));
        }
        cuts.extend(scanner.finish());
        assert_eq!(scanner.next_checkpoint(), None);
        cuts.into_iter().map(|c| (c.checkpoint, c.text.to_string(), c.cut.tokens, c.cut.whole_trace)).collect()
    }

    #[test]
    fn each_checkpoint_cuts_as_a_scanner_of_its_own_count() {
        let words = default_reasoning_words();
        let long: &[&str] = &["Wait", ",", " so", " x", "=1.", " Thu", "s,", " so", " then", " y", "=2", " hence", " done"];
        let glued: &[&str] = &["so then", " wait", " x"];
        // (tokens, mode, first count, later counts)
        let cases: &[(&[&str], PrefixMode, usize, &[usize])] = &[
            (long, PrefixMode::Tokens, 2, &[5, 9]),
            (long, PrefixMode::Tokens, 2, &[]),
            // The trace ends between checkpoints: both later ones are the whole trace.
            (long, PrefixMode::Tokens, 4, &[20, 30]),
            (long, PrefixMode::Tokens, 13, &[14]),
            (long, PrefixMode::ReasoningWords, 1, &[2, 4, 6]),
            // The 3rd and 4th words ("so", "then") close in consecutive tokens.
            (long, PrefixMode::ReasoningWords, 3, &[4, 5]),
            // More words asked for than the trace has.
            (long, PrefixMode::ReasoningWords, 5, &[6, 9]),
            // Two words in one token: two checkpoints cut at the same token.
            (glued, PrefixMode::ReasoningWords, 1, &[2, 3]),
        ];
        for (tokens, mode, count, later) in cases {
            let t = trace(tokens);
            let spec = TruncationSpec::new(*mode, *count, &words);
            let got = staged_cuts(&spec, later, &t);
            let want: Vec<(usize, String, usize, bool)> = std::iter::once(*count)
                .chain(later.iter().copied())
                .enumerate()
                .map(|(i, k)| {
                    let p = cut(&TruncationSpec::new(*mode, k, &words), &t).unwrap();
                    (i, p.text.to_string(), p.tokens, p.whole_trace)
                })
                .collect();
            assert_eq!(got, want, "{mode:?} {count} then {later:?} over {tokens:?}");
        }
    }

    #[test]
    fn token_mode_without_boundaries_is_a_clear_error() {
        let t = Trace { tok_bytes: None, ..trace(&["a b"]) };
        let spec = TruncationSpec::new(PrefixMode::Tokens, 2, &[]);
        assert!(cut(&spec, &t).unwrap_err().to_string().contains("p#0 has no `tok_bytes`"));
        let spec = TruncationSpec::new(PrefixMode::ReasoningWords, 1, &["b".into()]);
        assert_eq!(cut(&spec, &t).unwrap().text.as_ref(), "a b");
    }
}
