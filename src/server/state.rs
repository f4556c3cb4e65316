//! Protection of the MRTR `requestState` (2026-07-28): the state a tool hands out comes back
//! from an untrusted client, so it leaves sealed with HMAC-SHA256 under a per-process key and
//! bound to the method, the tool or prompt name and an expiry; anything else is refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a sealed state stays valid.
pub const STATE_TTL: Duration = Duration::from_secs(600);

type HmacSha256 = Hmac<Sha256>;

pub struct StateKey([u8; 32]);

impl StateKey {
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).expect("OS random source");
        StateKey(k)
    }

    fn mac(&self, data: &[u8]) -> HmacSha256 {
        let mut m =
            <HmacSha256 as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(data);
        m
    }

    pub fn seal(&self, method: &str, name: &str, plain: &str) -> String {
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(STATE_TTL)
            .as_secs();
        let payload = json!({"m": method, "n": name, "s": plain, "e": exp}).to_string();
        let tag = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The plain state, if `token` is authentic, unexpired and bound to `method` and `name`.
    pub fn open(&self, method: &str, name: &str, token: &str) -> Option<String> {
        let (p, t) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(p).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(t).ok()?;
        self.mac(&payload).verify_slice(&tag).ok()?;
        let v: Value = serde_json::from_slice(&payload).ok()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        if v["m"] != method || v["n"] != name || v["e"].as_u64()? < now {
            return None;
        }
        v["s"].as_str().map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_tamper() {
        let k = StateKey::random();
        let s = k.seal("tools/call", "t", "step-1");
        assert_eq!(k.open("tools/call", "t", &s).as_deref(), Some("step-1"));
        assert_eq!(k.open("tools/call", "other", &s), None);
        assert_eq!(k.open("prompts/get", "t", &s), None);
        let mut bad = s.clone().into_bytes();
        bad[3] ^= 1;
        assert_eq!(
            k.open("tools/call", "t", &String::from_utf8(bad).unwrap()),
            None
        );
        assert_eq!(StateKey::random().open("tools/call", "t", &s), None);
        assert_eq!(k.open("tools/call", "t", "garbage"), None);
    }
}
