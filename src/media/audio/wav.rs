//! WAV (RIFF, PCM s16le) encoding of interleaved `f32` samples: each chunk a complete file.

use bytes::{BufMut, Bytes, BytesMut};

/// Size of the canonical 44-byte header.
pub const HEADER_LEN: usize = 44;

/// Bytes a WAV of `frames` frames takes.
pub fn encoded_len(frames: usize, channels: usize) -> usize {
    HEADER_LEN + frames * channels * 2
}

/// Encodes interleaved samples (clamped to [-1, 1]) as a 16-bit PCM WAV file.
pub fn encode(samples: &[f32], channels: u16, rate: u32) -> Bytes {
    let data_len = (samples.len() * 2) as u32;
    let mut b = BytesMut::with_capacity(HEADER_LEN + samples.len() * 2);
    b.put_slice(b"RIFF");
    b.put_u32_le(36 + data_len);
    b.put_slice(b"WAVEfmt ");
    b.put_u32_le(16);
    b.put_u16_le(1);
    b.put_u16_le(channels);
    b.put_u32_le(rate);
    b.put_u32_le(rate * u32::from(channels) * 2);
    b.put_u16_le(channels * 2);
    b.put_u16_le(16);
    b.put_slice(b"data");
    b.put_u32_le(data_len);
    for s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        b.put_i16_le(v);
    }
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_clamping() {
        let w = encode(&[0.0, 1.0, -1.0, 2.0], 2, 16000);
        assert_eq!(w.len(), encoded_len(2, 2));
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(w[24..28].try_into().unwrap()), 16000);
        assert_eq!(u16::from_le_bytes(w[22..24].try_into().unwrap()), 2);
        assert_eq!(i16::from_le_bytes(w[46..48].try_into().unwrap()), 32767);
        assert_eq!(i16::from_le_bytes(w[50..52].try_into().unwrap()), 32767);
    }
}
