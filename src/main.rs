//! The `mcp-media` binary: parses the command line into a [`Config`], sets up logging to
//! stderr, builds the server through the composition root ([`mcp_media::build`]) and runs a
//! transport. The only place that uses `anyhow`.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use mcp_media::config::{Config, Limits};
use mcp_media::transport::http::HttpOptions;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// jemalloc with background purging: memory freed after a load returns to the OS (README "Soak
/// test").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "mcp-media",
    version,
    about = "An MCP server for audio, images and video"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a media library over MCP.
    Serve(Box<ServeArgs>),
    /// Read a bearer token from stdin and print its SHA-256 (hex), for the --auth-tokens file
    /// (which stores only hashes). A trailing newline is not part of the token.
    HashToken,
}

#[derive(Args)]
struct ServeArgs {
    /// Serve over stdin/stdout (the default without --listen).
    #[arg(long, conflicts_with = "listen")]
    stdio: bool,
    /// Serve Streamable HTTP on this address (e.g. 127.0.0.1:8080) instead of stdio.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Path of the MCP endpoint.
    #[arg(long, default_value = "/mcp")]
    path: String,
    /// Also accept this Origin (repeatable; "*" accepts any).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Also accept this Host header value (repeatable).
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// The endpoint's public URL behind a proxy (e.g. https://media.example.com/mcp): the
    /// canonical URI used in authorization metadata, token audiences and server cards.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Static bearer tokens (HTTP): a JSON file of
    /// [{"subject":"alice","sha256":"<mcp-media hash-token output>","scopes":["media:read"]}].
    /// Re-read on SIGHUP (a file that does not load keeps the tokens in force).
    #[arg(long, value_name = "FILE")]
    auth_tokens: Option<PathBuf>,
    /// The OAuth authorization server (issuer URL) whose access tokens are accepted; named in
    /// the protected resource metadata.
    #[arg(long, value_name = "URL")]
    oauth_issuer: Option<String>,
    /// Also accept opaque access tokens from --oauth-issuer, checked by RFC 7662 introspection
    /// at the endpoint its metadata names, with this client id (the secret comes from the
    /// MCP_MEDIA_OAUTH_CLIENT_SECRET environment variable, never the command line). JWT-shaped
    /// tokens are still checked locally against the issuer's keys.
    #[arg(long, value_name = "CLIENT_ID", requires = "oauth_issuer")]
    oauth_introspection_client: Option<String>,
    /// A token naming a key id the server does not know refetches the issuer's keys (its
    /// JWKS), at most once per this many seconds (a flood of made-up key ids costs the issuer
    /// one request per interval; a key the issuer publishes is usable after at most this long).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        requires = "oauth_issuer"
    )]
    oauth_key_refresh_secs: u64,
    /// Serve HTTP on a non-loopback address without authorization (only behind something that
    /// authorizes every request itself).
    #[arg(long)]
    insecure_no_auth: bool,
    /// The OAuth scope for listing, reading and probing.
    #[arg(long, value_name = "SCOPE", default_value = "media:read")]
    scope_read: String,
    /// The OAuth scope for transcoding, frames, clips and other rendered media (implies the
    /// read scope).
    #[arg(long, value_name = "SCOPE", default_value = "media:transform")]
    scope_transform: String,
    /// Most legacy HTTP sessions one authenticated subject may hold at once; its least
    /// recently used idle session makes room for a new one.
    #[arg(long, default_value_t = 100)]
    max_sessions_per_subject: usize,
    /// Requests per second one authenticated subject may make (HTTP 429 with Retry-After
    /// past it; fractions allowed) [default: no limit].
    #[arg(long, value_name = "N")]
    rate_limit_per_subject: Option<f64>,
    /// Requests one subject may make at once before --rate-limit-per-subject applies
    /// [default: the rate, at least 1].
    #[arg(long, value_name = "N")]
    rate_limit_burst: Option<f64>,
    /// Transform requests (transcodes, frames, clips, renders) one authenticated subject may
    /// have running at once (HTTP 429 with Retry-After past it) [default: no cap].
    #[arg(long, value_name = "N")]
    max_jobs_per_subject: Option<usize>,
    /// Largest accepted HTTP request body, in bytes.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Time a client gets to send a request's headers, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// Time a client gets to send a request's body, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    body_timeout_ms: u64,
    /// Slowest accepted request body, in bytes per second (after its first 2 seconds).
    #[arg(long, default_value_t = 1024)]
    min_body_rate: u64,
    /// Time in-flight requests get to finish after SIGINT/SIGTERM (HTTP) or the end of stdin
    /// (stdio), in milliseconds; requests still running then get a "shutting down" error.
    #[arg(long, default_value_t = 5_000)]
    shutdown_grace_ms: u64,
    /// Bytes of JSON-RPC batch answers (2025-03-26) held at once, server-wide; a request
    /// whose answer does not fit is answered "server busy" (-32000) and the rest of its
    /// batch is not run.
    #[arg(long, default_value_t = Limits::default().batch_bytes_total)]
    max_batch_bytes_total: usize,
    /// Most open HTTP connections; more are closed on accept.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Most legacy (2025-11-25 and older) HTTP sessions alive at once.
    #[arg(long, default_value_t = 1000)]
    max_sessions: usize,
    /// Register the conformance suite's fixture tools, resources and prompts.
    #[arg(long)]
    conformance: bool,
    /// Longest accepted incoming message (one stdio line), in bytes.
    #[arg(long, default_value_t = Limits::default().max_line_bytes)]
    max_line_bytes: usize,
    /// Largest file resources/read returns whole, in bytes; larger files are read in ranges.
    #[arg(long, default_value_t = Limits::default().inline_read_bytes)]
    inline_limit: u64,
    /// Items per page of list results (a resources/list page also stops at 1 MiB of JSON).
    #[arg(long, default_value_t = Limits::default().page_size)]
    page_size: usize,
    /// Bytes of derived media (transcoded segments) kept in memory for re-reads.
    #[arg(long, default_value_t = Limits::default().cache_bytes)]
    cache_bytes: usize,
    /// Widest and tallest image decoded, in stored pixels; larger ones are refused (probing
    /// still works).
    #[arg(long, default_value_t = Limits::default().image.max_width)]
    max_image_dimension: u32,
    /// Most pixels (width x height) of an image decoded.
    #[arg(long, default_value_t = Limits::default().image.max_pixels)]
    max_image_pixels: u64,
    /// Most bytes one image may take decoded (all frames of an animation together).
    #[arg(long, default_value_t = Limits::default().image.max_decoded_bytes)]
    max_image_decoded_bytes: u64,
    /// Most frames of an animated image (GIF, WebP) that are decoded or counted.
    #[arg(long, default_value_t = Limits::default().image.max_frames)]
    max_image_frames: u32,
    /// Longest an external image decoder (HEIC/AVIF) may run, in milliseconds.
    #[arg(long, default_value_t = 20_000)]
    external_decoder_timeout_ms: u64,
    /// Widest and tallest video decoded (coded pixels, from the header); larger ones are
    /// refused before decoding (probing still works).
    #[arg(long, default_value_t = Limits::default().video.max_width)]
    max_video_dimension: u32,
    /// Most video frames one request may decode (seeking decodes from the keyframe before
    /// each requested time).
    #[arg(long, default_value_t = Limits::default().video.max_decoded_frames)]
    max_video_decoded_frames: u64,
    /// Longest clip video_clip makes, in seconds.
    #[arg(long, default_value_t = Limits::default().video.max_clip_seconds)]
    max_clip_seconds: f64,
    /// Longest one ffmpeg/ffprobe child (video probe, frames, clip, soundtrack) may run, in
    /// milliseconds; then it is killed and the request fails.
    #[arg(long, default_value_t = Limits::default().video.external_timeout.as_millis() as u64)]
    video_timeout_ms: u64,
    /// Report the GPS position from photos' EXIF in media_probe (off: a location is private).
    #[arg(long)]
    expose_gps: bool,
    /// Requests one stdio connection may run at once; more wait (up to --max-queued).
    #[arg(long, default_value_t = Limits::default().max_in_flight)]
    max_in_flight: usize,
    /// Requests one stdio connection may have waiting for a slot; more get "server busy".
    #[arg(long, default_value_t = Limits::default().max_queued)]
    max_queued: usize,
    /// Blocking jobs (tool calls, reads, scans) running at once, server-wide [default: twice
    /// the CPU count].
    #[arg(long)]
    jobs: Option<usize>,
    /// Heavy jobs (transcodes, renders) one client may run at once [default: half of --jobs].
    #[arg(long)]
    jobs_per_client: Option<usize>,
    /// Most directory entries a library scan looks at.
    #[arg(long, default_value_t = Limits::default().library.max_scan_entries)]
    max_scan_entries: usize,
    /// Longest a read of a media file may take, in milliseconds (a whole or ranged read; for
    /// a decoder, each read call); a slower read fails with an error.
    #[arg(long, default_value_t = Limits::default().library.read_deadline.as_millis() as u64)]
    read_deadline_ms: u64,
    /// Media roots: PATH (named after its directory) or NAME=PATH.
    #[arg(value_name = "ROOT | NAME=ROOT", required = true)]
    roots: Vec<String>,
}

