//! The stable diagnostic codes, their levels and their long explanations (`phasevc explain`).

use super::Level;

macro_rules! codes {
    ($( $variant:ident = $code:literal, $level:ident, $summary:literal, $long:literal; )*) => {
        /// A stable diagnostic code. The string form never changes once released.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( $variant, )*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            pub fn level(self) -> Level {
                match self { $( Code::$variant => Level::$level, )* }
            }

            /// One line: what the code means.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }

            /// The long text shown by `phasevc explain CODE`.
            pub fn explanation(self) -> &'static str {
                match self { $( Code::$variant => $long, )* }
            }
        }
    };
}

impl Code {
    /// Looks a code up by its full name (`phasev::check::unknown_fact`) or its last part
    /// (`unknown_fact`).
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == text || c.as_str().rsplit("::").next() == Some(text))
    }
}

codes! {
    Note = "phasev::note", Warning, "a note attached to another diagnostic",
"A note points at a second place that explains another diagnostic, such as the first
definition of a duplicated name. It never appears on its own.";

    Syntax = "phasev::parse::syntax", Error, "the text does not follow the grammar",
"The parser expected something else at this position. The label lists what would have been
accepted there.

    gate local_k8s cloud_staging {      // missing `->`
    gate local_k8s -> cloud_staging {   // correct

Each file is parsed on its own; a syntax error stops the checks of that file, but every other
file of the policy is still parsed and reported.";

    BadLiteral = "phasev::parse::bad_literal", Error, "a literal value is out of range or invalid",
"A number, duration, percentage or date literal could not be represented: an integer beyond
64 bits, a date that does not exist (`2026-02-30`), or a value that overflows.

    deadline < 2026-13-01     // error: there is no month 13
    deadline < 2026-12-01     // correct";

    BadString = "phasev::parse::bad_string", Error, "a string literal is malformed",
"Strings accept the escapes \\\" \\\\ \\n \\t \\{ and \\}. A `{` opens an interpolation
hole that must hold a dotted path and be closed by `}`:

    context \"{cloud.quota.name} at {cloud.quota.used}\"
    context \"literal braces: \\{not a hole\\}\"";

    Unreadable = "phasev::load::unreadable", Error, "a source file cannot be read",
"The file named on the command line or by an `import` does not exist or cannot be read as
UTF-8 text. Imports are resolved relative to the importing file.";

    ImportCycle = "phasev::load::import_cycle", Error, "files import each other in a cycle",
"`import` pulls another file's declarations into the policy. A file that imports itself,
directly or through other files, would never finish loading. Move the shared declarations to
a third file that both import.";

    UnknownFact = "phasev::check::unknown_fact", Error, "a path is not in the fact schema",
"Every fact path is checked against the fact schema: the built-in namespaces (feature, docs,
tests, helm, secrets, k8s, dapr, kafka, metrics, rollback, cloud, change, baseline), the
policy's `fact` declarations, and the outputs of its `check`s. A misspelt path is an error
rather than a fact that is silently missing.

    require \"tests\": tests.unit.faild == 0     // error: did you mean `tests.unit.failed`?

Declare custom facts with `fact team.pci.passed: bool`.";

    UnknownName = "phasev::check::unknown_name", Error, "a name is not a rule, rung, variable or function",
"A bare name must be a rule, a rung of the ladder, a quantifier variable or rule parameter in
scope, `target`, or a built-in function (len, exists, known, matches, min, max, sum).";

    UnknownField = "phasev::check::unknown_field", Error, "a record has no such field",
"Field access on a record must name one of its fields. The label lists the type, and the
help suggests the closest field.

    all pod in k8s.pods: pod.redy      // error: did you mean `ready`?";

    TypeMismatch = "phasev::check::type_mismatch", Error, "an expression has the wrong type",
"phasev is statically typed: operands of `and`/`or`/`not` are bools, comparisons need
comparable operands (numbers with numbers, durations with durations, percentages with
percentages, rungs with rungs, dates with dates; strings and bools only with == and !=),
and arithmetic follows the unit rules (a duration times a number or a percentage is a
duration; a number times a percentage is a number).

    metrics.latency_p95 < \"250ms\"    // error: duration compared with string
    metrics.latency_p95 < 250ms      // correct";

    WrongArity = "phasev::check::wrong_arity", Error, "a call has the wrong number of arguments",
"A rule with parameters, or a built-in function, was called with too many or too few
arguments. Rules without parameters are referenced by name, without parentheses.";

    Duplicate = "phasev::check::duplicate", Error, "a name is defined twice",
"Rules, checks, facts, rungs, gates (per pair of rungs), requirement names within a gate
and checklist items must be unique across the policy and all its imports. A `fact` may not
redeclare a built-in fact either.";

    FactRange = "phasev::check::fact_range", Error, "a declared fact's range does not fit it",
"`fact PATH: TYPE in LOW..HIGH` states the values a declared fact accepts; a value read
outside it makes the fact errored, and what reads it inconclusive. Only int, float, duration
and percent facts have ranges; each bound is written in the fact's type (an int bound may
stand for a float); either end may be left open, but not both; and LOW may not be above HIGH.

    fact team.coverage: int in 0..100      // correct
    fact cloud.headroom: float in 0.0..    // correct: no upper bound
    fact team.p95: duration in ..5m        // correct: no lower bound
    fact team.coverage: int in 0.5..1      // error: 0.5 is not an int
    fact team.coverage: int in 100..0      // error: empty range";

    Ladder = "phasev::check::ladder", Error, "the ladder is missing or malformed",
"A policy has exactly one `ladder` with at least two rungs, declared in the root file or one
of its imports. Its order is the promotion order.";

    UnknownRung = "phasev::check::unknown_rung", Error, "a gate names a rung that is not on the ladder",
"Both ends of a gate must be rungs of the ladder.

    gate local_k8s -> cloud_stagng { … }   // error: did you mean `cloud_staging`?";

    BackwardGate = "phasev::check::backward_gate", Error, "a gate goes down or stays on the ladder",
"A gate promotes a feature upward: its target rung must come after its source rung in the
ladder. `gate cloud_prod -> cloud_staging` is not a promotion.";

    UntypedParam = "phasev::check::untyped_param", Error, "a rule parameter's type cannot be inferred",
"A rule's parameters may leave out their types: each untyped parameter takes the type of its
argument in the first call of the rule that is checked, and every other call must pass that
type. A rule that nothing calls gives them no type, so write the types out:

    rule tests_green(failed, total) = failed == 0 and total > 0
    require \"unit\": tests_green(tests.unit.failed, tests.unit.total)   // both are int

    rule spare(failed) = failed == 0                   // error: nothing calls `spare`
    rule spare(failed: int) = failed == 0              // correct (and an unused rule)";

    RuleCycle = "phasev::check::rule_cycle", Error, "rules refer to each other recursively",
"Rules are expanded like macros with bounded evaluation, so a rule may not refer to itself,
directly or through other rules. Express repetition with a quantifier (`all x in xs: …`).";

    RuleDepth = "phasev::check::rule_depth", Error, "rules refer to each other too deeply",
"A chain of rules, each using the next, may be at most 256 rules long: every evaluation walks
the chain, and so does every pass of the compiler. Such chains are almost always generated;
flatten them into fewer rules.";

    Interpolation = "phasev::check::interpolation", Error, "an interpolation hole is not allowed here",
"`{path}` holes are filled from facts when a message is rendered. Names that identify things
(rung labels, requirement and checklist names, plugin names, imports) must be plain text,
and a hole must name a scalar value (not a list or record).";

    NotConstant = "phasev::check::not_constant", Error, "a plugin configuration value is not a constant",
"The configuration of a `check` is fixed when the policy is compiled, so its values must be
literals (strings, numbers, booleans, durations, percentages, dates, or lists of them).";

    PluginConfig = "phasev::check::plugin_config", Error, "a check's configuration does not fit its plugin",
"A plugin describes the configuration it takes: each key's type and whether it is required.
The compiler checks every `check … = plugin \"name\" { … }` against that description, so a
misspelt key, a value of the wrong type or a missing required key is found before any pipeline
runs. `phasev-eval plugin inspect FILE` prints what a plugin takes.";

    PluginRead = "phasev::check::plugin_read", Error, "a plugin reads a fact the policy's schema does not know",
"A plugin lists the facts it needs in its description and is given exactly those. Each must be
a built-in fact or one the policy declares with `fact`; otherwise the plugin would be given
nothing for it. Declare the fact, or use a version of the plugin that reads known facts.";

    BadRegex = "phasev::check::bad_regex", Error, "a `matches` pattern is not a valid regular expression",
"The second argument of `matches(text, pattern)` must be a string literal holding a regular
expression in Rust `regex` syntax; it is compiled once, at policy compile time.";

    Escalation = "phasev::check::escalation", Error, "an escalation block is incomplete",
"An escalation renders as the process's block: a title, a `context`, an `impact`, two or three
`option`s with their trade-offs, and a `recommend` naming one of the options by number.

    escalate \"Cloud quota\" when cloud.quota.used >= cloud.quota.limit * 90% {
      context \"{cloud.quota.name} at {cloud.quota.used}\"
      impact  \"{feature.name} cannot scale in {target}\"
      option \"Request a quota increase\": \"lead time of days\"
      option \"Shrink the node pool\": \"less realistic load tests\"
      recommend 1: \"keeps parity with production\"
    }";

    Policy = "phasev::check::policy", Error, "the policy name is missing or declared twice",
