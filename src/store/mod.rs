//! The store: the only module that speaks SQL.
//!
//! One [`Store`] serves SQLite (the default, embedded, WAL mode) and PostgreSQL (scale-out: several
//! stateless replicas share it). Queries are written once in portable SQL (`$1` placeholders,
//! `BIGINT` epoch-millisecond times) and compiled for both pools through [`on_pool!`]; dialect
//! differences live only in `migrations/sqlite` and `migrations/postgres`. Uniqueness is enforced
//! by constraints, never by check-then-insert, and violations come back as
//! [`StoreError::Conflict`]. The nonce cache lives here so that replay protection holds across
//! replicas.
//!
//! Two performance mechanisms live here too (docs/performance.md):
//! - The per-request writes (request nonces, SAML assertion replay keys, sign-in audit events)
//!   go through a group-commit writer ([`batch`]): concurrent requests share one transaction
//!   and one multi-row statement per table, and each still gets its own answer before it
//!   proceeds. Replay protection stays in the database, shared by replicas.
//! - [`Store::cached`] is a read-through view for the authentication and authorization hot
//!   path (AccessKeys, users, roles, SAML providers, effective policies). An entry lives at most
//!   [`CACHE_TTL_MS`] and is dropped at once when this process changes any RAM or federation
//!   configuration: every such mutation takes a [`Changed`] guard, which moves the generation on.
//!   Another replica's change is seen within [`CACHE_TTL_MS`]. Handlers that read in order to
//!   write use the uncached methods.

mod error;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use cached::{CACHE_TTL_MS, Cached};
pub use error::StoreError;
use error::on_unique;

/// Runs the same body against whichever pool backs the store. The body is compiled once per
/// backend, so the SQL text is shared while sqlx's types stay concrete.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}

mod batch;
mod cached;
mod checkpoint;
mod cli_login;
mod federation;
mod oidc;
mod oidc_sso;
mod ram;
mod web;

pub use cli_login::{CompletedCliLogin, PendingCliLogin};
pub use federation::{AuditEvent, RefreshedMetadata, SamlProvider};
pub use oidc::OidcProvider;
pub use oidc_sso::{OidcLoginStateRow, OidcSsoSettingsRow};
pub use web::{RoleChoiceRow, UserSsoSettingsRow, WebSession};

