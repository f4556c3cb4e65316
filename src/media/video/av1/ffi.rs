//! The rav1d (dav1d C API) decoder behind a safe API. TEMPORARY: not wired yet.

use crate::media::video::VideoError;
use crate::media::video::yuv::{ColorSpec, Planes};

/// An AV1 decoder fed temporal units in decode order.
pub struct Decoder;

impl Decoder {
    pub fn new() -> Result<Decoder, VideoError> {
        Err(VideoError::Unsupported(
            "native AV1 is not built yet".into(),
        ))
    }

    pub fn send(
        &mut self,
        _packet: &[u8],
        _out: &mut dyn FnMut(Planes<'_>, ColorSpec) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        Ok(())
    }

    pub fn flush(
        &mut self,
        _out: &mut dyn FnMut(Planes<'_>, ColorSpec) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        Ok(())
    }
}
