//! Media pipelines: plain synchronous Rust over readers and byte buffers.
//!
//! Each kind (audio, image; video in its own issue) has its own typed errors and
//! limits; `process` runs the external tools (ffmpeg, heif-convert) for image and video.
//! Must not know about tokio, JSON, MCP, the server or transports.
// Untrusted media must never panic: no unwrap, expect or unchecked indexing outside tests.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod audio;
pub mod image;
pub mod parallel;
pub mod process;
pub mod video;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum MediaError {
    #[error(transparent)]
    Image(#[from] image::ImageError),
    #[error(transparent)]
    Audio(#[from] audio::AudioError),
    #[error(transparent)]
    Video(#[from] video::VideoError),
}
