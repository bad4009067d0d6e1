//! Where tags belong, user-declared keys, and configuration errors.

use pyatlas_intent_tags::{IntentConfig, RuleId, Severity, TagSource, Vocabulary, read_tags};
use pyatlas_parser::{SourceFile, SourceParser};

fn tags_of(source: &str, vocabulary: &Vocabulary) -> pyatlas_intent_tags::FileTags {
    let mut parser = SourceParser::new(&Default::default()).expect("grammar");
    let parsed = parser.parse_bytes(&SourceFile::in_memory("m.py", "m", false), source.as_bytes());
    read_tags(parsed.record(), parsed.text(), vocabulary)
}

const SOURCE: &str = r#"#!/usr/bin/env python3
# @layer:domain -- before the first statement: the module's
"""The module.

@owner:payments
"""
import os


# @intent:parallel
# @parallel:data
@decorator
def run(items):  # @domain:network
    """Run.

    @intent:no-io -- in a docstring
    """
    # @deprecated -- inside a body: attached to nothing
    return items


class Ledger:
    # @intent:pure
    def total(self):
        return 0
"#;

#[test]
fn tags_belong_to_their_unit_or_module() {
    let found = tags_of(SOURCE, &Vocabulary::default());
    let placed: Vec<_> =
        found.tags.iter().map(|t| (format!("@{}:{}", t.key, t.values.join(",")), t.line, t.unit, t.source)).collect();
    assert_eq!(
        placed,
        [
            ("@layer:domain".to_owned(), 2, None, TagSource::Comment),
            ("@owner:payments".to_owned(), 5, None, TagSource::Docstring),
            ("@intent:parallel".to_owned(), 10, Some(0), TagSource::Comment),
            ("@parallel:data".to_owned(), 11, Some(0), TagSource::Comment),
            ("@domain:network".to_owned(), 13, Some(0), TagSource::Comment),
            ("@intent:no-io".to_owned(), 16, Some(0), TagSource::Docstring),
            ("@intent:pure".to_owned(), 23, Some(2), TagSource::Comment),
        ]
    );
    assert_eq!(found.tags[0].note.as_deref(), Some("before the first statement: the module's"));
    assert_eq!(found.diagnostics.len(), 1, "{:?}", found.diagnostics);
    assert_eq!(found.diagnostics[0].line, 18);
    assert!(found.diagnostics[0].message.starts_with("tag attached to nothing"));
}

#[test]
fn projects_declare_keys_and_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("pyproject.toml"),
        r#"
[tool.pyatlas.intent]
layers = ["api", "domain"]

[tool.pyatlas.intent.keys.team]
values = ["payments", "search"]
description = "the owning team"

[tool.pyatlas.intent.keys.intent]
values = ["idempotent"]

[tool.pyatlas.intent.severity]
D004 = "error"
"#,
    )
    .expect("write");
    let (config, source) = IntentConfig::for_root(dir.path()).expect("valid");
    assert!(source.is_some_and(|p| p.ends_with("pyproject.toml")));
    assert_eq!(config.severities.get(&RuleId::D004), Some(&Severity::Error));
    let found = tags_of(
        "# @team:payments @intent:idempotent\ndef f(): pass\n# @team:serach\ndef g(): pass\n",
        &config.vocabulary,
    );
    assert_eq!(found.tags.len(), 2, "{:?}", found.diagnostics);
    assert_eq!(found.diagnostics[0].suggestion.as_deref(), Some("did you mean @team:search?"));
}

#[test]
fn configuration_mistakes_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let check = |text: &str| {
        std::fs::write(dir.path().join("pyatlas.toml"), text).expect("write");
        IntentConfig::for_root(dir.path()).expect_err("invalid").to_string()
    };
    assert!(check("[intent]\nlayerz = []\n").contains("layerz"));
    assert!(
        check("[intent]\nlayers = [\"a\"]\n[intent.layer_modules]\nb = [\"x\"]\n").contains("`b` is not in `layers`")
    );
    assert!(check("[intent.severity]\nD009 = \"error\"\n").contains("unknown rule `D009`"));
    assert!(check("[intent.severity]\nD001 = \"fatal\"\n").contains("neither `error` nor `warning`"));
}
