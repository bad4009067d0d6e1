//! A project's configuration extends or overrides the default rules.

use std::path::Path;

use pyatlas_classifier::{Classifier, ConfigSource, Error, RuleClassifier, Rules};
use pyatlas_parser::{SourceFile, SourceParser};

fn domains_of(rules: Rules, source: &str) -> Vec<String> {
    let mut parser = SourceParser::new(&Default::default()).expect("grammar");
    let parsed = parser.parse_bytes(&SourceFile::in_memory("billing.py", "billing", false), source.as_bytes());
    RuleClassifier::new(rules).classify(parsed.record()).module.into_iter().map(|d| d.domain).collect()
}

const BILLING: &str = "import stripe\n\ndef charge(amount):\n    return stripe.Charge.create(amount=amount)\n";

#[test]
fn a_new_domain_in_pyatlas_toml() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("pyatlas.toml"),
        "[classifier.domains.payments]\ndescription = \"Takes money.\"\nimports = [\"stripe\"]\ncalls = [\"stripe.*\"]\n",
    )
    .expect("write");
    let (rules, source) = Rules::for_root(dir.path()).expect("valid config");
    assert_eq!(source, ConfigSource::PyatlasToml(dir.path().join("pyatlas.toml")));
    assert_eq!(rules.domain("payments").map(|d| d.description.as_str()), Some("Takes money."));
    assert!(rules.domain("database").is_some(), "the defaults stay");
    assert_eq!(domains_of(rules, BILLING), ["payments"]);
    assert!(domains_of(Rules::default(), BILLING).is_empty(), "unknown to the defaults");
}

#[test]
fn tool_pyatlas_in_pyproject_extends_replaces_and_disables() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("pyproject.toml"),
        r#"
[project]
name = "shop"

[tool.pyatlas.classifier]
threshold = 0.6

[tool.pyatlas.classifier.domains.network]
imports = ["stripe"]

[tool.pyatlas.classifier.domains.testing]
replace = true
names = ["check_*"]

[tool.pyatlas.classifier.domains.cli]
enabled = false
"#,
    )
    .expect("write");
    let (rules, source) = Rules::for_root(dir.path()).expect("valid config");
    assert!(matches!(source, ConfigSource::Pyproject(_)));
    assert_eq!(rules.threshold, 0.6);
    let network = rules.domain("network").expect("network");
    assert!(network.imports.contains(&"stripe".to_owned()) && network.imports.contains(&"requests".to_owned()));
    assert_eq!(rules.domain("testing").map(|d| d.names.clone()), Some(vec!["check_*".to_owned()]));
    assert!(rules.domain("cli").is_none());
    // The import of stripe is now network evidence (0.5): under the raised
    // threshold, over the default one.
    let mut lowered = rules.clone();
    lowered.threshold = 0.5;
    assert!(domains_of(rules, BILLING).is_empty());
    assert_eq!(domains_of(lowered, BILLING), ["network"]);
}

#[test]
fn a_pyproject_without_the_table_means_the_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pyproject.toml"), "[project]\nname = \"shop\"\n").expect("write");
    let (rules, source) = Rules::for_root(dir.path()).expect("valid");
    assert_eq!(source, ConfigSource::Defaults);
    assert_eq!(rules, Rules::default());
}

fn config_error(text: &str) -> String {
    let error = Rules::default().extend_from(text, Path::new("pyatlas.toml"), &["classifier"]).expect_err("invalid");
    assert!(matches!(error, Error::Config { .. }));
    error.to_string()
}

#[test]
fn mistakes_are_errors_that_say_where_and_what() {
    let syntax = config_error("[classifier\nthreshold = 1\n");
    assert!(syntax.starts_with("pyatlas.toml:1:"), "{syntax}");
    let typo = config_error("[classifier.domains.payments]\nimprots = [\"stripe\"]\n");
    assert!(typo.contains("improts"), "an unknown key is named: {typo}");
    let nothing = config_error("[classifier.domains.payments]\ndescription = \"no patterns\"\n");
    assert!(nothing.contains("this rule checks nothing"), "{nothing}");
    let pattern = config_error("[classifier.domains.payments]\ncalls = [\"stripe.*.create\"]\n");
    assert!(pattern.contains("stripe.*.create"), "{pattern}");
    let weight = config_error("[classifier.weights]\ncall = 1.5\n");
    assert!(weight.contains("weights.call must be in [0, 1]"), "{weight}");
    let disabled = config_error("[classifier.domains.nonexistent]\nenabled = false\n");
    assert!(disabled.contains("no such domain"), "{disabled}");
}

/// Another classifier plugs in beside the rules: here, one that calls every
/// module with "billing" in its name `payments`.
struct ByName;

impl Classifier for ByName {
    fn name(&self) -> &str {
        "by-name"
    }

    fn classify(&self, file: &pyatlas_parser::FileRecord) -> pyatlas_classifier::Classification {
        let mut result = pyatlas_classifier::Classification::default();
        result.units = vec![Vec::new(); file.units.len()];
        if file.module.as_str().contains("billing") {
            let json = serde_json::json!([{"domain": "payments", "score": 0.9,
                "evidence": [{"line": 1, "text": "module name", "kind": "module", "occurrences": 1}]}]);
            result.module = serde_json::from_value(json).expect("a domain score");
        }
        result
    }
}

#[test]
fn classifiers_plug_in_and_combine() {
    let combined =
        pyatlas_classifier::CombinedClassifier::new(vec![Box::new(RuleClassifier::default()), Box::new(ByName)]);
    let source = "import json\n\ndef invoice(data):\n    return json.dumps(data)\n";
    let mut parser = SourceParser::new(&Default::default()).expect("grammar");
    let parsed = parser.parse_bytes(&SourceFile::in_memory("billing.py", "billing", false), source.as_bytes());
    let result = combined.classify(parsed.record());
    let domains: Vec<_> = result.module.iter().map(|d| (d.domain.as_str(), d.score)).collect();
    assert_eq!(domains[0], ("payments", 0.9));
    assert_eq!(domains[1].0, "serialization");
    assert_eq!(result.units.len(), 1);
}
