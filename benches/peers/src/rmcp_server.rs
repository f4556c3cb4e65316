//! The rmcp 3.x peer: a server written the way rmcp's examples write one (`#[tool_router]`
//! tools with schemars parameter types, a `ServerHandler` with resources), serving one folder
//! over stdio or Streamable HTTP (rmcp's `StreamableHttpService`, default config: legacy
//! sessions, SSE answers). Its reads are naive: the whole file read, base64 into a `String`,
//! serialised by serde. Tools shaped like mcp-media's (`media_list`, `media_probe`,
//! `image_transform`); with `--tools FILE` (the harness passes mcp-media's own `tools/list`
//! answer) it lists exactly those tools instead, held as rmcp `Tool`s and serialised on every
//! request as rmcp does, so both servers answer the same list.
//! It must not know anything of mcp-media's code: it is the peer, not a copy.

use anyhow::Context as _;
use base64::Engine as _;
use rmcp::{
    ErrorData, RoleServer, ServerHandler, ServiceExt,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{
        CallToolResult, ContentBlock, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
        ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
        ResourceContents, ServerCapabilities, ServerConfig, Tool,
    },
    schemars,
    service::RequestContext,
    tool, tool_handler, tool_router,
};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct ReadFile {
    /// Path of the file, relative to the served folder.
    pub path: String,
}

// The fields shape the tool's input schema; the peer does not use them.
#[allow(dead_code)]
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct MediaList {
    /// Only this kind of media: audio, image or video.
    pub kind: Option<String>,
    /// Only paths matching this glob.
    pub glob: Option<String>,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
    /// Items per page.
    pub limit: Option<u32>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct MediaProbe {
    /// The media:// URI of the file.
    pub uri: String,
}

#[allow(dead_code)]
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct ImageTransform {
    /// The media:// URI of the image.
    pub uri: String,
    /// Target width in pixels.
    pub width: Option<u32>,
    /// Target height in pixels.
    pub height: Option<u32>,
    /// How to fit: inside, cover or exact.
    pub fit: Option<String>,
    /// Output format: jpeg, png or webp.
    pub format: Option<String>,
    /// Encoder quality, 1-100.
    pub quality: Option<u8>,
    /// Degrees to rotate: 0, 90, 180, 270.
    pub rotate: Option<u16>,
}

#[derive(Clone)]
pub struct Peer {
    root: Arc<PathBuf>,
    tool_router: ToolRouter<Self>,
    /// Tools to list instead of the router's (`--tools`).
    listed: Option<Arc<Vec<Tool>>>,
}

/// The tools of a `tools/list` answer (a JSON-RPC response) in `file`.
pub fn listed_tools(file: &std::path::Path) -> anyhow::Result<Arc<Vec<Tool>>> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file)?)?;
    let tools = serde_json::from_value(v["result"]["tools"].clone())
        .with_context(|| format!("the tools of {}", file.display()))?;
    Ok(Arc::new(tools))
}

fn uri_of(name: &str) -> String {
    format!("media://lib/{name}")
}

#[tool_router]
impl Peer {
    pub fn new(root: PathBuf, listed: Option<Arc<Vec<Tool>>>) -> Self {
        Self {
            root: Arc::new(root),
            tool_router: Self::tool_router(),
            listed,
        }
    }

    #[tool(description = "Read a file whole, as base64 (audio or image content)")]
    async fn read_file(
        &self,
        Parameters(ReadFile { path }): Parameters<ReadFile>,
    ) -> Result<CallToolResult, ErrorData> {
        let bytes = tokio::fs::read(self.root.join(&path))
            .await
            .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        Ok(CallToolResult::success(vec![ContentBlock::audio(
            b64,
            "audio/wav",
        )]))
    }

    #[tool(description = "List the media files under the roots, filtered by kind and glob, paged")]
    async fn media_list(
        &self,
        Parameters(_p): Parameters<MediaList>,
    ) -> Result<CallToolResult, ErrorData> {
        let mut names = vec![];
        let mut dir = tokio::fs::read_dir(&*self.root)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        while let Ok(Some(e)) = dir.next_entry().await {
            names.push(ContentBlock::text(uri_of(&e.file_name().to_string_lossy())));
        }
        Ok(CallToolResult::success(names))
    }

    #[tool(description = "Probe a media file: kind, MIME type, size, duration, dimensions, codec")]
    async fn media_probe(
        &self,
        Parameters(p): Parameters<MediaProbe>,
    ) -> Result<CallToolResult, ErrorData> {
        let name = p.uri.strip_prefix("media://lib/").unwrap_or(&p.uri);
        let meta = tokio::fs::metadata(self.root.join(name))
            .await
            .map_err(|e| ErrorData::resource_not_found(e.to_string(), None))?;
        Ok(CallToolResult::success(vec![ContentBlock::text(format!(
            "{{\"size\":{}}}",
            meta.len()
        ))]))
    }

    #[tool(description = "Resize, crop, rotate and re-encode an image into one image block")]
    async fn image_transform(
        &self,
        Parameters(_p): Parameters<ImageTransform>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(CallToolResult::error(vec![ContentBlock::text(
            "not implemented in the peer",
        )]))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Peer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = match &self.listed {
            Some(t) => (**t).clone(),
            None => self.tool_router.list_all(),
        };
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let mut items = vec![];
        let mut dir = tokio::fs::read_dir(&*self.root)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        while let Ok(Some(e)) = dir.next_entry().await {
            let name = e.file_name().to_string_lossy().into_owned();
            let size = e.metadata().await.map(|m| m.len()).unwrap_or(0);
            items.push(
                Resource::new(uri_of(&name), name)
                    .with_mime_type("audio/wav")
                    .with_size(size),
            );
        }
        Ok(ListResourcesResult::with_all_items(items))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let name = request
            .uri
            .strip_prefix("media://lib/")
            .ok_or_else(|| ErrorData::resource_not_found("unknown URI", None))?;
        let bytes = tokio::fs::read(self.root.join(name))
            .await
            .map_err(|e| ErrorData::resource_not_found(e.to_string(), None))?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        Ok(ReadResourceResult::new(vec![
            ResourceContents::blob(b64, request.uri).with_mime_type("audio/wav"),
        ])
        .into())
    }
}

/// Serves `root` over stdio until stdin closes.
pub async fn serve_stdio(root: PathBuf, listed: Option<Arc<Vec<Tool>>>) -> anyhow::Result<()> {
    let service = Peer::new(root, listed)
        .serve(rmcp::transport::stdio())
        .await?;
    service.waiting().await?;
    Ok(())
}

/// Serves `root` over Streamable HTTP at `http://addr/mcp` until killed.
pub async fn serve_http(
    root: PathBuf,
    addr: &str,
    listed: Option<Arc<Vec<Tool>>>,
) -> anyhow::Result<()> {
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    };
    let service: StreamableHttpService<Peer, LocalSessionManager> = StreamableHttpService::new(
        move || Ok(Peer::new(root.clone(), listed.clone())),
        Default::default(),
        StreamableHttpServerConfig::default(),
    );
    let svc = hyper_util::service::TowerToHyperService::new(service);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("bind {addr}"))?;
    loop {
        let (stream, _) = listener.accept().await?;
        // As any HTTP server should for request/response traffic (without it, small SSE
        // writes wait on delayed ACKs: 40 ms per tools/list at one connection).
        stream.set_nodelay(true)?;
        let svc = svc.clone();
        tokio::spawn(async move {
            // The endpoint is /mcp; rmcp's service answers any path, as a nested router would.
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
        });
    }
}
