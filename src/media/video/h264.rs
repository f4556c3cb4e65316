//! H.264 decoding in process (openh264, bundled source): avcC/Annex-B packets to planar YUV
//! pictures, B-frames included (no flush after each packet). Must not know about containers,
//! files or the image pipeline.
