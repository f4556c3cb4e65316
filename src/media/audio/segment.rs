//! Rendering one segment of an audio file to a self-contained WAV: seek, decode only what is
//! needed, downmix, resample, encode. Deterministic: the same parameters give the same bytes,
//! which is what lets a segment be a URI.

use super::decode::{Decoder, downmix_mono, resample};
use super::{AudioError, MAX_CHUNK_SECONDS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, wav};
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
    /// Upper bound of the encoded size of `seconds` of audio.
    pub fn estimate_bytes(self, seconds: f64, rate: u32, channels: usize) -> u64 {
        match self {
            Format::Wav => {
                wav::encoded_len((seconds * f64::from(rate)).ceil() as usize, channels) as u64
            }
            // Bitrate plus Ogg framing; generous.
            Format::Opus => {
                (seconds * f64::from(opus_bitrate(rate, channels)) / 8.0 * 1.3) as u64 + 4096
            }
        }
    }
}

/// Opus bitrate: 24 kb/s per channel for speech rates, 48 kb/s per channel above.
pub fn opus_bitrate(rate: u32, channels: usize) -> i32 {
    (if rate <= 16_000 { 24_000 } else { 48_000 }) * channels.min(2) as i32
}

fn encode_opus(pcm: &[f32], channels: usize, rate: u32) -> Result<Bytes, AudioError> {
    use opus_pure::{Application, MAX_PACKET_BYTES, OggOpusWriter, OpusEncoder, OpusHead};
    let err = |e: opus_pure::Error| AudioError::Io(format!("opus encoder: {e}"));
    let mut enc = OpusEncoder::new(rate as i32, channels, Application::Audio).map_err(err)?;
    enc.bitrate_bps = opus_bitrate(rate, channels);
    let head = OpusHead::for_encoder(&enc, rate);
    let mut w = OggOpusWriter::new(Vec::new(), head).map_err(err)?;
    let frame = (rate / 50) as usize;
    let mut packet = vec![0u8; MAX_PACKET_BYTES];
    let mut block = vec![0f32; frame * channels];
    for chunk in pcm.chunks(frame * channels) {
        block[..chunk.len()].copy_from_slice(chunk);
        block[chunk.len()..].fill(0.0);
        let n = enc.encode(&block, frame, &mut packet).map_err(err)?;
        // The real duration of the last (padded) frame, so players trim the padding.
        let frames = (chunk.len() / channels) as u32;
        w.write_packet_with_duration(&packet[..n], frames * 48_000 / rate)
            .map_err(err)?;
    }
    Ok(Bytes::from(w.finish().map_err(err)?))
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
                        .ok_or_else(|| format!("unsupported format {v:?} (supported: wav)"))?
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
            return Err(AudioError::Seek(
                self.start,
                "start must be a non-negative number of seconds".into(),
            ));
        }
        if let Some(d) = self.duration
            && (!d.is_finite() || d <= 0.0 || d > MAX_CHUNK_SECONDS)
        {
            return Err(AudioError::TooLong(d));
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
            return Err(AudioError::Unreadable(format!(
                "Opus encodes at 8000, 12000, 16000, 24000 or 48000 Hz, not {r}"
            )));
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
}

/// Frames of input decoded between cancellation checks (about a second at 48 kHz).
const STEP_FRAMES: usize = 48_000;

/// Renders `spec` from `source`. `cancelled` is polled about once per second of audio.
pub fn render(
    source: Box<dyn MediaSource>,
    ext: Option<&str>,
    spec: &SegmentSpec,
    cancelled: &dyn Fn() -> bool,
) -> Result<Segment, AudioError> {
    spec.validate()?;
    let mut dec = Decoder::open(source, ext)?;
    dec.seek(spec.start)?;
    let in_rate = dec.rate;
    let seconds = spec.duration.unwrap_or(MAX_CHUNK_SECONDS);
    let want = (seconds * f64::from(in_rate)).round() as usize;
    let mut pcm = Vec::new();
    let mut got = 0;
    while got < want {
        if cancelled() {
            return Err(AudioError::Cancelled);
        }
        let n = dec.read(STEP_FRAMES.min(want - got), &mut pcm)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let ch = dec.channels.max(1);
    let (pcm, out_ch) = if spec.mono && ch > 1 {
        (downmix_mono(&pcm, ch), 1)
    } else {
        (pcm, ch)
    };
    let out_rate = spec.format.rate(spec.rate, in_rate);
    if spec.format == Format::Opus && out_ch > 2 {
        return Err(AudioError::TooManyChannels(out_ch));
    }
    let pcm = resample(&pcm, out_ch, in_rate, out_rate)?;
    // The resampler's output length is rounded up: trim to the exact duration.
    let exact = ((got as f64) * f64::from(out_rate) / f64::from(in_rate)).round() as usize * out_ch;
    let pcm = &pcm[..exact.min(pcm.len())];
    let data = match spec.format {
        Format::Wav => wav::encode(pcm, out_ch as u16, out_rate),
        Format::Opus => encode_opus(pcm, out_ch, out_rate)?,
    };
    Ok(Segment {
        data,
        rate: out_rate,
        channels: out_ch as u16,
        seconds: got as f64 / f64::from(in_rate),
        corrupt_packets: dec.corrupt_packets,
    })
}
