//! Tools: one file per tool, each a plain synchronous `call` from arguments to a result.
//!
//! A tool sees the client only through [`ClientBridge`] (cancellation, progress, logs and, for
//! the legacy era, server-to-client requests), implemented by the server. Tool failures a model
//! can act on are [`ToolError`]s, which the server renders as `isError: true` results (or, for
//! the few protocol-level ones, as JSON-RPC errors) in exactly one place.
//! Must not know about the server, transports, auth or hyper.

pub mod audio_spectrogram;
pub mod audio_transcode;
pub mod image_tiles;
pub mod image_transform;
pub mod media_list;
pub mod media_probe;
pub mod video_clip;
pub mod video_frames;
pub mod video_scenes;
pub mod video_storyboard;

use crate::library::LibraryError;
use crate::media::MediaError;
use crate::protocol::types::{ToolDef, ToolResult};
use crate::protocol::{LogLevel, ProtocolVersion};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ToolError {
    /// Bad arguments: reported to the model as an `isError` result.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("the request was cancelled")]
    Cancelled,
    /// The call needs a client capability this request did not declare (`-32021`).
    #[error("this tool needs a client capability the request did not declare")]
    MissingCapability(Value),
    /// A server-to-client request failed or timed out.
    #[error("client request failed: {0}")]
    Client(String),
    /// A protocol-level failure the tool wants reported as a JSON-RPC error (`-32602`).
    #[error("{0}")]
    InvalidParams(String),
    /// A deliberate internal error (`-32603`).
    #[error("{0}")]
    Internal(String),
}

/// What a tool call produced.
#[derive(Debug)]
pub enum ToolOutcome {
    Complete(ToolResult),
    /// 2026-07-28 MRTR: the client must answer `input_requests` and retry. `request_state` is
    /// plain here; the server protects it (HMAC) before it leaves and verifies it on return.
    InputRequired {
        input_requests: Map<String, Value>,
        request_state: Option<String>,
    },
}

impl From<crate::media::audio::AudioError> for ToolError {
    fn from(e: crate::media::audio::AudioError) -> Self {
        match e {
            crate::media::audio::AudioError::Cancelled => ToolError::Cancelled,
            other => ToolError::Media(other.into()),
        }
    }
}

impl From<crate::media::image::ImageError> for ToolError {
    fn from(e: crate::media::image::ImageError) -> Self {
        match e {
            crate::media::image::ImageError::Cancelled => ToolError::Cancelled,
            other => ToolError::Media(other.into()),
        }
    }
}

impl From<crate::derived::DerivedError> for ToolError {
    fn from(e: crate::derived::DerivedError) -> Self {
        match e {
            crate::derived::DerivedError::Library(l) => ToolError::Library(l),
            crate::derived::DerivedError::Audio(a) => a.into(),
            crate::derived::DerivedError::Image(i) => i.into(),
            crate::derived::DerivedError::Video(v) => v.into(),
        }
    }
}

impl From<crate::media::video::VideoError> for ToolError {
    fn from(e: crate::media::video::VideoError) -> Self {
        match e {
            crate::media::video::VideoError::Cancelled => ToolError::Cancelled,
            other => ToolError::Media(other.into()),
        }
    }
}

impl From<crate::derived::video::VideoDerivedError> for ToolError {
    fn from(e: crate::derived::video::VideoDerivedError) -> Self {
        use crate::derived::video::VideoDerivedError as E;
        match e {
            E::Library(l) => ToolError::Library(l),
            E::Video(v) => v.into(),
            E::Image(i) => i.into(),
        }
    }
}

impl From<ToolResult> for ToolOutcome {
    fn from(r: ToolResult) -> Self {
        ToolOutcome::Complete(r)
    }
}

/// Lists whose change a tool may announce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    Tools,
    Prompts,
    Resources,
}

/// The client, as a tool may use it. Implemented by the server for each request.
pub trait ClientBridge: Send + Sync {
    /// Whether the request was cancelled (or its stream closed). Long work checks this at
    /// least once per chunk.
    fn cancelled(&self) -> bool;
    /// Reports progress if the request carried a progress token; otherwise does nothing.
    fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>);
    /// Sends a log message if the client asked for logs at this level.
    fn log(&self, level: LogLevel, data: Value);
    /// Sends a server-to-client request (legacy era) and waits for its result.
    fn request(&self, method: &str, params: Value) -> Result<Value, ToolError>;
    /// Sleeps, waking early with `Cancelled` if the request is cancelled.
    fn sleep(&self, d: Duration) -> Result<(), ToolError>;
    /// Announces that a list changed (to listen streams and legacy sessions that want it).
    fn list_changed(&self, kind: ListKind);
}

/// Everything a tool call may look at besides its arguments.
pub struct ToolCtx<'a> {
    pub version: ProtocolVersion,
    /// The client capabilities in force for this request (per-request `_meta` in 2026-07-28,
    /// from `initialize` in the legacy era).
    pub client_caps: &'a Value,
    /// MRTR retry: answers to earlier `inputRequests`.
    pub input_responses: Option<&'a Map<String, Value>>,
    /// MRTR retry: the verified, plain request state.
    pub request_state: Option<&'a str>,
    pub client: &'a dyn ClientBridge,
}

/// How expensive a call is, for scheduling: light calls never queue behind heavy ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// Quick and bounded whatever the arguments (listing, probing headers).
    Light,
    /// Grows with the request (decoding, rendering), or waits on the client.
    Heavy,
}

