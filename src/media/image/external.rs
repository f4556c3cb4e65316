//! External decoders for formats with no pure-Rust decoder (HEIC/HEIF, AVIF): libheif's
//! `heif-convert` or ffmpeg, found at run time on PATH, run as a child process (argument vector,
//! no shell) on a copy of the input in a private temporary directory (0700, files 0600, removed
//! when done), with a timeout (the child is killed when it runs over) and a bound on the bytes it
//! may write. The PNG it writes is returned for the normal decoder to read with the usual limits.
//! Must not know about tokio, JSON, MCP, the library or the cache.

use super::ImageError;
use crate::media::process::{self, Job, PrivateDir, RunError, which};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to install when no decoder is found.
pub const INSTALL_HINT: &str =
    "install libheif-examples (heif-convert) or ffmpeg to read HEIC/HEIF and AVIF images";

/// Which external decoders exist and how far they are trusted.
#[derive(Clone, Debug)]
pub struct ExternalDecoders {
    pub heif_convert: Option<PathBuf>,
    pub ffmpeg: Option<PathBuf>,
    /// Longest a child may run.
    pub timeout: Duration,
    /// Most bytes a child may produce.
    pub max_output_bytes: u64,
}

/// The private temporary directories' name prefix.
const TEMP_PREFIX: &str = "mcp-media-img-";

/// Default time a child may run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound on what a child writes (a 100 MP RGBA PNG stays under it).
pub const DEFAULT_MAX_OUTPUT: u64 = 512 << 20;

impl Default for ExternalDecoders {
    /// No decoders (HEIC/AVIF refused with [`INSTALL_HINT`]), default timeout and bound.
    fn default() -> Self {
        ExternalDecoders {
            heif_convert: None,
            ffmpeg: None,
            timeout: DEFAULT_TIMEOUT,
            max_output_bytes: DEFAULT_MAX_OUTPUT,
        }
    }
}

impl ExternalDecoders {
    /// Finds `heif-convert` and `ffmpeg` on PATH; default timeout and output bound.
    pub fn discover() -> Self {
        ExternalDecoders {
            heif_convert: which("heif-convert"),
            ffmpeg: which("ffmpeg"),
            ..ExternalDecoders::default()
        }
    }

    /// Whether any decoder is there.
    pub fn available(&self) -> bool {
        self.heif_convert.is_some() || self.ffmpeg.is_some()
    }

