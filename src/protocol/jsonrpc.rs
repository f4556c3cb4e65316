//! JSON-RPC 2.0 messages: parsing what arrives, and the standard and MCP error codes.
//!
//! Parsing is tolerant of unknown fields and strict about shapes: anything that is not a valid
//! request, notification or response is reported with the right code and, where it could be read,
//! the request id. Must not know about MCP methods, transports or media.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Standard JSON-RPC and MCP error codes.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Implementation-defined server error: too many requests queued on one connection.
    pub const SERVER_BUSY: i64 = -32000;
    /// Legacy (<= 2025-11-25) resource not found.
    pub const RESOURCE_NOT_FOUND_LEGACY: i64 = -32002;
    /// 2026-07-28: HTTP headers do not match the body.
    pub const HEADER_MISMATCH: i64 = -32020;
    /// 2026-07-28: the request needs a client capability it did not declare.
    pub const MISSING_CLIENT_CAPABILITY: i64 = -32021;
    /// 2026-07-28: unsupported protocol version.
    pub const UNSUPPORTED_VERSION: i64 = -32022;
}

/// A JSON-RPC request id: a string or an integer (never null). The JSON type is preserved so it
/// can be echoed exactly.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Num(i64),
    Str(String),
}

impl RequestId {
    /// Reads an id from a JSON value; `None` for null, floats and other types.
    pub fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Some(RequestId::Str(s.clone())),
            Value::Number(n) => n.as_i64().map(RequestId::Num),
            _ => None,
        }
    }
    pub fn to_value(&self) -> Value {
        match self {
            RequestId::Num(n) => Value::from(*n),
            RequestId::Str(s) => Value::from(s.clone()),
        }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Num(n) => write!(f, "{n}"),
            RequestId::Str(s) => write!(f, "{s:?}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub id: RequestId,
    pub method: String,
    /// Always an object (absent params are an empty object).
    pub params: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub method: String,
    pub params: Map<String, Value>,
}

/// A response from the peer to a request we sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub id: RequestId,
    /// `Ok(result)` or `Err(error object)`.
    pub outcome: Result<Value, Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Request(Request),
    Notification(Notification),
    Response(Response),
}

/// One decoded input unit: a single message or a batch (an array). Batch items that failed to
/// parse keep their error so each can be answered.
#[derive(Debug)]
pub enum Incoming {
    Single(Result<Message, WireError>),
    Batch(Vec<Result<Message, WireError>>),
}

/// A message that could not be accepted, with what to answer.
#[derive(Clone, Debug, PartialEq)]
pub struct WireError {
    pub code: i64,
    pub message: String,
    /// The id, if one could be read (it is echoed in the error response).
    pub id: Option<RequestId>,
    /// Whether the sender expects an answer (notifications get none).
    pub answerable: bool,
}

impl WireError {
    fn new(code: i64, message: impl Into<String>, id: Option<RequestId>) -> Self {
        WireError {
            code,
            message: message.into(),
            id,
            answerable: true,
        }
    }
}

/// Parses one frame (a stdio line or an HTTP body).
pub fn parse(bytes: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return Incoming::Single(Err(WireError::new(
                code::PARSE_ERROR,
                format!("Parse error: {e}"),
                None,
            )));
        }
    };
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Incoming::Single(Err(WireError::new(
                    code::INVALID_REQUEST,
                    "Invalid Request: empty batch",
                    None,
                )));
            }
            Incoming::Batch(items.into_iter().map(classify).collect())
        }
        other => Incoming::Single(classify(other)),
    }
}

