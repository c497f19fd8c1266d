//! source ─parse→ ast: the pest grammar and one `lower_<rule>` function per grammar rule.
//!
//! `Rule` and `Pair` stay inside this module; callers get an [`ast::Module`] or diagnostics.

mod expr;
mod scan;
mod string;

use std::sync::Arc;

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use crate::ast::{
    self, ChecklistItem, ConfigItem, EscalateDecl, EscalateItem, EscalateItemKind, FactDecl,
    FieldType, FileId, GateBody, GateDecl, Ident, Item, ItemKind, Param, ReqKind, Requirement,
    RuleDecl, RungDecl, ScalarType, Severity, Span, TypeExpr, TypeExprKind,
};
use crate::diag::{Code, Diagnostic, Diagnostics};

#[derive(pest_derive::Parser)]
#[grammar = "parser/phasev.pest"]
struct Grammar;

/// Parses one file. On failure every diagnostic found is returned (a syntax error stops the
/// file at its first error; bad literals and strings are all collected).
///
/// A large file is parsed in regions of whole declarations, one thread each; if any region
/// has a syntax error the file is parsed again as one, so errors read exactly as they would.
pub fn parse(file: FileId, text: &str) -> Result<ast::Module, Diagnostics> {
    let count = region_count(text.len());
    let levels = if count > 1 {
        match parse_regions(file, text, count).map_err(|r| refused(file, r))? {
            Pieces::Regions(parsed) => {
                let mut items = Vec::new();
                let mut diags = Diagnostics::default();
                for (region_items, region_diags) in parsed {
                    items.extend(region_items);
                    diags.extend(region_diags);
                }
                return finish(file, items, diags);
            }
            Pieces::Whole { levels } => levels,
        }
    } else {
        scan::deepest(text).map_err(|r| refused(file, r))?
    };
    let (items, diags) = on_stack(file, levels, || {
        parse_region(file, text, 0, text.len()).map_err(|err| {
            let mut diags = Diagnostics::default();
            diags.push(syntax_error(file, text, &err));
            diags
        })
    })??;
    finish(file, items, diags)
}

/// What [`parse_regions`] parsed.
enum Pieces {
    /// The items and diagnostics of each region, in order.
    Regions(Vec<(Vec<Item>, Diagnostics)>),
    /// The file is to be parsed in one piece: it is one region, a region has a syntax error,
    /// or a thread could not start. `levels` is the deepest nesting of any declaration.
    Whole { levels: usize },
}

/// Parses `text` in up to `count` regions, each on its own thread, started as soon as the scan
/// has found where the region ends: the scan of the rest goes on beside the first regions'
/// parsing instead of before it.
fn parse_regions(file: FileId, text: &str, count: usize) -> Result<Pieces, scan::Refusal> {
    std::thread::scope(|scope| {
        let mut regions = scan::Regions::new(text.len(), count);
        let mut handles = Vec::new();
        let mut levels = 0;
        // After a refusal, the threads already started are still joined (their items unused).
        scan::declarations(text, |decl, end| {
            levels = levels.max(decl.levels);
            match regions.add(decl, end) {
                Some((0, end, _)) if end == text.len() => {}
                Some((start, end, region_levels)) => handles.push(
                    stack_for(region_levels)
                        .spawn_scoped(scope, move || parse_region(file, text, start, end)),
                ),
                None => {}
            }
        })?;
        if handles.is_empty() {
            return Ok(Pieces::Whole { levels });
        }
        let parsed = handles
            .into_iter()
            .map(|h| h.ok().and_then(|h| join(h).ok()))
            .collect::<Option<Vec<_>>>();
        Ok(parsed.map_or(Pieces::Whole { levels }, Pieces::Regions))
    })
}

fn finish(file: FileId, items: Vec<Item>, diags: Diagnostics) -> Result<ast::Module, Diagnostics> {
    if diags.is_empty() {
        Ok(ast::Module { file, items })
    } else {
        Err(diags)
    }
}

