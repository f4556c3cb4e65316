//! One bounded cache, by bytes, of derived artifacts (audio segments, ...) keyed by their URI
//! and by the identity of the source file they were made from, shared by every pipeline.
//! A lookup names the source's current identity: an entry made from another version of the
//! file (rewritten, replaced, truncated) is a miss and is dropped, so stale bytes are never
//! served. Least recently used entries go first. Must not know about MCP or how identities are
//! found.

use crate::library::SourceId;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Default capacity: 256 MiB.
pub const DEFAULT_CAPACITY: usize = 256 * 1024 * 1024;

pub struct DerivedCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, (SourceId, Bytes)>,
    order: VecDeque<String>,
    bytes: usize,
    hits: u64,
    misses: u64,
}

impl Inner {
    fn remove(&mut self, key: &str) {
        if let Some((_, old)) = self.map.remove(key) {
            self.bytes -= old.len();
            self.order.retain(|k| k != key);
        }
    }
}

impl DerivedCache {
    pub fn new(capacity: usize) -> Self {
        DerivedCache {
            inner: Mutex::new(Inner::default()),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The artifact `key` made from the source as it is now (`source`); an entry made from
    /// another version of the source is dropped and reported as a miss.
    pub fn get(&self, key: &str, source: &SourceId) -> Option<Bytes> {
        let mut g = self.lock();
        match g.map.get(key) {
            Some((id, v)) if id == source => {
                let v = v.clone();
                g.hits += 1;
                if let Some(pos) = g.order.iter().position(|k| k == key)
                    && let Some(k) = g.order.remove(pos)
                {
                    g.order.push_back(k);
                }
                Some(v)
            }
            Some(_) => {
                g.remove(key);
                g.misses += 1;
                None
            }
            None => {
                g.misses += 1;
                None
            }
        }
    }

    /// Stores `value`, made from `source`, unless it alone exceeds the capacity; evicts the
    /// oldest to fit.
    pub fn put(&self, key: String, source: SourceId, value: Bytes) {
        if value.len() > self.capacity {
            return;
        }
        let mut g = self.lock();
        g.remove(&key);
        while g.bytes + value.len() > self.capacity {
            let Some(k) = g.order.pop_front() else { break };
            if let Some((_, v)) = g.map.remove(&k) {
                g.bytes -= v.len();
            }
        }
        g.bytes += value.len();
        g.order.push_back(key.clone());
        g.map.insert(key, (source, value));
    }

    /// The most bytes this cache holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// (entries, bytes, hits, misses)
    pub fn stats(&self) -> (usize, usize, u64, u64) {
        let g = self.lock();
        (g.map.len(), g.bytes, g.hits, g.misses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(size: u64) -> SourceId {
        SourceId {
            dev: 1,
            ino: 2,
            size,
            mtime_ns: 3,
        }
    }

    #[test]
    fn bounded_by_bytes_lru() {
        let c = DerivedCache::new(10);
        let s = id(1);
        c.put("a".into(), s, Bytes::from_static(b"aaaa"));
        c.put("b".into(), s, Bytes::from_static(b"bbbb"));
        assert!(c.get("a", &s).is_some()); // a is now most recent
        c.put("c".into(), s, Bytes::from_static(b"cccc")); // evicts b
        assert!(c.get("b", &s).is_none());
        assert!(c.get("a", &s).is_some() && c.get("c", &s).is_some());
        c.put("big".into(), s, Bytes::from(vec![0u8; 11]));
        assert!(c.get("big", &s).is_none());
        assert!(c.stats().1 <= 10);
    }

    #[test]
    fn an_entry_from_another_version_of_the_source_is_a_miss_and_is_dropped() {
        let c = DerivedCache::new(100);
        c.put("a".into(), id(1), Bytes::from_static(b"old"));
        assert_eq!(c.get("a", &id(1)).as_deref(), Some(&b"old"[..]));
        assert!(c.get("a", &id(2)).is_none(), "a rewritten source");
        assert_eq!(c.stats().0, 0, "the stale entry is gone");
        assert_eq!(c.stats().1, 0);
        assert!(c.get("a", &id(1)).is_none());
        c.put("a".into(), id(2), Bytes::from_static(b"new!"));
        assert_eq!(c.get("a", &id(2)).as_deref(), Some(&b"new!"[..]));
        assert_eq!(c.stats().1, 4);
    }
}
