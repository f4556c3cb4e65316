//! Native demuxing of MP4/MOV (mp4parse: sample tables with composition offsets, sync samples
//! and edit lists, which symphonia 0.6 ignores) and MKV/WebM (matroska-demuxer: blocks with
//! their keyframe flags): tracks, codec parameters, rotation, packets of the first video track
//! with presentation times in seconds (0 = the first frame), and seeking to the keyframe at or
//! before a time. Must not know about decoders or the image pipeline.

use super::{InputReader as File, VideoInput};
use super::{VideoError, VideoLimits};
use std::io::{BufReader, Read, Seek, SeekFrom};

/// Largest `moov` box read into memory (sample tables of many hours of video fit well below).
const MAX_MOOV_BYTES: u64 = 256 << 20;
/// Most samples one MP4 track may declare (about 46 hours at 60 fps).
const MAX_SAMPLES: u64 = 10_000_000;

/// A container's facts, as far as its headers say.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerInfo {
    /// "mp4", "mov", "matroska" or "webm".
    pub container: &'static str,
    pub duration: Option<f64>,
    pub video: Vec<VideoStream>,
    pub audio: Vec<AudioStream>,
}

/// One video track.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VideoStream {
    pub id: u32,
    /// "h264", "av1", "vp9", "vp8", "hevc", "mpeg4", ... ("unknown" when the container says
    /// nothing we know).
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Display size before rotation (sample aspect ratio applied), when the container says.
    pub display_width: Option<u32>,
    pub display_height: Option<u32>,
    /// Clockwise degrees: 0, 90, 180, 270.
    pub rotation: u16,
    pub frame_rate: Option<f64>,
    pub duration: Option<f64>,
    pub frames: Option<u64>,
    pub keyframe_interval: Option<f64>,
    pub bitrate: Option<u64>,
    /// Codec configuration: the avcC record for H.264, the av1C record for AV1.
    pub extra: Vec<u8>,
}

/// One audio track.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AudioStream {
    pub id: u32,
    pub codec: String,
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
    pub duration: Option<f64>,
}

/// One compressed video packet (an access unit / temporal unit), in decode order.
#[derive(Clone, Debug)]
pub struct Packet {
    /// Presentation time, seconds from the first frame.
    pub pts: f64,
    pub data: Vec<u8>,
    /// The container marks it as a random access point (MP4 stss, Matroska keyframe flag).
    pub key: bool,
}

/// Whether a packet of this codec can start decoding (checked on the bytes, since container
/// flags are sometimes wrong: an MP4 without stss marks every sample as sync).
pub type KeyCheck = fn(&[u8], &[u8]) -> bool;

/// A demuxer positioned in the first video track.
pub struct Demuxer {
    info: ContainerInfo,
    inner: Inner,
    max_packet: usize,
}

enum Inner {
    Mp4(Mp4State),
    Mkv(Box<MkvState>),
}

/// What the first bytes say the file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Mp4,
    Matroska,
}

/// Recognises MP4/MOV (an ISO BMFF top-level box) and Matroska (EBML magic).
pub fn sniff(head: &[u8]) -> Option<Kind> {
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(Kind::Matroska);
    }
    let kind = head.get(4..8)?;
    const TOP: [&[u8; 4]; 8] = [
        b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid",
    ];
    TOP.iter()
        .any(|t| kind == t.as_slice())
        .then_some(Kind::Mp4)
}

impl Demuxer {
    /// Opens `input`; `Unsupported` when it is neither MP4/MOV nor Matroska/WebM.
    pub fn open(input: &VideoInput, limits: &VideoLimits) -> Result<Demuxer, VideoError> {
        let mut file = input.reader();
        let mut head = [0u8; 12];
        let n = read_up_to(&mut file, &mut head)?;
        file.seek(SeekFrom::Start(0))?;
        let (info, inner) = match sniff(head.get(..n).unwrap_or_default()) {
            Some(Kind::Mp4) => {
                let (info, st) = open_mp4(file)?;
                (info, Inner::Mp4(st))
            }
            Some(Kind::Matroska) => {
                let (info, st) = open_mkv(file)?;
                (info, Inner::Mkv(Box::new(st)))
            }
            None => {
                return Err(VideoError::Unsupported(
                    "not an MP4/MOV or Matroska/WebM file".into(),
                ));
            }
        };
        Ok(Demuxer {
            info,
            inner,
            max_packet: limits.max_packet_bytes,
        })
    }

