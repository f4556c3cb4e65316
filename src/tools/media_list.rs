//! Tool `media_list`: lists media files, filtered by kind, root and glob, paged; returns
//! `resource_link` blocks plus `structuredContent`.
//! Must not know about the server or transports.

use crate::library::{Entry, Library, MediaKind, iso8601};
use crate::protocol::cursor;
use crate::protocol::types::{
    Annotations, Content, ResourceInfo, ToolAnnotations, ToolDef, ToolResult,
};
use crate::tools::{Tool, ToolCtx, ToolError, ToolOutcome, nullable_optionals, parse_args};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Default and largest page of `media_list`.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

pub struct MediaList {
    lib: Arc<Library>,
}

impl MediaList {
    pub fn new(lib: Arc<Library>) -> Self {
        MediaList { lib }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    kind: Option<String>,
    glob: Option<String>,
    root: Option<String>,
    cursor: Option<String>,
    limit: Option<usize>,
}

/// The `Resource` shape of a library entry (shared by `resources/list` and tools).
pub fn entry_info(lib: &Library, e: &Entry) -> ResourceInfo {
    let root = &lib.roots()[e.root].name;
    ResourceInfo {
        uri: e.uri.clone(),
        name: e.file_name().to_string(),
        title: Some(format!("{root}/{}", e.rel)),
        description: Some(format!(
            "{} file ({}) in root '{root}'",
            e.kind.as_str(),
            e.mime
        )),
        mime_type: Some(e.mime.to_string()),
        size: Some(e.size),
        annotations: e.modified.map(|m| Annotations {
            last_modified: Some(iso8601(m)),
            ..Default::default()
        }),
    }
}

impl Tool for MediaList {
    fn cost(&self) -> crate::tools::Cost {
        crate::tools::Cost::Light
    }

    fn def(&self) -> ToolDef {
        ToolDef {
            name: "media_list".into(),
            title: Some("List media".into()),
            description: "List the audio, image and video files in the media library. Filter by \
                kind, root and glob (matched against the path inside its root, e.g. '**/*.flac'); \
                results are paged (pass nextCursor back as cursor). Each file is returned as a \
                resource_link whose uri can be passed to media_probe or resources/read."
                .into(),
            input_schema: nullable_optionals(json!({
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["audio", "image", "video"], "description": "Only files of this kind."},
                    "glob": {"type": "string", "description": "Glob over the path inside the root, e.g. 'podcasts/**/*.mp3'."},
                    "root": {"type": "string", "description": "Only files under this root name."},
                    "cursor": {"type": "string", "description": "nextCursor from a previous call."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "description": "Page size (default 50)."}
                },
                "additionalProperties": false
            })),
            output_schema: Some(json!({
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "uri": {"type": "string"}, "name": {"type": "string"},
                            "kind": {"type": "string", "enum": ["audio", "image", "video"]},
                            "mimeType": {"type": "string"}, "size": {"type": "integer"}
                        },
                        "required": ["uri", "name", "kind", "mimeType", "size"]
                    }},
                    "total": {"type": "integer", "description": "Matching files over all pages."},
                    "nextCursor": {"type": "string"},
                    "truncated": {"type": "boolean", "description": "The library scan stopped at its entry limit (--max-scan-entries): some files are not listed."}
                },
                "required": ["items", "total"]
            })),
            annotations: Some(ToolAnnotations::read_only_local("List media")),
        }
    }

    fn call(
        &self,
        args: &Map<String, Value>,
        _ctx: &ToolCtx<'_>,
    ) -> Result<ToolOutcome, ToolError> {
        let a: Args = parse_args(args)?;
        let kind = match a.kind.as_deref() {
            None => None,
            Some(k) => Some(MediaKind::parse(k).ok_or_else(|| {
                ToolError::InvalidArguments(format!(
                    "kind must be audio, image or video, not {k:?}"
                ))
            })?),
        };
        let root = match a.root.as_deref() {
            None => None,
            Some(r) => Some(
                self.lib
                    .roots()
                    .iter()
                    .position(|x| x.name == r)
                    .ok_or_else(|| {
                        ToolError::InvalidArguments(format!(
                            "unknown root {r:?}; roots are: {}",
                            self.lib.root_names()
                        ))
                    })?,
            ),
        };
        let glob = match a.glob.as_deref() {
            None => None,
            Some(g) => Some(
                globset::GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| ToolError::InvalidArguments(format!("invalid glob {g:?}: {e}")))?
                    .compile_matcher(),
            ),
        };
        let limit = a.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ToolError::InvalidArguments(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let scope = format!(
            "media_list:{}",
            cursor::digest(&[
                a.kind.as_deref().unwrap_or(""),
                a.glob.as_deref().unwrap_or(""),
                a.root.as_deref().unwrap_or("")
            ])
        );
        let offset = match a.cursor.as_deref() {
            None => 0,
            Some(c) => cursor::decode(&scope, c).ok_or_else(|| {
                ToolError::InvalidArguments(
                    "invalid cursor: pass the nextCursor of a previous media_list call with the same filters".into(),
                )
            })?,
        };
        let index = self.lib.index();
        let matching: Vec<&Entry> = index
            .entries
            .iter()
            .filter(|e| kind.is_none_or(|k| e.kind == k))
            .filter(|e| root.is_none_or(|r| e.root == r))
            .filter(|e| glob.as_ref().is_none_or(|g| g.is_match(&e.rel)))
            .collect();
        if offset > matching.len() {
            return Err(ToolError::InvalidArguments(
                "invalid cursor: past the end of the list".into(),
            ));
        }
        let (range, next) = cursor::page(matching.len(), offset, limit);
        let page = &matching[range];
        let items: Vec<Value> = page
            .iter()
            .map(|e| {
                json!({"uri": e.uri, "name": e.file_name(), "kind": e.kind.as_str(),
                       "mimeType": e.mime, "size": e.size})
            })
            .collect();
        let mut structured = json!({"items": items, "total": matching.len()});
        if index.truncated {
            structured["truncated"] = true.into();
        }
        if let Some(n) = next {
            structured["nextCursor"] = cursor::encode(&scope, n).into();
        }
        let mut content = vec![Content::text(structured.to_string())];
        content.extend(page.iter().map(|e| Content::Link(entry_info(&self.lib, e))));
        Ok(ToolResult {
            content,
            structured: Some(structured),
            is_error: false,
        }
        .into())
    }
}
