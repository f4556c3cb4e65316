//! Geometry: crop, rotate, flip and resize (SIMD, fast_image_resize) with the fit modes.
//! Must not know about tokio, JSON, MCP, the library or the cache.

use super::{ImageError, TransformSpec};

/// The output size `spec` gives for a displayed source of `src` pixels (after crop and
/// rotation). Placeholder until the ops module lands.
pub fn output_size(_src: (u32, u32), _spec: &TransformSpec) -> Result<(u32, u32), ImageError> {
    Err(ImageError::Unsupported(
        "image transforms are not built yet".into(),
    ))
}
