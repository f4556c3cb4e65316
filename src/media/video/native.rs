//! The native engine: demux + H.264/AV1 decode + YUV to RGB + rotation, for frames at times and
//! regular scans. Must not know about ffmpeg, the tools or the cache.

use super::demux::{Demuxer, KeyCheck};
use super::yuv::{self, ColorSpec, Planes};
use super::{Frame, FrameHint, VideoCtx, VideoError, VideoInfo, VideoInput, h264};
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;
use std::collections::{BinaryHeap, VecDeque};

/// Without a sample index (Matroska), seek instead of decoding on when the next target is
/// this many seconds past the last picture.
const SEEK_GAP_UNINDEXED: f64 = 3.0;

/// Which codecs this engine decodes.
pub fn decodes(codec: &str) -> bool {
    codec == "h264" || (cfg!(feature = "av1") && codec == "av1")
}

/// Receives each decoded picture and how its colours are coded.
type PicOut<'a> = dyn FnMut(Planes<'_>, ColorSpec) -> Result<(), VideoError> + 'a;

enum Decoder {
    H264(Box<h264::Decoder>),
    #[cfg(feature = "av1")]
    Av1(super::av1::Decoder),
}

impl Decoder {
    #[cfg_attr(not(feature = "av1"), allow(unused_variables))]
    fn new(codec: &str, extra: &[u8], max_pixels: u64) -> Result<Decoder, VideoError> {
        match codec {
            "h264" => Ok(Decoder::H264(Box::new(h264::Decoder::new(extra)?))),
            #[cfg(feature = "av1")]
            "av1" => Ok(Decoder::Av1(super::av1::Decoder::new(max_pixels)?)),
            other => Err(VideoError::Unsupported(format!(
                "{other} is not decoded natively"
            ))),
        }
    }

    fn send(&mut self, packet: &[u8], out: &mut PicOut<'_>) -> Result<(), VideoError> {
        match self {
            Decoder::H264(d) => {
                let c = d.color();
                d.send(packet, &mut |p| out(p, c))
            }
            #[cfg(feature = "av1")]
            Decoder::Av1(d) => d.send(packet, out),
        }
    }

    fn flush(&mut self, out: &mut PicOut<'_>) -> Result<(), VideoError> {
        match self {
            Decoder::H264(d) => {
                let c = d.color();
                d.flush(&mut |p| out(p, c))
            }
            #[cfg(feature = "av1")]
            Decoder::Av1(d) => d.flush(out),
        }
    }
}

/// Whether decoding can start at a packet of `codec`.
fn key_check(codec: &str) -> KeyCheck {
    match codec {
        "h264" => h264::is_idr,
        #[cfg(feature = "av1")]
        "av1" => super::av1::is_key,
        _ => |_, _| true,
    }
}

/// A decoded picture, copied out of the decoder (converted to RGB only if delivered).
struct Picture {
    pts: f64,
    width: u32,
    height: u32,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
    strides: (usize, usize, usize),
    color: ColorSpec,
}

impl Picture {
    fn copy(p: &Planes<'_>, pts: f64, color: ColorSpec) -> Picture {
        Picture {
            pts,
            width: p.width,
            height: p.height,
            y: p.y.to_vec(),
            u: p.u.to_vec(),
            v: p.v.to_vec(),
            strides: (p.y_stride, p.u_stride, p.v_stride),
            color,
        }
    }

    fn to_rgb(&self) -> Result<RgbImage, VideoError> {
        yuv::to_rgb(
            &Planes {
                width: self.width,
                height: self.height,
                y: &self.y,
                u: &self.u,
                v: &self.v,
                y_stride: self.strides.0,
                u_stride: self.strides.1,
                v_stride: self.strides.2,
            },
            self.color,
        )
    }
}

/// f64 ordered for a min-heap of pending presentation times.
#[derive(PartialEq)]
struct Pts(f64);
impl Eq for Pts {}
impl PartialOrd for Pts {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pts {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.total_cmp(&self.0)
    }
}

