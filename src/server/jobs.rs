//! Blocking work (tool calls, file reads, scans, rendering) runs here, on tokio's blocking
//! pool, bounded by permits server-wide, in two classes so that cheap requests never queue
//! behind expensive ones: [`Class::Light`] (lists, probes, plain reads, prompts, completion)
//! and [`Class::Heavy`] (transcodes, renders, long tool calls), each with its own permits.
//! Heavy work is also shared fairly between clients: one client (a stdio process, a legacy
//! session, a peer address, later an authenticated subject) runs at most `per_client` heavy
//! jobs at once, so hundreds of transcodes from one client leave room for everyone else.
//!
//! A job holds its permit until its blocking work really ends: a request that is cancelled
//! stops waiting at once, but the permit stays taken until the work notices the cancellation
//! (within one chunk) and returns, so the bound holds for work, not for waiters. A panic in a
//! job becomes an error, never a crashed server. Must not know about transports or tools.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};
use thiserror::Error;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// Default permits: twice the CPU count (jobs also wait on I/O and on clients).
pub fn default_permits() -> usize {
    std::thread::available_parallelism().map_or(4, |n| n.get() * 2)
}

/// Which pool a job runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Quick, bounded work: lists, probes, plain reads, prompts, completion.
    Light,
    /// Work whose cost grows with the request: transcodes, renders, long tool calls.
    Heavy,
}

/// Most clients remembered for fairness at once; idle ones are forgotten first.
const MAX_CLIENTS_TRACKED: usize = 4096;

/// Counters of the jobs, for `/metrics` and for proving cancellation.
#[derive(Debug, Default)]
pub struct JobStats {
    /// Jobs running now (holding a permit and executing).
    pub running: AtomicI64,
    /// Jobs waiting for a permit (their client's share or the pool's).
    pub waiting: AtomicI64,
    /// Jobs that ended after their request was cancelled or its stream closed.
    pub cancelled: AtomicU64,
    /// Jobs that ended while their request was still wanted.
    pub completed: AtomicU64,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum JobError {
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("the operation failed unexpectedly")]
    Panicked,
    /// The work did not end within the time its caller allowed ([`Jobs::run_within`]); it
    /// keeps its permit until it does end.
    #[error("the operation did not finish within {0:?}")]
    Overdue(std::time::Duration),
}

/// Counts a job as waiting until dropped (also when its request goes away while it waits).
struct Waiting<'a>(&'a JobStats);

impl<'a> Waiting<'a> {
    fn new(stats: &'a JobStats) -> Self {
        stats.waiting.fetch_add(1, Relaxed);
        Waiting(stats)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Relaxed);
    }
}

/// The bounded pools of blocking work.
pub struct Jobs {
    heavy: Arc<Semaphore>,
    light: Arc<Semaphore>,
    per_client: usize,
    clients: Mutex<HashMap<String, Weak<Semaphore>>>,
    stats: Arc<JobStats>,
}

impl Jobs {
    /// `permits` heavy jobs at once (and as many light ones), at most `per_client` heavy ones
    /// per client.
    pub fn new(permits: usize, per_client: usize) -> Self {
        let size = permits.max(1);
        Jobs {
            heavy: Arc::new(Semaphore::new(size)),
            light: Arc::new(Semaphore::new(size)),
            per_client: per_client.clamp(1, size),
            clients: Mutex::new(HashMap::new()),
            stats: Arc::new(JobStats::default()),
        }
    }

    pub fn stats(&self) -> &JobStats {
        &self.stats
    }

    /// Heavy permits free now.
    pub fn available(&self) -> usize {
        self.heavy.available_permits()
    }

    /// The semaphore bounding `client`'s heavy jobs.
    fn client_share(&self, client: &str) -> Arc<Semaphore> {
        let mut map = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(client).and_then(Weak::upgrade) {
            return s;
        }
        if map.len() >= MAX_CLIENTS_TRACKED {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let s = Arc::new(Semaphore::new(self.per_client));
        map.insert(client.to_string(), Arc::downgrade(&s));
        s
    }

    /// Runs `f` on the blocking pool of `class` once a permit is free (for heavy work, once
    /// `client` also has a share free). `token` is the request's: if it is cancelled by the
    /// time `f` returns, the job counts as cancelled. Dropping the returned future stops the
    /// wait, not the work: the permits are released when `f` returns.
    pub async fn run<T, F>(
        &self,
        token: &CancellationToken,
        class: Class,
        client: &str,
        f: F,
    ) -> Result<T, JobError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.run_within(token, class, client, None, f).await
    }

