//! 2026-07-28 request-metadata headers: `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`
//! (with `=?base64?...?=` decoding), checked against the body (400 + `-32020` on mismatch).

use crate::protocol::frame::base64_decode;
use crate::protocol::jsonrpc::Request;
use http::HeaderMap;
use serde_json::Value;

/// Decodes a header value: the `=?base64?{b64}?=` form or a literal (trimmed).
pub fn decode_value(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if let Some(inner) = v
        .strip_prefix("=?base64?")
        .and_then(|s| s.strip_suffix("?="))
    {
        let bytes = base64_decode(inner).map_err(|e| format!("invalid base64 in header: {e}"))?;
        return String::from_utf8(bytes).map_err(|_| "header value is not UTF-8".into());
    }
    Ok(v.to_string())
}

pub fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The body value `Mcp-Name` must equal, for the methods that require it.
fn name_of(req: &Request) -> Option<Option<&str>> {
    let key = match req.method.as_str() {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        "tasks/get" | "tasks/update" | "tasks/cancel" => "taskId",
        _ => return None,
    };
    Some(req.params.get(key).and_then(Value::as_str))
}

/// Checks `Mcp-Method` and `Mcp-Name` of a modern request. Err: the `-32020` message.
pub fn check_method_and_name(h: &HeaderMap, req: &Request) -> Result<(), String> {
    let Some(raw) = header(h, "mcp-method") else {
        return Err("missing Mcp-Method header".into());
    };
    let method = decode_value(raw)?;
    if method != req.method {
        return Err(format!(
            "Mcp-Method header {method:?} does not match the body method {:?}",
            req.method
        ));
    }
    if let Some(expected) = name_of(req) {
        let Some(raw) = header(h, "mcp-name") else {
            return Err(format!(
                "missing Mcp-Name header (required for {})",
                req.method
            ));
        };
        let name = decode_value(raw)?;
        if Some(name.as_str()) != expected {
            return Err(format!(
                "Mcp-Name header {name:?} does not match the body ({expected:?})"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_sentinel() {
        assert_eq!(decode_value("  plain ").unwrap(), "plain");
        assert_eq!(decode_value("=?base64?Y2Fmw6k=?=").unwrap(), "café");
        assert!(decode_value("=?base64?!!!?=").is_err());
    }
}
