//! Vectors in the `embeddings` table, and the embed crate's cache seam.

use std::collections::HashMap;

use pgvector::Vector;
use pyatlas_chunker::ChunkId;
use pyatlas_embed::{BoxFuture, CacheError, EmbeddingCache, TextHash};
use tokio_postgres::types::{ToSql, Type};

use crate::run::{IngestReport, Rejected};
use crate::{Store, StoreError};

impl Store {
    /// Stores vectors of chunks (`(chunk id, vector)`), checking each has
    /// `dimensions` finite values first. Vectors already there stay.
    pub async fn put_embeddings(
        &self,
        model_id: &str,
        dimensions: usize,
        vectors: &[(ChunkId, &[f32])],
    ) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport::default();
        let dims = i32::try_from(dimensions)
            .map_err(|_| StoreError::InvalidQuery { reason: format!("{dimensions} dimensions") })?;
        let mut owned = Vec::with_capacity(vectors.len());
        for (index, (id, vector)) in vectors.iter().enumerate() {
            let reason = if vector.len() != dimensions {
                Some(format!("{} values, expected {dimensions}", vector.len()))
            } else {
                vector.iter().position(|v| !v.is_finite()).map(|at| format!("non-finite value at {at}"))
            };
            match reason {
                Some(reason) => report.rejected.push(Rejected { index, reason: format!("chunk {id}: {reason}") }),
                None => owned.push((id.as_str(), Vector::from(vector.to_vec()))),
            }
        }
        if owned.is_empty() {
            return Ok(report);
        }
        let vector_type = self.vector_type().await?;
        let model = model_id.replace('\0', "\u{FFFD}");
        let rows: Vec<Vec<&(dyn ToSql + Sync)>> =
            owned.iter().map(|(id, v)| vec![&model as &(dyn ToSql + Sync), &dims, id, v]).collect();
        self.copy_merge(
            "storing embeddings",
            "CREATE TEMP TABLE staging (model_id text, dimensions integer, chunk_id text, embedding vector) ON COMMIT DROP;
             ALTER TABLE staging ALTER COLUMN embedding SET STORAGE EXTERNAL",
            &[Type::TEXT, Type::INT4, Type::TEXT, vector_type],
            &rows,
            &["INSERT INTO embeddings (model_id, dimensions, chunk_id, embedding)
               SELECT DISTINCT ON (chunk_id) model_id, dimensions, chunk_id, embedding FROM staging ORDER BY chunk_id
               ON CONFLICT DO NOTHING"],
            &[],
        )
        .await?;
        report.sent = rows.len() as u64;
        Ok(report)
    }

    /// The stored vectors of `chunk_ids` (`None` where there is none).
    pub async fn get_embeddings(
        &self,
        model_id: &str,
        dimensions: usize,
        chunk_ids: &[ChunkId],
    ) -> Result<Vec<Option<Vec<f32>>>, StoreError> {
        let ids: Vec<&str> = chunk_ids.iter().map(ChunkId::as_str).collect();
        let dims = i32::try_from(dimensions).unwrap_or(i32::MAX);
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT chunk_id, embedding FROM embeddings
                 WHERE model_id = $1 AND dimensions = $2 AND chunk_id = ANY($3)",
                &[&model_id, &dims, &ids],
            )
            .await
            .map_err(StoreError::db("reading embeddings"))?;
        let found: HashMap<String, Vec<f32>> =
            rows.iter().map(|row| (row.get::<_, String>(0), row.get::<_, Vector>(1).to_vec())).collect();
        Ok(ids.iter().map(|id| found.get(*id).cloned()).collect())
    }

    /// Whether the store holds a vector of each chunk for `model_id` and
    /// `dimensions`, in order, without reading the vectors.
    ///
    /// # Errors
    /// The database.
    pub async fn holds_embeddings(
        &self,
        model_id: &str,
        dimensions: usize,
        chunk_ids: &[ChunkId],
    ) -> Result<Vec<bool>, StoreError> {
        let ids: Vec<&str> = chunk_ids.iter().map(ChunkId::as_str).collect();
        let dims = i32::try_from(dimensions).unwrap_or(i32::MAX);
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT chunk_id FROM embeddings WHERE model_id = $1 AND dimensions = $2 AND chunk_id = ANY($3)",
                &[&model_id, &dims, &ids],
            )
            .await
            .map_err(StoreError::db("looking up embeddings"))?;
        let held: std::collections::HashSet<String> = rows.iter().map(|row| row.get::<_, String>(0)).collect();
        Ok(ids.iter().map(|id| held.contains(*id)).collect())
    }

    /// The store as an [`EmbeddingCache`]: vectors keyed by (model id,
    /// dimensions, chunk id), so a chunk already embedded in any run of any
    /// project is not embedded again.
    pub fn embedding_cache(&self) -> StoreCache {
        StoreCache { store: self.clone() }
    }
}

/// [`Store`] as an [`EmbeddingCache`].
#[derive(Clone, Debug)]
pub struct StoreCache {
    store: Store,
}

impl EmbeddingCache for StoreCache {
    fn get_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        texts: &'a [TextHash],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<f32>>>, CacheError>> {
        Box::pin(async move {
            let ids: Vec<ChunkId> = texts.iter().map(|hash| ChunkId::from_hash(hash.as_bytes())).collect();
            let mut found = Vec::with_capacity(ids.len());
            // Bounded statements for large calls.
            for part in ids.chunks(10_000) {
                found.extend(self.store.get_embeddings(model_id, dimensions, part).await?);
            }
            Ok(found)
        })
    }

    fn holds_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        texts: &'a [TextHash],
    ) -> BoxFuture<'a, Result<Vec<bool>, CacheError>> {
        Box::pin(async move {
            let ids: Vec<ChunkId> = texts.iter().map(|hash| ChunkId::from_hash(hash.as_bytes())).collect();
            let mut held = Vec::with_capacity(ids.len());
            for part in ids.chunks(10_000) {
                held.extend(self.store.holds_embeddings(model_id, dimensions, part).await?);
            }
            Ok(held)
        })
    }

    fn put_many<'a>(
        &'a self,
        model_id: &'a str,
        dimensions: usize,
        entries: &'a [(TextHash, &'a [f32])],
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            let rows: Vec<(ChunkId, &[f32])> =
                entries.iter().map(|(hash, v)| (ChunkId::from_hash(hash.as_bytes()), *v)).collect();
            let report = self.store.put_embeddings(model_id, dimensions, &rows).await?;
            match report.rejected.first() {
                Some(first) => {
                    Err(format!("{} vectors refused, first: {}", report.rejected.len(), first.reason).into())
                }
                None => Ok(()),
            }
        })
    }
}
