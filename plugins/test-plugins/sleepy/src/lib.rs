//! Sleeps an hour in `describe` (a WASI poll, not a loop: epoch interruption cannot stop it),
//! so the host's tests can prove a call blocked in a host function ends at its time limit,
//! `plugin inspect` included, where no grant can choose a mode.

use std::time::Duration;

use phasev_plugin_sdk::{Description, Guest, Outcome, Request, export_plugin};

struct Sleepy;

impl Guest for Sleepy {
    fn describe() -> Description {
        std::thread::sleep(Duration::from_secs(3600));
        Description::builder("sleepy", env!("CARGO_PKG_VERSION"), "Woke up").build()
    }

    fn evaluate(_request: Request) -> Result<Outcome, String> {
        std::thread::sleep(Duration::from_secs(3600));
        Ok(Outcome::default())
    }
}

export_plugin!(Sleepy);
