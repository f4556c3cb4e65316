//! Child processes for the external tools (ffmpeg, ffprobe, heif-convert): finding them on PATH,
//! a private temporary directory for their files, and one runner that starts a program with an
//! argument vector (never a shell), a cleared environment and stdin closed, streams its stdout
//! to a callback within a byte bound, keeps a bounded copy of its stderr for messages, and kills
//! it when it runs over its time, writes too much (stdout or a watched file) or the request is
//! cancelled (polled every few milliseconds). The child is always reaped.
//! Must not know about any media format, tokio, JSON, MCP, the library or the cache.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How often the runner looks at the clock, the cancel flag and the watched file.
const POLL: Duration = Duration::from_millis(5);
/// Bytes of stdout read at a time (and handed to the callback).
const CHUNK: usize = 64 << 10;
/// Chunks of stdout buffered between the reading thread and the callback.
const CHUNKS_IN_FLIGHT: usize = 4;

/// An executable file called `name` in one of the absolute PATH directories.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// A private directory (mode 0700) under the system temporary directory, removed with what is
/// in it when dropped.
#[derive(Debug)]
pub struct PrivateDir(PathBuf);

impl PrivateDir {
    /// A new directory named `{prefix}{pid}-{nanos}-{n}`.
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut last = None;
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let p = base.join(format!("{prefix}{}-{nanos:x}-{n}", std::process::id()));
            match fs::DirBuilder::new().mode(0o700).create(&p) {
                Ok(()) => return Ok(PrivateDir(p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no temporary directory")))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A new file in the directory, created exclusively with mode 0600.
    pub fn create(&self, name: &str) -> std::io::Result<(PathBuf, File)> {
        let p = self.0.join(name);
        let f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)?;
        Ok((p, f))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.0) {
            tracing::warn!("could not remove {}: {e}", self.0.display());
        }
    }
}

/// What to run and how far it may go.
#[derive(Clone, Debug)]
pub struct Job<'a> {
    pub program: &'a Path,
    pub args: &'a [OsString],
    /// The child's whole environment (everything else is cleared).
    pub env: &'a [(&'a str, &'a str)],
    /// Longest the child may run.
    pub timeout: Duration,
    /// Most bytes it may write to stdout (ignored when stdout is not read).
    pub max_stdout: u64,
    /// Most bytes of stderr kept for messages (the rest is read and dropped).
    pub max_stderr: usize,
    /// A file the child writes, and the size it must not pass while running.
    pub watch: Option<(&'a Path, u64)>,
    /// Read stderr line by line: each line the function marks [`LineUse::Send`] goes to the
    /// sender as it arrives (e.g. per-frame reports), [`LineUse::Keep`] lines are kept for the
    /// message (within `max_stderr`), the others are dropped.
    pub stderr_lines: Option<LineTap>,
}

/// Sorts a child's stderr lines and receives those sorted [`LineUse::Send`].
pub type LineTap = (fn(&str) -> LineUse, mpsc::Sender<String>);

/// Takes each chunk of a child's stdout; `false` stops the child.
pub type OnStdout<'a> = &'a mut dyn FnMut(&[u8]) -> bool;

/// What to do with one line of a child's stderr (see [`Job::stderr_lines`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineUse {
    Send,
    Keep,
    Drop,
}

/// Longest stderr line looked at (the rest of a longer line is dropped).
const MAX_LINE: usize = 64 << 10;

/// How a job ended without being stopped by the runner.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    /// The first `max_stderr` bytes of stderr, lossily decoded.
    pub stderr: String,
    /// The stdout callback asked to stop (the child was then killed; `status` is the kill's).
    pub stopped: bool,
}