/// Parses `text[start..end]`, a run of whole declarations, into items and the diagnostics of
/// lowering them (bad literals, reserved words).
fn parse_region(
    file: FileId,
    text: &str,
    start: usize,
    end: usize,
) -> Result<(Vec<Item>, Diagnostics), Box<pest::error::Error<Rule>>> {
    let region = text.get(start..end).unwrap_or_default();
    let pairs = if start == 0 && end == text.len() {
        parse_rule(Rule::file, region)?
    } else {
        Grammar::parse(Rule::file, region).map_err(Box::new)?
    };
    let mut cx = Cx::new(file, start);
    let mut items = Vec::new();
    for pair in pairs.flatten().take(1).flat_map(Pair::into_inner) {
        if pair.as_rule() != Rule::EOI {
            items.push(cx.lower_item(pair));
        }
    }
    Ok((items, cx.diags))
}

/// Parses a single expression (for tests, the fuzzer and tools).
pub fn parse_expr(file: FileId, text: &str) -> Result<ast::Expr, Diagnostics> {
    let levels = scan::deepest(text).map_err(|r| refused(file, r))?;
    on_stack(file, levels, || {
        let mut cx = Cx::new(file, 0);
        let pair = match parse_rule(Rule::standalone_expr, text) {
            Ok(mut pairs) => pairs.next().and_then(|p| p.into_inner().next()),
            Err(err) => {
                cx.diags.push(syntax_error(file, text, &err));
                return Err(cx.diags);
            }
        };
        let Some(pair) = pair else {
            cx.diags.push(Diagnostic::new(
                Code::Syntax,
                Span::new(file, 0, 0),
                "expected an expression",
            ));
            return Err(cx.diags);
        };
        let expr = cx.lower_expr(pair);
        if cx.diags.is_empty() {
            Ok(expr)
        } else {
            Err(cx.diags)
        }
    })?
}

/// Files smaller than this are parsed in one piece: a thread costs more than it saves.
const REGION_BYTES: usize = 64 * 1024;
/// Regions (threads) per file at most.
const MAX_REGIONS: usize = 8;
/// Nesting this shallow is parsed on the caller's thread (a few hundred KiB of stack at
/// most, even unoptimised).
const INLINE_LEVELS: usize = 32;
/// Stack for lowering and pest's fixed depth, and per counted level: pest takes under 4 KiB
/// per level in an unoptimised build, under 1 KiB optimised.
const STACK_BASE: usize = 4 << 20;
const STACK_PER_LEVEL: usize = 16 << 10;

/// Regions cut at declarations are uneven (a policy may be three large gates), so a large file
/// gets a few regions per core and the scheduler evens the load.
fn region_count(len: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    (cores * 4).min(len / REGION_BYTES).clamp(1, MAX_REGIONS)
}

fn stack_for(levels: usize) -> std::thread::Builder {
    let size = STACK_BASE.saturating_add(levels.saturating_mul(STACK_PER_LEVEL));
    std::thread::Builder::new()
        .name("phasev-parse".to_owned())
        .stack_size(size)
}

/// Runs `f` where pest can recurse `levels` deep: right here when that is shallow, else on a
/// thread with a stack sized for it.
fn on_stack<T: Send>(
    file: FileId,
    levels: usize,
    f: impl FnOnce() -> T + Send,
) -> Result<T, Diagnostics> {
    if levels <= INLINE_LEVELS {
        return Ok(f());
    }
    std::thread::scope(|scope| match stack_for(levels).spawn_scoped(scope, f) {
        Ok(handle) => Ok(join(handle)),
        Err(err) => {
            let mut diags = Diagnostics::default();
            diags.push(
                Diagnostic::new(
                    Code::Syntax,
                    Span::new(file, 0, 0),
                    format!("cannot start the parser: {err}"),
                )
                .help("the file nests too deeply for the memory available"),
            );
            Err(diags)
        }
    })
}

