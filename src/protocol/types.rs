//! MCP data types the server produces, and their rendering for each protocol revision.
//!
//! Tools, resources and prompts build these plain values; `render_*` turns them into the wire
//! shape of the negotiated revision, dropping what that revision's schema does not allow
//! (`title` before 2025-06-18, `resource_link` before 2025-06-18, audio before 2025-03-26, ...).
//! Binary payloads go through [`Blobs`] so they are never copied into the JSON tree.
//! Must not know about transports, the server's dispatch, or media decoding.

use crate::protocol::frame::Blobs;
use crate::protocol::version::ProtocolVersion;
use bytes::Bytes;
use serde_json::{Map, Value, json};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Annotations {
    /// `"user"` and/or `"assistant"`.
    pub audience: Vec<&'static str>,
    pub priority: Option<f64>,
    /// ISO 8601 timestamp (2025-06-18+).
    pub last_modified: Option<String>,
}

/// A resource as listed (and as carried by a `resource_link`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceInfo {
    pub uri: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub mime_type: Option<String>,
    /// Raw size in bytes (before base64).
    pub size: Option<u64>,
    pub annotations: Option<Annotations>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ResourceBody {
    Text(String),
    /// Bytes in memory, or a slice of an opened file streamed when the answer is written.
    Blob(crate::protocol::blob::Blob),
}

/// One item of `resources/read` contents (also embedded in tool results and prompts).
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceContents {
    pub uri: String,
    pub mime_type: Option<String>,
    pub body: ResourceBody,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResourceTemplate {
    pub uri_template: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub mime_type: Option<String>,
}

/// A content block of a tool result or prompt message.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    Text(String),
    /// `annotations` say who the block is for (frames and storyboards: the assistant).
    Image {
        data: Bytes,
        mime_type: String,
        annotations: Option<Annotations>,
    },
    Audio {
        data: Bytes,
        mime_type: String,
        annotations: Option<Annotations>,
    },
    Link(ResourceInfo),
    Embedded(ResourceContents),
}

impl Content {
    pub fn text(s: impl Into<String>) -> Self {
        Content::Text(s.into())
    }

    /// An image block without annotations.
    pub fn image(data: Bytes, mime_type: impl Into<String>) -> Self {
        Content::Image {
            data,
            mime_type: mime_type.into(),
            annotations: None,
        }
    }

    /// An audio block without annotations.
    pub fn audio(data: Bytes, mime_type: impl Into<String>) -> Self {
        Content::Audio {
            data,
            mime_type: mime_type.into(),
            annotations: None,
        }
    }

