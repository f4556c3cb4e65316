//! Content sniffing: what kind of media a file holds, from its first bytes (magic numbers),
//! with the extension used only as a hint between container variants (a Matroska or MP4 file
//! with an audio extension is audio). An extension alone never makes a file media.
//! Must not know about MCP or decoding.

use std::path::Path;

/// How many leading bytes are read to classify a file.
pub const SNIFF_BYTES: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    Audio,
    Image,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Image => "image",
            MediaKind::Video => "video",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "audio" => Some(MediaKind::Audio),
            "image" => Some(MediaKind::Image),
            "video" => Some(MediaKind::Video),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: MediaKind,
    pub mime: &'static str,
}

fn ext_is_audio(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some(
            "m4a"
                | "m4b"
                | "mka"
                | "weba"
                | "opus"
                | "oga"
                | "ogg"
                | "aac"
                | "mp3"
                | "flac"
                | "wav"
        )
    )
}

/// Classifies `head` (the first bytes of the file at `path`). `None`: not media we serve.
pub fn sniff(head: &[u8], path: &Path) -> Option<Sniffed> {
    // Formats `infer` does not know.
    if head.starts_with(b"caff") && head.len() >= 8 {
        return Some(Sniffed {
            kind: MediaKind::Audio,
            mime: "audio/x-caf",
        });
    }
    if head.starts_with(b"qoif") && head.len() >= 14 {
        return Some(Sniffed {
            kind: MediaKind::Image,
            mime: "image/qoi",
        });
    }
    let t = infer::get(head)?;
    let audio_hint = ext_is_audio(path);
    let s = |kind, mime| Some(Sniffed { kind, mime });
    match t.mime_type() {
        "audio/mpeg" => s(MediaKind::Audio, "audio/mpeg"),
        "audio/m4a" => s(MediaKind::Audio, "audio/mp4"),
        "audio/opus" => s(MediaKind::Audio, "audio/ogg"),
        "audio/ogg" => s(MediaKind::Audio, "audio/ogg"),
        "audio/x-flac" => s(MediaKind::Audio, "audio/flac"),
        "audio/x-wav" => s(MediaKind::Audio, "audio/wav"),
        "audio/aac" => s(MediaKind::Audio, "audio/aac"),
        "audio/x-aiff" => s(MediaKind::Audio, "audio/aiff"),
        "audio/amr" => s(MediaKind::Audio, "audio/amr"),
        "image/jpeg" => s(MediaKind::Image, "image/jpeg"),
        "image/png" => s(MediaKind::Image, "image/png"),
        "image/gif" => s(MediaKind::Image, "image/gif"),
        "image/webp" => s(MediaKind::Image, "image/webp"),
        "image/tiff" => s(MediaKind::Image, "image/tiff"),
        "image/bmp" => s(MediaKind::Image, "image/bmp"),
        "image/vnd.microsoft.icon" | "image/x-icon" => s(MediaKind::Image, "image/x-icon"),
        "image/heif" | "image/heic" => s(MediaKind::Image, "image/heic"),
        "image/avif" => s(MediaKind::Image, "image/avif"),
        "video/mp4" | "video/x-m4v" | "video/quicktime" if audio_hint => {
            s(MediaKind::Audio, "audio/mp4")
        }
        "video/x-matroska" if audio_hint => s(MediaKind::Audio, "audio/x-matroska"),
        "video/webm" if audio_hint => s(MediaKind::Audio, "audio/webm"),
        "video/mp4" | "video/x-m4v" => s(MediaKind::Video, "video/mp4"),
        "video/quicktime" => s(MediaKind::Video, "video/quicktime"),
        "video/x-matroska" => s(MediaKind::Video, "video/x-matroska"),
        "video/webm" => s(MediaKind::Video, "video/webm"),
        "video/x-msvideo" => s(MediaKind::Video, "video/x-msvideo"),
        "video/mpeg" => s(MediaKind::Video, "video/mpeg"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_wins_over_extension() {
        // ADTS AAC frame header saved as .jpg.
        let aac = [0xFF, 0xF1, 0x50, 0x80, 0x01, 0xFF, 0xFC, 0, 0, 0, 0, 0];
        let s = sniff(&aac, Path::new("x/not_really.jpg")).unwrap();
        assert_eq!(s.kind, MediaKind::Audio);
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png, Path::new("a.wav")).unwrap().mime, "image/png");
        assert_eq!(sniff(b"hello world", Path::new("a.wav")), None);
        assert_eq!(sniff(b"", Path::new("a.wav")), None);
    }

    #[test]
    fn every_sample_image_format_is_an_image() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/images");
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let head: Vec<u8> = std::fs::read(&p)
                .unwrap()
                .into_iter()
                .take(SNIFF_BYTES)
                .collect();
            let got = sniff(&head, &p).unwrap_or_else(|| panic!("{} not sniffed", p.display()));
            assert_eq!(got.kind, MediaKind::Image, "{}", p.display());
        }
    }
}
