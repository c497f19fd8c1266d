//! A plugin's limits (`limits` of `[plugins.NAME]`), checked and resolved to what each call is
//! given. phasev.toml is checked with them when it is read, so a limit that cannot work (no
//! fuel, a table larger than the pool gives) is an error pointing at it, before any plugin
//! loads.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::config::{PluginLimits, parse_size};
use crate::value::parse_duration;

/// The most elements a plugin's table may hold: the pool gives every table this many, and
/// a larger limit could not be honoured.
pub const MAX_TABLE_ELEMENTS: u32 = 200_000;

/// The WebAssembly stack of a plugin that sets no `limits.stack`, unless `[sandbox] stack`
/// says otherwise.
pub const DEFAULT_STACK: usize = 512 << 10;

/// The WebAssembly stacks a call can be given. Each call runs on a fiber whose stack holds the
/// WebAssembly stack and 1MiB for the host's frames; the bound keeps the pool of fibers small
/// (a fiber that ran out would abort the process instead of trapping the call).
const STACKS: RangeInclusive<usize> = 16 << 10..=1 << 20;

const DURATION_HELP: &str = "write a duration with a unit: \"500ms\", \"2s\"";
const SIZE_HELP: &str = "write a size with a unit: B, KiB, MiB or GiB (\"64MiB\")";
/// What a stack size should be, for a `limits.stack` or `[sandbox] stack` refused.
pub(crate) const STACK_HELP: &str = "calls run on stacks of the host's, which must hold the \
                          WebAssembly stack: give one between 16KiB and 1MiB (default 512KiB)";

/// What each call of a plugin may use.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) fuel: u64,
    pub(crate) memory: usize,
    pub(crate) table_elements: usize,
    pub(crate) output: usize,
    /// `None`: the host's (`[sandbox] stack`).
    pub(crate) stack: Option<usize>,
    /// The wall time of all its calls in a run; `None`: the default for the project.
    pub(crate) budget: Option<Duration>,
}

/// A limit that cannot be used.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BadLimit {
    /// Its key under `limits` (`fuel`).
    pub(crate) key: &'static str,
    /// `limits.fuel = 0 is not …`.
    pub(crate) reason: String,
    pub(crate) help: &'static str,
}

impl Limits {
    /// The limits `written`, or the first that cannot be used.
    pub(crate) fn of(written: &PluginLimits) -> Result<Limits, BadLimit> {
        let bad = |key: &'static str, value: String, what: &str, help: &'static str| BadLimit {
            key,
            reason: format!("limits.{key} = {value} is not {what}"),
            help,
        };
        let quoted = |text: &str| format!("\"{text}\"");
        let timeout = parse_duration(&written.timeout)
            .filter(|ms| *ms >= 1.0 && ms.is_finite())
            .ok_or_else(|| {
                bad(
                    "timeout",
                    quoted(&written.timeout),
                    "a duration of at least 1ms",
                    DURATION_HELP,
                )
            })?;
        if written.fuel == 0 {
            return Err(bad(
                "fuel",
                "0".to_owned(),
                "a positive number of units (every call would run out at once)",
                "fuel counts instructions, roughly; the default is 1000000000",
            ));
        }
        let size = |key: &'static str, text: &str| {
            parse_size(text)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(key, quoted(text), "a size above zero", SIZE_HELP))
        };
        let table_elements = match written.table_elements {
            0 => Err(bad(
                "table_elements",
                "0".to_owned(),
                "a positive number of elements",
                "the default is 20000",
            )),
            n if n > MAX_TABLE_ELEMENTS => Err(bad(
                "table_elements",
                n.to_string(),
                "at most 200000, the most elements the plugin host gives a table",
                "a plugin needs as many as its largest table (of functions, mostly); the \
                 default is 20000",
            )),
            n => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        }?;
        let budget = match &written.budget {
            Some(text) => Some(
                parse_duration(text)
                    .filter(|ms| *ms >= 1.0 && ms.is_finite())
                    .map(|ms| Duration::from_secs_f64(ms / 1000.0))
                    .ok_or_else(|| {
                        bad(
                            "budget",
                            quoted(text),
                            "a duration of at least 1ms",
                            DURATION_HELP,
                        )
                    })?,
            ),
            None => None,
        };
        let stack = match &written.stack {
            Some(text) => Some(stack_size(text).map_err(|what| BadLimit {
                key: "stack",
                reason: format!("limits.stack = \"{text}\" is not {what}"),
                help: STACK_HELP,
            })?),
            None => None,
        };
        Ok(Limits {
            timeout: Duration::from_secs_f64(timeout / 1000.0),
            fuel: written.fuel,
            memory: size("memory", &written.memory)?,
            table_elements,
            output: size("output", &written.output)?,
            stack,
            budget,
        })
    }
}

/// A WebAssembly stack size, as `limits.stack` or `[sandbox] stack` write it; the error says
/// what it should be.
pub(crate) fn stack_size(text: &str) -> Result<usize, &'static str> {
    parse_size(text)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| STACKS.contains(n))
        .ok_or("a size between 16KiB and 1MiB")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(limits: PluginLimits) -> (&'static str, String) {
        match Limits::of(&limits) {
            Err(bad) => (bad.key, bad.reason),
            Ok(l) => ("", format!("accepted: {l:?}")),
        }
    }

    #[test]
    fn every_limit_must_be_usable() {
        let with = |f: fn(&mut PluginLimits)| {
            let mut l = PluginLimits::default();
            f(&mut l);
            l
        };
        assert_eq!(
            refused(with(|l| l.fuel = 0)),
            (
                "fuel",
                "limits.fuel = 0 is not a positive number of units (every call would run out \
                 at once)"
                    .to_owned()
            )
        );
        assert_eq!(
            refused(with(|l| l.table_elements = MAX_TABLE_ELEMENTS + 1)),
            (
                "table_elements",
                "limits.table_elements = 200001 is not at most 200000, the most elements the \
                 plugin host gives a table"
                    .to_owned()
            )
        );
        assert_eq!(
            refused(with(|l| l.timeout = "0ms".to_owned())).1,
            "limits.timeout = \"0ms\" is not a duration of at least 1ms"
        );
        assert_eq!(
            refused(with(|l| l.memory = "0MiB".to_owned())).1,
            "limits.memory = \"0MiB\" is not a size above zero"
        );
        assert_eq!(
            refused(with(|l| l.stack = Some("8MiB".to_owned()))).1,
            "limits.stack = \"8MiB\" is not a size between 16KiB and 1MiB"
        );
        let fine = Limits::of(&with(|l| {
            l.table_elements = MAX_TABLE_ELEMENTS;
            l.stack = Some("1MiB".to_owned());
        }));
        assert_eq!(
            fine.map(|l| (l.table_elements, l.stack)),
            Ok((200_000, Some(1 << 20)))
        );
    }
}