    pub fn info(&self) -> &ContainerInfo {
        &self.info
    }

    /// The first video track (the one packets come from), if any.
    pub fn video(&self) -> Option<&VideoStream> {
        self.info.video.first()
    }

    /// The next packet of the first video track, in decode order (`None` at the end).
    pub fn next_packet(&mut self) -> Result<Option<Packet>, VideoError> {
        match &mut self.inner {
            Inner::Mp4(st) => st.next_packet(self.max_packet),
            Inner::Mkv(st) => st.next_packet(self.max_packet),
        }
    }

    /// Positions the demuxer so that the next packet is the keyframe at or before `t` (the
    /// first packet when none is); `is_key(extra, data)` confirms a candidate from its bytes.
    /// Returns that keyframe's pts.
    pub fn seek_keyframe(&mut self, t: f64, is_key: KeyCheck) -> Result<f64, VideoError> {
        let extra = self.info.video.first().map(|v| v.extra.clone());
        let extra = extra.unwrap_or_default();
        match &mut self.inner {
            Inner::Mp4(st) => st.seek_keyframe(t, &extra, is_key, self.max_packet),
            Inner::Mkv(st) => st.seek_keyframe(t, &extra, is_key, self.max_packet),
        }
    }

    /// The pts of the keyframe at or before `t`, when an index knows it without reading
    /// (MP4 sync samples); `None` when finding out needs reading (Matroska).
    pub fn indexed_keyframe_before(&self, t: f64) -> Option<f64> {
        match &self.inner {
            Inner::Mp4(st) => st
                .sync_before(t)
                .and_then(|i| st.samples.get(i))
                .map(|s| st.seconds(s.pts)),
            Inner::Mkv(_) => None,
        }
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let Some(rest) = buf.get_mut(n..) else { break };
        match r.read(rest)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn corrupt(what: impl std::fmt::Display) -> VideoError {
    VideoError::Corrupt(what.to_string())
}

// ---------------------------------------------------------------------------------------------
// MP4 / MOV

struct Sample {
    offset: u64,
    size: u32,
    /// Composition time in track ticks.
    pts: i64,
    sync: bool,
}

struct Mp4State {
    file: BufReader<File>,
    file_len: u64,
    samples: Vec<Sample>,
    /// Ticks per second.
    timescale: f64,
    /// Subtracted from composition times (edit list media time), in ticks.
    offset_ticks: i64,
    /// Added after (an initial empty edit), seconds.
    empty_seconds: f64,
    cursor: usize,
}

impl Mp4State {
    fn seconds(&self, ticks: i64) -> f64 {
        (ticks.saturating_sub(self.offset_ticks)) as f64 / self.timescale + self.empty_seconds
    }

    fn read_sample(&mut self, i: usize, max_packet: usize) -> Result<Option<Packet>, VideoError> {
        let Some(s) = self.samples.get(i) else {
            return Ok(None);
        };
        let (offset, size, pts, key) = (s.offset, s.size as usize, s.pts, s.sync);
        if size > max_packet {
            return Err(VideoError::TooLarge(format!(
                "a video packet of {size} bytes (limit {max_packet})"
            )));
        }
        if offset.saturating_add(size as u64) > self.file_len {
            return Err(corrupt("a video sample lies past the end of the file"));
        }
        self.file.seek(SeekFrom::Start(offset))?;
        let mut data = vec![0u8; size];
        self.file.read_exact(&mut data)?;
        Ok(Some(Packet {
            pts: self.seconds(pts),
            data,
            key,
        }))
    }

    fn next_packet(&mut self, max_packet: usize) -> Result<Option<Packet>, VideoError> {
        let p = self.read_sample(self.cursor, max_packet)?;
        if p.is_some() {
            self.cursor += 1;
        }
        Ok(p)
    }

    /// The last sync sample (decode order) whose pts is at or before `t`.
    fn sync_before(&self, t: f64) -> Option<usize> {
        self.samples
            .iter()
            .enumerate()
            .filter(|(_, s)| s.sync && self.seconds(s.pts) <= t + 1e-9)
            .map(|(i, _)| i)
            .next_back()
    }

    fn seek_keyframe(
        &mut self,
        t: f64,
        extra: &[u8],
        is_key: KeyCheck,
        max_packet: usize,
    ) -> Result<f64, VideoError> {
        // Walk back over sync samples at or before t until one really starts a picture.
        let mut candidates: Vec<usize> = self
            .samples
            .iter()
            .enumerate()
            .filter(|(_, s)| s.sync && self.seconds(s.pts) <= t + 1e-9)
            .map(|(i, _)| i)
            .collect();
        let mut chosen = 0usize;
        while let Some(i) = candidates.pop() {
            if let Some(p) = self.read_sample(i, max_packet)?
                && is_key(extra, &p.data)
            {
                chosen = i;
                break;
            }
        }
        self.cursor = chosen;
        Ok(self
            .samples
            .get(chosen)
            .map_or(0.0, |s| self.seconds(s.pts)))
    }
}

/// Reads the top-level boxes to find `ftyp` and `moov` (never reading `mdat`).
fn mp4_header_bytes(file: &mut File, file_len: u64) -> Result<Vec<u8>, VideoError> {
    let mut pos = 0u64;
    let mut ftyp: Option<Vec<u8>> = None;
    let mut moov: Option<Vec<u8>> = None;
    while pos.saturating_add(8) <= file_len && moov.is_none() {
        file.seek(SeekFrom::Start(pos))?;
        let mut h = [0u8; 16];
        let n = read_up_to(file, &mut h)?;
        if n < 8 {
            break;
        }
        let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
        let kind = [h[4], h[5], h[6], h[7]];
        let size = match size32 {
            0 => file_len - pos,
            1 if n >= 16 => {
                u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]])
            }
            1 => return Err(corrupt("truncated MP4 box header")),
            s => s,
        };
        if size < 8 || pos.saturating_add(size) > file_len {
            // A truncated last box: keep what we found (a moov before it still works).
            if &kind == b"moov" {
                return Err(corrupt("the MP4 moov box is truncated"));
            }
            break;
        }
        if &kind == b"ftyp" || &kind == b"moov" {
            if size > MAX_MOOV_BYTES {
                return Err(VideoError::TooLarge(format!(
                    "an MP4 header box of {size} bytes"
                )));
            }
            file.seek(SeekFrom::Start(pos))?;
            let mut buf = vec![0u8; size as usize];
            file.read_exact(&mut buf)?;
            if &kind == b"ftyp" {
                ftyp = Some(buf);
            } else {
                moov = Some(buf);
            }
        }
        pos += size;
    }
    let Some(moov) = moov else {
        return Err(corrupt("no moov box (not an MP4 file, or truncated)"));
    };
    // QuickTime files may have no ftyp; mp4parse wants one.
    let mut out = ftyp.unwrap_or_else(|| {
        let mut f = vec![0, 0, 0, 16];
        f.extend_from_slice(b"ftypqt  \0\0\0\0");
        f
    });
    out.extend_from_slice(&moov);
    Ok(out)
}

