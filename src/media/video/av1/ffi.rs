//! The rav1d AV1 decoder (it exposes the dav1d C API) behind a safe API: temporal units in,
//! 8-bit 4:2:0 pictures out. ALL the crate's `unsafe` code is in this file; every block says why
//! it is sound. Must not know about containers, files or the image pipeline.

#![allow(unsafe_code)]

use crate::media::video::VideoError;
use crate::media::video::yuv::{ColorSpec, Planes};
use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dSettings};
use rav1d::include::dav1d::headers::DAV1D_PIXEL_LAYOUT_I420;
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture,
    dav1d_open, dav1d_picture_unref, dav1d_send_data,
};
use std::mem::MaybeUninit;
use std::ptr::NonNull;

/// dav1d's "try again" (-EAGAIN): no picture ready / the data was not consumed.
const EAGAIN: i32 = -11;

/// An AV1 decoder fed temporal units in decode order; pictures come out in display order.
pub struct Decoder {
    ctx: Option<Dav1dContext>,
}

fn err(what: &str, code: i32) -> VideoError {
    VideoError::Corrupt(format!("AV1 decoder: {what} failed ({code})"))
}

impl Decoder {
    /// A single-threaded decoder that refuses frames over `max_pixels`.
    pub fn new(max_pixels: u64) -> Result<Decoder, VideoError> {
        let mut s = MaybeUninit::<Dav1dSettings>::uninit();
        // SAFETY: `s` is valid for writes of a `Dav1dSettings`; dav1d_default_settings
        // initialises every field.
        unsafe { dav1d_default_settings(NonNull::from(&mut s).cast()) };
        // SAFETY: initialised just above.
        let mut s = unsafe { s.assume_init() };
        s.n_threads = 1;
        s.max_frame_delay = 1;
        s.frame_size_limit = u32::try_from(max_pixels).unwrap_or(u32::MAX);
        let mut ctx: Option<Dav1dContext> = None;
        // SAFETY: both pointers come from live locals of the right types.
        let r = unsafe { dav1d_open(Some(NonNull::from(&mut ctx)), Some(NonNull::from(&mut s))) };
        if r.0 < 0 || ctx.is_none() {
            return Err(VideoError::Internal(format!(
                "AV1 decoder: open failed ({})",
                r.0
            )));
        }
        Ok(Decoder { ctx })
    }

    /// Decodes one temporal unit; calls `out` with each picture it completes.
    pub fn send(
        &mut self,
        packet: &[u8],
        out: &mut dyn FnMut(Planes<'_>, ColorSpec) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        if packet.is_empty() {
            return Ok(());
        }
        let mut data = Dav1dData::default();
        // SAFETY: `data` is a live Dav1dData; on success the returned pointer is the start of a
        // fresh buffer of `packet.len()` bytes owned by `data`.
        let buf = unsafe { dav1d_data_create(Some(NonNull::from(&mut data)), packet.len()) };
        if buf.is_null() {
            return Err(VideoError::TooLarge(
                "an AV1 packet too large to buffer".into(),
            ));
        }
        // SAFETY: `buf` points to `packet.len()` writable bytes (just allocated, not aliased by
        // `packet`, which is a shared borrow of other memory).
        unsafe { std::ptr::copy_nonoverlapping(packet.as_ptr(), buf, packet.len()) };
        let result = self.feed(&mut data, out);
        if data.sz > 0 {
            // SAFETY: `data` is a Dav1dData made by dav1d_data_create and not yet consumed.
            unsafe { dav1d_data_unref(Some(NonNull::from(&mut data))) };
        }
        result
    }

    fn feed(
        &mut self,
        data: &mut Dav1dData,
        out: &mut dyn FnMut(Planes<'_>, ColorSpec) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        while data.sz > 0 {
            // SAFETY: `self.ctx` came from dav1d_open and is closed only in Drop; `data` is a
            // live Dav1dData made by dav1d_data_create.
            let r = unsafe { dav1d_send_data(self.ctx, Some(NonNull::from(&mut *data))) };
            match r.0 {
                0 => {}
                EAGAIN => {
                    // The decoder holds a picture: take it out, then send the rest.
                    if !self.drain(out)? {
                        return Err(err("send", EAGAIN));
                    }
                }
                e => return Err(err("send", e)),
            }
        }
        self.drain(out)?;
        Ok(())
    }

