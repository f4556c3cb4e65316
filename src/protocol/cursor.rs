//! Opaque pagination cursors: `base64url("v1:<scope>:<offset>")`.
//!
//! The scope names the list the cursor belongs to (and, for filtered lists, a digest of the
//! filter), so a cursor from one list is refused by another. Anything that does not decode to
//! this shape is an invalid cursor (`-32602`). Pure functions; no I/O.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Makes the cursor for the page starting at `offset` of the list `scope`.
pub fn encode(scope: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{scope}:{offset}"))
}

/// Reads a cursor of list `scope`; `None` if it is malformed or belongs to another list.
pub fn decode(scope: &str, cursor: &str) -> Option<usize> {
    if cursor.len() > 512 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let rest = text.strip_prefix("v1:")?;
    let (sc, off) = rest.rsplit_once(':')?;
    if sc != scope {
        return None;
    }
    off.parse().ok()
}

/// A small stable digest of a filter, for scoping cursors of filtered lists (FNV-1a 64).
pub fn digest(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

/// Slices `len` items into the page at `offset` of size `page`; returns the range and the next
/// offset if there is more.
pub fn page(len: usize, offset: usize, page: usize) -> (std::ops::Range<usize>, Option<usize>) {
    let start = offset.min(len);
    let end = start.saturating_add(page.max(1)).min(len);
    (start..end, (end < len).then_some(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_scope() {
        let c = encode("resources", 200);
        assert_eq!(decode("resources", &c), Some(200));
        assert_eq!(decode("tools", &c), None);
        assert_eq!(decode("resources", "garbage!"), None);
        assert_eq!(decode("resources", ""), None);
        assert_eq!(page(5, 0, 2), (0..2, Some(2)));
        assert_eq!(page(5, 4, 2), (4..5, None));
    }
}
