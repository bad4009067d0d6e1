//! Evaluation of Python `str` literals, for docstrings and `__all__`.

/// The value of one Python string literal as written (`r'''x'''`, `"a\n"`),
/// or `None` when it is not a plain `str` constant (bytes, f-strings) or is
/// malformed.
pub(crate) fn literal_value(literal: &str) -> Option<String> {
    let quote_at = literal.find(['\'', '"'])?;
    let (prefix, quoted) = literal.split_at(quote_at);
    let mut raw = false;
    for c in prefix.chars() {
        match c {
            'r' | 'R' => raw = true,
            'u' | 'U' => {}
            // bytes and f-strings are not `str` constants
            _ => return None,
        }
    }
    let quote = if quoted.starts_with("\"\"\"") || quoted.starts_with("'''") { &quoted[..3] } else { &quoted[..1] };
    let body = quoted.strip_prefix(quote)?.strip_suffix(quote)?;
    // The tokenizer reads any line ending as `\n`, inside strings too.
    let body = body.replace("\r\n", "\n");
    if raw { Some(body) } else { Some(unescape(&body)) }
}

fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(e),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut value = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).unwrap_or('\u{FFFD}'));
            }
            'x' | 'u' | 'U' => {
                let width = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let digits: String = chars.clone().take(width).collect();
                match u32::from_str_radix(&digits, 16) {
                    Ok(value) if digits.len() == width && digits.chars().all(|c| c.is_ascii_hexdigit()) => {
                        for _ in 0..width {
                            chars.next();
                        }
                        // Lone surrogates cannot be held by a Rust string.
                        out.push(char::from_u32(value).unwrap_or('\u{FFFD}'));
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            'N' if chars.peek() == Some(&'{') => {
                let rest: String = chars.clone().collect();
                match rest.find('}').and_then(|end| unicode_name(&rest[1..end]).map(|c| (end, c))) {
                    Some((end, c)) => {
                        out.push(c);
                        for _ in 0..=end {
                            chars.next();
                        }
                    }
                    None => {
                        out.push('\\');
                        out.push('N');
                    }
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// The character a `\N{...}` escape names, from the Unicode name tables.
fn unicode_name(name: &str) -> Option<char> {
    unicode_names2::character(name)
}

#[cfg(test)]
mod tests {
    use super::literal_value;

    #[test]
    fn plain_and_raw() {
        assert_eq!(literal_value(r#""a\nb""#).as_deref(), Some("a\nb"));
        assert_eq!(literal_value(r#"r"a\nb""#).as_deref(), Some(r"a\nb"));
        assert_eq!(literal_value("'''x\r\ny'''").as_deref(), Some("x\ny"));
        assert_eq!(literal_value(r#"u"\x41\u00e9\U0001F600\101\q""#).as_deref(), Some("Aé😀A\\q"));
        assert_eq!(literal_value("\"a\\\nb\"").as_deref(), Some("ab"));
        assert_eq!(literal_value(r#""\N{EM DASH}\N{LATIN SMALL LETTER SHARP S}""#).as_deref(), Some("—ß"));
        assert_eq!(literal_value(r#""\N{NOT A NAME}""#).as_deref(), Some("\\N{NOT A NAME}"));
    }

    #[test]
    fn bytes_and_fstrings_are_not_str() {
        assert_eq!(literal_value(r#"b"x""#), None);
        assert_eq!(literal_value(r#"f"x""#), None);
        assert_eq!(literal_value(r#"Rb"x""#), None);
    }
}
