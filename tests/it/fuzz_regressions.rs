//! Fuzz findings as regression tests: every file under `fuzz/regressions/<target>/` is an input
//! that once made the target of that name panic (or fail one of its invariants); each must now
//! run through the same `mcp_media::fuzzing` entry point without panicking. The committed seed
//! corpora (`fuzz/corpus/<target>/`) are run too, so the targets' invariants hold on every seed.
//! Knows nothing of what the inputs mean: that is in `src/fuzzing.rs` and the file names.

use std::path::Path;

type Entry = fn(&[u8]);

const TARGETS: [(&str, Entry); 5] = [
    ("protocol", mcp_media::fuzzing::protocol_stream),
    ("uri", mcp_media::fuzzing::uris),
    ("audio_decode", mcp_media::fuzzing::audio_decode),
    ("audio_transcode", mcp_media::fuzzing::audio_transcode),
    ("image_decode", mcp_media::fuzzing::image_decode),
];

fn fuzz_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs every file of `fuzz/<kind>/<target>/` through the target; returns how many ran.
fn run_all(kind: &str, target: &str, entry: Entry) -> usize {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(files) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut n = 0;
    let mut panicked = vec![];
    for f in files {
        let path = f.expect("a directory entry").path();
        let data = std::fs::read(&path).expect("a readable input");
        if std::panic::catch_unwind(|| entry(&data)).is_err() {
            panicked.push(path.display().to_string());
        }
        n += 1;
    }
    assert!(
        panicked.is_empty(),
        "inputs that panic:\n{}",
        panicked.join("\n")
    );
    n
}

#[test]
fn fuzz_regressions_do_not_panic() {
    let mut total = 0;
    for (target, entry) in TARGETS {
        total += run_all("regressions", target, entry);
    }
    assert!(
        total > 0,
        "no regression inputs found under fuzz/regressions/"
    );
}

#[test]
fn fuzz_seed_corpora_do_not_panic() {
    for (target, entry) in TARGETS {
        let n = run_all("corpus", target, entry);
        assert!(n > 0, "no seeds under fuzz/corpus/{target}/");
    }
}