/// Demuxer + decoder, delivering pictures in display order with their pts.
struct Session<'a> {
    demux: Demuxer,
    codec: String,
    extra: Vec<u8>,
    dec: Option<Decoder>,
    /// Pts of packets sent and not yet output (a picture takes the smallest: decoders output
    /// in display order).
    pending: BinaryHeap<Pts>,
    out: VecDeque<Picture>,
    eof: bool,
    /// After a seek: packets are dropped until one can start decoding.
    need_key: bool,
    decoded: u64,
    max_decoded: u64,
    max_pixels: u64,
    cancelled: &'a dyn Fn() -> bool,
    /// Pts of the last picture output (display order), since the last seek.
    last_out: Option<f64>,
}

impl<'a> Session<'a> {
    fn open(
        input: &VideoInput,
        ctx: &VideoCtx,
        cancelled: &'a dyn Fn() -> bool,
    ) -> Result<(Session<'a>, u16), VideoError> {
        let demux = Demuxer::open(input, &ctx.limits)?;
        let v = demux
            .video()
            .ok_or_else(|| VideoError::Unsupported("no video track".into()))?;
        if !decodes(&v.codec) {
            return Err(VideoError::Unsupported(format!(
                "{} is not decoded natively",
                v.codec
            )));
        }
        super::probe::check_dimensions(v.width, v.height, &ctx.limits)?;
        let (codec, extra, rotation) = (v.codec.clone(), v.extra.clone(), v.rotation);
        Ok((
            Session {
                demux,
                codec,
                extra,
                dec: None,
                pending: BinaryHeap::new(),
                out: VecDeque::new(),
                eof: false,
                need_key: true,
                decoded: 0,
                max_decoded: ctx.limits.max_decoded_frames,
                max_pixels: ctx.limits.max_pixels,
                cancelled,
                last_out: None,
            },
            rotation,
        ))
    }

    /// Restarts decoding at the keyframe at or before `t`.
    fn seek(&mut self, t: f64) -> Result<(), VideoError> {
        self.demux.seek_keyframe(t, key_check(&self.codec))?;
        self.dec = None;
        self.pending.clear();
        self.out.clear();
        self.eof = false;
        self.need_key = true;
        self.last_out = None;
        Ok(())
    }

    /// The next picture in display order (`None` at the end of the stream).
    fn next_picture(&mut self) -> Result<Option<Picture>, VideoError> {
        loop {
            if let Some(p) = self.out.pop_front() {
                self.last_out = Some(p.pts);
                return Ok(Some(p));
            }
            if self.eof {
                return Ok(None);
            }
            if (self.cancelled)() {
                return Err(VideoError::Cancelled);
            }
            let Some(packet) = self.demux.next_packet()? else {
                self.eof = true;
                if let Some(dec) = self.dec.as_mut() {
                    let (pending, out) = (&mut self.pending, &mut self.out);
                    let max_pixels = self.max_pixels;
                    dec.flush(&mut |p, c| collect(pending, out, max_pixels, &p, c))?;
                }
                continue;
            };
            if self.need_key {
                if !key_check(&self.codec)(&self.extra, &packet.data) {
                    continue;
                }
                self.need_key = false;
            }
            self.decoded += 1;
            if self.decoded > self.max_decoded {
                return Err(VideoError::TooLarge(format!(
                    "more than {} frames to decode",
                    self.max_decoded
                )));
            }
            if self.dec.is_none() {
                self.dec = Some(Decoder::new(&self.codec, &self.extra, self.max_pixels)?);
            }
            self.pending.push(Pts(packet.pts));
            if let Some(dec) = self.dec.as_mut() {
                let (pending, out) = (&mut self.pending, &mut self.out);
                let max_pixels = self.max_pixels;
                dec.send(&packet.data, &mut |p, c| {
                    collect(pending, out, max_pixels, &p, c)
                })?;
            }
        }
    }
}

