//! AV1 decoding in process (rav1d), behind the default `av1` cargo feature: compressed
//! packets to planar YUV pictures. Must not know about containers, files or the image pipeline.
