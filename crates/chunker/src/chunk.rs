//! The chunking algorithm.
//!
//! A file is a *container* (the module) of *siblings*: the units defined
//! directly in it and the runs of other lines between them. A class that
//! does not fit the cap is a container of its own (its head and other
//! class-level runs, its methods and nested classes). Every sibling becomes
//! one span if it fits, or is split into parts at statement boundaries;
//! small neighbouring spans of one container are then merged. Spans are line
//! ranges, so every line between the first and the last is in exactly one
//! span (or in two, for the overlap of consecutive parts).

use std::cell::OnceCell;
use std::ops::Range;

use pyatlas_parser::tree_sitter::{Node, Tree};
use pyatlas_parser::{ByteRange, FileRecord, QualName, Unit, UnitKind};

use crate::config::ChunkConfig;
use crate::model::{Chunk, ChunkId, ChunkKind};
use crate::tokens::TokenCounter;

/// No statement starts on this line: not a preferred split point.
const NO_SPLIT: u16 = u16::MAX;

/// Chunks one file. `text` and `tree` are those the record was extracted from.
pub(crate) fn chunk_file(
    config: &ChunkConfig,
    counter: &dyn TokenCounter,
    record: &FileRecord,
    text: &str,
    tree: Option<&Tree>,
) -> Vec<Chunk> {
    let file = File::new(config, counter, record, text, tree);
    if file.lines.is_empty() {
        return Vec::new();
    }
    let module = Container { header: file.path_header(), parent: None, gap_kind: ChunkKind::Module, unit: None };
    let last = to_u32(file.lines.len());
    let children: Vec<u32> = file.direct_children(None);
    let spans = file.container(&module, 1, last, &children);
    spans.into_iter().map(|span| file.finish(span)).collect()
}

/// The scope siblings share: its context header and the kind of its runs of code.
struct Container {
    header: String,
    parent: Option<QualName>,
    gap_kind: ChunkKind,
    /// The class this container is, if it is one.
    unit: Option<u32>,
}

/// A chunk before it is given its id.
#[derive(Debug)]
struct Span {
    a: u32,
    b: u32,
    kind: ChunkKind,
    qualnames: Vec<QualName>,
    parent: Option<QualName>,
    text: String,
    header_len: usize,
    tokens: usize,
    /// May be merged with a neighbour of the same container.
    mergeable: bool,
    part: (u32, u32),
    /// For a piece of one line: its byte range.
    inline: Option<Range<usize>>,
}

#[derive(Clone, Copy, Debug)]
enum Sibling {
    Gap { a: u32, b: u32 },
    Unit { a: u32, b: u32, index: u32, attached_head: bool },
}

impl Sibling {
    fn range(self) -> (u32, u32) {
        match self {
            Self::Gap { a, b } | Self::Unit { a, b, .. } => (a, b),
        }
    }
}

struct File<'a> {
    config: &'a ChunkConfig,
    counter: &'a dyn TokenCounter,
    record: &'a FileRecord,
    text: &'a str,
    tree: Option<&'a Tree>,
    /// Byte range of each line (index 0 is line 1), without its `\n`.
    lines: Vec<Range<usize>>,
    /// Per line: depth of the shallowest statement a part may start with there.
    split_depth: OnceCell<Vec<u16>>,
    /// Per line: part of some unit's decorators or signature.
    header_lines: OnceCell<Vec<bool>>,
}

impl<'a> File<'a> {
    fn new(
        config: &'a ChunkConfig,
        counter: &'a dyn TokenCounter,
        record: &'a FileRecord,
        text: &'a str,
        tree: Option<&'a Tree>,
    ) -> Self {
        let mut lines = Vec::new();
        let mut start = 0;
        for (i, byte) in text.bytes().enumerate() {
            if byte == b'\n' {
                lines.push(start..i);
                start = i + 1;
            }
        }
        if start < text.len() {
            lines.push(start..text.len());
        }
        Self { config, counter, record, text, tree, lines, split_depth: OnceCell::new(), header_lines: OnceCell::new() }
    }

    // ----- lines ---------------------------------------------------------------

