//! Source decoding as CPython does it: UTF-8 by default, a UTF-8 BOM, and
//! PEP 263 coding cookies. Problems become diagnostics; decoding never fails.

use std::borrow::Cow;

use crate::model::{Diagnostic, DiagnosticKind};

/// The decoded text of a file, and what was found on the way.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// UTF-8 text, BOM removed, lone `\r` line endings turned into `\n`
    /// (same length, so offsets into the text stay put).
    pub(crate) text: String,
    /// Canonical name of the encoding used.
    pub(crate) encoding: String,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes `bytes` the way CPython's tokenizer reads a source file. Valid
/// UTF-8 without a BOM (nearly every file) becomes the text without a copy.
pub(crate) fn decode(mut bytes: Vec<u8>) -> Decoded {
    if !bytes.starts_with(UTF8_BOM) && find_coding_cookie(&bytes).is_none() {
        match String::from_utf8(bytes) {
            Ok(text) => {
                return Decoded {
                    text: normalize_lone_cr(text),
                    encoding: "utf-8".to_owned(),
                    diagnostics: Vec::new(),
                };
            }
            Err(error) => bytes = error.into_bytes(),
        }
    }
    decode_slow(&bytes)
}

fn decode_slow(bytes: &[u8]) -> Decoded {
    let mut diagnostics = Vec::new();
    let (has_bom, body) = match bytes.strip_prefix(UTF8_BOM) {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let cookie = find_coding_cookie(body);
    let codec = match &cookie {
        None => Codec::Utf8,
        Some(cookie) => match Codec::for_label(&cookie.label) {
            Some(codec) => codec,
            None => {
                diagnostics.push(Diagnostic::error(
                    DiagnosticKind::Decode,
                    cookie.line,
                    1,
                    format!("unknown encoding: {}; the file was decoded as UTF-8", cookie.label),
                ));
                Codec::Utf8
            }
        },
    };
    // CPython accepts a BOM only with no cookie or one that normalises to
    // exactly `utf-8` (so not `utf8`).
    if let Some(cookie) = cookie.as_ref().filter(|c| has_bom && cpython_normal_name(&c.label) != "utf-8") {
        diagnostics.push(Diagnostic::error(
            DiagnosticKind::Decode,
            cookie.line,
            1,
            format!(
                "encoding problem: {} with BOM (CPython accepts only `utf-8` beside a BOM); the file was decoded as {}",
                cookie.label,
                codec.name()
            ),
        ));
    }

    let text: Cow<'_, str> = match codec {
        Codec::Utf8 => decode_utf8(body, &mut diagnostics),
        Codec::Latin1 => Cow::Owned(body.iter().map(|&b| char::from(b)).collect()),
        Codec::Ascii => {
            if let Some(pos) = body.iter().position(|b| !b.is_ascii()) {
                let (line, column) = byte_line_col(body, pos);
                diagnostics.push(Diagnostic::error(
                    DiagnosticKind::Decode,
                    line,
                    column,
                    format!("'ascii' codec can't decode byte 0x{:02x}; decoded as UTF-8 instead", body[pos]),
                ));
            }
            decode_utf8(body, &mut diagnostics)
        }
        Codec::Other(encoding) => {
            let (text, had_errors) = encoding.decode_without_bom_handling(body);
            if had_errors {
                diagnostics.push(Diagnostic::error(
                    DiagnosticKind::Decode,
                    1,
                    1,
                    format!("bytes that are not valid {} were replaced with U+FFFD", encoding.name()),
                ));
            }
            text
        }
    };
    Decoded { text: normalize_lone_cr(text.into_owned()), encoding: codec.name().to_owned(), diagnostics }
}

fn decode_utf8<'a>(body: &'a [u8], diagnostics: &mut Vec<Diagnostic>) -> Cow<'a, str> {
    match std::str::from_utf8(body) {
        Ok(text) => Cow::Borrowed(text),
        Err(error) => {
            let pos = error.valid_up_to();
            let (line, column) = byte_line_col(body, pos);
            let invalid = body.utf8_chunks().filter(|chunk| !chunk.invalid().is_empty()).count();
            diagnostics.push(Diagnostic::error(
                DiagnosticKind::Decode,
                line,
                column,
                format!(
                    "'utf-8' codec can't decode byte 0x{:02x}: invalid UTF-8 ({invalid} invalid sequence(s) replaced with U+FFFD)",
                    body.get(pos).copied().unwrap_or_default()
                ),
            ));
            String::from_utf8_lossy(body)
        }
    }
}

