//! History: what changed between two runs.

use pyatlas_chunker::ChunkId;

use crate::{RunId, Store, StoreError};

/// What changed from one run to another.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RunDiff {
    /// The older run.
    pub from: RunId,
    /// The newer run.
    pub to: RunId,
    /// Files only in `to`.
    pub files_added: Vec<String>,
    /// Files only in `from`.
    pub files_removed: Vec<String>,
    /// Files in both, with different content.
    pub files_changed: Vec<String>,
    /// Chunks (id, path) only in `to`, whose qualnames were not in `from`.
    pub chunks_added: Vec<ChunkRef>,
    /// Chunks only in `from`, whose qualnames are gone from `to`.
    pub chunks_removed: Vec<ChunkRef>,
    /// Chunks of `to` whose qualnames were in `from` with another text.
    pub chunks_changed: Vec<ChunkRef>,
    /// Drift findings in `to` and not in `from`, by fingerprint.
    pub findings_new: Vec<String>,
    /// Drift findings in `from` and gone from `to`.
    pub findings_fixed: Vec<String>,
}

/// A chunk named in a diff.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChunkRef {
    /// The chunk id.
    pub id: ChunkId,
    /// Its file.
    pub path: String,
    /// Its qualnames.
    pub qualnames: Vec<String>,
}

impl RunDiff {
    /// No change from run `from` to run `to` (a run and itself).
    pub fn unchanged(from: RunId, to: RunId) -> Self {
        Self {
            from,
            to,
            files_added: Vec::new(),
            files_removed: Vec::new(),
            files_changed: Vec::new(),
            chunks_added: Vec::new(),
            chunks_removed: Vec::new(),
            chunks_changed: Vec::new(),
            findings_new: Vec::new(),
            findings_fixed: Vec::new(),
        }
    }
}

impl Store {
    /// What changed from run `from` to run `to`.
    pub async fn diff(&self, from: RunId, to: RunId) -> Result<RunDiff, StoreError> {
        for id in [from, to] {
            self.run(id).await?;
        }
        let client = self.client().await?;
        let strings = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>();
        let files = |sql: &'static str| {
            let client = &client;
            async move { client.query(sql, &[&from, &to]).await.map_err(StoreError::db("diffing files")) }
        };
        let files_added = strings(
            files(
                "SELECT path FROM files_in($2) WHERE run_id = $2 EXCEPT SELECT path FROM files_in($1) WHERE run_id = $1 ORDER BY 1",
            )
            .await?,
        );
        let files_removed = strings(
            files(
                "SELECT path FROM files_in($1) WHERE run_id = $1 EXCEPT SELECT path FROM files_in($2) WHERE run_id = $2 ORDER BY 1",
            )
            .await?,
        );
        let files_changed = strings(
            files(
                "SELECT a.path FROM files_in($1) a JOIN files_in($2) b ON a.path = b.path
                 WHERE a.run_id = $1 AND b.run_id = $2 AND a.content_hash <> b.content_hash ORDER BY 1",
            )
            .await?,
        );
        // A chunk is identified across runs by (path, qualnames); its id says
        // whether its text changed.
        let chunk_rows = |sql: &'static str| {
            let client = &client;
            async move {
                let rows = client.query(sql, &[&from, &to]).await.map_err(StoreError::db("diffing chunks"))?;
                rows.iter()
                    .map(|r| {
                        let id = r.get::<_, &str>(0).parse().map_err(|e: pyatlas_chunker::InvalidChunkId| {
                            StoreError::Corrupt { what: e.to_string() }
                        })?;
                        Ok(ChunkRef { id, path: r.get(1), qualnames: r.get(2) })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()
            }
        };
        let chunks_added = chunk_rows(
            "SELECT DISTINCT b.id, b.path, b.qualnames FROM chunks_in($2) b WHERE b.run_id = $2
               AND NOT EXISTS (SELECT 1 FROM chunks_in($1) a WHERE a.run_id = $1 AND a.path = b.path AND a.qualnames = b.qualnames)
             ORDER BY 2, 1",
        )
        .await?;
        let chunks_removed = chunk_rows(
            "SELECT DISTINCT a.id, a.path, a.qualnames FROM chunks_in($1) a WHERE a.run_id = $1
               AND NOT EXISTS (SELECT 1 FROM chunks_in($2) b WHERE b.run_id = $2 AND a.path = b.path AND a.qualnames = b.qualnames)
             ORDER BY 2, 1",
        )
        .await?;
        let chunks_changed = chunk_rows(
            "SELECT DISTINCT b.id, b.path, b.qualnames FROM chunks_in($2) b WHERE b.run_id = $2
               AND EXISTS (SELECT 1 FROM chunks_in($1) a WHERE a.run_id = $1 AND a.path = b.path AND a.qualnames = b.qualnames)
               AND NOT EXISTS (SELECT 1 FROM chunks_in($1) a WHERE a.run_id = $1 AND a.path = b.path AND a.qualnames = b.qualnames
                                 AND a.id = b.id)
             ORDER BY 2, 1",
        )
        .await?;
        let findings = |sql: &'static str| {
            let client = &client;
            async move { client.query(sql, &[&from, &to]).await.map_err(StoreError::db("diffing findings")) }
        };
        let findings_new = strings(
            findings(
                "SELECT fingerprint FROM findings_in($2) WHERE run_id = $2
                 EXCEPT SELECT fingerprint FROM findings_in($1) WHERE run_id = $1 ORDER BY 1",
            )
            .await?,
        );
        let findings_fixed = strings(
            findings(
                "SELECT fingerprint FROM findings_in($1) WHERE run_id = $1
                 EXCEPT SELECT fingerprint FROM findings_in($2) WHERE run_id = $2 ORDER BY 1",
            )
            .await?,
        );
        Ok(RunDiff {
            from,
            to,
            files_added,
            files_removed,
            files_changed,
            chunks_added,
            chunks_removed,
            chunks_changed,
            findings_new,
            findings_fixed,
        })
    }
}

impl Store {
    /// The edges of `kind` stored with run `run`, sorted by source and target.
    pub async fn edges(&self, run: RunId, kind: pyatlas_graph::EdgeKind) -> Result<Vec<crate::EdgeRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT source, target, lines, type_checking, function_level FROM edges_in($1)
                 WHERE run_id = $1 AND kind = $2 ORDER BY source, target",
                &[&run, &kind.as_str()],
            )
            .await
            .map_err(StoreError::db(format!("reading the {kind} edges of run {run}")))?;
        Ok(rows
            .iter()
            .map(|r| crate::EdgeRow {
                kind,
                source: r.get(0),
                target: r.get(1),
                lines: r.get::<_, Vec<i32>>(2).into_iter().map(|l| u32::try_from(l).unwrap_or(0)).collect(),
                type_checking: r.get(3),
                function_level: r.get(4),
            })
            .collect())
    }
}
