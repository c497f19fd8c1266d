//! Fact collectors, one module per source of facts. Each parses its source into a plain
//! typed summary; turning summaries into fact values is the evaluator's side.

pub mod junit;