    fn line(&self, n: u32) -> &'a str {
        self.lines.get((n as usize).wrapping_sub(1)).and_then(|r| self.text.get(r.clone())).unwrap_or_default()
    }

    fn is_blank(&self, n: u32) -> bool {
        self.line(n).trim().is_empty()
    }

    fn is_comment(&self, n: u32) -> bool {
        self.line(n).trim_start().starts_with('#')
    }

    fn last_line(&self) -> u32 {
        to_u32(self.lines.len())
    }

    /// Bytes of lines `a..=b`, without the last line's newline.
    fn byte_range(&self, a: u32, b: u32) -> Range<usize> {
        let line = |n: u32| (n as usize).checked_sub(1).and_then(|i| self.lines.get(i));
        let start = line(a).map_or(0, |r| r.start);
        let end = line(b).map_or(start, |r| r.end);
        start..end.max(start)
    }

    /// The code of lines `a..=b`, normalised as configured.
    fn code(&self, a: u32, b: u32) -> String {
        normalise(self.text.get(self.byte_range(a, b)).unwrap_or_default(), self.config)
    }

    // ----- headers ----------------------------------------------------------------

    fn path_header(&self) -> String {
        if self.config.header { format!("# {}\n", self.record.path) } else { String::new() }
    }

    /// `lines` of the source as header comment lines, appended to `header`.
    fn with_lines(&self, header: &str, a: u32, b: u32) -> String {
        if !self.config.header {
            return String::new();
        }
        let mut out = header.to_owned();
        for n in a..=b {
            out.push_str("# ");
            out.push_str(self.line(n).trim_end());
            out.push('\n');
        }
        out
    }

    // ----- structure ----------------------------------------------------------------

    fn unit(&self, index: u32) -> Option<&'a Unit> {
        self.record.units.get(index as usize)
    }

    /// Units that are statements directly in `parent`'s body (or in the
    /// module): a `def` inside an `if` at module level belongs to that `if`.
    fn direct_children(&self, parent: Option<u32>) -> Vec<u32> {
        let body_indent = match parent {
            None => Some(0),
            Some(p) => self.body_indent(p),
        };
        (0..to_u32(self.record.units.len()))
            .filter(|&i| {
                let Some(unit) = self.unit(i) else { return false };
                unit.parent == parent && body_indent.is_none_or(|indent| indent_of(self.line(unit.line)) == indent)
            })
            .collect()
    }

    /// Indentation of the first statement of a class body.
    fn body_indent(&self, class: u32) -> Option<usize> {
        let unit = self.unit(class)?;
        (unit.header_end_line + 1..=unit.end_line)
            .find(|&n| !self.is_blank(n) && !self.is_comment(n))
            .map(|n| indent_of(self.line(n)))
    }

    /// The outermost units whose `def`/`class` line lies in `a..=b`.
    fn outermost_units(&self, a: u32, b: u32) -> Vec<QualName> {
        let inside = |u: &Unit| (a..=b).contains(&u.line);
        self.record
            .units
            .iter()
            .filter(|u| inside(u) && u.parent.and_then(|p| self.unit(p)).is_none_or(|p| !inside(p)))
            .map(|u| u.qualname.clone())
            .collect()
    }

    /// Lays out lines `a..=b` of a container as siblings: its child units
    /// (extended upward over the comment lines above them) and the
    /// runs of lines between them. Runs of only blank lines are dropped; runs
    /// with no code (only comments, decorators and `class`/`def` lines) are
    /// attached to the next sibling (or the previous), so that no chunk is
    /// only a comment or a `class` line. `own_header` is the container's
    /// first line, whose qualname a sibling it is attached to then lists.
    fn layout(&self, a: u32, b: u32, children: &[u32], own_header: Option<u32>) -> Vec<Sibling> {
        let mut siblings = Vec::new();
        let mut cursor = a;
        for &index in children {
            let Some(unit) = self.unit(index) else { continue };
            if unit.start_line < cursor || unit.start_line > b {
                continue;
            }
            // The comment block above the unit belongs to it, even across
            // blank lines, when nothing but blank lines separates them.
            let mut start = unit.start_line;
            let mut above = unit.start_line;
            while above > cursor && (self.is_comment(above - 1) || self.is_blank(above - 1)) {
                above -= 1;
                if self.is_comment(above) {
                    start = above;
                }
            }
            let end = unit.end_line.clamp(unit.start_line, b);
            if cursor < start {
                siblings.push(Sibling::Gap { a: cursor, b: start - 1 });
            }
            siblings.push(Sibling::Unit { a: start, b: end, index, attached_head: false });
            cursor = end + 1;
        }
        if cursor <= b {
            siblings.push(Sibling::Gap { a: cursor, b });
        }
        // Runs of code start and end on non-blank lines; blank-only runs go.
        siblings.retain_mut(|s| match s {
            Sibling::Gap { a, b } => match (*a..=*b).find(|&n| !self.is_blank(n)) {
                Some(first) => {
                    let last = (first..=*b).rev().find(|&n| !self.is_blank(n)).unwrap_or(first);
                    (*a, *b) = (first, last);
                    true
                }
                None => false,
            },
            Sibling::Unit { .. } => true,
        });

        let trivial = |s: &Sibling| match *s {
            Sibling::Gap { a, b } => self.code_line_in(a, b).is_none(),
            Sibling::Unit { .. } => false,
        };
        let mut i = 0;
        while siblings.len() > 1 && i < siblings.len() {
            if !trivial(&siblings[i]) {
                i += 1;
                continue;
            }
            let (ga, gb) = siblings[i].range();
            let holds_header = own_header.is_some_and(|h1| (ga..=gb).contains(&h1));
            siblings.remove(i);
            if let Some(next) = siblings.get_mut(i) {
                *next = match *next {
                    Sibling::Gap { b, .. } => Sibling::Gap { a: ga, b },
                    Sibling::Unit { b, index, attached_head, .. } => {
                        Sibling::Unit { a: ga, b, index, attached_head: attached_head || holds_header }
                    }
                };
            } else if let Some(previous) = siblings.get_mut(i - 1) {
                *previous = match *previous {
                    Sibling::Gap { a, .. } => Sibling::Gap { a, b: gb },
                    Sibling::Unit { a, index, attached_head, .. } => Sibling::Unit { a, b: gb, index, attached_head },
                };
            }
        }
        siblings
    }

    /// Chunks lines `a..=b` of a container whose direct child units are `children`.
    fn container(&self, container: &Container, a: u32, b: u32, children: &[u32]) -> Vec<Span> {
        let own_header = container.unit.and_then(|u| self.unit(u)).map(|u| u.start_line);
        let own_qualname = container.unit.and_then(|u| self.unit(u)).map(|u| u.qualname.clone());
        let mut spans = Vec::new();
        for sibling in self.layout(a, b, children, own_header) {
            match sibling {
                Sibling::Gap { a, b } => {
                    let mut qualnames: Vec<QualName> = own_qualname.iter().cloned().collect();
                    if container.gap_kind == ChunkKind::Module {
                        qualnames = self.outermost_units(a, b);
                    }
                    spans.extend(self.range(container, a, b, container.gap_kind, qualnames, None));
                }
                Sibling::Unit { a, b, index, attached_head } => {
                    let Some(unit) = self.unit(index) else { continue };
                    let mut qualnames = Vec::new();
                    if attached_head {
                        qualnames.extend(own_qualname.iter().cloned());
                    }
                    qualnames.push(unit.qualname.clone());
                    let kind = match unit.kind {
                        UnitKind::Class => ChunkKind::Class,
                        UnitKind::Method => ChunkKind::Method,
                        _ => ChunkKind::Function,
                    };
                    let whole = self.span(container, a, b, kind, qualnames.clone(), container.header.clone());
                    if whole.tokens <= self.config.max_tokens {
                        spans.push(whole);
                    } else if unit.kind == UnitKind::Class {
                        let inner = Container {
                            header: self.with_lines(&container.header, unit.line, unit.line),
                            parent: Some(unit.qualname.clone()),
                            gap_kind: ChunkKind::ClassHead,
                            unit: Some(index),
                        };
                        let nested = self.direct_children(Some(index));
                        let mut inner_spans = self.container(&inner, a, b, &nested);
                        for span in &mut inner_spans {
                            span.mergeable = false;
                        }
                        spans.extend(inner_spans);
                    } else {
                        spans.extend(self.range(container, a, b, ChunkKind::Part, qualnames, Some(unit)));
                    }
                }
            }
        }
        self.merge(container, spans)
    }

    // ----- spans ----------------------------------------------------------------------

    fn span(
        &self,
        container: &Container,
        a: u32,
        b: u32,
        kind: ChunkKind,
        qualnames: Vec<QualName>,
        header: String,
    ) -> Span {
        let mut text = header;
        let header_len = text.len();
        text.push_str(&self.code(a, b));
        let tokens = self.counter.count(&text);
        Span {
            a,
            b,
            kind,
            qualnames,
            parent: container.parent.clone(),
            text,
            header_len,
            tokens,
            mergeable: true,
            part: (0, 1),
            inline: None,
        }
    }

    /// Lines `a..=b` as one span, or split into parts when over the cap.
    /// `unit` is the function or method being split, whose signature each
    /// later part repeats in its header.
    fn range(
        &self,
        container: &Container,
        a: u32,
        b: u32,
        kind: ChunkKind,
        qualnames: Vec<QualName>,
        unit: Option<&Unit>,
    ) -> Vec<Span> {
        // A unit's whole text was already counted by the caller.
        if unit.is_none() {
            let whole = self.span(container, a, b, kind, qualnames.clone(), container.header.clone());
            if whole.tokens <= self.config.max_tokens {
                return vec![whole];
            }
        }
        let cap = self.config.max_tokens;
        let first_header = self.affordable(container.header.clone());
        let later_header = match unit {
            Some(u) => self.affordable(self.with_lines(&container.header, u.line, u.header_end_line)),
            None => first_header.clone(),
        };
        let (first_tokens, later_tokens) = (self.counter.count(&first_header), self.counter.count(&later_header));
        let line_tokens: Vec<usize> = (a..=b).map(|n| self.counter.count(self.line(n)) + 1).collect();
        let tokens_of = |from: u32, to: u32| -> usize {
            if to < from { 0 } else { line_tokens[(from - a) as usize..=(to - a) as usize].iter().sum() }
        };

        let mut parts: Vec<Span> = Vec::new();
        let mut start = a;
        let mut previous_start = a;
        loop {
            // Blank lines need no part of their own.
            while start <= b && self.is_blank(start) {
                start += 1;
            }
            if start > b {
                break;
            }
            let is_first = parts.is_empty();
            let (header, header_tokens) =
                if is_first { (&first_header, first_tokens) } else { (&later_header, later_tokens) };
            let mut from = start;
            if !is_first && self.config.overlap_lines > 0 {
                from = start.saturating_sub(to_u32(self.config.overlap_lines)).max(previous_start + 1).min(start);
                if header_tokens + tokens_of(from, start - 1) > cap / 2 {
                    from = start;
                }
            }
            let budget = cap.saturating_sub(header_tokens + tokens_of(from, start - 1));
            // The furthest end whose lines fit, by the per-line counts (the
            // first line alone may not: the exact count below decides).
            let mut end = start;
            let mut used = line_tokens[(start - a) as usize];
            while end < b && used + line_tokens[(end + 1 - a) as usize] <= budget {
                end += 1;
                used += line_tokens[(end - a) as usize];
            }
            // A part reaches at least its first line of real code, so that
            // it is never only comments, decorators or a signature; the
            // per-line estimate may say it does not fit when the real (say,
            // dedented) text does: the exact count decides.
            let floor = self.first_code_line(start, b);
            // Nor may it leave behind only comments: it takes trailing
            // comments along, or leaves the last statement to the next part.
            let last_code = self.last_code_line(start, b);
            if end < b {
                end = self.split_end(start, end, floor, budget, &|to| tokens_of(start, to)).max(floor);
                if end >= last_code {
                    end = b;
                }
            }
            // Per-line counts are an estimate: check the real text, and give
            // back lines until it fits.
            loop {
                let mut span = self.span(container, from, end, kind, qualnames.clone(), header.clone());
                if span.tokens > cap && from < start {
                    // The overlap goes before any of the part's own lines do.
                    from = start;
                    continue;
                }
                if span.tokens <= cap || end == start {
                    if span.tokens > cap {
                        // One line over the cap once its header is added.
                        parts.extend(self.split_line(container, start, kind, &qualnames, header));
                        end = self.absorb_trailing_comments(&mut parts, start + 1, b) - 1;
                    } else {
                        span.mergeable = false;
                        parts.push(span);
                    }
                    break;
                }
                end -= 1;
                if end < b && end >= last_code && last_code > floor.max(start) {
                    end = last_code - 1;
                }
            }
            previous_start = start;
            start = end + 1;
        }
        let count = to_u32(parts.len());
        for (i, part) in parts.iter_mut().enumerate() {
            part.part = (to_u32(i), count);
        }
        parts
    }

    /// The first line of `from..=to` holding code: neither blank, nor a
    /// comment, nor part of some unit's decorators or signature.
    fn code_line_in(&self, from: u32, to: u32) -> Option<u32> {
        let header_lines = self.header_lines.get_or_init(|| {
            let mut lines = vec![false; self.lines.len() + 1];
            for unit in &self.record.units {
                for n in unit.start_line..=unit.header_end_line.min(self.last_line()) {
                    lines[n as usize] = true;
                }
            }
            lines
        });
        (from..=to).find(|&n| {
            !self.is_blank(n) && !self.is_comment(n) && !header_lines.get(n as usize).copied().unwrap_or(false)
        })
    }

    /// The first line of code at or after `from`; `to` if there is none.
    fn first_code_line(&self, from: u32, to: u32) -> u32 {
        self.code_line_in(from, to).unwrap_or(to)
    }

    /// Appends the comment and blank lines that follow a line cut by
    /// [`split_line`](Self::split_line), from `from` on, to its last piece,
    /// as many as still fit, rather than leaving them parts of their own.
    /// Returns the next line left to chunk.
    fn absorb_trailing_comments(&self, parts: &mut [Span], from: u32, to: u32) -> u32 {
        let Some(last) = parts.last_mut() else { return from };
        let Some(inline) = last.inline.clone() else { return from };
        let piece = last.text.clone();
        let mut next = from;
        for line in from..=to {
            if !self.is_blank(line) && !self.is_comment(line) {
                break;
            }
            if self.is_blank(line) {
                // Blank lines come along only before a comment that does.
                continue;
            }
            let end = self.byte_range(from, line).end;
            let Some(tail) = self.text.get(inline.end..end) else { break };
            let text = format!("{piece}{tail}");
            let tokens = self.counter.count(&text);
            if tokens > self.config.max_tokens {
                break;
            }
            last.text = text;
            last.tokens = tokens;
            last.b = line;
            last.inline = Some(inline.start..end);
            next = line + 1;
        }
        next
    }

    /// The last line of code in `from..=to`; `from` if there is none.
    fn last_code_line(&self, from: u32, to: u32) -> u32 {
        (from..=to).rev().find(|&n| self.code_line_in(n, n).is_some()).unwrap_or(from)
    }

    /// A header that leaves room for code: dropped when it would take more
    /// than half the cap.
    fn affordable(&self, header: String) -> String {
        if self.counter.count(&header) * 2 > self.config.max_tokens { String::new() } else { header }
    }

    /// Where to end a part that starts at `start` and could reach `furthest`:
    /// the line before a statement boundary, preferring the shallowest one
    /// among those that fill at least half the budget, and the latest among
    /// equals. Falls back to `furthest` (a line boundary) when no statement
    /// starts in reach. Never ends before `floor`.
    fn split_end(&self, start: u32, furthest: u32, floor: u32, budget: usize, tokens: &dyn Fn(u32) -> usize) -> u32 {
        let depths = self.split_depths();
        let mut best: Option<(bool, u16, u32)> = None;
        for next in (start + 1).max(floor + 1)..=furthest + 1 {
            let depth = depths.get(next as usize - 1).copied().unwrap_or(NO_SPLIT);
            if depth == NO_SPLIT {
                continue;
            }
            let full_enough = tokens(next - 1) * 2 >= budget;
            let key = (full_enough, depth, next);
            let better = match best {
                None => true,
                Some((f, d, _)) => (full_enough && !f) || (full_enough == f && depth <= d),
            };
            if better {
                best = Some(key);
            }
        }
        best.map_or(furthest, |(_, _, next)| next - 1).max(floor.min(furthest))
    }

    /// For each line, the depth of the shallowest statement (or clause) that
    /// starts on it, moved up over the comment lines directly above it so
    /// that a comment stays with its statement.
    fn split_depths(&self) -> &[u16] {
        self.split_depth.get_or_init(|| {
            let mut depths = vec![NO_SPLIT; self.lines.len()];
            if let Some(tree) = self.tree {
                statement_depths(tree.root_node(), &mut depths);
            }
            for line in 2..=self.last_line() {
                let depth = depths[line as usize - 1];
                if depth == NO_SPLIT || !self.is_comment(line - 1) {
                    continue;
                }
                let mut top = line - 1;
                while top > 1 && self.is_comment(top - 1) {
                    top -= 1;
                }
                depths[top as usize - 1] = depths[top as usize - 1].min(depth);
                depths[line as usize - 1] = NO_SPLIT;
            }
            depths
        })
    }

    /// Pieces of line `n`, each fitting the cap with `header`: only for a
    /// line longer than the whole cap (a huge literal).
    fn split_line(
        &self,
        container: &Container,
        n: u32,
        kind: ChunkKind,
        qualnames: &[QualName],
        header: &str,
    ) -> Vec<Span> {
        let cap = self.config.max_tokens;
        // A line that fits after all (its estimate counted a newline it does
        // not carry) is an ordinary part, not a cut one.
        let whole = self.span(container, n, n, kind, qualnames.to_vec(), header.to_owned());
        if whole.tokens <= cap {
            return vec![Span { mergeable: false, ..whole }];
        }
        let mut header = header.to_owned();
        if self.counter.count(&header) + 8 > cap {
            header.clear();
        }
        let line_range = self.byte_range(n, n);
        let line = self.text.get(line_range.clone()).unwrap_or_default();
        let line = if self.config.strip_trailing_whitespace { line.trim_end() } else { line };
        let mut pieces = Vec::new();
        let mut offset = 0;
        while offset < line.len() {
            let rest = &line[offset..];
            let mut budget = cap.saturating_sub(self.counter.count(&header));
            let (text, tokens, len) = loop {
                let mut len = self.counter.fitting_prefix(rest, budget);
                if len == 0 {
                    len = rest.chars().next().map_or(rest.len(), char::len_utf8);
                }
                let text = format!("{header}{}", &rest[..len]);
                let tokens = self.counter.count(&text);
                if tokens <= cap || budget == 0 {
                    break (text, tokens, len);
                }
                budget = budget.saturating_sub(tokens - cap);
            };
            let start = line_range.start + offset;
            pieces.push(Span {
                a: n,
                b: n,
                kind,
                qualnames: qualnames.to_vec(),
                parent: container.parent.clone(),
                header_len: header.len(),
                text,
                tokens,
                mergeable: false,
                part: (0, 1),
                inline: Some(start..start + len),
            });
            offset += len;
        }
        pieces
    }

    /// Merges runs of neighbouring spans of one container while the run or
    /// the next span is under `min_tokens` and the run fits. Run sizes are
    /// added up from the counts already made; a merged text is counted once.
    fn merge(&self, container: &Container, spans: Vec<Span>) -> Vec<Span> {
        let min = self.config.min_tokens;
        if min == 0 || spans.len() < 2 {
            return spans;
        }
        let header_tokens = if container.header.is_empty() { 0 } else { self.counter.count(&container.header) };
        let mut spans: Vec<Option<Span>> = spans.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(spans.len());
        let mut i = 0;
        while i < spans.len() {
            // The run spans[i..j], by estimate.
            let mut j = i + 1;
            let mut estimate = spans[i].as_ref().map_or(0, |s| s.tokens);
            while let (Some(Some(last)), Some(Some(next))) = (spans.get(j - 1), spans.get(j)) {
                let gap = next.a.saturating_sub(last.b) as usize;
                let joined = (estimate + next.tokens + gap).saturating_sub(header_tokens);
                if !(last.mergeable && next.mergeable)
                    || !(estimate < min || next.tokens < min)
                    || joined > self.config.max_tokens
                {
                    break;
                }
                estimate = joined;
                j += 1;
            }
            // The estimate can be a little low: give back spans until the text fits.
            let mut merged = None;
            while j - i > 1 {
                let run: Vec<&Span> = spans[i..j].iter().flatten().collect();
                let span = self.merged(container, &run);
                if span.tokens <= self.config.max_tokens {
                    merged = Some(span);
                    break;
                }
                j -= 1;
            }
            match merged {
                Some(span) => out.push(span),
                None => out.extend(spans[i].take()),
            }
            i = j.max(i + 1);
        }
        out
    }

    /// One span holding the lines of `run` (neighbours in one container).
    fn merged(&self, container: &Container, run: &[&Span]) -> Span {
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            return self.span(container, 1, 1, container.gap_kind, Vec::new(), container.header.clone());
        };
        let kind = if run.iter().all(|s| s.kind == first.kind) { first.kind } else { container.gap_kind };
        let mut qualnames: Vec<QualName> = Vec::new();
        for q in run.iter().flat_map(|s| &s.qualnames) {
            if !qualnames.contains(q) {
                qualnames.push(q.clone());
            }
        }
        self.span(container, first.a, last.b, kind, qualnames, container.header.clone())
    }

    fn finish(&self, span: Span) -> Chunk {
        let bytes = span.inline.clone().unwrap_or_else(|| self.byte_range(span.a, span.b));
        Chunk {
            id: ChunkId::of(&span.text),
            path: self.record.path.clone(),
            module: self.record.module.clone(),
            qualnames: span.qualnames,
            kind: span.kind,
            start_line: span.a,
            end_line: span.b,
            bytes: ByteRange::from(bytes),
            token_count: span.tokens,
            part_index: span.part.0,
            part_count: span.part.1,
            parent: span.parent,
            split_inside_line: span.inline.is_some(),
            header_len: span.header_len,
            text: span.text,
        }
    }
}

