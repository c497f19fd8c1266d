//! `phasevc lsp` as an editor speaks to it: JSON-RPC with Content-Length framing over the
//! stdio of the built binary, every answer compared whole.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

/// A scratch directory under the target dir, fresh for each test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The server under test, and every message it sent that was not yet looked at.
struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
}

impl Client {
    fn start() -> Client {
        Client::start_with(&[])
    }

    /// `phasevc lsp` with more arguments.
    fn start_with(args: &[&Path]) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_phasevc"))
            .arg("lsp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = Some(n.parse::<usize>().unwrap());
                    }
                }
                let mut body = vec![0; length.unwrap()];
                reader.read_exact(&mut body).unwrap();
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            incoming,
            next_id: 0,
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn next(&mut self) -> Value {
        self.incoming
            .recv_timeout(Duration::from_secs(20))
            .expect("the server answers within 20 s")
    }

    /// Sends a request and returns its response, keeping what came before in `skipped`.
    fn request_with(&mut self, method: &str, params: Value, skipped: &mut Vec<Value>) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.next();
            if message["id"] == id {
                return message;
            }
            skipped.push(message);
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let mut skipped = Vec::new();
        let response = self.request_with(method, params, &mut skipped);
        assert_eq!(
            skipped,
            Vec::<Value>::new(),
            "nothing unasked before {method}"
        );
        response
    }

    /// The result of a request that must succeed.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params);
        assert_eq!(response["error"], Value::Null, "{method}: {response}");
        response["result"].clone()
    }

    /// The diagnostics published next, file by file, in the order they came.
    fn published(&mut self, files: usize) -> Vec<(String, Value)> {
        (0..files)
            .map(|_| {
                let message = self.next();
                assert_eq!(message["method"], "textDocument/publishDiagnostics");
                let params = &message["params"];
                (
                    params["uri"].as_str().unwrap().to_owned(),
                    params["diagnostics"].clone(),
                )
            })
            .collect()
    }

    fn initialize(&mut self) {
        let result = self.call("initialize", json!({"capabilities": {}}));
        assert_eq!(result["serverInfo"]["name"], "phasevc");
        assert_eq!(result["capabilities"]["textDocumentSync"], 1);
        assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
        self.notify("initialized", json!({}));
    }

    /// `shutdown` then `exit`; the server must end with 0.
    fn finish(mut self) {
        assert_eq!(self.call("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        let status = self.child.wait().unwrap();
        assert_eq!(status.code(), Some(0));
    }
}

fn at(path: &Path, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri(path)}, "position": {"line": line, "character": character}})
}

fn range(line: u32, start: u32, end: u32) -> Value {
    json!({"start": {"line": line, "character": start}, "end": {"line": line, "character": end}})
}

fn hover_text(client: &mut Client, path: &Path, line: u32, character: u32) -> Value {
    client.call("textDocument/hover", at(path, line, character))["contents"]["value"].clone()
}

fn labels(result: &Value) -> Vec<String> {
    result
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_owned())
        .collect()
}

const LIB: &str = "\
// Shared declarations.
ladder {
  dev \"Développement\"
  prod \"Production\"
}
fact team.coverage: int  // percent of lines covered
rule covered = team.coverage >= 80
";

/// Line 6 has non-ASCII text before the misspelt fact: `é` is 2 bytes and one UTF-16 unit,
/// `😀` 4 bytes and two units, so the fact starts at byte 21 but character 17.
const MAIN: &str = "\
policy p
import \"lib.phasev\"

rule green(failed: int) = failed == 0
gate dev -> prod {
  require \"unit\": green(tests.unit.failed) and covered
  require \"é😀\": tests.unit.faild == 0
  warn \"coverage\": team.coverage > 90
  require \"pci\": pci.passed and len(pci.findings) == 0
}
check pci = plugin \"pci-scan\" { level: \"strict\" }
";