/// Why the runner stopped a job (the child is killed and reaped before these are returned).
#[derive(Debug, Error)]
pub enum RunError {
    #[error("{name} could not start: {source}")]
    Start {
        name: String,
        source: std::io::Error,
    },
    #[error("cancelled")]
    Cancelled,
    #[error("{name} ran over its time limit of {limit:?} and was stopped")]
    TimedOut { name: String, limit: Duration },
    #[error("{name} wrote more than {limit} bytes and was stopped")]
    TooMuchOutput { name: String, limit: u64 },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A started child that is killed and reaped when dropped, unless already reaped.
struct Reaper(Option<Child>);

impl Reaper {
    fn child(&mut self) -> Result<&mut Child, std::io::Error> {
        self.0
            .as_mut()
            .ok_or_else(|| std::io::Error::other("child already reaped"))
    }
    fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        let st = self.child()?.try_wait()?;
        if st.is_some() {
            self.0 = None;
        }
        Ok(st)
    }
    fn kill(&mut self) -> std::io::Result<ExitStatus> {
        let mut c = self
            .0
            .take()
            .ok_or_else(|| std::io::Error::other("child already reaped"))?;
        let _ = c.kill();
        c.wait()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The program's file name, for messages.
pub fn program_name(program: &Path) -> String {
    program.file_name().map_or_else(
        || program.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Runs `job` to its end, or kills it. With `on_stdout`, stdout is piped and each chunk is
/// handed to it as it arrives (it returns `false` to stop the child: [`Finished::stopped`]);
/// without, stdout goes nowhere. `cancelled` and the clock are looked at every few ms while the
/// child runs and between chunks (not while `on_stdout` itself works).
pub fn run(
    mut job: Job<'_>,
    cancelled: &dyn Fn() -> bool,
    mut on_stdout: Option<OnStdout<'_>>,
) -> Result<Finished, RunError> {
    let name = program_name(job.program);
    let mut cmd = Command::new(job.program);
    cmd.args(job.args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(if on_stdout.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped());
    for (k, v) in job.env {
        cmd.env(OsStr::new(k), OsStr::new(v));
    }
    let mut child = cmd.spawn().map_err(|source| RunError::Start {
        name: name.clone(),
        source,
    })?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut reaper = Reaper(Some(child));
    let start = Instant::now();

    // stderr: the first max_stderr bytes (or lines, as sorted by `stderr_lines`), the rest
    // drained so the child never blocks on it.
    let (err_tx, err_rx) = mpsc::channel::<Vec<u8>>();
    if let Some(mut e) = stderr {
        let max = job.max_stderr;
        let lines = job.stderr_lines.take();
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut line = Vec::new();
            let mut buf = [0u8; 8192];
            let keep = |kept: &mut Vec<u8>, bytes: &[u8]| {
                let room = max.saturating_sub(kept.len()).min(bytes.len());
                kept.extend_from_slice(bytes.get(..room).unwrap_or_default());
            };
            loop {
                let n = match e.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let bytes = buf.get(..n).unwrap_or_default();
                let Some((sort, tx)) = &lines else {
                    keep(&mut kept, bytes);
                    continue;
                };
                for &b in bytes {
                    if b != b'\n' && b != b'\r' {
                        if line.len() < MAX_LINE {
                            line.push(b);
                        }
                        continue;
                    }
                    if line.is_empty() {
                        continue;
                    }
                    let text = String::from_utf8_lossy(&line).into_owned();
                    line.clear();
                    match sort(&text) {
                        LineUse::Send => {
                            let _ = tx.send(text);
                        }
                        LineUse::Keep => {
                            keep(&mut kept, text.as_bytes());
                            keep(&mut kept, b"\n");
                        }
                        LineUse::Drop => {}
                    }
                }
            }
            let _ = err_tx.send(kept);
        });
    }
    // stdout: chunks through a small bounded channel (back-pressure on the child).
    let out_rx: Option<Receiver<Vec<u8>>> = stdout.map(|mut o| {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
        std::thread::spawn(move || {
            loop {
                let mut buf = vec![0u8; CHUNK];
                match o.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.send(buf).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        rx
    });

    let verdict = |start: &Instant| -> Option<RunError> {
        if cancelled() {
            Some(RunError::Cancelled)
        } else if start.elapsed() > job.timeout {
            Some(RunError::TimedOut {
                name: name.clone(),
                limit: job.timeout,
            })
        } else if let Some((p, max)) = job.watch
            && fs::metadata(p).is_ok_and(|m| m.len() > max)
        {
            Some(RunError::TooMuchOutput {
                name: name.clone(),
                limit: max,
            })
        } else {
            None
        }
    };

    let mut stopped = false;
    if let (Some(rx), Some(cb)) = (out_rx, on_stdout.as_mut()) {
        let mut total = 0u64;
        loop {
            if let Some(e) = verdict(&start) {
                reaper.kill()?;
                return Err(e);
            }
            match rx.recv_timeout(POLL) {
                Ok(chunk) => {
                    total = total.saturating_add(chunk.len() as u64);
                    if total > job.max_stdout {
                        reaper.kill()?;
                        return Err(RunError::TooMuchOutput {
                            name,
                            limit: job.max_stdout,
                        });
                    }
                    if !cb(&chunk) {
                        stopped = true;
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    }
    let status = if stopped {
        reaper.kill()?
    } else {
        loop {
            if let Some(st) = reaper.try_wait()? {
                break st;
            }
            if let Some(e) = verdict(&start) {
                reaper.kill()?;
                return Err(e);
            }
            std::thread::sleep(POLL);
        }
    };
    // The child is gone; its stderr ends unless a grandchild holds it: wait a little for it.
    let kept = err_rx
        .recv_timeout(Duration::from_millis(500))
        .unwrap_or_default();
    Ok(Finished {
        status,
        stderr: String::from_utf8_lossy(&kept).into_owned(),
        stopped,
    })
}

/// The first few lines of a child's message, for an error.
pub fn message(stderr: &str) -> String {
    let s = stderr.trim();
    if s.is_empty() {
        "no message".into()
    } else {
        s.lines().take(5).collect::<Vec<_>>().join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(body: &str) -> (PathBuf, Vec<OsString>) {
        (
            PathBuf::from("/bin/sh"),
            vec!["-c".into(), body.into(), "sh".into()],
        )
    }

    fn job<'a>(p: &'a Path, args: &'a [OsString], timeout: Duration) -> Job<'a> {
        Job {
            program: p,
            args,
            env: &[("LC_ALL", "C")],
            timeout,
            max_stdout: 1 << 20,
            max_stderr: 100,
            watch: None,
            stderr_lines: None,
        }
    }

    /// Whether process `pid` still exists (a zombie counts: it was not reaped).
    fn exists(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn stdout_streams_stderr_is_bounded_and_the_environment_is_cleared() {
        let (p, a) = sh("env; printf 'x%.0s' $(seq 1 300) >&2; exit 4");
        let mut out = Vec::new();
        let mut cb = |c: &[u8]| {
            out.extend_from_slice(c);
            true
        };
        let f = run(
            job(&p, &a, Duration::from_secs(30)),
            &|| false,
            Some(&mut cb),
        )
        .unwrap();
        assert_eq!(f.status.code(), Some(4));
        assert!(!f.stopped);
        assert_eq!(f.stderr, "x".repeat(100));
        let env = String::from_utf8(out).unwrap();
        // sh itself adds PWD (and may add SHLVL, _); nothing of ours leaks through.
        assert!(env.lines().any(|l| l == "LC_ALL=C"), "{env}");
        assert!(!env.contains("HOME="), "{env}");
        assert!(!env.contains("CARGO"), "{env}");
    }

    #[test]
    fn timeout_cancel_stdout_bound_and_stop_kill_and_reap_the_child() {
        // The child reports its pid first, then sleeps: after each case the pid must be gone.
        let (p, a) = sh("echo $$; exec sleep 30");
        let pid_of = |buf: &[u8]| -> u32 {
            String::from_utf8_lossy(buf)
                .lines()
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        let mut pid = 0;
        let mut cb = |c: &[u8]| {
            pid = pid_of(c);
            true
        };
        match run(
            job(&p, &a, Duration::from_millis(200)),
            &|| false,
            Some(&mut cb),
        ) {
            Err(RunError::TimedOut { .. }) => {}
            other => panic!("{other:?}"),
        }
        assert!(pid > 0 && !exists(pid), "pid {pid} left behind");

        let seen = std::cell::Cell::new(false);
        let mut pid = 0;
        let mut cb = |c: &[u8]| {
            pid = pid_of(c);
            seen.set(true);
            true
        };
        match run(
            job(&p, &a, Duration::from_secs(60)),
            &|| seen.get(),
            Some(&mut cb),
        ) {
            Err(RunError::Cancelled) => {}
            other => panic!("{other:?}"),
        }
        assert!(pid > 0 && !exists(pid), "pid {pid} left behind");

        let mut pid = 0;
        let mut cb = |c: &[u8]| {
            pid = pid_of(c);
            false
        };
        let f = run(
            job(&p, &a, Duration::from_secs(60)),
            &|| false,
            Some(&mut cb),
        )
        .unwrap();
        assert!(f.stopped);
        assert!(pid > 0 && !exists(pid), "pid {pid} left behind");

        let (p2, a2) = sh("head -c 5000 /dev/zero; exec sleep 30");
        let mut j = job(&p2, &a2, Duration::from_secs(60));
        j.max_stdout = 1000;
        let mut cb = |_: &[u8]| true;
        match run(j, &|| false, Some(&mut cb)) {
            Err(RunError::TooMuchOutput { limit: 1000, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stderr_lines_are_sorted_as_they_arrive() {
        let (p, a) = sh("printf 'frame 1\\nnoise\\nerror: bad\\rframe 2\\n' >&2; exit 1");
        let (tx, rx) = mpsc::channel();
        fn sort(l: &str) -> LineUse {
            if l.starts_with("frame") {
                LineUse::Send
            } else if l.starts_with("error") {
                LineUse::Keep
            } else {
                LineUse::Drop
            }
        }
        let mut j = job(&p, &a, Duration::from_secs(30));
        j.stderr_lines = Some((sort, tx));
        let f = run(j, &|| false, None).unwrap();
        assert_eq!(f.stderr, "error: bad\n");
        assert_eq!(rx.iter().collect::<Vec<_>>(), ["frame 1", "frame 2"]);
    }

    #[test]
    fn a_watched_file_is_bounded_and_a_missing_program_is_a_start_error() {
        let dir = PrivateDir::new("mcp-media-proc-test-").unwrap();
        let out = dir.path().join("out");
        let body = format!(
            "head -c 5000 /dev/zero > '{}'; exec sleep 30",
            out.display()
        );
        let (p, a) = sh(&body);
        let mut j = job(&p, &a, Duration::from_secs(60));
        j.watch = Some((&out, 1000));
        match run(j, &|| false, None) {
            Err(RunError::TooMuchOutput { limit: 1000, .. }) => {}
            other => panic!("{other:?}"),
        }
        let missing = PathBuf::from("/nonexistent/ffmpeg");
        match run(job(&missing, &[], Duration::from_secs(1)), &|| false, None) {
            Err(RunError::Start { name, .. }) => assert_eq!(name, "ffmpeg"),
            other => panic!("{other:?}"),
        }
        let p = dir.path().to_path_buf();
        drop(dir);
        assert!(!p.exists());
    }
}
