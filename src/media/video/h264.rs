//! H.264 decoding in process (openh264, bundled source): avcC/Annex-B packets to planar YUV
//! pictures, B-frames included (no flush after each packet). Must not know about containers,
//! files or the image pipeline.

use super::VideoError;
use super::yuv::{ColorSpec, Planes};
use h264_reader::avcc::AvcDecoderConfigurationRecord;
use h264_reader::nal::sps::{ChromaFormat, FrameMbsFlags, SeqParameterSet};
use h264_reader::nal::{Nal, RefNal};
use openh264::OpenH264API;
use openh264::decoder::{DecodedYUV, Decoder as OhDecoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;

/// What the sequence parameter set says, as far as decoding and colour go.
#[derive(Clone, Debug, PartialEq)]
pub struct SpsFacts {
    /// "yuv420p", "yuv422p", "yuv444p", "gray" (+ "10le" etc. above 8 bits).
    pub pixel_format: String,
    pub bit_depth: u8,
    pub interlaced: bool,
    pub color: ColorSpec,
    /// Sample aspect ratio (width, height), when signalled and not 1:1.
    pub sar: Option<(u32, u32)>,
}

impl SpsFacts {
    /// Whether openh264 decodes this natively (8-bit 4:2:0 progressive).
    pub fn native(&self) -> bool {
        self.bit_depth == 8 && self.pixel_format == "yuv420p" && !self.interlaced
    }
}

/// The decoder configuration (avcC) of a stream: NAL length size and parameter sets.
pub struct AvcConfig {
    nal_len: usize,
    /// SPS and PPS in Annex-B form, fed before the first packet.
    annexb_params: Vec<u8>,
    sps: Option<SpsFacts>,
}

impl AvcConfig {
    /// Parses an avcC record; `Corrupt` when it is malformed, `Unsupported` when empty
    /// (Annex-B streams in MKV without codec private data are not handled natively).
    pub fn parse(avcc: &[u8]) -> Result<AvcConfig, VideoError> {
        if avcc.is_empty() {
            return Err(VideoError::Unsupported(
                "H.264 without an avcC record".into(),
            ));
        }
        let rec = AvcDecoderConfigurationRecord::try_from(avcc)
            .map_err(|e| VideoError::Corrupt(format!("H.264 avcC: {e:?}")))?;
        let nal_len = usize::from(rec.length_size_minus_one()) + 1;
        let mut annexb_params = Vec::new();
        let mut sps = None;
        for s in rec.sequence_parameter_sets() {
            let s = s.map_err(|e| VideoError::Corrupt(format!("H.264 SPS: {e:?}")))?;
            if sps.is_none() {
                sps = sps_facts(s);
            }
            annexb_params.extend_from_slice(&[0, 0, 0, 1]);
            annexb_params.extend_from_slice(s);
        }
        for p in rec.picture_parameter_sets() {
            let p = p.map_err(|e| VideoError::Corrupt(format!("H.264 PPS: {e:?}")))?;
            annexb_params.extend_from_slice(&[0, 0, 0, 1]);
            annexb_params.extend_from_slice(p);
        }
        Ok(AvcConfig {
            nal_len,
            annexb_params,
            sps,
        })
    }

    /// The first SPS's facts, when it parses.
    pub fn sps(&self) -> Option<&SpsFacts> {
        self.sps.as_ref()
    }
}

/// Facts of one SPS NAL unit (header byte included); `None` when it does not parse.
pub fn sps_facts(nal: &[u8]) -> Option<SpsFacts> {
    let nal = RefNal::new(nal, &[], true);
    let sps = SeqParameterSet::from_bits(nal.rbsp_bits()).ok()?;
    let ci = &sps.chroma_info;
    let depth = ci.bit_depth_luma_minus8.max(ci.bit_depth_chroma_minus8) + 8;
    let base = match ci.chroma_format {
        ChromaFormat::Monochrome => "gray",
        ChromaFormat::YUV420 => "yuv420p",
        ChromaFormat::YUV422 => "yuv422p",
        ChromaFormat::YUV444 => "yuv444p",
        ChromaFormat::Invalid(_) => "unknown",
    };
    let pixel_format = if depth == 8 {
        base.to_string()
    } else {
        format!("{base}{depth}le")
    };
    let vui = sps.vui_parameters.as_ref();
    let signal = vui.and_then(|v| v.video_signal_type.as_ref());
    let color = ColorSpec {
        full_range: signal.is_some_and(|s| s.video_full_range_flag),
        matrix: signal
            .and_then(|s| s.colour_description.as_ref())
            .map(|c| c.matrix_coefficients),
    };
    let sar = vui
        .and_then(|v| v.aspect_ratio_info.as_ref())
        .and_then(|a| a.get())
        .map(|(w, h)| (u32::from(w), u32::from(h)))
        .filter(|&(w, h)| w > 0 && h > 0 && w != h);
    Some(SpsFacts {
        pixel_format,
        bit_depth: depth,
        interlaced: matches!(sps.frame_mbs_flags, FrameMbsFlags::Fields { .. }),
        color,
        sar,
    })
}

/// Iterates the NAL units of a length-prefixed packet (stops at the first malformed length).
fn nals(data: &[u8], nal_len: usize) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let len_bytes = rest.get(..nal_len)?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let nal = rest.get(nal_len..nal_len.checked_add(len)?)?;
        rest = rest.get(nal_len + len..).unwrap_or_default();
        Some(nal)
    })
}

