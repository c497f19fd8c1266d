//! Fact collectors, one module per source of facts.

pub mod junit;
pub mod secrets;
