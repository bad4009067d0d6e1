//! Search: cosine nearest neighbours on HNSW, and hybrid with full text.

use std::collections::HashMap;

use pgvector::{HalfVector, Vector};
use pyatlas_chunker::{ChunkId, ChunkKind};
use tokio_postgres::types::ToSql;

use crate::store::index_cast;
use crate::{RunId, Store, StoreError};

/// How hits are ranked.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl SearchMode {
    /// Every mode.
    pub const ALL: [Self; 3] = [Self::Vector, Self::Lexical, Self::Hybrid];

    /// `vector`, `lexical` or `hybrid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vector => "vector",
            Self::Lexical => "lexical",
            Self::Hybrid => "hybrid",
        }
    }
}

impl std::fmt::Display for SearchMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SearchMode {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|m| m.as_str() == text).ok_or_else(|| StoreError::InvalidQuery {
            reason: format!("unknown search mode {text:?} (expected vector, lexical or hybrid)"),
        })
    }
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl SearchHit {
    /// A hit on `chunk`, with `score`.
    pub fn of(chunk: &crate::ChunkRow, score: f64) -> Self {
        Self {
            id: chunk.id.clone(),
            path: chunk.path.clone(),
            qualnames: chunk.qualnames.clone(),
            start_line: chunk.start_line,
            end_line: chunk.end_line,
            kind: chunk.kind,
            domains: chunk.domains.clone(),
            score,
            text: chunk.text.clone(),
        }
    }
}

