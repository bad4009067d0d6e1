//! [`StoreConfig`]: where the database is and how to use it.

use std::fmt;
use std::str::FromStr as _;
use std::time::Duration;

use crate::StoreError;

/// How to reach the database. `Debug` never shows the password.
#[derive(Clone)]
pub struct StoreConfig {
    pub(crate) postgres: tokio_postgres::Config,
    pub(crate) schema: String,
    pub(crate) pool_size: usize,
    pub(crate) wait_timeout: Duration,
    pub(crate) statement_timeout: Option<Duration>,
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tokio-postgres's own Debug redacts the password.
        f.debug_struct("StoreConfig")
            .field("postgres", &self.postgres)
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("wait_timeout", &self.wait_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

impl StoreConfig {
    /// A configuration from a `postgres://` URL or a `key=value` connection
    /// string; tables go to schema `pyatlas`, with a pool of 8 connections.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let postgres = tokio_postgres::Config::from_str(url).map_err(|e| StoreError::Config {
            // The URL itself is not repeated: it may hold a password.
            reason: format!("the database URL cannot be read: {e}"),
        })?;
        Ok(Self {
            postgres,
            schema: "pyatlas".into(),
            pool_size: 8,
            wait_timeout: Duration::from_secs(30),
            statement_timeout: None,
        })
    }

    /// From `DATABASE_URL`.
    pub fn from_env() -> Result<Self, StoreError> {
        let url = std::env::var("DATABASE_URL").map_err(|_| StoreError::Config {
            reason: "DATABASE_URL is not set (a postgres:// URL of a PostgreSQL with pgvector)".into(),
        })?;
        Self::new(&url)
    }

    /// The schema that holds the tables (created if missing): lower-case
    /// letters, digits and `_`, starting with a letter or `_`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The schema that will hold the tables.
    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    /// Connections in the pool (at least 2: a run holds one for its lock).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(2);
        self
    }

    /// The `application_name` the connections show in `pg_stat_activity`
    /// (default `pyatlas-store`).
    pub fn application_name(mut self, name: &str) -> Self {
        self.postgres.application_name(name);
        self
    }

    /// How long to wait for a free connection before failing with
    /// [`StoreError::Connect`].
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// The longest any one statement may run (PostgreSQL's
    /// `statement_timeout`) on every connection: for a server answering
    /// questions, not for an indexer's bulk writes (default: none).
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }

    pub(crate) fn check(&self) -> Result<(), StoreError> {
        let mut chars = self.schema.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && self.schema.len() <= 63;
        if valid {
            Ok(())
        } else {
            Err(StoreError::Config {
                reason: format!("schema name {:?} is not a plain lower-case identifier", self.schema),
            })
        }
    }
}
