//! What one parsed file becomes, on the parser's worker threads: its rows
//! for the store and its compact facts for drift.

use std::collections::{BTreeSet, HashMap};

use pyatlas_chunker::{Chunk, Chunker};
use pyatlas_classifier::{Classifier, DomainScore};
use pyatlas_graph::InternalRoots;
use pyatlas_intent_tags::{FileFacts, IntentConfig};
use pyatlas_parser::{DiagnosticKind, ParsedFile, Unit};
use pyatlas_store::{ChunkRow, FileRow, HeldFile, TagRow, UnitRow};

use crate::stored::{FactsFormat, content_hash};

/// One file's part of a run.
#[derive(Clone)]
pub(crate) struct FileWork {
    pub(crate) file: FileRow,
    pub(crate) chunks: Vec<ChunkRow>,
    pub(crate) units: Vec<UnitRow>,
    pub(crate) tags: Vec<TagRow>,
    /// Kept until the end, for drift and the graphs: compact.
    pub(crate) facts: FileFacts,
    /// The file could not be read (its record says why).
    pub(crate) unreadable: bool,
    /// `Some(chunks)`: the run holds the file as it is (see
    /// [`RunSink::held_files`](crate::RunSink::held_files)), so its rows
    /// are not here: only its path, its facts and how many chunks it has.
    pub(crate) held_chunks: Option<u64>,
}

/// One file's rows for a run (its file, units, chunks and tags): what a
/// run that reuses the file needs besides its compact facts.
#[derive(Clone, Debug, PartialEq)]
pub struct FileRows {
    /// The file, with its source.
    pub file: FileRow,
    /// Its units.
    pub units: Vec<UnitRow>,
    /// Its chunks.
    pub chunks: Vec<ChunkRow>,
    /// Its intent tags.
    pub tags: Vec<TagRow>,
}

impl FileWork {
    /// A copy of the file's rows.
    pub(crate) fn rows(&self) -> FileRows {
        FileRows {
            file: self.file.clone(),
            units: self.units.clone(),
            chunks: self.chunks.clone(),
            tags: self.tags.clone(),
        }
    }

    /// The work of a readable file from its rows and facts.
    pub(crate) fn of(rows: FileRows, facts: FileFacts) -> Self {
        let FileRows { file, units, chunks, tags } = rows;
        Self { file, chunks, units, tags, facts, unreadable: false, held_chunks: None }
    }

    /// The work of a file the run holds as it is: its facts, read back.
    pub(crate) fn held(held: HeldFile, facts: FileFacts) -> Self {
        let file = FileRow {
            path: held.path,
            module: held.module,
            content_hash: held.content_hash,
            lines: 0,
            source: String::new(),
            facts: None,
        };
        Self {
            file,
            chunks: Vec::new(),
            units: Vec::new(),
            tags: Vec::new(),
            facts,
            unreadable: false,
            held_chunks: Some(held.chunks),
        }
    }
}

/// What every file goes through, shared by the worker threads.
pub(crate) struct Analysis {
    pub(crate) chunker: Chunker,
    pub(crate) classifier: Box<dyn Classifier>,
    pub(crate) intent: IntentConfig,
}

