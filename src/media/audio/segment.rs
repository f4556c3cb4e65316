//! Rendering one segment of an audio file to a self-contained WAV or Ogg Opus file: seek,
//! decode only what is needed, then downmix, resample and encode block by block, so decoded
//! input held in memory stays under [`MAX_BUFFERED_SAMPLES`] whatever the rate, channels or
//! duration. Deterministic: the same parameters give the same bytes, which is what lets a
//! segment be a URI. Must not know about the library, caches or MCP.

use super::decode::{Decoder, downmix_mono_into, sanitize};
use super::resample::{Alignment, StreamResampler};
use super::{
    AudioError, MAX_BUFFERED_SAMPLES, MAX_CHUNK_SECONDS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, wav,
};
use bytes::Bytes;
use symphonia::core::io::MediaSource;

/// Output format of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RIFF WAV, 16-bit PCM.
    Wav,
    /// Ogg Opus (opus-pure): 8, 12, 16, 24 or 48 kHz; about 10-20x smaller than WAV.
    Opus,
}

/// Sample rates Opus encodes.
pub const OPUS_RATES: [u32; 5] = [8000, 12000, 16000, 24000, 48000];

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wav" => Some(Format::Wav),
            "opus" => Some(Format::Opus),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Wav => "wav",
            Format::Opus => "opus",
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            Format::Wav => "audio/wav",
            Format::Opus => "audio/ogg",
        }
    }
    /// The output rate for a requested one (None: the source's `native`).
    pub fn rate(self, requested: Option<u32>, native: u32) -> u32 {
        match (self, requested) {
            (_, Some(r)) => r,
            (Format::Wav, None) => native,
            (Format::Opus, None) => 48_000,
        }
    }
    /// Upper bound of the encoded size of `seconds` of audio: exact for WAV (a segment has at
    /// most `ceil(seconds * rate)` frames); for Opus the bitrate with a 30 % margin (the
    /// encoder is constrained-VBR around it) plus Ogg framing and headers.
    pub fn estimate_bytes(self, seconds: f64, rate: u32, channels: usize) -> u64 {
        match self {
            Format::Wav => {
                wav::encoded_len((seconds * f64::from(rate)).ceil() as usize, channels) as u64
            }
            Format::Opus => {
                (seconds * opus_bytes_per_second(rate, channels)).ceil() as u64 + OPUS_FIXED_BYTES
            }
        }
    }

    /// The longest stretch, in seconds, whose [`estimate_bytes`](Self::estimate_bytes) fits
    /// in `max_bytes` (0 if none does).
    pub fn seconds_for_bytes(self, max_bytes: u64, rate: u32, channels: usize) -> f64 {
        match self {
            Format::Wav => {
                let frames =
                    max_bytes.saturating_sub(wav::HEADER_LEN as u64) / (2 * channels.max(1) as u64);
                frames as f64 / f64::from(rate.max(1))
            }
            Format::Opus => {
                // Less one byte against rounding up in the estimate.
                max_bytes.saturating_sub(OPUS_FIXED_BYTES + 1) as f64
                    / opus_bytes_per_second(rate, channels)
            }
        }
    }
}

/// Ogg Opus bytes not proportional to the duration: the OpusHead and OpusTags pages and the
/// last pages' headers, generously.
const OPUS_FIXED_BYTES: u64 = 4096;

/// Upper bound of Ogg Opus bytes per second: the bitrate plus 30 %, which also covers Ogg
/// framing (a 27-byte page header per few KB and one lacing byte per 255 packet bytes).
fn opus_bytes_per_second(rate: u32, channels: usize) -> f64 {
    f64::from(opus_bitrate(rate, channels)) / 8.0 * 1.3
}

/// Opus bitrate: 24 kb/s per channel for speech rates, 48 kb/s per channel above.
pub fn opus_bitrate(rate: u32, channels: usize) -> i32 {
    (if rate <= 16_000 { 24_000 } else { 48_000 }) * channels.min(2) as i32
}

/// Sample frames kept unencoded until the end, so the final trim to the exact length never
/// reaches into a frame already encoded.
const OPUS_HOLD_FRAMES: usize = 4;

