//! Any text through answer extraction, parsing and equivalence: never panics.
//!
//! The whole input is extracted from and parsed; it is also split in two (at the first NUL
//! byte, else in the middle on a char boundary) and the halves compared both ways.
#![no_main]

use deepprune::answer::{equivalent, extract, extract_boxed, Answer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = extract(text);
    let _ = extract_boxed(text);
    let whole = Answer::parse(text);
    let _ = whole.normalized();
    let (a, b) = match text.split_once('\0') {
        Some(ab) => ab,
        None => {
            let mut mid = text.len() / 2;
            while !text.is_char_boundary(mid) {
                mid -= 1;
            }
            text.split_at(mid)
        }
    };
    let ab = equivalent(a, b);
    let ba = equivalent(b, a);
    // Reflexive on anything that parses the same twice.
    assert!(whole.equivalent(&Answer::parse(text)), "answer not equivalent to itself: {text:?}");
    let _ = (ab, ba);
    if let Some(x) = extract(a) {
        let _ = Answer::parse(&x).equivalent(&Answer::parse(b));
    }
});
