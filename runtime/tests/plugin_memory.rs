//! Memory returns to its baseline after hostile plugins: every hostile mode, many times over,
//! in one host. This is the only test of its binary, so the process's resident memory is this
//! test's alone (no other test allocates on another thread meanwhile) and the bound can be
//! tight: a leak of a few KiB per call would exceed it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

mod plugin_support;

use phasev_runtime::config::Grants;
use plugin_support::{HOSTILE_MODES, dist, fuel, host, load, mode, tight};

/// How often each mode runs after the baseline is taken.
const ROUNDS: usize = 20;

/// How much resident memory may grow over all the rounds.
const SLACK: u64 = 1 << 20;

/// Resident memory of this process, in bytes.
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn memory_returns_to_its_baseline_after_every_hostile_mode() {
    let host = host(None);
    let path = dist("hostile");
    let tight = load(&host, &path, tight(), Grants::default());
    let fuel = load(&host, &path, fuel(), Grants::default());
    let round = || {
        let mut results: Vec<String> = HOSTILE_MODES
            .iter()
            .map(|m| format!("{m}: {:?}", mode(&tight, m)))
            .collect();
        results.push(format!("fuel loop: {:?}", mode(&fuel, "loop")));
        results
    };
    // Two rounds first, so the baseline includes the pool's slots and every lazily made
    // structure of the host; each later round must give the same results.
    let first = round();
    assert_eq!(round(), first);
    let before = resident();
    for _ in 0..ROUNDS {
        assert_eq!(round(), first);
    }
    let after = resident();
    assert!(
        after <= before + SLACK,
        "resident memory grew by {} KiB over {ROUNDS} rounds of {} calls (from {} KiB to {} KiB)",
        (after.saturating_sub(before)) >> 10,
        first.len(),
        before >> 10,
        after >> 10
    );
}
