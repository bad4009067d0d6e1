//! A file's compact facts as a store keeps them ([`FileRow::facts`]), so
//! that a run of a new process reuses the work of the files that did not
//! change instead of parsing them again.
//!
//! [`FileRow::facts`]: pyatlas_store::FileRow::facts

use std::collections::{HashMap, HashSet};

use pyatlas_graph::InternalRoots;
use pyatlas_intent_tags::FileFacts;
use pyatlas_parser::SourceFile;
use pyatlas_store::HeldFile;

use crate::work::FileWork;

/// What starts every stored form: the format, and its version. Another
/// version is not read (its files are parsed again).
const MAGIC: &[u8] = b"pyatlas-facts/1\n";

/// How a run stores and reads back facts. A file's facts depend on the
/// codebase's top-level names besides the file (names under them are the
/// codebase's own), so the stored form carries their digest and facts
/// made with other names are not read.
#[derive(Clone, Copy)]
pub(crate) struct FactsFormat {
    roots: blake3::Hash,
}

impl FactsFormat {
    /// The format of a run over a codebase whose top-level names are `roots`.
    pub(crate) fn new(roots: &InternalRoots) -> Self {
        let mut hasher = blake3::Hasher::new();
        for name in roots.names() {
            hasher.update(name.as_bytes());
            hasher.update(b"\n");
        }
        Self { roots: hasher.finalize() }
    }

    /// The stored form of `facts` (`None` if it cannot be written, which
    /// plain data never fails to be: the file is then simply parsed again
    /// by a later process).
    pub(crate) fn encode(&self, facts: &FileFacts) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(self.roots.as_bytes());
        rmp_serde::encode::write(&mut out, facts).ok()?;
        Some(out)
    }

    /// The facts `bytes` hold, if they are of this format and these
    /// top-level names and are whole and consistent (see
    /// [`FileFacts`]'s deserialization); `None` otherwise.
    pub(crate) fn decode(&self, bytes: &[u8]) -> Option<FileFacts> {
        let body = bytes.strip_prefix(MAGIC)?.strip_prefix(self.roots.as_bytes().as_slice())?;
        rmp_serde::from_slice(body).ok()
    }
}

/// What a run whose target keeps facts knows of them: how they are
/// stored, and the files the run holds as they are, with their facts read
/// back, by path.
pub(crate) struct Stored {
    pub(crate) format: FactsFormat,
    held: HashMap<String, (HeldFile, FileFacts)>,
}

impl Stored {
    /// What `held` (the files the run holds) offers a run in `format`,
    /// each file's facts read back; the second half: the paths of the
    /// files whose facts are missing, damaged or made for other top-level
    /// names, to be set again once parsed.
    pub(crate) fn new(format: FactsFormat, held: Vec<HeldFile>) -> (Self, HashSet<String>) {
        let mut usable = HashMap::with_capacity(held.len());
        let mut stale = HashSet::new();
        for mut file in held {
            let facts =
                file.facts.take().and_then(|bytes| format.decode(&bytes)).filter(|f| f.record.path == file.path);
            match facts {
                Some(facts) => {
                    usable.insert(file.path.clone(), (file, facts));
                }
                None => {
                    stale.insert(file.path);
                }
            }
        }
        (Self { format, held: usable }, stale)
    }

    /// The work of `file` if the run holds it as it is now: its bytes hash
    /// (`hash`, when known already) to the held row's content hash, under
    /// the same module. `None`: parse it.
    pub(crate) fn take(&mut self, file: &SourceFile, hash: Option<blake3::Hash>) -> Option<FileWork> {
        let (held, _) = self.held.get(&file.rel_path).filter(|(h, _)| h.module == file.module.as_str())?;
        let hash = match hash {
            Some(hash) => hash,
            None => blake3::hash(&std::fs::read(&file.path).ok()?),
        };
        if content_hash(&hash) != held.content_hash {
            return None;
        }
        let (held, facts) = self.held.remove(&file.rel_path)?;
        Some(FileWork::held(held, facts))
    }
}

/// The content hash a file's row carries: a prefix of the BLAKE3 of its
/// text, in hex.
pub(crate) fn content_hash(hash: &blake3::Hash) -> String {
    hash.to_hex()[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use pyatlas_chunker::{CharCounter, ChunkConfig, Chunker};
    use pyatlas_classifier::{RuleClassifier, Rules};
    use pyatlas_intent_tags::IntentConfig;
    use pyatlas_parser::{Config, SourceFile, SourceParser};

    use super::*;
    use crate::work::Analysis;

    #[test]
    fn facts_come_back_as_they_were_and_nothing_else_is_read() {
        let analysis = Analysis {
            chunker: Chunker::new(ChunkConfig::default(), CharCounter).expect("a chunker"),
            classifier: Box::new(RuleClassifier::new(Rules::default())),
            intent: IntentConfig::default(),
        };
        let source = "import threading\nfrom pkg import b\n\n\nclass A(b.Base):\n    # @intent:parallel\n    def run(self):\n        self.go()\n        b.helper()\n\n    def go(self):\n        threading.Thread(target=print).start()\n";
        let mut parser = SourceParser::new(&Config::default()).expect("a parser");
        let parsed = parser.parse_bytes(&SourceFile::in_memory("pkg/a.py", "pkg.a", false), source.as_bytes());
        let roots = InternalRoots::new(["pkg.a", "pkg.b"]);
        let facts = analysis.file(&parsed, &roots, None).facts;
        let format = FactsFormat::new(&roots);
        let stored = format.encode(&facts).expect("encoded");
        assert_eq!(format.decode(&stored), Some(facts.clone()));
        // Other top-level names, another version, a cut or a damaged body.
        assert_eq!(FactsFormat::new(&InternalRoots::new(["pkg", "other"])).decode(&stored), None);
        let mut other = stored.clone();
        other[MAGIC.len() - 2] = b'9';
        assert_eq!(format.decode(&other), None);
        assert_eq!(format.decode(&stored[..stored.len() - 3]), None);
        // A unit index out of range is refused, never followed.
        let mut bad = facts;
        if let Some(tag) = bad.tags.tags.first_mut() {
            tag.unit = Some(99);
        }
        assert!(!bad.tags.tags.is_empty(), "the fixture has a tag");
        assert_eq!(format.decode(&format.encode(&bad).expect("encoded")), None);
    }
}