fn mp4_rotation(m: &mp4parse::Matrix) -> u16 {
    const ONE: i32 = 1 << 16;
    match (m.a, m.b, m.c, m.d) {
        (0, ONE, x, 0) if x == -ONE => 90,
        (x, 0, 0, y) if x == -ONE && y == -ONE => 180,
        (0, x, ONE, 0) if x == -ONE => 270,
        _ => 0,
    }
}

fn open_mp4(mut file: File) -> Result<(ContainerInfo, Mp4State), VideoError> {
    use mp4parse::{CodecType, SampleEntry, TrackType, VideoCodecSpecific};
    let file_len = file.len();
    let header = mp4_header_bytes(&mut file, file_len)?;
    let is_qt = header.get(8..12) == Some(b"qt  ".as_slice());
    let ctx = mp4parse::read_mp4(&mut std::io::Cursor::new(&header))
        .map_err(|e| corrupt(format!("MP4 header: {e:?}")))?;
    let movie_scale = ctx.timescale.map(|t| t.0).filter(|&t| t > 0);
    let mut info = ContainerInfo {
        container: if is_qt { "mov" } else { "mp4" },
        ..Default::default()
    };
    let mut state: Option<Mp4State> = None;
    let mut longest: Option<f64> = None;
    for track in ctx.tracks.iter() {
        let id = track.track_id.unwrap_or(track.id as u32);
        let scale = track.timescale.map(|t| t.0).filter(|&t| t > 0);
        // The edit list's presentation duration (AAC priming trimmed, as ffprobe reports it),
        // else the media duration.
        let duration = match (track.edited_duration, movie_scale, track.duration, scale) {
            (Some(e), Some(ms), _, _) if e.0 > 0 => Some(e.0 as f64 / ms as f64),
            (_, _, Some(d), Some(s)) => Some(d.0 as f64 / s as f64),
            _ => None,
        };
        let entry = track.stsd.as_ref().and_then(|s| s.descriptions.first());
        match (&track.track_type, entry) {
            (TrackType::Video, Some(SampleEntry::Video(v))) => {
                let (codec, extra) = match (&v.codec_type, &v.codec_specific) {
                    (CodecType::H264, VideoCodecSpecific::AVCConfig(c)) => ("h264", c.to_vec()),
                    (CodecType::AV1, VideoCodecSpecific::AV1Config(c)) => {
                        ("av1", c.raw_config.to_vec())
                    }
                    (CodecType::H264, _) => ("h264", Vec::new()),
                    (CodecType::AV1, _) => ("av1", Vec::new()),
                    (CodecType::VP9, _) => ("vp9", Vec::new()),
                    (CodecType::VP8, _) => ("vp8", Vec::new()),
                    (CodecType::MP4V, _) => ("mpeg4", Vec::new()),
                    (CodecType::H263, _) => ("h263", Vec::new()),
                    (CodecType::EncryptedVideo, _) => ("encrypted", Vec::new()),
                    _ => ("unknown", Vec::new()),
                };
                let rotation = track.tkhd.as_ref().map_or(0, |t| mp4_rotation(&t.matrix));
                // tkhd width/height (16.16) carry the display size before rotation.
                let (dw, dh) = track.tkhd.as_ref().map_or((None, None), |t| {
                    let (w, h) = (t.width >> 16, t.height >> 16);
                    if w > 0 && h > 0 {
                        (Some(w), Some(h))
                    } else {
                        (None, None)
                    }
                });
                let mut vs = VideoStream {
                    id,
                    codec: codec.into(),
                    width: v.width.into(),
                    height: v.height.into(),
                    display_width: dw,
                    display_height: dh,
                    rotation,
                    duration,
                    extra,
                    ..Default::default()
                };
                if state.is_none()
                    && let Some(scale) = scale
                {
                    let st = mp4_samples(track, scale, movie_scale, &file, file_len)?;
                    fill_from_samples(&mut vs, &st);
                    state = Some(st);
                }
                if let Some(d) = vs.duration {
                    longest = Some(longest.map_or(d, |l: f64| l.max(d)));
                }
                info.video.push(vs);
            }
            (TrackType::Video, _) => {
                // A sample entry mp4parse does not know (HEVC, ProRes, ...).
                let (w, h) = track
                    .tkhd
                    .as_ref()
                    .map_or((0, 0), |t| (t.width >> 16, t.height >> 16));
                info.video.push(VideoStream {
                    id,
                    codec: "unknown".into(),
                    width: w,
                    height: h,
                    rotation: track.tkhd.as_ref().map_or(0, |t| mp4_rotation(&t.matrix)),
                    duration,
                    ..Default::default()
                });
            }
            (TrackType::Audio, entry) => {
                let (codec, rate, channels) = match entry {
                    Some(SampleEntry::Audio(a)) => {
                        let esds = match &a.codec_specific {
                            mp4parse::AudioCodecSpecific::ES_Descriptor(e) => Some(e),
                            _ => None,
                        };
                        (
                            match a.codec_type {
                                CodecType::AAC => "aac",
                                CodecType::MP3 => "mp3",
                                CodecType::Opus => "opus",
                                CodecType::FLAC => "flac",
                                CodecType::ALAC => "alac",
                                CodecType::LPCM => "pcm",
                                CodecType::EncryptedAudio => "encrypted",
                                _ => "unknown",
                            },
                            // The esds (AAC AudioSpecificConfig) says the real rate and channels;
                            // sample entries often just say 2.
                            esds.and_then(|e| e.audio_sample_rate)
                                .or((a.samplerate > 0.0 && a.samplerate < 1e7)
                                    .then_some(a.samplerate as u32)),
                            esds.and_then(|e| e.audio_channel_count)
                                .map(u32::from)
                                .or((a.channelcount > 0).then_some(a.channelcount)),
                        )
                    }
                    _ => ("unknown", None, None),
                };
                if let Some(d) = duration {
                    longest = Some(longest.map_or(d, |l: f64| l.max(d)));
                }
                info.audio.push(AudioStream {
                    id,
                    codec: codec.into(),
                    sample_rate: rate,
                    channels,
                    duration,
                });
            }
            _ => {}
        }
    }
    info.duration = longest;
    let state = match state {
        Some(s) => s,
        None => Mp4State {
            file: BufReader::new(file),
            file_len,
            samples: Vec::new(),
            timescale: 1.0,
            offset_ticks: 0,
            empty_seconds: 0.0,
            cursor: 0,
        },
    };
    Ok((info, state))
}

