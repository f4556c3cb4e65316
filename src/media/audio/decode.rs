//! Pull-based audio decoding with symphonia: open, probe, seek, then read frames on demand,
//! optionally downmixed and resampled. Time to the first frames does not depend on the file's
//! length (the container seeks; only what is needed is decoded).

use super::{
    AudioError, MAX_CHANNELS, MAX_CORRUPT_PACKETS, MAX_PACKET_SAMPLES, MAX_SOURCE_RATE,
    MIN_SOURCE_RATE,
};
use std::collections::BTreeMap;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::Time;

/// What a probe learns about an audio stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AudioInfo {
    pub container: String,
    pub codec: String,
    pub sample_rate: Option<u32>,
    pub channels: Option<usize>,
    /// The layout's common name (`mono`, `stereo`, `5.1`, ... or `FL+FR+LFE2`): see
    /// [`super::layout::layout_name`].
    pub channel_layout: Option<String>,
    /// Each channel's name in stream order (`FL`, `FR`, ...); empty when unknown or when there
    /// are more than [`MAX_CHANNELS`].
    pub channel_names: Vec<String>,
    pub bits_per_sample: Option<u32>,
    pub duration_seconds: Option<f64>,
    /// Average bitrate over the whole file, bits per second (from size and duration).
    pub bitrate: Option<u64>,
    /// Tags by lower-case key (title, artist, album, ...).
    pub tags: BTreeMap<String, String>,
    pub has_cover_art: bool,
    /// Whether a decoder for the codec is available.
    pub decodable: bool,
}

fn open_format(
    source: Box<dyn MediaSource>,
    ext: Option<&str>,
) -> Result<Box<dyn FormatReader>, AudioError> {
    let mss = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(e) = ext {
        hint.with_extension(e);
    }
    symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| AudioError::Unreadable(e.to_string()))
}

fn time(secs: f64) -> Time {
    Time::try_from_secs_f64(secs.max(0.0)).unwrap_or_default()
}

/// Probes an audio stream (the default audio track): codec, layout, duration, tags, art.
pub fn probe(
    source: Box<dyn MediaSource>,
    ext: Option<&str>,
    file_size: u64,
) -> Result<AudioInfo, AudioError> {
    let mut format = open_format(source, ext)?;
    let container = format.format_info().short_name.to_string();
    let track = format
        .default_track(TrackType::Audio)
        .ok_or(AudioError::NoAudioTrack)?
        .clone();
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or(AudioError::NoAudioTrack)?
        .clone();
    let codecs = symphonia::default::get_codecs();
    let reg = codecs.get_audio_decoder(params.codec);
    use symphonia::core::codecs::audio::well_known as wk;
    let codec = match reg {
        Some(r) => r.codec.info.short_name.to_string(),
        None if params.codec == wk::CODEC_ID_OPUS => "opus".to_string(),
        None => params.codec.to_string(),
    };
    let sample_rate = params.sample_rate;
    let duration_seconds = match (
        track.num_frames,
        sample_rate,
        track.duration,
        track.time_base,
    ) {
        (Some(n), Some(r), _, _) if r > 0 => Some(n as f64 / f64::from(r)),
        (_, _, Some(d), Some(tb)) => tb.calc_duration(d).map(|t| t.as_secs_f64()),
        _ => None,
    };
    let mut info = AudioInfo {
        container,
        codec,
        sample_rate,
        channels: params.channels.as_ref().map(|c| c.count()),
        channel_layout: params.channels.as_ref().map(super::layout::layout_name),
        channel_names: params
            .channels
            .as_ref()
            .filter(|c| c.count() <= MAX_CHANNELS)
            .map(super::layout::channel_names)
            .unwrap_or_default(),
        bits_per_sample: params.bits_per_sample,
        duration_seconds,
        bitrate: duration_seconds
            .filter(|d| *d > 0.0)
            .map(|d| (file_size as f64 * 8.0 / d) as u64),
        decodable: reg.is_some() || params.codec == wk::CODEC_ID_OPUS,
        ..Default::default()
    };
    let mut meta = format.metadata();
    if let Some(rev) = meta.skip_to_latest() {
        for tag in &rev.media.tags {
            let key = tag.raw.key.to_ascii_lowercase();
            let key = match key.as_str() {
                "tit2" | "©nam" => "title".to_string(),
                "tpe1" | "©art" => "artist".to_string(),
                "talb" | "©alb" => "album".to_string(),
                _ => key,
            };
            if info.tags.len() < 64 {
                let mut v = tag.raw.value.to_string();
                v.truncate(v.floor_char_boundary(512));
                info.tags.entry(key).or_insert(v);
            }
        }
        info.has_cover_art = !rev.media.visuals.is_empty();
    }
    Ok(info)
}

