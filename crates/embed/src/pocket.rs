//! [`PocketEmbedder`]: a small sentence-transformer shipped inside the
//! binary (the `pocket-encoder` crate: paraphrase-MiniLM-L3-v2, 4-bit
//! weights, 384 dimensions, 128 tokens), offline, on the CPU.

use std::sync::Arc;

use crate::{BoxFuture, EmbedError, EmbedReport, Embedded, Embedder, InputFailure, Metrics, OnBatch};

/// Semantic embeddings with no network and no model files: the model is
/// compiled in. Inputs are cut to the model's 128 tokens (the header,
/// signature and docstring of a chunk, in practice).
#[derive(Clone)]
pub struct PocketEmbedder {
    encoder: pocket_encoder::Encoder,
    model_id: String,
}

impl std::fmt::Debug for PocketEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PocketEmbedder").field("model_id", &self.model_id).finish()
    }
}

impl PocketEmbedder {
    /// Loads the bundled model (about 0.1 s, once per process).
    ///
    /// # Errors
    /// [`EmbedError::Config`] when the model cannot be loaded.
    pub fn new() -> Result<Self, EmbedError> {
        let encoder = pocket_encoder::Encoder::new().map_err(|e| EmbedError::Config { reason: e.to_string() })?;
        Ok(Self { encoder, model_id: pocket_encoder::model_info().id })
    }
}

impl Embedder for PocketEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimensions(&self) -> usize {
        pocket_encoder::model_info().dimensions
    }

    fn max_input_tokens(&self) -> usize {
        pocket_encoder::model_info().max_tokens
    }

    fn embed_each<'a>(&'a self, texts: &'a [&'a str], on_batch: &'a mut OnBatch<'a>) -> BoxFuture<'a, EmbedReport> {
        Box::pin(async move {
            const BATCH: usize = 32;
            let mut report = EmbedReport::default();
            for (number, batch) in texts.chunks(BATCH).enumerate() {
                let start = number * BATCH;
                // Blank texts are refused by the model: they fail alone.
                let (blank, kept): (Vec<usize>, Vec<usize>) =
                    (0..batch.len()).partition(|&i| batch[i].trim().is_empty());
                for i in blank {
                    let error = Arc::new(EmbedError::EmptyInput { index: start + i });
                    report.failures.push(InputFailure { index: start + i, error });
                }
                let inputs: Vec<String> = kept.iter().map(|&i| batch[i].to_owned()).collect();
                let encoder = self.encoder.clone();
                let vectors = tokio::task::spawn_blocking(move || {
                    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                    encoder.embed(&refs)
                })
                .await;
                match vectors {
                    Ok(Ok(vectors)) => {
                        report.embedded += vectors.len();
                        on_batch(
                            kept.iter()
                                .zip(vectors)
                                .map(|(&i, vector)| Embedded { index: start + i, vector })
                                .collect(),
                        );
                    }
                    Ok(Err(e)) => {
                        let error = Arc::new(EmbedError::Config { reason: e.to_string() });
                        report
                            .failures
                            .extend(kept.iter().map(|&i| InputFailure { index: start + i, error: Arc::clone(&error) }));
                    }
                    Err(join) => {
                        let error =
                            Arc::new(EmbedError::Config { reason: format!("the model's worker failed: {join}") });
                        report
                            .failures
                            .extend(kept.iter().map(|&i| InputFailure { index: start + i, error: Arc::clone(&error) }));
                    }
                }
            }
            report.failures.sort_by_key(|f| f.index);
            report.metrics = Metrics { inputs_embedded: report.embedded as u64, ..Metrics::default() };
            report
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn paraphrases_are_closer_than_strangers_and_blank_inputs_fail_alone() {
        let embedder = PocketEmbedder::new().expect("the bundled model");
        assert_eq!(embedder.dimensions(), 384);
        let texts = ["Send the browser to another address", "", "Redirect the user to a new URL", "Bake a cake"];
        let mut vectors = vec![Vec::new(); texts.len()];
        let report = embedder
            .embed_each(&texts, &mut |batch| {
                for item in batch {
                    vectors[item.index] = item.vector;
                }
            })
            .await;
        assert_eq!(report.embedded, 3);
        assert_eq!(report.failures.iter().map(|f| f.index).collect::<Vec<_>>(), [1]);
        assert!(cosine(&vectors[0], &vectors[2]) > cosine(&vectors[0], &vectors[3]) + 0.1);
    }
}
