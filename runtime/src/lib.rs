//! The phasev runtime: facts in, decisions out.
//!
//! Today it holds the offline collectors' parsers ([`collect`]); the evaluator, the reports and
//! `phasev-eval` come next (see `runtime/README.md`).

pub mod collect;