/// The codec behind a [`Decoder`]: symphonia's, or the pure-Rust Opus decoder (symphonia
/// demuxes Opus in Ogg and Matroska but has no decoder for it).
enum Codec {
    Symphonia(Box<dyn AudioDecoder>),
    Opus(Box<opus_pure::OpusDecoder>),
}

/// Samples per block when counting frames.
const COUNT_BLOCK_SAMPLES: usize = 128 * 1024;

/// Longest Opus frame: 120 ms at 48 kHz.
const OPUS_MAX_FRAME: usize = 5760;

/// A decoder positioned somewhere in an audio stream, handing out interleaved `f32` frames.
pub struct Decoder {
    format: Box<dyn FormatReader>,
    decoder: Codec,
    track_id: u32,
    /// Native sample rate and channel count.
    pub rate: u32,
    pub channels: usize,
    /// Frames still to drop after a seek (decoding restarts before the requested time).
    skip: u64,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    eof: bool,
    /// Corrupt packets skipped so far.
    pub corrupt_packets: usize,
    /// Whether the track's time base is one frame: packets then say exactly where their
    /// frames are.
    one_frame: bool,
    /// After [`Decoder::seek_frame`] in a one-frame time base: frames before this one are
    /// dropped by their packets' timestamps.
    drop_until: Option<u64>,
    /// The frame index (from the stream's start) of the next frame [`Decoder::read`] returns.
    position: u64,
}

impl Decoder {
    pub fn open(source: Box<dyn MediaSource>, ext: Option<&str>) -> Result<Self, AudioError> {
        let format = open_format(source, ext)?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or(AudioError::NoAudioTrack)?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or(AudioError::NoAudioTrack)?;
        let is_opus = params.codec == symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
        let (decoder, rate) = if is_opus {
            let ch = params.channels.as_ref().map_or(2, |c| c.count());
            if !(1..=2).contains(&ch) {
                return Err(AudioError::UnsupportedCodec(format!(
                    "opus with {ch} channels (multistream)"
                )));
            }
            let d = opus_pure::OpusDecoder::new(48_000, ch)
                .map_err(|e| AudioError::OpusDecoder(e.to_string()))?;
            (Codec::Opus(Box::new(d)), 48_000)
        } else {
            let d = symphonia::default::get_codecs()
                .make_audio_decoder(params, &AudioDecoderOptions::default())
                .map_err(|_| AudioError::UnsupportedCodec(params.codec.to_string()))?;
            let rate = params.sample_rate.ok_or(AudioError::UnknownSampleRate)?;
            (Codec::Symphonia(d), rate)
        };
        if !(MIN_SOURCE_RATE..=MAX_SOURCE_RATE).contains(&rate) {
            return Err(AudioError::SourceRate(rate));
        }
        let channels = params.channels.as_ref().map_or(0, |c| c.count());
        if channels > MAX_CHANNELS {
            return Err(AudioError::TooManyChannels(channels));
        }
        let track_id = track.id;
        let one_frame = track
            .time_base
            .is_some_and(|tb| tb.numer.get() == 1 && tb.denom.get() == rate);
        let mut d = Decoder {
            format,
            decoder,
            track_id,
            rate,
            channels,
            skip: 0,
            pending: Vec::new(),
            scratch: Vec::new(),
            eof: false,
            corrupt_packets: 0,
            one_frame,
            drop_until: None,
            position: 0,
        };
        if d.channels == 0 {
            // Some containers do not say; learn it from the first decoded packet.
            let mut first = Vec::new();
            d.fill(&mut first)?;
            d.pending = first;
        }
        Ok(d)
    }