fn mp4_samples(
    track: &mp4parse::Track,
    scale: u64,
    movie_scale: Option<u64>,
    file: &File,
    file_len: u64,
) -> Result<Mp4State, VideoError> {
    let declared: u64 = track.stts.as_ref().map_or(0, |s| {
        s.samples.iter().map(|e| u64::from(e.sample_count)).sum()
    });
    if declared > MAX_SAMPLES {
        return Err(VideoError::TooLarge(format!(
            "an MP4 track of {declared} samples"
        )));
    }
    let table = mp4parse::unstable::create_sample_table(track, 0i64.into());
    let Some(table) = table else {
        if declared == 0 && track.stts.is_some() {
            // An empty (e.g. fragmented) track: nothing to decode natively.
            return Err(VideoError::Unsupported(
                "an MP4 video track without samples in its header (fragmented MP4)".into(),
            ));
        }
        return Err(corrupt("the MP4 sample table is inconsistent"));
    };
    if table.len() as u64 > MAX_SAMPLES {
        return Err(VideoError::TooLarge(format!(
            "an MP4 track of {} samples",
            table.len()
        )));
    }
    let mut samples = Vec::with_capacity(table.len());
    for s in table.iter() {
        let (start, end) = (s.start_offset.0, s.end_offset.0);
        let size = end
            .checked_sub(start)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| corrupt("an MP4 sample with a bad size"))?;
        if end > file_len {
            // A truncated file: the samples past its end are gone.
            break;
        }
        samples.push(Sample {
            offset: start,
            size,
            pts: s.start_composition.0,
            sync: s.sync,
        });
    }
    if samples.is_empty() {
        return Err(corrupt("the MP4 video track has no samples in the file"));
    }
    let offset_ticks = track
        .media_time
        .map_or(0, |m| i64::try_from(m.0).unwrap_or(0));
    let empty_seconds = match (track.empty_duration, movie_scale) {
        (Some(e), Some(ms)) => e.0 as f64 / ms as f64,
        _ => 0.0,
    };
    Ok(Mp4State {
        file: BufReader::new(file.clone()),
        file_len,
        samples,
        timescale: scale as f64,
        offset_ticks,
        empty_seconds,
        cursor: 0,
    })
}