/// Turns each `\r` that is not followed by `\n` into `\n`: Python reads a
/// lone CR as a line ending, tree-sitter does not. Lengths do not change.
fn normalize_lone_cr(text: String) -> String {
    if memchr::memchr(b'\r', text.as_bytes()).is_none() {
        return text;
    }
    let mut bytes = text.into_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
            bytes[i] = b'\n';
        }
    }
    // Replacing one ASCII byte by another keeps the text valid UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// 1-based line and character column of byte `pos` in possibly invalid UTF-8.
pub(crate) fn byte_line_col(bytes: &[u8], pos: usize) -> (u32, u32) {
    let pos = pos.min(bytes.len());
    let before = &bytes[..pos];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    let column = count_chars(&before[line_start..]) + 1;
    (to_u32(line), to_u32(column))
}

/// Counts UTF-8 characters (lead bytes) in `bytes`.
pub(crate) fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[derive(Debug)]
struct Cookie {
    label: String,
    line: u32,
}

/// Finds a PEP 263 cookie (`coding[:=]\s*([-\w.]+)` in a comment) on line 1,
/// or on line 2 when line 1 is blank or a comment, as CPython does.
fn find_coding_cookie(body: &[u8]) -> Option<Cookie> {
    let first = body.split(|&b| b == b'\n' || b == b'\r').next()?;
    if let Some(label) = cookie_in_line(first) {
        return Some(Cookie { label, line: 1 });
    }
    let trimmed = trim_start_ws(first);
    if !(trimmed.is_empty() || trimmed.starts_with(b"#")) {
        return None;
    }
    // A CRLF ending gives an empty piece between `\r` and `\n`.
    let second_start = first.len() + if body.get(first.len()..first.len() + 2) == Some(b"\r\n") { 2 } else { 1 };
    let rest = body.get(second_start..)?;
    let second = rest.split(|&b| b == b'\n' || b == b'\r').next()?;
    cookie_in_line(second).map(|label| Cookie { label, line: 2 })
}

fn trim_start_ws(line: &[u8]) -> &[u8] {
    let start = line.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\x0c')).unwrap_or(line.len());
    &line[start..]
}

fn cookie_in_line(line: &[u8]) -> Option<String> {
    let comment = trim_start_ws(line).strip_prefix(b"#")?;
    let at = memchr::memmem::find(comment, b"coding")?;
    let after = &comment[at + b"coding".len()..];
    let after = match after.first() {
        Some(b':' | b'=') => &after[1..],
        _ => return find_later_cookie(&comment[at + 1..]),
    };
    let after = trim_start_ws(after);
    let end = after
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
        .unwrap_or(after.len());
    if end == 0 {
        return None;
    }
    Some(String::from_utf8_lossy(&after[..end]).into_owned())
}

/// `coding` may appear more than once (`# encoding coding: x`): keep looking.
fn find_later_cookie(rest: &[u8]) -> Option<String> {
    let mut line = Vec::with_capacity(rest.len() + 1);
    line.push(b'#');
    line.extend_from_slice(rest);
    cookie_in_line(&line)
}

/// CPython's tokenizer `get_normal_name`: the spelling it compares.
fn cpython_normal_name(label: &str) -> String {
    let lower = label.to_ascii_lowercase().replace('_', "-");
    if lower == "utf-8" || lower.starts_with("utf-8-") {
        return "utf-8".to_owned();
    }
    for latin in ["latin-1", "iso-8859-1", "iso-latin-1"] {
        if lower == latin || lower.strip_prefix(latin).is_some_and(|rest| rest.starts_with('-')) {
            return "iso-8859-1".to_owned();
        }
    }
    lower
}

#[derive(Debug, Clone, Copy)]
enum Codec {
    Utf8,
    Latin1,
    Ascii,
    Other(&'static encoding_rs::Encoding),
}

impl Codec {
    fn for_label(label: &str) -> Option<Self> {
        let normal = label.to_ascii_lowercase().replace('_', "-");
        let codec = match normal.as_str() {
            "utf-8" | "utf8" | "u8" | "utf" | "cp65001" | "utf-8-sig" => Self::Utf8,
            n if n.starts_with("utf-8-") => Self::Utf8,
            "latin-1" | "latin1" | "l1" | "iso-8859-1" | "iso8859-1" | "iso-latin-1" | "8859" | "cp819" | "latin"
            | "iso-ir-100" | "csisolatin1" => Self::Latin1,
            n if n.starts_with("latin-1-") || n.starts_with("iso-8859-1-") || n.starts_with("iso-latin-1-") => {
                Self::Latin1
            }
            "ascii" | "us-ascii" | "646" | "us" | "ansi-x3.4-1968" => Self::Ascii,
            _ => Self::Other(encoding_rs::Encoding::for_label_no_replacement(python_alias(&normal).as_bytes())?),
        };
        Some(codec)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Latin1 => "iso-8859-1",
            Self::Ascii => "ascii",
            Self::Other(encoding) => encoding.name(),
        }
    }
}

