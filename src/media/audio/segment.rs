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
    Wav,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wav" => Some(Format::Wav),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        "wav"
    }
    pub fn mime(self) -> &'static str {
        "audio/wav"
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
    let out_rate = spec.rate.unwrap_or(in_rate);
    let pcm = resample(&pcm, out_ch, in_rate, out_rate)?;
    // The resampler's output length is rounded up: trim to the exact duration.
    let exact = ((got as f64) * f64::from(out_rate) / f64::from(in_rate)).round() as usize * out_ch;
    let pcm = &pcm[..exact.min(pcm.len())];
    let data = match spec.format {
        Format::Wav => wav::encode(pcm, out_ch as u16, out_rate),
    };
    Ok(Segment {
        data,
        rate: out_rate,
        channels: out_ch as u16,
        seconds: got as f64 / f64::from(in_rate),
        corrupt_packets: dec.corrupt_packets,
    })
}
