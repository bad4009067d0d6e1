//! The fingerprint of a run: everything that decides what it stores.

use pyatlas_chunker::ChunkConfig;
use pyatlas_classifier::Rules;
use pyatlas_embed::EmbedderSpec;
use pyatlas_intent_tags::IntentConfig;
use pyatlas_parser::Config;
use serde::Serialize;

/// What a run's rows depend on.
#[derive(Serialize)]
pub(crate) struct Inputs<'a> {
    pub(crate) chunking: &'a ChunkConfig,
    pub(crate) tokenizer: &'a str,
    pub(crate) parsing: &'a Config,
    pub(crate) rules: &'a Rules,
    pub(crate) intent: &'a IntentConfig,
    pub(crate) embedder: &'a EmbedderSpec,
    pub(crate) model_id: &'a str,
}

/// 32 hex digits of BLAKE3 over the inputs (as JSON, whose maps are
/// ordered) and the pyatlas version: two indexers with the same
/// fingerprint store the same rows for the same tree.
pub(crate) fn of(inputs: &Inputs<'_>) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(concat!("pyatlas ", env!("CARGO_PKG_VERSION"), "\n").as_bytes());
    // Serialising plain data with string keys cannot fail; were it to, the
    // error text would still differ from every valid input.
    let json = serde_json::to_string(inputs).unwrap_or_else(|e| format!("unserialisable: {e}"));
    hasher.update(json.as_bytes());
    hasher.finalize().to_hex()[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_input_changes_the_fingerprint() {
        let (chunking, parsing, rules, intent) =
            (ChunkConfig::default(), Config::default(), Rules::default(), IntentConfig::default());
        let embedder = EmbedderSpec::hash(384);
        let base = Inputs {
            chunking: &chunking,
            tokenizer: "cl100k_base",
            parsing: &parsing,
            rules: &rules,
            intent: &intent,
            embedder: &embedder,
            model_id: "pyatlas-hash-v1-384",
        };
        let chunking2 = ChunkConfig::default().max_tokens(256);
        let parsing2 = Config::default().include_stubs(true);
        let mut rules2 = Rules::default();
        rules2.threshold = 0.6;
        let mut intent2 = IntentConfig::default();
        intent2.call_depth = 5;
        let embedder2 = EmbedderSpec::hash(256);
        let variants = [
            Inputs { chunking: &chunking2, ..base },
            Inputs { tokenizer: "o200k_base", ..base },
            Inputs { parsing: &parsing2, ..base },
            Inputs { rules: &rules2, ..base },
            Inputs { intent: &intent2, ..base },
            Inputs { embedder: &embedder2, ..base },
            Inputs { model_id: "text-embedding-3-small@api.openai.com", ..base },
        ];
        let mut seen = BTreeSet::from([of(&base)]);
        for variant in &variants {
            assert!(seen.insert(of(variant)), "a changed input kept the fingerprint");
        }
        // Threads do not change what is stored.
        assert_eq!(of(&Inputs { parsing: &Config::default().threads(7), ..base }), of(&base));
    }
}
