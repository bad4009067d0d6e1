//! Parsing many files on a crossbeam worker pool, delivering results in
//! file order while holding only a bounded window of them in memory.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crossbeam_channel::{Sender, bounded, unbounded};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::discover::{Discovery, SourceFile, WalkProblem, discover};
use crate::error::{Error, StartError};
use crate::model::FileRecord;
use crate::parse::{ParsedFile, SourceParser};

/// Files that may be parsed ahead of the one the sink waits for, per worker:
/// enough that a worker rarely idles behind a large file, few enough that
/// memory stays bounded by the largest files, not by the size of the tree.
const WINDOW_PER_THREAD: usize = 16;

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
/// [`Error::Discover`] as [`discover`], and [`Error::Start`] as
/// [`parse_files`] when the workers cannot start. Problems in single files are diagnostics, never errors.
pub fn parse_codebase(root: impl AsRef<Path>, config: &Config) -> Result<Codebase, Error> {
    let start = Instant::now();
    let discovery = discover(root, config)?;
    let mut files = Vec::with_capacity(discovery.files.len());
    let mut stats = parse_files(&discovery.files, config, ParsedFile::into_record, |record| files.push(record))?;
    stats.seconds = start.elapsed().as_secs_f64();
    let Discovery { root, problems, .. } = discovery;
    Ok(Codebase { root, files, problems, stats })
}

/// What a sink of [`parse_files`] returns: `()` to take every file, or a
/// [`ControlFlow`] whose `Break` stops the parse (a downstream writer
/// failed, the user cancelled).
pub trait SinkFlow {
    /// `true` to stop parsing.
    fn is_stop(&self) -> bool;
}

impl SinkFlow for () {
    fn is_stop(&self) -> bool {
        false
    }
}

impl SinkFlow for ControlFlow<()> {
    fn is_stop(&self) -> bool {
        self.is_break()
    }
}

/// Parses `files` on a worker pool and streams the results.
///
/// `map` runs on the worker threads, with the whole [`ParsedFile`] (record,
/// text and tree), and turns it into whatever the caller keeps; `sink` runs
/// on the calling thread and receives those values **in the order of
/// `files`**. At most a small window of files (16 per thread) is parsed
/// ahead of the one `sink` waits for, so memory stays bounded by the largest
/// files, not by the size of the tree.
///
/// A sink that returns [`ControlFlow::Break`] stops the parse: no file is
/// started after it, none is delivered after it, and the call returns once
/// the files in progress are done. The [`Stats`] count what was delivered.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
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
/// [`StartError`] when the workers cannot start: the grammar cannot be
/// loaded, or a thread cannot be spawned.
pub fn parse_files<T, M, S, F>(files: &[SourceFile], config: &Config, map: M, mut sink: S) -> Result<Stats, StartError>
where
    T: Send,
    M: Fn(ParsedFile) -> T + Sync,
    S: FnMut(T) -> F,
    F: SinkFlow,
{
    let start = Instant::now();
    let threads = config.thread_count().min(files.len().max(1));
    let window = threads * WINDOW_PER_THREAD;
    let mut parsers = (0..threads).map(|_| SourceParser::new(config)).collect::<Result<Vec<_>, _>>()?;
    let mut stats = Stats::default();

    // A worker takes a permit before it claims the next file index; the
    // calling thread hands the permit back once that file's result has been
    // delivered in order. So at most `window` files are parsed or waiting
    // ahead of the one `sink` needs next, and that one is always among them.
    let next_index = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (permit_tx, permit_rx) = bounded::<()>(window);
    for _ in 0..window {
        let _ = permit_tx.send(());
    }
    let (result_tx, result_rx) = unbounded::<Message<T>>();

    std::thread::scope(|scope| -> Result<(), StartError> {
        let (map, next_index, stop) = (&map, &next_index, &stop);
        for (index, mut parser) in parsers.drain(..).enumerate() {
            let permit_rx = permit_rx.clone();
            let result_tx = result_tx.clone();
            std::thread::Builder::new()
                .name(format!("pyatlas-parser-{index}"))
                .spawn_scoped(scope, move || {
                    let _guard = PanicGuard(&result_tx);
                    while permit_rx.recv().is_ok() && !stop.load(Ordering::Relaxed) {
                        let i = next_index.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        let parsed = parser.parse_file(file);
                        let summary = FileRecordSummary::of(parsed.record());
                        if result_tx.send(Message::Parsed(i, summary, map(parsed))).is_err() {
                            break;
                        }
                    }
                })
                .map_err(StartError::Thread)?;
        }
        drop((result_tx, permit_rx));

        let mut pending: VecDeque<Option<(FileRecordSummary, T)>> = VecDeque::with_capacity(window);
        let mut next = 0;
        'receive: for message in &result_rx {
            // A panic in `map` ends the run; the scope re-raises it.
            let Message::Parsed(i, summary, value) = message else { break };
            let slot = i - next;
            if pending.len() <= slot {
                pending.resize_with(slot + 1, || None);
            }
            pending[slot] = Some((summary, value));
            while let Some(Some(_)) = pending.front() {
                if let Some(Some((summary, value))) = pending.pop_front() {
                    summary.add_to(&mut stats);
                    next += 1;
                    if sink(value).is_stop() {
                        stop.store(true, Ordering::Relaxed);
                        break 'receive;
                    }
                    let _ = permit_tx.send(());
                }
            }
            if next == files.len() {
                // Wake the workers waiting for a permit: there is no more work.
                break;
            }
        }
        // Workers waiting for a permit wake up and leave; those parsing
        // finish their file, whose result nobody takes.
        drop(permit_tx);
        drop(pending);
        Ok(())
    })?;
    stats.seconds = start.elapsed().as_secs_f64();
    Ok(stats)
}

