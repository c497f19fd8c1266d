//! Test-only crate: see `tests/` for the corpus, property and CLI tests.
