//! Arbitrary bytes as a TOML facts document against the standard policy's slots (see
//! `facts/mod.rs`). Nothing may panic, and no built-in fact may hold a number out of range.
#![no_main]

mod facts;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        facts::read(text, true);
    }
});
