//! `phasevc lsp`: a language server over stdio, built on the compiler's own stages.
//!
//! One thread reads a message, answers it and reads the next: a re-check of a policy takes
//! well under a millisecond (`benches/lsp.rs`), so nothing needs to run in the background.
//! lsp-server gives the message types, lsp-types the protocol's; the framing is ours
//! ([`transport`]) so that a malformed message is answered, not fatal.
//!
//! | request or notification | answered from |
//! |---|---|
//! | didOpen, didChange (full text), didClose | [`Workspace`]: re-check, publish diagnostics |
//! | hover, definition, references | the analysis' [`index`] and diagnostics |
//! | completion | the fact schema, the index's names, the built-in functions |
//! | formatting | [`crate::fmt`] |
//! | codeAction | the did-you-mean replacements carried by diagnostics; a `fact` for an unknown one |

mod features;
mod index;
mod text;
mod transport;
mod workspace;

use std::io::{self, BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use lsp_server::{ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, LogMessage,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, Formatting, GotoDefinition, HoverRequest, Initialize,
    References, Request as _, Shutdown,
};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    CompletionResponse, GotoDefinitionResponse, InitializeResult, LogMessageParams, MessageType,
    OneOf, PositionEncodingKind, PublishDiagnosticsParams, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use serde::de::DeserializeOwned;

pub use workspace::{Published, Workspace};

use crate::Options;

/// How the session ended, for the exit code: LSP asks for 0 after `shutdown` then `exit`,
/// and 1 when the client exits without shutting down (or the stream just ends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Clean,
    WithoutShutdown,
}