/// The value of a parser thread; a panic in it (a bug) continues in the caller.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

fn refused(file: FileId, refusal: scan::Refusal) -> Diagnostics {
    let mut diags = Diagnostics::default();
    diags.push(match refusal {
        scan::Refusal::TooDeep(at) => too_deep(Span::new(file, at, at + 1)),
        scan::Refusal::TooManyNestingWords(at) => Diagnostic::new(
            Code::Syntax,
            Span::new(file, at, at + 1),
            format!(
                "declaration is too complex: more than {} `if`s and quantifiers",
                scan::MAX_NESTING_WORDS
            ),
        )
        .label("one too many")
        .help("split it into several rules or gates"),
    });
    diags
}

/// Parses without pest's error detail (which records every attempt and costs more than half
/// of the parse); on failure parses again with it, to name what was expected.
fn parse_rule(
    rule: Rule,
    text: &str,
) -> Result<pest::iterators::Pairs<'_, Rule>, Box<pest::error::Error<Rule>>> {
    pest::set_error_detail(false);
    match Grammar::parse(rule, text) {
        Ok(pairs) => Ok(pairs),
        Err(quick) => {
            pest::set_error_detail(true);
            let detailed = Grammar::parse(rule, text).err().unwrap_or(quick);
            pest::set_error_detail(false);
            Err(Box::new(detailed))
        }
    }
}

fn syntax_error(file: FileId, text: &str, err: &pest::error::Error<Rule>) -> Diagnostic {
    let (mut start, _) = match err.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let positives = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives,
        // pest's only custom errors are its own limits; the stack limit means deep nesting.
        ErrorVariant::CustomError { message } => {
            let end = text.len().min(start + 1);
            return too_deep(Span::new(file, start, end)).maybe_help(
                (!message.contains("stack")).then(|| format!("the parser stopped: {message}")),
            );
        }
    };
    let mut expected = expected_names(positives);
    // With error detail on, pest also records the literal tokens tried at the furthest
    // position, which names what is missing (`->`, `:`, `}`) instead of the enclosing rule.
    if let Some(attempts) = err.parse_attempts() {
        let mut names: Vec<String> = attempts
            .expected_tokens()
            .iter()
            .map(ToString::to_string)
            .filter(|t| !is_noise(t))
            .map(|t| format!("`{t}`"))
            .collect();
        for stack in attempts.call_stacks() {
            names.extend(stack.parent.and_then(rule_name).map(str::to_owned));
        }
        if !names.is_empty() {
            start = attempts.max_position;
            expected = condense(names);
        }
    }
    expected.sort_unstable();
    expected.dedup();
    let expected = match expected.as_slice() {
        [] => "something else".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    let found = text
        .get(start..)
        .and_then(|rest| rest.split_whitespace().next())
        .map_or("end of file".to_owned(), |tok| {
            format!("`{}`", tok.chars().take(24).collect::<String>())
        });
    let end = text
        .get(start..)
        .and_then(|rest| rest.chars().next())
        .map_or(start, |c| start + c.len_utf8());
    Diagnostic::new(
        Code::Syntax,
        Span::new(file, start, end),
        format!("expected {expected}, found {found}"),
    )
    .label(format!("expected {expected}"))
    .help("see the language guide (docs/language.md), or `phasevc explain phasev::parse::syntax`")
}

/// Words the grammar gives a meaning to, which therefore cannot name anything.
const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "all", "any", "none", "count", "if", "then", "else", "true", "false",
];

/// An expression holds at most this many nesting levels and operators; more is refused
/// before it can exhaust the stack of a later pass (all of which recurse over expressions).
pub const MAX_NESTING: usize = 256;

fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        span,
        format!("expression is too complex: more than {MAX_NESTING} nesting levels and operators"),
    )
    .label("too complex")
    .help("split the expression into named rules")
}

