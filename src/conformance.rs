//! The conformance suite's fixture tools, resources and prompts (`--conformance`), kept apart
//! from media code. Must not know about the server, transports or media.

use crate::protocol::types::{
    PromptDef, PromptResult, ResourceContents, ResourceInfo, ResourceTemplate,
};
use crate::tools::{Tool, ToolCtx};
use serde_json::{Map, Value};
use std::sync::Arc;

/// What a fixture prompt produced.
#[derive(Debug)]
pub enum PromptOutcome {
    Complete(PromptResult),
    InputRequired {
        input_requests: Map<String, Value>,
        request_state: Option<String>,
    },
}

#[derive(Default)]
pub struct Fixtures {}

impl Fixtures {
    pub fn new() -> Self {
        Fixtures {}
    }
    pub fn tools(&self) -> Vec<Arc<dyn Tool>> {
        vec![]
    }
    pub fn resources(&self) -> Vec<ResourceInfo> {
        vec![]
    }
    pub fn templates(&self) -> Vec<ResourceTemplate> {
        vec![]
    }
    pub fn read(&self, _uri: &str) -> Option<Vec<ResourceContents>> {
        None
    }
    pub fn prompts(&self) -> Vec<PromptDef> {
        vec![]
    }
    pub fn get_prompt(
        &self,
        _name: &str,
        _args: &Map<String, Value>,
        _ctx: &ToolCtx<'_>,
    ) -> Option<Result<PromptOutcome, String>> {
        None
    }
    pub fn complete_prompt(&self, _name: &str, _arg: &str, _value: &str) -> Option<Vec<String>> {
        None
    }
}