/// Python codec names that WHATWG labels spell differently.
fn python_alias(normal: &str) -> Cow<'_, str> {
    if let Some(n) = normal.strip_prefix("cp").filter(|n| n.len() == 4 && n.starts_with("125")) {
        return Cow::Owned(format!("windows-{n}"));
    }
    match normal {
        "latin-2" | "latin2" => Cow::Borrowed("iso-8859-2"),
        "euc-jp" | "eucjp" => Cow::Borrowed("euc-jp"),
        "shift-jis" | "sjis" | "shiftjis" => Cow::Borrowed("shift_jis"),
        "utf-16" | "utf16" => Cow::Borrowed("utf-16le"),
        other => Cow::Borrowed(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Decoded {
        super::decode(bytes.to_vec())
    }

    #[test]
    fn utf8_without_cookie_is_borrowed_through() {
        let d = decode("x = 'é'\n".as_bytes());
        assert_eq!(d.text, "x = 'é'\n");
        assert_eq!(d.encoding, "utf-8");
        assert!(d.diagnostics.is_empty());
    }

    #[test]
    fn bom_is_removed() {
        let d = decode(b"\xEF\xBB\xBFimport os\n");
        assert_eq!(d.text, "import os\n");
        assert!(d.diagnostics.is_empty());
    }

    #[test]
    fn latin1_cookie_decodes_every_byte() {
        let d = decode(b"# -*- coding: latin-1 -*-\nx = '\xe9\x80'\n");
        assert_eq!(d.encoding, "iso-8859-1");
        assert_eq!(d.text, "# -*- coding: latin-1 -*-\nx = '\u{e9}\u{80}'\n");
        assert!(d.diagnostics.is_empty());
    }

    #[test]
    fn cookie_on_second_line_only_after_a_comment_line() {
        assert_eq!(decode(b"#!/usr/bin/python\n# vim: set fileencoding=cp1252 :\n").encoding, "windows-1252");
        assert_eq!(decode(b"import os\n# coding: latin-1\n").encoding, "utf-8");
        assert_eq!(decode(b"#!/usr/bin/python\r\n# coding: latin-1\r\n").encoding, "iso-8859-1");
    }

    #[test]
    fn invalid_utf8_is_located_and_replaced() {
        let d = decode(b"x = 1\ny = '\xff'\n");
        assert_eq!(d.text, "x = 1\ny = '\u{FFFD}'\n");
        assert_eq!(d.diagnostics.len(), 1);
        assert_eq!((d.diagnostics[0].line, d.diagnostics[0].column), (2, 6));
        assert!(d.diagnostics[0].message.contains("0xff"), "{}", d.diagnostics[0].message);
    }

    #[test]
    fn unknown_encoding_is_a_diagnostic() {
        let d = decode(b"# coding: klingon\nx = 1\n");
        assert_eq!(d.encoding, "utf-8");
        assert!(d.diagnostics[0].message.contains("unknown encoding: klingon"));
    }

    #[test]
    fn bom_with_other_cookie_is_a_diagnostic() {
        let d = decode(b"\xEF\xBB\xBF# coding: latin-1\nx = 1\n");
        assert_eq!(d.diagnostics.len(), 1);
        assert!(d.diagnostics[0].message.contains("BOM"));
        // As CPython: `utf8` is not the `utf-8` it expects beside a BOM, `UTF_8` is.
        assert_eq!(decode(b"\xEF\xBB\xBF# coding: utf8\n").diagnostics.len(), 1);
        assert!(decode(b"\xEF\xBB\xBF# coding: UTF_8\n").diagnostics.is_empty());
    }

    #[test]
    fn lone_cr_becomes_lf_and_crlf_stays() {
        assert_eq!(decode(b"a\rb\r\nc\r").text, "a\nb\r\nc\n");
    }
}