/// Expected tokens that would not help a reader: whitespace, comments, and character ranges
/// other than digits and letters (pest shows a range as `a..z`).
fn is_noise(token: &str) -> bool {
    let mut chars = token.chars();
    let range_start = match (chars.next(), chars.next(), chars.next(), chars.next()) {
        (Some(start), Some('.'), Some('.'), Some(_)) if chars.next().is_none() => Some(start),
        _ => None,
    };
    token.trim().is_empty()
        || token == "//"
        || token == "\\"
        || range_start.is_some_and(|c| !matches!(c, '0' | 'a' | 'A'))
}

/// Folds the token sets that mean "an expression", "an operator" or "a name" into those words.
fn condense(mut tokens: Vec<String>) -> Vec<String> {
    const EXPRESSION: &[&str] = &[
        "`\"`", "`(`", "`-`", "`0..9`", "`[`", "`all`", "`any`", "`count`", "`false`", "`if`",
        "`none`", "`not`", "`true`",
    ];
    // `(` and `.` after an operand are a call and a field, close enough to operators here.
    const OPERATOR: &[&str] = &[
        "`!=`", "`*`", "`+`", "`-`", "`/`", "`<=`", "`<`", "`==`", "`>=`", "`>`", "`and`", "`in`",
        "`or`", "`.`", "`(`",
    ];
    const NAME: &[&str] = &["`A..Z`", "`a..z`", "`_`"];
    for (marker, set, word) in [
        ("`0..9`", EXPRESSION, "an expression"),
        ("`==`", OPERATOR, "an operator"),
        ("`a..z`", NAME, "a name"),
    ] {
        if tokens.iter().any(|t| t == marker) {
            tokens.retain(|t| !set.contains(&t.as_str()) && !NAME.contains(&t.as_str()));
            tokens.push(word.to_owned());
        }
    }
    tokens
}

fn expected_names(rules: &[Rule]) -> Vec<String> {
    rules
        .iter()
        .filter_map(|r| rule_name(*r))
        .map(str::to_owned)
        .collect()
}

/// What a user calls each grammar rule, for "expected …" messages.
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::policy_decl
        | Rule::import_decl
        | Rule::ladder_decl
        | Rule::fact_decl
        | Rule::rule_decl
        | Rule::check_decl
        | Rule::gate_decl
        | Rule::escalate_decl
        | Rule::checklist_decl => {
            "a declaration (policy, import, ladder, fact, rule, check, gate, escalate, checklist)"
        }
        Rule::rung_decl => "a rung name",
        Rule::gate_item | Rule::gate_kind => "`require` or `warn`",
        Rule::severity => "a severity (critical, warning, info)",
        Rule::esc_severity
        | Rule::esc_context
        | Rule::esc_impact
        | Rule::esc_option
        | Rule::esc_recommend => "`context`, `impact`, `option`, `recommend` or `severity`",
        Rule::checklist_item | Rule::string | Rule::string_body => "a string",
        Rule::scalar_type | Rule::list_type | Rule::record_type => "a type",
        Rule::field_type | Rule::param | Rule::config_item => "a name",
        Rule::ident | Rule::path | Rule::word | Rule::name => "a name",
        Rule::expr
        | Rule::postfixed
        | Rule::quantifier
        | Rule::conditional
        | Rule::list_lit
        | Rule::number
        | Rule::int
        | Rule::boolean
        | Rule::prefix_op => "an expression",
        Rule::infix_op => "an operator",
        Rule::field => "`.`",
        Rule::args => "`(`",
        Rule::params => "`(`",
        Rule::config => "`{`",
        Rule::kw_in => "`in`",
        Rule::kw_then => "`then`",
        Rule::kw_else => "`else`",
        _ => return None,
    })
}

