//! Holds the dependency rules of `src/lib.rs` (and ARCHITECTURE.md): which module may use which.
//! Scans every `crate::<module>` path in each source file.

use std::collections::BTreeSet;
use std::path::Path;

/// (module, modules it must not use)
const RULES: &[(&str, &[&str])] = &[
    (
        "protocol",
        &[
            "server",
            "transport",
            "media",
            "library",
            "tools",
            "resources",
            "prompts",
            "conformance",
            "config",
        ],
    ),
    (
        "media",
        &[
            "protocol",
            "server",
            "transport",
            "library",
            "tools",
            "resources",
            "prompts",
            "conformance",
            "config",
        ],
    ),
    (
        "library",
        &[
            "protocol",
            "server",
            "transport",
            "media",
            "tools",
            "resources",
            "prompts",
            "conformance",
        ],
    ),
    (
        "tools",
        &["server", "transport", "conformance", "resources"],
    ),
    (
        "derived",
        &["server", "transport", "tools", "resources", "protocol"],
    ),
    (
        "cache",
        &[
            "server",
            "transport",
            "tools",
            "resources",
            "protocol",
            "media",
            "library",
        ],
    ),
    ("resources", &["server", "transport", "conformance"]),
    ("prompts", &["server", "transport", "conformance"]),
    ("conformance", &["server", "transport", "media", "library"]),
    ("server", &["transport"]),
    (
        "transport",
        &[
            "media",
            "tools",
            "library",
            "resources",
            "prompts",
            "conformance",
        ],
    ),
];

fn used_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
        // `use crate::{a, b}` groups
        if rest.starts_with('{') {
            let group = &rest[1..rest.find('}').unwrap_or(rest.len())];
            for part in group.split(',') {
                let n: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !n.is_empty() {
                    out.insert(n);
                }
            }
        }
    }
    out
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_respect_the_dependency_rules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = vec![];
    files(&src, &mut all);
    let mut violations = vec![];
    let mut checked = BTreeSet::new();
    for f in &all {
        let rel = f.strip_prefix(&src).unwrap();
        let module = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let Some((_, forbidden)) = RULES.iter().find(|(m, _)| *m == module) else {
            continue;
        };
        checked.insert(module.clone());
        let text = std::fs::read_to_string(f).unwrap();
        for used in used_modules(&text) {
            if forbidden.contains(&used.as_str()) {
                violations.push(format!("{} uses crate::{used}", rel.display()));
            }
        }
    }
    // A rule for a module that no longer exists (renamed, moved) would check nothing.
    let ruled: BTreeSet<String> = RULES.iter().map(|(m, _)| m.to_string()).collect();
    assert_eq!(
        ruled.difference(&checked).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "rules for modules without any source file"
    );
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_scanner_sees_grouped_imports() {
    let u = used_modules("use crate::{server::X, transport};\nlet a = crate::media::f();");
    assert!(u.contains("server") && u.contains("transport") && u.contains("media"));
}
