//! Legacy-era (2025-11-25 and older) HTTP sessions: `Mcp-Session-Id` to a [`Connection`].
//! Ids are 256-bit random hex; sessions expire when idle and are capped in number; at the cap
//! the least recently used idle session makes room for a new one.

use crate::protocol::Frame;
use crate::server::Connection;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Events kept per POST-initiated SSE stream for replay (`Last-Event-ID`): at most this many...
pub const REPLAY_MAX_EVENTS: usize = 256;
/// ...and at most this many bytes; the oldest go first.
pub const REPLAY_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Replay logs kept per session (finished ones are dropped first): with the bounds above, a
/// session keeps at most 16 x 4 MiB = 64 MiB for replay.
pub const MAX_STREAM_LOGS: usize = 16;
/// Bytes kept for replay by all sessions together. Past it, the stream being written drops its
/// oldest events (all of them if need be); a client resuming from an evicted event id gets
/// what is left and the events that follow (with the final answer), never an error loop.
pub const REPLAY_TOTAL_BYTES: usize = 256 * 1024 * 1024;

/// Bytes held for replay across all sessions.
#[derive(Debug, Default)]
pub struct ReplayBudget {
    used: std::sync::atomic::AtomicUsize,
}

impl ReplayBudget {
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// The events of one SSE stream, so a client that lost the connection can resume it.
pub struct StreamLog {
    inner: Mutex<LogInner>,
    pub changed: tokio::sync::Notify,
    budget: Arc<ReplayBudget>,
}

impl Drop for StreamLog {
    fn drop(&mut self) {
        let bytes = self.lock().bytes;
        self.budget.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct LogInner {
    events: VecDeque<(u64, Frame)>,
    bytes: usize,
    next: u64,
    done: bool,
}

impl StreamLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn new(budget: Arc<ReplayBudget>) -> Self {
        StreamLog {
            inner: Mutex::new(LogInner::default()),
            changed: tokio::sync::Notify::new(),
            budget,
        }
    }

    /// Stores a framed event; returns its sequence number (from 1). The oldest events go
    /// first when this stream or all sessions together hold too much. An event with a
    /// streamed blob keeps the blob's open file, not its bytes (it is read again if replayed,
    /// and a file changed since ends the replaying body like the first sending); it counts
    /// against the bounds with its full length all the same, so the bounds also bound the
    /// files kept open.
    pub fn push(&self, frame: impl Into<Frame>) -> u64 {
        let frame = frame.into();
        let mut l = self.lock();
        l.next += 1;
        let seq = l.next;
        l.bytes += frame.len();
        self.budget.used.fetch_add(frame.len(), Ordering::Relaxed);
        l.events.push_back((seq, frame));
        // A stream keeps its newest event within its own bounds; past the total, not even that.
        while !l.events.is_empty()
            && (l.events.len() > REPLAY_MAX_EVENTS
                || (l.bytes > REPLAY_MAX_BYTES && l.events.len() > 1)
                || self.budget.used() > REPLAY_TOTAL_BYTES)
        {
            if let Some((_, f)) = l.events.pop_front() {
                l.bytes -= f.len();
                self.budget.used.fetch_sub(f.len(), Ordering::Relaxed);
            }
        }
        drop(l);
        self.changed.notify_waiters();
        seq
    }
    pub fn finish(&self) {
        self.lock().done = true;
        self.changed.notify_waiters();
    }
    /// Events after `seq`, and whether the stream has ended.
    pub fn after(&self, seq: u64) -> (Vec<(u64, Frame)>, bool) {
        let l = self.lock();
        (
            l.events.iter().filter(|(s, _)| *s > seq).cloned().collect(),
            l.done,
        )
    }
    pub fn is_done(&self) -> bool {
        self.lock().done
    }
}

pub struct Session {
    pub id: String,
    pub conn: Arc<Connection>,
    last_seen: Mutex<Instant>,
    /// The standalone GET stream, if one is open.
    pub get_stream: Mutex<Option<mpsc::Sender<Bytes>>>,
    streams: Mutex<HashMap<u64, Arc<StreamLog>>>,
    next_stream: AtomicU64,
    replay: Arc<ReplayBudget>,
}

impl Session {
    pub fn touch(&self) {
        *self.last_seen.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }
    /// Opens a replay log for a new SSE stream; returns its id.
    pub fn new_stream(&self) -> (u64, Arc<StreamLog>) {
        let id = self.next_stream.fetch_add(1, Ordering::Relaxed) + 1;
        let log = Arc::new(StreamLog::new(self.replay.clone()));
        let mut map = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_STREAM_LOGS {
            let victim = map
                .iter()
                .filter(|(_, l)| l.is_done())
                .map(|(k, _)| *k)
                .min()
                .or_else(|| map.keys().min().copied());
            if let Some(v) = victim {
                map.remove(&v);
            }
        }
        map.insert(id, log.clone());
        (id, log)
    }