#[test]
fn an_editor_session_gets_exact_answers() {
    let dir = scratch("lsp_session");
    let lib = dir.join("lib.phasev");
    let main = dir.join("main.phasev");
    std::fs::write(&lib, LIB).unwrap();
    std::fs::write(&main, MAIN).unwrap();
    let mut client = Client::start();
    client.initialize();

    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(&main), "languageId": "phasev", "version": 1, "text": MAIN}}),
    );
    let unknown_fact = json!({
        "range": range(6, 17, 33),
        "severity": 1,
        "code": "phasev::check::unknown_fact",
        "source": "phasevc",
        "message": "unknown fact `tests.unit.faild`\nhelp: did you mean `tests.unit.failed`?",
        "data": {"replacement": "tests.unit.failed"},
    });
    assert_eq!(
        client.published(2),
        vec![
            (uri(&lib), json!([])),
            (uri(&main), json!([unknown_fact.clone()])),
        ]
    );

    // Hovering a diagnostic shows its code's explanation, as `phasevc explain` prints it.
    let explain = Command::new(env!("CARGO_BIN_EXE_phasevc"))
        .args(["explain", "unknown_fact"])
        .output()
        .unwrap();
    let explain = String::from_utf8(explain.stdout).unwrap();
    let explain = explain.trim_end().replacen(": ", "**: ", 1);
    assert_eq!(
        client.call("textDocument/hover", at(&main, 6, 20)),
        json!({"contents": {"kind": "markdown", "value": format!("**{explain}")}})
    );

    // The did-you-mean as a quick fix.
    let actions = client.call(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&main)}, "range": range(6, 17, 33),
               "context": {"diagnostics": [unknown_fact.clone()]}}),
    );
    assert_eq!(
        actions,
        json!([{
            "title": "Replace with `tests.unit.failed`",
            "kind": "quickfix",
            "diagnostics": [unknown_fact],
            "edit": {"changes": {uri(&main): [{"range": range(6, 17, 33), "newText": "tests.unit.failed"}]}},
            "isPreferred": true,
        }])
    );

    // Fixing it clears the file's diagnostics.
    let fixed = MAIN.replace("faild", "failed");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri(&main), "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    assert_eq!(
        client.published(2),
        vec![(uri(&lib), json!([])), (uri(&main), json!([]))]
    );

    // Hover: a built-in fact, a declared fact, a rule from the import, a rung, a function.
    assert_eq!(
        hover_text(&mut client, &main, 6, 20),
        "fact `tests.unit.failed: int`\n\nbuilt in; filled from: JUnit XML, per kind of test"
    );
    assert_eq!(
        hover_text(&mut client, &main, 7, 19),
        format!(
            "fact `team.coverage: int`\n\npercent of lines covered\n\ndeclared in `{}` (a facts file or a plugin fills it)",
            lib.display()
        )
    );
    assert_eq!(
        hover_text(&mut client, &main, 5, 49),
        "```phasev\nrule covered = team.coverage >= 80\n```\n\nreturns `bool`"
    );
    assert_eq!(
        hover_text(&mut client, &main, 4, 13),
        "rung `prod` \"Production\": 2 of 2 on the ladder"
    );
    let hover = client.call("textDocument/hover", at(&main, 3, 6));
    assert_eq!(
        hover,
        json!({
            "contents": {"kind": "markdown", "value": "```phasev\nrule green(failed: int) = failed == 0\n```\n\nreturns `bool`"},
            "range": range(3, 5, 10),
        })
    );

    assert_eq!(
        hover_text(&mut client, &main, 8, 18),
        "```phasev\ncheck pci = plugin \"pci-scan\" { level: \"strict\" }\n```\n\noutputs: \
         `pci.passed: bool`, \
         `pci.findings: list<{status: string, message: string, severity: string, location: string}>`"
    );
    assert_eq!(
        hover_text(&mut client, &main, 8, 33),
        "```\nlen(xs: list<T> | string) -> int\n```"
    );

    // Definition: a rule in the imported file, a check, and the import itself.
    assert_eq!(
        client.call("textDocument/definition", at(&main, 8, 18)),
        json!({"uri": uri(&main), "range": range(10, 6, 9)})
    );
    assert_eq!(
        client.call("textDocument/definition", at(&main, 5, 49)),
        json!({"uri": uri(&lib), "range": range(6, 5, 12)})
    );
    assert_eq!(
        client.call("textDocument/definition", at(&main, 1, 10)),
        json!({"uri": uri(&lib), "range": range(0, 0, 0)})
    );

    // A declared fact: its declaration, and every read of it.
    assert_eq!(
        client.call("textDocument/definition", at(&main, 7, 25)),
        json!({"uri": uri(&lib), "range": range(5, 5, 18)})
    );
    assert_eq!(
        client.call(
            "textDocument/references",
            json!({"textDocument": {"uri": uri(&main)}, "position": {"line": 7, "character": 25},
                   "context": {"includeDeclaration": false}}),
        ),
        json!([{"uri": uri(&main), "range": range(7, 19, 32)}, {"uri": uri(&lib), "range": range(6, 15, 28)}])
    );

    // References of a rung, across both files.
    let mut refs = |include: bool| {
        client.call(
            "textDocument/references",
            json!({"textDocument": {"uri": uri(&main)}, "position": {"line": 4, "character": 6},
                   "context": {"includeDeclaration": include}}),
        )
    };
    assert_eq!(
        refs(true),
        json!([{"uri": uri(&lib), "range": range(2, 2, 5)}, {"uri": uri(&main), "range": range(4, 5, 8)}])
    );
    assert_eq!(
        refs(false),
        json!([{"uri": uri(&main), "range": range(4, 5, 8)}])
    );

    // Completion: path segments, then names.
    assert_eq!(
        labels(&client.call("textDocument/completion", at(&main, 6, 24))),
        vec!["unit"]
    );
    assert_eq!(
        labels(&client.call("textDocument/completion", at(&main, 7, 26))),
        vec!["coverage"]
    );
    assert_eq!(
        labels(&client.call("textDocument/completion", at(&main, 5, 48))),
        vec!["change", "cloud", "covered"]
    );
    assert_eq!(
        labels(&client.call("textDocument/completion", at(&main, 8, 21))),
        vec!["findings", "passed"]
    );

    // Formatting the whole document.
    let messy = fixed.replace("gate dev -> prod {", "gate   dev->prod{");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri(&main), "version": 3}, "contentChanges": [{"text": messy}]}),
    );
    client.published(2);
    let edits = client.call(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri(&main)}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(
        edits,
        json!([{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 11, "character": 0}}, "newText": fixed}])
    );

    client.finish();
}