fn collect(
    pending: &mut BinaryHeap<Pts>,
    out: &mut VecDeque<Picture>,
    max_pixels: u64,
    p: &Planes<'_>,
    color: ColorSpec,
) -> Result<(), VideoError> {
    if u64::from(p.width) * u64::from(p.height) > max_pixels {
        return Err(VideoError::TooLarge(format!(
            "a {}x{} picture",
            p.width, p.height
        )));
    }
    // A picture without a pending packet time (should not happen) follows the last one.
    let pts = pending
        .pop()
        .map(|x| x.0)
        .or_else(|| out.back().map(|b| b.pts))
        .unwrap_or(0.0);
    out.push_back(Picture::copy(p, pts, color));
    Ok(())
}

/// Walks sorted target times, delivering for each the picture displayed at it.
struct Walker<'a> {
    s: Session<'a>,
    /// The last picture with pts <= the current target.
    last: Option<Picture>,
    /// The first picture past the current target.
    ahead: Option<Picture>,
    started: bool,
}

impl<'a> Walker<'a> {
    /// Whether reaching `t` is cheaper by seeking than by decoding on.
    fn should_seek(&self, t: f64) -> bool {
        if !self.started {
            return true;
        }
        let here = self
            .ahead
            .as_ref()
            .or(self.last.as_ref())
            .map(|p| p.pts)
            .or(self.s.last_out);
        let Some(here) = here else { return true };
        if t < here {
            // Only when the last delivered picture is still right (handled by the caller)
            // or t is before everything decoded since the seek.
            return self.last.as_ref().is_none_or(|l| t < l.pts);
        }
        match self.s.demux.indexed_keyframe_before(t) {
            Some(kf) => kf > here + 1e-6,
            None => t - here > SEEK_GAP_UNINDEXED,
        }
    }

    /// The picture displayed at `t`.
    fn at(&mut self, t: f64) -> Result<&Picture, VideoError> {
        if self.should_seek(t) {
            self.s.seek(t)?;
            self.last = None;
            self.ahead = None;
            self.started = true;
        }
        if let Some(a) = self.ahead.take() {
            if a.pts <= t + 1e-9 {
                self.last = Some(a);
            } else {
                self.ahead = Some(a);
            }
        }
        while self.ahead.is_none() {
            match self.s.next_picture()? {
                Some(p) if p.pts <= t + 1e-9 => self.last = Some(p),
                Some(p) => self.ahead = Some(p),
                None => break,
            }
        }
        self.last
            .as_ref()
            .or(self.ahead.as_ref())
            .ok_or_else(|| VideoError::Corrupt("no picture could be decoded".into()))
    }
}

fn check_time(t: f64) -> Result<f64, VideoError> {
    if t.is_finite() {
        Ok(t.max(0.0))
    } else {
        Err(VideoError::InvalidRequest(format!(
            "time {t} is not a number"
        )))
    }
}

/// Shared by frames_at and scan: the picture at each of `times` (any order), converted and
/// oriented by `finish`, delivered in ascending time order.
fn walk(
    input: &VideoInput,
    times: &[f64],
    ctx: &VideoCtx,
    cancelled: &dyn Fn() -> bool,
    finish: &mut dyn FnMut(RgbImage) -> Result<RgbImage, VideoError>,
    on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    let mut order: Vec<(usize, f64)> = times
        .iter()
        .enumerate()
        .map(|(i, &t)| check_time(t).map(|t| (i, t)))
        .collect::<Result<_, _>>()?;
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (session, rotation) = Session::open(input, ctx, cancelled)?;
    let mut w = Walker {
        s: session,
        last: None,
        ahead: None,
        started: false,
    };
    // The last delivered picture (pts, image), reused for repeated answers.
    let mut prev: Option<(f64, RgbImage)> = None;
    for (i, t) in order {
        let pic = w.at(t)?;
        let image = match &prev {
            Some((pts, img)) if *pts == pic.pts => img.clone(),
            _ => {
                let img = finish(yuv::rotate(pic.to_rgb()?, rotation))?;
                prev = Some((pic.pts, img.clone()));
                img
            }
        };
        on_frame(
            i,
            Frame {
                pts: pic.pts,
                image,
            },
        )?;
    }
    Ok(())
}

