//! An import-only scanner: the fast path for import graphs.
//!
//! It reads a file's logical lines as Python's tokenizer does (strings,
//! comments, brackets, backslash continuations, indentation) and parses only
//! the statements that matter: `import`, `from ... import`, and the block
//! headers that change an import's flags (`def`, `if TYPE_CHECKING:`). On
//! every file the full parser reads without syntax errors, its imports are
//! identical to [`FileRecord::imports`](crate::FileRecord::imports) (kind,
//! module, level, alias, names, line and flags; `scope` is not filled), as a
//! test over the whole standard library checks.

use crate::decode::{decode, to_u32};
use crate::model::{Import, ImportKind, ImportedName};

/// The imports of a file's source bytes, decoded as CPython does.
pub fn scan_imports(source: Vec<u8>) -> Vec<Import> {
    scan_text(&decode(source).text)
}

/// The imports of decoded source text.
pub fn scan_text(text: &str) -> Vec<Import> {
    let mut scanner =
        Scanner { src: text.as_bytes(), pos: 0, line: 1, depth: 0, blocks: Vec::new(), imports: Vec::new() };
    scanner.run();
    scanner.imports
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Function,
    TypeChecking,
}

struct Scanner<'a> {
    src: &'a [u8],
    pos: usize,
    /// 1-based line of `pos`.
    line: u32,
    /// Bracket depth.
    depth: u32,
    /// Open `def` and `if TYPE_CHECKING:` blocks, with their header's indentation.
    blocks: Vec<(u32, Block)>,
    imports: Vec<Import>,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.src.get(self.pos + offset).copied()
    }

    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
        }
        self.pos += 1;
    }

    fn run(&mut self) {
        while self.pos < self.src.len() {
            // Start of a logical line: measure its indentation.
            let indent = self.indentation();
            match self.peek() {
                None => break,
                Some(b'\n') => {
                    self.bump();
                    continue;
                }
                Some(b'#') => {
                    self.skip_comment();
                    continue;
                }
                Some(b'\\') if matches!(self.peek_at(1), Some(b'\n' | b'\r')) => {
                    self.skip_continuation();
                    continue;
                }
                _ => {}
            }
            self.blocks.retain(|&(header, _)| header < indent);
            self.statement(indent);
            // Whatever is left of the logical line (nothing, in valid code).
            self.skip_simple_statement();
            if self.peek() == Some(b'\n') {
                self.bump();
            }
        }
    }

    /// Skips the spaces, tabs and form feeds at the start of a line and
    /// returns their width (tabs to the next multiple of 8, as CPython).
    fn indentation(&mut self) -> u32 {
        let mut width = 0;
        while let Some(c) = self.peek() {
            match c {
                b' ' => width += 1,
                b'\t' => width = (width / 8 + 1) * 8,
                b'\x0c' => width = 0,
                b'\r' => {}
                _ => break,
            }
            self.bump();
        }
        width
    }

    /// Parses the simple statements of one logical line (`;`-separated), or
    /// a compound statement's header and its one-line body. Stops before
    /// the line's newline.
    fn statement(&mut self, indent: u32) {
        loop {
            self.skip_blanks();
            let line = self.line;
            let word = self.identifier();
            match word {
                "import" => self.import(line),
                "from" => self.import_from(line),
                "def" | "class" => self.block_header(indent, (word == "def").then_some(Block::Function)),
                "async" => {
                    self.skip_blanks();
                    let next = self.identifier();
                    self.block_header(indent, (next == "def").then_some(Block::Function));
                }
                "if" => {
                    let condition_start = self.pos;
                    let colon = self.header_colon();
                    let condition = String::from_utf8_lossy(&self.src[condition_start..colon.unwrap_or(self.pos)]);
                    let condition = condition.trim();
                    let type_checking = condition == "TYPE_CHECKING" || condition.ends_with(".TYPE_CHECKING");
                    if colon.is_some() {
                        self.after_header(indent, type_checking.then_some(Block::TypeChecking));
                    }
                }
                "elif" | "else" | "for" | "while" | "with" | "try" | "except" | "finally" | "match" | "case" => {
                    if self.header_colon().is_some() {
                        self.after_header(indent, None);
                    }
                }
                _ => self.skip_simple_statement(),
            }
            // After a statement: `;` goes on; the line's end (not consumed)
            // or a comment ends it.
            self.skip_blanks();
            match self.peek() {
                Some(b';') => {
                    self.bump();
                    continue;
                }
                Some(b'#') => self.skip_comment(),
                _ => {}
            }
            return;
        }
    }

    /// After a `def`/`class` keyword (or `async` + something): finds the
    /// header's colon and opens the block.
    fn block_header(&mut self, indent: u32, block: Option<Block>) {
        if self.header_colon().is_some() {
            self.after_header(indent, block);
        }
    }

    /// Just past a compound statement's `:`: a body on the same line is
    /// parsed inside the block; otherwise the block opens for the lines
    /// indented below the header.
    fn after_header(&mut self, indent: u32, block: Option<Block>) {
        self.skip_blanks();
        let inline = !matches!(self.peek(), None | Some(b'\n' | b'#'));
        if let Some(block) = block {
            if inline {
                // Body on the header's line: in the block, but only for this line.
                self.blocks.push((indent, block));
                let depth = self.blocks.len();
                self.statement(indent);
                self.blocks.truncate(depth - 1);
                return;
            }
            self.blocks.push((indent, block));
        } else if inline {
            self.statement(indent);
        }
    }

    /// Skips to the `:` that ends a compound statement's header (at bracket
    /// depth 0) and past it; `None` if the logical line ends first.
    fn header_colon(&mut self) -> Option<usize> {
        loop {
            match self.peek() {
                None => return None,
                Some(b'\n') if self.depth == 0 => return None,
                Some(b':') if self.depth == 0 => {
                    let at = self.pos;
                    self.bump();
                    // `:=` is not the header's colon.
                    if self.peek() == Some(b'=') {
                        self.bump();
                        continue;
                    }
                    return Some(at);
                }
                _ => self.skip_token(),
            }
        }
    }

    /// Skips a simple statement up to (not including) its `;`, comment or
    /// newline at depth 0.
    fn skip_simple_statement(&mut self) {
        loop {
            match self.peek() {
                None => return,
                Some(b'\n' | b';' | b'#') if self.depth == 0 => return,
                _ => self.skip_token(),
            }
        }
    }

    /// Skips one token-ish thing: a string, a comment, a continuation, a
    /// bracket (tracking depth), or one byte.
    fn skip_token(&mut self) {
        let Some(c) = self.peek() else { return };
        match c {
            b'\'' | b'"' => self.skip_string(),
            b'#' => self.skip_comment(),
            b'\\' if matches!(self.peek_at(1), Some(b'\n' | b'\r')) => self.skip_continuation(),
            b'(' | b'[' | b'{' => {
                self.depth += 1;
                self.bump();
            }
            b')' | b']' | b'}' => {
                self.depth = self.depth.saturating_sub(1);
                self.bump();
            }
            _ if is_identifier_start(c) => {
                // An identifier, or a string prefix.
                let word = self.identifier();
                if matches!(self.peek(), Some(b'\'' | b'"')) && is_string_prefix(word) {
                    self.skip_string();
                }
            }
            _ => self.bump(),
        }
    }

    fn skip_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                return;
            }
            self.bump();
        }
    }

    fn skip_continuation(&mut self) {
        self.bump();
        if self.peek() == Some(b'\r') {
            self.bump();
        }
        if self.peek() == Some(b'\n') {
            self.bump();
        }
    }

    /// Skips a string literal starting at its quote (prefixes already read).
    fn skip_string(&mut self) {
        let Some(quote) = self.peek() else { return };
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        while let Some(c) = self.peek() {
            if c == b'\\' {
                self.bump();
                if self.peek().is_some() {
                    self.bump();
                }
                continue;
            }
            if c == quote {
                if !triple {
                    self.bump();
                    return;
                }
                if self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote) {
                    self.pos += 3;
                    return;
                }
            } else if c == b'\n' && !triple {
                // An unterminated string ends at the line's end.
                return;
            }
            self.bump();
        }
    }

    /// Skips spaces, tabs, and backslash continuations (not newlines).
    fn skip_blanks(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\x0c' | b'\r') => self.bump(),
                Some(b'\\') if matches!(self.peek_at(1), Some(b'\n' | b'\r')) => self.skip_continuation(),
                // Inside brackets, newlines and comments are blanks too.
                Some(b'\n') if self.depth > 0 => self.bump(),
                Some(b'#') if self.depth > 0 => self.skip_comment(),
                _ => return,
            }
        }
    }

    /// Reads an identifier (possibly empty).
    fn identifier(&mut self) -> &'a str {
        let start = self.pos;
        if self.peek().is_some_and(is_identifier_start) {
            while self.peek().is_some_and(is_identifier_continue) {
                self.pos += 1;
            }
        }
        let src: &'a [u8] = self.src;
        std::str::from_utf8(&src[start..self.pos]).unwrap_or_default()
    }

    /// A dotted name, whitespace between its parts allowed (`a . b`).
    fn dotted_name(&mut self) -> String {
        let mut name = String::new();
        loop {
            self.skip_blanks();
            let part = self.identifier().to_owned();
            if part.is_empty() {
                return name;
            }
            name.push_str(&part);
            self.skip_blanks();
            if self.peek() == Some(b'.') {
                self.bump();
                name.push('.');
            } else {
                return name;
            }
        }
    }

    /// `as <identifier>`, if there.
    fn alias(&mut self) -> Option<String> {
        self.skip_blanks();
        let save = (self.pos, self.line);
        if self.identifier() == "as" {
            self.skip_blanks();
            let alias = self.identifier().to_owned();
            if !alias.is_empty() {
                return Some(alias);
            }
        }
        (self.pos, self.line) = save;
        None
    }

    fn flags(&self) -> (bool, bool) {
        let type_checking = self.blocks.iter().any(|&(_, b)| b == Block::TypeChecking);
        let in_function = self.blocks.iter().any(|&(_, b)| b == Block::Function);
        (type_checking, in_function)
    }

    /// `import a.b as c, d`: one record per alias.
    fn import(&mut self, line: u32) {
        let (type_checking, in_function) = self.flags();
        loop {
            let module = self.dotted_name();
            if module.is_empty() {
                break;
            }
            let alias = self.alias();
            self.imports.push(Import {
                kind: ImportKind::Import,
                module,
                level: 0,
                alias,
                names: Vec::new(),
                line,
                type_checking,
                in_function,
                scope: None,
            });
            self.skip_blanks();
            if self.peek() == Some(b',') {
                self.bump();
            } else {
                break;
            }
        }
        self.skip_simple_statement();
    }

    /// `from [.]a import b [as c], ...`: one record.
    fn import_from(&mut self, line: u32) {
        let (type_checking, in_function) = self.flags();
        let mut level = 0;
        loop {
            self.skip_blanks();
            if self.peek() == Some(b'.') {
                level += 1;
                self.bump();
            } else {
                break;
            }
        }
        // `from . import x`: the keyword right after the dots.
        self.skip_blanks();
        let save = (self.pos, self.line);
        let module = if self.identifier() == "import" {
            String::new()
        } else {
            (self.pos, self.line) = save;
            let module = self.dotted_name();
            self.skip_blanks();
            if self.identifier() != "import" {
                self.skip_simple_statement();
                return;
            }
            module
        };
        let mut names = Vec::new();
        self.skip_blanks();
        let parenthesised = self.peek() == Some(b'(');
        if parenthesised {
            self.depth += 1;
            self.bump();
        }
        loop {
            self.skip_blanks();
            if self.peek() == Some(b'*') {
                self.bump();
                names.push(ImportedName { name: "*".to_owned(), alias: None });
                break;
            }
            let name = self.dotted_name();
            if name.is_empty() {
                break;
            }
            let alias = self.alias();
            names.push(ImportedName { name, alias });
            self.skip_blanks();
            if self.peek() == Some(b',') {
                self.bump();
            } else {
                break;
            }
        }
        if parenthesised {
            self.skip_blanks();
            if self.peek() == Some(b')') {
                self.depth = self.depth.saturating_sub(1);
                self.bump();
            }
        }
        let module = if module.is_empty() && level == 0 { String::new() } else { module };
        self.imports.push(Import {
            kind: ImportKind::From,
            module,
            level: to_u32(level),
            alias: None,
            names,
            line,
            type_checking,
            in_function,
            scope: None,
        });
        self.skip_simple_statement();
    }
}

