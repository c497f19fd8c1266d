//! The phasev runtime: facts in, decisions out.
//!
//! ```text
//! facts documents ─facts→ Facts (one per feature, by IR slot)
//! ir::Program + Facts ─eval→ values (three-valued) ─decide→ Decision (verdict, explanations)
//! ```
//!
//! [`collect`] holds the collectors' parsers; [`facts`] the facts documents; [`eval`] the
//! evaluator; [`decide`] gate verdicts and explanations. The reports, `phasev.toml`, decision
//! records and the other collectors are still to come (see `runtime/README.md`).

pub mod collect;
pub mod config;
pub mod decide;
pub mod eval;
pub mod facts;
mod facts_json;
pub mod gather;
pub mod neutral;
pub mod plugin;
pub mod policy_test;
pub mod record;
pub mod report;
pub mod value;