    /// Seeks so the next frame read is at `secs` (see [`Decoder::seek_frame`]).
    pub fn seek(&mut self, secs: f64) -> Result<(), AudioError> {
        if secs <= 0.0 {
            return Ok(());
        }
        self.seek_to((secs * f64::from(self.rate)).round() as u64, secs)
    }

    /// Seeks so the next frame read is frame `frame` of the stream (counted at the native rate
    /// from the stream's start). Exact when the track's time base is one frame: the frames
    /// before it are dropped by their packets' timestamps, whatever the decoder makes of the
    /// first packets (a Vorbis decoder restarted outputs nothing for its first one). Else by
    /// time, the frames between where decoding resumes and the time the container reports
    /// dropped. [`Decoder::position`] then says where reading resumes. The first frames decoded
    /// after a seek are not those a decode from the start gives (MDCT overlap, the MP3 bit
    /// reservoir): callers that need them identical seek earlier and drop the difference.
    pub fn seek_frame(&mut self, frame: u64) -> Result<(), AudioError> {
        if frame == 0 {
            return Ok(());
        }
        self.seek_to(frame, frame as f64 / f64::from(self.rate))
    }

    /// The one seek: `frame` and the same point as `secs` (for the time-based path and errors).
    fn seek_to(&mut self, frame: u64, secs: f64) -> Result<(), AudioError> {
        let to = if self.one_frame {
            SeekTo::Timestamp {
                ts: symphonia::core::units::Timestamp::new(
                    i64::try_from(frame).unwrap_or(i64::MAX),
                ),
                track_id: self.track_id,
            }
        } else {
            SeekTo::Time {
                time: time(secs),
                track_id: Some(self.track_id),
            }
        };
        let seeked = self
            .format
            .seek(SeekMode::Accurate, to)
            .map_err(|e| AudioError::Seek(secs, e.to_string()))?;
        self.reset_after_seek();
        self.position = frame;
        if self.one_frame {
            self.skip = 0;
            self.drop_until = Some(frame);
            return Ok(());
        }
        let tb = self
            .format
            .tracks()
            .iter()
            .find(|t| t.id == self.track_id)
            .and_then(|t| t.time_base);
        // Frames between where decoding resumes and the requested time.
        let gap_ts = (seeked.required_ts.get() - seeked.actual_ts.get()).max(0) as f64;
        let gap_secs = tb.map_or(0.0, |tb| {
            gap_ts * f64::from(tb.numer.get()) / f64::from(tb.denom.get())
        });
        self.skip = (gap_secs * f64::from(self.rate)).round() as u64;
        self.drop_until = None;
        Ok(())
    }

    /// Whether [`Decoder::seek_frame`] lands exactly (the track's time base is one frame).
    pub fn exact_seeks(&self) -> bool {
        self.one_frame
    }

    /// The frame index (from the stream's start, at the native rate) of the next frame
    /// [`Decoder::read`] returns: exact from the start and after a seek in a one-frame time
    /// base; after other seeks, where the seek was asked to go.
    pub fn position(&self) -> u64 {
        self.position
    }

    fn reset_after_seek(&mut self) {
        match &mut self.decoder {
            Codec::Symphonia(d) => d.reset(),
            Codec::Opus(d) => {
                let _ = d.reset_state();
            }
        }
        self.pending.clear();
        self.eof = false;
    }