/// Incremental Ogg Opus encoding in 20 ms frames (the last one padded with silence and marked
/// short, so players trim the padding).
struct OpusSink {
    enc: opus_pure::OpusEncoder,
    w: opus_pure::OggOpusWriter<Vec<u8>>,
    channels: usize,
    rate: u32,
    /// Frames per Opus frame.
    frame: usize,
    pending: Vec<f32>,
    packet: Vec<u8>,
    block: Vec<f32>,
    /// Frames encoded so far.
    encoded: usize,
}

fn opus_err(e: opus_pure::Error) -> AudioError {
    AudioError::OpusEncoder(e.to_string())
}

impl OpusSink {
    fn new(channels: usize, rate: u32) -> Result<Self, AudioError> {
        use opus_pure::{Application, MAX_PACKET_BYTES, OggOpusWriter, OpusEncoder, OpusHead};
        let mut enc =
            OpusEncoder::new(rate as i32, channels, Application::Audio).map_err(opus_err)?;
        enc.bitrate_bps = opus_bitrate(rate, channels);
        let head = OpusHead::for_encoder(&enc, rate);
        let w = OggOpusWriter::new(Vec::new(), head).map_err(opus_err)?;
        let frame = (rate / 50) as usize;
        Ok(OpusSink {
            enc,
            w,
            channels,
            rate,
            frame,
            pending: Vec::new(),
            packet: vec![0u8; MAX_PACKET_BYTES],
            block: vec![0f32; frame * channels],
            encoded: 0,
        })
    }

    /// Encodes the first `frames` (at most one Opus frame) of `pending`.
    fn encode_front(&mut self, frames: usize) -> Result<(), AudioError> {
        let n = (frames * self.channels).min(self.pending.len());
        self.block.fill(0.0);
        for (b, p) in self.block.iter_mut().zip(self.pending.drain(..n)) {
            *b = p;
        }
        let len = self
            .enc
            .encode(&self.block, self.frame, &mut self.packet)
            .map_err(opus_err)?;
        let packet = self.packet.get(..len).unwrap_or_default();
        // The real duration of the frame, so a padded last frame is trimmed by players.
        let frames = (n / self.channels) as u32;
        self.w
            .write_packet_with_duration(packet, frames * 48_000 / self.rate)
            .map_err(opus_err)?;
        self.encoded += n / self.channels;
        Ok(())
    }

    fn push(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        self.pending.extend_from_slice(samples);
        while self.pending.len() >= (self.frame + OPUS_HOLD_FRAMES) * self.channels {
            self.encode_front(self.frame)?;
        }
        Ok(())
    }

    /// Encodes the rest, keeping `frames` frames in all.
    fn finish(mut self, frames: usize) -> Result<Bytes, AudioError> {
        let keep = frames.saturating_sub(self.encoded) * self.channels;
        self.pending.truncate(keep);
        while !self.pending.is_empty() {
            self.encode_front(self.frame)?;
        }
        Ok(Bytes::from(self.w.finish().map_err(opus_err)?))
    }
}

/// Where rendered samples go.
enum Sink {
    Wav(wav::WavWriter),
    Opus(Box<OpusSink>),
}

impl Sink {
    fn push(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        match self {
            Sink::Wav(w) => {
                w.push(samples);
                Ok(())
            }
            Sink::Opus(o) => o.push(samples),
        }
    }

    fn finish(self, frames: usize) -> Result<Bytes, AudioError> {
        match self {
            Sink::Wav(mut w) => {
                w.truncate_frames(frames);
                Ok(w.finish())
            }
            Sink::Opus(o) => o.finish(frames),
        }
    }
}

/// What to render.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentSpec {
    pub start: f64,
    /// Seconds; None: to the end (bounded by [`MAX_CHUNK_SECONDS`]).
    pub duration: Option<f64>,
    pub format: Format,
    /// Output rate; None: the file's.
    pub rate: Option<u32>,
    /// 1: downmix to mono; None: keep the file's channels.
    pub mono: bool,
}

