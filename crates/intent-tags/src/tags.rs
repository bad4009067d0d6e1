//! The tag language: `@key` or `@key:value[,value...]`, optionally followed
//! by ` -- free text`, at the start of a comment or of a docstring line.

use std::collections::BTreeMap;

use pyatlas_parser::{FileRecord, Unit};
use serde::{Deserialize, Serialize};

/// Keys and their allowed values. An empty value list means any value; a
/// key with `values = None` takes no value (`@deprecated`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vocabulary {
    keys: BTreeMap<String, KeySpec>,
}

/// What a key accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeySpec {
    /// `None`: no value; `Some([])`: any value; else one of these.
    pub values: Option<Vec<String>>,
    /// What the key means.
    pub description: String,
}

impl Default for Vocabulary {
    /// The built-in keys: `intent`, `parallel`, `layer`, `domain`, `owner`, `deprecated`.
    fn default() -> Self {
        let mut keys = BTreeMap::new();
        let mut key = |name: &str, values: Option<&[&str]>, description: &str| {
            keys.insert(
                name.to_owned(),
                KeySpec {
                    values: values.map(|v| v.iter().map(|s| (*s).to_owned()).collect()),
                    description: description.to_owned(),
                },
            );
        };
        key("intent", Some(&["parallel", "pure", "no-io"]), "what the code is meant to be");
        key(
            "parallel",
            Some(&["data", "task"]),
            "data parallelism (one function mapped over data) or task parallelism",
        );
        key("layer", Some(&[]), "the architectural layer of a module (ordered in the configuration)");
        key("domain", Some(&[]), "the domain the code belongs to (checked against the classifier)");
        key("owner", Some(&[]), "who owns the code");
        key("deprecated", None, "the code is on its way out");
        Self { keys }
    }
}

impl Vocabulary {
    /// Adds (or replaces) a key.
    pub fn declare(&mut self, key: impl Into<String>, spec: KeySpec) {
        self.keys.insert(key.into(), spec);
    }

    /// Allows more values for a key that takes a closed list.
    pub fn allow_values(&mut self, key: &str, values: impl IntoIterator<Item = String>) {
        if let Some(KeySpec { values: Some(list), .. }) = self.keys.get_mut(key)
            && !list.is_empty()
        {
            for value in values {
                if !list.contains(&value) {
                    list.push(value);
                }
            }
        }
    }

    /// The spec of `key`.
    pub fn get(&self, key: &str) -> Option<&KeySpec> {
        self.keys.get(key)
    }

    /// Every key, sorted.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &KeySpec)> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn check(&self, key: &str, values: &[String]) -> Result<(), (String, Option<String>)> {
        let Some(spec) = self.keys.get(key) else {
            let suggestion = closest(key, self.keys.keys().map(String::as_str)).map(|k| self.example(k));
            return Err((format!("unknown tag key `@{key}`"), suggestion));
        };
        match &spec.values {
            None if !values.is_empty() => Err((format!("`@{key}` takes no value"), Some(format!("@{key}")))),
            Some(allowed) if values.is_empty() && !allowed.is_empty() => Err((
                format!("`@{key}` needs a value: one of {}", allowed.join(", ")),
                Some(format!("@{key}:{}", allowed[0])),
            )),
            Some(allowed) if values.is_empty() => {
                Err((format!("`@{key}` needs a value"), Some(format!("@{key}:<value>"))))
            }
            Some(allowed) if !allowed.is_empty() => {
                for value in values {
                    if !allowed.contains(value) {
                        let suggestion =
                            closest(value, allowed.iter().map(String::as_str)).map(|v| format!("@{key}:{v}"));
                        return Err((
                            format!("unknown value `{value}` for `@{key}` (allowed: {})", allowed.join(", ")),
                            suggestion,
                        ));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn example(&self, key: &str) -> String {
        match self.keys.get(key).and_then(|s| s.values.as_ref()) {
            Some(values) if !values.is_empty() => format!("@{key}:{}", values[0]),
            Some(_) => format!("@{key}:<value>"),
            None => format!("@{key}"),
        }
    }
}

/// The candidate closest to `word` by edit distance, if close enough to be a typo.
fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates.map(|c| (edit_distance(word, c), c)).filter(|(d, c)| *d <= 2.max(c.len() / 3)).min().map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// Where a tag was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TagSource {
    /// A `#` comment.
    Comment,
    /// A docstring line.
    Docstring,
}

/// A tag, attached to a unit or to its module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tag {
    /// The key (`intent`).
    pub key: String,
    /// The values (`["parallel"]`); empty for `@deprecated`.
    pub values: Vec<String>,
    /// The free text after ` -- `.
    pub note: Option<String>,
    /// Line of the tag.
    pub line: u32,
    /// Index of the unit it belongs to in the file's record; `None`: the module.
    pub unit: Option<u32>,
    /// Comment or docstring.
    pub source: TagSource,
}

impl Tag {
    /// `true` for `@key:value`, or `@key` with `value` empty.
    pub fn is(&self, key: &str, value: &str) -> bool {
        self.key == key && (value.is_empty() || self.values.iter().any(|v| v == value))
    }
}

/// A problem with a tag: malformed, unknown, or attached to nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TagDiagnostic {
    /// Line.
    pub line: u32,
    /// What is wrong.
    pub message: String,
    /// A likely fix (`did you mean @intent:parallel?`).
    pub suggestion: Option<String>,
}

/// `# pyatlas: ignore[D001, D005] -- reason`: on a finding's line, or among
/// a unit's tag lines (then it covers the unit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Suppression {
    /// The rules it silences.
    pub rules: Vec<String>,
    /// Its line.
    pub line: u32,
    /// The unit it covers, when written among its tag lines.
    pub unit: Option<u32>,
    /// The reason given.
    pub reason: Option<String>,
}