struct Cx<'i> {
    file: FileId,
    /// Where the text pest saw starts in the file.
    base: usize,
    diags: Diagnostics,
    /// Expressions being lowered right now, for [`MAX_NESTING`].
    depth: usize,
    /// Every distinct name read so far, shared by the [`Ident`]s that spell it.
    names: FxHashSet<Arc<str>>,
    /// The names of the segments of every dotted name read so far (`tests.unit.failed`):
    /// one lookup per path instead of one per segment.
    paths: FxHashMap<&'i str, SmallVec<[Arc<str>; 3]>>,
}

impl<'i> Cx<'i> {
    fn new(file: FileId, base: usize) -> Cx<'i> {
        Cx {
            file,
            base,
            diags: Diagnostics::default(),
            depth: 0,
            names: FxHashSet::default(),
            paths: FxHashMap::default(),
        }
    }

    /// A pair's span. The grammar puts whitespace only before tokens, so a pair ends at its
    /// last token.
    fn span(&self, pair: &Pair<'i, Rule>) -> Span {
        let span = pair.as_span();
        Span::new(self.file, self.base + span.start(), self.base + span.end())
    }

    /// A name being declared or referred to; reserved words are refused.
    fn lower_ident(&mut self, pair: Pair<'i, Rule>) -> Ident {
        let ident = self.lower_word(pair);
        self.refuse_reserved(&ident);
        ident
    }

    /// A field name after `.`, where reserved words are fine (`deps.count`).
    fn lower_word(&mut self, pair: Pair<'i, Rule>) -> Ident {
        Ident {
            name: self.name(pair.as_str()),
            span: self.span(&pair),
        }
    }

    /// The shared spelling of a name.
    fn name(&mut self, text: &str) -> Arc<str> {
        shared_name(&mut self.names, text)
    }

    fn refuse_reserved(&mut self, ident: &Ident) {
        if RESERVED.contains(&&*ident.name) {
            self.diags.push(
                Diagnostic::new(
                    Code::Syntax,
                    ident.span,
                    format!(
                        "`{}` is a reserved word and cannot be used as a name",
                        ident.name
                    ),
                )
                .label("reserved word")
                .help(format!(
                    "choose another name; reserved: {}",
                    RESERVED.join(", ")
                )),
            );
        }
    }

    fn lower_path(&mut self, pair: Pair<'i, Rule>) -> ast::Path {
        let span = self.span(&pair);
        let segments = pair
            .into_inner()
            .map(|p| {
                if p.as_rule() == Rule::ident {
                    self.lower_ident(p)
                } else {
                    self.lower_word(p)
                }
            })
            .collect();
        ast::Path { segments, span }
    }

    fn lower_item(&mut self, pair: Pair<'i, Rule>) -> Item {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let kind = match rule {
            Rule::policy_decl => ItemKind::Policy(self.lower_ident(next(&mut inner))),
            Rule::import_decl => ItemKind::Import(self.lower_string(next(&mut inner))),
            Rule::ladder_decl => ItemKind::Ladder(inner.map(|p| self.lower_rung_decl(p)).collect()),
            Rule::fact_decl => {
                let path = self.lower_path(next(&mut inner));
                let ty = self.lower_type(next(&mut inner));
                let range = inner.next().map(|r| self.lower_fact_range(r));
                ItemKind::Fact(FactDecl { path, ty, range })
            }
            Rule::rule_decl => ItemKind::Rule(self.lower_rule_decl(inner)),
            Rule::check_decl => {
                let name = self.lower_ident(next(&mut inner));
                let plugin = self.lower_string(next(&mut inner));
                let config = inner
                    .flat_map(Pair::into_inner)
                    .map(|item| self.lower_config_item(item))
                    .collect();
                ItemKind::Check(ast::CheckDecl {
                    name,
                    plugin,
                    config,
                })
            }
            Rule::gate_decl => {
                let from = self.lower_ident(next(&mut inner));
                let to = self.lower_ident(next(&mut inner));
                let mut inner = inner.peekable();
                let body = if inner.peek().is_some_and(|p| p.as_rule() == Rule::gate_open) {
                    GateBody::Open
                } else {
                    GateBody::Requirements(inner.map(|p| self.lower_gate_item(p)).collect())
                };
                ItemKind::Gate(GateDecl { from, to, body })
            }
            Rule::escalate_decl => {
                let title = self.lower_string(next(&mut inner));
                let when = self.lower_expr(next(&mut inner));
                let items = inner.map(|p| self.lower_escalate_item(p)).collect();
                ItemKind::Escalate(EscalateDecl { title, when, items })
            }
            Rule::checklist_decl => {
                ItemKind::Checklist(inner.map(|p| self.lower_checklist_item(p)).collect())
            }
            _ => unreachable_rule(rule),
        };
        Item { kind, span }
    }

    fn lower_rung_decl(&mut self, pair: Pair<'i, Rule>) -> RungDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.lower_ident(next(&mut inner));
        let label = inner.next().map(|p| self.lower_string(p));
        RungDecl { name, label, span }
    }

    fn lower_rule_decl(&mut self, mut inner: pest::iterators::Pairs<'i, Rule>) -> RuleDecl {
        let name = self.lower_ident(next(&mut inner));
        let mut params = Vec::new();
        let mut body = None;
        for pair in inner {
            match pair.as_rule() {
                Rule::params => {
                    for param in pair.into_inner() {
                        let mut p = param.into_inner();
                        let name = self.lower_ident(next(&mut p));
                        let ty = p.next().map(|t| self.lower_type(t));
                        params.push(Param { name, ty });
                    }
                }
                _ => body = Some(self.lower_expr(pair)),
            }
        }
        RuleDecl {
            body: body.unwrap_or_else(|| placeholder(name.span)),
            name,
            params,
        }
    }

    fn lower_config_item(&mut self, pair: Pair<'i, Rule>) -> ConfigItem {
        let mut inner = pair.into_inner();
        let key = self.lower_ident(next(&mut inner));
        let value = self.lower_expr(next(&mut inner));
        ConfigItem { key, value }
    }

    fn lower_gate_item(&mut self, pair: Pair<'i, Rule>) -> Requirement {
        let span = self.span(&pair);
        let mut kind = ReqKind::Require;
        let mut severity = None;
        let mut name = None;
        let mut expr = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::gate_kind => {
                    kind = if p.as_str() == "warn" {
                        ReqKind::Warn
                    } else {
                        ReqKind::Require
                    }
                }
                Rule::severity => severity = Some(lower_severity(p.as_str())),
                Rule::string => name = Some(self.lower_string(p)),
                _ => expr = Some(self.lower_expr(p)),
            }
        }
        Requirement {
            kind,
            severity,
            name: name.unwrap_or_else(|| empty_string(span)),
            expr: expr.unwrap_or_else(|| placeholder(span)),
            span,
        }
    }

    fn lower_escalate_item(&mut self, pair: Pair<'i, Rule>) -> EscalateItem {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let kind = match rule {
            Rule::esc_severity => {
                EscalateItemKind::Severity(lower_severity(next(&mut inner).as_str()))
            }
            Rule::esc_context => EscalateItemKind::Context(self.lower_string(next(&mut inner))),
            Rule::esc_impact => EscalateItemKind::Impact(self.lower_string(next(&mut inner))),
            Rule::esc_option => {
                let title = self.lower_string(next(&mut inner));
                let tradeoff = self.lower_string(next(&mut inner));
                EscalateItemKind::Option { title, tradeoff }
            }
            Rule::esc_recommend => {
                let num = next(&mut inner);
                let num_span = self.span(&num);
                let option = num.as_str().parse::<u32>().unwrap_or_else(|_| {
                    self.diags.push(
                        Diagnostic::new(Code::BadLiteral, num_span, "option number is too large")
                            .label("not an option number")
                            .help("options are numbered from 1 in the order they are written"),
                    );
                    0
                });
                let reason = self.lower_string(next(&mut inner));
                EscalateItemKind::Recommend { option, reason }
            }
            _ => unreachable_rule(rule),
        };
        EscalateItem { kind, span }
    }

    fn lower_checklist_item(&mut self, pair: Pair<'i, Rule>) -> ChecklistItem {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let label = self.lower_string(next(&mut inner));
        let expr = self.lower_expr(next(&mut inner));
        ChecklistItem { label, expr, span }
    }

    fn lower_fact_range(&mut self, pair: Pair<'i, Rule>) -> ast::FactRange {
        let span = self.span(&pair);
        let mut range = ast::FactRange {
            low: None,
            high: None,
            span,
        };
        for bound in pair.into_inner() {
            let high = bound.as_rule() == Rule::range_high;
            let span = self.span(&bound);
            let mut parts = bound.into_inner();
            let mut number = next(&mut parts);
            let negative = number.as_rule() == Rule::range_minus;
            if negative {
                number = next(&mut parts);
            }
            let literal = ast::Expr {
                kind: self.lower_number(self.span(&number), number.as_str()),
                span: self.span(&number),
            };
            let expr = if negative {
                ast::Expr {
                    kind: ast::ExprKind::Unary(ast::UnaryOp::Neg, Box::new(literal)),
                    span,
                }
            } else {
                literal
            };
            if high {
                range.high = Some(expr);
            } else {
                range.low = Some(expr);
            }
        }
        range
    }

    fn lower_type(&mut self, pair: Pair<'i, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::scalar_type => TypeExprKind::Scalar(match pair.as_str() {
                "bool" => ScalarType::Bool,
                "int" => ScalarType::Int,
                "float" => ScalarType::Float,
                "string" => ScalarType::String,
                "duration" => ScalarType::Duration,
                "percent" => ScalarType::Percent,
                "rung" => ScalarType::Rung,
                _ => ScalarType::Date,
            }),
            Rule::list_type => {
                let elem = self.lower_type(next(&mut pair.into_inner()));
                TypeExprKind::List(Box::new(elem))
            }
            _ => TypeExprKind::Record(
                pair.into_inner()
                    .map(|field| {
                        let mut f = field.into_inner();
                        let name = self.lower_ident(next(&mut f));
                        let ty = self.lower_type(next(&mut f));
                        FieldType { name, ty }
                    })
                    .collect(),
            ),
        };
        TypeExpr { kind, span }
    }
}