    /// [`Jobs::run`], but once `f` has started (the wait for a permit does not count), its
    /// caller waits at most `within` for it: past that the answer is [`JobError::Overdue`]
    /// while `f` goes on holding its permit. For work that may block where nothing can
    /// interrupt it (a read stuck inside the kernel on a network file system that stopped
    /// answering): the client gets its answer at the deadline, and the permits bound how many
    /// such threads can be stuck at once.
    pub async fn run_within<T, F>(
        &self,
        token: &CancellationToken,
        class: Class,
        client: &str,
        within: Option<std::time::Duration>,
        f: F,
    ) -> Result<T, JobError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let waiting = Waiting::new(&self.stats);
        let permit = self.acquire(class, client).await?;
        drop(waiting);
        let stats = self.stats.clone();
        let token = token.clone();
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            stats.running.fetch_add(1, Relaxed);
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            stats.running.fetch_sub(1, Relaxed);
            if token.is_cancelled() {
                stats.cancelled.fetch_add(1, Relaxed);
            } else {
                stats.completed.fetch_add(1, Relaxed);
            }
            out
        });
        let joined = match within {
            None => work.await,
            Some(limit) => match tokio::time::timeout(limit, work).await {
                Ok(joined) => joined,
                Err(_) => {
                    tracing::warn!(
                        ?limit,
                        "a blocking job is overdue; answering now, its permit stays taken until it ends"
                    );
                    return Err(JobError::Overdue(limit));
                }
            },
        };
        joined
            .map_err(|e| {
                tracing::error!(error = %e, "a blocking job could not be joined");
                JobError::Panicked
            })?
            .map_err(|p| {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(panic = %what, "a blocking job panicked");
                JobError::Panicked
            })
    }

    /// The permits a job of `class` from `client` holds while it runs.
    async fn acquire(
        &self,
        class: Class,
        client: &str,
    ) -> Result<(Option<OwnedSemaphorePermit>, OwnedSemaphorePermit), JobError> {
        let closed = |_| JobError::ShuttingDown;
        match class {
            Class::Light => Ok((
                None,
                self.light.clone().acquire_owned().await.map_err(closed)?,
            )),
            Class::Heavy => {
                let share = self
                    .client_share(client)
                    .acquire_owned()
                    .await
                    .map_err(closed)?;
                let pool = self.heavy.clone().acquire_owned().await.map_err(closed)?;
                Ok((Some(share), pool))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_job_keeps_its_permit_until_its_work_ends() {
        let jobs = Arc::new(Jobs::new(1, 1));
        let token = CancellationToken::new();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let first_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let fut = {
            let (jobs, token, done) = (jobs.clone(), token.clone(), first_done.clone());
            tokio::spawn(async move {
                jobs.run(&token, Class::Heavy, "a", move || {
                    let _ = started_tx.send(());
                    let _ = release_rx.recv();
                    done.store(true, std::sync::atomic::Ordering::SeqCst);
                })
                .await
            })
        };
        started_rx.await.expect("the job started");
        // The request is cancelled and stops waiting; its work goes on.
        token.cancel();
        fut.abort();
        let _ = fut.await;
        assert_eq!(
            jobs.available(),
            0,
            "the permit is held while the work runs"
        );
        assert_eq!(jobs.stats().running.load(Relaxed), 1);
        // A second job must wait for the first one's work to end: when it runs, the first
        // has finished.
        let second = {
            let (jobs, done) = (jobs.clone(), first_done.clone());
            tokio::spawn(async move {
                jobs.run(&CancellationToken::new(), Class::Heavy, "b", move || {
                    done.load(std::sync::atomic::Ordering::SeqCst)
                })
                .await
            })
        };
        release_tx.send(()).expect("the job is waiting");
        assert_eq!(second.await.expect("joined"), Ok(true));
        assert_eq!(jobs.available(), 1);
        assert_eq!(jobs.stats().cancelled.load(Relaxed), 1);
        assert_eq!(jobs.stats().completed.load(Relaxed), 1);
        assert_eq!(jobs.stats().running.load(Relaxed), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_client_cannot_take_every_heavy_permit_and_light_work_never_waits() {
        let jobs = Arc::new(Jobs::new(2, 1));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let a1 = {
            let jobs = jobs.clone();
            tokio::spawn(async move {
                jobs.run(&CancellationToken::new(), Class::Heavy, "a", move || {
                    let _ = started_tx.send(());
                    let _ = release_rx.recv();
                })
                .await
            })
        };
        started_rx.await.expect("a1 started");
        // A's second heavy job waits for A's share...
        let a2 = {
            let jobs = jobs.clone();
            tokio::spawn(async move {
                jobs.run(&CancellationToken::new(), Class::Heavy, "a", || "a2")
                    .await
            })
        };
        // (Wait until it is really waiting: a hang here becomes a test timeout.)
        while jobs.stats().waiting.load(Relaxed) != 1 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        // ...while B's heavy job and anyone's light job run now.
        let b = jobs
            .run(&CancellationToken::new(), Class::Heavy, "b", || "b")
            .await;
        assert_eq!(b, Ok("b"));
        let light = jobs
            .run(&CancellationToken::new(), Class::Light, "a", || "light")
            .await;
        assert_eq!(light, Ok("light"));
        assert_eq!(jobs.stats().waiting.load(Relaxed), 1, "a2 still waits");
        release_tx.send(()).expect("a1 waits");
        assert_eq!(a1.await.expect("joined"), Ok(()));
        assert_eq!(a2.await.expect("joined"), Ok("a2"));
        assert_eq!(jobs.stats().waiting.load(Relaxed), 0);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_frees_its_permit() {
        let jobs = Jobs::new(1, 1);
        let r: Result<(), _> = jobs
            .run(&CancellationToken::new(), Class::Heavy, "a", || {
                panic!("boom")
            })
            .await;
        assert_eq!(r, Err(JobError::Panicked));
        assert_eq!(jobs.available(), 1);
    }
}
