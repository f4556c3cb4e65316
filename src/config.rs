//! Validated settings and every limit the server enforces, documented in one place.
//!
//! Built by `main.rs` from the command line; read by the server, transports, tools and
//! resources. Must not know about parsing command lines or about I/O.

use crate::library::LibraryLimits;
use crate::media::image::ImageLimits;
use crate::media::video::VideoLimits;
use std::path::PathBuf;
use std::time::Duration;

/// Default items per list page: a typical personal library in one page.
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// Default bound on the JSON of one `resources/list` page: 1 MiB.
pub const DEFAULT_LIST_PAGE_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest accepted incoming stdio line (one JSON-RPC message), in bytes. Default 4 MiB.
    /// An over-long line is discarded while it streams in and answered with `-32600`.
    pub max_line_bytes: usize,
    /// Largest file `resources/read` returns whole (raw bytes, before base64). Default 8 MiB.
    /// Larger files are read in ranges through `media://{root}/{+path}{?offset,length}`;
    /// a range's `length` is bounded by the same number.
    pub inline_read_bytes: u64,
    /// Items per page of `resources/list`, `tools/list` and `prompts/list`. Default 1000, so
    /// that a typical personal library arrives in one page (some clients read only the first).
    /// A `resources/list` page also ends before its JSON would exceed
    /// [`DEFAULT_LIST_PAGE_BYTES`] (1 MiB); its cursor continues exactly.
    pub page_size: usize,
    /// Most bytes of JSON in one `resources/list` page (default 1 MiB): a page ends early,
    /// and its cursor continues exactly, rather than pass it.
    pub list_page_bytes: usize,
    /// Requests one connection may run at once. Default 64. Further requests wait for a slot
    /// (up to `max_queued` of them); the stdio reader never waits, so cancellations and
    /// answers to server-to-client requests always get through.
    pub max_in_flight: usize,
    /// Requests one connection may have waiting for a slot. Default 256. Beyond it a request
    /// is answered at once with a "server busy" error.
    pub max_queued: usize,
    /// Blocking jobs (tool calls, reads, scans) running at once, server-wide. Default (None):
    /// twice the CPU count.
    pub job_permits: Option<usize>,
    /// Heavy jobs one client (stdio process, legacy session, peer address) may run at once.
    /// Default (None): half the job permits, at least 1. Light work (lists, probes, plain
    /// reads) has a pool of its own and never waits behind heavy work.
    pub jobs_per_client: Option<usize>,
    /// Outgoing frames queued per connection before producers wait. Default 32.
    pub out_queue: usize,
    /// How long a server-to-client request (sampling, elicitation) waits for its answer.
    pub client_request_timeout: Duration,
    /// How long in-flight requests may take to finish after stdin closes (stdio) or a shutdown
    /// signal (HTTP, which copies it into its options); then each is answered with a
    /// "shutting down" error. Default 5 s (`--shutdown-grace-ms`).
    pub shutdown_grace: Duration,
    /// Bytes of batch answers (2025-03-26 JSON-RPC batches) held at once, server-wide, until
    /// they are written (over HTTP each answer is streamed and holds its share only until it
    /// is handed to the connection; over stdio a batch is one line, so its answers are held
    /// together). Default 128 MiB (`--max-batch-bytes-total`). Each batch is also
    /// bounded on its own (32 MiB); a request whose answer does not fit the server-wide
    /// budget is answered with an error instead, and the rest of its batch is not run.
    pub batch_bytes_total: usize,
    /// Media library scanning bounds.
    pub library: LibraryLimits,
    /// Bytes of derived artifacts (audio segments, ...) kept in the shared cache. Default
    /// 256 MiB; least recently used go first.
    pub cache_bytes: usize,
    /// Image decoding limits, enforced through the decoders before any large allocation:
    /// width and height 20,000 px (`--max-image-dimension`), 100 megapixels
    /// (`--max-image-pixels`), 512 MiB decoded (`--max-image-decoded-bytes`), 1,000 animation
    /// frames (`--max-image-frames`).
    pub image: ImageLimits,
    /// Longest an external image decoder (HEIC/AVIF: heif-convert or ffmpeg) may run. Default
    /// 20 s (`--external-decoder-timeout-ms`).
    pub external_decoder_timeout: Duration,
    /// Video limits: width and height 8192 px (`--max-video-dimension`), 20,000 frames decoded
    /// per request (`--max-video-decoded-frames`), clips of at most 300 s
    /// (`--max-clip-seconds`), and 120 s for any one ffmpeg/ffprobe child (`--video-timeout-ms`;
    /// its own flag, not `--external-decoder-timeout-ms`: a clip transcode legitimately runs
    /// far longer than an image decode).
    pub video: VideoLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: crate::protocol::codec::DEFAULT_MAX_LINE_BYTES,
            inline_read_bytes: 8 * 1024 * 1024,
            page_size: DEFAULT_PAGE_SIZE,
            list_page_bytes: DEFAULT_LIST_PAGE_BYTES,
            max_in_flight: 64,
            max_queued: 256,
            job_permits: None,
            jobs_per_client: None,
            out_queue: 32,
            client_request_timeout: Duration::from_secs(120),
            shutdown_grace: Duration::from_secs(5),
            batch_bytes_total: 128 * 1024 * 1024,
            library: LibraryLimits::default(),
            cache_bytes: crate::cache::DEFAULT_CAPACITY,
            image: ImageLimits::default(),
            external_decoder_timeout: Duration::from_secs(20),
            video: VideoLimits::default(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Media roots as `(name, path)`.
    pub roots: Vec<(String, PathBuf)>,
    pub limits: Limits,
    /// Register the conformance suite's fixture tools, resources and prompts.
    pub conformance: bool,
    /// Free-text instructions returned by `initialize` / `server/discover`.
    pub instructions: Option<String>,
    /// Report EXIF GPS positions in `media_probe` (`--expose-gps`). Off by default: a photo's
    /// location is private.
    pub expose_gps: bool,
    /// The OAuth scope each capability needs when requests are authenticated.
    pub scopes: Scopes,
}

/// The OAuth scopes that requests need when the transport authenticates them (HTTP with
/// authorization; stdio and unauthenticated HTTP need none). `--scope-read`, `--scope-transform`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scopes {
    /// Listing, reading files and probing. Default `media:read`.
    pub read: String,
    /// Work that makes new media: transcoding, frames, clips, derived resources. Default
    /// `media:transform`.
    pub transform: String,
}

impl Default for Scopes {
    fn default() -> Self {
        Scopes {
            read: "media:read".into(),
            transform: "media:transform".into(),
        }
    }
}