"The root file of a policy names it once: `policy phase_v`. Imported files may name
themselves too; only the root's name is used.";

    NeverPasses = "phasev::analyze::never_passes", Warning, "a requirement can never be satisfied",
"Interval reasoning over the comparisons of this expression shows that no fact values make it
true, so the gate can never pass (for `require`) or always warns (for `warn`).

    require \"latency\": metrics.latency_p95 > 5s and metrics.latency_p95 < 3s";

    AlwaysPasses = "phasev::analyze::always_passes", Warning, "a requirement can never fail",
"Interval reasoning shows the expression is true for every value of the facts it reads, so it
checks nothing. Usually `or` was written for `and`, or a bound is inverted.

    require \"errors\": metrics.error_rate < 1% or metrics.error_rate >= 0.5%";

    UnusedRule = "phasev::analyze::unused_rule", Warning, "a rule is never used",
"No gate, escalation, checklist item or other used rule refers to this rule. Remove it or
reference it.";

    UnusedFact = "phasev::analyze::unused_fact", Warning, "a declared fact is never read",
"A `fact` declaration that nothing reads widens the schema for no reason and hides typos in
facts files. Remove it or use it.";

    UnusedCheck = "phasev::analyze::unused_check", Warning, "a plugin check is never read",
"A `check` runs its plugin for every evaluation; when no requirement reads its outputs, it
costs time and decides nothing.";

    UnreachableGate = "phasev::analyze::unreachable_gate", Warning, "a gate starts from a rung nobody can reach",
"Features start on the first rung of the ladder and climb through gates. When no chain of
gates leads from the first rung to this gate's source rung, the gate can never be used.
Usually a gate in between is missing.";

    UngatedRung = "phasev::analyze::ungated_rung", Warning, "no gate leads into a rung",
"Gates are monotonic: promoting to a rung evaluates every gate that leads up to it. A rung
that no gate leads into would be reached without any check, so `phasev-eval` refuses to
decide a promotion to it (or above it). Add the missing gate, or say on purpose that the rung
needs no check with an open gate:

    ladder { dev qa prod }
    gate dev -> qa { require \"unit tests pass\": tests.unit.failed == 0 }
    gate qa -> prod open      // prod is promoted by the release train, not checked here";

    EmptyGate = "phasev::analyze::empty_gate", Warning, "a gate has no requirements",
"A gate written `{}` checks nothing, so every promotion through it passes. That is usually a
gate left unfinished; if the rung really needs no check, write it as an open gate, which says
so on purpose:

    gate qa -> prod {}        // warning: checks nothing
    gate qa -> prod open      // no check, on purpose";
}