fn parse_root(spec: &str) -> Result<(String, PathBuf)> {
    if let Some((name, path)) = spec.split_once('=')
        && !name.is_empty()
        && !name.contains('/')
    {
        return Ok((name.to_string(), PathBuf::from(path)));
    }
    let path = PathBuf::from(spec);
    let canon = path
        .canonicalize()
        .with_context(|| format!("media root {spec:?} does not exist"))?;
    let name = canon
        .file_name()
        .and_then(|n| n.to_str())
        .context("a media root needs a directory name; use NAME=PATH")?
        .to_string();
    Ok((name, path))
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown signal received");
}

/// `mcp-media hash-token`: the token on stdin (without its trailing newline), its hash on
/// stdout.
fn hash_token() -> Result<()> {
    use std::io::{Read, Write};
    let mut token = String::new();
    std::io::stdin()
        .read_to_string(&mut token)
        .context("cannot read the token from stdin")?;
    let token = token.strip_suffix('\n').unwrap_or(&token);
    let token = token.strip_suffix('\r').unwrap_or(token);
    if token.is_empty() {
        bail!("no token on stdin");
    }
    let mut out = std::io::stdout();
    writeln!(out, "{}", mcp_media::auth::tokens::hash_token(token))?;
    out.flush()?;
    Ok(())
}

