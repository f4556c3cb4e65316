//! The conformance suite's fixture tools, resources and prompts (`--conformance`), kept apart
//! from media code. Texts and shapes follow `@modelcontextprotocol/conformance` (its scenarios
//! and reference "everything" server). Must not know about the server, transports or media.

use crate::protocol::types::{
    Content, PromptArgument, PromptDef, PromptMessage, PromptResult, ResourceBody,
    ResourceContents, ResourceInfo, ResourceTemplate, ToolDef, ToolResult,
};
use crate::protocol::{LogLevel, ProtocolVersion};
use crate::provider::{
    Completions, Page, PromptError, PromptOutcome, PromptProvider, ResourceError, ResourceProvider,
    ToolProvider,
};
use crate::tools::{ListKind, Tool, ToolCtx, ToolError, ToolOutcome};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// A 1x1 red PNG, made with the image crate.
static PNG: LazyLock<Bytes> = LazyLock::new(|| {
    let mut out = Vec::new();
    image::RgbaImage::from_pixel(1, 1, image::Rgba([255, 0, 0, 255]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("PNG encodes");
    Bytes::from(out)
});

/// 0.1 s of silence: 8 kHz mono 16-bit PCM WAV.
static WAV: LazyLock<Bytes> = LazyLock::new(|| {
    let samples = 800u32;
    let data_len = samples * 2;
    let mut w = Vec::with_capacity(44 + data_len as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&16000u32.to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    w.resize(44 + data_len as usize, 0);
    Bytes::from(w)
});

type Handler = fn(&Map<String, Value>, &ToolCtx<'_>) -> Result<ToolOutcome, ToolError>;

struct Fixture {
    name: &'static str,
    description: &'static str,
    schema: fn() -> Value,
    run: Handler,
}

impl Tool for Fixture {
    fn def(&self) -> ToolDef {
        ToolDef {
            name: self.name.into(),
            title: None,
            description: self.description.into(),
            input_schema: (self.schema)(),
            output_schema: None,
            annotations: None,
        }
    }
    fn call(&self, args: &Map<String, Value>, ctx: &ToolCtx<'_>) -> Result<ToolOutcome, ToolError> {
        (self.run)(args, ctx)
    }
}

fn no_args() -> Value {
    json!({"type": "object", "properties": {}})
}

fn text(s: impl Into<String>) -> Result<ToolOutcome, ToolError> {
    Ok(ToolResult::text(s).into())
}

fn elicit(message: &str, prop: &str, ty: &str) -> Value {
    json!({"method": "elicitation/create", "params": {
        "message": message,
        "requestedSchema": {"type": "object", "properties": {prop: {"type": ty}}, "required": [prop]}
    }})
}

fn sample(text: &str, max_tokens: u32) -> Value {
    json!({"method": "sampling/createMessage", "params": {
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
        "maxTokens": max_tokens
    }})
}

fn input_required(reqs: Value, state: Option<Value>) -> Result<ToolOutcome, ToolError> {
    Ok(ToolOutcome::InputRequired {
        input_requests: reqs.as_object().cloned().unwrap_or_default(),
        request_state: state.map(|s| s.to_string()),
    })
}

/// The text of an elicitation answer's `content[key]` (or of a sampling answer).
fn answer_text(resp: &Value, key: &str) -> String {
    resp.get("content")
        .and_then(|c| c.get(key).or_else(|| c.get("text")))
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .unwrap_or_default()
}

fn state_json(ctx: &ToolCtx<'_>) -> Option<Value> {
    ctx.request_state.and_then(|s| serde_json::from_str(s).ok())
}

fn responses<'a>(ctx: &'a ToolCtx<'_>) -> Option<&'a Map<String, Value>> {
    ctx.input_responses.filter(|m| !m.is_empty())
}

fn nonce() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn legacy_request(ctx: &ToolCtx<'_>, method: &str, params: Value) -> Result<Value, String> {
    ctx.client
        .request(method, params)
        .map_err(|e| e.to_string())
}

fn fixtures() -> Vec<Fixture> {
    vec![
        Fixture {
            name: "test_simple_text",
            description: "Tests simple text content response",
            schema: no_args,
            run: |_, _| text("This is a simple text response for testing."),
        },
        Fixture {
            name: "test_image_content",
            description: "Tests image content response",
            schema: no_args,
            run: |_, _| {
                Ok(ToolResult {
                    content: vec![Content::image(PNG.clone(), "image/png")],
                    ..Default::default()
                }
                .into())
            },
        },
        Fixture {
            name: "test_audio_content",
            description: "Tests audio content response",
            schema: no_args,
            run: |_, _| {
                Ok(ToolResult {
                    content: vec![Content::audio(WAV.clone(), "audio/wav")],
                    ..Default::default()
                }
                .into())
            },
        },
        Fixture {
            name: "test_embedded_resource",
            description: "Tests embedded resource content response",
            schema: no_args,
            run: |_, _| {
                Ok(ToolResult {
                    content: vec![Content::Embedded(ResourceContents {
                        uri: "test://embedded-resource".into(),
                        mime_type: Some("text/plain".into()),
                        body: ResourceBody::Text("This is an embedded resource content.".into()),
                    })],
                    ..Default::default()
                }
                .into())
            },
        },
        Fixture {
            name: "test_multiple_content_types",
            description: "Tests response with multiple content types (text, image, resource)",
            schema: no_args,
            run: |_, _| {
                Ok(ToolResult {
                    content: vec![
                        Content::text("Multiple content types test:"),
                        Content::image(PNG.clone(), "image/png"),
                        Content::Embedded(ResourceContents {
                            uri: "test://mixed-content-resource".into(),
                            mime_type: Some("application/json".into()),
                            body: ResourceBody::Text(
                                json!({"test": "data", "value": 123}).to_string(),
                            ),
                        }),
                    ],
                    ..Default::default()
                }
                .into())
            },
        },
        Fixture {
            name: "test_error_handling",
            description: "Tests error response handling",
            schema: no_args,
            run: |_, _| {
                Ok(
                    ToolResult::error("This tool intentionally returns an error for testing")
                        .into(),
                )
            },
        },
        Fixture {
            name: "test_tool_with_progress",
            description: "Tests tool that reports progress notifications",
            schema: no_args,
            run: |_, ctx| {
                for (i, p) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                    if i > 0 {
                        ctx.client.sleep(Duration::from_millis(50))?;
                    }
                    ctx.client.progress(
                        p,
                        Some(100.0),
                        Some(&format!("Completed step {p} of 100")),
                    );
                }
                text("Progress reported: 0, 50, 100 of 100")
            },
        },
        Fixture {
            name: "test_tool_with_logging",
            description: "Tests tool that emits log messages during execution",
            schema: no_args,
            run: |_, ctx| {
                for (i, m) in [
                    "Tool execution started",
                    "Tool processing data",
                    "Tool execution completed",
                ]
                .into_iter()
                .enumerate()
                {
                    if i > 0 {
                        ctx.client.sleep(Duration::from_millis(50))?;
                    }
                    ctx.client.log(LogLevel::Info, json!(m));
                }
                text("Tool with logging executed successfully")
            },
        },
        Fixture {
            name: "test_sampling",
            description: "Tests server-initiated sampling (LLM completion request)",
            schema: || json!({"type": "object", "properties": {"prompt": {"type": "string", "description": "The prompt to send to the LLM"}}, "required": ["prompt"]}),
            run: |args, ctx| {
                let prompt = args
                    .get("prompt")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match legacy_request(
                    ctx,
                    "sampling/createMessage",
                    json!({
                    "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}], "maxTokens": 100}),
                ) {
                    Ok(r) => {
                        let t = r
                            .get("content")
                            .and_then(|c| c.get("text"))
                            .and_then(Value::as_str)
                            .unwrap_or("No response");
                        text(format!("LLM response: {t}"))
                    }
                    Err(e) => text(format!("Sampling not supported or error: {e}")),
                }
            },
        },
        Fixture {
            name: "test_elicitation",
            description: "Tests server-initiated elicitation (user input request)",
            schema: || json!({"type": "object", "properties": {"message": {"type": "string", "description": "The message to show the user"}}, "required": ["message"]}),
            run: |args, ctx| {
                let message = args
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match legacy_request(
                    ctx,
                    "elicitation/create",
                    json!({"message": message, "requestedSchema": {
                    "type": "object", "properties": {"response": {"type": "string", "description": "User's response"}}, "required": ["response"]}}),
                ) {
                    Ok(r) => text(format!(
                        "User response: action={}, content={}",
                        r.get("action").and_then(Value::as_str).unwrap_or(""),
                        r.get("content").cloned().unwrap_or(json!({}))
                    )),
                    Err(e) => text(format!("Elicitation not supported or error: {e}")),
                }
            },
        },
        Fixture {
            name: "test_elicitation_sep1034_defaults",
            description: "Tests elicitation with default values per SEP-1034",
            schema: no_args,
            run: |_, ctx| {
                elicitation_completed(
                    ctx,
                    json!({
                "message": "Please review and update the form fields with defaults",
                "requestedSchema": {"type": "object", "properties": {
                    "name": {"type": "string", "description": "User name", "default": "John Doe"},
                    "age": {"type": "integer", "description": "User age", "default": 30},
                    "score": {"type": "number", "description": "User score", "default": 95.5},
                    "status": {"type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active"},
                    "verified": {"type": "boolean", "description": "Verification status", "default": true}
                }, "required": []}}),
                )
            },
        },
        Fixture {
            name: "test_elicitation_sep1330_enums",
            description: "Tests elicitation with enum schema improvements per SEP-1330",
            schema: no_args,
            run: |_, ctx| {
                elicitation_completed(
                    ctx,
                    json!({
                "message": "Please select options from the enum fields",
                "requestedSchema": {"type": "object", "properties": {
                    "untitledSingle": {"type": "string", "description": "Select one option", "enum": ["option1", "option2", "option3"]},
                    "titledSingle": {"type": "string", "description": "Select one option with titles", "oneOf": [
                        {"const": "value1", "title": "First Option"}, {"const": "value2", "title": "Second Option"}, {"const": "value3", "title": "Third Option"}]},
                    "legacyEnum": {"type": "string", "description": "Select one option (legacy)", "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"]},
                    "untitledMulti": {"type": "array", "description": "Select multiple options", "minItems": 1, "maxItems": 3, "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                    "titledMulti": {"type": "array", "description": "Select multiple options with titles", "minItems": 1, "maxItems": 3, "items": {"anyOf": [
                        {"const": "value1", "title": "First Choice"}, {"const": "value2", "title": "Second Choice"}, {"const": "value3", "title": "Third Choice"}]}}
                }, "required": []}}),
                )
            },
        },
        Fixture {
            name: "json_schema_2020_12_tool",
            description: "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
            schema: || {
                json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "$defs": {"address": {"$anchor": "addressDef", "type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
                    "properties": {
                        "name": {"type": "string"}, "address": {"$ref": "#/$defs/address"},
                        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                        "phone": {"type": "string"}, "email": {"type": "string"}
                    },
                    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
                    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
                    "then": {"required": ["phone"]},
                    "else": {"required": ["email"]},
                    "additionalProperties": false
                })
            },
            run: |args, _| {
                text(format!(
                    "JSON Schema 2020-12 tool called with: {}",
                    Value::Object(args.clone())
                ))
            },
        },
        Fixture {
            name: "test_custom_headers",
            description: "Echoes its value; the value is mirrored into the Mcp-Param-Value HTTP header (SEP-2243 x-mcp-header)",
            schema: || {
                json!({
                    "type": "object",
                    "properties": {"value": {"type": "string", "x-mcp-header": "Value"}},
                    "required": ["value"]
                })
            },
            run: |args, _| {
                text(format!(
                    "value: {}",
                    args.get("value")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                ))
            },
        },
        Fixture {
            name: "test_missing_capability",
            description: "Test tool requiring sampling",
            schema: no_args,
            run: |_, ctx| {
                if ctx.client_caps.get("sampling").is_none() {
                    return Err(ToolError::MissingCapability(json!({"sampling": {}})));
                }
                text("Success")
            },
        },
        Fixture {
            name: "test_input_required_result_elicitation",
            description: "MRTR: returns InputRequiredResult with elicitation request",
            schema: no_args,
            run: |_, ctx| match responses(ctx).and_then(|r| r.get("user_name")) {
                Some(a) => text(format!("Hello, {}!", answer_text(a, "name"))),
                None => input_required(
                    json!({"user_name": elicit("What is your name?", "name", "string")}),
                    None,
                ),
            },
        },
        Fixture {
            name: "test_input_required_result_sampling",
            description: "MRTR: returns InputRequiredResult with sampling request",
            schema: no_args,
            run: |_, ctx| match responses(ctx).and_then(|r| r.get("sample_request")) {
                Some(a) => text(format!(
                    "Sampling result: {}",
                    a.get("content")
                        .and_then(|c| c.get("text"))
                        .and_then(Value::as_str)
                        .unwrap_or("no response")
                )),
                None => input_required(
                    json!({"sample_request": sample("What is the capital of France?", 100)}),
                    None,
                ),
            },
        },
        Fixture {
            name: "test_input_required_result_list_roots",
            description: "MRTR: returns InputRequiredResult with roots/list request",
            schema: no_args,
            run: |_, ctx| match responses(ctx).and_then(|r| r.get("roots_request")) {
                Some(a) => text(format!(
                    "Found {} root(s)",
                    a.get("roots").and_then(Value::as_array).map_or(0, Vec::len)
                )),
                None => input_required(
                    json!({"roots_request": {"method": "roots/list", "params": {}}}),
                    None,
                ),
            },
        },
        Fixture {
            name: "test_input_required_result_request_state",
            description: "MRTR: returns InputRequiredResult with requestState",
            schema: no_args,
            run: |_, ctx| {
                let ok = responses(ctx)
                    .and_then(|r| r.get("confirm"))
                    .and_then(|c| c.get("content"))
                    .and_then(|c| c.get("ok"))
                    == Some(&json!(true));
                if ok && state_json(ctx).is_some_and(|s| s["kind"] == "request-state") {
                    return text("state-ok: requestState validated");
                }
                input_required(
                    json!({"confirm": elicit("Please confirm", "ok", "boolean")}),
                    Some(json!({"kind": "request-state", "nonce": nonce()})),
                )
            },
        },
        Fixture {
            name: "test_input_required_result_multiple_inputs",
            description: "MRTR: returns InputRequiredResult with multiple input requests",
            schema: no_args,
            run: |_, ctx| {
                if let Some(r) = responses(ctx)
                    && let (Some(u), Some(g), Some(c)) =
                        (r.get("user_name"), r.get("greeting"), r.get("client_roots"))
                    && state_json(ctx).is_some_and(|s| s["kind"] == "multiple-inputs")
                {
                    let greeting = g
                        .get("content")
                        .and_then(|c| c.get("text"))
                        .and_then(Value::as_str)
                        .unwrap_or("Hello there!");
                    let roots = c.get("roots").and_then(Value::as_array).map_or(0, Vec::len);
                    return text(format!(
                        "Name: {}; Greeting: {greeting}; Roots: {roots}",
                        answer_text(u, "name")
                    ));
                }
                input_required(
                    json!({
                        "user_name": elicit("What is your name?", "name", "string"),
                        "greeting": sample("Generate a greeting", 50),
                        "client_roots": {"method": "roots/list", "params": {}}
                    }),
                    Some(json!({"kind": "multiple-inputs", "nonce": nonce()})),
                )
            },
        },
        Fixture {
            name: "test_input_required_result_multi_round",
            description: "MRTR: multi-round InputRequiredResult workflow",
            schema: no_args,
            run: |_, ctx| {
                let state = state_json(ctx);
                let r = responses(ctx);
                let round = state.as_ref().and_then(|s| s["round"].as_u64());
                if round == Some(1)
                    && let Some(a) = r.and_then(|r| r.get("step1"))
                {
                    return input_required(
                        json!({"step2": elicit("Step 2: What is your favorite color?", "color", "string")}),
                        Some(json!({"round": 2, "name": answer_text(a, "name"), "nonce": nonce()})),
                    );
                }
                if round == Some(2)
                    && let Some(a) = r.and_then(|r| r.get("step2"))
                {
                    let name = state
                        .as_ref()
                        .and_then(|s| s["name"].as_str())
                        .unwrap_or("friend")
                        .to_string();
                    return text(format!(
                        "Multi-round complete for {name} who likes {}",
                        answer_text(a, "color")
                    ));
                }
                input_required(
                    json!({"step1": elicit("Step 1: What is your name?", "name", "string")}),
                    Some(json!({"round": 1, "nonce": nonce()})),
                )
            },
        },
        Fixture {
            name: "test_input_required_result_tampered_state",
            description: "MRTR: HMAC-signed requestState integrity test",
            schema: no_args,
            run: |_, ctx| {
                // The server verifies the HMAC before this runs: a tampered state never arrives.
                if state_json(ctx).is_some_and(|s| s["kind"] == "tamper-test")
                    && responses(ctx).is_some_and(|r| r.contains_key("confirm"))
                {
                    return text("integrity-ok: state verified");
                }
                input_required(
                    json!({"confirm": elicit("Please confirm", "ok", "boolean")}),
                    Some(json!({"kind": "tamper-test", "nonce": nonce()})),
                )
            },
        },
        Fixture {
            name: "test_input_required_result_capabilities",
            description: "MRTR: respects client capabilities in inputRequests",
            schema: no_args,
            run: |_, ctx| {
                if let Some(r) = responses(ctx) {
                    return text(format!(
                        "capabilities-ok: received {}",
                        r.keys().cloned().collect::<Vec<_>>().join(",")
                    ));
                }
                let mut reqs = Map::new();
                if ctx.client_caps.get("elicitation").is_some() {
                    reqs.insert(
                        "elicit_input".into(),
                        elicit("Elicitation input", "value", "string"),
                    );
                }
                if ctx.client_caps.get("sampling").is_some() {
                    reqs.insert("sample_input".into(), sample("Sample request", 50));
                }
                if reqs.is_empty() {
                    return text("No supported capabilities declared");
                }
                input_required(
                    Value::Object(reqs),
                    Some(json!({"kind": "capabilities-test", "nonce": nonce()})),
                )
            },
        },
        Fixture {
            name: "test_streaming_elicitation",
            description: "Diagnostic tool validating response progress streams",
            schema: no_args,
            run: |_, ctx| {
                ctx.client.progress(50.0, Some(100.0), Some("halfway"));
                text("Streaming complete")
            },
        },
        Fixture {
            name: "test_logging_tool",
            description: "Diagnostic logging validator tool",
            schema: no_args,
            run: |_, ctx| {
                ctx.client
                    .log(LogLevel::Info, json!("Diagnostic trace logging activated"));
                text("Logging evaluated")
            },
        },
        Fixture {
            name: "test_trigger_tool_change",
            description: "Announces a tools list change to listen streams",
            schema: no_args,
            run: |_, ctx| {
                ctx.client.list_changed(ListKind::Tools);
                text("Mutation triggered")
            },
        },
        Fixture {
            name: "test_trigger_prompt_change",
            description: "Announces a prompts list change to listen streams",
            schema: no_args,
            run: |_, ctx| {
                ctx.client.list_changed(ListKind::Prompts);
                text("Mutation triggered")
            },
        },
    ]
}

fn elicitation_completed(ctx: &ToolCtx<'_>, params: Value) -> Result<ToolOutcome, ToolError> {
    match legacy_request(ctx, "elicitation/create", params) {
        Ok(r) => text(format!(
            "Elicitation completed: action={}, content={}",
            r.get("action").and_then(Value::as_str).unwrap_or(""),
            r.get("content").cloned().unwrap_or(json!({}))
        )),
        Err(e) => text(format!("Elicitation not supported or error: {e}")),
    }
}

#[derive(Default)]
pub struct Fixtures {}

fn text_resource(uri: &str, mime: &str, text: String) -> ResourceContents {
    ResourceContents {
        uri: uri.into(),
        mime_type: Some(mime.into()),
        body: ResourceBody::Text(text),
    }
}

impl Fixtures {
    pub fn new() -> Self {
        Fixtures {}
    }

    pub fn tools(&self) -> Vec<Arc<dyn Tool>> {
        fixtures()
            .into_iter()
            .map(|f| Arc::new(f) as Arc<dyn Tool>)
            .collect()
    }

    pub fn resources(&self) -> Vec<ResourceInfo> {
        let r = |uri: &str, name: &str, title: &str, description: &str, mime: &str| ResourceInfo {
            uri: uri.into(),
            name: name.into(),
            title: Some(title.into()),
            description: Some(description.into()),
            mime_type: Some(mime.into()),
            ..Default::default()
        };
        vec![
            r(
                "test://static-text",
                "static-text",
                "Static Text Resource",
                "A static text resource for testing",
                "text/plain",
            ),
            r(
                "test://static-binary",
                "static-binary",
                "Static Binary Resource",
                "A static binary resource (image) for testing",
                "image/png",
            ),
            r(
                "test://watched-resource",
                "watched-resource",
                "Watched Resource",
                "A resource clients may subscribe to",
                "text/plain",
            ),
        ]
    }

    pub fn templates(&self) -> Vec<ResourceTemplate> {
        vec![ResourceTemplate {
            uri_template: "test://template/{id}/data".into(),
            name: "template".into(),
            title: Some("Resource Template".into()),
            description: Some("A resource template with parameter substitution".into()),
            mime_type: Some("application/json".into()),
        }]
    }

    pub fn read(&self, uri: &str) -> Option<Vec<ResourceContents>> {
        let c = match uri {
            "test://static-text" => text_resource(
                uri,
                "text/plain",
                "This is the content of the static text resource.".into(),
            ),
            "test://static-binary" => ResourceContents {
                uri: uri.into(),
                mime_type: Some("image/png".into()),
                body: ResourceBody::Blob(PNG.clone().into()),
            },
            "test://watched-resource" => {
                text_resource(uri, "text/plain", "Watched resource content".into())
            }
            _ => {
                let id = uri
                    .strip_prefix("test://template/")?
                    .strip_suffix("/data")?;
                if id.is_empty() || id.contains('/') {
                    return None;
                }
                text_resource(
                    uri,
                    "application/json",
                    json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")})
                        .to_string(),
                )
            }
        };
        Some(vec![c])
    }

    pub fn prompts(&self) -> Vec<PromptDef> {
        let arg = |n: &str, d: &str| PromptArgument {
            name: n.into(),
            description: Some(d.into()),
            required: true,
        };
        let p = |name: &str, title: &str, description: &str, arguments: Vec<PromptArgument>| {
            PromptDef {
                name: name.into(),
                title: Some(title.into()),
                description: description.into(),
                arguments,
            }
        };
        vec![
            p(
                "test_simple_prompt",
                "Simple Test Prompt",
                "A simple prompt without arguments",
                vec![],
            ),
            p(
                "test_prompt_with_arguments",
                "Prompt With Arguments",
                "A prompt with required arguments",
                vec![
                    arg("arg1", "First test argument"),
                    arg("arg2", "Second test argument"),
                ],
            ),
            p(
                "test_prompt_with_embedded_resource",
                "Prompt With Embedded Resource",
                "A prompt that includes an embedded resource",
                vec![arg("resourceUri", "URI of the resource to embed")],
            ),
            p(
                "test_prompt_with_image",
                "Prompt With Image",
                "A prompt that includes image content",
                vec![],
            ),
            p(
                "test_input_required_result_prompt",
                "MRTR Prompt",
                "MRTR: prompt that requires elicitation input",
                vec![],
            ),
        ]
    }

    pub fn get_prompt(
        &self,
        name: &str,
        args: &Map<String, Value>,
        ctx: &ToolCtx<'_>,
    ) -> Option<Result<PromptOutcome, String>> {
        let user = |content: Content| PromptMessage {
            role: "user",
            content,
        };
        let done = |messages: Vec<PromptMessage>| {
            Some(Ok(PromptOutcome::Complete(PromptResult {
                description: None,
                messages,
            })))
        };
        let arg = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_owned);
        match name {
            "test_simple_prompt" => done(vec![user(Content::text(
                "This is a simple prompt for testing.",
            ))]),
            "test_prompt_with_arguments" => {
                let (Some(a1), Some(a2)) = (arg("arg1"), arg("arg2")) else {
                    return Some(Err("missing required arguments arg1 and arg2".into()));
                };
                done(vec![user(Content::text(format!(
                    "Prompt with arguments: arg1='{a1}', arg2='{a2}'"
                )))])
            }
            "test_prompt_with_embedded_resource" => {
                let Some(uri) = arg("resourceUri") else {
                    return Some(Err("missing required argument resourceUri".into()));
                };
                done(vec![
                    user(Content::Embedded(text_resource(
                        &uri,
                        "text/plain",
                        "Embedded resource content for testing.".into(),
                    ))),
                    user(Content::text("Please process the embedded resource above.")),
                ])
            }
            "test_prompt_with_image" => done(vec![
                user(Content::image(PNG.clone(), "image/png")),
                user(Content::text("Please analyze the image above.")),
            ]),
            "test_input_required_result_prompt" => {
                if ctx.version < ProtocolVersion::V2026_07_28 {
                    return done(vec![user(Content::text(
                        "Prompt with context: (input requests need protocol 2026-07-28)",
                    ))]);
                }
                match ctx.input_responses.and_then(|r| r.get("user_context")) {
                    Some(a) => done(vec![user(Content::text(format!("Prompt with context: {}", answer_text(a, "context"))))]),
                    None => Some(Ok(PromptOutcome::InputRequired {
                        input_requests: json!({"user_context": elicit("What context should the prompt use?", "context", "string")})
                            .as_object().cloned().unwrap_or_default(),
                        request_state: None,
                    })),
                }
            }
            _ => None,
        }
    }

    pub fn complete_prompt(&self, name: &str, arg: &str, value: &str) -> Option<Vec<String>> {
        if name != "test_prompt_with_arguments" {
            return None;
        }
        let options: &[&str] = match arg {
            "arg1" => &["paris", "park", "party"],
            "arg2" => &["red", "green", "blue"],
            _ => &[],
        };
        Some(
            options
                .iter()
                .filter(|o| o.starts_with(value))
                .map(|o| o.to_string())
                .collect(),
        )
    }
}

impl ToolProvider for Fixtures {
    fn tools(&self) -> Vec<Arc<dyn Tool>> {
        Fixtures::tools(self)
    }
    /// Fixture tools announce list changes (a conformance scenario asks for them).
    fn list_changes(&self) -> bool {
        true
    }
}

impl ResourceProvider for Fixtures {
    fn list(&self, cursor: Option<&str>) -> Result<Page<ResourceInfo>, ResourceError> {
        match cursor {
            None => Ok(Page {
                items: self.resources(),
                next_cursor: None,
            }),
            Some(_) => Err(ResourceError::InvalidCursor),
        }
    }
    fn templates(&self) -> Vec<ResourceTemplate> {
        Fixtures::templates(self)
    }
    fn owns(&self, uri: &str) -> bool {
        uri.starts_with("test://")
    }
    fn read(
        &self,
        uri: &str,
        _cancelled: &dyn Fn() -> bool,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        Fixtures::read(self, uri).ok_or_else(|| ResourceError::NotFound { uri: uri.into() })
    }
    fn complete(
        &self,
        template: &str,
        _arg: &str,
        _value: &str,
        _context: &Map<String, Value>,
    ) -> Option<Completions> {
        template.starts_with("test://").then(|| (vec![], 0))
    }
}

impl PromptProvider for Fixtures {
    fn prompts(&self) -> Vec<PromptDef> {
        Fixtures::prompts(self)
    }
    fn get(
        &self,
        name: &str,
        args: &Map<String, Value>,
        ctx: &ToolCtx<'_>,
    ) -> Option<Result<PromptOutcome, PromptError>> {
        self.get_prompt(name, args, ctx)
            .map(|r| r.map_err(PromptError::InvalidArguments))
    }
    fn complete(&self, prompt: &str, arg: &str, value: &str) -> Option<Completions> {
        self.complete_prompt(prompt, arg, value).map(|v| {
            let n = v.len();
            (v, n)
        })
    }
    fn list_changes(&self) -> bool {
        true
    }
}