fn is_identifier_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_identifier_continue(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// `r`, `b`, `u`, `f` and their two-letter combinations, in any case.
fn is_string_prefix(word: &str) -> bool {
    word.len() <= 2
        && !word.is_empty()
        && word.bytes().all(|c| matches!(c.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f'))
}

#[cfg(test)]
mod tests {
    use super::scan_text;

    fn names(source: &str) -> Vec<(String, u32, bool, bool)> {
        scan_text(source)
            .into_iter()
            .map(|i| {
                let what = match i.kind {
                    crate::ImportKind::Import => {
                        format!("import {}{}", i.module, i.alias.map(|a| format!(" as {a}")).unwrap_or_default())
                    }
                    _ => format!(
                        "from {}{} import {}",
                        ".".repeat(i.level as usize),
                        i.module,
                        i.names
                            .iter()
                            .map(|n| n.name.clone() + &n.alias.clone().map(|a| format!(" as {a}")).unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                (what, i.line, i.type_checking, i.in_function)
            })
            .collect()
    }

    fn plain(source: &str) -> Vec<String> {
        names(source).into_iter().map(|(what, ..)| what).collect()
    }

    #[test]
    fn statements_of_every_shape() {
        assert_eq!(plain("import a.b as c, d\n"), ["import a.b as c", "import d"]);
        assert_eq!(plain("from ..x.y import (a as b,\n    # comment\n    c,)\n"), ["from ..x.y import a as b, c"]);
        assert_eq!(
            plain("from . import x\nfrom ... import y\nfrom .. z import w\n"),
            ["from . import x", "from ... import y", "from ..z import w"]
        );
        assert_eq!(plain("import a; import b # c\nfrom f import *\n"), ["import a", "import b", "from f import *"]);
        assert_eq!(
            plain("from foo \\\n    import bar\nimport a, \\\n  b\n"),
            ["from foo import bar", "import a", "import b"]
        );
        assert_eq!(plain("from a . b import c\n"), ["from a.b import c"]);
    }

    #[test]
    fn strings_and_comments_hide_imports() {
        assert_eq!(plain("x = '''\nimport bar\n'''\nimport baz\n"), ["import baz"]);
        assert_eq!(plain("x = 42 # \"\"\"\nimport bar\ns = rb'\\''\nimport c\n"), ["import bar", "import c"]);
        assert_eq!(plain("print(f\"{x!r}\" 'import y')\n# import z\nimport w\n"), ["import w"]);
        assert_eq!(plain("raise E from err\nyield from g\nx = (\n  import_it)\n"), Vec::<String>::new());
    }

    #[test]
    fn flags_follow_blocks() {
        let source = "import a\nif TYPE_CHECKING:\n    import b\n    def f():\n        import c\nelse:\n    import d\ndef g():\n    if x:\n        import e\n    class C:\n        import h\nif typing.TYPE_CHECKING: import i; import j\ndef k(): import l\nimport m\n";
        let got: Vec<_> = names(source).into_iter().map(|(w, _, tc, f)| (w, tc, f)).collect();
        let expected = [
            ("import a", false, false),
            ("import b", true, false),
            ("import c", true, true),
            ("import d", false, false),
            ("import e", false, true),
            ("import h", false, true),
            ("import i", true, false),
            ("import j", true, false),
            ("import l", false, true),
            ("import m", false, false),
        ];
        assert_eq!(got, expected.map(|(w, t, f)| (w.to_owned(), t, f)));
    }

    #[test]
    fn lines_are_those_of_the_keyword() {
        let got: Vec<_> = names("\n\nfrom x import (\n  a,\n)\nimport y\n").into_iter().map(|(_, l, ..)| l).collect();
        assert_eq!(got, [3, 6]);
    }
}