/// The validator the flags ask for (if any), and the static tokens (for SIGHUP and metrics).
type Validators = (
    Option<Arc<dyn mcp_media::auth::Validator>>,
    Option<Arc<mcp_media::auth::tokens::StaticTokens>>,
);

/// The validators the flags ask for, chained (static tokens, then JWTs from --oauth-issuer
/// checked against its keys, then opaque tokens by introspection). `audience` is this server's
/// canonical resource URI: access tokens must name it.
async fn validator(args: &ServeArgs, audience: &str) -> Result<Validators> {
    use mcp_media::auth::{Chain, Validator};
    let mut chain = Chain::default();
    let mut tokens = None;
    if let Some(path) = &args.auth_tokens {
        let t = Arc::new(mcp_media::auth::tokens::StaticTokens::load(path)?);
        tracing::info!(tokens = t.len(), "static bearer tokens loaded");
        chain.tokens = Some(t.clone() as Arc<dyn Validator>);
        tokens = Some(t);
    }
    if let Some(issuer) = &args.oauth_issuer {
        let mut cfg = mcp_media::auth::jwt::JwtConfig::new(issuer.clone(), audience);
        cfg.min_refresh_interval = std::time::Duration::from_secs(args.oauth_key_refresh_secs);
        let jwt = mcp_media::auth::jwt::JwtValidator::new(cfg)
            .with_context(|| format!("--oauth-issuer {issuer:?}"))?;
        // Keys now if the issuer answers; otherwise on the first token (503 until then).
        if let Err(e) = jwt.prefetch().await {
            tracing::warn!(%issuer, error = %e, "the issuer's keys could not be fetched at start; retrying on the first token");
        }
        tracing::info!(%issuer, %audience, "accepting JWT access tokens");
        chain.jwt = Some(Arc::new(jwt));
        if let Some(client) = &args.oauth_introspection_client {
            let secret = std::env::var("MCP_MEDIA_OAUTH_CLIENT_SECRET").context(
                "--oauth-introspection-client needs MCP_MEDIA_OAUTH_CLIENT_SECRET in the environment",
            )?;
            let fetcher = mcp_media::auth::fetch::Fetcher::new(std::time::Duration::from_secs(10))?;
            let meta = fetcher
                .metadata(issuer)
                .await
                .with_context(|| format!("cannot read the metadata of {issuer}"))?;
            let endpoint = meta.introspection_endpoint.with_context(|| {
                format!("{issuer} names no introspection_endpoint in its metadata")
            })?;
            let mut cfg = mcp_media::auth::introspect::IntrospectConfig::new(
                endpoint,
                client.clone(),
                secret,
                audience,
            );
            cfg.issuer = Some(issuer.clone());
            chain.introspect = Some(Arc::new(mcp_media::auth::introspect::Introspector::new(
                cfg,
            )?));
        }
    }
    let v = (!chain.is_empty()).then(|| Arc::new(chain) as Arc<dyn Validator>);
    Ok((v, tokens))
}

