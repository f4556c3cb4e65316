//! Tiles: a grid of pixel rectangles (with optional overlap) over a displayed image, so a
//! model can look at detail.
//! Must not know about tokio, JSON, MCP, the library or the cache.