/// The spelling of `text` in `names`, added on first use.
fn shared_name(names: &mut FxHashSet<Arc<str>>, text: &str) -> Arc<str> {
    if let Some(name) = names.get(text) {
        return Arc::clone(name);
    }
    let name: Arc<str> = Arc::from(text);
    names.insert(Arc::clone(&name));
    name
}

fn lower_severity(text: &str) -> Severity {
    match text {
        "critical" => Severity::Critical,
        "warning" => Severity::Warning,
        _ => Severity::Info,
    }
}

/// The next child of a pair whose grammar rule guarantees it; a missing child is a bug in
/// the grammar or in this module.
fn next<'i>(inner: &mut impl Iterator<Item = Pair<'i, Rule>>) -> Pair<'i, Rule> {
    match inner.next() {
        Some(p) => p,
        None => unreachable_rule(Rule::EOI),
    }
}

#[expect(
    clippy::panic,
    reason = "the grammar guarantees the rule set; this marks a bug in it"
)]
fn unreachable_rule(rule: Rule) -> ! {
    panic!("phasev parser bug: unexpected grammar rule {rule:?}")
}

fn placeholder(span: Span) -> ast::Expr {
    ast::Expr {
        kind: ast::ExprKind::Bool(false),
        span,
    }
}

fn empty_string(span: Span) -> ast::StrLit {
    ast::StrLit {
        parts: Vec::new(),
        span,
    }
}

#[cfg(test)]
mod tests;
