//! Parsing many files on a crossbeam worker pool, delivering results in
//! file order while holding only a bounded window of them in memory.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crossbeam_channel::{bounded, unbounded};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::discover::{Discovery, SourceFile, WalkProblem, discover};
use crate::error::Error;
use crate::model::FileRecord;
use crate::parse::{ParsedFile, SourceParser};

/// Totals of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Files parsed (including those that only got a diagnostic).
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Lines.
    pub lines: u64,
    /// Units (classes, functions, methods).
    pub units: u64,
    /// Import records.
    pub imports: u64,
    /// Files with at least one error diagnostic.
    pub files_with_errors: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// A whole parsed codebase.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Codebase {
    /// The root that was analysed.
    pub root: PathBuf,
    /// One record per file, sorted by path.
    pub files: Vec<FileRecord>,
    /// Problems met while walking the tree, outside any one file.
    pub problems: Vec<WalkProblem>,
    /// Totals.
    pub stats: Stats,
}

/// Discovers and parses every Python file under `root` on
/// [`Config::threads`] worker threads, and collects the records.
///
/// For a large tree, prefer [`parse_files`], which streams.
///
/// # Errors
/// As [`discover`], and [`Error::Thread`] or [`Error::Language`] when the
/// workers cannot start. Problems in single files are diagnostics, never errors.
pub fn parse_codebase(root: impl AsRef<Path>, config: &Config) -> Result<Codebase, Error> {
    let start = Instant::now();
    let discovery = discover(root, config)?;
    let mut files = Vec::with_capacity(discovery.files.len());
    let mut stats = parse_files(&discovery.files, config, ParsedFile::into_record, |record| files.push(record))?;
    stats.seconds = start.elapsed().as_secs_f64();
    let Discovery { root, problems, .. } = discovery;
    Ok(Codebase { root, files, problems, stats })
}

/// Parses `files` on a worker pool and streams the results.
///
/// `map` runs on the worker threads, with the whole [`ParsedFile`] (record,
/// text and tree), and turns it into whatever the caller keeps; `sink` runs
/// on the calling thread and receives those values **in the order of
/// `files`**. At most a small window of files (four per thread) is parsed
/// ahead of the one `sink` waits for, so memory stays bounded by the largest
/// files, not by the size of the tree.
///
/// ```
/// # fn main() -> Result<(), pyatlas_parser::Error> {
/// use pyatlas_parser::{Config, discover, parse_files};
///
/// let root = tempfile::tempdir().unwrap();
/// std::fs::write(root.path().join("a.py"), "def f(): pass\n").unwrap();
/// std::fs::write(root.path().join("b.py"), "class C: pass\n").unwrap();
/// let config = Config::default().threads(2);
/// let discovery = discover(root.path(), &config)?;
/// let mut names = Vec::new();
/// parse_files(&discovery.files, &config, |parsed| parsed.record().units[0].qualname.clone(), |q| names.push(q))?;
/// assert_eq!(names.iter().map(|q| q.as_str()).collect::<Vec<_>>(), ["f", "C"]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Thread`] or [`Error::Language`] when the workers cannot start.
pub fn parse_files<T, M, S>(files: &[SourceFile], config: &Config, map: M, mut sink: S) -> Result<Stats, Error>
where
    T: Send,
    M: Fn(ParsedFile) -> T + Sync,
    S: FnMut(T),
{
    let start = Instant::now();
    let threads = config.thread_count().min(files.len().max(1));
    let window = threads * 4;
    let mut parsers = (0..threads).map(|_| SourceParser::new(config)).collect::<Result<Vec<_>, _>>()?;
    let mut stats = Stats::default();

    let (job_tx, job_rx) = bounded::<usize>(window);
    let (result_tx, result_rx) = unbounded::<(usize, FileRecordSummary, T)>();
    // One permit per file that may be in flight or waiting in the reorder buffer.
    let (permit_tx, permit_rx) = bounded::<()>(window);
    for _ in 0..window {
        let _ = permit_tx.send(());
    }

    std::thread::scope(|scope| -> Result<(), Error> {
        let map = &map;
        for (index, mut parser) in parsers.drain(..).enumerate() {
            let job_rx = job_rx.clone();
            let result_tx = result_tx.clone();
            std::thread::Builder::new()
                .name(format!("pyatlas-parser-{index}"))
                .spawn_scoped(scope, move || {
                    for i in job_rx {
                        let parsed = parser.parse_file(&files[i]);
                        let summary = FileRecordSummary::of(parsed.record());
                        if result_tx.send((i, summary, map(parsed))).is_err() {
                            break;
                        }
                    }
                })
                .map_err(Error::Thread)?;
        }
        drop(result_tx);
        drop(job_rx);
        std::thread::Builder::new()
            .name("pyatlas-feeder".to_owned())
            .spawn_scoped(scope, move || {
                for i in 0..files.len() {
                    if permit_rx.recv().is_err() || job_tx.send(i).is_err() {
                        break;
                    }
                }
            })
            .map_err(Error::Thread)?;

        let mut pending: VecDeque<Option<(FileRecordSummary, T)>> = VecDeque::with_capacity(window);
        let mut next = 0;
        for (i, summary, value) in &result_rx {
            let slot = i - next;
            if pending.len() <= slot {
                pending.resize_with(slot + 1, || None);
            }
            pending[slot] = Some((summary, value));
            while let Some(Some(_)) = pending.front() {
                if let Some(Some((summary, value))) = pending.pop_front() {
                    summary.add_to(&mut stats);
                    sink(value);
                    next += 1;
                    let _ = permit_tx.send(());
                }
            }
        }
        Ok(())
    })?;
    stats.seconds = start.elapsed().as_secs_f64();
    Ok(stats)
}

/// What [`Stats`] needs of a record, taken before `map` consumes it.
struct FileRecordSummary {
    bytes: u64,
    lines: u64,
    units: u64,
    imports: u64,
    has_errors: bool,
}

impl FileRecordSummary {
    fn of(record: &FileRecord) -> Self {
        Self {
            bytes: record.bytes,
            lines: u64::from(record.lines),
            units: record.units.len() as u64,
            imports: record.imports.len() as u64,
            has_errors: record.has_errors(),
        }
    }

    fn add_to(&self, stats: &mut Stats) {
        stats.files += 1;
        stats.bytes += self.bytes;
        stats.lines += self.lines;
        stats.units += self.units;
        stats.imports += self.imports;
        stats.files_with_errors += u64::from(self.has_errors);
    }
}
