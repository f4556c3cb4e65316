//! DNS-rebinding protection: `Host` and `Origin` validation (403 on failure).
//!
//! When the server is bound to a loopback address, `Host` must name a loopback host
//! (`localhost`, `127.0.0.1`, `[::1]`, any port) or one of `--allow-host`. A present `Origin`
//! must be a loopback origin (when bound to loopback) or one of `--allow-origin`. Requests
//! without `Origin` (non-browser clients) pass the Origin check.

/// Allow-lists for `Host` and `Origin`.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    pub loopback: bool,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
}

fn host_name(hostport: &str) -> &str {
    if let Some(rest) = hostport.strip_prefix('[') {
        // [v6]:port
        return rest
            .split(']')
            .next()
            .map_or(hostport, |h| &hostport[..h.len() + 2]);
    }
    hostport.rsplit_once(':').map_or(hostport, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            hostport
        }
    })
}

fn is_loopback_name(h: &str) -> bool {
    matches!(
        h.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "[::1]"
    )
}

impl Guard {
    /// Ok, or the reason for a 403.
    pub fn check(&self, host: Option<&str>, origin: Option<&str>) -> Result<(), String> {
        if self.loopback || !self.allowed_hosts.is_empty() {
            let Some(host) = host else {
                return Err("missing Host header".into());
            };
            let name = host_name(host.trim());
            let ok = (self.loopback && is_loopback_name(name))
                || self
                    .allowed_hosts
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(host) || a.eq_ignore_ascii_case(name));
            if !ok {
                return Err(format!("Host {host:?} is not allowed"));
            }
        }
        if let Some(origin) = origin {
            let o = origin.trim();
            let ok = self
                .allowed_origins
                .iter()
                .any(|a| a == "*" || a.eq_ignore_ascii_case(o))
                || (self.loopback
                    && o.split_once("://").is_some_and(|(scheme, rest)| {
                        matches!(scheme, "http" | "https")
                            && is_loopback_name(host_name(rest.trim_end_matches('/')))
                    }));
            if !ok {
                return Err(format!("Origin {origin:?} is not allowed"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_rules() {
        let g = Guard {
            loopback: true,
            ..Default::default()
        };
        assert!(g.check(Some("localhost:3000"), None).is_ok());
        assert!(
            g.check(Some("127.0.0.1"), Some("http://localhost:5173"))
                .is_ok()
        );
        assert!(
            g.check(Some("[::1]:8080"), Some("http://[::1]:8080"))
                .is_ok()
        );
        assert!(g.check(Some("evil.example.com"), None).is_err());
        assert!(
            g.check(Some("localhost:3000"), Some("http://evil.example.com"))
                .is_err()
        );
        assert!(g.check(None, None).is_err());
        let g = Guard {
            loopback: false,
            allowed_hosts: vec!["media.example.com".into()],
            allowed_origins: vec!["https://app.example.com".into()],
        };
        assert!(
            g.check(
                Some("media.example.com:443"),
                Some("https://app.example.com")
            )
            .is_ok()
        );
        assert!(g.check(Some("other.example.com"), None).is_err());
        let open = Guard::default();
        assert!(open.check(Some("anything"), None).is_ok());
        assert!(open.check(Some("anything"), Some("https://x")).is_err());
    }
}
