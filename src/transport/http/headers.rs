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

/// Checks the `Mcp-Param-{Name}` headers of a `tools/call` against the arguments annotated
/// with `x-mcp-header` (`params`: header suffix, property). Err: the `-32020` message.
pub fn check_params(
    h: &HeaderMap,
    req: &Request,
    params: &[(String, String)],
) -> Result<(), String> {
    let args = req.params.get("arguments").and_then(Value::as_object);
    for (suffix, prop) in params {
        let name = format!("mcp-param-{}", suffix.to_ascii_lowercase());
        let body = args.and_then(|a| a.get(prop)).filter(|v| !v.is_null());
        let raw = match h.get(&name) {
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| format!("Mcp-Param-{suffix} contains invalid characters"))?,
            ),
            None => None,
        };
        let Some(body) = body else { continue };
        let Some(raw) = raw else {
            return Err(format!(
                "missing Mcp-Param-{suffix} header for argument {prop:?}"
            ));
        };
        let header = decode_value(raw).map_err(|e| format!("Mcp-Param-{suffix}: {e}"))?;
        let matches = match body {
            Value::String(s) => *s == header,
            Value::Bool(b) => header == b.to_string(),
            Value::Number(n) => header
                .parse::<f64>()
                .ok()
                .zip(n.as_f64())
                .is_some_and(|(a, b)| a == b),
            _ => false,
        };
        if !matches {
            return Err(format!(
                "Mcp-Param-{suffix} header {header:?} does not match argument {prop:?}"
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
        assert!(
            decode_value("=?base64?SGVsbG8?=").is_err(),
            "missing padding must be refused"
        );
        assert_eq!(
            decode_value("=?base64?SGVsbG8=").unwrap(),
            "=?base64?SGVsbG8="
        );
    }
}
