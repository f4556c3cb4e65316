//! Every message the server writes, in each era, validated against the official MCP JSON schema
//! of that revision (2025-11-25 and 2026-07-28: the schemas the conformance suite bundles,
//! extracted by `tests/schemas/extract.mjs`; `tests/run` does that before `cargo test`).

use crate::util::{Server, modern, samples};
use serde_json::{Value, json};
use std::path::PathBuf;

pub fn schema(version: &str) -> Value {
    let dir = std::env::var_os("MCP_SCHEMA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/schemas"));
    let path = dir.join(format!("{version}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("official schema {} missing ({e}); run tests/run, which extracts it from the conformance suite", path.display())
    });
    serde_json::from_str(&text).unwrap()
}

/// Validates `instance` against `#/$defs/<def>` of `root`; returns the errors.
pub fn check(root: &Value, def: &str, instance: &Value) -> Vec<String> {
    assert!(root["$defs"].get(def).is_some(), "no definition {def}");
    let mut s = json!({"$ref": format!("#/$defs/{def}"), "$defs": root["$defs"].clone()});
    s["$schema"] = root["$schema"].clone();
    let v = jsonschema::validator_for(&s).expect("schema compiles");
    v.iter_errors(instance)
        .map(|e| format!("{def}: {e} at {}", e.instance_path()))
        .collect()
}

fn result_def(method: &str, result: &Value) -> &'static str {
    if result["resultType"] == "input_required" {
        return "InputRequiredResult";
    }
    match method {
        "initialize" => "InitializeResult",
        "server/discover" => "DiscoverResult",
        "tools/list" => "ListToolsResult",
        "tools/call" => "CallToolResult",
        "resources/list" => "ListResourcesResult",
        "resources/templates/list" => "ListResourceTemplatesResult",
        "resources/read" => "ReadResourceResult",
        "prompts/list" => "ListPromptsResult",
        "prompts/get" => "GetPromptResult",
        "completion/complete" => "CompleteResult",
        _ => "Result",
    }
}

