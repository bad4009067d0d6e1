//! [`watch`]: a codebase's folder watched for saves, debounced.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak, mpsc};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};

/// The quiet after a burst of changes before they are reported, by default.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(200);

/// A folder being watched; dropping it stops the watch.
pub struct Watch {
    _watcher: RecommendedWatcher,
    heard: Arc<AtomicU64>,
}

impl Watch {
    /// What the watch hears, as it hears it (before the debounce).
    pub fn heard(&self) -> Heard {
        Heard(Arc::downgrade(&self.heard))
    }
}

/// How many changes a [`Watch`] has heard so far, counted as they arrive:
/// a reader that saw the same count before has nothing new to look at.
#[derive(Clone, Debug)]
pub struct Heard(Weak<AtomicU64>);

impl Heard {
    /// The count; `None` once the watch has stopped (nothing is heard
    /// any more, so the folder must be looked at).
    pub fn count(&self) -> Option<u64> {
        self.0.upgrade().map(|heard| heard.load(Ordering::SeqCst))
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}

/// Why a folder cannot be watched.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {}", path.display())]
pub struct WatchError {
    /// The folder.
    pub path: PathBuf,
    /// The cause (the platform's watcher).
    #[source]
    pub source: notify::Error,
}

/// Watches `root` and its subfolders; once a burst of changes to Python
/// files (or to folders, which may hold some) has been quiet for
/// `debounce`, calls `on_change` with the changed paths, on a thread of
/// the watch's own. Changes under hidden folders and `__pycache__`, and to
/// other files, are not reported; an error of the platform's watcher
/// (events lost) reports `root` itself. [`Watch::heard`] counts changes as
/// they arrive. A run of an
/// [`Indexer`](crate::Indexer) with a [`FileCache`](crate::FileCache) then
/// finds out what changed by itself: the paths are a hint, for messages.
///
/// # Errors
/// The platform's watcher cannot watch `root`.
pub fn watch(
    root: &Path,
    debounce: Duration,
    mut on_change: impl FnMut(Vec<PathBuf>) + Send + 'static,
) -> Result<Watch, WatchError> {
    let (sender, receiver) = mpsc::channel::<PathBuf>();
    let error = |source| WatchError { path: root.to_owned(), source };
    let base = root.to_owned();
    let heard = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&heard);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let paths: Vec<PathBuf> = match event {
            Ok(event) => event.paths.into_iter().filter(|p| matters(p.strip_prefix(&base).unwrap_or(p))).collect(),
            // Events may have been lost (a full queue): the whole root
            // counts as changed.
            Err(_) => vec![base.clone()],
        };
        if !paths.is_empty() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        for path in paths {
            let _ = sender.send(path);
        }
    })
    .map_err(error)?;
    watcher.watch(root, RecursiveMode::Recursive).map_err(error)?;
    std::thread::Builder::new()
        .name("pyatlas-watch".into())
        .spawn(move || {
            // Ends when the watcher is dropped (its sender with it).
            while let Ok(first) = receiver.recv() {
                let mut changed = vec![first];
                while let Ok(next) = receiver.recv_timeout(debounce) {
                    changed.push(next);
                }
                changed.sort();
                changed.dedup();
                on_change(changed);
            }
        })
        .map_err(|e| error(notify::Error::io(e)))?;
    Ok(Watch { _watcher: watcher, heard })
}

/// A path (relative to the root) whose change may change the index.
fn matters(path: &Path) -> bool {
    let hidden = path.components().any(|c| match c {
        Component::Normal(name) => {
            let name = name.to_string_lossy();
            name.starts_with('.') || name == "__pycache__"
        }
        _ => false,
    });
    let source = match path.extension() {
        Some(ext) => ext == "py" || ext == "pyi",
        // A folder created, renamed or removed.
        None => true,
    };
    !hidden && source
}

#[cfg(test)]
mod tests {
    use super::matters;
    use std::path::Path;

    #[test]
    fn only_python_files_and_folders_matter() {
        assert!(matters(Path::new("shop/orders.py")));
        assert!(matters(Path::new("shop/orders.pyi")));
        assert!(matters(Path::new("shop")));
        assert!(!matters(Path::new("shop/__pycache__/orders.cpython-313.pyc")));
        assert!(!matters(Path::new(".git/index")));
        assert!(!matters(Path::new(".venv/lib/site.py")));
        assert!(!matters(Path::new("README.md")));
    }
}
