//! WAV (RIFF, PCM s16le) encoding of interleaved `f32` samples: each chunk a complete file,
//! written incrementally. Must not know about decoding, files or MCP.

use bytes::{BufMut, Bytes, BytesMut};

/// Size of the canonical 44-byte header.
pub const HEADER_LEN: usize = 44;

/// Bytes a WAV of `frames` frames takes.
pub fn encoded_len(frames: usize, channels: usize) -> usize {
    HEADER_LEN + frames * channels * 2
}

/// One sample as 16-bit PCM: scaled by 2^15 and rounded to nearest (ties to even, as ffmpeg
/// does), clamped to the 16-bit range, so 16-bit sources round-trip exactly.
pub fn quantize(s: f32) -> i16 {
    // NaN becomes 0 (`as` saturates and maps NaN to 0).
    (s * 32768.0).round_ties_even().clamp(-32768.0, 32767.0) as i16
}

/// An incremental WAV writer: push samples, then `finish` writes the header.
pub struct WavWriter {
    buf: BytesMut,
    channels: u16,
    rate: u32,
}

impl WavWriter {
    /// `capacity_frames` is a hint (reserved up front).
    pub fn new(channels: u16, rate: u32, capacity_frames: usize) -> Self {
        let mut buf = BytesMut::with_capacity(encoded_len(capacity_frames, usize::from(channels)));
        buf.put_bytes(0, HEADER_LEN);
        WavWriter {
            buf,
            channels,
            rate,
        }
    }

    /// Appends interleaved samples.
    pub fn push(&mut self, samples: &[f32]) {
        self.buf.reserve(samples.len() * 2);
        for &s in samples {
            self.buf.put_i16_le(quantize(s));
        }
    }

    /// Frames written so far.
    pub fn frames(&self) -> usize {
        (self.buf.len() - HEADER_LEN) / (2 * usize::from(self.channels.max(1)))
    }

    /// Drops frames beyond the first `frames`.
    pub fn truncate_frames(&mut self, frames: usize) {
        let len = encoded_len(frames, usize::from(self.channels));
        if len < self.buf.len() {
            self.buf.truncate(len);
        }
    }

    /// Writes the header and returns the file.
    pub fn finish(mut self) -> Bytes {
        let data_len = u32::try_from(self.buf.len() - HEADER_LEN).unwrap_or(u32::MAX);
        let ch = self.channels;
        let mut h = Vec::with_capacity(HEADER_LEN);
        h.put_slice(b"RIFF");
        h.put_u32_le(data_len.saturating_add(36));
        h.put_slice(b"WAVEfmt ");
        h.put_u32_le(16);
        h.put_u16_le(1);
        h.put_u16_le(ch);
        h.put_u32_le(self.rate);
        h.put_u32_le(self.rate * u32::from(ch) * 2);
        h.put_u16_le(ch * 2);
        h.put_u16_le(16);
        h.put_slice(b"data");
        h.put_u32_le(data_len);
        if let Some(head) = self.buf.get_mut(..HEADER_LEN) {
            head.copy_from_slice(&h);
        }
        self.buf.freeze()
    }
}

/// Joins WAV files this module wrote (same channels and rate) into one: their samples in order
/// under one header. `None` if a part is not such a file or they differ in format.
pub fn join(parts: &[Bytes]) -> Option<Bytes> {
    let first = parts.first()?;
    let fmt = first.get(..HEADER_LEN)?;
    let mut total = 0usize;
    for p in parts {
        let head = p.get(..HEADER_LEN)?;
        // Everything but the two lengths (RIFF size at 4..8, data size at 40..44) must match.
        if head.get(8..40) != fmt.get(8..40) || head.get(..4) != Some(b"RIFF") {
            return None;
        }
        total += p.len() - HEADER_LEN;
    }
    let data_len = u32::try_from(total).ok()?;
    let mut out = BytesMut::with_capacity(HEADER_LEN + total);
    out.put_slice(b"RIFF");
    out.put_u32_le(data_len.saturating_add(36));
    out.put_slice(fmt.get(8..40)?);
    out.put_u32_le(data_len);
    for p in parts {
        out.put_slice(p.get(HEADER_LEN..)?);
    }
    Some(out.freeze())
}

/// Encodes interleaved samples as a 16-bit PCM WAV file (see [`quantize`]).
pub fn encode(samples: &[f32], channels: u16, rate: u32) -> Bytes {
    let mut w = WavWriter::new(channels, rate, samples.len() / usize::from(channels.max(1)));
    w.push(samples);
    w.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn join_puts_the_samples_of_its_parts_under_one_header() {
        let a: Vec<f32> = (0..300).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
        let b: Vec<f32> = (0..500).map(|i| (i as f32 * 0.02).cos() * 0.25).collect();
        let whole: Vec<f32> = a.iter().chain(&b).copied().collect();
        let joined = join(&[encode(&a, 2, 16_000), encode(&b, 2, 16_000)]).unwrap();
        assert!(joined == encode(&whole, 2, 16_000));
        // Different formats, or something that is not a WAV this module wrote: no join.
        assert!(join(&[encode(&a, 2, 16_000), encode(&b, 1, 16_000)]).is_none());
        assert!(join(&[encode(&a, 2, 16_000), encode(&b, 2, 8_000)]).is_none());
        assert!(join(&[encode(&a, 2, 16_000), Bytes::from_static(b"RIFF")]).is_none());
        assert!(join(&[]).is_none());
    }

    use super::*;

    #[test]
    fn header_and_clamping() {
        let w = encode(&[0.0, 1.0, -1.0, 2.0], 2, 16000);
        assert_eq!(w.len(), encoded_len(2, 2));
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(w[4..8].try_into().unwrap()), 36 + 8);
        assert_eq!(u32::from_le_bytes(w[24..28].try_into().unwrap()), 16000);
        assert_eq!(u16::from_le_bytes(w[22..24].try_into().unwrap()), 2);
        assert_eq!(u32::from_le_bytes(w[40..44].try_into().unwrap()), 8);
        assert_eq!(i16::from_le_bytes(w[46..48].try_into().unwrap()), 32767);
        assert_eq!(i16::from_le_bytes(w[48..50].try_into().unwrap()), -32768);
        assert_eq!(i16::from_le_bytes(w[50..52].try_into().unwrap()), 32767);
    }

    #[test]
    fn sixteen_bit_values_round_trip_exactly() {
        // What symphonia hands out for 16-bit PCM: v / 32768.
        for v in [i16::MIN, -32767, -16385, -1, 0, 1, 16385, 32766, i16::MAX] {
            assert_eq!(quantize(f32::from(v) / 32768.0), v);
        }
        assert_eq!(quantize(f32::NAN), 0);
    }
}