/// Runs a varied session and validates everything received.
fn run_session(version: &str, legacy: bool) -> usize {
    let root = schema(version);
    let mut s = Server::spawn(&[
        "--conformance",
        "--page-size",
        "5",
        &samples().to_string_lossy(),
    ]);
    let p = |v: Value| if legacy { v } else { modern(v) };
    let mut sent: Vec<(Value, &str)> = vec![(json!("init"), "initialize")];
    let mut call = |s: &mut Server, id: i64, method: &'static str, params: Value| {
        s.request(json!(id), method, params);
        sent.push((json!(id), method));
    };
    if legacy {
        s.initialize(version, json!({"elicitation": {}, "sampling": {}}));
        call(&mut s, 1, "ping", json!({}));
        call(&mut s, 2, "logging/setLevel", json!({"level": "debug"}));
        call(
            &mut s,
            3,
            "resources/subscribe",
            json!({"uri": "media://samples/audio/tone.wav"}),
        );
    } else {
        call(&mut s, 1, "server/discover", p(json!({})));
    }
    call(&mut s, 10, "tools/list", p(json!({})));
    call(&mut s, 11, "resources/list", p(json!({})));
    call(&mut s, 12, "resources/templates/list", p(json!({})));
    call(&mut s, 13, "prompts/list", p(json!({})));
    call(
        &mut s,
        14,
        "resources/read",
        p(json!({"uri": "media://samples/images/alpha.png"})),
    );
    call(
        &mut s,
        15,
        "resources/read",
        p(json!({"uri": "media://samples/audio/tone.wav?offset=10&length=100"})),
    );
    call(
        &mut s,
        16,
        "resources/read",
        p(json!({"uri": "test://static-text"})),
    );
    call(
        &mut s,
        17,
        "tools/call",
        p(json!({"name": "media_list", "arguments": {"kind": "audio", "limit": 3}})),
    );
    call(
        &mut s,
        18,
        "tools/call",
        p(json!({"name": "media_probe", "arguments": {"uri": "media://samples/images/photo.jpg"}})),
    );
    call(
        &mut s,
        19,
        "tools/call",
        p(json!({"name": "media_probe", "arguments": {"uri": "media://samples/bad/empty.wav"}})),
    );
    for (i, name) in [
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_error_handling",
        "test_tool_with_logging",
    ]
    .iter()
    .enumerate()
    {
        call(
            &mut s,
            20 + i as i64,
            "tools/call",
            p(json!({"name": name, "arguments": {}})),
        );
    }
    let mut prog = p(json!({"name": "test_tool_with_progress", "arguments": {}}));
    prog["_meta"]["progressToken"] = json!("pt");
    call(&mut s, 30, "tools/call", prog);
    call(
        &mut s,
        31,
        "prompts/get",
        p(
            json!({"name": "describe_media", "arguments": {"uri": "media://samples/images/alpha.png"}}),
        ),
    );
    call(
        &mut s,
        32,
        "prompts/get",
        p(json!({"name": "test_prompt_with_image", "arguments": {}})),
    );
    call(
        &mut s,
        33,
        "completion/complete",
        p(
            json!({"ref": {"type": "ref/resource", "uri": "media://{root}/{+path}{?offset,length}"}, "argument": {"name": "path", "value": "audio/"}}),
        ),
    );
    call(
        &mut s,
        34,
        "resources/read",
        p(json!({"uri": "media://samples/nope.wav"})),
    );
    call(&mut s, 35, "no/such/method", p(json!({})));
    if !legacy {
        call(
            &mut s,
            36,
            "tools/call",
            p(json!({"name": "test_input_required_result_multiple_inputs", "arguments": {}})),
        );
        call(
            &mut s,
            37,
            "prompts/get",
            p(json!({"name": "test_input_required_result_prompt", "arguments": {}})),
        );
    }
    call(
        &mut s,
        40,
        "tools/call",
        p(
            json!({"name": "audio_transcode", "arguments": {"uri": "media://samples/audio/tone.flac", "sample_rate": 16000, "channels": 1, "chunk_seconds": 1.5}}),
        ),
    );
    call(
        &mut s,
        41,
        "tools/call",
        p(
            json!({"name": "audio_transcode", "arguments": {"uri": "media://samples/audio/voice_16k.wav", "inline": true}}),
        ),
    );
    call(
        &mut s,
        42,
        "tools/call",
        p(json!({"name": "media_probe", "arguments": {"uri": "media://samples/audio/tone.mp3"}})),
    );
    call(
        &mut s,
        43,
        "resources/read",
        p(
            json!({"uri": "media://samples/audio/tone.ogg?start=1&duration=0.5&rate=16000&channels=1"}),
        ),
    );
    s.send_raw(b"{broken\n");
    // (Every message is kept in `seen`, whatever `wait_for` skips.)
    let (parse_error, _) = s.wait_for(|m| m.get("error").is_some() && m.get("id").is_none());
    assert_eq!(parse_error["error"]["code"], -32700, "{parse_error}");

    let mut errors = vec![];
    for m in &s.seen {
        errors.extend(check(&root, "JSONRPCMessage", m));
        if let Some(method) = m.get("method").and_then(Value::as_str) {
            let def = if m.get("id").is_some() {
                "ServerRequest"
            } else {
                "ServerNotification"
            };
            let mut inner = m.clone();
            inner.as_object_mut().unwrap().remove("id");
            errors.extend(
                check(&root, def, &inner)
                    .into_iter()
                    .map(|e| format!("{method}: {e}")),
            );
        } else if let Some(result) = m.get("result") {
            let method = sent
                .iter()
                .find(|(id, _)| Some(id) == m.get("id"))
                .map_or("", |(_, mm)| mm);
            errors.extend(
                check(&root, result_def(method, result), result)
                    .into_iter()
                    .map(|e| format!("{method}: {e}")),
            );
        } else {
            errors.extend(check(&root, "JSONRPCErrorResponse", m));
        }
    }
    assert!(
        errors.is_empty(),
        "{version} ({} messages): {:#?}",
        s.seen.len(),
        errors
    );
    s.seen.len()
}

#[test]
fn modern_2026_07_28_messages_match_the_official_schema() {
    assert!(run_session("2026-07-28", false) > 25);
}

#[test]
fn legacy_2025_11_25_messages_match_the_official_schema() {
    assert!(run_session("2025-11-25", true) > 25);
}

