//! Watching the media roots for changes (inotify and friends through `notify`), so listings
//! refresh and subscribers hear about changed files.
//!
//! Only creations, modifications, renames and removals count: access events are ignored
//! (scanning opens files, and must not trigger another scan). Changes are coalesced over
//! [`DEBOUNCE`] on a thread of their own and reported to a plain callback.
//! Must not know about MCP or async runtimes.

use super::{Library, LibraryError, uri};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use std::collections::BTreeSet;
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long changes are coalesced before they are reported.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Keeps the watch alive; dropping it stops watching (and its thread).
pub struct Watcher {
    _inner: RecommendedWatcher,
}

impl Library {
    /// Watches every root. `on_change` gets the URIs of changed, added or removed files (not
    /// hidden ones) after the index has been invalidated.
    pub fn watch(
        self: &Arc<Self>,
        on_change: impl Fn(Vec<String>) + Send + 'static,
    ) -> Result<Watcher, LibraryError> {
        let (tx, rx) = mpsc::channel::<std::path::PathBuf>();
        let mut watcher =
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
                Ok(ev) => {
                    if matches!(ev.kind, EventKind::Access(_) | EventKind::Other) {
                        return;
                    }
                    for p in ev.paths {
                        let _ = tx.send(p);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "watching the media roots failed"),
            })
            .map_err(|e| LibraryError::RootSetup {
                path: Default::default(),
                reason: format!("cannot watch: {e}"),
            })?;
        for root in &self.roots {
            watcher
                .watch(&root.path, RecursiveMode::Recursive)
                .map_err(|e| LibraryError::RootSetup {
                    path: root.path.clone(),
                    reason: format!("cannot watch: {e}"),
                })?;
        }
        let lib: Weak<Library> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("mcp-media-watch".into())
            .spawn(move || {
                // Ends when the watcher (and so the sender) is dropped.
                while let Ok(first) = rx.recv() {
                    let mut paths = BTreeSet::from([first]);
                    let until = Instant::now() + DEBOUNCE;
                    while let Some(left) = until.checked_duration_since(Instant::now()) {
                        match rx.recv_timeout(left) {
                            Ok(p) => {
                                paths.insert(p);
                            }
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    let Some(lib) = lib.upgrade() else { return };
                    let uris: BTreeSet<String> =
                        paths.iter().filter_map(|p| lib.uri_of_path(p)).collect();
                    lib.invalidate();
                    if !uris.is_empty() {
                        on_change(uris.into_iter().collect());
                    }
                }
            })
            .map_err(|e| LibraryError::RootSetup {
                path: Default::default(),
                reason: format!("cannot start the watch thread: {e}"),
            })?;
        Ok(Watcher { _inner: watcher })
    }

    /// The URI of an absolute path under a root, if it is one we would serve by name.
    fn uri_of_path(&self, path: &std::path::Path) -> Option<String> {
        for r in &self.roots {
            if let Ok(rel) = path.strip_prefix(&r.path) {
                let rel = super::rel_to_string(rel)?;
                if rel.is_empty() || rel.split('/').any(|s| s.starts_with('.')) {
                    return None;
                }
                return Some(uri::build(&r.name, &rel));
            }
        }
        None
    }
}
