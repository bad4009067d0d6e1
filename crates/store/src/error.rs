//! The crate's error type.

/// What went wrong, and where. Never carries the database password: URLs
/// are not kept in errors, and `tokio-postgres` does not put it in its own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The configuration cannot work (an unparsable URL, a bad schema name).
    #[error("invalid store configuration: {reason}")]
    Config {
        /// Why.
        reason: String,
    },

    /// No connection could be had from the pool (server down, pool
    /// exhausted past its wait timeout, authentication failed).
    #[error("cannot get a database connection: {reason}")]
    Connect {
        /// Why.
        reason: String,
    },

    /// A statement failed.
    #[error("{context}")]
    Database {
        /// What the store was doing.
        context: String,
        /// The server's or the driver's error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// The database has no pgvector extension, and it cannot be created.
    #[error("the database has no pgvector extension (`CREATE EXTENSION vector` failed): {reason}")]
    NoVector {
        /// Why.
        reason: String,
    },

    /// The database holds a schema newer than this crate knows.
    #[error("the database schema is at version {found}, newer than this pyatlas-store ({known})")]
    SchemaTooNew {
        /// The version found.
        found: i32,
        /// The newest version this crate knows.
        known: i32,
    },

    /// A project, run or embedding set that the operation needs is not there.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: String,
    },

    /// The database holds a value this crate cannot read (an unknown run
    /// status or chunk kind: written by another program, or corrupted).
    #[error("the database holds {what}")]
    Corrupt {
        /// What, and where.
        what: String,
    },

    /// A query the store cannot run as asked (a vector of the wrong size, ...).
    #[error("invalid query: {reason}")]
    InvalidQuery {
        /// Why.
        reason: String,
    },
}

impl StoreError {
    pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> Self {
        let context = context.into();
        move |source| Self::Database { context, source }
    }

    /// Whether retrying the operation on a new connection may help: the
    /// connection was lost, or the server was shutting down or restarting.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. } => true,
            Self::Database { source, .. } => {
                source.is_closed()
                    || source.code().is_some_and(|code| {
                        let code = code.code();
                        // connection exceptions, operator intervention (admin shutdown, crash shutdown,
                        // cannot connect now), serialization failures and deadlocks.
                        code.starts_with("08") || code.starts_with("57P") || code == "40001" || code == "40P01"
                    })
                    || std::error::Error::source(source).is_some_and(|s| s.is::<std::io::Error>())
            }
            _ => false,
        }
    }
}
