//! [`FileCache`]: what earlier runs of an [`Indexer`](crate::Indexer)
//! made of each file, so that the next run parses, classifies and chunks
//! only the files that changed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use pyatlas_graph::InternalRoots;
use pyatlas_intent_tags::FileFacts;
use pyatlas_parser::{FileStamp, SourceFile};

use crate::work::{FileRows, FileWork};

/// Where a run with a [`FileCache::without_rows`] finds the rows of a file
/// it reuses, by the file's path: the map the last run built, say. `None`
/// makes the run parse the file again.
pub type RowSource = Arc<dyn Fn(&str) -> Option<FileRows> + Send + Sync>;

/// What the runs of one [`Indexer`](crate::Indexer) made of each file, kept
/// between runs in the process (an editor's session, `index --watch`, a
/// server's in-memory map): pass it to
/// [`Indexer::run_incremental`](crate::Indexer::run_incremental) and a
/// run redoes only the per-file work of the files that changed. The
/// cross-file facts (the import and call graphs, drift, the contracts) are
/// always linked again, from every file's compact facts, so they are never
/// stale.
///
/// A file counts as unchanged when its size and modification time match
/// and were not within two seconds of when it was read (a save in the same
/// tick of the file system's clock could hide behind them), or else when
/// the BLAKE3 hash of its bytes matches. Its module name and package flag
/// must match too: they come from the tree around it. The cache is emptied
/// when the indexer's fingerprint or the codebase's top-level packages
/// change, since every file's facts depend on those.
pub struct FileCache {
    /// The indexer's fingerprint and the codebase's top-level names the
    /// entries were made with.
    made_with: Option<(String, InternalRoots)>,
    entries: HashMap<String, Entry>,
    /// Whether entries keep their files' rows; if not, where rows are found.
    keep_rows: bool,
    source: Option<RowSource>,
}

impl Default for FileCache {
    fn default() -> Self {
        Self { made_with: None, entries: HashMap::new(), keep_rows: true, source: None }
    }
}

impl std::fmt::Debug for FileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCache").field("files", &self.entries.len()).finish_non_exhaustive()
    }
}

/// One file's work and what it was made from.
pub(crate) struct Entry {
    stamp: FileStamp,
    stamped_at: SystemTime,
    /// `None`: the file could not be read.
    hash: Option<blake3::Hash>,
    module: String,
    is_package: bool,
    facts: FileFacts,
    /// `None` in a cache without rows.
    rows: Option<FileRows>,
}

impl Entry {
    /// The file's work again: its rows (kept, or from `source`) and facts;
    /// `None` when neither holds its rows.
    pub(crate) fn work(&self, path: &str, source: Option<&RowSource>) -> Option<FileWork> {
        let rows = match &self.rows {
            Some(rows) => rows.clone(),
            None => source.and_then(|source| source(path))?,
        };
        Some(FileWork::of(rows, self.facts.clone()))
    }

    /// What the file's next work is kept under, when it must be parsed
    /// again though unchanged (its rows were nowhere).
    pub(crate) fn key(&self) -> Key {
        Key { stamp: self.stamp, stamped_at: self.stamped_at, hash: self.hash }
    }
}

/// What a run starts from: the entries, and where rows are found.
pub(crate) struct Previous {
    pub(crate) entries: HashMap<String, Entry>,
    pub(crate) keep_rows: bool,
    pub(crate) source: Option<RowSource>,
}

impl Previous {
    /// Whether some file's rows may have to come from the target: the
    /// cache is empty (a first run), or it holds a file's facts without
    /// its rows and has no [`RowSource`].
    pub(crate) fn may_need_target(&self) -> bool {
        self.entries.is_empty() || (self.source.is_none() && self.entries.values().any(|e| e.rows.is_none()))
    }
}

/// What a file is now, as far as the cache can tell.
pub(crate) enum Lookup {
    /// Unchanged: its work again (with its stamp refreshed).
    Same(Box<Entry>),
    /// New or changed: parse it, and keep its work under this key.
    Changed(Key),
    /// Gone since the walk found it: a deletion.
    Gone,
}

/// What a file's new work will be kept under.
pub(crate) struct Key {
    stamp: FileStamp,
    stamped_at: SystemTime,
    hash: Option<blake3::Hash>,
}

impl Key {
    /// The hash of the file's bytes (`None`: unreadable).
    pub(crate) fn hash(&self) -> Option<blake3::Hash> {
        self.hash
    }

    /// The entry of `file`'s new facts (and rows, in a cache that keeps them).
    pub(crate) fn entry(self, file: &SourceFile, facts: FileFacts, rows: Option<FileRows>) -> Entry {
        Entry {
            stamp: self.stamp,
            stamped_at: self.stamped_at,
            hash: self.hash,
            module: file.module.to_string(),
            is_package: file.is_package,
            facts,
            rows,
        }
    }
}

impl FileCache {
    /// An empty cache: the first run with it parses everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty cache that keeps each file's compact facts but not its rows
    /// (a fraction of the memory): a run takes an unchanged file's rows from
    /// the [`RowSource`] set with [`FileCache::set_row_source`], and parses
    /// the file again when there is none or it has no rows for the file.
    pub fn without_rows() -> Self {
        Self { keep_rows: false, ..Self::default() }
    }

    /// Where the next run finds the rows of the files it reuses (a cache
    /// [`without_rows`](FileCache::without_rows)); the run lets go of it,
    /// so that it does not keep what it points at alive.
    pub fn set_row_source(&mut self, source: RowSource) {
        self.source = Some(source);
    }

    /// Files held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when no file is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Takes the entries out for a run of an indexer with `fingerprint` over
    /// a codebase whose top-level names are `roots`; none when either
    /// differs from the last run's.
    pub(crate) fn take_for(&mut self, fingerprint: &str, roots: &InternalRoots) -> Previous {
        let entries = std::mem::take(&mut self.entries);
        let same = self.made_with.as_ref().is_some_and(|(f, r)| f == fingerprint && r == roots);
        self.made_with = Some((fingerprint.to_owned(), roots.clone()));
        Previous {
            entries: if same { entries } else { HashMap::new() },
            keep_rows: self.keep_rows,
            source: self.source.take(),
        }
    }

    /// Puts back the entries of a finished run (files gone from the tree
    /// are not among them).
    pub(crate) fn put_back(&mut self, entries: HashMap<String, Entry>) {
        self.entries = entries;
    }
}

/// Whether `file` is what `previous` was made from: its stamp first, then
/// the hash of its bytes.
pub(crate) fn lookup(file: &SourceFile, previous: Option<Entry>) -> Lookup {
    let stamped_at = SystemTime::now();
    let Some(stamp) = FileStamp::of(&file.path) else { return Lookup::Gone };
    let previous = match previous.filter(|e| e.module == file.module.as_str() && e.is_package == file.is_package) {
        Some(entry) if entry.stamp.vouches_for(&stamp, entry.stamped_at) => return Lookup::Same(Box::new(entry)),
        other => other,
    };
    let hash = match std::fs::read(&file.path) {
        Ok(bytes) => Some(blake3::hash(&bytes)),
        Err(_) if !file.path.exists() => return Lookup::Gone,
        // Unreadable: parsed again (its record says why), every time.
        Err(_) => None,
    };
    match previous {
        Some(entry) if hash.is_some() && entry.hash == hash => {
            Lookup::Same(Box::new(Entry { stamp, stamped_at, ..entry }))
        }
        _ => Lookup::Changed(Key { stamp, stamped_at, hash }),
    }
}
