//! Parsing one file: read, decode, parse with tree-sitter, extract.

use std::borrow::Cow;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};

use tree_sitter::{Parser, Tree};

use crate::config::Config;
use crate::decode::{byte_line_col, decode, to_u32};
use crate::discover::SourceFile;
use crate::error::GrammarError;
use crate::extract::{ExtractOptions, extract};
use crate::model::{Diagnostic, DiagnosticKind, FileRecord};

/// One parsed file: the extracted [`FileRecord`], the decoded text and the
/// tree-sitter tree (for crates that need more than the record, such as the
/// chunker).
#[derive(Debug)]
pub struct ParsedFile {
    record: FileRecord,
    text: String,
    tree: Option<Tree>,
}

impl ParsedFile {
    /// What was extracted.
    pub fn record(&self) -> &FileRecord {
        &self.record
    }

    /// The decoded source: UTF-8, BOM removed, lone `\r` line endings read
    /// as `\n`. Byte offsets in the record and the tree index this text.
    /// Empty when the file could not be read or was too large.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The syntax tree; `None` when the file was not parsed (unreadable or
    /// too large). A NUL byte is parsed as a space, so the tree's offsets
    /// still match [`text`](Self::text).
    pub fn tree(&self) -> Option<&Tree> {
        self.tree.as_ref()
    }

    /// Gives up the text and tree, keeping the record.
    pub fn into_record(self) -> FileRecord {
        self.record
    }

    /// The record, text and tree.
    pub fn into_parts(self) -> (FileRecord, String, Option<Tree>) {
        (self.record, self.text, self.tree)
    }
}

/// A reusable single-threaded parser (each worker thread owns one).
///
/// ```
/// use pyatlas_parser::{SourceFile, SourceParser};
///
/// let mut parser = SourceParser::new(&Default::default())?;
/// let file = SourceFile::in_memory("pkg/mod.py", "pkg.mod", false);
/// let parsed = parser.parse_bytes(&file, b"class A:\n    def m(self):\n        def inner(): pass\n");
/// let qualnames: Vec<_> = parsed.record().units.iter().map(|u| u.qualname.as_str()).collect();
/// assert_eq!(qualnames, ["A", "A.m", "A.m.<locals>.inner"]);
/// # Ok::<(), pyatlas_parser::GrammarError>(())
/// ```
pub struct SourceParser {
    parser: Parser,
    max_file_size: u64,
    extract: ExtractOptions,
}

impl std::fmt::Debug for SourceParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceParser").field("max_file_size", &self.max_file_size).finish_non_exhaustive()
    }
}

impl SourceParser {
    /// A parser with the limits of `config`.
    ///
    /// # Errors
    /// [`GrammarError`] if the tree-sitter runtime rejects the grammar.
    pub fn new(config: &Config) -> Result<Self, GrammarError> {
        let mut parser = Parser::new();
        parser.set_language(&tree_sitter_python::LANGUAGE.into())?;
        Ok(Self {
            parser,
            max_file_size: config.max_file_size,
            extract: ExtractOptions { max_syntax_diagnostics: config.max_syntax_diagnostics },
        })
    }

    /// Reads and parses `file`. Never fails: a file that cannot be read or
    /// is over the size limit gets a record with a diagnostic and no tree.
    pub fn parse_file(&mut self, file: &SourceFile) -> ParsedFile {
        let limit = self.max_file_size.saturating_add(1);
        let mut bytes = Vec::with_capacity(usize::try_from(file.size.min(limit)).unwrap_or(0) + 1);
        let read = std::fs::File::open(&file.path).and_then(|f| f.take(limit).read_to_end(&mut bytes));
        if let Err(error) = read {
            let mut record = empty_record(file);
            record.diagnostics.push(Diagnostic::error(
                DiagnosticKind::Io,
                1,
                1,
                format!("cannot read {}: {error}", file.path.display()),
            ));
            return ParsedFile { record, text: String::new(), tree: None };
        }
        if bytes.len() as u64 > self.max_file_size {
            let mut record = empty_record(file);
            record.bytes = std::fs::metadata(&file.path).map_or(bytes.len() as u64, |m| m.len());
            record.diagnostics.push(Diagnostic::error(
                DiagnosticKind::TooLarge,
                1,
                1,
                format!(
                    "skipped: the file is {} bytes, over the limit of {} bytes (Config::max_file_size)",
                    record.bytes, self.max_file_size
                ),
            ));
            return ParsedFile { record, text: String::new(), tree: None };
        }
        self.parse_owned(file, bytes)
    }

    /// Parses `source` as the contents of `file` (whose path and module name
    /// are used; the size limit is not applied).
    pub fn parse_bytes(&mut self, file: &SourceFile, source: &[u8]) -> ParsedFile {
        self.parse_owned(file, source.to_vec())
    }

    fn parse_owned(&mut self, file: &SourceFile, source: Vec<u8>) -> ParsedFile {
        let mut record = empty_record(file);
        record.bytes = source.len() as u64;
        let decoded = decode(source);
        record.encoding = decoded.encoding;
        record.diagnostics = decoded.diagnostics;
        let text = decoded.text;
        record.lines = count_lines(&text);

        // tree-sitter stops lexing at a NUL; CPython refuses the whole file.
        // Report it, and parse the rest with each NUL read as a space.
        let parse_text: Cow<'_, str> = match memchr::memchr(0, text.as_bytes()) {
            None => Cow::Borrowed(&text),
            Some(pos) => {
                let (line, column) = byte_line_col(text.as_bytes(), pos);
                let count = memchr::memchr_iter(0, text.as_bytes()).count();
                record.diagnostics.push(Diagnostic::error(
                    DiagnosticKind::NulByte,
                    line,
                    column,
                    format!("source code cannot contain null bytes ({count} found; parsed as spaces)"),
                ));
                Cow::Owned(text.replace('\0', " "))
            }
        };

        let Some(tree) = self.parser.parse(parse_text.as_bytes(), None) else {
            self.parser.reset();
            record.diagnostics.push(Diagnostic::error(DiagnosticKind::Internal, 1, 1, "tree-sitter returned no tree"));
            return ParsedFile { record, text, tree: None };
        };
        let options = self.extract;
        let extracted = catch_unwind(AssertUnwindSafe(|| {
            let mut scratch = record.clone();
            extract(&tree, &parse_text, &mut scratch, options);
            scratch
        }));
        match extracted {
            Ok(full) => record = full,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                record.diagnostics.push(Diagnostic::error(
                    DiagnosticKind::Internal,
                    1,
                    1,
                    format!("internal error while extracting this file (please report it): {what}"),
                ));
            }
        }
        drop(parse_text);
        ParsedFile { record, text, tree: Some(tree) }
    }
}

fn empty_record(file: &SourceFile) -> FileRecord {
    FileRecord {
        path: file.rel_path.clone(),
        module: file.module.clone(),
        is_package: file.is_package,
        bytes: file.size,
        encoding: "utf-8".to_owned(),
        ..FileRecord::default()
    }
}

/// Lines as Python counts them: a last line without a newline counts.
fn count_lines(text: &str) -> u32 {
    let newlines = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    to_u32(newlines + usize::from(!text.is_empty() && !text.ends_with('\n')))
}