/// See [`super::frames_at`]. Frames come at full size (the hint is not used).
pub fn frames_at(
    input: &VideoInput,
    _info: &VideoInfo,
    times: &[f64],
    _hint: FrameHint,
    ctx: &VideoCtx,
    cancelled: &dyn Fn() -> bool,
    on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    walk(input, times, ctx, cancelled, &mut Ok, on_frame)
}

/// The sample times of a scan: `start`, `start + interval`, ... before `end`.
pub fn scan_times(range: (f64, f64), interval: f64, max: u64) -> Result<Vec<f64>, VideoError> {
    let (start, end) = range;
    if !(interval.is_finite() && interval > 0.0) {
        return Err(VideoError::InvalidRequest(format!(
            "scan interval {interval} must be positive"
        )));
    }
    if !(start.is_finite() && end.is_finite() && start >= 0.0 && end > start) {
        return Err(VideoError::InvalidRequest(format!(
            "scan range {start}..{end} is empty or invalid"
        )));
    }
    // `start + k * interval` for every such time before `end` (the end itself excluded, as
    // the ffmpeg engine does), within a microsecond of rounding.
    let n = ((end - start) / interval - 1e-6).ceil().max(1.0);
    if n > max as f64 {
        return Err(VideoError::TooLarge(format!(
            "a scan of {n} frames (limit {max})"
        )));
    }
    Ok((0..n as u64).map(|k| start + k as f64 * interval).collect())
}

/// Fits `img` in `size` (aspect kept; never enlarged).
fn fit(img: RgbImage, size: (u32, u32)) -> Result<RgbImage, VideoError> {
    let (w, h) = img.dimensions();
    let (bw, bh) = (size.0.max(1), size.1.max(1));
    if w <= bw && h <= bh {
        return Ok(img);
    }
    let scale = (f64::from(bw) / f64::from(w)).min(f64::from(bh) / f64::from(h));
    let nw = ((f64::from(w) * scale).round() as u32).clamp(1, bw);
    let nh = ((f64::from(h) * scale).round() as u32).clamp(1, bh);
    let src = image::DynamicImage::ImageRgb8(img);
    let mut dst = image::DynamicImage::ImageRgb8(RgbImage::new(nw, nh));
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)),
        )
        .map_err(|e| VideoError::Internal(format!("resize: {e}")))?;
    Ok(dst.into_rgb8())
}

/// See [`super::scan`].
#[allow(clippy::too_many_arguments)]
pub fn scan(
    input: &VideoInput,
    _info: &VideoInfo,
    range: (f64, f64),
    interval: f64,
    size: (u32, u32),
    ctx: &VideoCtx,
    cancelled: &dyn Fn() -> bool,
    on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    let times = scan_times(range, interval, ctx.limits.max_decoded_frames)?;
    walk(
        input,
        &times,
        ctx,
        cancelled,
        &mut |img| fit(img, size),
        on_frame,
    )
}

