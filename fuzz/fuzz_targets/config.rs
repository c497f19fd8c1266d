//! Arbitrary bytes as `phasev.toml`: parsed and checked as `phasev-eval` reads it, and an
//! error rendered as it prints one. Nothing may panic or hang.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use phasev_runtime::config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match config::parse(Path::new("phasev.toml"), text) {
        Ok(config) => {
            std::hint::black_box(config);
        }
        Err(err) => {
            let mut out = String::new();
            let handler = miette::GraphicalReportHandler::new_themed(
                miette::GraphicalTheme::unicode_nocolor(),
            );
            std::hint::black_box(handler.render_report(&mut out, &err).is_ok());
        }
    }
});
