//! Prometheus-format counters for `/metrics`: requests by MCP method and HTTP status, requests
//! in flight, bytes sent, stream cancellations, refusals by authorization and per-subject limits.

use super::authz::Refusal;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Client notifications counted under their own label.
const NOTIFICATIONS: &[&str] = &[
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
];

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    pub in_flight: AtomicI64,
    pub bytes_sent: AtomicU64,
    pub cancellations: AtomicU64,
    pub connections: AtomicI64,
    /// Requests whose body arrived too slowly (deadline or minimum rate) and were refused.
    pub slow_bodies: AtomicU64,
    /// Legacy sessions evicted to make room for new ones.
    pub sessions_evicted: AtomicU64,
    /// Requests refused by authorization or per-subject limits, by [`Refusal`].
    refusals: [AtomicU64; Refusal::ALL.len()],
}

impl Metrics {
    /// Counts one request refused by authorization or a per-subject limit.
    pub(super) fn refused(&self, why: Refusal) {
        self.refusals[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self, method: &str, status: u16) {
        // Bound label cardinality: a fixed set of labels; anything else counts as "other".
        let known = method.is_empty()
            || crate::server::is_known_method(method)
            || NOTIFICATIONS.contains(&method)
            || matches!(method, "GET" | "DELETE" | "batch" | "response");
        let m = if known { method } else { "other" };
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((m.to_string(), status))
            .or_default() += 1;
    }

    pub fn render(
        &self,
        sessions: usize,
        replay_bytes: usize,
        jobs: &crate::server::JobStats,
    ) -> String {
        let mut s = String::new();
        s.push_str("# HELP mcp_media_requests_total MCP HTTP requests by method and status.\n# TYPE mcp_media_requests_total counter\n");
        for ((m, st), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                s,
                "mcp_media_requests_total{{method=\"{m}\",status=\"{st}\"}} {n}"
            );
        }
        let _ = writeln!(
            s,
            "# TYPE mcp_media_in_flight gauge\nmcp_media_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# TYPE mcp_media_bytes_sent_total counter\nmcp_media_bytes_sent_total {}",
            self.bytes_sent.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# TYPE mcp_media_stream_cancellations_total counter\nmcp_media_stream_cancellations_total {}",
            self.cancellations.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# TYPE mcp_media_connections gauge\nmcp_media_connections {}",
            self.connections.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# TYPE mcp_media_sessions gauge\nmcp_media_sessions {sessions}"
        );
        let _ = writeln!(
            s,
            "# HELP mcp_media_replay_bytes Bytes kept by all legacy sessions to replay SSE streams.\n# TYPE mcp_media_replay_bytes gauge\nmcp_media_replay_bytes {replay_bytes}"
        );
        let _ = writeln!(
            s,
            "# HELP mcp_media_sessions_evicted_total Idle legacy sessions evicted to admit new ones.\n# TYPE mcp_media_sessions_evicted_total counter\nmcp_media_sessions_evicted_total {}",
            self.sessions_evicted.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP mcp_media_slow_bodies_total Requests refused because their body arrived too slowly.\n# TYPE mcp_media_slow_bodies_total counter\nmcp_media_slow_bodies_total {}",
            self.slow_bodies.load(Ordering::Relaxed)
        );
        s.push_str("# HELP mcp_media_refused_total Requests refused by authorization (401, 403, 503) or per-subject limits (429), by reason.\n# TYPE mcp_media_refused_total counter\n");
        for r in Refusal::ALL {
            let _ = writeln!(
                s,
                "mcp_media_refused_total{{reason=\"{}\"}} {}",
                r.label(),
                self.refusals[r as usize].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            s,
            "# TYPE mcp_media_jobs_running gauge\nmcp_media_jobs_running {}",
            jobs.running.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP mcp_media_jobs_waiting Jobs waiting for a permit (their client's share or the pool's).\n# TYPE mcp_media_jobs_waiting gauge\nmcp_media_jobs_waiting {}",
            jobs.waiting.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP mcp_media_jobs_cancelled_total Tool jobs stopped early by cancellation or a closed stream.\n# TYPE mcp_media_jobs_cancelled_total counter\nmcp_media_jobs_cancelled_total {}",
            jobs.cancelled.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# TYPE mcp_media_jobs_completed_total counter\nmcp_media_jobs_completed_total {}",
            jobs.completed.load(Ordering::Relaxed)
        );
        s
    }
}
