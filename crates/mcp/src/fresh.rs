//! The in-memory map of a folder, kept fresh: before each answer, the size
//! and modification time of every Python file are compared with those the
//! map was built from, and the map is built again when one differs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use pyatlas_parser::{Config, discover};
use pyatlas_query::{CodeMap, MemoryMap, QueryError};
use tokio::sync::Mutex;

/// What a tree's Python files were: path, size and modification time each.
type Stamp = Vec<(String, u64, Option<SystemTime>)>;

/// The in-memory map of a folder, rebuilt when its files change.
pub struct FreshMap {
    root: PathBuf,
    state: Mutex<(Stamp, Arc<MemoryMap>)>,
}

impl std::fmt::Debug for FreshMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshMap").field("root", &self.root).finish_non_exhaustive()
    }
}

impl FreshMap {
    /// Indexes `root` into memory.
    ///
    /// # Errors
    /// The root cannot be indexed.
    pub async fn new(root: impl Into<PathBuf>) -> Result<Self, QueryError> {
        let root = root.into();
        let stamp = stamp(&root).await?;
        let map = Arc::new(MemoryMap::index(&root).await?);
        Ok(Self { root, state: Mutex::new((stamp, map)) })
    }

    /// The map as the files are now: built again first when one changed,
    /// was added or was removed since it was built.
    ///
    /// # Errors
    /// The root can no longer be walked or indexed.
    pub async fn current(&self) -> Result<Arc<dyn CodeMap>, QueryError> {
        let mut state = self.state.lock().await;
        let now = stamp(&self.root).await?;
        if now != state.0 {
            let map = Arc::new(MemoryMap::index(&self.root).await?);
            *state = (now, map);
        }
        Ok(Arc::clone(&state.1) as Arc<dyn CodeMap>)
    }
}

async fn stamp(root: &std::path::Path) -> Result<Stamp, QueryError> {
    let root = root.to_owned();
    tokio::task::spawn_blocking(move || {
        let found = discover(&root, &Config::default())
            .map_err(|e| QueryError::BadRequest { reason: format!("cannot walk the root: {e}") })?;
        Ok(found
            .files
            .into_iter()
            .map(|file| {
                let modified = std::fs::metadata(&file.path).and_then(|m| m.modified()).ok();
                (file.rel_path, file.size, modified)
            })
            .collect())
    })
    .await
    .map_err(|_| QueryError::BadRequest { reason: "the walk of the root stopped".to_owned() })?
}
