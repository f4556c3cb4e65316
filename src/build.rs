//! The composition root: builds the media library, the derived-media cache, the providers
//! (media tools, resources and prompts; the conformance fixtures when asked) and the server
//! from a [`Config`], and wires the library's watcher to the server's change events.
//!
//! The only module that names concrete providers together with the server. Must not know
//! about transports or command lines.

use crate::cache::DerivedCache;
use crate::config::Config;
use crate::library::{Library, LibraryError};
use crate::media::image::decode::DecodeOptions;
use crate::media::image::external::ExternalDecoders;
use crate::media::video::VideoCtx;
use crate::provider::ToolProvider;
use crate::server::{Server, ServerBuilder, ServerEvent};
use crate::tools::Tool;
use std::sync::Arc;

/// A built server and the parts the caller may want to look at.
pub struct App {
    pub server: Arc<Server>,
    pub(crate) library: Arc<Library>,
    pub(crate) cache: Arc<DerivedCache>,
    /// Keeps the watcher of the media roots alive (none if the platform refused one).
    _watcher: Option<crate::library::watch::Watcher>,
}

/// The media server's own tools.
struct MediaTools {
    library: Arc<Library>,
    cache: Arc<DerivedCache>,
    image: DecodeOptions,
    inline_limit: u64,
    expose_gps: bool,
    video: Arc<VideoCtx>,
}

impl ToolProvider for MediaTools {
    fn tools(&self) -> Vec<Arc<dyn Tool>> {
        use crate::tools::{
            audio_spectrogram, audio_transcode, image_tiles, image_transform, media_list,
            media_probe, video_clip, video_frames, video_scenes, video_storyboard,
        };
        let lib = &self.library;
        let images = image_transform::ImageCtx {
            lib: lib.clone(),
            cache: self.cache.clone(),
            opts: self.image.clone(),
            max_bytes_limit: self.inline_limit,
        };
        let videos = video_frames::VideoTools {
            lib: lib.clone(),
            cache: self.cache.clone(),
            video: self.video.clone(),
            inline_limit: self.inline_limit,
        };
        vec![
            Arc::new(media_list::MediaList::new(lib.clone())),
            Arc::new(
                media_probe::MediaProbe::new(lib.clone(), self.expose_gps, self.image.limits)
                    .with_video(self.video.clone()),
            ),
            Arc::new(image_transform::ImageTransform(images.clone())),
            Arc::new(image_tiles::ImageTiles(images)),
            Arc::new(
                audio_transcode::AudioTranscode::new(lib.clone(), self.cache.clone())
                    .with_video(self.video.clone()),
            ),
            Arc::new(
                audio_spectrogram::AudioSpectrogram::new(lib.clone())
                    .with_video(self.video.clone()),
            ),
            Arc::new(video_frames::VideoFrames(videos.clone())),
            Arc::new(video_storyboard::VideoStoryboard(videos.clone())),
            Arc::new(video_scenes::VideoScenes(videos.clone())),
            Arc::new(video_clip::VideoClip(videos)),
        ]
    }
}

/// How images are decoded: the configured limits and the external decoders found on PATH.
fn image_options(cfg: &Config) -> DecodeOptions {
    DecodeOptions {
        limits: cfg.limits.image,
        external: ExternalDecoders {
            timeout: cfg.limits.external_decoder_timeout,
            max_output_bytes: cfg.limits.image.max_decoded_bytes,
            ..ExternalDecoders::discover()
        },
        ..DecodeOptions::default()
    }
}

/// How video is decoded: the configured limits, ffmpeg/ffprobe as found on PATH at start-up
/// (absent: native formats still work, the rest fail naming ffmpeg), and every core for a
/// request's parallel work (storyboards).
fn video_ctx(cfg: &Config) -> VideoCtx {
    let (ffmpeg, ffprobe) = crate::media::video::ffmpeg::discover();
    if ffmpeg.is_none() {
        tracing::info!("ffmpeg not found on PATH: only H.264 and AV1 video can be decoded");
    }
    VideoCtx {
        limits: cfg.limits.video,
        ffmpeg,
        ffprobe,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// Builds everything `cfg` describes.
pub fn build(cfg: Config) -> Result<App, LibraryError> {
    let limits = &cfg.limits;
    let library = Arc::new(Library::new(cfg.roots.clone(), limits.library.clone())?);
    let cache = Arc::new(DerivedCache::new(limits.cache_bytes));
    let image = image_options(&cfg);
    let video = Arc::new(video_ctx(&cfg));
    let resources = Arc::new(
        crate::resources::Resources::new(
            library.clone(),
            cache.clone(),
            limits.inline_read_bytes,
            limits.page_size,
        )
        .with_page_bytes(limits.list_page_bytes)
        .with_image_options(image.clone())
        .with_video(video.clone()),
    );
    let mut b = ServerBuilder::new(cfg.clone())
        .tools(&MediaTools {
            library: library.clone(),
            cache: cache.clone(),
            image,
            inline_limit: limits.inline_read_bytes,
            expose_gps: cfg.expose_gps,
            video,
        })
        .resources(resources)
        .prompts(Arc::new(crate::prompts::Prompts::new(library.clone())));
    if let Some(n) = limits.job_permits {
        b = b.job_permits(n);
    }
    if let Some(n) = limits.jobs_per_client {
        b = b.jobs_per_client(n);
    }
    if cfg.conformance {
        let fixtures = Arc::new(crate::conformance::Fixtures::new());
        b = b
            .tools(fixtures.as_ref())
            .resources(fixtures.clone())
            .prompts(fixtures);
    }
    let server = b.build();
    let events = server.clone();
    let watcher = match library.watch(move |uris| {
        events.notify(ServerEvent::ResourcesListChanged);
        for u in uris {
            events.notify(ServerEvent::ResourceUpdated(u));
        }
    }) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "not watching the media roots; listings refresh every rescan interval");
            None
        }
    };
    Ok(App {
        server,
        library,
        cache,
        _watcher: watcher,
    })
}

impl App {
    /// The media roots' names, for logs.
    pub fn root_names(&self) -> String {
        self.library.root_names()
    }

    /// Prometheus text for the parts outside the server (the derived-media cache).
    pub fn metrics(&self) -> String {
        let (entries, bytes, hits, misses) = self.cache.stats();
        format!(
            "# HELP mcp_media_cache_capacity_bytes Capacity of the derived-media cache.\n\
             # TYPE mcp_media_cache_capacity_bytes gauge\n\
             mcp_media_cache_capacity_bytes {}\n\
             # HELP mcp_media_cache_bytes Bytes held by the derived-media cache.\n\
             # TYPE mcp_media_cache_bytes gauge\n\
             mcp_media_cache_bytes {bytes}\n\
             # HELP mcp_media_cache_entries Artifacts held by the derived-media cache.\n\
             # TYPE mcp_media_cache_entries gauge\n\
             mcp_media_cache_entries {entries}\n\
             # HELP mcp_media_cache_hits_total Derived-media reads served from the cache.\n\
             # TYPE mcp_media_cache_hits_total counter\n\
             mcp_media_cache_hits_total {hits}\n\
             # HELP mcp_media_cache_misses_total Derived-media reads that had to render.\n\
             # TYPE mcp_media_cache_misses_total counter\n\
             mcp_media_cache_misses_total {misses}\n",
            self.cache.capacity()
        )
    }
}