    /// Decodes a HEIC/HEIF or AVIF (`format` names which, for messages) to PNG bytes: the
    /// first decoder that succeeds of heif-convert, then ffmpeg.
    pub fn decode_to_png(
        &self,
        input: &mut dyn Read,
        format: &str,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Vec<u8>, ImageError> {
        if !self.available() {
            return Err(ImageError::External(format!(
                "no decoder for {format} images: {INSTALL_HINT}"
            )));
        }
        let dir = PrivateDir::new(TEMP_PREFIX)?;
        let (in_path, mut f) = dir.create(&format!("in.{format}"))?;
        std::io::copy(input, &mut f)?;
        f.flush()?;
        drop(f);
        let mut errors = vec![];
        let tools: [(&Option<PathBuf>, ArgsFn); 2] = [
            (&self.heif_convert, heif_convert_args),
            (&self.ffmpeg, ffmpeg_args),
        ];
        for (i, (tool, args)) in tools.into_iter().enumerate() {
            let Some(exe) = tool else { continue };
            let (out_path, f) = dir.create(&format!("out{i}.png"))?;
            drop(f);
            match self.run(exe, &args(&in_path, &out_path), &out_path, cancelled) {
                Ok(png) => return Ok(png),
                Err(e @ (ImageError::Cancelled | ImageError::TooLarge(_))) => return Err(e),
                Err(e) => errors.push(e.to_string()),
            }
        }
        let hint = if format == "heic" && self.heif_convert.is_none() {
            " (ffmpeg before 7.0 does not read HEIC: install libheif-examples for heif-convert)"
        } else {
            ""
        };
        Err(ImageError::External(format!(
            "could not decode the {format} image: {}{hint}",
            errors.join("; ")
        )))
    }

    /// Runs one decoder to completion (or kills it), then reads its output within the bound.
    fn run(
        &self,
        exe: &Path,
        args: &[std::ffi::OsString],
        out: &Path,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Vec<u8>, ImageError> {
        let name = process::program_name(exe);
        let job = Job {
            program: exe,
            args,
            env: &[("PATH", "/usr/bin:/bin")],
            timeout: self.timeout,
            max_stdout: 0,
            max_stderr: 2048,
            watch: Some((out, self.max_output_bytes)),
            stderr_lines: None,
        };
        let done = process::run(job, cancelled, None).map_err(|e| match e {
            RunError::Cancelled => ImageError::Cancelled,
            RunError::TooMuchOutput { .. } => ImageError::TooLarge(e.to_string()),
            RunError::Io(e) => ImageError::Io(e),
            e @ (RunError::Start { .. } | RunError::TimedOut { .. }) => {
                ImageError::External(e.to_string())
            }
        })?;
        if !done.status.success() {
            return Err(ImageError::External(format!(
                "{name} failed ({}): {}",
                done.status,
                process::message(&done.stderr)
            )));
        }
        let mut png = Vec::new();
        File::open(out)?
            .take(self.max_output_bytes.saturating_add(1))
            .read_to_end(&mut png)?;
        if png.len() as u64 > self.max_output_bytes {
            return Err(ImageError::TooLarge(format!(
                "{name} wrote more than {} bytes",
                self.max_output_bytes
            )));
        }
        if png.is_empty() {
            return Err(ImageError::External(format!(
                "{name} wrote nothing: {}",
                process::message(&done.stderr)
            )));
        }
        Ok(png)
    }
}

/// The argument vector of a decoder for (input, output).
type ArgsFn = fn(&Path, &Path) -> Vec<std::ffi::OsString>;

fn heif_convert_args(input: &Path, output: &Path) -> Vec<std::ffi::OsString> {
    vec![input.into(), output.into()]
}

fn ffmpeg_args(input: &Path, output: &Path) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> =
        ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i"]
            .iter()
            .map(Into::into)
            .collect();
    v.push(input.into());
    for a in ["-frames:v", "1", "-f", "image2", "-c:v", "png"] {
        v.push(a.into());
    }
    v.push(output.into());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::image::decode::{DecodeOptions, decode};
    use std::fs;
    use std::io::Cursor;
    use std::process::{Command, Stdio};
    use std::sync::Mutex;

    /// The tests that run children look at the temporary directory: one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn leftovers() -> Vec<String> {
        let prefix = format!("mcp-media-img-{}-", std::process::id());
        fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(&prefix))
            .collect()
    }

    fn source() -> image::RgbImage {
        image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, 160])
        })
    }

    /// Encodes `source()` with a command line tool into `dir`; `None` (with the reason printed)
    /// when the tool is missing or fails here.
    fn encode_with(dir: &Path, tool: &str, args: &[&str], out: &str) -> Option<Vec<u8>> {
        if which(tool).is_none() {
            eprintln!("skipped: {tool} is not installed");
            return None;
        }
        let png = dir.join("src.png");
        source().save(&png).unwrap();
        let out = dir.join(out);
        let mut cmd = Command::new(tool);
        for a in args {
            match *a {
                "IN" => cmd.arg(&png),
                "OUT" => cmd.arg(&out),
                a => cmd.arg(a),
            };
        }
        let st = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        if !st.success() {
            eprintln!("skipped: {tool} could not encode here ({st})");
            return None;
        }
        Some(fs::read(out).unwrap())
    }

    fn mae(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
        let s: u64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        s as f64 / a.as_raw().len() as f64
    }

    #[test]
    fn heic_made_by_heif_enc_decodes_through_heif_convert() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let Some(heic) = encode_with(
            dir.path(),
            "heif-enc",
            &["-q", "90", "-o", "OUT", "IN"],
            "a.heic",
        ) else {
            return;
        };
        let ext = ExternalDecoders::discover();
        let info = crate::media::image::probe(Cursor::new(&heic), false).unwrap();
        assert_eq!((info.format, info.width, info.height), ("heic", 64, 48));
        if ext.heif_convert.is_none() {
            eprintln!("skipped decoding: heif-convert is not installed");
            return;
        }
        let opts = DecodeOptions {
            external: ext.clone(),
            ..DecodeOptions::default()
        };
        let d = decode(Cursor::new(&heic), &opts, &|| false).unwrap();
        assert_eq!(d.info.format, "heic");
        let f = d.frames[0].to_rgb8();
        assert_eq!(f.dimensions(), (64, 48));
        let e = mae(&f, &source());
        assert!(e < 6.0, "lossy HEVC off by {e}");
        // Only ffmpeg (5.1 here cannot read HEIC): the error says what to install.
        let only_ffmpeg = DecodeOptions {
            external: ExternalDecoders {
                heif_convert: None,
                ..ext
            },
            ..DecodeOptions::default()
        };
        if only_ffmpeg.external.ffmpeg.is_some() {
            match decode(Cursor::new(&heic), &only_ffmpeg, &|| false) {
                Ok(d) => assert_eq!(d.frames[0].width(), 64),
                Err(ImageError::External(m)) => assert!(m.contains("libheif-examples"), "{m}"),
                Err(e) => panic!("{e}"),
            }
        }
        // Without any decoder: what to install.
        let none = DecodeOptions::default();
        match decode(Cursor::new(&heic), &none, &|| false) {
            Err(ImageError::External(m)) => assert!(m.contains(INSTALL_HINT), "{m}"),
            other => panic!("{:?}", other.map(|d| d.info)),
        }
        assert_eq!(leftovers(), Vec::<String>::new());
    }

    #[test]
    fn avif_made_by_ffmpeg_decodes_through_either_decoder() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let args = [
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            "IN",
            "-c:v",
            "libaom-av1",
            "-still-picture",
            "1",
            "-pix_fmt",
            "yuv444p",
            "OUT",
        ];
        let Some(avif) = encode_with(dir.path(), "ffmpeg", &args, "a.avif") else {
            return;
        };
        let info = crate::media::image::probe(Cursor::new(&avif), false).unwrap();
        assert_eq!((info.format, info.width, info.height), ("avif", 64, 48));
        let all = ExternalDecoders::discover();
        for ext in [
            ExternalDecoders {
                ffmpeg: None,
                ..all.clone()
            },
            ExternalDecoders {
                heif_convert: None,
                ..all.clone()
            },
        ] {
            if !ext.available() {
                continue;
            }
            let opts = DecodeOptions {
                external: ext,
                ..DecodeOptions::default()
            };
            let d = decode(Cursor::new(&avif), &opts, &|| false).unwrap();
            let f = d.frames[0].to_rgb8();
            assert_eq!(f.dimensions(), (64, 48));
            let e = mae(&f, &source());
            assert!(e < 6.0, "AV1 off by {e}");
        }
        assert_eq!(leftovers(), Vec::<String>::new());
    }

    /// A fake decoder: a shell script (run by the kernel through its #! line, not by us).
    fn script(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("fake-decoder");
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o700)).unwrap();
        p
    }

    fn run_fake(body: &str, timeout: Duration, max: u64) -> Result<Vec<u8>, ImageError> {
        let dir = tempfile::tempdir().unwrap();
        let ext = ExternalDecoders {
            heif_convert: Some(script(dir.path(), body)),
            ffmpeg: None,
            timeout,
            max_output_bytes: max,
        };
        ext.decode_to_png(&mut Cursor::new(b"input"), "heic", &|| false)
    }

    #[test]
    fn children_are_bounded_in_time_and_output_and_errors_carry_their_message() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let long = Duration::from_secs(60);
        // Arguments: input path, output path; the input is a private copy.
        let ok = run_fake("cat \"$1\" > \"$2\"", long, 1000).unwrap();
        assert_eq!(ok, b"input");
        match run_fake("exec sleep 30", Duration::from_millis(100), 1000) {
            Err(ImageError::External(m)) => assert!(m.contains("time limit"), "{m}"),
            other => panic!("{other:?}"),
        }
        match run_fake(
            "head -c 100000 /dev/zero > \"$2\"; exec sleep 30",
            long,
            1000,
        ) {
            Err(ImageError::TooLarge(m)) => assert!(m.contains("1000 bytes"), "{m}"),
            other => panic!("{other:?}"),
        }
        // Over the bound by the time it exits (not caught while it ran).
        match run_fake("head -c 5000 /dev/zero > \"$2\"", long, 1000) {
            Err(ImageError::TooLarge(_)) => {}
            other => panic!("{other:?}"),
        }
        match run_fake("echo 'bad box' >&2; exit 3", long, 1000) {
            Err(ImageError::External(m)) => assert!(m.contains("bad box"), "{m}"),
            other => panic!("{other:?}"),
        }
        match run_fake("exit 0", long, 1000) {
            Err(ImageError::External(m)) => assert!(m.contains("wrote nothing"), "{m}"),
            other => panic!("{other:?}"),
        }
        // The private directory: 0700, the input copy 0600, all removed afterwards.
        let modes = run_fake(
            "stat -c %a \"$(dirname \"$1\")\" \"$1\" > \"$2\"",
            long,
            1000,
        )
        .unwrap();
        assert_eq!(String::from_utf8(modes).unwrap(), "700\n600\n");
        assert_eq!(leftovers(), Vec::<String>::new());
    }
}