/// Candidates each ranking contributes to hybrid search.
pub const HYBRID_POOL: usize = 50;
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
        let text = query.text.as_deref().unwrap_or_default().trim();
        let ranked = match query.mode {
            SearchMode::Vector => {
                return self.vector_ranking(query, run.id, &run.model_id, run.dimensions, query.k).await;
            }
            SearchMode::Lexical => self.text_ranking(query, &run, text, query.k).await?,
            SearchMode::Hybrid => {
                let pool = HYBRID_POOL.max(query.k);
                let by_vector = self.vector_ranking(query, run.id, &run.model_id, run.dimensions, pool).await?;
                let by_text = self.text_ranking(query, &run, text, pool).await?;
                fuse(by_vector, by_text, pool)
            }
        };
        // A query that is a name finds the units of that name first.
        let exact = if is_name(text) { self.exact_names(query, run.id, text, query.k).await? } else { Vec::new() };
        // The name's own chunks hold qualnames: merged, they stand once.
        let mut hits = merge_parts(exact.into_iter().chain(ranked).collect());
        hits.truncate(query.k);
        Ok(hits)
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
             JOIN chunks_in($2) c ON c.id = e.chunk_id AND c.run_id = $2
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

    /// Full-text ranking with ranked OR semantics: each query lexeme that a
    /// chunk holds adds its inverse document frequency in the run (read
    /// from `lexeme_frequencies` for a complete run, counted for one still
    /// running; once per lexeme: the `stats` CTE is materialised, else
    /// PostgreSQL inlines it and counts again for every matching chunk) times its
    /// weight in the chunk (`ts_rank`, normalised by length), and more when
    /// the chunk's own names hold it.
    async fn text_ranking(
        &self,
        query: &SearchQuery,
        run: &crate::RunInfo,
        text: &str,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let (prose, whole) = code_words(text);
        // A complete run's summary has its chunk count, and its lexemes are
        // counted (`lexeme_frequencies`): no count per query.
        let complete = run.status == crate::RunStatus::Complete;
        let chunks = complete.then(|| run.summary.get("chunks").and_then(serde_json::Value::as_f64)).flatten();
        let sql = format!(
            "WITH terms AS (
                 SELECT DISTINCT lexeme AS term
                 FROM unnest(to_tsvector('english', $1) || to_tsvector('simple', $7))
             ), stats AS MATERIALIZED (
                 SELECT tm.term, to_tsquery('simple', quote_literal(tm.term)) AS q,
                        (CASE WHEN $9::boolean THEN
                             coalesce((SELECT f.chunks FROM lexemes_in($2) f
                                       WHERE f.run_id = $2 AND f.lexeme = tm.term), 0)
                         ELSE (SELECT count(*) FROM chunk_texts t JOIN chunks_in($2) c ON c.id = t.id
                               WHERE c.run_id = $2 AND t.lexemes @@ to_tsquery('simple', quote_literal(tm.term)))
                         END)::float8 AS df
                 FROM terms tm
             ), total AS (SELECT coalesce($8::float8, (SELECT count(*) FROM chunks_in($2) WHERE run_id = $2)::float8) AS n),
             scored AS (
                 SELECT c.id, c.path, c.start_line,
                        sum(ln(1 + (total.n - s.df + 0.5) / (s.df + 0.5))
                            * (ts_rank(t.lexemes, s.q, 1) + CASE WHEN c.name_lexemes @@ s.q THEN {NAME_WEIGHT} ELSE 0 END))::float8
                            AS score
                 FROM chunks_in($2) c JOIN chunk_texts t ON t.id = c.id
                 JOIN stats s ON t.lexemes @@ s.q
                 CROSS JOIN total
                 WHERE c.run_id = $2 AND {FILTERS}
                 GROUP BY c.id, c.path, c.start_line
                 ORDER BY score DESC, c.id LIMIT $6
             )
             SELECT {HIT_COLUMNS}, sc.score
             FROM scored sc
             JOIN chunks_in($2) c ON c.run_id = $2 AND c.id = sc.id AND c.path = sc.path AND c.start_line = sc.start_line
             JOIN chunk_texts t ON t.id = c.id
             ORDER BY sc.score DESC, c.id"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let kind = query.kind.map(ChunkKind::as_str);
        let client = self.client().await?;
        let rows = client
            .query(
                &sql,
                &[&prose, &run.id, &query.path_prefix, &query.domain, &kind, &limit, &whole, &chunks, &complete],
            )
            .await
            .map_err(StoreError::db("searching by text"))?;
        let hits = rows.iter().map(|row| hit(row, row.get::<_, f64>(8))).collect::<Result<Vec<_>, _>>()?;
        Ok(merge_parts(hits))
    }

    /// The chunks that hold a unit named exactly `name` (its qualname, or
    /// the qualname's last part): what a query that is a name asks for.
    async fn exact_names(
        &self,
        query: &SearchQuery,
        run: RunId,
        name: &str,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let sql = format!(
            "SELECT {HIT_COLUMNS}, 1.0::float8
             FROM chunks_in($2) c JOIN chunk_texts t ON t.id = c.id
             WHERE c.run_id = $2 AND {FILTERS}
               AND c.name_keys @> ARRAY[$1]
             ORDER BY c.kind IN ('function', 'method', 'class', 'class_head') DESC, c.path, c.start_line LIMIT $6"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let kind = query.kind.map(ChunkKind::as_str);
        let client = self.client().await?;
        let rows = client
            .query(&sql, &[&name, &run, &query.path_prefix, &query.domain, &kind, &limit])
            .await
            .map_err(StoreError::db("searching by name"))?;
        rows.iter().map(|row| hit(row, row.get::<_, f64>(8))).collect()
    }
}

/// How much more a query word weighs when the chunk's own names hold it
/// (a `ts_rank` of one word is about 0.1; measured on the question sets of
/// `benches/search`, 0.1 to 0.3 do best).
const NAME_WEIGHT: &str = "0.2";

/// The weight of the lexical ranking in hybrid fusion, the vector ranking's
/// being 1: with the offline hash embedder the lexical ranking is the
/// stronger one on both question sets of `benches/search` (3 ranks better
/// than 2 on both, in both backends; 4 and 6 no better).
const LEXICAL_WEIGHT: f64 = 3.0;

/// A text's words as the chunks' lexemes are built: (identifiers split
/// into words, for the English configuration; identifiers whole and
/// lower-cased without underscores, for the simple one).
pub fn code_words(text: &str) -> (String, String) {
    let mut prose = String::new();
    let mut whole = String::new();
    for token in text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')) {
        for ident in token.split('.').filter(|i| !i.is_empty()) {
            let parts: Vec<&str> = pyatlas_embed::identifier_parts(ident).collect();
            for part in &parts {
                prose.push_str(part);
                prose.push(' ');
            }
            if parts.len() > 1 || token.contains('.') {
                whole.extend(ident.chars().filter(|c| *c != '_').flat_map(char::to_lowercase));
                whole.push(' ');
            }
        }
    }
    (prose, whole)
}