    /// Decodes one more packet and appends its samples to `dst`; false at the end of the
    /// stream.
    fn fill(&mut self, dst: &mut Vec<f32>) -> Result<bool, AudioError> {
        let mut corrupt_run = 0;
        loop {
            if self.eof {
                return Ok(false);
            }
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => {
                    self.eof = true;
                    return Ok(false);
                }
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    // A truncated file: end where the data ends.
                    self.eof = true;
                    return Ok(false);
                }
                Err(SymError::DecodeError(e)) => {
                    corrupt_run += 1;
                    self.corrupt_packets += 1;
                    if corrupt_run > MAX_CORRUPT_PACKETS {
                        return Err(AudioError::TooManyCorruptPackets(e.to_string()));
                    }
                    continue;
                }
                Err(e) => return Err(AudioError::Corrupt(e.to_string())),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let decoded = match &mut self.decoder {
                Codec::Symphonia(d) => match d.decode(&packet) {
                    Ok(buf) => {
                        let ch = buf.spec().channels().count();
                        buf.copy_to_vec_interleaved(&mut self.scratch);
                        Ok(ch)
                    }
                    Err(e) => Err(e),
                },
                Codec::Opus(d) => {
                    let ch = self.channels.max(1);
                    self.scratch.resize(OPUS_MAX_FRAME * ch, 0.0);
                    match d.decode(&packet.data, OPUS_MAX_FRAME, &mut self.scratch) {
                        Ok(n) => {
                            // Apply the container's trimming (pre-skip, end padding).
                            let n = n.min(OPUS_MAX_FRAME);
                            let start = (packet.trim_start.get() as usize).min(n);
                            let end = n.saturating_sub(packet.trim_end.get() as usize).max(start);
                            self.scratch.truncate(end * ch);
                            self.scratch.drain(..(start * ch).min(self.scratch.len()));
                            Ok(ch)
                        }
                        Err(_) => Err(SymError::DecodeError("invalid opus packet")),
                    }
                }
            };
            match decoded {
                Ok(ch) => {
                    if ch == 0 || ch > MAX_CHANNELS {
                        return Err(AudioError::TooManyChannels(ch));
                    }
                    if self.channels == 0 {
                        self.channels = ch;
                    } else if ch != self.channels {
                        return Err(AudioError::Corrupt(format!(
                            "channel count changed from {} to {ch}",
                            self.channels
                        )));
                    }
                    if self.scratch.len() > MAX_PACKET_SAMPLES {
                        return Err(AudioError::PacketTooLarge(self.scratch.len()));
                    }
                    let mut samples = self.scratch.as_slice();
                    if let Some(until) = self.drop_until {
                        // The packet's frames start at its pts plus what the decoder trimmed.
                        let n = (samples.len() / ch) as i64;
                        let first = packet
                            .pts
                            .get()
                            .saturating_add(packet.trim_start.get() as i64);
                        let until = i64::try_from(until).unwrap_or(i64::MAX);
                        let drop = until.saturating_sub(first).clamp(0, n);
                        samples = samples.get(drop as usize * ch..).unwrap_or_default();
                        if first.saturating_add(n) > until {
                            self.drop_until = None;
                            // Frames lost before `until` (none with enough pre-roll) move
                            // the position on.
                            self.position = u64::try_from(first.max(until)).unwrap_or(0);
                        }
                    } else if self.skip > 0 {
                        let drop = usize::try_from(self.skip)
                            .unwrap_or(usize::MAX)
                            .saturating_mul(ch)
                            .min(samples.len());
                        self.skip -= (drop / ch) as u64;
                        samples = samples.get(drop..).unwrap_or_default();
                    }
                    dst.extend_from_slice(samples);
                    return Ok(true);
                }
                Err(SymError::DecodeError(msg)) => {
                    corrupt_run += 1;
                    self.corrupt_packets += 1;
                    if corrupt_run > MAX_CORRUPT_PACKETS {
                        return Err(AudioError::TooManyCorruptPackets(msg.into()));
                    }
                }
                Err(SymError::IoError(_)) => {
                    self.eof = true;
                    return Ok(false);
                }
                Err(e) => return Err(AudioError::Corrupt(e.to_string())),
            }
        }
    }

    /// Appends up to `frames` interleaved frames to `out`; returns how many (0 at the end).
    /// Packets are decoded straight into `out` (one copy from the decoder's buffer); only what
    /// the last one decodes past `frames` waits in `pending` for the next read.
    pub fn read(&mut self, frames: usize, out: &mut Vec<f32>) -> Result<usize, AudioError> {
        let base = out.len();
        let ch = self.channels.max(1);
        let n = self.pending.len().min(frames.saturating_mul(ch)) / ch * ch;
        out.extend(self.pending.drain(..n));
        // The channel count may be learnt from the first packet: `want` follows it.
        while out.len() - base < frames.saturating_mul(self.channels.max(1)) {
            if !self.fill(out)? {
                break;
            }
        }
        let ch = self.channels.max(1);
        let want = frames.saturating_mul(ch);
        if out.len() - base > want {
            // Only reached after decoding, which needs `pending` empty first.
            self.pending
                .extend_from_slice(out.get(base + want..).unwrap_or_default());
            out.truncate(base + want);
        }
        let got = (out.len() - base) / ch;
        out.truncate(base + got * ch);
        self.position += got as u64;
        Ok(got)
    }

    /// Decodes on to the end of the stream (or `max_frames`, whichever comes first) and returns
    /// the frames read: the real length of a stream whose container does not say it (Matroska
    /// or WebM without a duration, a WAV from a streaming recorder with sizes 0xFFFFFFFF).
    /// Polls `cancelled` once per block.
    pub fn count_frames(
        &mut self,
        max_frames: u64,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<u64, AudioError> {
        let block = (COUNT_BLOCK_SAMPLES / self.channels.max(1)).clamp(1, 48_000);
        let mut buf = Vec::with_capacity(COUNT_BLOCK_SAMPLES);
        let mut n = 0u64;
        while n < max_frames {
            if cancelled() {
                return Err(AudioError::Cancelled);
            }
            buf.clear();
            let want = usize::try_from(max_frames - n)
                .unwrap_or(usize::MAX)
                .min(block);
            let got = self.read(want, &mut buf)?;
            if got == 0 {
                break;
            }
            n += got as u64;
        }
        Ok(n)
    }

    /// Decoded samples this decoder holds (capacity of its packet and pending buffers).
    pub fn buffered_samples(&self) -> usize {
        self.pending.capacity() + self.scratch.capacity()
    }
}