fn fill_from_samples(vs: &mut VideoStream, st: &Mp4State) {
    let n = st.samples.len() as u64;
    vs.frames = Some(n);
    let bytes: u64 = st.samples.iter().map(|s| u64::from(s.size)).sum();
    let first = st.samples.iter().map(|s| s.pts).min();
    let last = st.samples.iter().map(|s| s.pts).max();
    if let (Some(a), Some(b)) = (first, last) {
        // Average frame rate over the span of presentation times (n - 1 intervals).
        let span = (b.saturating_sub(a)) as f64 / st.timescale;
        if n > 1 && span > 0.0 {
            let rate = (n - 1) as f64 / span;
            vs.frame_rate = Some(rate);
            if vs.duration.is_none_or(|d| d <= 0.0) {
                vs.duration = Some(n as f64 / rate);
            }
        }
    }
    if let Some(d) = vs.duration.filter(|d| *d > 0.0) {
        vs.bitrate = Some((bytes as f64 * 8.0 / d) as u64);
    }
    let syncs: Vec<f64> = st
        .samples
        .iter()
        .filter(|s| s.sync)
        .map(|s| st.seconds(s.pts))
        .collect();
    if syncs.len() >= 2 && (syncs.len() as u64) < n {
        let mut gaps: Vec<f64> = syncs
            .windows(2)
            .filter_map(|w| match w {
                [a, b] => Some(b - a),
                _ => None,
            })
            .collect();
        gaps.sort_by(f64::total_cmp);
        vs.keyframe_interval = gaps.get(gaps.len() / 2).copied();
    }
}