/// The tags, tag problems and suppressions of one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileTags {
    /// Tags, in source order.
    pub tags: Vec<Tag>,
    /// Problems.
    pub diagnostics: Vec<TagDiagnostic>,
    /// Suppressions.
    pub suppressions: Vec<Suppression>,
}

/// One tag as written, before it is checked and attached.
struct Written {
    key: String,
    values: Vec<String>,
    note: Option<String>,
}

/// Parses the tags of one line of text (a comment without its `#`, or a
/// docstring line) that starts with `@`. `Err` for a malformed tag.
fn parse_line(text: &str) -> Option<Result<Vec<Written>, String>> {
    let text = text.trim();
    if !text.starts_with('@') {
        return None;
    }
    let (tags, note) = match text.split_once(" -- ") {
        Some((tags, note)) => (tags, Some(note.trim().to_owned()).filter(|n| !n.is_empty())),
        None => (text, None),
    };
    let mut written = Vec::new();
    for token in tags.split_whitespace() {
        let Some(body) = token.strip_prefix('@') else {
            return Some(Err(format!(
                "`{token}` is not a tag: tags are `@key` or `@key:value`; free text goes after ` -- `"
            )));
        };
        let (key, values) = match body.split_once(':') {
            Some((key, values)) => (key, Some(values)),
            None => (body, None),
        };
        let valid_key = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_key {
            return Some(Err(format!("malformed tag `{token}`: a key is letters, digits, `-` and `_`")));
        }
        let values: Vec<String> = match values {
            None => Vec::new(),
            Some(values) => {
                let values: Vec<&str> = values.split(',').collect();
                let valid =
                    |v: &&str| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
                if !values.iter().all(valid) {
                    return Some(Err(format!(
                        "malformed tag `{token}`: values are `a,b`, without spaces or empty values"
                    )));
                }
                values.into_iter().map(str::to_owned).collect()
            }
        };
        written.push(Written { key: key.to_lowercase(), values, note: None });
    }
    if let Some(last) = written.last_mut() {
        last.note = note;
    }
    Some(Ok(written))
}

/// Parses `pyatlas: ignore[D001,D002] -- reason` in a comment's text.
fn parse_suppression(text: &str) -> Option<(Vec<String>, Option<String>)> {
    let rest = text.trim().strip_prefix("pyatlas:")?.trim_start().strip_prefix("ignore[")?;
    let (rules, after) = rest.split_once(']')?;
    let rules = rules.split(',').map(|r| r.trim().to_uppercase()).filter(|r| !r.is_empty()).collect();
    let reason = after.trim().strip_prefix("--").map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    Some((rules, reason))
}

/// Reads the tags of a file from its comments and docstrings, attaches each
/// to its unit or to the module, and checks them against `vocabulary`.
///
/// Scope: a tag in the comment lines directly above a `def`/`class` (its
/// decorators included), on its header lines, or in its docstring belongs
/// to that unit; one in a comment before the first statement or in the
/// module docstring belongs to the module. A tag anywhere else is a
/// diagnostic: it would check nothing.
pub fn read_tags(record: &FileRecord, text: &str, vocabulary: &Vocabulary) -> FileTags {
    let mut out = FileTags::default();
    let lines: Vec<&str> = text.lines().collect();
    let first_statement = first_statement_line(record, &lines);
    let add = |out: &mut FileTags,
               written: Result<Vec<Written>, String>,
               line: u32,
               unit: Option<Option<u32>>,
               source| {
        let written = match written {
            Ok(written) => written,
            Err(message) => {
                out.diagnostics.push(TagDiagnostic { line, message, suggestion: None });
                return;
            }
        };
        let Some(unit) = unit else {
            out.diagnostics.push(TagDiagnostic {
                line,
                message: "tag attached to nothing: put it directly above a `def` or `class`, in a docstring, or at the top of the module".to_owned(),
                suggestion: None,
            });
            return;
        };
        for tag in written {
            if let Err((message, suggestion)) = vocabulary.check(&tag.key, &tag.values) {
                let suggestion = suggestion.map(|s| format!("did you mean {s}?"));
                out.diagnostics.push(TagDiagnostic { line, message, suggestion });
                continue;
            }
            out.tags.push(Tag { key: tag.key, values: tag.values, note: tag.note, line, unit, source });
        }
    };

    for comment in &record.comments {
        let body = comment.text.trim_start_matches('#');
        if let Some((rules, reason)) = parse_suppression(body) {
            let unit = comment_owner(record, &lines, comment.line, first_statement).flatten();
            out.suppressions.push(Suppression { rules, line: comment.line, unit, reason });
            continue;
        }
        if let Some(written) = parse_line(body) {
            let owner = comment_owner(record, &lines, comment.line, first_statement);
            add(&mut out, written, comment.line, owner, TagSource::Comment);
        }
    }
    // Docstrings: the module's, then each unit's.
    let docstrings = std::iter::once((None, record.docstring.as_deref(), docstring_line(&lines, 1))).chain(
        record
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| (Some(i as u32), u.docstring.as_deref(), docstring_line(&lines, u.header_end_line + 1))),
    );
    for (unit, docstring, start) in docstrings {
        let Some(docstring) = docstring else { continue };
        for (offset, line) in docstring.lines().enumerate() {
            if let Some(written) = parse_line(line) {
                add(&mut out, written, start + offset as u32, Some(unit), TagSource::Docstring);
            }
        }
    }
    out.tags.sort_by_key(|t| t.line);
    out.diagnostics.sort_by_key(|d| d.line);
    out
}

