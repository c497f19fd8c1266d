//! JSON-RPC framing over a byte stream (`Content-Length: N\r\n\r\n` and N bytes of JSON),
//! forgiving where lsp-server's stdio transport is not: that transport ends the connection at
//! the first malformed header or body, and an editor's server must outlive a bad message.
//! A garbled header line is skipped (a `Content-Length` later in it is still found, which
//! resynchronises after a body sent without its header), a body that is not JSON is
//! answered with a parse error, and only the end of the stream ends the server.

use std::io::{self, BufRead, Read, Write};

use lsp_server::Message;
use serde_json::Value;

use crate::load::MAX_FILE_BYTES;

/// JSON-RPC's error for a body that is not JSON.
pub(crate) const PARSE_ERROR: i32 = -32700;
/// JSON-RPC's error for JSON that is not a request, response or notification.
pub(crate) const INVALID_REQUEST: i32 = -32600;

/// What one read from the stream gave.
#[derive(Debug)]
pub(crate) enum Frame {
    Message(Message),
    /// A body that could not be read as a message: the JSON-RPC error code to answer with,
    /// and why.
    Malformed(i32, String),
    /// A header that makes no sense; the frame is skipped.
    BadHeader(String),
    End,
}

/// Reads the next frame.
pub(crate) fn read(input: &mut dyn BufRead) -> io::Result<Frame> {
    let mut length = None;
    let mut line = Vec::new();
    let length = loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(Frame::End);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            match length {
                Some(n) => break n,
                // A blank line before any header: nothing to frame yet.
                None => continue,
            }
        }
        let lower = text.to_ascii_lowercase();
        let Some(at) = lower.find("content-length:") else {
            if text.contains(':') && length.is_some() {
                continue; // another header, such as Content-Type
            }
            return Ok(Frame::BadHeader(format!(
                "malformed header `{}`",
                shorten(text)
            )));
        };
        let value = text[at + "content-length:".len()..].trim();
        match value.parse::<u64>() {
            Ok(n) => length = Some(n),
            Err(_) => {
                return Ok(Frame::BadHeader(format!(
                    "malformed Content-Length `{}`",
                    shorten(value)
                )));
            }
        }
    };
    if length > MAX_FILE_BYTES {
        io::copy(&mut input.take(length), &mut io::sink())?;
        return Ok(Frame::BadHeader(format!(
            "a message of {length} bytes is over the limit of {MAX_FILE_BYTES}"
        )));
    }
    let mut body = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    input.take(length).read_to_end(&mut body)?;
    if (body.len() as u64) < length {
        return Ok(Frame::End);
    }
    Ok(match serde_json::from_slice::<Message>(&body) {
        Ok(message) => Frame::Message(message),
        Err(e) if serde_json::from_slice::<Value>(&body).is_ok() => {
            Frame::Malformed(INVALID_REQUEST, format!("not a JSON-RPC message: {e}"))
        }
        Err(e) => Frame::Malformed(PARSE_ERROR, format!("the message is not JSON: {e}")),
    })
}

/// At most 80 characters of a header, for a log line.
fn shorten(text: &str) -> String {
    text.chars().take(80).collect()
}

/// Writes one message with its header.
pub(crate) fn write(output: &mut dyn Write, message: &Message) -> io::Result<()> {
    let mut value = serde_json::to_value(message)?;
    if let Value::Object(fields) = &mut value {
        fields.insert("jsonrpc".to_owned(), Value::from("2.0"));
    }
    write_value(output, &value)
}

/// Answers a message that could not be read: its id is unknown, so it is `null`.
pub(crate) fn write_error(output: &mut dyn Write, code: i32, message: &str) -> io::Result<()> {
    let value = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": code, "message": message },
    });
    write_value(output, &value)
}

fn write_value(output: &mut dyn Write, value: &Value) -> io::Result<()> {
    let body = serde_json::to_string(value)?;
    write!(output, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &str) -> Vec<String> {
        let mut input = input.as_bytes();
        let mut out = Vec::new();
        loop {
            match read(&mut input) {
                Ok(Frame::End) | Err(_) => return out,
                Ok(Frame::Message(m)) => out.push(format!("message {m:?}")),
                Ok(Frame::Malformed(code, _)) => out.push(format!("malformed {code}")),
                Ok(Frame::BadHeader(why)) => out.push(why),
            }
        }
    }

    #[test]
    fn bad_headers_and_bodies_are_skipped_and_framing_recovers() {
        let exit = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let input = format!(
            "Bogus\r\nContent-Length: 3\r\n\r\n{{x}}Content-Length: {}\r\n\r\n{exit}Content-Length: zz\r\n\r\n",
            exit.len()
        );
        let got = frames(&input);
        assert_eq!(
            got,
            vec![
                "malformed header `Bogus`".to_owned(),
                "malformed -32700".to_owned(),
                format!(
                    "message {:?}",
                    Message::Notification(lsp_server::Notification::new(
                        "exit".to_owned(),
                        Value::Null
                    ))
                ),
                "malformed Content-Length `zz`".to_owned(),
            ]
        );
        let json_not_rpc = "Content-Length: 7\r\n\r\n{\"a\":1}";
        assert_eq!(frames(json_not_rpc), vec!["malformed -32600".to_owned()]);
    }
}