#[test]
fn malformed_messages_and_broken_files_never_stop_the_server() {
    let dir = scratch("lsp_robust");
    let file = dir.join("p.phasev");
    let text = "policy p\nladder { a b }\ngate a -> b {\n  require \"pods\": all pod in k8s.pods: pod.ready\n}\n";
    std::fs::write(&file, text).unwrap();
    let mut client = Client::start();
    client.initialize();

    // A body that is not JSON: answered with a parse error, id null.
    client.send_raw(b"Content-Length: 9\r\n\r\n{\"id\": 4,");
    let why = "the message is not JSON: EOF while parsing a value at line 1 column 9";
    assert_eq!(
        client.next(),
        json!({"jsonrpc": "2.0", "method": "window/logMessage", "params": {"type": 1, "message": why}})
    );
    assert_eq!(
        client.next(),
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": why}})
    );
    // A header line that is not a header: logged and skipped.
    client.send_raw(b"this is not a header\r\n");
    assert_eq!(
        client.next(),
        json!({"jsonrpc": "2.0", "method": "window/logMessage",
               "params": {"type": 2, "message": "malformed header `this is not a header`"}})
    );
    // Parameters of the wrong shape: an error response, not a crash.
    let response = client.request("textDocument/hover", json!({"textDocument": 3}));
    assert_eq!(response["error"]["code"], -32602);
    // An unknown method.
    let response = client.request("phasev/unknown", json!({}));
    assert_eq!(
        response["error"],
        json!({"code": -32601, "message": "`phasev/unknown` is not supported"})
    );

    // A document that does not parse: a syntax error is published, and the server goes on.
    let broken = text.replace("pod.ready\n", "pod.\n");
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(&file), "languageId": "phasev", "version": 1, "text": broken}}),
    );
    let published = client.published(1);
    assert_eq!(published[0].0, uri(&file));
    let diagnostics = published[0].1.as_array().unwrap();
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0]["code"], "phasev::parse::syntax");
    assert_eq!(diagnostics[0]["range"], range(4, 0, 1));
    // Completion still works, from the schema and the last names that parsed.
    assert_eq!(
        labels(&client.call("textDocument/completion", at(&file, 3, 31))),
        vec!["k8s"]
    );
    // Formatting a document that does not parse is refused, with the reason.
    let response = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri(&file)}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(
        response["error"],
        json!({"code": -32803, "message": "the document has syntax errors; fix them to format it"})
    );

    // Back to a valid text: quantifier variables complete inside their body.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri(&file), "version": 2}, "contentChanges": [{"text": text}]}),
    );
    assert_eq!(client.published(1), vec![(uri(&file), json!([]))]);
    assert_eq!(
        labels(&client.call("textDocument/completion", at(&file, 3, 41))),
        vec!["pod"]
    );
    // A quantifier variable's fields, from the list it ranges over.
    assert_eq!(
        labels(&client.call("textDocument/completion", at(&file, 3, 43))),
        vec!["dapr", "name", "ready", "restarts"]
    );
    assert_eq!(
        labels(&client.call("textDocument/completion", at(&file, 3, 44))),
        vec!["ready", "restarts"]
    );
    assert_eq!(
        labels(&client.call("textDocument/completion", at(&file, 3, 33))),
        vec!["pods"]
    );
    // A word right after a character of several bytes (`→`) completes, never panics.
    let arrow = format!("{text}// a →k8");
    let last = u32::try_from(arrow.lines().count() - 1).unwrap();
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri(&file), "version": 3}, "contentChanges": [{"text": arrow}]}),
    );
    client.published(1);
    let response = client.request("textDocument/completion", at(&file, last, 8));
    assert_eq!(labels(&response["result"]), vec!["k8s"], "{response}");
    client.finish();
}