/// Serves one client on `input`/`output` until `exit` or the end of the input, checking
/// with `options` (the plugin descriptions `phasevc lsp --plugin` was given).
pub fn serve(
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    options: Options,
) -> io::Result<Ended> {
    let mut server = Server {
        output,
        workspace: Workspace::new(options),
        state: State::Uninitialized,
    };
    loop {
        match transport::read(input)? {
            transport::Frame::End => return Ok(Ended::WithoutShutdown),
            transport::Frame::BadHeader(why) => server.log(MessageType::WARNING, &why)?,
            transport::Frame::Malformed(code, why) => {
                server.log(MessageType::ERROR, &why)?;
                transport::write_error(server.output, code, &why)?;
            }
            transport::Frame::Message(Message::Notification(n)) if n.method == "exit" => {
                return Ok(match server.state {
                    State::ShutDown => Ended::Clean,
                    State::Uninitialized | State::Running => Ended::WithoutShutdown,
                });
            }
            transport::Frame::Message(message) => server.handle(message)?,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Uninitialized,
    Running,
    ShutDown,
}

struct Server<'o> {
    output: &'o mut dyn Write,
    workspace: Workspace,
    state: State,
}

/// A request's failure: the JSON-RPC error code and message.
type Failure = (ErrorCode, String);

impl Server<'_> {
    fn send(&mut self, message: Message) -> io::Result<()> {
        transport::write(self.output, &message)
    }

    fn log(&mut self, level: MessageType, text: &str) -> io::Result<()> {
        let params = LogMessageParams {
            typ: level,
            message: text.to_owned(),
        };
        self.send(Notification::new(LogMessage::METHOD.to_owned(), params).into())
    }

    /// Handles one message. A bug that panics while answering is contained: the request gets
    /// an internal error and the server reads on.
    fn handle(&mut self, message: Message) -> io::Result<()> {
        match message {
            Message::Request(request) => {
                let id = request.id.clone();
                let response = catch_unwind(AssertUnwindSafe(|| self.respond(request)))
                    .unwrap_or_else(|_| {
                        Err((
                            ErrorCode::InternalError,
                            "internal error while answering; see the server's log".to_owned(),
                        ))
                    });
                let response = match response {
                    Ok(value) => Response {
                        id,
                        response_result: Ok(value),
                    },
                    Err((code, text)) => Response::new_err(id, code as i32, text),
                };
                self.send(response.into())
            }
            Message::Notification(notification) => {
                let method = notification.method.clone();
                match catch_unwind(AssertUnwindSafe(|| self.notified(notification))) {
                    Ok(Ok(published)) => self.publish(published),
                    Ok(Err(why)) => self.log(MessageType::ERROR, &format!("{method}: {why}")),
                    Err(_) => self.log(
                        MessageType::ERROR,
                        &format!("{method}: internal error; see the server's log"),
                    ),
                }
            }
            // The server sends no requests, so there are no responses to wait for.
            Message::Response(_) => Ok(()),
        }
    }

    fn publish(&mut self, published: Published) -> io::Result<()> {
        for (uri, diagnostics) in published {
            let params = PublishDiagnosticsParams::new(uri, diagnostics, None);
            self.send(Notification::new(PublishDiagnostics::METHOD.to_owned(), params).into())?;
        }
        Ok(())
    }

    fn respond(&mut self, request: Request) -> Result<serde_json::Value, Failure> {
        let method = request.method.as_str();
        match (self.state, method) {
            (State::Uninitialized, Initialize::METHOD) => {
                self.state = State::Running;
                return to_json(&capabilities());
            }
            (State::Uninitialized, _) => {
                return Err((
                    ErrorCode::ServerNotInitialized,
                    "the server is not initialized".to_owned(),
                ));
            }
            (State::ShutDown, _) => {
                return Err((
                    ErrorCode::InvalidRequest,
                    "the server is shut down".to_owned(),
                ));
            }
            (State::Running, _) => {}
        }
        let ws = &self.workspace;
        match method {
            Initialize::METHOD => Err((
                ErrorCode::InvalidRequest,
                "the server is already initialized".to_owned(),
            )),
            Shutdown::METHOD => {
                self.state = State::ShutDown;
                Ok(serde_json::Value::Null)
            }
            HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = params(request)?;
                let at = p.text_document_position_params;
                to_json(&features::hover(
                    ws,
                    &path(&at.text_document.uri)?,
                    at.position,
                ))
            }
            GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = params(request)?;
                let at = p.text_document_position_params;
                let found = features::definition(ws, &path(&at.text_document.uri)?, at.position);
                to_json(&found.map(GotoDefinitionResponse::Scalar))
            }
            References::METHOD => {
                let p: lsp_types::ReferenceParams = params(request)?;
                let at = p.text_document_position;
                to_json(&features::references(
                    ws,
                    &path(&at.text_document.uri)?,
                    at.position,
                    p.context.include_declaration,
                ))
            }
            Completion::METHOD => {
                let p: lsp_types::CompletionParams = params(request)?;
                let at = p.text_document_position;
                let items = features::completion(ws, &path(&at.text_document.uri)?, at.position);
                to_json(&items.map(CompletionResponse::Array))
            }
            Formatting::METHOD => {
                let p: lsp_types::DocumentFormattingParams = params(request)?;
                let edits = features::formatting(ws, &path(&p.text_document.uri)?)
                    .map_err(|why| (ErrorCode::RequestFailed, why))?;
                to_json(&edits)
            }
            CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams = params(request)?;
                let uri = &p.text_document.uri;
                to_json(&features::code_actions(
                    ws,
                    &path(uri)?,
                    uri,
                    &p.context.diagnostics,
                ))
            }
            other => Err((
                ErrorCode::MethodNotFound,
                format!("`{other}` is not supported"),
            )),
        }
    }

    /// Applies a notification; returns the diagnostics to publish.
    fn notified(&mut self, notification: Notification) -> Result<Published, String> {
        let extract = |n: Notification| -> Result<_, String> {
            match n.method.as_str() {
                DidOpenTextDocument::METHOD => {
                    let p: lsp_types::DidOpenTextDocumentParams = decode(n.params)?;
                    let doc = p.text_document;
                    Ok(Some(Edit::Open(doc.uri, doc.text)))
                }
                DidChangeTextDocument::METHOD => {
                    let p: lsp_types::DidChangeTextDocumentParams = decode(n.params)?;
                    // Full-text sync: the last change is the whole document.
                    let text = p
                        .content_changes
                        .into_iter()
                        .next_back()
                        .map(|c| c.text)
                        .ok_or("a change without content")?;
                    Ok(Some(Edit::Change(p.text_document.uri, text)))
                }
                DidCloseTextDocument::METHOD => {
                    let p: lsp_types::DidCloseTextDocumentParams = decode(n.params)?;
                    Ok(Some(Edit::Close(p.text_document.uri)))
                }
                // initialized, didSave, $/cancelRequest, $/setTrace…: nothing to do.
                _ => Ok(None),
            }
        };
        if self.state != State::Running {
            return Ok(Vec::new());
        }
        let Some(edit) = extract(notification)? else {
            return Ok(Vec::new());
        };
        let ws = &mut self.workspace;
        Ok(match edit {
            Edit::Open(uri, text) => {
                let path = path(&uri).map_err(|(_, why)| why)?;
                ws.open(path, uri, text)
            }
            Edit::Change(uri, text) => ws.change(&path(&uri).map_err(|(_, why)| why)?, text),
            Edit::Close(uri) => ws.close(&path(&uri).map_err(|(_, why)| why)?),
        })
    }
}

