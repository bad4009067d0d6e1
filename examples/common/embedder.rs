//! The embedder options the `embed`, `index` and `search` examples share.

use std::time::Duration;

use anyhow::Context as _;
use pyatlas::embed::{Embedder, HashEmbedder, OpenAiConfig, OpenAiEmbedder, TooLongPolicy};

/// Which embedder, and how to reach and pace it.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct EmbedderArgs {
    /// `hash`: offline, lexical, deterministic (the default). `openai`: any
    /// OpenAI-compatible `/embeddings` endpoint (`OPENAI_API_KEY`,
    /// `OPENAI_BASE_URL` from the environment unless given).
    #[arg(long, value_enum, default_value_t = EmbedderKind::Hash)]
    pub(crate) embedder: EmbedderKind,
    /// The provider's model.
    #[arg(long, default_value = "text-embedding-3-small")]
    pub(crate) model: String,
    /// Vector size: asked of the provider (models that support it), or the
    /// hash embedder's size (default 384).
    #[arg(long)]
    pub(crate) dimensions: Option<usize>,
    /// The provider's base URL (default: `OPENAI_BASE_URL`, else OpenAI).
    #[arg(long)]
    pub(crate) api_base: Option<String>,
    /// Requests per minute the provider allows.
    #[arg(long)]
    pub(crate) rpm: Option<u32>,
    /// Tokens per minute the provider allows.
    #[arg(long)]
    pub(crate) tpm: Option<u32>,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 8)]
    pub(crate) concurrency: usize,
    /// Truncate inputs longer than the model accepts instead of reporting them.
    #[arg(long)]
    pub(crate) truncate: bool,
    /// Give up on the whole run after this many seconds.
    #[arg(long)]
    pub(crate) deadline: Option<u64>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EmbedderKind {
    Hash,
    Openai,
}

impl EmbedderArgs {
    /// Builds the embedder these options describe.
    pub(crate) fn build(&self) -> anyhow::Result<Box<dyn Embedder>> {
        match self.embedder {
            EmbedderKind::Hash => {
                let dimensions = self.dimensions.unwrap_or(HashEmbedder::DEFAULT_DIMENSIONS);
                Ok(Box::new(HashEmbedder::new(dimensions)?))
            }
            EmbedderKind::Openai => {
                let mut config = OpenAiConfig::from_env(&self.model).concurrency(self.concurrency);
                if let Some(url) = &self.api_base {
                    config = config.base_url(url);
                }
                if let Some(dimensions) = self.dimensions {
                    config = config.dimensions(dimensions);
                }
                if let Some(rpm) = self.rpm {
                    config = config.requests_per_minute(rpm);
                }
                if let Some(tpm) = self.tpm {
                    config = config.tokens_per_minute(tpm);
                }
                if self.truncate {
                    config = config.too_long(TooLongPolicy::Truncate);
                }
                if let Some(seconds) = self.deadline {
                    config = config.deadline(Duration::from_secs(seconds));
                }
                let embedder = OpenAiEmbedder::new(config).context("configuring the OpenAI-compatible embedder")?;
                Ok(Box::new(embedder))
            }
        }
    }
}
