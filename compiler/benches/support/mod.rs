//! Code shared by the benchmarks (and, by `#[path]`, the fuzz targets).

pub mod policy_gen;
