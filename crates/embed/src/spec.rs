//! [`EmbedderSpec`]: which embedder made a set of vectors, as data, so that
//! whoever searches them later embeds queries the same way.

use serde::{Deserialize, Serialize};

use crate::{EmbedError, Embedder, HashEmbedder, OpenAiConfig, OpenAiEmbedder};

/// The family of an embedder.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EmbedderKind {
    /// [`HashEmbedder`]: offline, lexical.
    Hash,
    /// [`OpenAiEmbedder`]: an OpenAI-compatible `/embeddings` API.
    #[serde(rename = "openai")]
    OpenAi,
    /// An embedder of the caller's own; it cannot be rebuilt from its spec.
    Other,
}

impl EmbedderKind {
    /// The name used in JSON and on command lines: `hash`, `openai`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hash => "hash",
            Self::OpenAi => "openai",
            Self::Other => "other",
        }
    }
}

impl std::fmt::Display for EmbedderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EmbedderKind {
    type Err = EmbedError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Hash, Self::OpenAi, Self::Other]
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| EmbedError::Config { reason: format!("unknown embedder {text:?} (hash or openai)") })
    }
}

/// What an embedder is: its kind, model, vector size and the options that
/// change its vectors. Recorded with a run, read back to embed queries as
/// the run's chunks were embedded. Holds no secret (no key, no URL).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbedderSpec {
    /// The family.
    pub kind: EmbedderKind,
    /// The model (`text-embedding-3-small`; for the hash embedder, the
    /// scheme's version `pyatlas-hash-v1`).
    pub model: String,
    /// The vector size.
    pub dimensions: usize,
    /// The size was asked of the provider (`dimensions` in the request),
    /// rather than being the model's own.
    #[serde(default)]
    pub request_dimensions: bool,
}

impl EmbedderSpec {
    /// The spec of [`HashEmbedder::new`]`(dimensions)`.
    pub fn hash(dimensions: usize) -> Self {
        Self { kind: EmbedderKind::Hash, model: HashEmbedder::SCHEME.to_owned(), dimensions, request_dimensions: false }
    }

    /// The spec of an OpenAI-compatible embedder of `model`.
    pub fn openai(model: impl Into<String>, dimensions: usize, request_dimensions: bool) -> Self {
        Self { kind: EmbedderKind::OpenAi, model: model.into(), dimensions, request_dimensions }
    }

    /// The spec of an embedder this crate does not know.
    pub fn other(model: impl Into<String>, dimensions: usize) -> Self {
        Self { kind: EmbedderKind::Other, model: model.into(), dimensions, request_dimensions: false }
    }

    /// For [`EmbedderKind::OpenAi`]: the configuration that embeds as this
    /// spec says, with the key and base URL from the environment
    /// ([`OpenAiConfig::from_env`]); the caller may change how it is reached
    /// (base URL, limits), not what it computes.
    pub fn openai_config(&self) -> Option<OpenAiConfig> {
        if self.kind != EmbedderKind::OpenAi {
            return None;
        }
        let config = OpenAiConfig::from_env(&self.model);
        Some(if self.request_dimensions {
            config.dimensions(self.dimensions)
        } else {
            config.expect_dimensions(self.dimensions)
        })
    }

    /// An embedder that embeds as this spec says.
    ///
    /// # Errors
    /// [`EmbedError::Config`] for [`EmbedderKind::Other`] (only its owner
    /// can rebuild it) or an invalid configuration.
    pub fn embedder(&self) -> Result<Box<dyn Embedder>, EmbedError> {
        match self.kind {
            EmbedderKind::Hash => Ok(Box::new(HashEmbedder::new(self.dimensions)?)),
            EmbedderKind::OpenAi => {
                let config = self.openai_config().ok_or_else(|| EmbedError::Config { reason: "not OpenAI".into() })?;
                Ok(Box::new(OpenAiEmbedder::new(config)?))
            }
            EmbedderKind::Other => Err(EmbedError::Config {
                reason: format!(
                    "`{}` is an embedder of the caller's own: it cannot be rebuilt from its spec",
                    self.model
                ),
            }),
        }
    }
}

impl std::fmt::Display for EmbedderSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({} dimensions)", self.kind, self.model, self.dimensions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_rebuilds_its_embedder() {
        let hash = HashEmbedder::new(64).expect("hash");
        let rebuilt = hash.spec().embedder().expect("rebuild");
        assert_eq!((rebuilt.model_id(), rebuilt.dimensions()), (hash.model_id(), 64));
        assert_eq!(rebuilt.spec(), hash.spec());

        let openai = EmbedderSpec::openai("text-embedding-3-small", 256, true);
        let round: EmbedderSpec = serde_json::from_value(serde_json::to_value(&openai).expect("json")).expect("back");
        assert_eq!(round, openai);
        let other = EmbedderSpec::other("mine", 3);
        assert!(other.embedder().is_err());
    }
}
