//! Module and import expressions, as import-linter and grimp write them:
//! `pkg.api`, `pkg.*.models` (`*` is exactly one name), `pkg.**` (`**` is
//! one or more names), and `importer -> imported`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an expression is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpressionError {
    /// A wildcard that is only part of a name (`pkg.mod*`).
    #[error("A wildcard can only replace a whole module.")]
    PartialWildcard,
    /// `**` next to another wildcard.
    #[error("A recursive wildcard cannot be followed by a wildcard.")]
    RecursiveThenWildcard,
    /// `*` followed by `**`.
    #[error("A wildcard cannot be followed by a recursive wildcard.")]
    WildcardThenRecursive,
    /// An empty name (`pkg..mod`, a leading or trailing dot, nothing at all).
    #[error("'{0}' is not a module name: a part of it is empty.")]
    EmptyPart(String),
    /// An import expression without its arrow or one of its sides.
    #[error("Must be in the form \"package.importer -> package.imported\".")]
    NotAnImport,
}

/// One part of a [`ModuleExpression`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Part {
    Name(String),
    /// `*`: exactly one name.
    One,
    /// `**`: one or more names.
    Many,
}

/// A module, or a set of modules by wildcards.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleExpression {
    text: String,
}

impl ModuleExpression {
    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `true` when it has a `*` or `**`.
    pub fn has_wildcard(&self) -> bool {
        self.text.contains('*')
    }

    fn parts(&self) -> impl Iterator<Item = Part> + '_ {
        self.text.split('.').map(|p| match p {
            "*" => Part::One,
            "**" => Part::Many,
            name => Part::Name(name.to_owned()),
        })
    }

    /// `true` when `module` (a dotted name) is one the expression names.
    pub fn matches(&self, module: &str) -> bool {
        if !self.has_wildcard() {
            return self.text == module;
        }
        let parts: Vec<Part> = self.parts().collect();
        let names: Vec<&str> = module.split('.').collect();
        matches_from(&parts, &names)
    }
}

fn matches_from(parts: &[Part], names: &[&str]) -> bool {
    match parts.split_first() {
        None => names.is_empty(),
        Some((Part::Name(name), rest)) => names.first() == Some(&name.as_str()) && matches_from(rest, &names[1..]),
        Some((Part::One, rest)) => !names.is_empty() && matches_from(rest, &names[1..]),
        Some((Part::Many, rest)) => (1..=names.len()).any(|taken| matches_from(rest, &names[taken..])),
    }
}

impl FromStr for ModuleExpression {
    type Err = ExpressionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut last_wildcard: Option<&str> = None;
        for part in text.split('.') {
            if last_wildcard == Some("**") && (part == "*" || part == "**") {
                return Err(ExpressionError::RecursiveThenWildcard);
            }
            if last_wildcard == Some("*") && part == "**" {
                return Err(ExpressionError::WildcardThenRecursive);
            }
            if part == "*" || part == "**" {
                last_wildcard = Some(part);
                continue;
            }
            if part.contains('*') {
                return Err(ExpressionError::PartialWildcard);
            }
            if part.trim().is_empty() {
                return Err(ExpressionError::EmptyPart(text.to_owned()));
            }
            last_wildcard = None;
        }
        Ok(Self { text: text.to_owned() })
    }
}

impl fmt::Display for ModuleExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for ModuleExpression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ModuleExpression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Imports by their two sides: `pkg.a -> pkg.b`, wildcards allowed on either.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImportExpression {
    /// The importing side.
    pub importer: ModuleExpression,
    /// The imported side.
    pub imported: ModuleExpression,
}

impl FromStr for ImportExpression {
    type Err = ExpressionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (importer, imported) = text.split_once("->").unwrap_or((text, ""));
        let (importer, imported) = (importer.trim(), imported.trim());
        if importer.is_empty() || imported.is_empty() {
            return Err(ExpressionError::NotAnImport);
        }
        Ok(Self { importer: importer.parse()?, imported: imported.parse()? })
    }
}

impl fmt::Display for ImportExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.importer, self.imported)
    }
}

impl Serialize for ImportExpression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ImportExpression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(text: &str) -> ModuleExpression {
        text.parse().expect(text)
    }

    #[test]
    fn wildcards_replace_whole_names() {
        assert!(expr("a.*.c").matches("a.b.c"));
        assert!(!expr("a.*.c").matches("a.b.x.c"));
        assert!(expr("a.**.c").matches("a.b.x.c"));
        assert!(!expr("a.**.c").matches("a.c"), "** is one or more names");
        assert!(expr("a.**").matches("a.b"));
        assert!(!expr("a.**").matches("a"));
        assert!(expr("*.b").matches("x.b"));
        assert!(expr("a.b").matches("a.b") && !expr("a.b").matches("a.b.c"));
    }

    #[test]
    fn malformed_expressions_say_why() {
        let error = |t: &str| t.parse::<ModuleExpression>().expect_err(t).to_string();
        assert_eq!(error("a.b*"), "A wildcard can only replace a whole module.");
        assert_eq!(error("a.**.*"), "A recursive wildcard cannot be followed by a wildcard.");
        assert_eq!(error("a.*.**"), "A wildcard cannot be followed by a recursive wildcard.");
        assert!(error("a..b").contains("empty"));
        let import = |t: &str| t.parse::<ImportExpression>().expect_err(t).to_string();
        assert_eq!(import("a.b"), "Must be in the form \"package.importer -> package.imported\".");
        assert_eq!(import("a.b -> c.d*"), "A wildcard can only replace a whole module.");
        assert_eq!("a.* -> b".parse::<ImportExpression>().expect("valid").to_string(), "a.* -> b");
    }
}
