//! Passes when no unit test failed; the host's per-call benchmark and smoke test.

use phasev_plugin_sdk::{Description, Guest, Outcome, Request, Severity, export_plugin};

struct Trivial;

impl Guest for Trivial {
    fn describe() -> Description {
        Description::builder(
            "trivial",
            env!("CARGO_PKG_VERSION"),
            "Passes when no unit test failed",
        )
        .reads("tests.unit.failed")
        .output("seen", "int", "The value of tests.unit.failed it was given")
        .build()
    }

    fn evaluate(request: Request) -> Result<Outcome, String> {
        let failed: i64 = request.fact("tests.unit.failed")?;
        let mut outcome = Outcome::default();
        if failed == 0 {
            outcome.pass("no unit test failed");
        } else {
            outcome.fail(Severity::Critical, format!("{failed} unit tests failed"));
        }
        outcome.output("seen", &failed)?;
        Ok(outcome)
    }
}

export_plugin!(Trivial);