impl Analysis {
    /// `roots`: the top-level names of the codebase's modules; `format`:
    /// how the facts are kept in the file's row, when the run keeps them.
    pub(crate) fn file(&self, parsed: &ParsedFile, roots: &InternalRoots, format: Option<&FactsFormat>) -> FileWork {
        let record = parsed.record();
        let classification = self.classifier.classify(record);
        let facts = FileFacts::gather(parsed, &classification, &self.intent, roots);
        let module = record.module.as_str();
        let by_qualname: HashMap<&str, &[DomainScore]> = record
            .units
            .iter()
            .zip(&classification.units)
            .map(|(unit, domains)| (unit.qualname.as_str(), domains.as_slice()))
            .collect();
        let chunks = self
            .chunker
            .chunk(parsed)
            .into_iter()
            .map(|chunk| {
                // A chunk's domains: those of the units it holds, or the
                // module's for module-level code.
                let mut domains = BTreeSet::new();
                for name in &chunk.qualnames {
                    let scores = by_qualname.get(name.as_str()).copied().unwrap_or_default();
                    domains.extend(scores.iter().map(|d| d.domain.clone()));
                }
                if chunk.qualnames.is_empty() {
                    domains.extend(classification.module.iter().map(|d| d.domain.clone()));
                }
                chunk_row(chunk, domains.into_iter().collect())
            })
            .collect();
        let tags = facts
            .tags
            .tags
            .iter()
            .flat_map(|tag| {
                let scope =
                    tag.unit.and_then(|u| record.unit(u)).map_or_else(|| module.to_owned(), |u| u.qualname.to_string());
                tag.values.iter().map(move |value| TagRow {
                    path: record.path.clone(),
                    line: tag.line,
                    scope: scope.clone(),
                    key: tag.key.clone(),
                    value: value.clone(),
                })
            })
            .collect();
        let text = parsed.text();
        let lines: Vec<&str> = text.lines().collect();
        let units = record.units.iter().map(|unit| unit_row(&record.path, unit, &lines)).collect();
        let file = FileRow {
            path: record.path.clone(),
            module: module.to_owned(),
            content_hash: content_hash(&blake3::hash(text.as_bytes())),
            lines: record.lines,
            source: text.to_owned(),
            facts: format.and_then(|format| format.encode(&facts)),
        };
        let unreadable = record.diagnostics.iter().any(|d| d.kind == DiagnosticKind::Io);
        FileWork { file, chunks, units, tags, facts, unreadable, held_chunks: None }
    }
}

fn chunk_row(chunk: Chunk, domains: Vec<String>) -> ChunkRow {
    let metadata = serde_json::json!({
        "module": chunk.module.as_str(),
        "part_index": chunk.part_index,
        "part_count": chunk.part_count,
        "parent": chunk.parent.as_ref().map(|p| p.as_str()),
    });
    ChunkRow {
        id: chunk.id,
        path: chunk.path,
        qualnames: chunk.qualnames.into_iter().map(|q| q.as_str().to_owned()).collect(),
        kind: chunk.kind,
        start_line: chunk.start_line,
        end_line: chunk.end_line,
        token_count: u32::try_from(chunk.token_count).unwrap_or(u32::MAX),
        text: chunk.text,
        domains,
        metadata,
    }
}

fn unit_row(path: &str, unit: &Unit, lines: &[&str]) -> UnitRow {
    let first = unit.line.saturating_sub(1) as usize;
    let last = (unit.header_end_line as usize).min(lines.len());
    let header = lines.get(first..last).unwrap_or_default();
    UnitRow {
        path: path.to_owned(),
        qualname: unit.qualname.as_str().to_owned(),
        name: unit.name.clone(),
        kind: unit.kind,
        line: unit.line,
        start_line: unit.start_line,
        end_line: unit.end_line,
        signature: signature(header),
        doc: unit
            .docstring
            .as_deref()
            .and_then(|doc| doc.lines().map(str::trim).find(|l| !l.is_empty()))
            .map(str::to_owned),
    }
}

/// A `def` or `class` header on one line, without its `:`: the header's
/// lines trimmed and joined, cut at the first `:` outside brackets and
/// strings, comments dropped.
fn signature(header: &[&str]) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for line in header {
        let line = line.trim();
        if line.starts_with([')', ']', '}']) {
            // A trailing comma before a closing bracket on its own line.
            let kept = out.trim_end_matches([' ', ',']).len();
            out.truncate(kept);
        } else if !out.is_empty() && !out.ends_with(['(', '[', '{']) {
            out.push(' ');
        }
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') => break,
                (None, '(' | '[' | '{') => depth += 1,
                (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
                (None, ':') if depth == 0 => return tidy(out),
                _ => {}
            }
            out.push(c);
        }
        let kept = out.trim_end().len();
        out.truncate(kept);
    }
    tidy(out)
}

fn tidy(text: String) -> String {
    text.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn signatures_are_one_line_headers() {
        assert_eq!(signature(&["    def f(x): return {1: 2}"]), "def f(x)");
        assert_eq!(
            signature(&["async def f(", "    a: int,  # the a", "    b=lambda: 1,", ") -> dict[str, int]:"]),
            "async def f(a: int, b=lambda: 1) -> dict[str, int]"
        );
        assert_eq!(signature(&["class A(B, metaclass=M):"]), "class A(B, metaclass=M)");
        assert_eq!(signature(&["def h(x=(1,)):"]), "def h(x=(1,))");
        assert_eq!(signature(&["def g(s=':'):  # c"]), "def g(s=':')");
    }
}
