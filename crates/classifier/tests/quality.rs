//! Classification quality on a labelled fixture set: modules and units with
//! their expected domains, positives and negatives, aliased imports, and
//! lookalike names that must not match. Reports precision and recall.

use std::collections::{BTreeMap, BTreeSet};

use pyatlas_classifier::{Classifier, RuleClassifier};
use pyatlas_parser::{Config, parse_codebase};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/labelled");

#[derive(serde::Deserialize)]
struct Labels {
    modules: BTreeMap<String, Vec<String>>,
    units: BTreeMap<String, Vec<String>>,
}

#[derive(Default)]
struct Tally {
    true_positives: usize,
    false_positives: Vec<String>,
    false_negatives: Vec<String>,
}

impl Tally {
    fn add(&mut self, name: &str, expected: &BTreeSet<String>, predicted: &BTreeSet<String>) {
        self.true_positives += expected.intersection(predicted).count();
        self.false_positives.extend(predicted.difference(expected).map(|d| format!("{name}: {d}")));
        self.false_negatives.extend(expected.difference(predicted).map(|d| format!("{name}: {d}")));
    }

    fn precision(&self) -> f64 {
        self.true_positives as f64 / (self.true_positives + self.false_positives.len()).max(1) as f64
    }

    fn recall(&self) -> f64 {
        self.true_positives as f64 / (self.true_positives + self.false_negatives.len()).max(1) as f64
    }

    fn report(&self, what: &str) -> String {
        format!(
            "{what}: precision {:.1}% recall {:.1}% ({} true positives)\n  false positives: {:?}\n  false negatives: {:?}",
            100.0 * self.precision(),
            100.0 * self.recall(),
            self.true_positives,
            self.false_positives,
            self.false_negatives
        )
    }
}

#[test]
fn precision_and_recall_on_the_labelled_fixtures() {
    let labels: Labels = toml::from_str(&std::fs::read_to_string(format!("{FIXTURES}/labels.toml")).expect("labels"))
        .expect("labels.toml");
    let codebase = parse_codebase(FIXTURES, &Config::default()).expect("parse the fixtures");
    assert_eq!(codebase.files.len(), labels.modules.len(), "every fixture module is labelled");
    let classifier = RuleClassifier::default();

    let (mut modules, mut units) = (Tally::default(), Tally::default());
    let mut units_seen = 0;
    for file in &codebase.files {
        assert!(!file.has_errors(), "{}: {:?}", file.path, file.diagnostics);
        let module = file.module.as_str();
        let classification = classifier.classify(file);
        let expected: BTreeSet<String> = labels.modules[module].iter().cloned().collect();
        let predicted: BTreeSet<String> = classification.module.iter().map(|d| d.domain.clone()).collect();
        modules.add(module, &expected, &predicted);
        for (unit, domains) in file.units.iter().zip(&classification.units) {
            let name = format!("{module}.{}", unit.qualname);
            if let Some(expected) = labels.units.get(&name) {
                units_seen += 1;
                let expected: BTreeSet<String> = expected.iter().cloned().collect();
                let predicted: BTreeSet<String> = domains.iter().map(|d| d.domain.clone()).collect();
                units.add(&name, &expected, &predicted);
            }
        }
        if module.starts_with("lookalike") || module == "pure_helpers" {
            assert!(predicted.is_empty(), "{module} must match no domain, got {:#?}", classification.module);
        }
    }
    assert_eq!(units_seen, labels.units.len(), "every labelled unit exists");
    eprintln!("{}\n{}", modules.report("modules"), units.report("units"));
    assert!(modules.precision() >= 0.9 && modules.recall() >= 0.9, "{}", modules.report("modules"));
    assert!(units.precision() >= 0.9 && units.recall() >= 0.9, "{}", units.report("units"));
}