/// Query keys of a derived audio URI, in canonical order.
pub const QUERY_KEYS: [&str; 5] = ["start", "duration", "format", "rate", "channels"];

impl SegmentSpec {
    /// Reads the query of a derived URI (`start`, `duration`, `format`, `rate`, `channels=1`).
    pub fn from_query(pairs: &[(String, String)]) -> Result<Self, String> {
        let mut spec = SegmentSpec {
            start: 0.0,
            duration: None,
            format: Format::Wav,
            rate: None,
            mono: false,
        };
        for (k, v) in pairs {
            let num = || {
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| format!("{k} must be a number, got {v:?}"))
            };
            match k.as_str() {
                "start" => spec.start = num()?,
                "duration" => spec.duration = Some(num()?),
                "format" => {
                    spec.format = Format::parse(v)
                        .ok_or_else(|| format!("unsupported format {v:?} (supported: wav, opus)"))?
                }
                "rate" => {
                    spec.rate = Some(
                        v.parse()
                            .map_err(|_| format!("rate must be an integer, got {v:?}"))?,
                    )
                }
                "channels" => {
                    spec.mono = match v.as_str() {
                        "1" => true,
                        "keep" => false,
                        _ => return Err(format!("channels must be 1 (mono) or keep, got {v:?}")),
                    }
                }
                other => {
                    return Err(format!(
                        "unknown parameter {other:?} (audio segments take start, duration, format, rate, channels)"
                    ));
                }
            }
        }
        Ok(spec)
    }

    /// The canonical query string (fixed order, trimmed numbers): equal specs, equal URIs.
    pub fn to_query(&self) -> String {
        let num = |x: f64| {
            let s = format!("{x:.3}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        let mut q = format!("start={}", num(self.start));
        if let Some(d) = self.duration {
            q.push_str(&format!("&duration={}", num(d)));
        }
        q.push_str(&format!("&format={}", self.format.as_str()));
        if let Some(r) = self.rate {
            q.push_str(&format!("&rate={r}"));
        }
        if self.mono {
            q.push_str("&channels=1");
        }
        q
    }

    pub fn validate(&self) -> Result<(), AudioError> {
        if !self.start.is_finite() || self.start < 0.0 {
            return Err(AudioError::NegativeStart(self.start));
        }
        if let Some(d) = self.duration {
            if !d.is_finite() || d <= 0.0 {
                return Err(AudioError::BadDuration(d));
            }
            if d > MAX_CHUNK_SECONDS {
                return Err(AudioError::ChunkTooLong(d));
            }
        }
        if let Some(r) = self.rate
            && !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&r)
        {
            return Err(AudioError::BadSampleRate(r));
        }
        if self.format == Format::Opus
            && let Some(r) = self.rate
            && !OPUS_RATES.contains(&r)
        {
            return Err(AudioError::OpusRate(r));
        }
        Ok(())
    }
}

/// A rendered segment.
#[derive(Clone, Debug)]
pub struct Segment {
    pub data: Bytes,
    pub rate: u32,
    pub channels: u16,
    /// Seconds actually rendered (shorter than asked at the end of the file).
    pub seconds: f64,
    pub corrupt_packets: usize,
    /// The most decoded samples held at once (decoder, block, downmix and resampler buffers);
    /// at most [`MAX_BUFFERED_SAMPLES`].
    pub peak_buffered_samples: usize,
    /// Whether the segment is exactly frames `[first, end)` of the whole stream's render (it
    /// started at the stream's start, or the container seeks to the frame); not so after a
    /// seek in a coarse time base (Matroska, WebM), where it starts where the seek landed.
    pub sample_exact: bool,
}

/// Most frames decoded per block (about a second at 48 kHz): the cancellation check interval.
const STEP_FRAMES: usize = 48_000;
/// Most samples (all channels) decoded per block.
const BLOCK_SAMPLES: usize = 128 * 1024;

/// Frames per block for `channels`-channel input.
fn block_frames(channels: usize) -> usize {
    (BLOCK_SAMPLES / channels.max(1)).clamp(1, STEP_FRAMES)
}