/// Re-reads the static tokens on every SIGHUP; a file that does not load keeps the old ones.
#[cfg(unix)]
fn reload_on_sighup(tokens: Arc<mcp_media::auth::tokens::StaticTokens>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            match tokens.reload() {
                Ok(n) => tracing::info!(tokens = n, "SIGHUP: static bearer tokens reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "SIGHUP: the tokens file did not load; the tokens in force stay")
                }
            }
        }
    });
    Ok(())
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // Dependencies (symphonia warns per bad packet) at error level; RUST_LOG overrides.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error,mcp_media=info")),
        )
        .init();
    raise_open_file_limit();
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Serve(args) => *args,
        Command::HashToken => return hash_token(),
    };
    let roots = args
        .roots
        .iter()
        .map(|r| parse_root(r))
        .collect::<Result<Vec<_>>>()?;
    if args.page_size == 0 {
        bail!("--page-size must be at least 1");
    }
    if args.max_in_flight == 0 || args.jobs == Some(0) || args.jobs_per_client == Some(0) {
        bail!("--max-in-flight, --jobs and --jobs-per-client must be at least 1");
    }
    let mut limits = Limits {
        max_line_bytes: args.max_line_bytes,
        inline_read_bytes: args.inline_limit,
        page_size: args.page_size,
        max_in_flight: args.max_in_flight,
        max_queued: args.max_queued,
        job_permits: args.jobs,
        jobs_per_client: args.jobs_per_client,
        shutdown_grace: std::time::Duration::from_millis(args.shutdown_grace_ms),
        batch_bytes_total: args.max_batch_bytes_total,
        ..Limits::default()
    };
    let cfg_grace = limits.shutdown_grace;
    limits.library.max_scan_entries = args.max_scan_entries;
    limits.library.read_deadline = std::time::Duration::from_millis(args.read_deadline_ms.max(1));
    limits.cache_bytes = args.cache_bytes;
    limits.image = mcp_media::media::image::ImageLimits {
        max_width: args.max_image_dimension,
        max_height: args.max_image_dimension,
        max_pixels: args.max_image_pixels,
        max_decoded_bytes: args.max_image_decoded_bytes,
        max_frames: args.max_image_frames,
    };
    limits.external_decoder_timeout =
        std::time::Duration::from_millis(args.external_decoder_timeout_ms.max(1));
    if !(args.max_clip_seconds.is_finite() && args.max_clip_seconds > 0.0) {
        bail!("--max-clip-seconds must be a positive number of seconds");
    }
    limits.video = mcp_media::media::video::VideoLimits {
        max_width: args.max_video_dimension,
        max_height: args.max_video_dimension,
        max_decoded_frames: args.max_video_decoded_frames,
        max_clip_seconds: args.max_clip_seconds,
        external_timeout: std::time::Duration::from_millis(args.video_timeout_ms.max(1)),
        ..limits.video
    };
    let cfg = Config {
        roots,
        limits,
        conformance: args.conformance,
        expose_gps: args.expose_gps,
        instructions: Some(
            "Media library server. Use media_list to find files (audio, image, video), media_probe \
             to inspect one, image_transform to see an image (fit for a model by default), \
             image_tiles to look at a large image's detail, audio_transcode to hear audio, \
             video_frames / video_storyboard / video_scenes to watch a video, video_clip to cut \
             one for a person, and resources/read on a media:// URI to fetch bytes (large files in ranges with \
             ?offset=&length=)."
                .into(),
        ),
        scopes: mcp_media::config::Scopes {
            read: args.scope_read.clone(),
            transform: args.scope_transform.clone(),
        },
    };
    if cfg.scopes.read.trim().is_empty()
        || cfg.scopes.transform.trim().is_empty()
        || cfg.scopes.read == cfg.scopes.transform
    {
        bail!("--scope-read and --scope-transform must be two different, non-empty scopes");
    }
    let app = Arc::new(mcp_media::build::build(cfg).context("cannot start the server")?);
    let server = app.server.clone();
    let roots = app.root_names();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if let Some(listen) = &args.listen {
        let addr: SocketAddr = listen.parse().with_context(|| {
            format!("--listen {listen:?} is not an address like 127.0.0.1:8080")
        })?;
        let mut opts = HttpOptions::new(addr);
        opts.authorization_servers = args.oauth_issuer.iter().cloned().collect();
        opts.max_sessions_per_subject = args.max_sessions_per_subject.max(1);
        opts.max_jobs_per_subject = args.max_jobs_per_subject;
        if args.max_jobs_per_subject == Some(0) {
            bail!("--max-jobs-per-subject must be at least 1");
        }
        if let Some(rate) = args.rate_limit_per_subject {
            let burst = args.rate_limit_burst.unwrap_or(rate.max(1.0));
            if !(rate.is_finite() && rate > 0.0 && burst.is_finite() && burst >= 1.0) {
                bail!("--rate-limit-per-subject must be above 0 and --rate-limit-burst at least 1");
            }
            opts.rate_limit = Some(mcp_media::transport::http::authz::RateLimit {
                per_second: rate,
                burst,
            });
        }
        opts.path = args.path.clone();
        opts.allowed_origins = args.allow_origins.clone();
        opts.allowed_hosts = args.allow_hosts.clone();
        if let Some(u) = &args.public_url {
            anyhow::ensure!(
                u.starts_with("https://") || u.starts_with("http://"),
                "--public-url {u:?} must be an http:// or https:// URL"
            );
            opts.public_url = Some(u.clone());
        }
        if args.oauth_issuer.is_some() && addr.port() == 0 && opts.public_url.is_none() {
            bail!(
                "--oauth-issuer needs a fixed --listen port or --public-url: access tokens name \
                 this server's URL as their audience"
            );
        }
        let (auth, tokens) = rt.block_on(validator(&args, &opts.resource_uri()))?;
        if auth.is_none() && !addr.ip().is_loopback() && !args.insecure_no_auth {
            bail!(
                "refusing to serve on {addr} without authorization: a non-loopback address is \
                 reachable from other machines, and anyone who reaches it could read the whole \
                 media library and make it transcode. Give --auth-tokens FILE (static bearer \
                 tokens) or --oauth-issuer URL (OAuth access tokens), or --insecure-no-auth if \
                 something in front of the server already authorizes every request"
            );
        }
        if auth.is_none() && !addr.ip().is_loopback() {
            tracing::warn!(%addr, "serving without authorization on a non-loopback address (--insecure-no-auth)");
        }
        opts.auth = auth;
        opts.max_body_bytes = args.max_body_bytes;
        opts.header_timeout = std::time::Duration::from_millis(args.header_timeout_ms);
        opts.body_timeout = std::time::Duration::from_millis(args.body_timeout_ms);
        opts.min_body_rate = args.min_body_rate;
        opts.shutdown_grace = cfg_grace;
        opts.max_connections = args.max_connections.max(1);
        opts.max_sessions = args.max_sessions.max(1);
        let metrics_app = app.clone();
        let metrics_tokens = tokens.clone();
        opts.extra_metrics = Some(mcp_media::transport::http::ExtraMetrics(Arc::new(
            move || {
                let mut m = metrics_app.metrics();
                if let Some(t) = &metrics_tokens {
                    let (ok, failed) = t.reloads();
                    m.push_str(&format!(
                        "# HELP mcp_media_auth_tokens Static bearer tokens in force.\n# TYPE mcp_media_auth_tokens gauge\nmcp_media_auth_tokens {}\n\
                         # HELP mcp_media_auth_token_reloads_total Reloads of the tokens file (SIGHUP), by result.\n# TYPE mcp_media_auth_token_reloads_total counter\n\
                         mcp_media_auth_token_reloads_total{{result=\"ok\"}} {ok}\nmcp_media_auth_token_reloads_total{{result=\"failed\"}} {failed}\n",
                        t.len()
                    ));
                }
                m
            },
        )));
        rt.block_on(async {
            #[cfg(unix)]
            if let Some(t) = tokens {
                reload_on_sighup(t)?;
            }
            tracing::info!(%roots, "serving MCP over HTTP");
            mcp_media::transport::http::serve(server, opts, shutdown_signal())
                .await
                .context("HTTP transport failed")
        })?;
        rt.shutdown_timeout(std::time::Duration::from_secs(1));
        return Ok(());
    }
    rt.block_on(async {
        tracing::info!(%roots, "serving MCP over stdio");
        mcp_media::transport::stdio::serve_process_stdio(server).await
    })
    .context("stdio transport failed")?;
    // Blocking reads of stdin may still hold a runtime thread; do not wait for it.
    rt.shutdown_background();
    Ok(())
}

/// Raises the soft limit on open files to the hard limit (capped at 1,048,576). Every HTTP
/// connection (up to `--max-connections`, default 1024), every answer being streamed from a
/// file and every file kept for SSE replay holds a descriptor, and many systems start
/// processes with a soft limit of 1024, which would make opens fail long before those bounds.
fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    const CAP: u64 = 1 << 20;
    let now = getrlimit(Resource::Nofile);
    let want = now.maximum.map_or(CAP, |m| m.min(CAP));
    if now.current.is_some_and(|c| c >= want) {
        return;
    }
    let raised = Rlimit {
        current: Some(want),
        maximum: now.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => tracing::debug!(from = ?now.current, to = want, "raised the open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
}