#[test]
fn diagnostics_of_an_imported_file_are_published_on_it_and_cleared_on_close() {
    let dir = scratch("lsp_imports");
    let lib = dir.join("lib.phasev");
    let main = dir.join("main.phasev");
    std::fs::write(&lib, "// Règles\nrule ok = tests.unit.faild == 0\n").unwrap();
    let main_text =
        "policy p\nimport \"lib.phasev\"\nladder { a b }\ngate a -> b {\n  require \"r\": ok\n}\n";
    std::fs::write(&main, main_text).unwrap();
    let mut client = Client::start();
    client.initialize();
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(&main), "languageId": "phasev", "version": 1, "text": main_text}}),
    );
    assert_eq!(
        client.published(2),
        vec![
            (
                uri(&lib),
                json!([{
                    "range": range(1, 10, 26),
                    "severity": 1,
                    "code": "phasev::check::unknown_fact",
                    "source": "phasevc",
                    "message": "unknown fact `tests.unit.faild`\nhelp: did you mean `tests.unit.failed`?",
                    "data": {"replacement": "tests.unit.failed"},
                }])
            ),
            (uri(&main), json!([])),
        ]
    );
    // Opening the imported file too changes nothing: it is checked as part of `main`, so it
    // is not told that it lacks a ladder.
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(&lib), "languageId": "phasev", "version": 1,
               "text": std::fs::read_to_string(&lib).unwrap()}}),
    );
    let codes = |published: Vec<(String, Value)>| -> Vec<(String, Vec<String>)> {
        published
            .into_iter()
            .map(|(uri, diagnostics)| {
                let codes = diagnostics.as_array().unwrap().iter();
                (
                    uri,
                    codes
                        .map(|d| d["code"].as_str().unwrap().to_owned())
                        .collect(),
                )
            })
            .collect()
    };
    let unknown_fact = "phasev::check::unknown_fact".to_owned();
    assert_eq!(
        codes(client.published(2)),
        vec![
            (uri(&lib), vec![unknown_fact.clone()]),
            (uri(&main), vec![])
        ]
    );
    // Once `main` is closed, `lib` is checked on its own.
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri(&main)}}),
    );
    assert_eq!(
        codes(client.published(2)),
        vec![
            (uri(&main), vec![]),
            (
                uri(&lib),
                vec![
                    "phasev::check::policy".to_owned(),
                    "phasev::check::ladder".to_owned(),
                    unknown_fact,
                ]
            ),
        ]
    );
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri(&lib)}}),
    );
    assert_eq!(client.published(1), vec![(uri(&lib), json!([]))]);
    client.finish();
}

