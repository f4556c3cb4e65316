//! Planar YUV (8-bit 4:2:0, BT.601/BT.709, limited/full range) to RGB, once, straight into the
//! size the caller needs. Must not know about codecs or containers.