/// Replaces NaN and infinite samples by silence and bounds the rest to +-64 (far beyond full
/// scale, which output clamps to anyway), so no later arithmetic meets a non-finite value.
pub fn sanitize(samples: &mut [f32]) {
    for s in samples {
        *s = if s.is_finite() {
            s.clamp(-64.0, 64.0)
        } else {
            0.0
        };
    }
}

/// Mixes interleaved `channels`-channel audio down to mono (equal weights).
pub fn downmix_mono(samples: &[f32], channels: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(samples.len() / channels.max(1));
    downmix_mono_into(samples, channels, &mut out);
    out
}

/// [`downmix_mono`] into a reused buffer (cleared first).
pub fn downmix_mono_into(samples: &[f32], channels: usize, out: &mut Vec<f32>) {
    out.clear();
    if channels <= 1 {
        out.extend_from_slice(samples);
        return;
    }
    let scale = 1.0 / channels as f32;
    out.extend(
        samples
            .chunks_exact(channels)
            .map(|f| f.iter().sum::<f32>() * scale),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(name: &str) -> Decoder {
        let p = format!("{}/samples/audio/{name}", env!("CARGO_MANIFEST_DIR"));
        let ext = name.rsplit('.').next();
        Decoder::open(super::super::seekable(std::fs::File::open(p).unwrap()), ext).unwrap()
    }

    fn frames(d: &mut Decoder, n: usize) -> Vec<f32> {
        let mut out = vec![];
        while out.len() < n * d.channels {
            if d.read(n - out.len() / d.channels, &mut out).unwrap() == 0 {
                break;
            }
        }
        out
    }

    /// A seek lands where it says, for every container with a one-frame time base: the samples
    /// read after it are the continuous decode's at that time (once the restarted decoder has
    /// settled, a couple of packets in). A Vorbis seek used to land one 1024-frame block late.
    #[test]
    fn a_seek_lands_on_the_frame_it_names() {
        for name in ["tone.ogg", "tone.mp3", "tone.flac", "tone.wav"] {
            let mut whole = open(name);
            assert!(whole.exact_seeks(), "{name}");
            let ch = whole.channels;
            let all = frames(&mut whole, 3 * 44_100);
            let mut d = open(name);
            d.seek(1.0).unwrap();
            assert_eq!(d.position(), 44_100, "{name}");
            let got = frames(&mut d, 8192);
            assert_eq!(d.position(), 44_100 + 8192, "{name}");
            // After 4096 frames of settling, the next 4096 against the continuous decode.
            let settled = got.get(4096 * ch..).unwrap();
            let want = all.get((44_100 + 4096) * ch..(44_100 + 8192) * ch).unwrap();
            let worst = settled
                .iter()
                .zip(want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-4, "{name}: differs by up to {worst}");
        }
    }
}
