//! The chunker's invariants, checked on one file's chunks.
#![allow(dead_code)] // each test binary uses a part of these helpers

use pyatlas_chunker::{Chunk, ChunkConfig, Chunker, is_header_only};
use pyatlas_parser::ParsedFile;

/// The lines of `text` as the chunker numbers them (1-based, without `\n`).
pub(crate) fn lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if text.ends_with('\n') || text.is_empty() {
        lines.pop();
    }
    lines
}

/// What normalisation should have made of `code`.
pub(crate) fn normalise(code: &str, config: &ChunkConfig) -> String {
    let indent = if config.dedent {
        code.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start_matches([' ', '\t', '\x0c']).len())
            .min()
            .unwrap_or(0)
    } else {
        0
    };
    code.split('\n')
        .map(|l| {
            let l = if !config.dedent {
                l
            } else if l.trim().is_empty() {
                ""
            } else {
                &l[indent..]
            };
            if config.strip_trailing_whitespace { l.trim_end() } else { l }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks invariants 1-4 (and that `token_count` is exact) on the chunks of
/// one file; returns a description of every violation.
pub(crate) fn violations(chunker: &Chunker, parsed: &ParsedFile, chunks: &[Chunk]) -> Vec<String> {
    let config = chunker.config();
    let text = parsed.text();
    let path = &parsed.record().path;
    let lines = lines(text);
    let mut problems = Vec::new();
    let mut covered = vec![false; lines.len() + 1];
    let only_comments = lines.iter().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    // Lines that hold a unit's decorators or signature, not code.
    let mut header_lines = vec![false; lines.len() + 1];
    for unit in &parsed.record().units {
        let end = (unit.header_end_line as usize).min(lines.len());
        if let Some(span) = header_lines.get_mut(unit.start_line as usize..=end) {
            span.fill(true);
        }
    }
    let mut previous: Option<&Chunk> = None;
    for chunk in chunks {
        let after = previous.replace(chunk);
        let at = format!("{path}:{}-{}", chunk.start_line, chunk.end_line);
        let exact = chunker.counter().count(&chunk.text);
        if exact != chunk.token_count {
            problems.push(format!("{at}: token_count {} but the text has {exact} tokens", chunk.token_count));
        }
        if exact > config.max_tokens {
            problems.push(format!("{at}: {exact} tokens, over the cap of {}", config.max_tokens));
        }
        if chunk.start_line < 1 || chunk.end_line < chunk.start_line || chunk.end_line as usize > lines.len() {
            problems.push(format!("{at}: line range outside the file's {} lines", lines.len()));
            continue;
        }
        for line in chunk.start_line..=chunk.end_line {
            covered[line as usize] = true;
        }
        let source = text.get(chunk.bytes.start..chunk.bytes.end).unwrap_or("<bad byte range>");
        let expected = if chunk.split_inside_line {
            // A piece of one line is exactly its bytes (a stripped line is
            // stripped before it is cut).
            source.to_owned()
        } else {
            let start = chunk.start_line as usize - 1;
            let end = chunk.end_line as usize;
            let slice = lines[start..end].join("\n");
            if slice != source {
                problems.push(format!("{at}: byte range does not match the line range"));
            }
            normalise(&slice, config)
        };
        if chunk.code() != expected {
            problems.push(format!(
                "{at}: code is not the source lines:\n--- code\n{}\n--- source\n{expected}",
                chunk.code()
            ));
        }
        if !config.header && chunk.header_len != 0 {
            problems.push(format!("{at}: a header although headers are off"));
        }
        if is_header_only(chunk.code())
            && !chunk.split_inside_line
            && !only_comments
            && !unavoidable(chunker, chunk, &lines, &header_lines)
            && !after_cut_line(chunker, chunk, after, text, &lines)
        {
            problems.push(format!("{at}: header-only chunk:\n{}", chunk.code()));
        }
    }
    for (i, line) in lines.iter().enumerate() {
        if !line.trim().is_empty() && !covered[i + 1] {
            problems.push(format!("{path}:{}: non-blank line in no chunk: {line}", i + 1));
        }
    }
    problems
}

/// A header-only first part is unavoidable when the unit's decorators and
/// signature, with its first line of code, do not fit the cap together.
fn unavoidable(chunker: &Chunker, chunk: &Chunk, lines: &[&str], header_lines: &[bool]) -> bool {
    if chunk.part_count < 2 {
        return false;
    }
    let end = chunk.end_line as usize;
    let Some(next_code) = (end..lines.len()).find(|&i| {
        let line = lines[i].trim();
        !line.is_empty() && !line.starts_with('#') && !header_lines[i + 1]
    }) else {
        return false;
    };
    // Exactly the text the chunker would have made of the part extended
    // through that line.
    let slice = lines[chunk.start_line as usize - 1..=next_code].join("\n");
    let text = format!("{}{}", chunk.header(), normalise(&slice, chunker.config()));
    chunker.counter().count(&text) > chunker.config().max_tokens
}

/// Trailing comments of a split unit that cannot join the part (or the
/// piece of a cut line) before them under the cap: the joined text is built
/// exactly as the chunker would build it.
fn after_cut_line(chunker: &Chunker, chunk: &Chunk, previous: Option<&Chunk>, text: &str, lines: &[&str]) -> bool {
    let Some(previous) = previous.filter(|p| {
        (p.split_inside_line || (p.part_count > 1 && p.qualnames == chunk.qualnames))
            && (p.end_line as usize..chunk.start_line as usize - 1).all(|i| lines[i].trim().is_empty())
    }) else {
        return false;
    };
    let joined = if previous.split_inside_line {
        // A piece of a cut line is raw source; so would its extension be.
        let end = chunk.bytes.end.max(previous.bytes.end);
        format!("{}{}", previous.text, text.get(previous.bytes.end..end).unwrap_or_default())
    } else {
        let slice = lines[previous.start_line as usize - 1..chunk.end_line as usize].join("\n");
        format!("{}{}", previous.header(), normalise(&slice, chunker.config()))
    };
    chunker.counter().count(&joined) > chunker.config().max_tokens
}
