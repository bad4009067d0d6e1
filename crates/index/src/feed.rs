//! The parse thread of a run: which files to parse (all of them, or, with
//! a [`FileCache`](crate::FileCache), those that changed), and every
//! file's work delivered in file order, reused or new.

use std::collections::HashMap;
use std::ops::ControlFlow;

use pyatlas_graph::InternalRoots;
use pyatlas_parser::{Config, SourceFile, parse_files};

use crate::cache::{Entry, Key, Lookup, Previous, lookup};
use crate::stored::Stored;
use crate::work::{Analysis, FileRows, FileWork};

/// What the cache keeps of a file just parsed: its facts, and its rows
/// when it keeps rows.
type Kept = (pyatlas_intent_tags::FileFacts, Option<FileRows>);

/// What the parse thread hands back.
pub(crate) struct Fed {
    /// The parse's outcome (only the workers failing to start is an error).
    pub(crate) parsed: Result<(), pyatlas_parser::StartError>,
    /// The cache's entries after the run, for an incremental one.
    pub(crate) entries: Option<HashMap<String, Entry>>,
    /// Files whose earlier work was reused.
    pub(crate) reused: u64,
}

/// Parses what must be and hands every file's work to `send`, in file
/// order; a file gone since the walk found it is a deletion, skipped.
/// `previous`: the cache's entries, for an incremental run; `stored`: the
/// facts the run's target keeps, when it keeps them (a file it holds as it
/// is now is not parsed; the files parsed have theirs encoded for it).
pub(crate) fn feed(
    files: &[SourceFile],
    previous: Option<Previous>,
    stored: Option<Stored>,
    config: &Config,
    analysis: &Analysis,
    roots: &InternalRoots,
    mut send: impl FnMut(FileWork) -> ControlFlow<()>,
) -> Fed {
    let incremental = previous.is_some();
    let keep_rows = previous.as_ref().is_none_or(|p| p.keep_rows);
    let (mut previous, source) = previous.map_or_else(Default::default, |p| (p.entries, p.source));
    let mut entries = HashMap::new();
    // What each file is: reused work, or a file to parse (with its key).
    let mut reused: Vec<(usize, FileWork)> = Vec::new();
    let mut parse: Vec<(usize, Option<Key>)> = Vec::new();
    let (format, mut stored) = (stored.as_ref().map(|s| s.format), stored);
    let mut held = |file: &SourceFile, hash| stored.as_mut().and_then(|stored| stored.take(file, hash));
    for (index, file) in files.iter().enumerate() {
        if !incremental {
            match held(file, None) {
                Some(work) => reused.push((index, work)),
                None => parse.push((index, None)),
            }
            continue;
        }
        match lookup(file, previous.remove(&file.rel_path)) {
            Lookup::Same(entry) => {
                match entry.work(&file.rel_path, source.as_ref()).or_else(|| held(file, entry.key().hash())) {
                    Some(work) => {
                        reused.push((index, work));
                        entries.insert(file.rel_path.clone(), *entry);
                    }
                    // Unchanged, but its rows are nowhere: parsed again.
                    None => parse.push((index, Some(entry.key()))),
                }
            }
            Lookup::Changed(key) => match held(file, key.hash()) {
                // New to the cache, but held by the target as it is.
                Some(work) => {
                    entries.insert(file.rel_path.clone(), key.entry(file, work.facts.clone(), None));
                    reused.push((index, work));
                }
                None => parse.push((index, Some(key))),
            },
            Lookup::Gone => {}
        }
    }
    let reused_count = reused.len() as u64;
    let mut reused = reused.into_iter().peekable();
    let to_parse: Vec<SourceFile> = parse.iter().map(|&(index, _)| files[index].clone()).collect();
    let mut keys = parse.into_iter();
    // The reused work of the files before `index`, sent first.
    let mut send_reused_before = |index: usize, send: &mut dyn FnMut(FileWork) -> ControlFlow<()>| {
        while let Some((_, work)) = reused.next_if(|(i, _)| *i < index) {
            send(work)?;
        }
        ControlFlow::Continue(())
    };
    let parsed = parse_files(
        &to_parse,
        config,
        // The cache's copy is made here, on the workers, in parallel.
        |parsed| {
            let work = analysis.file(&parsed, roots, format.as_ref());
            let kept = incremental.then(|| (work.facts.clone(), keep_rows.then(|| work.rows())));
            (work, kept)
        },
        |(work, kept): (FileWork, Option<Kept>)| {
            let Some((index, key)) = keys.next() else { return ControlFlow::Break(()) };
            send_reused_before(index, &mut send)?;
            let file = &files[index];
            if work.unreadable && !file.path.exists() {
                // Gone between the walk and the parse: a deletion.
                return ControlFlow::Continue(());
            }
            if let (Some(key), Some((facts, rows))) = (key, kept) {
                entries.insert(file.rel_path.clone(), key.entry(file, facts, rows));
            }
            send(work)
        },
    );
    let parsed = parsed.map(|_| {
        let _ = send_reused_before(usize::MAX, &mut send);
    });
    Fed { parsed, entries: incremental.then_some(entries), reused: reused_count }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use pyatlas_chunker::{CharCounter, ChunkConfig, Chunker};
    use pyatlas_classifier::{RuleClassifier, Rules};
    use pyatlas_intent_tags::IntentConfig;
    use pyatlas_parser::{ModuleName, discover};

    use super::*;
    use crate::cache::FileCache;

    fn analysis() -> Analysis {
        Analysis {
            chunker: Chunker::new(ChunkConfig::default(), CharCounter).expect("a chunker"),
            classifier: Box::new(RuleClassifier::new(Rules::default())),
            intent: IntentConfig::default(),
        }
    }

    /// The paths `feed` hands on, and what it hands back.
    fn fed(files: &[SourceFile], previous: Option<Previous>) -> (Vec<String>, Fed) {
        let (works, fed) = works(files, previous);
        (works.into_iter().map(|w| w.file.path).collect(), fed)
    }

    /// The work `feed` hands on, and what it hands back.
    fn works(files: &[SourceFile], previous: Option<Previous>) -> (Vec<FileWork>, Fed) {
        let sent = Mutex::new(Vec::new());
        let roots = InternalRoots::new(files.iter().map(|f| f.module.as_str()));
        let fed = feed(files, previous, None, &Config::default(), &analysis(), &roots, |work| {
            sent.lock().expect("sent").push(work);
            ControlFlow::Continue(())
        });
        (sent.into_inner().expect("sent"), fed)
    }

    #[test]
    fn a_cache_without_rows_takes_them_from_its_source_or_parses_again() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for name in ["a", "b", "c"] {
            std::fs::write(dir.path().join(format!("{name}.py")), format!("def {name}():\n    return 1\n"))
                .expect("written");
        }
        let files = discover(dir.path(), &Config::default()).expect("the walk").files;
        let roots = InternalRoots::new(files.iter().map(|f| f.module.as_str()));
        let mut cache = FileCache::without_rows();
        let (first, result) = works(&files, Some(cache.take_for("f", &roots)));
        cache.put_back(result.entries.expect("entries"));
        // No source: unchanged files are parsed again, to the same rows.
        let (again, result) = works(&files, Some(cache.take_for("f", &roots)));
        assert_eq!(result.reused, 0);
        assert_eq!(
            again.iter().map(FileWork::rows).collect::<Vec<_>>(),
            first.iter().map(FileWork::rows).collect::<Vec<_>>()
        );
        cache.put_back(result.entries.expect("entries"));
        // A source with the rows of a and c only.
        let rows: HashMap<String, FileRows> =
            first.iter().filter(|w| w.file.path != "b.py").map(|w| (w.file.path.clone(), w.rows())).collect();
        cache.set_row_source(std::sync::Arc::new(move |path: &str| rows.get(path).cloned()));
        let (third, result) = works(&files, Some(cache.take_for("f", &roots)));
        assert_eq!(result.reused, 2, "a and c from the source, b parsed again");
        assert_eq!(
            third.iter().map(FileWork::rows).collect::<Vec<_>>(),
            first.iter().map(FileWork::rows).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_file_gone_since_the_walk_is_a_deletion_and_order_holds() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for name in ["a", "b", "c", "d"] {
            std::fs::write(dir.path().join(format!("{name}.py")), format!("def {name}():\n    return 1\n"))
                .expect("written");
        }
        let mut files = discover(dir.path(), &Config::default()).expect("the walk").files;
        // Found by the walk, gone before the parse.
        let mut gone = files[0].clone();
        gone.path = dir.path().join("gone.py");
        gone.rel_path = "gone.py".into();
        gone.module = ModuleName::new("gone");
        files.insert(2, gone);
        let (sent, result) = fed(&files, None);
        assert!(result.parsed.is_ok());
        assert_eq!(sent, ["a.py", "b.py", "c.py", "d.py"], "the rest, in order; the gone file skipped");

        // Incremental: b changes, the rest is reused, and order still holds.
        let mut cache = FileCache::new();
        let roots = InternalRoots::new(files.iter().map(|f| f.module.as_str()));
        let previous = cache.take_for("f", &roots);
        let (_, first) = fed(&files, Some(previous));
        assert_eq!(first.reused, 0);
        cache.put_back(first.entries.expect("entries"));
        std::fs::write(dir.path().join("b.py"), "def b():\n    return 2\n").expect("edited");
        let previous = cache.take_for("f", &roots);
        assert_eq!(previous.entries.len(), 4, "the gone file was never kept");
        let (sent, second) = fed(&files, Some(previous));
        assert_eq!(sent, ["a.py", "b.py", "c.py", "d.py"]);
        assert_eq!(second.reused, 3, "only b parsed again");
        // Another fingerprint: nothing is reused.
        cache.put_back(second.entries.expect("entries"));
        assert!(cache.take_for("g", &roots).entries.is_empty());
    }
}
