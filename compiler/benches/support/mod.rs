//! Code shared by the benchmarks.
#![allow(
    dead_code,
    reason = "each benchmark includes this module and uses a part of it"
)]

pub mod policy_gen;
pub mod timing;
