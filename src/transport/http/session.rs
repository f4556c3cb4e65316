//! Legacy-era (2025-11-25 and older) HTTP sessions: `Mcp-Session-Id` to a [`Connection`].
//! Ids are 256-bit random hex; sessions expire when idle and are capped in number.

use crate::server::Connection;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub struct Session {
    pub id: String,
    pub conn: Arc<Connection>,
    last_seen: Mutex<Instant>,
    /// The standalone GET stream, if one is open.
    pub get_stream: Mutex<Option<mpsc::Sender<Bytes>>>,
}

impl Session {
    pub fn touch(&self) {
        *self.last_seen.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
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
    /// Idle time after which a session is dropped.
    pub idle: Duration,
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
            idle,
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a session for `conn`; None when the cap is reached (after expiring idle ones).
    pub fn insert(&self, conn: Arc<Connection>) -> Option<Arc<Session>> {
        let mut map = self.map();
        let idle = self.idle;
        map.retain(|_, s| s.idle_for() < idle);
        if map.len() >= self.max {
            return None;
        }
        let s = Arc::new(Session {
            id: new_id(),
            conn,
            last_seen: Mutex::new(Instant::now()),
            get_stream: Mutex::new(None),
        });
        map.insert(s.id.clone(), s.clone());
        Some(s)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        let mut map = self.map();
        let s = map.get(id)?.clone();
        if s.idle_for() >= self.idle {
            map.remove(id);
            s.conn.cancel_all();
            return None;
        }
        s.touch();
        Some(s)
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