/// `true` when `text` is a name: an identifier, or dotted identifiers.
pub fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Keeps the best-ranked chunk of each unit: the parts of a split unit
/// (same file, same qualnames) come back as one hit.
pub fn merge_parts(hits: Vec<SearchHit>) -> Vec<SearchHit> {
    let mut seen = std::collections::HashSet::new();
    hits.into_iter().filter(|h| h.qualnames.is_empty() || seen.insert((h.path.clone(), h.qualnames.clone()))).collect()
}

impl Store {
    /// `(path, qualname)` of every unit chunk (function, method, class) of
    /// `project`'s latest complete run: its symbol table, by name.
    pub async fn unit_names(&self, project: &str) -> Result<Vec<(String, String)>, StoreError> {
        let run = self.latest_complete_run(project).await?;
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT DISTINCT c.path, q FROM chunks_in($1) c, unnest(c.qualnames) q
                 WHERE c.run_id = $1 AND c.kind IN ('function', 'method', 'class', 'class_head')
                 ORDER BY 1, 2",
                &[&run.id],
            )
            .await
            .map_err(StoreError::db("listing unit names"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// Weighted reciprocal rank fusion: a hit scores `sum weight / (60 + rank)`
/// over the rankings it appears in (the lexical one weighs three times
/// the vector one); the parts of one unit are merged into its best hit.
pub fn fuse(by_vector: Vec<SearchHit>, by_text: Vec<SearchHit>, k: usize) -> Vec<SearchHit> {
    let mut fused: HashMap<(ChunkId, String, u32), SearchHit> = HashMap::new();
    for (weight, ranking) in [(1.0, by_vector), (LEXICAL_WEIGHT, by_text)] {
        for (rank, mut hit) in ranking.into_iter().enumerate() {
            let score = weight / (RRF_K + rank as f64 + 1.0);
            let key = (hit.id.clone(), hit.path.clone(), hit.start_line);
            fused.entry(key).and_modify(|h| h.score += score).or_insert_with(|| {
                hit.score = score;
                hit
            });
        }
    }
    let mut hits: Vec<SearchHit> = fused.into_values().collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    let mut hits = merge_parts(hits);
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
    fn query_words_split_identifiers_and_keep_them_whole() {
        let (prose, whole) = code_words("how is get_signing_serializer used by SecureCookie.open?");
        assert_eq!(
            prose.split_whitespace().collect::<Vec<_>>(),
            ["how", "is", "get", "signing", "serializer", "used", "by", "Secure", "Cookie", "open"]
        );
        assert_eq!(whole.split_whitespace().collect::<Vec<_>>(), ["getsigningserializer", "securecookie", "open"]);
        assert!(is_name("Config.from_envvar") && is_name("_private") && is_name("HTTPAdapter"));
        assert!(!is_name("send a request") && !is_name("a.") && !is_name("1abc") && !is_name(""));
    }

    #[test]
    fn parts_of_one_unit_merge_into_the_best() {
        let part = |id: &str, line: u32| SearchHit { qualnames: vec!["f".into()], start_line: line, ..hit(id) };
        let merged = merge_parts(vec![part("a", 40), hit("b"), part("c", 1), hit("d")]);
        let ids: Vec<ChunkId> = merged.iter().map(|h| h.id.clone()).collect();
        assert_eq!(ids, [ChunkId::of("a"), ChunkId::of("b"), ChunkId::of("d")], "chunks without qualnames are kept");
    }

    #[test]
    fn rank_fusion_rewards_agreement() {
        let fused = fuse(vec![hit("a"), hit("b"), hit("c")], vec![hit("c"), hit("d")], 3);
        let ids: Vec<ChunkId> = fused.iter().map(|h| h.id.clone()).collect();
        // c is in both rankings; d is second in the lexical one, which weighs
        // three times as much as the vector one; then a, first by vector.
        assert_eq!(ids, [ChunkId::of("c"), ChunkId::of("d"), ChunkId::of("a")]);
        assert!((fused[0].score - (1.0 / 63.0 + LEXICAL_WEIGHT / 61.0)).abs() < 1e-12);
    }
}
