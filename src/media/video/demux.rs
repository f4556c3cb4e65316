//! Native demuxing of MP4/MOV and MKV/WebM through symphonia: tracks, codec parameters,
//! rotation, packets with timestamps, seeking to the keyframe before a time. Must not know
//! about decoders or the image pipeline.
