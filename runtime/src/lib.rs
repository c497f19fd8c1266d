//! The phasev runtime: facts in, decisions out.
//!
//! Today it holds the offline collectors' parsers ([`collect`]); the evaluator, the reports and
//! `phasev-eval` are being built (see `runtime/README.md`).

pub mod collect;