/// The first line at or after `from` that is neither blank nor a comment:
/// where a docstring (the first statement of a body) starts.
fn docstring_line(lines: &[&str], from: u32) -> u32 {
    (from as usize..=lines.len())
        .find(|&n| {
            lines.get(n.wrapping_sub(1)).is_some_and(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .map_or(from, |n| n as u32)
}

/// Line of the module's first statement (not a comment or blank line).
fn first_statement_line(record: &FileRecord, lines: &[&str]) -> u32 {
    let comment_lines: std::collections::HashSet<u32> =
        record.comments.iter().filter(|c| c.own_line).map(|c| c.line).collect();
    (1..=lines.len() as u32)
        .find(|&n| {
            let text = lines[n as usize - 1].trim();
            !text.is_empty() && !comment_lines.contains(&n) && !text.starts_with('#')
        })
        .unwrap_or(u32::MAX)
}

/// Who a comment's tags belong to: `Some(Some(unit))`, `Some(None)` for the
/// module, `None` for nothing.
fn comment_owner(record: &FileRecord, lines: &[&str], line: u32, first_statement: u32) -> Option<Option<u32>> {
    // On a unit's decorator or header lines.
    if let Some(i) = record.units.iter().position(|u| (u.start_line..=u.header_end_line).contains(&line)) {
        return Some(Some(i as u32));
    }
    // In the comment block directly above a unit.
    let below = (line + 1..).find(|&n| {
        let text = lines.get(n as usize - 1).map_or("", |l| l.trim());
        !text.starts_with('#')
    });
    if let Some(below) = below
        && let Some(i) = record.units.iter().position(|u: &Unit| u.start_line == below)
    {
        return Some(Some(i as u32));
    }
    if line < first_statement {
        return Some(None);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_tags_parse() {
        let Some(Ok(tags)) = parse_line(" @intent:parallel @parallel:data,task -- one request per SKU") else {
            panic!("parses");
        };
        assert_eq!(tags.len(), 2);
        assert_eq!(
            (tags[1].key.as_str(), tags[1].values.clone()),
            ("parallel", vec!["data".to_owned(), "task".to_owned()])
        );
        assert_eq!(tags[1].note.as_deref(), Some("one request per SKU"));
        assert!(parse_line("just a comment mentioning @property").is_none());
        assert!(matches!(parse_line("@intent:"), Some(Err(_))));
        assert!(matches!(parse_line("@intent parallel"), Some(Err(_))));
    }

    #[test]
    fn suggestions_for_typos() {
        let vocabulary = Vocabulary::default();
        let (message, suggestion) = vocabulary.check("intnet", &["parallel".to_owned()]).expect_err("unknown key");
        assert!(message.contains("unknown tag key `@intnet`"));
        assert_eq!(suggestion.as_deref(), Some("@intent:parallel"));
        let (_, suggestion) = vocabulary.check("intent", &["paralel".to_owned()]).expect_err("unknown value");
        assert_eq!(suggestion.as_deref(), Some("@intent:parallel"));
        assert!(vocabulary.check("deprecated", &[]).is_ok());
        assert!(vocabulary.check("deprecated", &["soon".to_owned()]).is_err());
        assert!(vocabulary.check("layer", &["anything".to_owned()]).is_ok());
        assert!(vocabulary.check("layer", &[]).is_err());
    }

    #[test]
    fn suppressions_parse() {
        assert_eq!(
            parse_suppression(" pyatlas: ignore[D001, d005] -- legacy"),
            Some((vec!["D001".to_owned(), "D005".to_owned()], Some("legacy".to_owned())))
        );
        assert_eq!(parse_suppression("pyatlas: ignore[D007]"), Some((vec!["D007".to_owned()], None)));
        assert_eq!(parse_suppression("pyatlas ignore"), None);
    }
}
