//! Arbitrary bytes through the whole front end: load, parse, check, analyze, lower, then
//! diagnostic rendering. The input (UTF-8 only; other inputs are skipped) is split at its
//! first NUL byte: before it is the root file, after it a second file, `lib.phasev`, that the
//! root may `import "lib.phasev"`. The whole input also goes through `parser::parse_expr`.
//! Nothing may panic, overflow the stack or hang.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (root, lib) = text.split_once('\0').unwrap_or((text, ""));
    common::front_end(root, &[("lib.phasev", lib)]);
    common::expr(text);
});
