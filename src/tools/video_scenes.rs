//! Tool `video_scenes` (being built). Must not know about the server or transports.