pub trait Tool: Send + Sync {
    fn def(&self) -> ToolDef;
    /// Heavy unless the tool says otherwise.
    fn cost(&self) -> Cost {
        Cost::Heavy
    }
    fn call(&self, args: &Map<String, Value>, ctx: &ToolCtx<'_>) -> Result<ToolOutcome, ToolError>;
}

/// Resolves the URI of a file to take audio from (an audio file or a video's audio track):
/// no query, exists, not an image.
pub fn resolve_audio(
    lib: &crate::library::Library,
    uri: &str,
) -> Result<(crate::library::Resolved, crate::library::FileInfo), ToolError> {
    let r = lib.resolve(uri)?;
    if !r.uri.query.is_empty() {
        return Err(ToolError::InvalidArguments(format!(
            "pass the file URI without a query: {}",
            r.uri.base()
        )));
    }
    let stat = lib.stat(&r)?;
    if stat.sniffed.kind == crate::library::MediaKind::Image {
        return Err(ToolError::InvalidArguments(format!(
            "{uri} is an image, not audio"
        )));
    }
    Ok((r, stat))
}

/// Deserialises tool arguments into a typed struct; unknown or ill-typed arguments become an
/// `InvalidArguments` error whose text names the problem.
///
/// An argument that is `null` or the empty string counts as absent: clients with strict
/// schemas (every property required) send those for the optional arguments they do not use.
/// A required argument sent that way is reported as missing.
pub fn parse_args<T: DeserializeOwned>(args: &Map<String, Value>) -> Result<T, ToolError> {
    let given: Map<String, Value> = args
        .iter()
        .filter(|(_, v)| !is_none_like(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(given))
        .map_err(|e| ToolError::InvalidArguments(e.to_string()))
}

/// Whether an argument value means "not given": `null` or `""`.
pub fn is_none_like(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Declares every optional top-level property of an object schema as nullable (`"type":
/// ["string", "null"]`, and `null` added to an `enum`), so that a strict-mode client, which must
/// send every property, can say "none". [`parse_args`] treats `null` (and `""`) as absent.
/// Required properties are left as they are.
pub fn nullable_optionals(mut schema: Value) -> Value {
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, prop) in props.iter_mut() {
            if required.contains(name) {
                continue;
            }
            let Some(prop) = prop.as_object_mut() else {
                continue;
            };
            match prop.get_mut("type") {
                Some(Value::String(t)) if t != "null" => {
                    let t = std::mem::take(t);
                    prop.insert("type".into(), json!([t, "null"]));
                }
                Some(Value::Array(types)) if !types.contains(&json!("null")) => {
                    types.push(json!("null"));
                }
                _ => {}
            }
            if let Some(Value::Array(values)) = prop.get_mut("enum")
                && !values.contains(&Value::Null)
            {
                values.push(Value::Null);
            }
        }
    }
    schema
}

/// The tools a server offers, in a deterministic order.
#[derive(Clone, Default)]
pub struct ToolSet {
    tools: Vec<(ToolDef, Arc<dyn Tool>)>,
}

impl ToolSet {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, tool: Arc<dyn Tool>) {
        let def = tool.def();
        debug_assert!(
            !self.tools.iter().any(|(d, _)| d.name == def.name),
            "duplicate tool {}",
            def.name
        );
        self.tools.push((def, tool));
    }
    pub fn defs(&self) -> impl Iterator<Item = &ToolDef> {
        self.tools.iter().map(|(d, _)| d)
    }
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools
            .iter()
            .find(|(d, _)| d.name == name)
            .map(|(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct A {
        uri: String,
        kind: Option<String>,
        limit: Option<usize>,
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn null_and_empty_optional_arguments_count_as_absent() {
        let a: A = parse_args(&args(json!({"uri": "u", "kind": "", "limit": null}))).unwrap();
        assert_eq!(
            a,
            A {
                uri: "u".into(),
                kind: None,
                limit: None
            }
        );
        let a: A = parse_args(&args(json!({"uri": "u", "kind": "audio", "limit": 3}))).unwrap();
        assert_eq!(a.kind.as_deref(), Some("audio"));
        assert_eq!(a.limit, Some(3));
    }

    #[test]
    fn empty_required_argument_is_missing_and_unknown_still_refused() {
        let e = parse_args::<A>(&args(json!({"uri": ""}))).unwrap_err();
        assert!(e.to_string().contains("missing field `uri`"), "{e}");
        let e = parse_args::<A>(&args(json!({"uri": null}))).unwrap_err();
        assert!(e.to_string().contains("missing field `uri`"), "{e}");
        let e = parse_args::<A>(&args(json!({"uri": "u", "bogus": 1}))).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    #[test]
    fn optional_properties_become_nullable_required_ones_do_not() {
        let s = nullable_optionals(json!({
            "type": "object",
            "properties": {
                "uri": {"type": "string"},
                "kind": {"type": "string", "enum": ["audio", "image"]},
                "limit": {"type": ["integer"]},
                "flag": {"type": ["boolean", "null"]}
            },
            "required": ["uri"]
        }));
        assert_eq!(s["properties"]["uri"]["type"], "string");
        assert_eq!(s["properties"]["kind"]["type"], json!(["string", "null"]));
        assert_eq!(
            s["properties"]["kind"]["enum"],
            json!(["audio", "image", null])
        );
        assert_eq!(s["properties"]["limit"]["type"], json!(["integer", "null"]));
        assert_eq!(s["properties"]["flag"]["type"], json!(["boolean", "null"]));
    }
}
