//! Search: cosine nearest neighbours on HNSW, and hybrid with full text.

use std::collections::HashMap;

use pgvector::{HalfVector, Vector};
use pyatlas_chunker::{ChunkId, ChunkKind};
use tokio_postgres::types::ToSql;

use crate::store::index_cast;
use crate::{RunId, Store, StoreError};

/// How hits are ranked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SearchMode {
    /// Cosine similarity of the query's vector to the chunks'.
    #[default]
    Vector,
    /// Full-text ranking of the query's words alone.
    Lexical,
    /// Both rankings, fused (reciprocal rank fusion).
    Hybrid,
}

/// What to look for, and where.
#[derive(Clone, Debug)]
pub struct SearchQuery {
    pub(crate) project: String,
    pub(crate) run: Option<RunId>,
    pub(crate) vector: Vec<f32>,
    pub(crate) mode: SearchMode,
    pub(crate) text: Option<String>,
    pub(crate) k: usize,
    pub(crate) path_prefix: Option<String>,
    pub(crate) domain: Option<String>,
    pub(crate) kind: Option<ChunkKind>,
}

impl SearchQuery {
    /// The `k` (default 10) chunks of `project` nearest to `vector`, in its
    /// latest complete run.
    pub fn new(project: impl Into<String>, vector: Vec<f32>) -> Self {
        Self {
            project: project.into(),
            run: None,
            vector,
            mode: SearchMode::Vector,
            text: None,
            k: 10,
            path_prefix: None,
            domain: None,
            kind: None,
        }
    }

    /// Searches this run (complete or not) instead of the latest complete one.
    pub fn run(mut self, run: RunId) -> Self {
        self.run = Some(run);
        self
    }

    /// How many results.
    pub fn k(mut self, k: usize) -> Self {
        self.k = k.max(1);
        self
    }

    /// Hybrid search: fuses the vector ranking with PostgreSQL full-text
    /// search of `text` (reciprocal rank fusion).
    pub fn hybrid(self, text: impl Into<String>) -> Self {
        self.mode(SearchMode::Hybrid, text)
    }

    /// Ranks by `mode`; `text` is the query's words (lexical and hybrid).
    pub fn mode(mut self, mode: SearchMode, text: impl Into<String>) -> Self {
        self.mode = mode;
        self.text = (mode != SearchMode::Vector).then(|| text.into());
        self
    }

    /// Only chunks whose path starts with `prefix`.
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Only chunks of this domain.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Only chunks of this kind.
    pub fn kind(mut self, kind: ChunkKind) -> Self {
        self.kind = Some(kind);
        self
    }
}

/// One result.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct SearchHit {
    /// The chunk id.
    pub id: ChunkId,
    /// Its file.
    pub path: String,
    /// The qualnames it holds.
    pub qualnames: Vec<String>,
    /// First line.
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// Its kind.
    pub kind: ChunkKind,
    /// Its domains.
    pub domains: Vec<String>,
    /// Cosine similarity (vector search), or the fused score (hybrid): higher is better.
    pub score: f64,
    /// Its text.
    pub text: String,
}

/// Candidates each ranking contributes to hybrid search.
const HYBRID_POOL: usize = 50;
/// The constant of reciprocal rank fusion.
const RRF_K: f64 = 60.0;

const HIT_COLUMNS: &str = "c.id, c.path, c.qualnames, c.start_line, c.end_line, c.kind, c.domains, t.text";
const FILTERS: &str = "($3::text IS NULL OR starts_with(c.path, $3))
      AND ($4::text IS NULL OR $4 = ANY(c.domains))
      AND ($5::text IS NULL OR c.kind = $5)";

fn hit(row: &tokio_postgres::Row, score: f64) -> Result<SearchHit, StoreError> {
    let line = |i: usize| u32::try_from(row.get::<_, i32>(i)).unwrap_or(0);
    let corrupt = |what: String| StoreError::Corrupt { what };
    Ok(SearchHit {
        id: row.get::<_, &str>(0).parse().map_err(|e: pyatlas_chunker::InvalidChunkId| corrupt(e.to_string()))?,
        path: row.get(1),
        qualnames: row.get(2),
        start_line: line(3),
        end_line: line(4),
        kind: row.get::<_, &str>(5).parse().map_err(|e: pyatlas_chunker::UnknownChunkKind| corrupt(e.to_string()))?,
        domains: row.get(6),
        text: row.get(7),
        score,
    })
}