/// Turns one JSON value into a message, or says why it is not one.
pub fn classify(value: Value) -> Result<Message, WireError> {
    let Value::Object(mut obj) = value else {
        return Err(WireError::new(
            code::INVALID_REQUEST,
            "Invalid Request: a message must be a JSON object",
            None,
        ));
    };
    let raw_id = obj.remove("id");
    let id = raw_id.as_ref().and_then(RequestId::from_value);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(WireError::new(
            code::INVALID_REQUEST,
            "Invalid Request: \"jsonrpc\" must be \"2.0\"",
            id,
        ));
    }
    if let Some(method) = obj.remove("method") {
        let Value::String(method) = method else {
            return Err(WireError::new(
                code::INVALID_REQUEST,
                "Invalid Request: \"method\" must be a string",
                id,
            ));
        };
        let params = match obj.remove("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => {
                let mut e = WireError::new(
                    code::INVALID_PARAMS,
                    "Invalid params: \"params\" must be an object",
                    id.clone(),
                );
                e.answerable = raw_id.is_some();
                return Err(e);
            }
        };
        return match raw_id {
            None => Ok(Message::Notification(Notification { method, params })),
            Some(raw) => match id {
                Some(id) => Ok(Message::Request(Request { id, method, params })),
                None => Err(WireError::new(
                    code::INVALID_REQUEST,
                    format!(
                        "Invalid Request: \"id\" must be a string or an integer, got {}",
                        short(&raw)
                    ),
                    None,
                )),
            },
        };
    }
    let result = obj.remove("result");
    let error = obj.remove("error");
    match (id, result, error) {
        (Some(id), Some(r), None) => Ok(Message::Response(Response { id, outcome: Ok(r) })),
        (Some(id), None, Some(e)) => Ok(Message::Response(Response {
            id,
            outcome: Err(e),
        })),
        (id, _, _) => {
            let mut e = WireError::new(
                code::INVALID_REQUEST,
                "Invalid Request: neither a request, a notification nor a response",
                id,
            );
            // An unreadable response is not answered (answering a response could loop).
            e.answerable = obj.is_empty() || e.id.is_none();
            Err(e)
        }
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 40 {
        format!("{}...", &s[..s.floor_char_boundary(40)])
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(s: &str) -> Result<Message, WireError> {
        match parse(s.as_bytes()) {
            Incoming::Single(r) => r,
            Incoming::Batch(_) => panic!("unexpected batch"),
        }
    }

    #[test]
    fn request_with_unknown_fields_is_accepted() {
        let m = single(r#"{"jsonrpc":"2.0","id":7,"method":"tools/list","extra":1}"#).unwrap();
        assert_eq!(
            m,
            Message::Request(Request {
                id: RequestId::Num(7),
                method: "tools/list".into(),
                params: Map::new()
            })
        );
    }

    #[test]
    fn string_ids_keep_their_type() {
        let Message::Request(r) = single(r#"{"jsonrpc":"2.0","id":"a","method":"x"}"#).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.id.to_value(), Value::from("a"));
    }

    #[test]
    fn garbage_is_a_parse_error_without_id() {
        let e = single("{not json").unwrap_err();
        assert_eq!(e.code, code::PARSE_ERROR);
        assert_eq!(e.id, None);
    }

    #[test]
    fn wrong_shapes_echo_the_id() {
        let e = single(r#"{"jsonrpc":"2.0","id":3,"method":5}"#).unwrap_err();
        assert_eq!(
            (e.code, e.id),
            (code::INVALID_REQUEST, Some(RequestId::Num(3)))
        );
        let e = single(r#"{"jsonrpc":"1.0","id":"x","method":"a"}"#).unwrap_err();
        assert_eq!(
            (e.code, e.id),
            (code::INVALID_REQUEST, Some(RequestId::Str("x".into())))
        );
        let e = single(r#"{"jsonrpc":"2.0","id":4,"method":"a","params":[1]}"#).unwrap_err();
        assert_eq!(
            (e.code, e.id),
            (code::INVALID_PARAMS, Some(RequestId::Num(4)))
        );
        let e = single(r#"{"jsonrpc":"2.0","id":null,"method":"a"}"#).unwrap_err();
        assert_eq!(e.code, code::INVALID_REQUEST);
    }

    #[test]
    fn batches_and_responses() {
        match parse(br#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"n"},5]"#)
        {
            Incoming::Batch(items) => {
                assert_eq!(items.len(), 3);
                assert!(matches!(items[0], Ok(Message::Request(_))));
                assert!(matches!(items[1], Ok(Message::Notification(_))));
                assert!(items[2].is_err());
            }
            _ => panic!("expected a batch"),
        }
        let m = single(r#"{"jsonrpc":"2.0","id":"s1","result":{"ok":true}}"#).unwrap();
        assert!(matches!(
            m,
            Message::Response(Response { outcome: Ok(_), .. })
        ));
    }
}