pub use ram::{
    Attachment, EffectivePolicy, Group, LoginProfile, MfaDevice, NewPolicyVersion, Page, Policy,
    PolicyVersion, PrincipalType, Role, User,
};

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which database engine backs a [`Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// Embedded SQLite file (or in-memory database).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Handle to the database; cheap to clone (pools are reference counted).
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    shared: Arc<Shared>,
}

/// What all clones of one [`Store`] share: the configuration generation, the hot-path caches
/// and the group-commit writer.
struct Shared {
    generation: AtomicU64,
    cache: cached::Caches,
    writer: batch::Writer,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Moves the configuration generation on when dropped, i.e. when the mutation that took it
/// returns (on every path), so [`Store::cached`] never serves what this process changed.
#[must_use = "hold the guard until the mutation is done"]
pub(crate) struct Changed<'a>(&'a Store);

impl Drop for Changed<'_> {
    fn drop(&mut self) {
        self.0.shared.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// An account (tenant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// 16-digit account id.
    pub id: String,
    /// Unique alias (3-63 chars, lowercase letters, digits and `-`).
    pub alias: String,
    /// Creation time, epoch milliseconds.
    pub created_at: i64,
}

/// Whether an AccessKey may sign requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Usable.
    Active,
    /// Disabled by its owner; requests signed with it are refused.
    Inactive,
}

impl KeyStatus {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "Active" => Ok(KeyStatus::Active),
            "Inactive" => Ok(KeyStatus::Inactive),
            other => Err(StoreError::Backend(sqlx::Error::Decode(
                format!("unknown access key status {other:?}").into(),
            ))),
        }
    }
}

/// A long-term AccessKey as stored: the secret only in sealed form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessKeyRecord {
    /// The AccessKeyId (`LTAI...`).
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// Owning RAM user; `None` for the account root's key.
    pub user_id: Option<String>,
    /// Active or Inactive.
    pub status: KeyStatus,
    /// AEAD-sealed secret (see `crypto::Keyring::seal`).
    pub secret_sealed: Vec<u8>,
    /// Creation time, epoch milliseconds.
    pub created_at: i64,
}

/// Result of recording a request nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceOutcome {
    /// First use of this nonce for this AccessKey within its lifetime.
    Fresh,
    /// Seen before and not yet expired: a replay.
    Replayed,
}

/// How long a SQLite connection waits for a lock before it fails with `SQLITE_BUSY`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Page size of a new SQLite database (an existing one keeps its own). Each request nonce,
/// assertion replay key and audit row lands on its own page of a unique index (random keys),
/// and every page a commit touches is written whole to the log, then read and written again by
/// the checkpoint: with 1 KiB pages instead of SQLite's default 4 KiB, the server wrote 2.8x
/// fewer bytes for the same 90,000 requests of the load test (docs/performance.md). The rows
/// here are small; large documents (policies, metadata) span more overflow pages, and are read
/// through the store's caches.
const SQLITE_PAGE_SIZE: u32 = 1024;

/// The options of every SQLite connection the store opens: WAL with `synchronous = NORMAL`,
/// foreign keys on, and no checkpoints on commit (they run on their own connection, see
/// [`checkpoint`]). Before SQLite is first used, its allocator is set to mimalloc
/// (`crate::allocator`).
fn sqlite_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    crate::allocator::route_sqlite_heap();
    Ok(SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::InvalidUrl(e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true)
        .pragma("wal_autocheckpoint", "0")
        .pragma("temp_store", "memory")
        .page_size(SQLITE_PAGE_SIZE))
}

/// Page cache of the group-commit writer's connection (KiB). It holds the interior pages of the
/// nonce and replay indexes even when they have grown to millions of rows (a 5-minute soak: 2.6
/// million nonces), so an insert reads at most its leaf from the file. SQLite's default
/// (2,000 KiB) is what every other connection keeps.
const SQLITE_WRITER_CACHE_KIB: u32 = 16 * 1024;

/// The group-commit writer's own connection ([`batch`]): one connection, kept open, so its page
/// cache stays warm. SQLite discards a connection's whole page cache when it finds the
/// database changed by another connection since its last transaction; taking the writer's
/// connection from the shared pool (which hands out its idle connections in turn) meant every
/// batch started cold and read each index page back from the file.
async fn sqlite_writer(opts: &SqliteConnectOptions) -> Result<SqlitePool, StoreError> {
    Ok(SqlitePoolOptions::new()
        .min_connections(1)
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(
            opts.clone()
                .pragma("cache_size", format!("-{SQLITE_WRITER_CACHE_KIB}")),
        )
        .await?)
}

type AccessKeyRow = (String, String, Option<String>, String, Vec<u8>, i64);

impl Store {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`, `postgres://...`) and applies the
    /// backend's migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let mut checkpointer = None;
        let mut writer_backend = None;
        let backend = if url.starts_with("sqlite:") {
            let opts = sqlite_options(url)?;
            // An in-memory database exists per connection: keep exactly one.
            let max = if url.contains(":memory:") { 1 } else { 8 };
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                .connect_with(opts.clone())
                .await?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
            if max > 1 {
                writer_backend = Some(Backend::Sqlite(sqlite_writer(&opts).await?));
                checkpointer = Some(opts);
            }
            Backend::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::InvalidUrl(format!(
                "unsupported scheme in {:?}: use sqlite://PATH or postgres://...",
                redact_url(url)
            )));
        };
        let restart = Arc::new(checkpoint::Restart::default());
        let writer = batch::Writer::start(
            writer_backend.unwrap_or_else(|| backend.clone()),
            restart.clone(),
        );
        let shared = Arc::new(Shared {
            generation: AtomicU64::new(0),
            cache: cached::Caches::new(),
            writer,
        });
        if let Some(opts) = checkpointer {
            checkpoint::start(opts, Arc::downgrade(&shared), restart);
        }
        Ok(Store { backend, shared })
    }

    /// Takes the guard every mutation of RAM or federation configuration holds (see the
    /// module documentation).
    pub(crate) fn changed(&self) -> Changed<'_> {
        Changed(self)
    }

    fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }

    /// Which engine this store runs on.
    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Checks that the database answers (readiness probe).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every pooled connection (graceful shutdown).
    pub async fn close(&self) {
        self.shared.writer.close().await;
        on_pool!(self, pool => pool.close().await)
    }

    /// Creates an account together with its root AccessKey, atomically.
    pub async fn create_account(
        &self,
        account: &Account,
        root_key: &AccessKeyRecord,
    ) -> Result<(), StoreError> {
        let _changed = self.changed();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO accounts (id, alias, created_at) VALUES ($1, $2, $3)")
                .bind(&account.id)
                .bind(&account.alias)
                .bind(account.created_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| on_unique(e, "account alias or id"))?;
            sqlx::query(
                "INSERT INTO access_keys \
                 (id, account_id, user_id, status, secret_sealed, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(&root_key.id)
            .bind(&root_key.account_id)
            .bind(&root_key.user_id)
            .bind(root_key.status.as_str())
            .bind(&root_key.secret_sealed)
            .bind(root_key.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| on_unique(e, "access key id"))?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every account, oldest first.
    pub async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows: Vec<(String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT id, alias, created_at FROM accounts ORDER BY created_at, id")
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, alias, created_at)| Account {
                id,
                alias,
                created_at,
            })
            .collect())
    }

    /// The account with this id, if any.
    pub async fn find_account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let row: Option<(String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT id, alias, created_at FROM accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(id, alias, created_at)| Account {
            id,
            alias,
            created_at,
        }))
    }

    /// The account with this alias, if any.
    pub async fn find_account_by_alias(&self, alias: &str) -> Result<Option<Account>, StoreError> {
        let row: Option<(String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT id, alias, created_at FROM accounts WHERE alias = $1")
                .bind(alias)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(id, alias, created_at)| Account {
            id,
            alias,
            created_at,
        }))
    }

    /// The long-term AccessKey with this id, if any.
    pub async fn find_access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>, StoreError> {
        let row: Option<AccessKeyRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, account_id, user_id, status, secret_sealed, created_at \
                 FROM access_keys WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        row.map(access_key_from_row).transpose()
    }

    /// Sets an AccessKey's status; returns whether a key was changed.
    pub async fn update_access_key_status(
        &self,
        id: &str,
        status: KeyStatus,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let done = on_pool!(self, pool => {
            sqlx::query("UPDATE access_keys SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(status.as_str())
                .bind(now_ms)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Records `nonce` for `access_key_id` until `expires_at_ms`. A nonce still unexpired from an
    /// earlier request is a replay. Expired entries for the same key and nonce are replaced.
    /// Concurrent calls share one transaction (group commit, see [`batch`]).
    pub async fn record_nonce(
        &self,
        access_key_id: &str,
        nonce: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<NonceOutcome, StoreError> {
        self.shared
            .writer
            .record_nonce(access_key_id, nonce, now_ms, expires_at_ms)
            .await
    }

    /// Deletes nonces that expired at or before `now_ms`; returns how many.
    pub async fn purge_expired_nonces(&self, now_ms: i64) -> Result<u64, StoreError> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM request_nonces WHERE expires_at <= $1")
                .bind(now_ms)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }
}

fn access_key_from_row(row: AccessKeyRow) -> Result<AccessKeyRecord, StoreError> {
    let (id, account_id, user_id, status, secret_sealed, created_at) = row;
    Ok(AccessKeyRecord {
        id,
        account_id,
        user_id,
        status: KeyStatus::parse(&status)?,
        secret_sealed,
        created_at,
    })
}

/// Hides a password in a database URL before it is shown in a message or log.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests;