impl Store {
    /// Runs `query`. The vector must have the run's dimensions; it is
    /// compared with the vectors of the run's embedding model.
    pub async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
        let run = match query.run {
            Some(id) => self.run(id).await?,
            None => self.latest_complete_run(&query.project).await?,
        };
        if query.vector.len() != run.dimensions {
            return Err(StoreError::InvalidQuery {
                reason: format!(
                    "the query vector has {} dimensions; run {} was embedded with {} at {}",
                    query.vector.len(),
                    run.id,
                    run.model_id,
                    run.dimensions
                ),
            });
        }
        if query.vector.iter().any(|v| !v.is_finite()) {
            return Err(StoreError::InvalidQuery { reason: "the query vector has a non-finite value".into() });
        }
        let text = query.text.as_deref().unwrap_or_default();
        match query.mode {
            SearchMode::Vector => self.vector_ranking(query, run.id, &run.model_id, run.dimensions, query.k).await,
            SearchMode::Lexical => self.text_ranking(query, run.id, text, query.k).await,
            SearchMode::Hybrid => {
                let pool = HYBRID_POOL.max(query.k);
                let by_vector = self.vector_ranking(query, run.id, &run.model_id, run.dimensions, pool).await?;
                let by_text = self.text_ranking(query, run.id, text, pool).await?;
                Ok(fuse(by_vector, by_text, query.k))
            }
        }
    }

    async fn vector_ranking(
        &self,
        query: &SearchQuery,
        run: RunId,
        model_id: &str,
        dimensions: usize,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        // The cast matches the partial HNSW index's expression (a number,
        // not text, so nothing to inject); without an index, an exact scan.
        let (cast, half) = match index_cast(dimensions) {
            Some((cast, ops)) => (cast, ops.starts_with("halfvec")),
            None => ("vector".to_owned(), false),
        };
        let sql = format!(
            "SELECT {HIT_COLUMNS}, (e.embedding::{cast} <=> $1::{cast}) AS distance
             FROM embeddings e
             JOIN chunks c ON c.id = e.chunk_id AND c.run_id = $2
             JOIN chunk_texts t ON t.id = c.id
             WHERE e.dimensions = {dimensions} AND e.model_id = $6 AND {FILTERS}
             ORDER BY distance LIMIT $7"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let kind = query.kind.map(ChunkKind::as_str);
        let probe: Box<dyn ToSql + Send + Sync> = if half {
            Box::new(HalfVector::from_f32_slice(&query.vector))
        } else {
            Box::new(Vector::from(query.vector.clone()))
        };
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::db("starting the search"))?;
        // Filters are applied while the index is walked, until `limit` rows pass.
        tx.batch_execute("SET LOCAL hnsw.iterative_scan = strict_order; SET LOCAL hnsw.ef_search = 100")
            .await
            .map_err(StoreError::db("configuring the search"))?;
        let rows = tx
            .query(
                &sql,
                &[
                    probe.as_ref() as &(dyn ToSql + Sync),
                    &run,
                    &query.path_prefix,
                    &query.domain,
                    &kind,
                    &model_id,
                    &limit,
                ],
            )
            .await
            .map_err(StoreError::db("searching by vector"))?;
        tx.commit().await.map_err(StoreError::db("ending the search"))?;
        rows.iter().map(|row| hit(row, 1.0 - row.get::<_, f64>(8))).collect()
    }

    async fn text_ranking(
        &self,
        query: &SearchQuery,
        run: RunId,
        text: &str,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let sql = format!(
            "SELECT {HIT_COLUMNS}, ts_rank_cd(t.search, q)::float8 AS rank
             FROM chunks c JOIN chunk_texts t ON t.id = c.id, websearch_to_tsquery('simple', $1) q
             WHERE c.run_id = $2 AND t.search @@ q AND {FILTERS}
             ORDER BY rank DESC, c.id LIMIT $6"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let kind = query.kind.map(ChunkKind::as_str);
        let client = self.client().await?;
        let rows = client
            .query(&sql, &[&text, &run, &query.path_prefix, &query.domain, &kind, &limit])
            .await
            .map_err(StoreError::db("searching by text"))?;
        rows.iter().map(|row| hit(row, row.get::<_, f64>(8))).collect()
    }
}

impl Store {
    /// `(path, qualname)` of every unit chunk (function, method, class) of
    /// `project`'s latest complete run: its symbol table, by name.
    pub async fn unit_names(&self, project: &str) -> Result<Vec<(String, String)>, StoreError> {
        let run = self.latest_complete_run(project).await?;
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT DISTINCT c.path, q FROM chunks c, unnest(c.qualnames) q
                 WHERE c.run_id = $1 AND c.kind IN ('function', 'method', 'class', 'class_head')
                 ORDER BY 1, 2",
                &[&run.id],
            )
            .await
            .map_err(StoreError::db("listing unit names"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// Reciprocal rank fusion: a hit scores `sum 1 / (60 + rank)` over the
/// rankings it appears in.
fn fuse(by_vector: Vec<SearchHit>, by_text: Vec<SearchHit>, k: usize) -> Vec<SearchHit> {
    let mut fused: HashMap<(ChunkId, String, u32), SearchHit> = HashMap::new();
    for ranking in [by_vector, by_text] {
        for (rank, mut hit) in ranking.into_iter().enumerate() {
            let score = 1.0 / (RRF_K + rank as f64 + 1.0);
            let key = (hit.id.clone(), hit.path.clone(), hit.start_line);
            fused.entry(key).and_modify(|h| h.score += score).or_insert_with(|| {
                hit.score = score;
                hit
            });
        }
    }
    let mut hits: Vec<SearchHit> = fused.into_values().collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    hits.truncate(k);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str) -> SearchHit {
        SearchHit {
            id: ChunkId::of(id),
            path: "p.py".into(),
            qualnames: vec![],
            start_line: 1,
            end_line: 1,
            kind: ChunkKind::Function,
            domains: vec![],
            score: 0.0,
            text: String::new(),
        }
    }

    #[test]
    fn rank_fusion_rewards_agreement() {
        let fused = fuse(vec![hit("a"), hit("b"), hit("c")], vec![hit("c"), hit("d")], 3);
        let ids: Vec<ChunkId> = fused.iter().map(|h| h.id.clone()).collect();
        // c is in both rankings; a is first in one; b and d tie, by id.
        let (b, d) = (ChunkId::of("b"), ChunkId::of("d"));
        let tie = if b < d { b } else { d };
        assert_eq!(ids, [ChunkId::of("c"), ChunkId::of("a"), tie]);
        assert!((fused[0].score - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-12);
    }
}