// ---------------------------------------------------------------------------------------------
// Matroska / WebM

struct MkvState {
    mkv: matroska_demuxer::MatroskaFile<BufReader<File>>,
    track: u64,
    /// Nanoseconds per tick.
    tick_ns: f64,
    /// Ticks of the first frame (subtracted).
    start_ticks: u64,
    frame: matroska_demuxer::Frame,
}

impl MkvState {
    fn seconds(&self, ticks: u64) -> f64 {
        (ticks as f64 - self.start_ticks as f64) * self.tick_ns / 1e9
    }

    fn ticks(&self, seconds: f64) -> u64 {
        let t = seconds * 1e9 / self.tick_ns + self.start_ticks as f64;
        if t.is_finite() && t > 0.0 {
            t as u64
        } else {
            0
        }
    }

    fn next_packet(&mut self, max_packet: usize) -> Result<Option<Packet>, VideoError> {
        loop {
            let more = self
                .mkv
                .next_frame(&mut self.frame)
                .map_err(|e| corrupt(format!("Matroska: {e}")))?;
            if !more {
                return Ok(None);
            }
            if self.frame.track != self.track {
                continue;
            }
            if self.frame.data.len() > max_packet {
                return Err(VideoError::TooLarge(format!(
                    "a video packet of {} bytes (limit {max_packet})",
                    self.frame.data.len()
                )));
            }
            return Ok(Some(Packet {
                pts: self.seconds(self.frame.timestamp),
                data: std::mem::take(&mut self.frame.data),
                key: self.frame.is_keyframe.unwrap_or(false),
            }));
        }
    }

    fn seek_raw(&mut self, ticks: u64) -> Result<(), VideoError> {
        self.mkv
            .seek(ticks)
            .map_err(|e| corrupt(format!("Matroska seek: {e}")))
    }

    /// Searches backwards from `t` in widening windows for a keyframe with pts <= t, then
    /// positions the demuxer on it.
    fn seek_keyframe(
        &mut self,
        t: f64,
        extra: &[u8],
        is_key: KeyCheck,
        max_packet: usize,
    ) -> Result<f64, VideoError> {
        let mut back = 2.0f64;
        loop {
            let from = (t - back).max(0.0);
            self.seek_raw(self.ticks(from))?;
            let mut best: Option<u64> = None;
            while let Some(p) = self.next_packet(max_packet)? {
                let ticks = self.ticks_of_last();
                if p.pts > t + 1e-9 {
                    // Past the target: once a keyframe is past it, nothing later can help.
                    if p.key || p.pts > t + back {
                        break;
                    }
                    continue;
                }
                if (p.key || best.is_none() && from <= 0.0) && is_key(extra, &p.data) {
                    best = Some(ticks);
                }
            }
            if let Some(ticks) = best {
                self.seek_raw(ticks)?;
                return Ok(self.seconds(ticks));
            }
            if from <= 0.0 {
                // Nothing decodable at or before t: start from the beginning.
                self.seek_raw(0)?;
                return Ok(0.0);
            }
            back *= 4.0;
        }
    }

    fn ticks_of_last(&self) -> u64 {
        self.frame.timestamp
    }
}