/// Calls that must succeed, per production tool (a tool missing here fails the test).
fn succeeding_calls(tool: &str) -> Vec<Value> {
    match tool {
        "media_list" => vec![
            json!({}),
            json!({"kind": "audio", "limit": 3}),
            json!({"kind": "image"}),
            json!({"kind": "video"}),
            json!({"glob": "**/*.flac", "limit": 1}),
        ],
        "media_probe" => vec![
            json!({"uri": "media://samples/audio/tone.mp3"}),
            json!({"uri": "media://samples/audio/surround_5_1.flac"}),
            json!({"uri": "media://samples/images/photo.jpg"}),
            json!({"uri": "media://samples/images/anim.gif"}),
            json!({"uri": "media://samples/video/clip_h264_aac.mp4"}),
            json!({"uri": "media://samples/video/clip_vp9_opus.webm"}),
        ],
        "audio_transcode" => vec![
            json!({"uri": "media://samples/audio/tone.flac", "sample_rate": 16000, "channels": 1, "chunk_seconds": 1.5}),
            json!({"uri": "media://samples/audio/voice_16k.wav", "inline": true}),
            json!({"uri": "media://samples/audio/tone.wav", "format": "opus", "sample_rate": 16000, "start": 1, "duration": 1}),
            json!({"uri": "media://samples/video/clip_h264_aac.mp4", "sample_rate": 16000, "channels": 1}),
        ],
        "audio_spectrogram" => vec![
            json!({"uri": "media://samples/audio/tone.wav"}),
            json!({"uri": "media://samples/audio/voice_16k.wav", "width": 64, "height": 32, "max_hz": 4000, "floor_db": -60}),
            json!({"uri": "media://samples/video/clip_vp9_opus.webm", "start": 0.5, "duration": 1}),
        ],
        "image_transform" => vec![
            json!({"uri": "media://samples/images/photo.jpg"}),
            json!({"uri": "media://samples/images/alpha.png", "max_width": 32, "format": "png"}),
            json!({"uri": "media://samples/images/scan.tif", "max_bytes": 20000, "quality": 70}),
            json!({"uri": "media://samples/images/anim.gif", "frames": 2}),
        ],
        "image_tiles" => vec![
            json!({"uri": "media://samples/images/photo.jpg", "rows": 2, "cols": 2}),
            json!({"uri": "media://samples/images/photo.jpg", "tile_size": 256, "overlap": 16, "inline": false}),
        ],
        "video_frames" => vec![
            json!({"uri": "media://samples/video/clip_h264_aac.mp4"}),
            json!({"uri": "media://samples/video/clip_vp9_opus.webm", "times": [0.5, 9], "max_width": 64, "format": "png"}),
            json!({"uri": "media://samples/video/clip_1080p.mp4", "count": 16, "format": "png", "max_width": 640}),
        ],
        "video_storyboard" => vec![
            json!({"uri": "media://samples/video/clip.mkv", "count": 4}),
            json!({"uri": "media://samples/video/clip_h264_aac.mp4", "count": 6, "columns": 2, "start": 0.5, "end": 1.5}),
        ],
        "video_scenes" => vec![
            json!({"uri": "media://samples/video/clip_h264_aac.mp4"}),
            json!({"uri": "media://samples/video/clip.mkv", "threshold": 0.1, "max": 3}),
        ],
        "video_clip" => vec![
            json!({"uri": "media://samples/video/clip_h264_aac.mp4", "start": 0, "duration": 1, "max_height": 120}),
        ],
        other => panic!("no succeeding arguments for tool {other}: add them here"),
    }
}

/// Calls that must fail with an `isError` result, per production tool.
fn failing_calls(tool: &str) -> Vec<Value> {
    match tool {
        "media_list" => vec![json!({"kind": "sound"}), json!({"cursor": "bm9wZQ"})],
        "media_probe" => vec![
            json!({"uri": "media://samples/bad/empty.wav"}),
            json!({"uri": "media://samples/nope.wav"}),
            json!({"nope": 1}),
        ],
        "audio_transcode" => vec![
            json!({"uri": "media://samples/images/alpha.png"}),
            json!({"uri": "media://samples/audio/tone.wav", "start": 9999}),
            json!({"uri": "media://samples/bad/garbage.wav"}),
        ],
        "audio_spectrogram" => vec![
            json!({"uri": "media://samples/images/alpha.png"}),
            json!({"uri": "media://samples/bad/empty.wav"}),
            json!({"uri": "media://samples/audio/tone.wav", "duration": 0}),
        ],
        "image_transform" => vec![
            json!({"uri": "media://samples/audio/tone.wav"}),
            json!({"uri": "media://samples/bad/bomb.png"}),
            json!({"uri": "media://samples/images/photo.jpg", "crop": {"x": 9999, "y": 0, "width": 5, "height": 5}}),
        ],
        "image_tiles" => vec![
            json!({"uri": "media://samples/audio/tone.wav"}),
            json!({"uri": "media://samples/bad/bomb.png", "rows": 2}),
        ],
        "video_frames" => vec![
            json!({"uri": "media://samples/audio/tone.wav"}),
            json!({"uri": "media://samples/video/clip_h264_aac.mp4", "count": 17}),
        ],
        "video_storyboard" => vec![
            json!({"uri": "media://samples/video/clip_h264_aac.mp4", "count": 65}),
            json!({"uri": "media://samples/video/clip_h264_aac.mp4", "start": 30}),
        ],
        "video_scenes" => vec![
            json!({"uri": "media://samples/images/photo.jpg"}),
            json!({"uri": "media://samples/video/clip.mkv", "threshold": 2}),
        ],
        "video_clip" => vec![
            json!({"uri": "media://samples/video/clip_h264_aac.mp4", "start": 5, "duration": 1}),
            json!({"uri": "media://samples/video/clip_h264_aac.mp4", "start": 0, "duration": 0}),
        ],
        other => panic!("no failing arguments for tool {other}: add them here"),
    }
}