/// Decoded audio dropped before a segment's first needed frame: a decoder restarted by a seek
/// gives, for its first packets, other samples than a decode running from the start (MDCT
/// overlap, the MP3 bit reservoir, Opus's decaying filter states); after this much they are
/// the same, bit for bit (measured on the samples: MP3 and Vorbis after 0.25 s, Opus only
/// after about 0.5 s; `tests/it/audio.rs` checks every codec). Not AAC with noise
/// substitution: its noise comes from a generator whose state is everything decoded before.
/// About 2 % more decoding for 30 s chunks.
pub const DECODER_PREROLL_SECONDS: f64 = 0.6;

/// Resampler chunks (about 1,024 input frames each) run before a segment's first output frame,
/// so the resampler's state there is the whole stream's.
const RESAMPLER_PREROLL_CHUNKS: u64 = 2;

/// A segment's frames on the output grid of the whole stream: `[first, end)` at the output
/// rate, from the start and duration in whole milliseconds (as its URI states them). The
/// segments of a chunked transcode tile it: each ends where the next starts.
fn output_range(spec: &SegmentSpec, out_rate: u32) -> (u64, u64) {
    let ms = |s: f64| (s * 1000.0).round().max(0.0) as u64;
    let start = ms(spec.start);
    let end = start + ms(spec.duration.unwrap_or(MAX_CHUNK_SECONDS)).max(1);
    let at = |ms: u64| (ms * u64::from(out_rate) + 500) / 1000;
    (at(start), at(end))
}