    /// The same block marked for the given audience (`"user"`, `"assistant"`); text and
    /// embedded blocks are returned unchanged, a link gets the audience on its resource.
    pub fn for_audience(mut self, audience: &[&'static str]) -> Self {
        let a = Annotations {
            audience: audience.to_vec(),
            ..Default::default()
        };
        match &mut self {
            Content::Image { annotations, .. } | Content::Audio { annotations, .. } => {
                *annotations = Some(a)
            }
            Content::Link(r) => r.annotations = Some(a),
            Content::Text(_) | Content::Embedded(_) => {}
        }
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolAnnotations {
    pub title: Option<String>,
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

impl ToolAnnotations {
    /// The annotations of a tool that only reads the local media library.
    pub fn read_only_local(title: &str) -> Self {
        ToolAnnotations {
            title: Some(title.into()),
            read_only: Some(true),
            destructive: Some(false),
            idempotent: Some(true),
            open_world: Some(false),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ToolDef {
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    pub input_schema: Value,
    pub output_schema: Option<Value>,
    pub annotations: Option<ToolAnnotations>,
}

/// The result of a completed tool call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolResult {
    pub content: Vec<Content>,
    pub structured: Option<Value>,
    pub is_error: bool,
}

impl ToolResult {
    pub fn text(s: impl Into<String>) -> Self {
        ToolResult {
            content: vec![Content::text(s)],
            ..Default::default()
        }
    }
    /// A tool execution error (`isError: true`) with a message a model can act on.
    pub fn error(s: impl Into<String>) -> Self {
        ToolResult {
            content: vec![Content::text(s)],
            structured: None,
            is_error: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PromptArgument {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PromptDef {
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    pub arguments: Vec<PromptArgument>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PromptMessage {
    /// `"user"` or `"assistant"`.
    pub role: &'static str,
    pub content: Content,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PromptResult {
    pub description: Option<String>,
    pub messages: Vec<PromptMessage>,
}

/// Server identity (`serverInfo` / `io.modelcontextprotocol/serverInfo`).
#[derive(Clone, Debug, PartialEq)]
pub struct Implementation {
    pub name: String,
    pub title: Option<String>,
    pub version: String,
    /// What the implementation does (2025-11-25+).
    pub description: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

fn put_opt(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.into(), Value::String(v.clone()));
    }
}

pub fn render_implementation(v: ProtocolVersion, i: &Implementation) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), i.name.clone().into());
    if v.has_titles() {
        put_opt(&mut m, "title", &i.title);
    }
    m.insert("version".into(), i.version.clone().into());
    if v.has_implementation_description() {
        put_opt(&mut m, "description", &i.description);
    }
    Value::Object(m)
}

pub fn render_annotations(v: ProtocolVersion, a: &Annotations) -> Option<Value> {
    let mut m = Map::new();
    if !a.audience.is_empty() {
        m.insert("audience".into(), json!(a.audience));
    }
    if let Some(p) = a.priority {
        m.insert("priority".into(), json!(p));
    }
    if v.has_last_modified() {
        put_opt(&mut m, "lastModified", &a.last_modified);
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

pub fn render_resource(v: ProtocolVersion, r: &ResourceInfo) -> Value {
    let mut m = Map::new();
    m.insert("uri".into(), r.uri.clone().into());
    m.insert("name".into(), r.name.clone().into());
    if v.has_titles() {
        put_opt(&mut m, "title", &r.title);
    }
    put_opt(&mut m, "description", &r.description);
    put_opt(&mut m, "mimeType", &r.mime_type);
    if let Some(s) = r.size {
        m.insert("size".into(), s.into());
    }
    if let Some(a) = r
        .annotations
        .as_ref()
        .and_then(|a| render_annotations(v, a))
    {
        m.insert("annotations".into(), a);
    }
    Value::Object(m)
}

pub fn render_template(v: ProtocolVersion, t: &ResourceTemplate) -> Value {
    let mut m = Map::new();
    m.insert("uriTemplate".into(), t.uri_template.clone().into());
    m.insert("name".into(), t.name.clone().into());
    if v.has_titles() {
        put_opt(&mut m, "title", &t.title);
    }
    put_opt(&mut m, "description", &t.description);
    put_opt(&mut m, "mimeType", &t.mime_type);
    Value::Object(m)
}

pub fn render_contents(c: &ResourceContents, blobs: &mut Blobs) -> Value {
    let mut m = Map::new();
    m.insert("uri".into(), c.uri.clone().into());
    put_opt(&mut m, "mimeType", &c.mime_type);
    match &c.body {
        ResourceBody::Text(t) => {
            m.insert("text".into(), t.clone().into());
        }
        ResourceBody::Blob(b) => {
            m.insert("blob".into(), blobs.add(b.clone()));
        }
    }
    Value::Object(m)
}

/// Adds a content block's annotations, when it has any the revision can carry.
fn with_annotations(v: ProtocolVersion, mut block: Value, a: &Option<Annotations>) -> Value {
    if let Some(a) = a.as_ref().and_then(|a| render_annotations(v, a)) {
        block
            .as_object_mut()
            .expect("a content block renders as an object")
            .insert("annotations".into(), a);
    }
    block
}

/// Renders a content block; content the revision cannot carry degrades to the nearest form it
/// can (a text block describing it), so older clients still learn what was produced.
pub fn render_content(v: ProtocolVersion, c: &Content, blobs: &mut Blobs) -> Value {
    match c {
        Content::Text(t) => json!({"type": "text", "text": t}),
        Content::Image {
            data,
            mime_type,
            annotations,
        } => with_annotations(
            v,
            json!({"type": "image", "data": blobs.add(data.clone()), "mimeType": mime_type}),
            annotations,
        ),
        Content::Audio {
            data,
            mime_type,
            annotations,
        } => {
            if v.has_audio_content() {
                with_annotations(
                    v,
                    json!({"type": "audio", "data": blobs.add(data.clone()), "mimeType": mime_type}),
                    annotations,
                )
            } else {
                json!({"type": "text", "text": format!(
                    "[audio content ({mime_type}, {} bytes) omitted: protocol {v} has no audio content type]",
                    data.len())})
            }
        }
        Content::Link(r) => {
            if v.has_resource_links() {
                let mut o = render_resource(v, r);
                o.as_object_mut()
                    .expect("resource renders as object")
                    .insert("type".into(), "resource_link".into());
                o
            } else {
                let mut text = format!("Resource: {} ({})", r.uri, r.name);
                if let Some(mt) = &r.mime_type {
                    text.push_str(&format!(", {mt}"));
                }
                if let Some(s) = r.size {
                    text.push_str(&format!(", {s} bytes"));
                }
                text.push_str(". Read it with resources/read.");
                json!({"type": "text", "text": text})
            }
        }
        Content::Embedded(rc) => {
            json!({"type": "resource", "resource": render_contents(rc, blobs)})
        }
    }
}

pub fn render_tool(v: ProtocolVersion, t: &ToolDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), t.name.clone().into());
    if v.has_titles() {
        put_opt(&mut m, "title", &t.title);
    }
    m.insert("description".into(), t.description.clone().into());
    m.insert("inputSchema".into(), t.input_schema.clone());
    if v.has_structured_content()
        && let Some(os) = &t.output_schema
        && (v.allows_non_object_structured() || os.get("type") == Some(&json!("object")))
    {
        m.insert("outputSchema".into(), os.clone());
    }
    if v.has_tool_annotations()
        && let Some(a) = &t.annotations
    {
        let mut am = Map::new();
        put_opt(&mut am, "title", &a.title);
        for (k, val) in [
            ("readOnlyHint", a.read_only),
            ("destructiveHint", a.destructive),
            ("idempotentHint", a.idempotent),
            ("openWorldHint", a.open_world),
        ] {
            if let Some(b) = val {
                am.insert(k.into(), b.into());
            }
        }
        m.insert("annotations".into(), Value::Object(am));
    }
    Value::Object(m)
}

pub fn render_tool_result(v: ProtocolVersion, r: &ToolResult, blobs: &mut Blobs) -> Value {
    let mut m = Map::new();
    m.insert(
        "content".into(),
        Value::Array(
            r.content
                .iter()
                .map(|c| render_content(v, c, blobs))
                .collect(),
        ),
    );
    if v.has_structured_content()
        && let Some(s) = &r.structured
        && (s.is_object() || v.allows_non_object_structured())
    {
        m.insert("structuredContent".into(), s.clone());
    }
    if r.is_error {
        m.insert("isError".into(), true.into());
    }
    Value::Object(m)
}

pub fn render_prompt(v: ProtocolVersion, p: &PromptDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), p.name.clone().into());
    if v.has_titles() {
        put_opt(&mut m, "title", &p.title);
    }
    m.insert("description".into(), p.description.clone().into());
    if !p.arguments.is_empty() {
        let args: Vec<Value> = p
            .arguments
            .iter()
            .map(|a| {
                let mut am = Map::new();
                am.insert("name".into(), a.name.clone().into());
                put_opt(&mut am, "description", &a.description);
                am.insert("required".into(), a.required.into());
                Value::Object(am)
            })
            .collect();
        m.insert("arguments".into(), Value::Array(args));
    }
    Value::Object(m)
}

pub fn render_prompt_result(v: ProtocolVersion, p: &PromptResult, blobs: &mut Blobs) -> Value {
    let mut m = Map::new();
    put_opt(&mut m, "description", &p.description);
    let msgs: Vec<Value> = p
        .messages
        .iter()
        .map(|pm| json!({"role": pm.role, "content": render_content(v, &pm.content, blobs)}))
        .collect();
    m.insert("messages".into(), Value::Array(msgs));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::*;

    fn link() -> Content {
        Content::Link(ResourceInfo {
            uri: "media://s/a.wav".into(),
            name: "a.wav".into(),
            title: Some("A".into()),
            mime_type: Some("audio/wav".into()),
            size: Some(10),
            annotations: Some(Annotations {
                last_modified: Some("2026-01-01T00:00:00Z".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    #[test]
    fn resource_link_degrades_for_old_revisions() {
        let mut b = Blobs::new();
        let new = render_content(V2025_06_18, &link(), &mut b);
        assert_eq!(new["type"], "resource_link");
        assert_eq!(new["title"], "A");
        assert_eq!(new["annotations"]["lastModified"], "2026-01-01T00:00:00Z");
        let old = render_content(V2025_03_26, &link(), &mut b);
        assert_eq!(old["type"], "text");
        assert!(old["text"].as_str().unwrap().contains("media://s/a.wav"));
    }

    #[test]
    fn structured_content_rules() {
        let mut b = Blobs::new();
        let r = ToolResult {
            content: vec![],
            structured: Some(json!([1, 2])),
            is_error: false,
        };
        assert!(
            render_tool_result(V2025_11_25, &r, &mut b)
                .get("structuredContent")
                .is_none()
        );
        assert_eq!(
            render_tool_result(V2026_07_28, &r, &mut b)["structuredContent"],
            json!([1, 2])
        );
        let r = ToolResult {
            structured: Some(json!({"a": 1})),
            ..r
        };
        assert!(
            render_tool_result(V2025_03_26, &r, &mut b)
                .get("structuredContent")
                .is_none()
        );
        assert_eq!(
            render_tool_result(V2025_06_18, &r, &mut b)["structuredContent"]["a"],
            1
        );
    }

    #[test]
    fn audio_needs_2025_03_26() {
        let mut b = Blobs::new();
        let a = Content::audio(Bytes::from_static(b"RIFF"), "audio/wav");
        assert_eq!(render_content(V2024_11_05, &a, &mut b)["type"], "text");
        assert_eq!(render_content(V2025_03_26, &a, &mut b)["type"], "audio");
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn image_blocks_carry_their_audience_only_when_given() {
        let mut b = Blobs::new();
        let plain = Content::image(Bytes::from_static(b"\x89PNG"), "image/png");
        assert!(
            render_content(V2025_06_18, &plain, &mut b)
                .get("annotations")
                .is_none()
        );
        let marked = plain.for_audience(&["assistant"]);
        let v = render_content(V2025_06_18, &marked, &mut b);
        assert_eq!(v["annotations"], json!({"audience": ["assistant"]}));
        assert_eq!(v["type"], "image");
    }
}
