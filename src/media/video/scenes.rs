//! Scene changes: a cheap difference (luma histogram and mean absolute difference) between
//! consecutive small frames from a scan, thresholded and thinned. Must not know about decoding
//! or the tools.
