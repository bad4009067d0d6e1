//! History: what changed between two runs.

use crate::{Store, StoreError};

/// What changed from one run to another.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RunDiff {
    /// The older run.
    pub from: i64,
    /// The newer run.
    pub to: i64,
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
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChunkRef {
    /// The chunk id.
    pub id: String,
    /// Its file.
    pub path: String,
    /// Its qualnames.
    pub qualnames: Vec<String>,
}

impl Store {
    /// What changed from run `from` to run `to`.
    pub async fn diff(&self, from: i64, to: i64) -> Result<RunDiff, StoreError> {
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
                "SELECT path FROM files WHERE run_id = $2 EXCEPT SELECT path FROM files WHERE run_id = $1 ORDER BY 1",
            )
            .await?,
        );
        let files_removed = strings(
            files(
                "SELECT path FROM files WHERE run_id = $1 EXCEPT SELECT path FROM files WHERE run_id = $2 ORDER BY 1",
            )
            .await?,
        );
        let files_changed = strings(
            files(
                "SELECT a.path FROM files a JOIN files b ON a.path = b.path
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
                Ok::<_, StoreError>(
                    rows.iter()
                        .map(|r| ChunkRef { id: r.get(0), path: r.get(1), qualnames: r.get(2) })
                        .collect::<Vec<_>>(),
                )
            }
        };
        let chunks_added = chunk_rows(
            "SELECT DISTINCT b.id, b.path, b.qualnames FROM chunks b WHERE b.run_id = $2
               AND NOT EXISTS (SELECT 1 FROM chunks a WHERE a.run_id = $1 AND a.path = b.path AND a.qualnames = b.qualnames)
             ORDER BY 2, 1",
        )
        .await?;
        let chunks_removed = chunk_rows(
            "SELECT DISTINCT a.id, a.path, a.qualnames FROM chunks a WHERE a.run_id = $1
               AND NOT EXISTS (SELECT 1 FROM chunks b WHERE b.run_id = $2 AND a.path = b.path AND a.qualnames = b.qualnames)
             ORDER BY 2, 1",
        )
        .await?;
        let chunks_changed = chunk_rows(
            "SELECT DISTINCT b.id, b.path, b.qualnames FROM chunks b WHERE b.run_id = $2
               AND EXISTS (SELECT 1 FROM chunks a WHERE a.run_id = $1 AND a.path = b.path AND a.qualnames = b.qualnames)
               AND NOT EXISTS (SELECT 1 FROM chunks a WHERE a.run_id = $1 AND a.path = b.path AND a.qualnames = b.qualnames
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
                "SELECT fingerprint FROM findings WHERE run_id = $2
                 EXCEPT SELECT fingerprint FROM findings WHERE run_id = $1 ORDER BY 1",
            )
            .await?,
        );
        let findings_fixed = strings(
            findings(
                "SELECT fingerprint FROM findings WHERE run_id = $1
                 EXCEPT SELECT fingerprint FROM findings WHERE run_id = $2 ORDER BY 1",
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
