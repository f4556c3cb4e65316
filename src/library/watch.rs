//! Watching the media roots for changes (inotify and friends through `notify`, debounced), so
//! listings refresh and subscribers hear about changed files.
//! Must not know about MCP or async runtimes: changes are reported to a plain callback.

use super::{Library, LibraryError, uri};
use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How long changes to one path are coalesced before they are reported.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Keeps the watch alive; dropping it stops watching.
pub struct Watcher {
    _inner: Debouncer<RecommendedWatcher>,
}

impl Library {
    /// Watches every root. `on_change` gets the URIs of changed, added or removed files (not
    /// hidden ones) after the index has been invalidated.
    pub fn watch(
        self: &Arc<Self>,
        on_change: impl Fn(Vec<String>) + Send + 'static,
    ) -> Result<Watcher, LibraryError> {
        let lib: Weak<Library> = Arc::downgrade(self);
        let mut deb = new_debouncer(DEBOUNCE, move |res: DebounceEventResult| {
            let Some(lib) = lib.upgrade() else { return };
            match res {
                Ok(events) => {
                    let mut uris: Vec<String> = events
                        .iter()
                        .filter_map(|e| lib.uri_of_path(&e.path))
                        .collect();
                    uris.sort();
                    uris.dedup();
                    lib.invalidate();
                    if !uris.is_empty() {
                        on_change(uris);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "watching the media roots failed"),
            }
        })
        .map_err(|e| LibraryError::RootSetup {
            path: Default::default(),
            reason: format!("cannot watch: {e}"),
        })?;
        for root in &self.roots {
            deb.watcher()
                .watch(&root.path, RecursiveMode::Recursive)
                .map_err(|e| LibraryError::RootSetup {
                    path: root.path.clone(),
                    reason: format!("cannot watch: {e}"),
                })?;
        }
        Ok(Watcher { _inner: deb })
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