    /// Hands out every picture ready; whether there was one.
    fn drain(
        &mut self,
        out: &mut dyn FnMut(Planes<'_>, ColorSpec) -> Result<(), VideoError>,
    ) -> Result<bool, VideoError> {
        let mut any = false;
        loop {
            let mut pic = Picture(Dav1dPicture::default());
            // SAFETY: `self.ctx` is open (see `feed`); `pic.0` is a live, default (empty)
            // picture that dav1d overwrites.
            let r = unsafe { dav1d_get_picture(self.ctx, Some(NonNull::from(&mut pic.0))) };
            match r.0 {
                0 => {
                    any = true;
                    let (planes, color) = pic.planes()?;
                    out(planes, color)?;
                }
                EAGAIN => return Ok(any),
                e => return Err(err("decode", e)),
            }
        }
    }

    /// Hands out the pictures still held at the end of the stream.
    pub fn flush(
        &mut self,
        out: &mut dyn FnMut(Planes<'_>, ColorSpec) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        self.drain(out).map(|_| ())
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: `self.ctx` came from dav1d_open and is closed once (dav1d_close sets it to
        // None).
        unsafe { dav1d_close(Some(NonNull::from(&mut self.ctx))) };
    }
}

/// A picture returned by dav1d, released on drop.
struct Picture(Dav1dPicture);

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a picture from dav1d_get_picture (or an empty default one, which
        // dav1d_picture_unref accepts); it is released once.
        unsafe { dav1d_picture_unref(Some(NonNull::from(&mut self.0))) };
    }
}

impl Picture {
    fn planes(&self) -> Result<(Planes<'_>, ColorSpec), VideoError> {
        let p = &self.0;
        if p.p.layout != DAV1D_PIXEL_LAYOUT_I420 || p.p.bpc != 8 {
            return Err(VideoError::Unsupported(format!(
                "AV1 with {} bits and chroma layout {} is not decoded natively",
                p.p.bpc, p.p.layout
            )));
        }
        let (w, h) = (
            usize::try_from(p.p.w).unwrap_or(0),
            usize::try_from(p.p.h).unwrap_or(0),
        );
        let (ys, cs) = (
            usize::try_from(p.stride[0]).unwrap_or(0),
            usize::try_from(p.stride[1]).unwrap_or(0),
        );
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        if w == 0 || h == 0 || ys < w || cs < cw {
            return Err(VideoError::Corrupt(
                "an AV1 picture with a bad layout".into(),
            ));
        }
        let [Some(y), Some(u), Some(v)] = p.data else {
            return Err(VideoError::Corrupt("an AV1 picture without planes".into()));
        };
        // Whole rows (the converter reads full strides; a shorter last row spoilt the last
        // two rows of the picture).
        let y_len = ys * h;
        let c_len = cs * ch;
        // SAFETY: for an 8-bit I420 picture rav1d's allocator (src/picture.rs) allocates a luma
        // plane of `stride[0] * align(h, 128)` bytes and chroma planes of
        // `stride[1] * align(h, 128) / 2` bytes (strides checked above: positive, at least the
        // row widths), so these ranges are inside the allocations; the memory stays valid and
        // unmodified while `self` holds its reference (the slices borrow `self`).
        let (y, u, v) = unsafe {
            (
                std::slice::from_raw_parts(y.as_ptr().cast::<u8>(), y_len),
                std::slice::from_raw_parts(u.as_ptr().cast::<u8>(), c_len),
                std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), c_len),
            )
        };
        let color = match p.seq_hdr {
            Some(seq) => {
                // SAFETY: a picture's sequence header pointer, when set, points to the header
                // the picture holds a reference to (`seq_hdr_ref`), valid while it is.
                let seq = unsafe { seq.as_ref() };
                ColorSpec {
                    full_range: seq.color_range != 0,
                    matrix: u8::try_from(seq.mtrx).ok(),
                }
            }
            None => ColorSpec::default(),
        };
        Ok((
            Planes {
                width: u32::try_from(w).unwrap_or(0),
                height: u32::try_from(h).unwrap_or(0),
                y,
                u,
                v,
                y_stride: ys,
                u_stride: cs,
                v_stride: cs,
            },
            color,
        ))
    }
}
