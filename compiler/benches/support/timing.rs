//! The median of repeated timings, shared by the benchmarks.

use std::time::Duration;

/// The median of `v`; zero when there is none.
pub fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}
