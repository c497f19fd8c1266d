// The TextMate grammar, tokenised as VS Code does (vscode-textmate over the Oniguruma engine):
// every policy of the repository (the valid corpus, the standard policy, the demo) tokenises
// without an `invalid` scope, chosen tokens get exactly their scopes, characters the language
// does not have are flagged, and the language configuration agrees with the grammar. Exits 1,
// naming file, line and token, on any failure.
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const repo = path.resolve(__dirname, '../../..');
// The grammar as the extension's manifest declares it, so the test reads what VS Code will.
const manifest = require('../package.json');
const declared = manifest.contributes.grammars.find((g) => g.language === 'phasev');
const grammarFile = path.resolve(__dirname, '..', declared.path);

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  const onigLib = oniguruma.loadWASM(wasm).then(() => ({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }));
  const registry = new vsctm.Registry({
    onigLib,
    loadGrammar: async (scopeName) =>
      scopeName === declared.scopeName
        ? vsctm.parseRawGrammar(fs.readFileSync(grammarFile, 'utf8'), grammarFile)
        : null,
  });
  return registry.loadGrammar(declared.scopeName);
}

/** Every token of `text`: its line (1-based), column (1-based), text and scopes. */
function tokenize(grammar, text) {
  const tokens = [];
  let stack = vsctm.INITIAL;
  text.split(/\r?\n/).forEach((line, i) => {
    const result = grammar.tokenizeLine(line, stack);
    for (const t of result.tokens) {
      tokens.push({
        line: i + 1,
        column: t.startIndex + 1,
        text: line.slice(t.startIndex, t.endIndex),
        scopes: t.scopes,
      });
    }
    stack = result.ruleStack;
  });
  return tokens;
}

function invalidTokens(tokens) {
  return tokens.filter((t) => t.scopes.some((s) => s.startsWith('invalid')));
}

/** The policies of the repository: tests/corpus/valid, policies/ and demo/ (recursively). */
function policies() {
  const phasev = (dir, recursive) =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const file = path.join(dir, e.name);
      if (e.isDirectory()) return recursive ? phasev(file, true) : [];
      return e.name.endsWith('.phasev') ? [file] : [];
    });
  return [
    ...phasev(path.join(repo, 'tests/corpus/valid'), false),
    ...phasev(path.join(repo, 'policies'), false),
    ...phasev(path.join(repo, 'demo'), true),
  ].sort();
}

// [source line, token text, its exact scopes]
const EXACT = [
  ['gate local_k8s -> cloud_staging {', 'gate', ['keyword.other.gate.phasev']],
  ['gate local_k8s -> cloud_staging {', 'cloud_staging', ['constant.other.rung.phasev']],
  ['gate qa -> prod open', 'open', ['keyword.other.open.phasev']],
  ['// a comment', ' a comment', ['comment.line.double-slash.phasev']],
  ['x == 1 // why', '//', ['comment.line.double-slash.phasev', 'punctuation.definition.comment.phasev']],
  ['require critical "no secrets": len(secrets.findings) == 0', 'require', ['keyword.other.require.phasev']],
  ['require critical "no secrets": len(secrets.findings) == 0', 'critical', ['storage.modifier.severity.phasev']],
  ['require critical "no secrets": len(secrets.findings) == 0', 'no secrets', ['string.quoted.double.phasev']],
  ['require critical "no secrets": len(secrets.findings) == 0', 'len', ['support.function.builtin.phasev']],
  ['require critical "no secrets": len(secrets.findings) == 0', 'secrets.findings', ['variable.other.path.phasev']],
  ['impact "{feature.name} in {target}"', 'feature.name', ['string.quoted.double.phasev', 'meta.interpolation.phasev', 'variable.other.path.phasev']],
  ['context "a \\" quote"', '\\"', ['string.quoted.double.phasev', 'constant.character.escape.phasev']],
  ['fact team.coverage: int in 0..100', 'team.coverage', ['entity.name.variable.fact.phasev']],
  ['fact team.coverage: int in 0..100', 'int', ['support.type.primitive.phasev']],
  ['fact team.coverage: int in 0..100', '..', ['keyword.operator.range.phasev']],
  ['fact team.coverage: int in 0..100', '100', ['constant.numeric.integer.phasev']],
  ['rule healthy(pod) = pod.ready', 'healthy', ['entity.name.function.phasev']],
  ['x <= 250ms and y < 0.1% or d >= 2026-12-01', '250ms', ['constant.numeric.duration.phasev']],
  ['x <= 250ms and y < 0.1% or d >= 2026-12-01', '0.1%', ['constant.numeric.percent.phasev']],
  ['x <= 250ms and y < 0.1% or d >= 2026-12-01', '2026-12-01', ['constant.numeric.date.phasev']],
  ['x <= 250ms and y < 0.1% or d >= 2026-12-01', 'and', ['keyword.operator.logical.phasev']],
  ['all dep in feature.depends_on: dep.stage >= target', 'all', ['keyword.other.quantifier.phasev']],
  ['all dep in feature.depends_on: dep.stage >= target', 'target', ['variable.language.target.phasev']],
  ['  count pod', 'count', ['keyword.other.quantifier.phasev']],
  ['len(deps.count) > 0', 'deps.count', ['variable.other.path.phasev']],
];

