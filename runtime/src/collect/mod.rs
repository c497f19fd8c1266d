//! Fact collectors' parsers, one module per source of facts. Each reads its source into a
//! plain typed summary; `gather` turns summaries into facts.

pub mod change;
pub mod cloud;
pub mod deps;
pub mod docs;
pub mod helm;
pub mod junit;
pub mod secrets;
