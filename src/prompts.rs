//! Prompts of the media server: ready-made requests a user can pick in their client.
//! Must not know about the server or transports.

use crate::library::Library;
use crate::protocol::types::{
    Content, PromptArgument, PromptDef, PromptMessage, PromptResult, ResourceBody, ResourceContents,
};
use crate::tools::media_list::entry_info;
use serde_json::{Map, Value};
use std::sync::Arc;

pub use crate::provider::PromptError;
use crate::provider::{Completions, PromptOutcome, PromptProvider};
use crate::tools::ToolCtx;

/// Largest file the `describe_media` prompt embeds (`embed: "resource"`), raw bytes: about
/// 1 MiB once base64-encoded, what the strictest common clients take in one message.
pub const MAX_EMBED_BYTES: u64 = 768 * 1024;

/// Values of the `embed` argument of `describe_media`.
pub const EMBED_VALUES: [&str; 3] = ["none", "link", "resource"];

/// What `describe_media` attaches after its text message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Embed {
    /// Text only (the default): every client can take it.
    None,
    /// A `resource_link` message to the file.
    Link,
    /// The file itself as an embedded resource (up to [`MAX_EMBED_BYTES`]).
    Resource,
}

/// A prompt argument's text; `null` and `""` count as absent (strict-mode clients send them
/// for the optional arguments they do not use).
fn arg<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub struct Prompts {
    lib: Arc<Library>,
}

impl Prompts {
    pub fn new(lib: Arc<Library>) -> Self {
        Prompts { lib }
    }

    pub fn defs(&self) -> Vec<PromptDef> {
        vec![PromptDef {
            name: "describe_media".into(),
            title: Some("Describe a media file".into()),
            description: "Ask the model to describe one media file: what it is, its technical \
                properties, and (for images) what it shows."
                .into(),
            arguments: vec![
                PromptArgument {
                    name: "uri".into(),
                    description: Some("media:// URI of the file".into()),
                    required: true,
                },
                PromptArgument {
                    name: "embed".into(),
                    description: Some(format!(
                        "What to attach besides the text naming the URI: none (the default), \
                         link (a resource_link message) or resource (the file itself, up to {} \
                         bytes). Not every client accepts link or resource messages.",
                        MAX_EMBED_BYTES
                    )),
                    required: false,
                },
            ],
        }]
    }

    /// Blocking (stats the file; reads it with `embed: "resource"`).
    pub fn get(&self, name: &str, args: &Map<String, Value>) -> Result<PromptResult, PromptError> {
        if name != "describe_media" {
            return Err(PromptError::Unknown(name.into()));
        }
        let uri = arg(args, "uri").ok_or(PromptError::MissingArgument("uri"))?;
        let embed = match arg(args, "embed") {
            None | Some("none") => Embed::None,
            Some("link") => Embed::Link,
            Some("resource") => Embed::Resource,
            Some(other) => {
                return Err(PromptError::InvalidArgument {
                    name: "embed",
                    reason: format!("must be none, link or resource, not {other:?}"),
                });
            }
        };
        let r = self.lib.resolve(uri)?;
        let info = self.lib.stat(&r)?;
        let mut messages = vec![PromptMessage {
            role: "user",
            content: Content::text(format!(
                "Describe the {} file {uri} ({}, {} bytes). First call the media_probe tool on it \
                 for its technical properties, then summarise what it is and anything notable.",
                info.sniffed.kind.as_str(),
                info.sniffed.mime,
                info.size
            )),
        }];
        match embed {
            Embed::None => {}
            Embed::Link => {
                let index = self.lib.index();
                if let Some(l) = index
                    .entries
                    .iter()
                    .find(|e| e.root == r.root && e.rel == r.rel)
                    .map(|e| entry_info(&self.lib, e))
                {
                    messages.push(PromptMessage {
                        role: "user",
                        content: Content::Link(l),
                    });
                }
            }
            Embed::Resource => {
                if info.size > MAX_EMBED_BYTES {
                    return Err(PromptError::InvalidArgument {
                        name: "embed",
                        reason: format!(
                            "{uri} is {} bytes, above the {MAX_EMBED_BYTES} bytes a prompt embeds: use embed=link",
                            info.size
                        ),
                    });
                }
                let data = self.lib.read_range(&r, 0, info.size)?;
                messages.push(PromptMessage {
                    role: "user",
                    content: Content::Embedded(ResourceContents {
                        uri: r.uri.base(),
                        mime_type: Some(info.sniffed.mime.to_string()),
                        body: ResourceBody::Blob(data.into()),
                    }),
                });
            }
        }
        Ok(PromptResult {
            description: Some(format!("Describe {uri}")),
            messages,
        })
    }

