//! Measures of chunk quality, shared by the `chunk` example, the tests and
//! the benchmark against other chunkers (they need only the chunk's code).

/// `true` when `code` holds no statement and no more than a lone comment:
/// only blank lines, decorators, `def`/`class` header lines (a signature
/// without its body) and comments of under 50 non-whitespace characters in
/// all. Such a chunk says where code is without holding any. A block of
/// comment prose at least that long is documentation, not a header.
pub fn is_header_only(code: &str) -> bool {
    let comment_chars: usize = code
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('#'))
        .map(|l| l.chars().filter(|c| !c.is_whitespace()).count())
        .sum();
    only_headers_and_comments(code) && comment_chars < 50
}

fn only_headers_and_comments(code: &str) -> bool {
    let mut in_signature = false;
    let mut decorator_depth = 0i32;
    for line in code.lines() {
        let trimmed = line.trim();
        let code_part = strip_comment(trimmed).trim_end();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if decorator_depth > 0 || trimmed.starts_with('@') {
            decorator_depth += bracket_balance(code_part);
            decorator_depth = decorator_depth.max(0);
            continue;
        }
        if in_signature {
            if code_part.ends_with(':') {
                in_signature = false;
            }
            continue;
        }
        let is_header = is_def_or_class(trimmed);
        if !is_header {
            return false;
        }
        if !code_part.ends_with(':') {
            if signature_closed(code_part) {
                // `def f(): return 1` holds its body on the same line.
                return false;
            }
            in_signature = true;
        }
    }
    true
}

/// `def name(`, `async def name(` or `class Name` followed by `(` or `:`
/// (so that prose such as "class instance method." is not a header).
fn is_def_or_class(line: &str) -> bool {
    let (rest, opener) = if let Some(rest) = line.strip_prefix("def ").or_else(|| line.strip_prefix("async def ")) {
        (rest, &['('][..])
    } else if let Some(rest) = line.strip_prefix("class ") {
        (rest, &['(', ':'][..])
    } else {
        return false;
    };
    let rest = rest.trim_start();
    let name_len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    name_len > 0 && rest[name_len..].trim_start().starts_with(opener)
}

/// `line` without a trailing `# comment` (a `#` inside a string literal is not one).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '#' => return &line[..i],
            None if c == '"' || c == '\'' => quote = Some(c),
            None => {}
        }
    }
    line
}

fn bracket_balance(line: &str) -> i32 {
    line.chars()
        .map(|c| match c {
            '(' | '[' | '{' => 1,
            ')' | ']' | '}' => -1,
            _ => 0,
        })
        .sum()
}

/// A one-line header with its body after the colon, such as `def f(): pass`.
fn signature_closed(line: &str) -> bool {
    bracket_balance(line) == 0 && line.contains(':')
}

/// `true` when `code` has fewer than 50 non-whitespace characters: too
/// little to be worth an embedding of its own.
pub fn is_tiny(code: &str) -> bool {
    code.chars().filter(|c| !c.is_whitespace()).take(50).count() < 50
}

/// Quality figures of a set of chunks, as the `chunk` example and the
/// benchmark report them for pyatlas and for other chunkers alike.
#[derive(Clone, Debug, Default)]
pub struct ChunkStats {
    tokens: Vec<usize>,
    tiny: usize,
    header_only: usize,
}

impl ChunkStats {
    /// Adds a chunk: its code (without any context header) and its token count.
    pub fn add(&mut self, code: &str, tokens: usize) {
        self.tokens.push(tokens);
        self.tiny += usize::from(is_tiny(code));
        self.header_only += usize::from(is_header_only(code));
    }

    /// Number of chunks.
    pub fn chunks(&self) -> usize {
        self.tokens.len()
    }

    /// Chunks with fewer than 50 non-whitespace characters ([`is_tiny`]).
    pub fn tiny(&self) -> usize {
        self.tiny
    }

    /// Chunks with no code, only headers ([`is_header_only`]).
    pub fn header_only(&self) -> usize {
        self.header_only
    }

    /// Token count at percentile `p` (0 to 100, nearest rank); 0 when empty.
    pub fn percentile(&self, p: f64) -> usize {
        let mut sorted = self.tokens.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted.get(rank.saturating_sub(1).min(sorted.len().saturating_sub(1))).copied().unwrap_or(0)
    }

    /// `chunks, tokens min/median/p95/max, tiny (share), header-only`, on one line.
    pub fn summary(&self) -> String {
        let share = |n: usize| 100.0 * n as f64 / self.chunks().max(1) as f64;
        format!(
            "{} chunks, tokens min {} / median {} / p95 {} / max {}, tiny {} ({:.2}%), header-only {} ({:.2}%)",
            self.chunks(),
            self.percentile(0.0),
            self.percentile(50.0),
            self.percentile(95.0),
            self.percentile(100.0),
            self.tiny,
            share(self.tiny),
            self.header_only,
            share(self.header_only)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_only_recognises_signatures_decorators_and_comments() {
        assert!(is_header_only("@app.get('/x')\ndef handler(request):\n"));
        assert!(is_header_only("# a comment\n\n"));
        assert!(!is_header_only(&"# A paragraph of prose that documents the module.\n".repeat(3)));
        assert!(is_header_only("# TODO: later\ndef f(a,\n      b):\n"));
        assert!(is_header_only("class A(Base):  # trailing\n"));
        assert!(is_header_only("def f(\n    a,\n    b,\n) -> int:\n"));
        assert!(is_header_only("@route(\n    '/x',\n)\nasync def g():"));
        assert!(!is_header_only("def f(): return 1\n"));
        assert!(!is_header_only("def f():\n    return 1\n"));
        assert!(!is_header_only("x = 1\n"));
        assert!(!is_header_only("class A:\n    '''Doc.'''\n"));
        assert!(!is_header_only(
            "class instance method.  Method masking operates\nfrom command dispatch.\n'''\nreturn x\n"
        ));
        // A `#` in a string is not a comment: the decorator's brackets still balance.
        assert!(!is_header_only("@skipIf(mac, \"see issue #12958\")\ndef test(self):\n    run()\n"));
    }

    #[test]
    fn stats_report_the_distribution() {
        let mut stats = ChunkStats::default();
        for (code, tokens) in [("x = 1", 3), ("def f():", 4), (&*"y = 2 + 3 ".repeat(10), 50), ("z", 1)] {
            stats.add(code, tokens);
        }
        assert_eq!((stats.chunks(), stats.tiny(), stats.header_only()), (4, 3, 1));
        assert_eq!((stats.percentile(0.0), stats.percentile(50.0), stats.percentile(100.0)), (1, 3, 50));
        assert!(stats.summary().starts_with("4 chunks, tokens min 1 / median 3 / p95 50 / max 50"));
    }

    #[test]
    fn tiny_counts_non_whitespace() {
        assert!(is_tiny("x = 1\n"));
        assert!(!is_tiny(&"abcdefghij ".repeat(5)));
    }
}