fn mkv_codec(id: &str) -> &'static str {
    match id {
        "V_MPEG4/ISO/AVC" => "h264",
        "V_AV1" => "av1",
        "V_VP9" => "vp9",
        "V_VP8" => "vp8",
        "V_MPEGH/ISO/HEVC" => "hevc",
        "V_MPEG4/ISO/SP" | "V_MPEG4/ISO/ASP" | "V_MPEG4/ISO/AP" => "mpeg4",
        "V_MPEG2" => "mpeg2video",
        "V_MPEG1" => "mpeg1video",
        "V_THEORA" => "theora",
        "V_PRORES" => "prores",
        "V_MS/VFW/FOURCC" => "vfw",
        "A_AAC" => "aac",
        "A_OPUS" => "opus",
        "A_VORBIS" => "vorbis",
        "A_FLAC" => "flac",
        "A_MPEG/L3" => "mp3",
        "A_MPEG/L2" => "mp2",
        "A_AC3" => "ac3",
        "A_EAC3" => "eac3",
        "A_DTS" => "dts",
        "A_TRUEHD" => "truehd",
        "A_ALAC" => "alac",
        s if s.starts_with("A_AAC") => "aac",
        s if s.starts_with("A_PCM") => "pcm",
        _ => "unknown",
    }
}

fn open_mkv(file: File) -> Result<(ContainerInfo, MkvState), VideoError> {
    use matroska_demuxer::{MatroskaFile, TrackType};
    let mut mkv =
        MatroskaFile::open(BufReader::new(file)).map_err(|e| corrupt(format!("Matroska: {e}")))?;
    let tick_ns = mkv.info().timestamp_scale().get() as f64;
    let webm = mkv.ebml_header().doc_type() == "webm";
    let mut info = ContainerInfo {
        container: if webm { "webm" } else { "matroska" },
        duration: mkv
            .info()
            .duration()
            .map(|d| d * tick_ns / 1e9)
            .filter(|d| d.is_finite() && *d >= 0.0),
        ..Default::default()
    };
    let mut video_track = None;
    for t in mkv.tracks() {
        let id = u32::try_from(t.track_number().get()).unwrap_or(u32::MAX);
        match t.track_type() {
            TrackType::Video => {
                let Some(v) = t.video() else { continue };
                let w = u32::try_from(v.pixel_width().get()).unwrap_or(u32::MAX);
                let h = u32::try_from(v.pixel_height().get()).unwrap_or(u32::MAX);
                let dw = v.display_width().and_then(|x| u32::try_from(x.get()).ok());
                let dh = v.display_height().and_then(|x| u32::try_from(x.get()).ok());
                let frame_rate = t
                    .default_duration()
                    .map(|d| 1e9 / d.get() as f64)
                    .filter(|r| r.is_finite() && *r > 0.0 && *r < 1000.0);
                if video_track.is_none() {
                    video_track = Some(t.track_number().get());
                }
                info.video.push(VideoStream {
                    id,
                    codec: mkv_codec(t.codec_id()).into(),
                    width: w,
                    height: h,
                    display_width: dw,
                    display_height: dh,
                    frame_rate,
                    duration: info.duration,
                    extra: t.codec_private().map(<[u8]>::to_vec).unwrap_or_default(),
                    ..Default::default()
                });
            }
            TrackType::Audio => {
                let a = t.audio();
                info.audio.push(AudioStream {
                    id,
                    codec: mkv_codec(t.codec_id()).into(),
                    sample_rate: a
                        .map(|a| a.sampling_frequency())
                        .and_then(|f| (f.is_finite() && f > 0.0 && f < 1e7).then_some(f as u32)),
                    channels: a.and_then(|a| u32::try_from(a.channels().get()).ok()),
                    duration: info.duration,
                });
            }
            _ => {}
        }
    }
    // The first frames give the start time (B-frames: the smallest pts of the first GOP).
    let track = video_track.unwrap_or(0);
    let mut frame = matroska_demuxer::Frame::default();
    let mut start: Option<u64> = None;
    let mut seen = 0;
    if video_track.is_some() {
        while seen < 16
            && mkv
                .next_frame(&mut frame)
                .map_err(|e| corrupt(format!("Matroska: {e}")))?
        {
            if frame.track == track {
                seen += 1;
                start = Some(start.map_or(frame.timestamp, |s| s.min(frame.timestamp)));
            }
        }
        mkv.seek(0)
            .map_err(|e| corrupt(format!("Matroska seek: {e}")))?;
    }
    Ok((
        info,
        MkvState {
            mkv,
            track,
            tick_ns,
            start_ticks: start.unwrap_or(0),
            frame,
        },
    ))
}