/// `schema` with `additionalProperties: false` on every object schema that lists its
/// properties and says nothing about others: a result then validates only if the schema
/// declares everything it carries.
fn closed(schema: &Value) -> Value {
    match schema {
        Value::Object(m) => {
            let mut out: serde_json::Map<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), closed(v))).collect();
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                out.insert("additionalProperties".into(), json!(false));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(closed).collect()),
        other => other.clone(),
    }
}

/// Calls every production tool listed by `tools/list` and validates each `structuredContent`
/// against that tool's own `outputSchema`, and against it closed (so every property a result
/// carries is declared); `isError` results must not carry a `structuredContent` that violates
/// it either. Returns the number of results validated.
fn tools_match_their_output_schemas(version: &str, legacy: bool) -> usize {
    let mut s = Server::spawn(&[&samples().to_string_lossy()]);
    let p = |v: Value| if legacy { v } else { modern(v) };
    if legacy {
        s.initialize(version, json!({}));
    }
    let tools = s.request(json!("list"), "tools/list", p(json!({})));
    let tools = tools["result"]["tools"].as_array().expect("tools").clone();
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "audio_spectrogram",
            "audio_transcode",
            "image_tiles",
            "image_transform",
            "media_list",
            "media_probe",
            "video_clip",
            "video_frames",
            "video_scenes",
            "video_storyboard"
        ]
    );
    let mut errors = vec![];
    let mut validated = 0;
    let mut id = 0;
    for tool in &tools {
        let name = tool["name"].as_str().unwrap();
        let schema = &tool["outputSchema"];
        assert_eq!(schema["type"], "object", "{name}: outputSchema {schema}");
        let v = jsonschema::validator_for(schema)
            .unwrap_or_else(|e| panic!("{name}: outputSchema does not compile: {e}"));
        assert!(
            !v.is_valid(&json!({})),
            "{name}: an outputSchema that accepts {{}} checks nothing: {schema}"
        );
        let strict = jsonschema::validator_for(&closed(schema)).unwrap();
        let calls = succeeding_calls(name)
            .into_iter()
            .map(|a| (a, false))
            .chain(failing_calls(name).into_iter().map(|a| (a, true)));
        for (args, should_fail) in calls {
            id += 1;
            let r = s.request(
                json!(id),
                "tools/call",
                p(json!({"name": name, "arguments": args})),
            );
            let result = &r["result"];
            assert!(result.is_object(), "{name} {args}: {r}");
            let is_error = result["isError"] == true;
            // What the call returned, without the (large) media payloads.
            let brief = || {
                let kinds: Vec<&Value> = result["content"]
                    .as_array()
                    .map(|c| c.iter().map(|b| &b["type"]).collect())
                    .unwrap_or_default();
                format!(
                    "isError {is_error}, content {kinds:?}, text {}, structuredContent {}",
                    result["content"][0]["text"], result["structuredContent"]
                )
            };
            assert_eq!(is_error, should_fail, "{name} {args}: {}", brief());
            let Some(sc) = result.get("structuredContent") else {
                assert!(is_error, "{name} {args}: no structuredContent: {}", brief());
                continue;
            };
            validated += 1;
            errors.extend(
                v.iter_errors(sc)
                    .map(|e| format!("{name} {args}: {e} at {}", e.instance_path())),
            );
            let mut extra = sc.clone();
            extra["__undeclared"] = json!(1);
            assert!(
                !strict.is_valid(&extra),
                "{name}: the closed schema is open"
            );
            errors.extend(strict.iter_errors(sc).map(|e| {
                format!(
                    "{name} {args}: undeclared in outputSchema: {e} at {}",
                    e.instance_path()
                )
            }));
        }
    }
    assert!(errors.is_empty(), "{version}: {errors:#?}");
    validated
}

#[test]
fn every_tool_result_matches_its_output_schema_modern() {
    let n = tools_match_their_output_schemas("2026-07-28", false);
    assert!(n >= 18, "{n} results validated");
}

#[test]
fn every_tool_result_matches_its_output_schema_legacy() {
    for version in ["2025-11-25", "2025-06-18"] {
        let n = tools_match_their_output_schemas(version, true);
        assert!(n >= 18, "{version}: {n} results validated");
    }
}