    /// Completion values for a prompt argument.
    pub fn complete(&self, prompt: &str, arg: &str, value: &str) -> Option<(Vec<String>, usize)> {
        if prompt != "describe_media" {
            return None;
        }
        if arg == "embed" {
            let v: Vec<String> = EMBED_VALUES
                .iter()
                .filter(|e| e.starts_with(value))
                .map(|e| e.to_string())
                .collect();
            let n = v.len();
            return Some((v, n));
        }
        if arg != "uri" {
            return Some((vec![], 0));
        }
        let all: Vec<String> = self
            .lib
            .index()
            .entries
            .iter()
            .filter(|e| e.uri.starts_with(value))
            .map(|e| e.uri.clone())
            .collect();
        let total = all.len();
        Some((all.into_iter().take(100).collect(), total))
    }
}

impl PromptProvider for Prompts {
    fn prompts(&self) -> Vec<PromptDef> {
        self.defs()
    }
    fn get(
        &self,
        name: &str,
        args: &Map<String, Value>,
        _ctx: &ToolCtx<'_>,
    ) -> Option<Result<PromptOutcome, PromptError>> {
        if !self.defs().iter().any(|d| d.name == name) {
            return None;
        }
        Some(Prompts::get(self, name, args).map(PromptOutcome::Complete))
    }
    fn complete(&self, prompt: &str, arg: &str, value: &str) -> Option<Completions> {
        Prompts::complete(self, prompt, arg, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::LibraryLimits;
    use serde_json::json;
    use std::path::PathBuf;

    fn prompts() -> Prompts {
        let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples");
        let lib = Library::new(vec![("samples".into(), samples)], LibraryLimits::default());
        Prompts::new(Arc::new(lib.unwrap()))
    }

    #[test]
    fn null_or_empty_embed_means_text_only() {
        let p = prompts();
        for embed in [Value::Null, json!(""), json!("none")] {
            let args = json!({"uri": "media://samples/audio/tone.wav", "embed": embed});
            let r = p.get("describe_media", args.as_object().unwrap()).unwrap();
            assert_eq!(r.messages.len(), 1, "{embed}");
            assert!(matches!(r.messages[0].content, Content::Text(_)));
        }
        let args = json!({"uri": null});
        assert!(matches!(
            p.get("describe_media", args.as_object().unwrap()),
            Err(PromptError::MissingArgument("uri"))
        ));
    }

    #[test]
    fn embed_resource_is_bounded() {
        let p = prompts();
        // tone.wav is 3 s of 44.1 kHz stereo s16: about 529 KB, under the bound.
        let args = json!({"uri": "media://samples/audio/tone.wav", "embed": "resource"});
        let r = p.get("describe_media", args.as_object().unwrap()).unwrap();
        assert!(matches!(r.messages[1].content, Content::Embedded(_)));
        let tmp = tempfile::tempdir().unwrap();
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(MAX_EMBED_BYTES as usize + 1, 0);
        std::fs::write(tmp.path().join("big.png"), big).unwrap();
        let lib = Library::new(
            vec![("t".into(), tmp.path().into())],
            LibraryLimits::default(),
        );
        let p = Prompts::new(Arc::new(lib.unwrap()));
        let args = json!({"uri": "media://t/big.png", "embed": "resource"});
        let e = p
            .get("describe_media", args.as_object().unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("embed=link"), "{e}");
        let args = json!({"uri": "media://t/big.png", "embed": "link"});
        assert!(p.get("describe_media", args.as_object().unwrap()).is_ok());
    }
}
