//! Storyboards: frames composed into one grid image, each cell labelled with its timestamp
//! (a bitmap font), ready for the image encoder. Must not know about decoding or the tools.
