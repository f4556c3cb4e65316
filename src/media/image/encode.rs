//! Encoding: JPEG (jpeg-encoder), PNG and lossless WebP, the format chosen from the content
//! when not asked, and a byte budget met by stepping quality, then size.
//! Must not know about tokio, JSON, MCP, the library or the cache.
