//! [`MediaFile`]: an opened regular media file as every reader (range reads, sniffing,
//! decoders) sees it. It shows the file as it was when opened (reads stop at the size `fstat`
//! reported), fails a read call that outlasts the read deadline with
//! [`LibraryError::ReadTimeout`], and fails a read that finds the file shorter than it was with
//! [`LibraryError::Changed`] instead of a silent early end. Both errors travel inside
//! `io::Error` (kinds `TimedOut` and `Other`, never `UnexpectedEof`, which decoders take for a
//! normal end) and are taken back out by the library.
//! Must not know about MCP, paths or roots.

use super::{LibraryError, SourceId};
use std::io::{self, Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

/// An opened media file (or, in tests, any reader) with the read deadline and the truncation
/// check applied. Implements `Read` and `Seek`.
pub struct MediaFile<R = std::fs::File> {
    inner: R,
    uri: String,
    size: u64,
    pos: u64,
    deadline: Duration,
    id: Option<SourceId>,
}

impl<R> MediaFile<R> {
    /// Wraps `inner`, whose length was `size` when opened.
    pub(crate) fn new(inner: R, uri: &str, size: u64, deadline: Duration) -> Self {
        MediaFile {
            inner,
            uri: uri.into(),
            size,
            pos: 0,
            deadline,
            id: None,
        }
    }

    pub(crate) fn with_id(mut self, id: SourceId) -> Self {
        self.id = Some(id);
        self
    }

    /// The identity of the file as opened (from `fstat` of this handle).
    pub fn id(&self) -> Option<SourceId> {
        self.id
    }

    /// The wrapped reader.
    #[cfg(test)]
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The file's size when it was opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The opened handle itself (for a pipeline that reads it by position, or hands it to a
    /// child process, instead of through this reader).
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for MediaFile<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.size.saturating_sub(self.pos);
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let dst = buf.get_mut(..want).unwrap_or_default();
        let started = Instant::now();
        let got = self.inner.read(dst)?;
        if started.elapsed() > self.deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                LibraryError::ReadTimeout {
                    uri: self.uri.clone(),
                    limit: self.deadline,
                },
            ));
        }
        if got == 0 {
            return Err(io::Error::other(LibraryError::shrank(
                &self.uri, self.pos, self.size,
            )));
        }
        self.pos += got as u64;
        Ok(got)
    }
}

impl<R: Seek> Seek for MediaFile<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        // The end is the end as opened, whatever the file has become since.
        let pos = match pos {
            SeekFrom::End(d) => {
                SeekFrom::Start(self.size.checked_add_signed(d).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "seek before the start")
                })?)
            }
            other => other,
        };
        self.pos = self.inner.seek(pos)?;
        Ok(self.pos)
    }
}

/// An opened regular file read by position (`pread`), shared by every reader of an answer
/// being streamed (a blob read only when its answer is written). Each read must finish within
/// the read deadline, and the file must still be as it was opened: a read past its current end
/// or after its size or modification time changed (checked with `fstat` after each read) fails
/// with [`LibraryError::Changed`] instead of returning bytes of another version.
#[derive(Debug)]
pub struct PositionedFile {
    file: std::fs::File,
    uri: String,
    id: SourceId,
    deadline: Duration,
}

impl PositionedFile {
    pub(crate) fn new(file: std::fs::File, uri: &str, id: SourceId, deadline: Duration) -> Self {
        PositionedFile {
            file,
            uri: uri.into(),
            id,
            deadline,
        }
    }

    /// The file's size when it was opened.
    pub fn size(&self) -> u64 {
        self.id.size
    }

