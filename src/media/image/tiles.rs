//! Tiles: a grid of pixel rectangles (with optional overlap) over a displayed image, so a
//! model can look at detail.
//! Must not know about tokio, JSON, MCP, the library or the cache.

use super::ImageError;

/// How to cut an image into tiles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TileSpec {
    pub rows: Option<u32>,
    pub cols: Option<u32>,
    pub tile_size: Option<u32>,
    pub overlap: u32,
}

/// One tile: its grid position and pixel rectangle in the displayed image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileRect {
    pub row: u32,
    pub col: u32,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The grid. Placeholder until the tiles module lands.
pub fn grid(_display: (u32, u32), _spec: &TileSpec) -> Result<Vec<TileRect>, ImageError> {
    Err(ImageError::Unsupported("tiles are not built yet".into()))
}