#[test]
fn an_unknown_fact_is_declared_by_a_quick_fix_with_the_type_its_use_suggests() {
    let dir = scratch("lsp_declare");
    let file = dir.join("p.phasev");
    let text = "policy p\nladder { a b }\ngate a -> b {\n  require \"pci\": team.pci.passed\n  require \"coverage\": team.coverage >= 80\n}\n";
    std::fs::write(&file, text).unwrap();
    let mut client = Client::start();
    client.initialize();
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(&file), "languageId": "phasev", "version": 1, "text": text}}),
    );
    let published = client.published(1);
    let diagnostics = published[0].1.clone();
    assert_eq!(diagnostics.as_array().map(Vec::len), Some(2));
    let actions = client.call(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&file)}, "range": range(3, 0, 0),
               "context": {"diagnostics": diagnostics}}),
    );
    let insert = |declaration: &str| json!({"changes": {uri(&file): [{"range": range(2, 0, 0), "newText": format!("{declaration}\n")}]}});
    let got: Vec<(Value, Value)> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["title"].clone(), a["edit"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                json!("Declare `fact team.pci.passed: bool`"),
                insert("fact team.pci.passed: bool")
            ),
            (
                json!("Declare `fact team.coverage: int`"),
                insert("fact team.coverage: int")
            ),
        ]
    );
    client.finish();
}

#[test]
fn plugin_descriptions_given_to_the_server_check_the_policy_s_checks() {
    let dir = scratch("lsp_plugins");
    let description = dir.join("tls.json");
    std::fs::write(
        &description,
        r#"{"name": "tls-settings", "config": [{"name": "min_tls", "type": "string", "required": true}]}"#,
    )
    .unwrap();
    let file = dir.join("p.phasev");
    let text = "policy p\nladder { a b }\ncheck tls = plugin \"tls-settings\" { min_tsl: \"1.2\" }\ngate a -> b {\n  require \"tls\": tls.passed\n}\n";
    std::fs::write(&file, text).unwrap();
    let plugin = Path::new("--plugin");
    let mut client = Client::start_with(&[plugin, &description]);
    client.initialize();
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(&file), "languageId": "phasev", "version": 1, "text": text}}),
    );
    let published = client.published(1);
    let found: Vec<(Value, Value)> = published[0]
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].clone(), d["range"].clone()))
        .collect();
    assert_eq!(
        found,
        vec![
            (json!("phasev::check::plugin_config"), range(2, 6, 9)),
            (json!("phasev::check::plugin_config"), range(2, 36, 43)),
        ]
    );
    client.finish();
}