    /// Reads `len` bytes from `offset` once, block by block into a small buffer, and drops them:
    /// a file that cannot be read (an I/O error, storage slower than the read deadline for
    /// the whole range, a file cut short or changed) fails here, before anything of the answer
    /// is sent, with the same errors as a read into memory; and the bytes are in the page cache
    /// for the sending. Stops early, without an error, once `cancelled()` says so (the answer
    /// of a cancelled request is not sent).
    pub fn check_readable(
        &self,
        offset: u64,
        len: u64,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<(), LibraryError> {
        const CHECK_BLOCK: usize = 256 * 1024;
        let started = Instant::now();
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(CHECK_BLOCK).min(CHECK_BLOCK)];
        let mut done = 0u64;
        while done < len {
            if cancelled() {
                return Ok(());
            }
            let n = usize::try_from(len - done)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            let dst = buf.get_mut(..n).unwrap_or_default();
            self.read_exact_at(offset + done, dst)?;
            done += n as u64;
            if started.elapsed() > self.deadline {
                return Err(LibraryError::ReadTimeout {
                    uri: self.uri.clone(),
                    limit: self.deadline,
                });
            }
        }
        Ok(())
    }

    /// Fills `buf` with the bytes at `offset`, or fails (see the type's doc).
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), LibraryError> {
        use std::os::unix::fs::FileExt as _;
        let started = Instant::now();
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset + done as u64;
            let Some(dst) = buf.get_mut(done..) else {
                break;
            };
            match self.file.read_at(dst, at) {
                Ok(0) => return Err(LibraryError::shrank(&self.uri, at, self.id.size)),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(LibraryError::Io {
                        uri: self.uri.clone(),
                        source: e,
                    });
                }
            }
            if started.elapsed() > self.deadline {
                return Err(LibraryError::ReadTimeout {
                    uri: self.uri.clone(),
                    limit: self.deadline,
                });
            }
        }
        let now = self.file.metadata().map_err(|e| LibraryError::Io {
            uri: self.uri.clone(),
            source: e,
        })?;
        let id = SourceId::of(&now);
        if id != self.id {
            return Err(LibraryError::Changed {
                uri: self.uri.clone(),
                how: if id.size < self.id.size {
                    format!(
                        "it has {} bytes now, it had {} when opened",
                        id.size, self.id.size
                    )
                } else {
                    "it was modified while it was being sent".into()
                },
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A reader whose every read takes at least `delay`.
    struct Slow {
        inner: Cursor<Vec<u8>>,
        delay: Duration,
    }
    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            std::thread::sleep(self.delay);
            self.inner.read(buf)
        }
    }

    fn lib_err(e: io::Error) -> LibraryError {
        *e.into_inner()
            .expect("a wrapped error")
            .downcast::<LibraryError>()
            .expect("a LibraryError")
    }

    #[test]
    fn a_read_slower_than_the_deadline_fails_with_read_timeout() {
        let slow = Slow {
            inner: Cursor::new(vec![1; 100]),
            delay: Duration::from_millis(30),
        };
        let mut f = MediaFile::new(slow, "media://r/a.wav", 100, Duration::from_millis(1));
        let e = f.read(&mut [0; 10]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(
            matches!(lib_err(e), LibraryError::ReadTimeout { ref uri, .. } if uri == "media://r/a.wav")
        );
        // Within the deadline the same reader works.
        let ok = Slow {
            inner: Cursor::new(vec![1; 100]),
            delay: Duration::ZERO,
        };
        let mut f = MediaFile::new(ok, "u", 100, Duration::from_secs(3600));
        assert_eq!(f.read(&mut [0; 10]).unwrap(), 10);
    }

    #[test]
    fn a_file_shorter_than_when_opened_fails_with_changed_not_eof() {
        // Opened at 100 bytes; only 40 are left.
        let mut f = MediaFile::new(Cursor::new(vec![7; 40]), "u", 100, Duration::MAX);
        let mut all = vec![];
        let e = f.read_to_end(&mut all).unwrap_err();
        assert_ne!(e.kind(), io::ErrorKind::UnexpectedEof);
        let e = lib_err(e);
        assert!(
            matches!(e, LibraryError::Changed { ref how, .. } if how == "it ended at byte 40, it had 100 bytes when opened"),
            "{e}"
        );
    }

    #[test]
    fn a_file_that_grew_reads_as_opened() {
        let mut f = MediaFile::new(Cursor::new(vec![7; 100]), "u", 60, Duration::MAX);
        let mut all = vec![];
        f.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 60);
        assert_eq!(f.seek(SeekFrom::End(-10)).unwrap(), 50);
        assert!(f.seek(SeekFrom::End(-61)).is_err());
    }
}