enum Message<T> {
    Parsed(usize, FileRecordSummary, T),
    /// A worker is unwinding from a panic in `map`.
    Panicked,
}

/// Tells the calling thread when its worker panics, so that it stops
/// waiting for a result that will never come.
struct PanicGuard<'a, T>(&'a Sender<Message<T>>);

impl<T> Drop for PanicGuard<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.send(Message::Panicked);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn files(n: usize) -> Vec<SourceFile> {
        (0..n).map(|i| SourceFile::in_memory(format!("/nonexistent/m{i}.py"), format!("m{i}"), false)).collect()
    }

    #[test]
    #[should_panic(expected = "a scoped thread panicked")]
    fn a_panic_in_map_propagates_instead_of_hanging() {
        let config = Config::default().threads(2);
        let _ = parse_files(&files(200), &config, |p| assert!(p.record().path != "/nonexistent/m3.py"), drop);
    }

    #[test]
    fn a_sink_that_breaks_stops_the_parse() {
        let config = Config::default().threads(2);
        let mut seen = 0;
        let parsed = AtomicUsize::new(0);
        let stats = parse_files(
            &files(10_000),
            &config,
            |_| parsed.fetch_add(1, Ordering::Relaxed),
            |_| {
                seen += 1;
                if seen == 5 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
            },
        )
        .expect("parse");
        assert_eq!((seen, stats.files), (5, 5), "nothing is delivered after the break");
        // At most the window ahead of the sink, and one file per worker, was parsed.
        let parsed = parsed.load(Ordering::Relaxed);
        assert!(parsed <= 5 + 2 * WINDOW_PER_THREAD + 2, "{parsed} files parsed after the break");
    }

    #[test]
    fn every_file_is_delivered_once_in_order() {
        let config = Config::default().threads(3);
        let mut seen = Vec::new();
        let stats =
            parse_files(&files(300), &config, |p| p.record().path.clone(), |path| seen.push(path)).expect("parse");
        let expected: Vec<_> = files(300).into_iter().map(|f| f.rel_path).collect();
        assert_eq!(seen, expected);
        // Unreadable files are delivered too, each with its diagnostic.
        assert_eq!((stats.files, stats.files_with_errors), (300, 300));
    }
}
