//! Protocol revisions and what each one's wire format allows.
//!
//! Every "does this version have field X" question is answered here, so rendering code never
//! compares version strings. Must not know about transports, tools or media.

use std::fmt;

/// One published MCP revision. Ordered oldest to newest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    V2024_11_05,
    V2025_03_26,
    V2025_06_18,
    V2025_11_25,
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every revision we serve, newest first (the order `server/discover` reports).
    pub const ALL: [ProtocolVersion; 5] = [
        ProtocolVersion::V2026_07_28,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2024_11_05,
    ];
    /// The newest revision that uses the `initialize` handshake.
    pub const LATEST_LEGACY: ProtocolVersion = ProtocolVersion::V2025_11_25;
    /// The newest revision.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2026_07_28;

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "2024-11-05" => Self::V2024_11_05,
            "2025-03-26" => Self::V2025_03_26,
            "2025-06-18" => Self::V2025_06_18,
            "2025-11-25" => Self::V2025_11_25,
            "2026-07-28" => Self::V2026_07_28,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// Modern (stateless, per-request `_meta`) revisions: 2026-07-28 and later.
    pub fn is_modern(self) -> bool {
        self >= Self::V2026_07_28
    }
    /// `AudioContent` exists (2025-03-26+).
    pub fn has_audio_content(self) -> bool {
        self >= Self::V2025_03_26
    }
    /// Tool annotations exist (2025-03-26+).
    pub fn has_tool_annotations(self) -> bool {
        self >= Self::V2025_03_26
    }
    /// `resource_link`, `title`, `outputSchema`/`structuredContent`, `annotations.lastModified`
    /// (2025-06-18+).
    pub fn has_resource_links(self) -> bool {
        self >= Self::V2025_06_18
    }
    pub fn has_titles(self) -> bool {
        self >= Self::V2025_06_18
    }
    /// `Implementation.description` (`serverInfo`) exists (2025-11-25+).
    pub fn has_implementation_description(self) -> bool {
        self >= Self::V2025_11_25
    }
    pub fn has_structured_content(self) -> bool {
        self >= Self::V2025_06_18
    }
    pub fn has_last_modified(self) -> bool {
        self >= Self::V2025_06_18
    }
    /// `structuredContent` may be any JSON value, not only an object (2026-07-28+).
    pub fn allows_non_object_structured(self) -> bool {
        self.is_modern()
    }
    /// `completion/complete` accepts `context` (2025-06-18+). Informational.
    pub fn has_completion_context(self) -> bool {
        self >= Self::V2025_06_18
    }
    /// JSON-RPC batches must be accepted (2025-03-26 only; tolerated for 2024-11-05).
    pub fn accepts_batches(self) -> bool {
        matches!(self, Self::V2024_11_05 | Self::V2025_03_26)
    }
    /// `progress` notifications may carry `message` (2025-03-26+).
    pub fn has_progress_message(self) -> bool {
        self >= Self::V2025_03_26
    }
    /// Elicitation exists as a server-to-client request (2025-06-18+).
    pub fn has_elicitation(self) -> bool {
        self >= Self::V2025_06_18
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// All supported version strings, newest first.
pub fn supported_version_strings() -> Vec<&'static str> {
    ProtocolVersion::ALL.iter().map(|v| v.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_orders() {
        for v in ProtocolVersion::ALL {
            assert_eq!(ProtocolVersion::parse(v.as_str()), Some(v));
        }
        assert!(ProtocolVersion::V2024_11_05 < ProtocolVersion::V2026_07_28);
        assert_eq!(ProtocolVersion::parse("1900-01-01"), None);
        assert!(ProtocolVersion::V2026_07_28.is_modern());
        assert!(!ProtocolVersion::V2025_11_25.is_modern());
        assert!(!ProtocolVersion::V2025_03_26.has_resource_links());
        assert!(ProtocolVersion::V2025_06_18.has_resource_links());
    }
}