/// Records, for each line, the depth of the shallowest statement or clause
/// starting on it. Iterative: deep trees cannot overflow the stack.
fn statement_depths(root: Node<'_>, depths: &mut [u16]) {
    let mut cursor = root.walk();
    let mut depth: u16 = 0;
    let mut blocks: Vec<bool> = Vec::new();
    loop {
        let node = cursor.node();
        let kind = node.kind();
        let is_block = kind == "block";
        let parent_is_block = blocks.last().copied().unwrap_or(false);
        let starts_statement = node.is_named()
            && !node.is_extra()
            && (parent_is_block
                || matches!(kind, "elif_clause" | "else_clause" | "except_clause" | "finally_clause" | "case_clause"));
        if starts_statement {
            let row = node.start_position().row;
            if let Some(slot) = depths.get_mut(row) {
                *slot = (*slot).min(depth);
            }
        }
        let descend = !matches!(kind, "string" | "comment" | "identifier");
        blocks.push(is_block || kind == "module");
        if is_block {
            depth = depth.saturating_add(1);
        }
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if blocks.pop() == Some(true) && cursor.node().kind() == "block" {
                depth = depth.saturating_sub(1);
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

fn normalise(code: &str, config: &ChunkConfig) -> String {
    if !config.strip_trailing_whitespace && !config.dedent {
        return code.to_owned();
    }
    let indent =
        if config.dedent { code.lines().filter(|l| !l.trim().is_empty()).map(indent_of).min().unwrap_or(0) } else { 0 };
    let mut out = String::with_capacity(code.len());
    for (i, line) in code.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = if line.trim().is_empty() { "" } else { line.get(indent..).unwrap_or(line) };
        out.push_str(if config.strip_trailing_whitespace { line.trim_end() } else { line });
    }
    out
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t', '\x0c']).len()
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
