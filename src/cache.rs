//! One bounded cache, by bytes, of derived artifacts (audio segments, ...) keyed by their URI,
//! shared by every pipeline. Least recently used entries go first. Must not know about MCP.

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
    map: HashMap<String, Bytes>,
    order: VecDeque<String>,
    bytes: usize,
    hits: u64,
    misses: u64,
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

    pub fn get(&self, key: &str) -> Option<Bytes> {
        let mut g = self.lock();
        match g.map.get(key).cloned() {
            Some(v) => {
                g.hits += 1;
                if let Some(pos) = g.order.iter().position(|k| k == key) {
                    let k = g.order.remove(pos).expect("position is valid");
                    g.order.push_back(k);
                }
                Some(v)
            }
            None => {
                g.misses += 1;
                None
            }
        }
    }

    /// Stores `value` unless it alone exceeds the capacity; evicts the oldest to fit.
    pub fn put(&self, key: String, value: Bytes) {
        if value.len() > self.capacity {
            return;
        }
        let mut g = self.lock();
        if let Some(old) = g.map.remove(&key) {
            g.bytes -= old.len();
            g.order.retain(|k| *k != key);
        }
        while g.bytes + value.len() > self.capacity {
            let Some(k) = g.order.pop_front() else { break };
            if let Some(v) = g.map.remove(&k) {
                g.bytes -= v.len();
            }
        }
        g.bytes += value.len();
        g.order.push_back(key.clone());
        g.map.insert(key, value);
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

    #[test]
    fn bounded_by_bytes_lru() {
        let c = DerivedCache::new(10);
        c.put("a".into(), Bytes::from_static(b"aaaa"));
        c.put("b".into(), Bytes::from_static(b"bbbb"));
        assert!(c.get("a").is_some()); // a is now most recent
        c.put("c".into(), Bytes::from_static(b"cccc")); // evicts b
        assert!(c.get("b").is_none());
        assert!(c.get("a").is_some() && c.get("c").is_some());
        c.put("big".into(), Bytes::from(vec![0u8; 11]));
        assert!(c.get("big").is_none());
        assert!(c.stats().1 <= 10);
    }
}
