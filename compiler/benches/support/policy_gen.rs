//! A deterministic generator of large, valid `.phasev` policies for benchmarks and fuzzing.
//!
//! The output is a function of the [`Spec`] only: a small xorshift generator replaces the
//! `rand` crate, so every run (and every machine) compiles exactly the same text.
//!
//! Shape of a generated policy:
//! - the standard 4-rung ladder and one `policy` line;
//! - `facts` custom `fact` declarations cycling over int, float, duration, percent and bool,
//!   spread over a few namespaces;
//! - a plugin `check`, a handful of plain rules and two parametric rules;
//! - `requirements` gate items (`require` or `warn`, some with a severity) spread over the three
//!   gates, each combining 1–4 comparisons with `and` / `or` / `not` over random facts and
//!   constants of the matching type, now and then a rule, a rule call, a quantifier or arithmetic;
//! - two escalations and a 13-item checklist.

use std::fmt::Write as _;

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Number of gate items (`require` / `warn`).
    pub requirements: usize,
    /// Number of custom `fact` declarations (at least 5 are always generated).
    pub facts: usize,
    /// Number of plain (parameterless) rules.
    pub rules: usize,
    /// Seed of the xorshift generator; zero is replaced by a fixed non-zero value.
    pub seed: u64,
}

impl Spec {
    /// The shape the benchmark uses: one fact per ten requirements, one rule per hundred.
    pub fn scaled(requirements: usize) -> Spec {
        Spec {
            requirements,
            facts: (requirements / 10).max(5),
            rules: (requirements / 100).clamp(4, 100),
            seed: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

/// xorshift64*: small, fast, and good enough to scatter choices.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            0x2545_f491_4f6c_dd1d
        } else {
            seed
        })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        // The modulo bias is irrelevant here.
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Int,
    Float,
    Duration,
    Percent,
    Bool,
}

const TYPES: [Ty; 5] = [Ty::Int, Ty::Float, Ty::Duration, Ty::Percent, Ty::Bool];
const NAMESPACES: [&str; 6] = ["app", "svc", "perf", "qa", "ops", "sec"];
const RUNGS: [(&str, &str); 4] = [
    ("local_compose", "Local Docker Compose"),
    ("local_k8s", "Local Kubernetes"),
    ("cloud_staging", "Cloud Staging"),
    ("cloud_prod", "Cloud Production"),
];

struct Fact {
    path: String,
    ty: Ty,
}

struct Gen {
    rng: XorShift,
    facts: Vec<Fact>,
    /// Indices into `facts`, per type, in `TYPES` order.
    by_type: [Vec<usize>; 5],
    rules: usize,
}

fn type_index(ty: Ty) -> usize {
    match ty {
        Ty::Int => 0,
        Ty::Float => 1,
        Ty::Duration => 2,
        Ty::Percent => 3,
        Ty::Bool => 4,
    }
}

fn type_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Int => "int",
        Ty::Float => "float",
        Ty::Duration => "duration",
        Ty::Percent => "percent",
        Ty::Bool => "bool",
    }
}

impl Gen {
    fn fact_of(&mut self, ty: Ty) -> usize {
        let list = &self.by_type[type_index(ty)];
        list[self.rng.below(list.len())]
    }

    fn constant(&mut self, ty: Ty, out: &mut String) {
        let r = &mut self.rng;
        let _ = match ty {
            Ty::Int => write!(out, "{}", r.below(1000)),
            Ty::Float => write!(out, "{}.{}", r.below(100), r.below(100)),
            Ty::Duration => {
                let unit = *r.pick(&["ms", "s", "m", "h"]);
                write!(out, "{}{unit}", 1 + r.below(500))
            }
            Ty::Percent => write!(out, "{}.{}%", r.below(10), r.below(10)),
            Ty::Bool => write!(out, "{}", r.chance(50)),
        };
    }

    fn order_op(&mut self) -> &'static str {
        const OPS: [&str; 6] = ["<", "<=", ">", ">=", "==", "!="];
        OPS[self.rng.below(OPS.len())]
    }

    /// One comparison (or a bool operand) over a random fact.
    fn atom(&mut self, out: &mut String) {
        let roll = self.rng.below(100);
        if roll < 3 && self.rules > 0 {
            let _ = write!(out, "rule_{}", self.rng.below(self.rules));
            return;
        }
        if roll < 5 {
            let d = self.fact_of(Ty::Duration);
            let _ = write!(out, "within({}, ", self.facts[d].path);
            self.constant(Ty::Duration, out);
            out.push(')');
            return;
        }
        if roll < 6 {
            out.push_str("(len(k8s.pods) > 0 and all pod in k8s.pods: pod.ready)");
            return;
        }
        if roll < 7 {
            out.push_str("pci.passed");
            return;
        }
        let ty = *self.rng.pick(&TYPES);
        let f = self.fact_of(ty);
        let path = self.facts[f].path.clone();
        match ty {
            Ty::Bool => match self.rng.below(3) {
                0 => out.push_str(&path),
                1 => {
                    let _ = write!(out, "not {path}");
                }
                _ => {
                    let _ = write!(out, "{path} == ");
                    self.constant(Ty::Bool, out);
                }
            },
            Ty::Duration if self.rng.chance(15) => {
                // Compare with another duration scaled by a percentage.
                let g = self.fact_of(Ty::Duration);
                let _ = write!(
                    out,
                    "{path} <= {} * {}%",
                    self.facts[g].path,
                    100 + self.rng.below(50)
                );
            }
            Ty::Int if self.rng.chance(15) => {
                let g = self.fact_of(Ty::Int);
                let op = self.order_op();
                let _ = write!(out, "{path} + {} {op} ", self.facts[g].path);
                self.constant(Ty::Int, out);
            }
            _ => {
                let op = self.order_op();
                let _ = write!(out, "{path} {op} ");
                self.constant(ty, out);
            }
        }
    }

    /// 1–4 atoms joined by `and` / `or`, sometimes negated or grouped.
    fn condition(&mut self, out: &mut String) {
        let n = 1 + self.rng.below(4);
        let negate = self.rng.chance(10);
        if negate {
            out.push_str("not (");
        }
        let group_from = if n >= 3 && self.rng.chance(30) {
            Some(1)
        } else {
            None
        };
        for i in 0..n {
            if i > 0 {
                out.push_str(if self.rng.chance(70) { " and " } else { " or " });
            }
            if group_from == Some(i) {
                out.push('(');
            }
            self.atom(out);
        }
        if group_from.is_some() {
            out.push(')');
        }
        if negate {
            out.push(')');
        }
    }
}