/// Renders `spec` from `source`. `cancelled` is polled once per block (about a second of audio
/// or less).
///
/// Sample-exact: the segment is frames `[first, end)` of what one continuous decode and
/// resample of the whole stream gives ([`output_range`]), so consecutive chunks of a transcode
/// concatenate to exactly the render of their union, and can be rendered in any order or in
/// parallel. It starts decoding [`DECODER_PREROLL_SECONDS`] before a resampler chunk boundary
/// [`RESAMPLER_PREROLL_CHUNKS`] chunks ahead of the first frame, and drops what precedes it.
pub fn render(
    source: Box<dyn MediaSource>,
    ext: Option<&str>,
    spec: &SegmentSpec,
    cancelled: &dyn Fn() -> bool,
) -> Result<Segment, AudioError> {
    spec.validate()?;
    let mut dec = Decoder::open(source, ext)?;
    let in_rate = dec.rate;
    let ch = dec.channels.max(1);
    let out_ch = if spec.mono { 1 } else { ch };
    if spec.format == Format::Opus && out_ch > 2 {
        return Err(AudioError::OpusChannels(out_ch));
    }
    let out_rate = spec.format.rate(spec.rate, in_rate);
    let (first, end) = output_range(spec, out_rate);
    let exact_seeks = dec.exact_seeks();
    let (mut resampler, at, decode_from) = if exact_seeks {
        let (r, at) =
            StreamResampler::aligned(in_rate, out_rate, out_ch, first, RESAMPLER_PREROLL_CHUNKS)?;
        // Decoding starts the pre-roll before the resampler's first input frame.
        let preroll = (DECODER_PREROLL_SECONDS * f64::from(in_rate)).round() as u64;
        (r, at, at.input_frame.saturating_sub(preroll))
    } else {
        // A container whose timestamps are coarser than a frame (Matroska, WebM: 1 ms) cannot
        // say exactly where a seek lands: the segment starts where the seek does, with a
        // resampler of its own (not sample-exact with its neighbours; within a frame or so).
        let input = (first as f64 * f64::from(in_rate) / f64::from(out_rate)).round() as u64;
        let at = Alignment {
            input_frame: input,
            output_frame: first,
        };
        (StreamResampler::new(in_rate, out_rate, out_ch)?, at, input)
    };
    if decode_from > 0 {
        dec.seek_frame(decode_from)?;
    }
    // Never more frames than the size estimate allows for.
    let max_out = usize::try_from(end - first).unwrap_or(usize::MAX);
    let mut sink = match spec.format {
        Format::Wav => Sink::Wav(wav::WavWriter::new(
            out_ch as u16,
            out_rate,
            max_out.min(BLOCK_SAMPLES * 8 / out_ch),
        )),
        Format::Opus => Sink::Opus(Box::new(OpusSink::new(out_ch, out_rate)?)),
    };
    let block = block_frames(ch);
    let mut pcm = Vec::with_capacity(block * ch);
    let mut mixed = Vec::new();
    // The output index of the next frame the resampler hands on, and the frames written.
    let next = std::cell::Cell::new(at.output_frame);
    let mut written = 0usize;
    let mut emit = |out: &[f32]| -> Result<(), AudioError> {
        let n = (out.len() / out_ch) as u64;
        let base = next.get();
        next.set(base + n);
        let (lo, hi) = (base.max(first), (base + n).min(end));
        if lo >= hi {
            return Ok(());
        }
        let (a, b) = ((lo - base) as usize, (hi - base) as usize);
        let Some(part) = out.get(a * out_ch..b * out_ch) else {
            return Err(AudioError::Resample(
                "output block shorter than it says".into(),
            ));
        };
        written += b - a;
        sink.push(part)
    };
    // Input frames pushed into the resampler, from `at.input_frame`.
    let mut pushed = 0u64;
    let mut peak = 0;
    let mut ended = false;
    while next.get() < end {
        if cancelled() {
            return Err(AudioError::Cancelled);
        }
        pcm.clear();
        // The pre-roll: what precedes the resampler's first input frame is dropped.
        let pos = dec.position();
        let n = dec.read(block, &mut pcm)?;
        if n == 0 {
            ended = true;
            break;
        }
        sanitize(&mut pcm);
        let d = at.input_frame.saturating_sub(pos).min(n as u64) as usize;
        let frames = pcm.get(d * ch..).unwrap_or_default();
        if frames.is_empty() {
            continue;
        }
        pushed += (frames.len() / ch) as u64;
        let input = if out_ch < ch {
            downmix_mono_into(frames, ch, &mut mixed);
            &mixed[..]
        } else {
            frames
        };
        resampler.push(input, &mut emit)?;
        peak = peak.max(
            pcm.capacity()
                + mixed.capacity()
                + dec.buffered_samples()
                + resampler.buffered_samples(),
        );
    }
    if ended {
        // The stream's end: flush as the whole stream's resampler does, then trim to the
        // stream's exact length (its resampler rounds the output up).
        resampler.finish(&mut emit)?;
        let input_end = at.input_frame + pushed;
        let exact = ((input_end as f64) * f64::from(out_rate) / f64::from(in_rate)).round() as u64;
        let keep = exact.saturating_sub(first).min(written as u64) as usize;
        written = keep;
    }
    let data = sink.finish(written.min(max_out))?;
    Ok(Segment {
        data,
        rate: out_rate,
        channels: out_ch as u16,
        seconds: written as f64 / f64::from(out_rate),
        corrupt_packets: dec.corrupt_packets,
        peak_buffered_samples: peak,
        sample_exact: exact_seeks || first == 0,
    })
}