// Text the language does not have, and the token that must be flagged.
const INVALID = [
  ['tests.unit.failed == 0 § 1', '§', 'invalid.illegal.character.phasev'],
  ['x != 1 ! y', '!', 'invalid.illegal.character.phasev'],
  ['metrics.latency_p95 < 5min', '5min', 'invalid.illegal.numeric.phasev'],
  ['context "bad \\q escape"', '\\q', 'invalid.illegal.escape.phasev'],
  ['context "{not a path}"', '{not a path}', 'invalid.illegal.interpolation.phasev'],
];

async function main() {
  const grammar = await loadGrammar();
  const failures = [];
  const files = policies();
  for (const file of files) {
    const name = path.relative(repo, file);
    for (const t of invalidTokens(tokenize(grammar, fs.readFileSync(file, 'utf8')))) {
      failures.push(`${name}:${t.line}:${t.column}: \`${t.text}\` is ${t.scopes.join(' ')}`);
    }
  }
  for (const [source, text, scopes] of EXACT) {
    const token = tokenize(grammar, source).find((t) => t.text === text);
    const want = ['source.phasev', ...scopes].join(' ');
    const got = token ? token.scopes.join(' ') : 'no such token';
    if (got !== want) failures.push(`\`${source}\`: \`${text}\` is ${got}, want ${want}`);
  }
  for (const [source, text, scope] of INVALID) {
    const flagged = invalidTokens(tokenize(grammar, source)).map((t) => `${t.text}=${t.scopes.at(-1)}`);
    if (flagged.join(', ') !== `${text}=${scope}`) {
      failures.push(`\`${source}\`: flagged [${flagged.join(', ')}], want [${text}=${scope}]`);
    }
  }
  // The language configuration: a comment toggled with its token is a comment to the grammar,
  // and a word is one segment of a path, which completion (one segment at a time) replaces.
  const language = manifest.contributes.languages.find((l) => l.id === 'phasev');
  const config = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', language.configuration), 'utf8'));
  const commented = tokenize(grammar, `${config.comments.lineComment} gate a -> b {`);
  if (!commented.every((t) => t.scopes.includes('comment.line.double-slash.phasev'))) {
    failures.push(`a line commented with \`${config.comments.lineComment}\` is not a comment`);
  }
  const words = 'tests.unit.fa <= 250ms'.match(new RegExp(config.wordPattern, 'g'));
  if (words.join(' ') !== 'tests unit fa 250ms') {
    failures.push(`wordPattern splits \`tests.unit.fa <= 250ms\` into [${words.join(', ')}]`);
  }
  if (files.length < 3) failures.push(`found only ${files.length} policies under ${repo}`);
  for (const f of failures) console.error(f);
  console.log(
    `grammar: ${files.length} policies, ${EXACT.length} exact and ${INVALID.length} invalid cases: ` +
      (failures.length ? `${failures.length} failures` : 'ok'),
  );
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
