//! Reading a run back: what a query layer asks of the store. Every read is
//! one parametrised statement on one run.

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::{EdgeRow, FindingRow, RunId, Store, StoreError, TagRow, UnitRow};

/// A file of a run, without its text.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FileEntry {
    /// Its path, relative to the root, `/`-separated.
    pub path: String,
    /// Its module.
    pub module: String,
    /// Its line count.
    pub lines: u32,
    /// A hash of its text: the key of its source.
    pub content_hash: String,
}

fn line(row: &Row, i: usize) -> u32 {
    u32::try_from(row.get::<_, i32>(i)).unwrap_or(0)
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt { what }
}

fn file_entry(row: &Row) -> FileEntry {
    FileEntry { path: row.get(0), module: row.get(1), lines: line(row, 2), content_hash: row.get(3) }
}

fn unit_row(row: &Row) -> Result<UnitRow, StoreError> {
    let doc: String = row.get(8);
    Ok(UnitRow {
        path: row.get(0),
        qualname: row.get(1),
        name: row.get(2),
        kind: row.get::<_, &str>(3).parse().map_err(|e: pyatlas_parser::UnknownUnitKind| corrupt(e.to_string()))?,
        line: line(row, 4),
        start_line: line(row, 5),
        end_line: line(row, 6),
        signature: row.get(7),
        doc: (!doc.is_empty()).then_some(doc),
    })
}

fn edge_row(row: &Row) -> Result<EdgeRow, StoreError> {
    Ok(EdgeRow {
        kind: row.get::<_, &str>(0).parse().map_err(|e: pyatlas_graph::UnknownEdgeKind| corrupt(e.to_string()))?,
        source: row.get(1),
        target: row.get(2),
        lines: row.get::<_, Vec<i32>>(3).into_iter().map(|l| u32::try_from(l).unwrap_or(0)).collect(),
        type_checking: row.get(4),
        function_level: row.get(5),
    })
}

const UNIT_COLUMNS: &str = "path, qualname, name, kind, line, start_line, end_line, signature, doc";
const EDGE_COLUMNS: &str = "kind, source, target, lines, type_checking, function_level";

impl Store {
    async fn read(&self, what: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        client.query(sql, params).await.map_err(StoreError::db(what.to_owned()))
    }

    /// The verdicts of the project's own contracts in `run`; `None` when
    /// it declares none.
    pub async fn contracts(&self, run: RunId) -> Result<Option<pyatlas_graph::ContractsReport>, StoreError> {
        let rows = self.read("reading contract verdicts", "SELECT contracts FROM runs WHERE id = $1", &[&run]).await?;
        let Some(row) = rows.first() else { return Err(StoreError::NotFound { what: format!("run {run}") }) };
        row.get::<_, Option<serde_json::Value>>(0)
            .map(|v| serde_json::from_value(v).map_err(|e| corrupt(format!("run {run}'s contract verdicts: {e}"))))
            .transpose()
    }

    /// Every unit of `run`, by path and line.
    pub async fn units(&self, run: RunId) -> Result<Vec<UnitRow>, StoreError> {
        let sql = format!("SELECT {UNIT_COLUMNS} FROM units_in($1) WHERE run_id = $1 ORDER BY path, line, qualname");
        self.read("listing units", &sql, &[&run]).await?.iter().map(unit_row).collect()
    }

    /// The files of `run`, by path.
    pub async fn files(&self, run: RunId) -> Result<Vec<FileEntry>, StoreError> {
        let sql = "SELECT path, module, lines, content_hash FROM files_in($1) WHERE run_id = $1 ORDER BY path";
        Ok(self.read("listing files", sql, &[&run]).await?.iter().map(file_entry).collect())
    }

    /// One file of `run`, by path or by module.
    pub async fn file(
        &self,
        run: RunId,
        path: Option<&str>,
        module: Option<&str>,
    ) -> Result<Option<FileEntry>, StoreError> {
        let sql = "SELECT path, module, lines, content_hash FROM files_in($1)
                   WHERE run_id = $1 AND ($2::text IS NULL OR path = $2) AND ($3::text IS NULL OR module = $3)
                   ORDER BY path LIMIT 1";
        Ok(self.read("reading a file", sql, &[&run, &path, &module]).await?.first().map(file_entry))
    }