/// Decodes every frame of the first video track in order, calling `on_picture(pts)` for each
/// (tests and benchmarks: counts and timestamps without RGB conversion).
pub fn decode_all(
    input: &VideoInput,
    ctx: &VideoCtx,
    cancelled: &dyn Fn() -> bool,
    on_picture: &mut dyn FnMut(f64),
) -> Result<u64, VideoError> {
    let (mut s, _) = Session::open(input, ctx, cancelled)?;
    s.seek(0.0)?;
    let mut n = 0;
    while let Some(p) = s.next_picture()? {
        on_picture(p.pts);
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::video::VideoInput;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    // The engine reads opened files; these open the test samples by path.
    fn open(p: &Path) -> VideoInput {
        VideoInput::from_path(p).unwrap()
    }
    fn frames_at(
        p: &Path,
        info: &VideoInfo,
        times: &[f64],
        hint: FrameHint,
        ctx: &VideoCtx,
        cancelled: &dyn Fn() -> bool,
        on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        super::frames_at(&open(p), info, times, hint, ctx, cancelled, on_frame)
    }
    #[allow(clippy::too_many_arguments)]
    fn scan(
        p: &Path,
        info: &VideoInfo,
        range: (f64, f64),
        interval: f64,
        size: (u32, u32),
        ctx: &VideoCtx,
        cancelled: &dyn Fn() -> bool,
        on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        super::scan(
            &open(p),
            info,
            range,
            interval,
            size,
            ctx,
            cancelled,
            on_frame,
        )
    }
    fn decode_all(
        p: &Path,
        ctx: &VideoCtx,
        cancelled: &dyn Fn() -> bool,
        on_pts: &mut dyn FnMut(f64),
    ) -> Result<u64, VideoError> {
        super::decode_all(&open(p), ctx, cancelled, on_pts)
    }
    fn probe(p: &Path, ctx: &VideoCtx) -> Result<VideoInfo, VideoError> {
        super::super::probe(&open(p), ctx)
    }

    fn sample(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples/video")
            .join(name)
    }

    fn never() -> bool {
        false
    }

    fn ctx() -> VideoCtx {
        VideoCtx::default()
    }

    fn info(path: &Path) -> VideoInfo {
        probe(path, &ctx()).unwrap()
    }

    /// Runs ffmpeg (installed here and in CI: the test oracle) with `args`.
    fn ffmpeg(args: &[&str]) {
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-y"])
            .args(args)
            .status()
            .expect("ffmpeg runs");
        assert!(st.success(), "ffmpeg {args:?}");
    }

    /// ffprobe's presentation times of every video frame, minus the stream's start time.
    fn ffprobe_pts(path: &Path) -> Vec<f64> {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
            .args(["frame=best_effort_timestamp_time", "-of", "csv=p=0"])
            .arg(path)
            .output()
            .expect("ffprobe runs");
        let pts: Vec<f64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
            .collect();
        let start = pts.iter().copied().fold(f64::INFINITY, f64::min);
        pts.iter().map(|p| p - start).collect()
    }

    fn all_pts(path: &Path) -> Vec<f64> {
        let mut v = Vec::new();
        decode_all(path, &ctx(), &never, &mut |p| v.push(p)).unwrap();
        v
    }

    fn assert_same_times(ours: &[f64], theirs: &[f64]) {
        assert_eq!(ours.len(), theirs.len(), "{ours:?} vs {theirs:?}");
        for (a, b) in ours.iter().zip(theirs) {
            assert!((a - b).abs() < 0.002, "{ours:?} vs {theirs:?}");
        }
    }

    #[test]
    fn bframe_mkv_decodes_every_frame_with_ffprobes_times() {
        let p = sample("clip.mkv");
        let ours = all_pts(&p);
        let theirs = ffprobe_pts(&p);
        assert_eq!(theirs.len(), 30);
        assert_same_times(&ours, &theirs);
        assert!(ours.first().is_some_and(|t| t.abs() < 1e-6));
    }

    #[test]
    fn bframe_mp4_with_edit_list_decodes_every_frame_with_ffprobes_times() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bf3.mp4");
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=176x144:rate=25:duration=3",
            "-c:v",
            "libx264",
            "-bf",
            "3",
            "-g",
            "25",
            "-pix_fmt",
            "yuv420p",
            out.to_str().unwrap(),
        ]);
        let ours = all_pts(&out);
        let theirs = ffprobe_pts(&out);
        assert_eq!(theirs.len(), 75);
        assert_same_times(&ours, &theirs);
        // Seeking to the keyframe before each target and decoding on gives the same times.
        let i = info(&out);
        assert_eq!(i.video[0].keyframe_interval, Some(1.0));
        let mut got = Vec::new();
        frames_at(
            &out,
            &i,
            &[2.5, 0.0, 1.23],
            FrameHint::default(),
            &ctx(),
            &never,
            &mut |k, f| {
                got.push((k, f.pts, f.image.dimensions()));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].0, got[1].0, got[2].0), (1, 2, 0));
        assert!((got[0].1 - 0.0).abs() < 1e-6);
        assert!((got[1].1 - 1.2).abs() < 1e-6, "{got:?}");
        assert!((got[2].1 - 2.48).abs() < 1e-6, "{got:?}");
        assert_eq!(got[0].2, (176, 144));
    }

    #[test]
    fn frames_at_gives_the_frame_displayed_at_each_time() {
        let p = sample("clip_h264_aac.mp4");
        let i = info(&p);
        let times = [1.0, 0.0, 0.5, 0.51, 50.0, 1.0];
        let mut got = Vec::new();
        frames_at(
            &p,
            &i,
            &times,
            FrameHint::default(),
            &ctx(),
            &never,
            &mut |k, f| {
                assert_eq!(f.image.dimensions(), (320, 240));
                got.push((k, f.pts));
                Ok(())
            },
        )
        .unwrap();
        let idx: Vec<usize> = got.iter().map(|g| g.0).collect();
        assert_eq!(idx, [1, 2, 3, 0, 5, 4]);
        let want = [0.0, 7.0 / 15.0, 7.0 / 15.0, 1.0, 1.0, 29.0 / 15.0];
        for ((_, pts), w) in got.iter().zip(want) {
            assert!((pts - w).abs() < 1e-6, "{got:?}");
        }
    }

    #[test]
    fn frame_matches_ffmpegs_decode() {
        let p = sample("clip.mkv");
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("f.png");
        // The 16th frame (pts 1.0 s after the start).
        ffmpeg(&[
            "-i",
            p.to_str().unwrap(),
            "-vf",
            "select=eq(n\\,15)",
            "-frames:v",
            "1",
            png.to_str().unwrap(),
        ]);
        let theirs = image::open(&png).unwrap().into_rgb8();
        let mut ours = None;
        frames_at(
            &p,
            &info(&p),
            &[1.0],
            FrameHint::default(),
            &ctx(),
            &never,
            &mut |_, f| {
                ours = Some(f);
                Ok(())
            },
        )
        .unwrap();
        let ours = ours.unwrap();
        assert!((ours.pts - 1.0).abs() < 1e-6, "{}", ours.pts);
        let p = psnr(&ours.image, &theirs);
        assert!(p > 30.0, "PSNR {p:.1} dB");
    }

    fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
        assert_eq!(a.dimensions(), b.dimensions());
        let mse: f64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
            .sum::<f64>()
            / a.as_raw().len() as f64;
        10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
    }

    /// ffmpeg's (auto-rotated) first frame of `path`.
    fn ffmpeg_first_frame(path: &Path, dir: &Path) -> RgbImage {
        let png = dir.join("first.png");
        ffmpeg(&[
            "-i",
            path.to_str().unwrap(),
            "-frames:v",
            "1",
            png.to_str().unwrap(),
        ]);
        image::open(&png).unwrap().into_rgb8()
    }

    #[test]
    fn rotated_clips_come_out_as_ffmpeg_shows_them() {
        let dir = tempfile::tempdir().unwrap();
        // ffmpeg 5.1 writes the legacy `rotate` tag as a display matrix; ffprobe then reports
        // the counter-clockwise angle (tag 270 -> "-90", the usual phone portrait clip).
        for (tag, side_data, clockwise) in
            [("270", "-90", 90), ("90", "90", 270), ("180", "-180", 180)]
        {
            let out = dir.path().join(format!("rot{tag}.mp4"));
            ffmpeg(&[
                "-i",
                sample("clip_h264_aac.mp4").to_str().unwrap(),
                "-c",
                "copy",
                "-metadata:s:v",
                &format!("rotate={tag}"),
                out.to_str().unwrap(),
            ]);
            let side = Command::new("ffprobe")
                .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
                .args(["stream_side_data=rotation", "-of", "csv=p=0"])
                .arg(&out)
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&side.stdout).trim(), side_data);
            let i = info(&out);
            let v = &i.video[0];
            assert_eq!((v.rotation, v.width, v.height), (clockwise, 320, 240));
            let want = if clockwise == 180 {
                (320, 240)
            } else {
                (240, 320)
            };
            assert_eq!((v.display_width, v.display_height), want);
            let mut ours = None;
            frames_at(
                &out,
                &i,
                &[0.0],
                FrameHint::default(),
                &ctx(),
                &never,
                &mut |_, f| {
                    ours = Some(f.image);
                    Ok(())
                },
            )
            .unwrap();
            let ours = ours.unwrap();
            assert_eq!(ours.dimensions(), want);
            let p = psnr(&ours, &ffmpeg_first_frame(&out, dir.path()));
            assert!(p > 30.0, "rotate={tag}: PSNR {p:.1} dB against ffmpeg");
        }
    }

    #[cfg(feature = "av1")]
    #[test]
    fn av1_in_mp4_and_webm_decodes_natively_like_ffmpeg() {
        let dir = tempfile::tempdir().unwrap();
        for ext in ["mp4", "webm"] {
            let out = dir.path().join(format!("av1.{ext}"));
            ffmpeg(&[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=160x120:rate=10:duration=2",
                "-c:v",
                "libaom-av1",
                "-cpu-used",
                "8",
                "-g",
                "10",
                "-pix_fmt",
                "yuv420p",
                out.to_str().unwrap(),
            ]);
            let i = info(&out);
            assert_eq!(i.video[0].codec, "av1");
            assert_eq!(i.engine, Some(super::super::Engine::Native), "{ext}");
            assert_same_times(&all_pts(&out), &ffprobe_pts(&out));
            let mut ours = None;
            frames_at(
                &out,
                &i,
                &[0.0],
                FrameHint::default(),
                &ctx(),
                &never,
                &mut |_, f| {
                    ours = Some(f.image);
                    Ok(())
                },
            )
            .unwrap();
            let ours = ours.unwrap();
            let theirs = ffmpeg_first_frame(&out, dir.path());
            let p = psnr(&ours, &theirs);
            assert!(p > 30.0, "{ext}: PSNR {p:.1} dB against ffmpeg");
        }
    }

    #[test]
    fn scan_samples_small_frames_at_the_interval() {
        let p = sample("clip.mkv");
        let mut got = Vec::new();
        scan(
            &p,
            &info(&p),
            (0.0, 2.0),
            0.5,
            (64, 64),
            &ctx(),
            &never,
            &mut |k, f| {
                got.push((k, f.pts, f.image.dimensions()));
                Ok(())
            },
        )
        .unwrap();
        // 0, 0.5, 1.0, 1.5: the end is excluded (the contract of `video::scan`).
        assert_eq!(got.len(), 4);
        for (n, (k, pts, dims)) in got.iter().enumerate() {
            assert_eq!(*k, n);
            assert_eq!(*dims, (64, 48));
            // Matroska stores milliseconds.
            let want = ((n as f64 * 0.5) * 15.0 + 1e-9).floor().min(29.0) / 15.0;
            assert!((pts - want).abs() < 0.001, "{got:?}");
        }
        assert!(matches!(
            scan(
                &p,
                &info(&p),
                (1.0, 0.5),
                0.5,
                (64, 64),
                &ctx(),
                &never,
                &mut |_, _| Ok(())
            ),
            Err(VideoError::InvalidRequest(_))
        ));
    }

    #[test]
    fn limits_and_cancellation_stop_decoding() {
        let p = sample("clip_h264_aac.mp4");
        let i = info(&p);
        let mut c = ctx();
        c.limits.max_decoded_frames = 5;
        let r = frames_at(
            &p,
            &i,
            &[1.9],
            FrameHint::default(),
            &c,
            &never,
            &mut |_, _| Ok(()),
        );
        assert!(matches!(r, Err(VideoError::TooLarge(_))), "{r:?}");
        let r = frames_at(
            &p,
            &i,
            &[1.0],
            FrameHint::default(),
            &ctx(),
            &|| true,
            &mut |_, _| Ok(()),
        );
        assert!(matches!(r, Err(VideoError::Cancelled)), "{r:?}");
        let r = frames_at(
            &p,
            &i,
            &[f64::NAN],
            FrameHint::default(),
            &ctx(),
            &never,
            &mut |_, _| Ok(()),
        );
        assert!(matches!(r, Err(VideoError::InvalidRequest(_))), "{r:?}");
    }

    /// Not a check: full-decode speed of the file named by VIDEO_BENCH_FILE (README figures;
    /// `cargo test --lib decode_speed -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn decode_speed() {
        let Ok(p) = std::env::var("VIDEO_BENCH_FILE") else {
            return;
        };
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let n = decode_all(Path::new(&p), &ctx(), &never, &mut |_| {}).unwrap();
            let s = t.elapsed().as_secs_f64();
            eprintln!("native: {n} frames in {s:.3} s = {:.1} fps", n as f64 / s);
        }
    }

    /// Probe plus the first frame, on hostile bytes: any result but a panic.
    fn survive(bytes: &[u8]) -> Result<(), VideoError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, bytes).unwrap();
        let c = ctx();
        let i = probe(&p, &c)?;
        frames_at(
            &p,
            &i,
            &[0.0, 1.0],
            FrameHint::default(),
            &c,
            &never,
            &mut |_, _| Ok(()),
        )
    }

    #[test]
    fn truncated_and_bit_flipped_files_give_errors_not_panics() {
        for name in ["clip_h264_aac.mp4", "clip.mkv", "clip_vp9_opus.webm"] {
            let bytes = std::fs::read(sample(name)).unwrap();
            for cut in [
                0,
                4,
                12,
                100,
                1000,
                bytes.len() / 3,
                bytes.len() / 2,
                bytes.len() - 1,
            ] {
                let _ = survive(bytes.get(..cut).unwrap());
            }
            // Deterministic pseudo-random bit flips.
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            for _ in 0..40 {
                let mut b = bytes.clone();
                for _ in 0..8 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let at = (x % b.len() as u64) as usize;
                    b[at] ^= 1 << (x % 8);
                }
                let _ = survive(&b);
            }
        }
        // Cut inside the moov box: an error. Cut in the middle of mdat (moov first): the
        // frames still there decode.
        let bytes = std::fs::read(sample("clip_h264_aac.mp4")).unwrap();
        let moov = bytes.windows(4).position(|w| w == b"moov").unwrap();
        assert!(matches!(
            survive(&bytes[..moov + 200]),
            Err(VideoError::Corrupt(_))
        ));
        let mdat = bytes.windows(4).position(|w| w == b"mdat").unwrap();
        assert!(mdat > moov, "the sample is faststart");
        survive(&bytes[..(mdat + bytes.len()) / 2]).unwrap();
    }

    #[test]
    fn absurd_dimensions_in_the_header_are_refused() {
        let mut bytes = std::fs::read(sample("clip_h264_aac.mp4")).unwrap();
        let stsd = bytes.windows(4).position(|w| w == b"stsd").unwrap();
        let at = stsd + bytes[stsd..].windows(4).position(|w| w == b"avc1").unwrap();
        // avc1 sample entry: width and height 24 bytes after the fourcc.
        bytes[at + 28..at + 32].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        let r = survive(&bytes);
        assert!(matches!(r, Err(VideoError::TooLarge(_))), "{r:?}");
    }
}
