//! Holds the dependency rules of `src/lib.rs` (and ARCHITECTURE.md) as an allow-list: for each
//! top-level module of `src/`, which other crate modules and which external crates it may use.
//! Every `crate::<module>` path and every `<dependency>::` path (dependencies read from
//! Cargo.toml) in each source file is checked, so a new dependency or a new edge between
//! modules fails here until the list says it is intended.

use std::collections::BTreeSet;
use std::path::Path;

/// (module, crate modules it may use, external crates it may use). `std` is always allowed.
const ALLOW: &[(&str, &[&str], &[&str])] = &[
    (
        "protocol",
        &[],
        &[
            "serde",
            "serde_json",
            "bytes",
            "base64",
            "memchr",
            "getrandom",
            "thiserror",
        ],
    ),
    (
        "media",
        &[],
        &[
            "symphonia",
            "image",
            "fast_image_resize",
            "jpeg_encoder",
            "jpeg_decoder",
            "gif",
            "image_webp",
            "exif",
            "moxcms",
            "bytes",
            "rubato",
            "opus_pure",
            "realfft",
            "font8x8",
            "serde_json",
            "thiserror",
            "tracing",
            "mp4parse",
            "matroska_demuxer",
            "openh264",
            "h264_reader",
            "yuvutils_rs",
            "rav1d",
        ],
    ),
    (
        "library",
        &[],
        &[
            "bytes",
            "cap_std",
            "humantime",
            "infer",
            "notify",
            "percent_encoding",
            "rustix",
            "thiserror",
            "tracing",
            "walkdir",
        ],
    ),
    // The cache keys entries by the library's source identity (`library::SourceId`).
    ("cache", &["library"], &["bytes"]),
    (
        // Fuzzing entry points drive the parsers of the lower layers only.
        "fuzzing",
        &["protocol", "library", "media"],
        &["bytes", "memchr", "serde_json"],
    ),
    ("config", &["library", "protocol", "cache", "media"], &[]),
    (
        "derived",
        &["cache", "library", "media"],
        &["bytes", "tracing", "thiserror"],
    ),
    (
        "provider",
        &["protocol", "tools", "library", "media"],
        &["serde_json", "thiserror"],
    ),
    (
        "tools",
        &["protocol", "media", "library", "derived", "cache", "config"],
        &[
            "serde",
            "serde_json",
            "thiserror",
            "globset",
            "bytes",
            "tracing",
        ],
    ),
    (
        "resources",
        &[
            "protocol", "provider", "media", "library", "derived", "cache", "tools", "config",
        ],
        &["serde_json", "bytes", "tracing"],
    ),
    (
        "prompts",
        &["protocol", "provider", "library", "tools"],
        &["serde_json"],
    ),
    (
        "conformance",
        &["protocol", "provider", "tools"],
        &["serde_json", "bytes", "image", "getrandom"],
    ),
    (
        // The server sees tools only through their contract (`Tool`, `ToolCtx`, `ToolError`),
        // and the library and media only through the errors it maps to the wire.
        "server",
        &[
            "protocol", "provider", "config", "tools", "library", "media",
        ],
        &[
            "tokio",
            "tokio_util",
            "serde_json",
            "bytes",
            "thiserror",
            "tracing",
            "hmac",
            "sha2",
            "base64",
            "getrandom",
        ],
    ),
    // Token validation: used by the transport only; knows no MCP method.
    (
        "auth",
        &[],
        &[
            "thiserror",
            "tracing",
            "tokio",
            "serde",
            "serde_json",
            // Static tokens: hashes compared in constant time.
            "sha2",
            "subtle",
            "hex",
            // JWT signatures (rust_crypto backend), the issuer's metadata/keys/introspection
            // over HTTPS (rustls + ring), JOSE headers, form fields, the introspection cache key.
            "jsonwebtoken",
            "reqwest",
            "base64",
            "percent_encoding",
        ],
    ),
    (
        "transport",
        &["protocol", "server", "config", "auth"],
        &[
            "hyper",
            "hyper_util",
            "http",
            "http_body_util",
            "tokio",
            "tokio_stream",
            "tokio_util",
            "bytes",
            "serde_json",
            "tracing",
            "getrandom",
            // The discovery documents' strong ETags.
            "sha2",
        ],
    ),
    (
        "build",
        &[
            "cache",
            "config",
            "conformance",
            "library",
            "media",
            "prompts",
            "provider",
            "resources",
            "server",
            "tools",
        ],
        &["tracing"],
    ),
    ("lib", &[], &[]),
    // The binary is its own crate: it reaches the library as `mcp_media::`.
    (
        "main",
        &[],
        &[
            "anyhow",
            "clap",
            "rustix",
            "tikv_jemallocator",
            "tokio",
            "tracing",
            "tracing_subscriber",
        ],
    ),
];

/// Names after `crate::` (including `use crate::{a, b}` groups).
fn crate_modules(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let name = ident(rest);
        if !name.is_empty() {
            out.insert(name);
        }
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(group.split(',').map(ident).filter(|n| !n.is_empty()));
        }
    }
    out
}

/// External crates named in paths (`name::`, not preceded by an identifier character or `::`).
fn external_crates(text: &str, deps: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for d in deps {
        let pat = format!("{d}::");
        for (i, _) in text.match_indices(&pat) {
            let before = text[..i].chars().next_back();
            let prefixed = text[..i].ends_with("::")
                || before.is_some_and(|c| c.is_alphanumeric() || c == '_');
            if !prefixed {
                out.insert(d.clone());
            }
        }
    }
    out
}

/// The `[dependencies]` of Cargo.toml, with `-` as `_`.
fn dependencies() -> Vec<String> {
    let toml = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .expect("Cargo.toml");
    let mut deps = vec![];
    let mut in_deps = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                deps.push(name.replace('-', "_"));
            }
        }
    }
    deps
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("readable src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_use_only_what_the_allow_list_permits() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let deps = dependencies();
    assert!(
        deps.iter().any(|d| d == "tokio") && deps.iter().any(|d| d == "symphonia"),
        "read the dependencies: {deps:?}"
    );
    let mut all = vec![];
    files(&src, &mut all);
    let mut violations = vec![];
    for f in &all {
        let rel = f.strip_prefix(&src).expect("under src");
        let module = rel
            .components()
            .next()
            .expect("a component")
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let Some((_, mods, crates)) = ALLOW.iter().find(|(m, _, _)| *m == module) else {
            violations.push(format!(
                "{}: module {module} is not in the allow-list",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(f).expect("readable source");
        for used in crate_modules(&text) {
            if used != module && !mods.contains(&used.as_str()) {
                violations.push(format!("{} uses crate::{used}", rel.display()));
            }
        }
        for used in external_crates(&text, &deps) {
            if !crates.contains(&used.as_str()) {
                violations.push(format!("{} uses the crate {used}", rel.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_scanner_sees_grouped_imports_and_external_paths() {
    let u = crate_modules("use crate::{server::X, transport};\nlet a = crate::media::f();");
    assert!(u.contains("server") && u.contains("transport") && u.contains("media"));
    let deps = vec!["tokio".to_string(), "http".to_string(), "bytes".to_string()];
    let e = external_crates(
        "use tokio::sync; let x = hyper::http::Method; let b = my_bytes::x;",
        &deps,
    );
    assert!(e.contains("tokio"), "{e:?}");
    assert!(
        !e.contains("http"),
        "hyper::http is not the http crate: {e:?}"
    );
    assert!(!e.contains("bytes"), "my_bytes is not bytes: {e:?}");
}