/// A change to the open documents.
enum Edit {
    Open(Uri, String),
    Change(Uri, String),
    Close(Uri),
}

fn decode<P: DeserializeOwned>(value: serde_json::Value) -> Result<P, String> {
    serde_json::from_value(value).map_err(|e| format!("invalid parameters: {e}"))
}

fn params<P: DeserializeOwned>(request: Request) -> Result<P, Failure> {
    decode(request.params).map_err(|why| (ErrorCode::InvalidParams, why))
}

fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(value).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

fn path(uri: &Uri) -> Result<PathBuf, Failure> {
    text::uri_to_path(uri).ok_or_else(|| {
        (
            ErrorCode::InvalidParams,
            format!("`{}` is not a file:// URI of a local file", uri.as_str()),
        )
    })
}

fn capabilities() -> InitializeResult {
    InitializeResult {
        capabilities: ServerCapabilities {
            position_encoding: Some(PositionEncodingKind::UTF16),
            text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
            hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
            definition_provider: Some(OneOf::Left(true)),
            references_provider: Some(OneOf::Left(true)),
            completion_provider: Some(CompletionOptions {
                trigger_characters: Some(vec![".".to_owned()]),
                ..CompletionOptions::default()
            }),
            document_formatting_provider: Some(OneOf::Left(true)),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                ..CodeActionOptions::default()
            })),
            ..ServerCapabilities::default()
        },
        server_info: Some(ServerInfo {
            name: "phasevc".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_before_initialize_are_refused_and_exit_without_shutdown_is_unclean() {
        let init = r#"{"jsonrpc":"2.0","id":1,"method":"textDocument/hover","params":{}}"#;
        let exit = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let input = format!(
            "Content-Length: {}\r\n\r\n{init}Content-Length: {}\r\n\r\n{exit}",
            init.len(),
            exit.len()
        );
        let mut output = Vec::new();
        let ended = serve(&mut input.as_bytes(), &mut output, Options::default()).ok();
        assert_eq!(ended, Some(Ended::WithoutShutdown));
        let output = String::from_utf8_lossy(&output);
        let body = output.split("\r\n\r\n").nth(1).unwrap_or("");
        let reply: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(reply["id"], 1);
        assert_eq!(
            reply["error"]["code"],
            ErrorCode::ServerNotInitialized as i32
        );
        assert_eq!(reply["error"]["message"], "the server is not initialized");
    }
}
