//! Media pipelines: plain synchronous Rust over readers and byte buffers.
//!
//! Each kind (image now; audio and video in their own issues) has its own typed errors and
//! limits. Must not know about tokio, JSON, MCP, the server or transports.

pub mod audio;
pub mod image;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum MediaError {
    #[error(transparent)]
    Image(#[from] image::ImageProbeError),
    #[error(transparent)]
    Audio(#[from] audio::AudioError),
}