    /// The text stored under `content_hash`.
    pub async fn source(&self, content_hash: &str) -> Result<Option<String>, StoreError> {
        let rows = self.read("reading a source", "SELECT text FROM sources WHERE hash = $1", &[&content_hash]).await?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    /// The units of `run` in file `path`.
    pub async fn units_in(&self, run: RunId, path: &str) -> Result<Vec<UnitRow>, StoreError> {
        let sql = format!("SELECT {UNIT_COLUMNS} FROM units_in($1) WHERE run_id = $1 AND path = $2");
        self.read("listing units", &sql, &[&run, &path]).await?.iter().map(unit_row).collect()
    }

    /// The first `limit` units of `run` whose lower-cased name or qualname
    /// starts with `query` (lower-cased; `prefix` is it as a `LIKE`
    /// pattern, escaped with `\`), with their modules: those whose name is
    /// the query, then whose qualname is, then whose name starts with it,
    /// then the rest; then by the name's length in bytes, path, line and
    /// qualname (bytewise). This is the order of `pyatlas-query`'s symbol
    /// ranking for the units it matches by prefix, so that the database
    /// sorts and cuts them where they are (by the indexes of migration 8).
    pub async fn units_prefixed(
        &self,
        run: RunId,
        query: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(UnitRow, String)>, StoreError> {
        let sql = format!(
            "SELECT {UNIT_COLUMNS}, f.module FROM units_in($1) u JOIN files_in($1) f USING (run_id, path)
             WHERE u.run_id = $1 AND (lower(u.name) LIKE $3 OR lower(u.qualname) LIKE $3)
             ORDER BY CASE WHEN lower(u.name) = $2 THEN 0 WHEN lower(u.qualname) = $2 THEN 1
                           WHEN lower(u.name) LIKE $3 THEN 2 ELSE 3 END,
                      octet_length(u.name), u.path COLLATE \"C\", u.line, u.qualname COLLATE \"C\"
             LIMIT $4"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read("looking up symbols", &sql, &[&run, &query, &prefix, &limit])
            .await?
            .iter()
            .map(|r| Ok((unit_row(r)?, r.get(9))))
            .collect()
    }

    /// The units of `run` whose lower-cased name or qualname is `LIKE`
    /// `pattern` (escaped with `\`), with their modules.
    pub async fn units_like(&self, run: RunId, pattern: &str) -> Result<Vec<(UnitRow, String)>, StoreError> {
        let sql = format!(
            "SELECT {UNIT_COLUMNS}, f.module FROM units_in($1) u JOIN files_in($1) f USING (run_id, path)
             WHERE u.run_id = $1 AND (lower(u.name) LIKE $2 OR lower(u.qualname) LIKE $2)"
        );
        self.read("looking up symbols", &sql, &[&run, &pattern])
            .await?
            .iter()
            .map(|r| Ok((unit_row(r)?, r.get(9))))
            .collect()
    }

    /// The drift findings of `run` (of file `path` only, when given).
    pub async fn findings(&self, run: RunId, path: Option<&str>) -> Result<Vec<FindingRow>, StoreError> {
        let sql = "SELECT fingerprint, rule, severity, path, line, message FROM findings_in($1)
                   WHERE run_id = $1 AND ($2::text IS NULL OR path = $2)";
        self.read("listing findings", sql, &[&run, &path])
            .await?
            .iter()
            .map(|r| {
                Ok(FindingRow {
                    fingerprint: r.get(0),
                    rule: r
                        .get::<_, &str>(1)
                        .parse()
                        .map_err(|()| corrupt(format!("rule {:?}", r.get::<_, &str>(1))))?,
                    severity: r
                        .get::<_, &str>(2)
                        .parse()
                        .map_err(|()| corrupt(format!("severity {:?}", r.get::<_, &str>(2))))?,
                    path: r.get(3),
                    line: line(r, 4),
                    message: r.get(5),
                })
            })
            .collect()
    }

    /// The intent tags of `run` (of file `path` only, when given).
    pub async fn tags(&self, run: RunId, path: Option<&str>) -> Result<Vec<TagRow>, StoreError> {
        let sql = "SELECT path, line, scope, key, value FROM tags_in($1) WHERE run_id = $1 AND ($2::text IS NULL OR path = $2)";
        Ok(self
            .read("listing tags", sql, &[&run, &path])
            .await?
            .iter()
            .map(|r| TagRow { path: r.get(0), line: line(r, 1), scope: r.get(2), key: r.get(3), value: r.get(4) })
            .collect())
    }

    /// Each chunk's path and domains in `run` (of file `path` only, when given).
    pub async fn chunk_domains(
        &self,
        run: RunId,
        path: Option<&str>,
    ) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let sql = "SELECT path, domains FROM chunks_in($1) WHERE run_id = $1 AND ($2::text IS NULL OR path = $2)";
        Ok(self.read("reading domains", sql, &[&run, &path]).await?.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The edges of `run` that touch unit `unit` (`module:qualname`) or
    /// leave its module: its calls both ways, its inheritance both ways,
    /// and its module's imports.
    pub async fn edges_around(&self, run: RunId, unit: &str, module: &str) -> Result<Vec<EdgeRow>, StoreError> {
        let sql = format!(
            "SELECT {EDGE_COLUMNS} FROM edges_in($1) WHERE run_id = $1 AND kind IN ('call', 'inherits') AND source = $2
             UNION
             SELECT {EDGE_COLUMNS} FROM edges_in($1) WHERE run_id = $1 AND kind IN ('call', 'inherits') AND target = $2
             UNION
             SELECT {EDGE_COLUMNS} FROM edges_in($1) WHERE run_id = $1 AND kind = 'import' AND source = $3"
        );
        self.read("reading the edges of a unit", &sql, &[&run, &unit, &module]).await?.iter().map(edge_row).collect()
    }
}