// The accounting behind MAX_BUFFERED_SAMPLES (capacities; a growing Vec holds under twice its
// largest length): the block and its downmix, the decoder's pending samples (a block plus one
// packet) and packet scratch, and the resampler.
const _: () = assert!(
    2 * BLOCK_SAMPLES
        + 2 * (BLOCK_SAMPLES + super::MAX_PACKET_SAMPLES)
        + 2 * super::MAX_PACKET_SAMPLES
        + super::resample::MAX_RESAMPLER_SAMPLES
        <= MAX_BUFFERED_SAMPLES
);

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16-bit PCM WAV in memory: `frames` frames of a ramp on every channel.
    fn wav(rate: u32, channels: u16, frames: usize) -> Vec<u8> {
        let data_len = frames * usize::from(channels) * 2;
        let mut w = Vec::with_capacity(44 + data_len);
        w.extend_from_slice(b"RIFF");
        w.extend_from_slice(&(36 + data_len as u32).to_le_bytes());
        w.extend_from_slice(b"WAVEfmt ");
        w.extend_from_slice(&16u32.to_le_bytes());
        w.extend_from_slice(&1u16.to_le_bytes());
        w.extend_from_slice(&channels.to_le_bytes());
        w.extend_from_slice(&rate.to_le_bytes());
        w.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
        w.extend_from_slice(&(channels * 2).to_le_bytes());
        w.extend_from_slice(&16u16.to_le_bytes());
        w.extend_from_slice(b"data");
        w.extend_from_slice(&(data_len as u32).to_le_bytes());
        for i in 0..frames {
            let v = ((i % 2000) as i16 - 1000) * 8;
            for _ in 0..channels {
                w.extend_from_slice(&v.to_le_bytes());
            }
        }
        w
    }

    #[test]
    fn decoded_audio_held_stays_under_the_ceiling_whatever_the_input() {
        // 12 s of 192 kHz 8-channel audio is 18.4 M samples decoded; rendered as 16 kHz mono.
        let (rate, ch, secs) = (192_000u32, 8u16, 12usize);
        let src = std::io::Cursor::new(wav(rate, ch, rate as usize * secs));
        let spec = SegmentSpec {
            start: 0.0,
            duration: Some(secs as f64),
            format: Format::Wav,
            rate: Some(16_000),
            mono: true,
        };
        let seg = render(Box::new(src), Some("wav"), &spec, &|| false).unwrap();
        assert_eq!((seg.rate, seg.channels), (16_000, 1));
        assert_eq!(seg.data.len(), wav::encoded_len(16_000 * secs, 1));
        let decoded = rate as usize * usize::from(ch) * secs;
        eprintln!(
            "peak {} samples held of {decoded} decoded (ceiling {MAX_BUFFERED_SAMPLES})",
            seg.peak_buffered_samples
        );
        assert!(seg.peak_buffered_samples > 0);
        assert!(
            seg.peak_buffered_samples <= MAX_BUFFERED_SAMPLES,
            "{} samples held, above the ceiling of {MAX_BUFFERED_SAMPLES}",
            seg.peak_buffered_samples
        );
        assert!(
            decoded > 4 * MAX_BUFFERED_SAMPLES,
            "the input must exceed the ceiling"
        );
    }

    #[test]
    fn limits_are_refused_by_their_own_error() {
        let spec = |start: f64, duration: Option<f64>, format, rate| SegmentSpec {
            start,
            duration,
            format,
            rate,
            mono: false,
        };
        assert!(matches!(
            spec(-1.0, None, Format::Wav, None).validate(),
            Err(AudioError::NegativeStart(_))
        ));
        assert!(matches!(
            spec(0.0, Some(601.0), Format::Wav, None).validate(),
            Err(AudioError::ChunkTooLong(_))
        ));
        assert!(matches!(
            spec(0.0, Some(0.0), Format::Wav, None).validate(),
            Err(AudioError::BadDuration(_))
        ));
        assert!(matches!(
            spec(0.0, None, Format::Opus, Some(44_100)).validate(),
            Err(AudioError::OpusRate(44_100))
        ));
        assert!(matches!(
            spec(0.0, None, Format::Wav, Some(4_000)).validate(),
            Err(AudioError::BadSampleRate(4_000))
        ));
    }

    #[test]
    fn opus_estimate_and_its_inverse_agree() {
        for (rate, ch) in [(48_000, 2), (16_000, 1), (8_000, 2)] {
            for f in [Format::Wav, Format::Opus] {
                let max = 786_432;
                let secs = (f.seconds_for_bytes(max, rate, ch) * 1000.0).floor() / 1000.0;
                assert!(f.estimate_bytes(secs, rate, ch) <= max, "{f:?} {rate} {ch}");
                assert!(
                    f.estimate_bytes(secs + 0.01, rate, ch) > max,
                    "{f:?} {rate} {ch}"
                );
            }
        }
        // 30 s of 48 kHz stereo Opus fits a 768 KiB chunk; as WAV it would not.
        assert!(Format::Opus.seconds_for_bytes(786_432, 48_000, 2) > 30.0);
        assert!(Format::Wav.seconds_for_bytes(786_432, 48_000, 2) < 4.1);
    }
}