/// Whether a packet holds an IDR slice (NAL type 5): decoding can start there.
/// `extra` is the avcC record (for the NAL length size; 4 when it does not parse).
pub fn is_idr(extra: &[u8], data: &[u8]) -> bool {
    let nal_len = extra.get(4).map_or(4, |b| usize::from(b & 3) + 1);
    nals(data, nal_len).any(|n| n.first().is_some_and(|h| h & 0x1f == 5))
}

/// Length-prefixed NAL units to Annex-B (start codes).
fn to_annexb(data: &[u8], nal_len: usize, out: &mut Vec<u8>) -> Result<(), VideoError> {
    out.clear();
    let mut consumed = 0usize;
    for nal in nals(data, nal_len) {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
        consumed += nal_len + nal.len();
    }
    if consumed != data.len() {
        return Err(VideoError::Corrupt(
            "an H.264 packet with a bad NAL unit length".into(),
        ));
    }
    Ok(())
}

fn map_err(e: openh264::Error) -> VideoError {
    VideoError::Corrupt(format!("H.264 decoder: {e}"))
}

/// An H.264 decoder fed packets in decode order; pictures come out in display order.
pub struct Decoder {
    dec: OhDecoder,
    config: AvcConfig,
    buf: Vec<u8>,
    primed: bool,
}

impl Decoder {
    /// A decoder for the stream described by `avcc`. `Unsupported` for what openh264 does not
    /// decode (not 8-bit 4:2:0 progressive).
    pub fn new(avcc: &[u8]) -> Result<Decoder, VideoError> {
        let config = AvcConfig::parse(avcc)?;
        if let Some(s) = config.sps()
            && !s.native()
        {
            return Err(VideoError::Unsupported(format!(
                "H.264 {}{} is not decoded natively",
                s.pixel_format,
                if s.interlaced { " interlaced" } else { "" }
            )));
        }
        let cfg = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
        let dec = OhDecoder::with_api_config(OpenH264API::from_source(), cfg).map_err(map_err)?;
        Ok(Decoder {
            dec,
            config,
            buf: Vec::new(),
            primed: false,
        })
    }

    pub fn color(&self) -> ColorSpec {
        self.config.sps().map(|s| s.color).unwrap_or_default()
    }

    /// Decodes one packet (length-prefixed NAL units); calls `out` with the picture it
    /// completes, if any.
    pub fn send(
        &mut self,
        packet: &[u8],
        out: &mut dyn FnMut(Planes<'_>) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        if !self.primed {
            self.primed = true;
            let params = std::mem::take(&mut self.config.annexb_params);
            let r = self.dec.decode(&params).map_err(map_err);
            self.config.annexb_params = params;
            if let Some(p) = r? {
                out(planes(&p)?)?;
            }
        }
        to_annexb(packet, self.config.nal_len, &mut self.buf)?;
        if let Some(p) = self.dec.decode(&self.buf).map_err(map_err)? {
            out(planes(&p)?)?;
        }
        Ok(())
    }

    /// Drains the pictures still held for reordering (end of stream).
    pub fn flush(
        &mut self,
        out: &mut dyn FnMut(Planes<'_>) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        if !self.primed {
            return Ok(());
        }
        for p in self.dec.flush_remaining().map_err(map_err)? {
            out(planes(&p)?)?;
        }
        Ok(())
    }
}

fn planes<'a>(p: &'a DecodedYUV<'a>) -> Result<Planes<'a>, VideoError> {
    let (w, h) = p.dimensions();
    let (ys, us, vs) = p.strides();
    let w = u32::try_from(w).map_err(|_| VideoError::Corrupt("picture too wide".into()))?;
    let h = u32::try_from(h).map_err(|_| VideoError::Corrupt("picture too tall".into()))?;
    Ok(Planes {
        width: w,
        height: h,
        y: p.y(),
        u: p.u(),
        v: p.v(),
        y_stride: ys,
        u_stride: us,
        v_stride: vs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nal_walk_finds_idr_and_rejects_bad_lengths() {
        // Two NALs, 4-byte lengths: an SEI (6) then an IDR slice (0x65 = type 5).
        let pkt = [0, 0, 0, 2, 0x06, 0xff, 0, 0, 0, 2, 0x65, 0x88];
        assert!(is_idr(&[], &pkt));
        let non_idr = [0, 0, 0, 2, 0x41, 0x9a];
        assert!(!is_idr(&[], &non_idr));
        let mut out = Vec::new();
        to_annexb(&pkt, 4, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x06, 0xff, 0, 0, 0, 1, 0x65, 0x88]);
        // A length past the end of the packet is corrupt, not a panic.
        let bad = [0, 0, 0, 9, 0x65, 0x88];
        assert!(matches!(
            to_annexb(&bad, 4, &mut out),
            Err(VideoError::Corrupt(_))
        ));
        assert!(!is_idr(&[], &bad));
    }

    #[test]
    fn empty_or_garbage_avcc_is_an_error() {
        assert!(matches!(
            AvcConfig::parse(&[]),
            Err(VideoError::Unsupported(_))
        ));
        assert!(matches!(
            AvcConfig::parse(&[1, 2, 3]),
            Err(VideoError::Corrupt(_))
        ));
    }
}
