//! The per-file import cache, keyed by content hash.
//!
//! Each entry is a file's size, modification time, BLAKE3 hash and scanned
//! imports. A file whose size and time match ([`FileStamp::vouches_for`]:
//! not within two seconds of when it was read) is not even read; one whose
//! time changed but whose content hash matches is not scanned again. The
//! cache is one JSON file in the cache folder; a missing, stale or corrupt
//! cache is simply rebuilt.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use pyatlas_parser::{FileStamp, Import, SourceFile, WalkProblem, scan_imports};
use serde::{Deserialize, Serialize};

use crate::BuildError as Error;

/// Bump when the scanner's output or this format changes.
const VERSION: u32 = 2;
const FILE_NAME: &str = "pyatlas-imports.json";

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    stamp: FileStamp,
    /// When the stamp was taken, before the file was read.
    stamped_at: SystemTime,
    hash: String,
    imports: Vec<Import>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    version: u32,
    /// The root the paths are relative to.
    root: PathBuf,
    entries: HashMap<String, Entry>,
}

#[derive(Debug)]
pub(crate) struct ImportCache {
    enabled: bool,
    stored: Stored,
    changed: bool,
}

impl ImportCache {
    pub(crate) fn disabled() -> Self {
        Self { enabled: false, stored: Stored::default(), changed: false }
    }

    /// The cache in `dir` for `root`; empty when absent, of another version
    /// or root, or unreadable.
    pub(crate) fn load(dir: &Path, root: &Path) -> Self {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let stored = std::fs::read(dir.join(FILE_NAME))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Stored>(&bytes).ok())
            .filter(|s| s.version == VERSION && s.root == root)
            .unwrap_or(Stored { version: VERSION, root, entries: HashMap::new() });
        Self { enabled: true, stored, changed: false }
    }

    /// Writes the cache if anything changed.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), Error> {
        if !self.enabled || !self.changed {
            return Ok(());
        }
        let io = |source| Error::Cache { path: dir.join(FILE_NAME), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let bytes = serde_json::to_vec(&self.stored).map_err(|e| io(std::io::Error::other(e)))?;
        // Write then rename, so that a concurrent reader never sees half a file.
        let temporary = dir.join(format!("{FILE_NAME}.{}.tmp", std::process::id()));
        std::fs::write(&temporary, bytes).map_err(io)?;
        std::fs::rename(&temporary, dir.join(FILE_NAME)).map_err(io)
    }

    /// The imports of every file, in order, scanning on `threads` threads
    /// what the cache does not hold; how many came from the cache; and the
    /// files that could not be read (which get no imports).
    pub(crate) fn imports_of(
        &mut self,
        files: &[SourceFile],
        threads: usize,
    ) -> (Vec<Vec<Import>>, usize, Vec<WalkProblem>) {
        let threads = threads.clamp(1, files.len().max(1));
        let chunk = files.len().div_ceil(threads).max(1);
        let stored = &self.stored.entries;
        let enabled = self.enabled;
        let results: Vec<Vec<Found>> = std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(|f| lookup(f, stored, enabled)).collect::<Vec<_>>()))
                .collect();
            // A panicking scanner thread must not shift imports onto other files.
            handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
        });
        let mut imports = Vec::with_capacity(files.len());
        let mut cached = 0;
        let mut problems = Vec::new();
        for found in results.into_iter().flatten() {
            let (found, entry) = match found {
                Found::Cached(found, entry) => {
                    cached += 1;
                    (found, entry)
                }
                Found::Scanned(found, entry) => (found, entry),
                Found::Unreadable(problem) => {
                    problems.push(problem);
                    (Vec::new(), None)
                }
            };
            if let Some((path, entry)) = entry {
                self.stored.entries.insert(path, entry);
                self.changed = true;
            }
            imports.push(found);
        }
        // Files that are gone leave the cache.
        if enabled {
            let before = self.stored.entries.len();
            let live: std::collections::HashSet<&str> = files.iter().map(|f| f.rel_path.as_str()).collect();
            self.stored.entries.retain(|path, _| live.contains(path.as_str()));
            self.changed |= self.stored.entries.len() != before;
        }
        (imports, cached, problems)
    }
}

/// Where a file's imports came from, with the entry to store, if any.
enum Found {
    /// The cache held them (a new time is stored when only the content hash matched).
    Cached(Vec<Import>, Option<(String, Entry)>),
    /// Scanned.
    Scanned(Vec<Import>, Option<(String, Entry)>),
    /// The file could not be read: no imports, and why.
    Unreadable(WalkProblem),
}

/// A file's imports, from the cache when its size and time (or its content
/// hash) match, else scanned.
fn lookup(file: &SourceFile, stored: &HashMap<String, Entry>, enabled: bool) -> Found {
    let stamped_at = SystemTime::now();
    let stamp = FileStamp::of(&file.path).unwrap_or_default();
    let previous = stored.get(&file.rel_path).filter(|_| enabled);
    if let Some(entry) = previous.filter(|e| e.stamp.vouches_for(&stamp, e.stamped_at)) {
        return Found::Cached(entry.imports.clone(), None);
    }
    let bytes = match std::fs::read(&file.path) {
        Ok(bytes) => bytes,
        Err(error) => {
            let message = format!("cannot read the file, so its imports are missing from the graph: {error}");
            return Found::Unreadable(WalkProblem::new(Some(file.rel_path.clone()), message));
        }
    };
    if !enabled {
        return Found::Scanned(scan_imports(bytes), None);
    }
    let hash = blake3::hash(&bytes).to_hex().to_string();
    match previous.filter(|e| e.hash == hash) {
        // Same content, new time: reuse, and remember the new time.
        Some(entry) => {
            let refreshed = Entry { stamp, stamped_at, hash, imports: entry.imports.clone() };
            Found::Cached(entry.imports.clone(), Some((file.rel_path.clone(), refreshed)))
        }
        None => {
            let imports = scan_imports(bytes);
            let entry = Entry { stamp, stamped_at, hash, imports: imports.clone() };
            Found::Scanned(imports, Some((file.rel_path.clone(), entry)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_file_is_a_problem_not_a_silent_empty_import_list() {
        let dir = tempfile::tempdir().expect("temporary folder");
        std::fs::write(dir.path().join("a.py"), "import os\n").expect("write");
        let files = vec![
            SourceFile::in_memory(dir.path().join("a.py").to_string_lossy(), "a", false),
            SourceFile::in_memory(dir.path().join("gone.py").to_string_lossy(), "gone", false),
        ];
        for mut cache in [ImportCache::disabled(), ImportCache::load(dir.path(), dir.path())] {
            let (imports, _, problems) = cache.imports_of(&files, 2);
            assert_eq!(imports.len(), 2, "every file keeps its place");
            assert_eq!(imports[0][0].module, "os");
            assert!(imports[1].is_empty());
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].path.as_deref().is_some_and(|p| p.ends_with("gone.py")), "{problems:?}");
            assert!(problems[0].message.contains("cannot read"), "{problems:?}");
        }
    }
}
