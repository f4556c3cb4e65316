//! Prompts of the media server: ready-made requests a user can pick in their client.
//! Must not know about the server or transports.

use crate::library::Library;
use crate::protocol::types::{Content, PromptArgument, PromptDef, PromptMessage, PromptResult};
use crate::tools::media_list::entry_info;
use serde_json::{Map, Value};
use std::sync::Arc;

pub use crate::provider::PromptError;
use crate::provider::{Completions, PromptOutcome, PromptProvider};
use crate::tools::ToolCtx;

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
            arguments: vec![PromptArgument {
                name: "uri".into(),
                description: Some("media:// URI of the file".into()),
                required: true,
            }],
        }]
    }

    /// Blocking (stats the file).
    pub fn get(&self, name: &str, args: &Map<String, Value>) -> Result<PromptResult, PromptError> {
        if name != "describe_media" {
            return Err(PromptError::Unknown(name.into()));
        }
        let uri = args
            .get("uri")
            .and_then(Value::as_str)
            .ok_or(PromptError::MissingArgument("uri"))?;
        let r = self.lib.resolve(uri)?;
        let info = self.lib.stat(&r)?;
        let index = self.lib.index();
        let link = index
            .entries
            .iter()
            .find(|e| e.root == r.root && e.rel == r.rel)
            .map(|e| entry_info(&self.lib, e));
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
        if let Some(l) = link {
            messages.push(PromptMessage {
                role: "user",
                content: Content::Link(l),
            });
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