/// Generates one policy file.
pub fn generate(spec: &Spec) -> String {
    let fact_count = spec.facts.max(TYPES.len());
    let mut g = Gen {
        rng: XorShift::new(spec.seed),
        facts: Vec::with_capacity(fact_count),
        by_type: Default::default(),
        rules: spec.rules,
    };
    // Facts first; every type occurs at least once.
    for i in 0..fact_count {
        let ty = if i < TYPES.len() {
            TYPES[i]
        } else {
            *g.rng.pick(&TYPES)
        };
        let ns = NAMESPACES[i % NAMESPACES.len()];
        g.by_type[type_index(ty)].push(i);
        g.facts.push(Fact {
            path: format!("{ns}.m{i:05}.{}", type_name(ty)),
            ty,
        });
    }

    let mut out = String::with_capacity(64 * (spec.requirements + fact_count) + 4096);
    out.push_str("// Generated by compiler/benches/support/policy_gen.rs; do not edit.\n");
    out.push_str("policy generated\n\nladder {\n");
    for (name, label) in RUNGS {
        let _ = writeln!(out, "  {name} \"{label}\"");
    }
    out.push_str("}\n\n");

    for f in &g.facts {
        let _ = writeln!(out, "fact {}: {}", f.path, type_name(f.ty));
    }
    out.push_str("\ncheck pci = plugin \"pci-scan\" { level: \"strict\", retries: 3 }\n\n");

    out.push_str("rule within(x: duration, limit: duration) = x <= limit\n");
    out.push_str("rule at_least(x: int, floor: int) = x >= floor\n");
    for i in 0..spec.rules {
        let _ = write!(out, "rule rule_{i} = ");
        // Rules only read facts (and earlier rules), so there is no recursion.
        let saved = g.rules;
        g.rules = i;
        g.condition(&mut out);
        g.rules = saved;
        out.push('\n');
    }
    out.push('\n');

    let gates = RUNGS.len() - 1;
    for gate in 0..gates {
        let _ = writeln!(out, "gate {} -> {} {{", RUNGS[gate].0, RUNGS[gate + 1].0);
        let from = spec.requirements * gate / gates;
        let to = spec.requirements * (gate + 1) / gates;
        for r in from..to {
            let kind = if g.rng.chance(80) { "require" } else { "warn" };
            let severity = match g.rng.below(10) {
                0 => " critical",
                1 => " warning",
                2 => " info",
                _ => "",
            };
            let _ = write!(out, "  {kind}{severity} \"requirement {r:05}\": ");
            if g.rng.chance(2) {
                let i = g.fact_of(Ty::Int);
                let _ = write!(out, "at_least({}, {})", g.facts[i].path, g.rng.below(10));
            } else {
                g.condition(&mut out);
            }
            out.push('\n');
        }
        out.push_str("}\n\n");
    }

    let quota = g.fact_of(Ty::Float);
    let limit = g.fact_of(Ty::Float);
    let (quota, limit) = (g.facts[quota].path.clone(), g.facts[limit].path.clone());
    let _ = write!(
        out,
        "escalate \"Cloud cost/quota blocker\" when {quota} >= {limit} * 90% {{\n  \
         severity critical\n  \
         context \"{{{quota}}} of {{{limit}}} used\"\n  \
         impact \"{{feature.name}} cannot scale in {{target}}\"\n  \
         option \"Request a quota increase\": \"lead time of days\"\n  \
         option \"Shrink the node pool\": \"less realistic load tests\"\n  \
         recommend 1: \"keeps parity with production\"\n}}\n\n"
    );
    out.push_str("escalate \"Security-sensitive change\" when ");
    g.condition(&mut out);
    out.push_str(
        " {\n  context \"{feature.name} changes {target}\"\n  \
         impact \"needs review\"\n  \
         option \"Review now\": \"slower\"\n  \
         option \"Ship behind a flag\": \"more risk\"\n  \
         recommend 2: \"keeps the deadline\"\n}\n\n",
    );

    out.push_str("checklist {\n");
    for i in 0..13 {
        let _ = write!(out, "  \"checklist item {i}\": ");
        g.condition(&mut out);
        out.push('\n');
    }
    out.push_str("}\n");
    out
}