    pub fn stream(&self, id: u64) -> Option<Arc<StreamLog>> {
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }

    /// Whether the session has a stream open or a request in flight (never evicted then).
    fn is_busy(&self) -> bool {
        self.conn.in_flight() > 0
            || self
                .get_stream
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .is_some_and(|s| !s.is_closed())
    }

    fn idle_for(&self) -> Duration {
        self.last_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }
}

pub struct Sessions {
    map: Mutex<HashMap<String, Arc<Session>>>,
    /// Most sessions alive at once.
    pub max: usize,
    /// Most sessions one authenticated subject may hold at once (sessions without a principal
    /// count only against `max`).
    pub max_per_subject: usize,
    /// Idle time after which a session is dropped.
    pub idle: Duration,
    /// Replay bytes held by all sessions.
    pub replay: Arc<ReplayBudget>,
}

fn new_id() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("OS random source");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Sessions {
    pub fn new(max: usize, idle: Duration) -> Self {
        Sessions {
            map: Mutex::new(HashMap::new()),
            max,
            max_per_subject: max,
            idle,
            replay: Arc::new(ReplayBudget::default()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A table whose subjects may hold at most `n` sessions each.
    pub fn with_max_per_subject(mut self, n: usize) -> Self {
        self.max_per_subject = n.max(1);
        self
    }

    /// Registers a session for `conn`. When the cap is reached (after expiring idle ones), the
    /// least recently used session that has nothing open (no GET stream, no request in flight)
    /// is evicted: its client gets 404 next time and re-initializes, as the spec says. An
    /// authenticated subject at its own cap ([`Sessions::max_per_subject`]) evicts its own
    /// least recently used idle session the same way, never another subject's. `None` when
    /// every candidate is busy. The `bool` says whether a session was evicted.
    pub fn insert(&self, conn: Arc<Connection>) -> Option<(Arc<Session>, bool)> {
        let mut map = self.map();
        let idle = self.idle;
        // Expire idle sessions (a busy one, with a stream open or a request running, stays).
        map.retain(|_, s| {
            let keep = s.is_busy() || s.idle_for() < idle;
            if !keep {
                s.conn.cancel_all();
            }
            keep
        });
        let mut evicted = false;
        let subject = conn.subject();
        let same = |s: &Session| subject.is_some() && s.conn.subject() == subject;
        let own = map.values().filter(|s| same(s)).count();
        let over_subject = subject.is_some() && own >= self.max_per_subject;
        if over_subject || map.len() >= self.max {
            let victim = map
                .iter()
                .filter(|(_, s)| !s.is_busy() && (!over_subject || same(s)))
                .max_by_key(|(_, s)| s.idle_for())
                .map(|(k, _)| k.clone());
            let v = victim?;
            if let Some(s) = map.remove(&v) {
                tracing::info!(idle = ?s.idle_for(), "evicted the least recently used legacy session");
                s.conn.cancel_all();
            }
            evicted = true;
        }
        let s = Arc::new(Session {
            id: new_id(),
            conn,
            last_seen: Mutex::new(Instant::now()),
            get_stream: Mutex::new(None),
            streams: Mutex::new(HashMap::new()),
            next_stream: AtomicU64::new(0),
            replay: self.replay.clone(),
        });
        map.insert(s.id.clone(), s.clone());
        Some((s, evicted))
    }

    /// The session `id`, if it was opened without authorization.
    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.get_as(id, None)
    }

    /// The session `id` if it belongs to `subject` (`None`: a session opened without
    /// authorization). A session id presented with another subject's token is not found (and
    /// not touched): a leaked id alone is worthless.
    pub fn get_as(&self, id: &str, subject: Option<&str>) -> Option<Arc<Session>> {
        let mut map = self.map();
        let s = map.get(id)?.clone();
        if s.conn.subject().as_deref() != subject {
            return None;
        }
        if s.idle_for() >= self.idle && !s.is_busy() {
            map.remove(id);
            s.conn.cancel_all();
            return None;
        }
        s.touch();
        Some(s)
    }

    /// Ends the session `id` if it belongs to `subject` (see [`Sessions::get_as`]).
    pub fn remove_as(&self, id: &str, subject: Option<&str>) -> bool {
        let mut map = self.map();
        if map
            .get(id)
            .is_none_or(|s| s.conn.subject().as_deref() != subject)
        {
            return false;
        }
        match map.remove(id) {
            Some(s) => {
                s.conn.cancel_all();
                true
            }
            None => false,
        }
    }

    pub fn remove(&self, id: &str) -> bool {
        match self.map().remove(id) {
            Some(s) => {
                s.conn.cancel_all();
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&self) {
        for (_, s) in self.map().drain() {
            s.conn.cancel_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One MiB, shared: pushing it many times costs no memory in the test.
    fn mib() -> Bytes {
        Bytes::from(vec![0u8; 1024 * 1024])
    }

    #[test]
    fn a_stream_keeps_at_most_its_bounds_and_gives_bytes_back_when_dropped() {
        let budget = Arc::new(ReplayBudget::default());
        let log = StreamLog::new(budget.clone());
        for _ in 0..10 {
            log.push(mib());
        }
        let (kept, _) = log.after(0);
        assert_eq!(kept.len(), REPLAY_MAX_BYTES / (1024 * 1024));
        assert_eq!(
            kept.last().map(|(s, _)| *s),
            Some(10),
            "the newest are kept"
        );
        assert_eq!(budget.used(), REPLAY_MAX_BYTES);
        drop(log);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn a_subject_at_its_cap_evicts_its_own_sessions_only() {
        use crate::server::Principal;
        let sessions = Sessions::new(100, Duration::from_secs(60)).with_max_per_subject(2);
        let of = |who: &str| {
            Arc::new(Connection::authenticated(Principal {
                subject: who.into(),
                scopes: vec![],
            }))
        };
        let (b, _) = sessions.insert(of("bob")).expect("bob's session");
        let (a1, e1) = sessions.insert(of("alice")).expect("alice 1");
        let (a2, e2) = sessions.insert(of("alice")).expect("alice 2");
        assert!(!e1 && !e2, "room for two each");
        // Alice's third evicts her own oldest idle session, not Bob's.
        let (a3, e3) = sessions.insert(of("alice")).expect("alice 3");
        assert!(e3);
        let (alice, bob) = (Some("alice"), Some("bob"));
        assert!(
            sessions.get_as(&a1.id, alice).is_none(),
            "alice's oldest is gone"
        );
        assert!(
            sessions.get_as(&a2.id, alice).is_some() && sessions.get_as(&a3.id, alice).is_some()
        );
        assert!(
            sessions.get_as(&b.id, bob).is_some(),
            "bob keeps his session"
        );
        // A session answers only to its subject (and to no one without a token).
        assert!(sessions.get_as(&b.id, alice).is_none());
        assert!(sessions.get(&b.id).is_none());
        assert!(!sessions.remove_as(&b.id, alice));
        assert!(sessions.get_as(&b.id, bob).is_some(), "still there");
        // Unauthenticated sessions count only against the total.
        for _ in 0..5 {
            assert!(
                !sessions
                    .insert(Arc::new(Connection::new()))
                    .expect("anon")
                    .1
            );
        }
        // When all of a subject's sessions are busy, its next one is refused, others are not.
        let busy = |s: &Session| {
            let (tx, rx) = mpsc::channel(1);
            *s.get_stream.lock().unwrap() = Some(tx);
            rx
        };
        let (_g2, _g3) = (busy(&a2), busy(&a3));
        assert!(
            sessions.insert(of("alice")).is_none(),
            "alice is at her cap, all busy"
        );
        assert!(sessions.insert(of("bob")).is_some(), "bob is not");
    }

    #[test]
    fn all_sessions_together_stay_within_the_total() {
        let sessions = Sessions::new(1000, Duration::from_secs(60));
        let mut logs = vec![];
        for _ in 0..100 {
            let (s, _) = sessions
                .insert(Arc::new(Connection::new()))
                .expect("room for a session");
            let (_, log) = s.new_stream();
            for _ in 0..4 {
                log.push(mib());
            }
            logs.push(log);
        }
        let used = sessions.replay.used();
        assert!(used <= REPLAY_TOTAL_BYTES, "{used} bytes held for replay");
        assert!(used >= REPLAY_TOTAL_BYTES / 2, "{used}: replay still works");
        // Once the other sessions are gone, a stream that lost its events follows on: the next
        // event is kept and numbered on.
        let last = logs.pop().expect("logs");
        drop(logs);
        sessions.clear();
        assert_eq!(sessions.replay.used(), 0, "the budget comes back");
        let seq = last.push(Bytes::from_static(b"next"));
        assert_eq!(seq, 5);
        assert_eq!(last.after(4).0.len(), 1);
    }
}
