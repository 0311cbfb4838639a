//! Store errors: what a caller can act on (a conflict, a missing row) kept apart from backend
//! failures, whose text is logged but never sent to clients.

use thiserror::Error;

/// Errors from [`super::Store`].
#[derive(Debug, Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write; `what` names the entity (for example
    /// `"account alias"`).
    #[error("{what} already exists")]
    Conflict {
        /// Which unique thing collided.
        what: &'static str,
    },
    /// A delete refused because something still uses the entity; `what` is the Alibaba
    /// `DeleteConflict.<what>` suffix (e.g. `User.AccessKey`).
    #[error("still in use: {what}")]
    InUse {
        /// Which dependent blocks the delete.
        what: &'static str,
    },
    /// A per-entity limit is reached; `what` is the `LimitExceeded.<what>` suffix.
    #[error("limit exceeded: {what}")]
    LimitExceeded {
        /// Which limit.
        what: &'static str,
    },
    /// The database URL could not be understood.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Any other backend failure (connection, I/O, SQL).
    #[error("database error: {0}")]
    Backend(#[from] sqlx::Error),
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`], everything else to
/// [`StoreError::Backend`].
pub(crate) fn on_unique(err: sqlx::Error, what: &'static str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { what },
        _ => StoreError::Backend(err),
    }
}
