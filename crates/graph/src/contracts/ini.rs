//! INI files as Python's `configparser` reads them for import-linter:
//! `[section]` headers, `key = value` or `key: value` (keys lower-cased),
//! indented continuation lines, and `#` or `;` comment lines, which may sit
//! inside a multi-line value.

use std::collections::BTreeMap;

/// A value: one line, or several (a list, blank lines dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    One(String),
    Many(Vec<String>),
}

/// An option with the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) value: Value,
    pub(crate) line: usize,
}

/// A section: its options in order of first appearance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Section {
    pub(crate) line: usize,
    pub(crate) options: BTreeMap<String, Entry>,
}

/// What stops a file from being read, with its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// The sections of an INI text, in order.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, Section)>, SyntaxError> {
    let mut sections: Vec<(String, Section)> = Vec::new();
    // (key, lines of its value, indent of its key line)
    let mut open: Option<(String, Vec<String>, usize)> = None;
    let close = |sections: &mut Vec<(String, Section)>, open: &mut Option<(String, Vec<String>, usize)>| {
        if let (Some((key, lines, _)), Some((_, section))) = (open.take(), sections.last_mut()) {
            let mut lines: Vec<String> = lines.into_iter().map(|l| l.replace("%%", "%")).collect();
            while lines.len() > 1 && lines.last().is_some_and(String::is_empty) {
                lines.pop();
            }
            let value = if lines.len() == 1 {
                Value::One(lines.into_iter().next().unwrap_or_default())
            } else {
                Value::Many(lines.into_iter().filter(|l| !l.is_empty()).collect())
            };
            if let Some(entry) = section.options.get_mut(&key) {
                entry.value = value;
            }
        }
    };
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if trimmed.is_empty() {
            if let Some((_, lines, _)) = open.as_mut() {
                lines.push(String::new());
            }
            continue;
        }
        if let Some((_, lines, _)) = open.as_mut().filter(|(_, _, key_indent)| indent > *key_indent) {
            lines.push(trimmed.to_owned());
            continue;
        }
        close(&mut sections, &mut open);
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            if sections.iter().any(|(n, _)| n == name) {
                return Err(SyntaxError { line: number, message: format!("section '{name}' already exists") });
            }
            sections.push((name.to_owned(), Section { line: number, options: BTreeMap::new() }));
            continue;
        }
        let Some((_, section)) = sections.last_mut() else {
            return Err(SyntaxError { line: number, message: "a line before the first [section] header".to_owned() });
        };
        let split = trimmed.find(['=', ':']).ok_or_else(|| SyntaxError {
            line: number,
            message: format!("'{trimmed}' is neither a [section], a `key = value` nor a comment"),
        })?;
        let key = trimmed[..split].trim().to_lowercase();
        let value = trimmed[split + 1..].trim().to_owned();
        if section.options.contains_key(&key) {
            return Err(SyntaxError {
                line: number,
                message: format!("option '{key}' already exists in this section"),
            });
        }
        section.options.insert(key.clone(), Entry { value: Value::One(value.clone()), line: number });
        open = Some((key, vec![value], indent));
    }
    close(&mut sections, &mut open);
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_comments_and_continuations_as_configparser_reads_them() {
        let text = "[importlinter]\nroot_package = pkg\n\n[importlinter:contract:one]\nName: One\nlayers =\n    high\n    # a comment inside the list\n\n    low\nratio = 100%%\n";
        let sections = parse(text).expect("valid");
        assert_eq!(sections.len(), 2);
        let one = &sections[1].1.options;
        assert_eq!(one["name"].value, Value::One("One".into()), "keys are lower-cased");
        assert_eq!(one["layers"].value, Value::Many(vec!["high".into(), "low".into()]));
        assert_eq!(one["layers"].line, 6);
        assert_eq!(one["ratio"].value, Value::One("100%".into()));
    }

    #[test]
    fn malformed_lines_name_their_line() {
        assert_eq!(parse("key = v\n").expect_err("no section").line, 1);
        assert_eq!(parse("[a]\n[a]\n").expect_err("twice").line, 2);
        assert_eq!(parse("[a]\nx = 1\nx = 2\n").expect_err("twice").line, 3);
        assert!(parse("[a]\njust words\n").expect_err("no =").message.contains("neither"));
    }
}
