//! Blocking work (tool calls, file reads, scans, rendering) runs here, on tokio's blocking
//! pool, bounded by a fixed number of permits server-wide.
//!
//! A job holds its permit until its blocking work really ends: a request that is cancelled
//! stops waiting at once, but the permit stays taken until the work notices the cancellation
//! (within one chunk) and returns, so the bound holds for work, not for waiters. A panic in a
//! job becomes an error, never a crashed server. Must not know about transports or tools.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use thiserror::Error;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Default permits: twice the CPU count (jobs also wait on I/O and on clients).
pub fn default_permits() -> usize {
    std::thread::available_parallelism().map_or(4, |n| n.get() * 2)
}

/// Counters of the jobs, for `/metrics` and for proving cancellation.
#[derive(Debug, Default)]
pub struct JobStats {
    /// Jobs running now (holding a permit and executing).
    pub running: AtomicI64,
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
}

/// The bounded pool of blocking work.
pub struct Jobs {
    permits: Arc<Semaphore>,
    size: usize,
    stats: Arc<JobStats>,
}

impl Jobs {
    pub fn new(permits: usize) -> Self {
        let size = permits.max(1);
        Jobs {
            permits: Arc::new(Semaphore::new(size)),
            size,
            stats: Arc::new(JobStats::default()),
        }
    }

    pub fn stats(&self) -> &JobStats {
        &self.stats
    }

    /// Permits free now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Permits in all.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `f` on the blocking pool once a permit is free. `token` is the request's: if it is
    /// cancelled by the time `f` returns, the job counts as cancelled. Dropping the returned
    /// future stops the wait, not the work: the permit is released when `f` returns.
    pub async fn run<T, F>(&self, token: &CancellationToken, f: F) -> Result<T, JobError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| JobError::ShuttingDown)?;
        let stats = self.stats.clone();
        let token = token.clone();
        tokio::task::spawn_blocking(move || {
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
        })
        .await
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

    /// Refuses new jobs (waiters get [`JobError::ShuttingDown`]); running ones go on.
    pub fn close(&self) {
        self.permits.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_job_keeps_its_permit_until_its_work_ends() {
        let jobs = Arc::new(Jobs::new(1));
        let token = CancellationToken::new();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let first_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let fut = {
            let (jobs, token, done) = (jobs.clone(), token.clone(), first_done.clone());
            tokio::spawn(async move {
                jobs.run(&token, move || {
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
                jobs.run(&CancellationToken::new(), move || {
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

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_frees_its_permit() {
        let jobs = Jobs::new(1);
        let r: Result<(), _> = jobs.run(&CancellationToken::new(), || panic!("boom")).await;
        assert_eq!(r, Err(JobError::Panicked));
        assert_eq!(jobs.available(), 1);
    }
}
