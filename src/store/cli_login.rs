//! `rambridge login` browser-mode state (migration 0007): pending CLI logins, completed once
//! with a one-time code and sealed credentials, redeemed once. Single use is a property of the
//! statements themselves (a conditional UPDATE to complete, a DELETE ... RETURNING to redeem),
//! so it holds across replicas sharing the database.

use super::error::on_unique;
use super::{Store, StoreError};

/// A CLI login waiting for its browser sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCliLogin {
    /// Random id, carried by the browser in a cookie.
    pub id: String,
    /// The account signing in.
    pub account_id: String,
    /// SAML provider name the sign-in goes through.
    pub provider: String,
    /// Requested role (name or ARN); empty when any role may be chosen.
    pub role: String,
    /// The CLI's loopback listener port.
    pub port: u16,
    /// PKCE S256 code challenge.
    pub code_challenge: String,
    /// Epoch ms.
    pub created_at: i64,
    /// End of the sign-in window, epoch ms.
    pub expires_at: i64,
}

/// A completed CLI login, as taken (deleted) by its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletedCliLogin {
    /// The pending id (binds the sealed credentials).
    pub id: String,
    /// The CLI's loopback listener port.
    pub port: u16,
    /// PKCE S256 code challenge.
    pub code_challenge: String,
    /// Sealed credentials JSON.
    pub credentials_sealed: Vec<u8>,
    /// End of the code's life, epoch ms.
    pub expires_at: i64,
}

type PendingRow = (String, String, String, String, i64, String, i64, i64);
type CompletedRow = (String, i64, String, Option<Vec<u8>>, i64);

fn port_of(n: i64) -> Result<u16, StoreError> {
    u16::try_from(n).map_err(|_| {
        StoreError::Backend(sqlx::Error::Decode(
            format!("stored port {n} is out of range").into(),
        ))
    })
}

impl Store {
    /// Records a pending CLI login.
    pub async fn create_cli_login(&self, p: &PendingCliLogin) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO cli_logins (id, account_id, provider, role, port, code_challenge, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&p.id).bind(&p.account_id).bind(&p.provider).bind(&p.role)
            .bind(i64::from(p.port)).bind(&p.code_challenge).bind(p.created_at).bind(p.expires_at)
            .execute(pool).await.map_err(|e| on_unique(e, "CLI login id"))?;
        });
        Ok(())
    }

    /// A pending (not yet completed) CLI login that has not expired at `now_ms`.
    pub async fn find_pending_cli_login(
        &self,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<PendingCliLogin>, StoreError> {
        let row: Option<PendingRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, account_id, provider, role, port, code_challenge, created_at, expires_at \
                 FROM cli_logins WHERE id = $1 AND code_hash IS NULL AND expires_at > $2",
            )
            .bind(id).bind(now_ms).fetch_optional(pool).await?
        });
        row.map(|r| {
            Ok(PendingCliLogin {
                id: r.0,
                account_id: r.1,
                provider: r.2,
                role: r.3,
                port: port_of(r.4)?,
                code_challenge: r.5,
                created_at: r.6,
                expires_at: r.7,
            })
        })
        .transpose()
    }

    /// Completes a pending CLI login: stores the code's hash and the sealed credentials and
    /// shortens its life to `code_expires_at`. False when the login is unknown, already
    /// completed or expired (exactly one completion wins).
    pub async fn complete_cli_login(
        &self,
        id: &str,
        code_hash: &str,
        credentials_sealed: &[u8],
        now_ms: i64,
        code_expires_at: i64,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE cli_logins SET code_hash = $1, credentials_sealed = $2, expires_at = $3 \
                 WHERE id = $4 AND code_hash IS NULL AND expires_at > $5",
            )
            .bind(code_hash).bind(credentials_sealed).bind(code_expires_at).bind(id).bind(now_ms)
            .execute(pool).await.map_err(|e| on_unique(e, "CLI login code"))?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Takes (deletes and returns) the completed CLI login whose code hashes to `code_hash`,
    /// expired or not: a code is spent by its first redemption attempt, whatever the outcome.
    pub async fn take_cli_login_code(
        &self,
        code_hash: &str,
    ) -> Result<Option<CompletedCliLogin>, StoreError> {
        let row: Option<CompletedRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "DELETE FROM cli_logins WHERE code_hash = $1 \
                 RETURNING id, port, code_challenge, credentials_sealed, expires_at",
            )
            .bind(code_hash).fetch_optional(pool).await?
        });
        row.map(|r| {
            Ok(CompletedCliLogin {
                id: r.0,
                port: port_of(r.1)?,
                code_challenge: r.2,
                credentials_sealed: r.3.unwrap_or_default(),
                expires_at: r.4,
            })
        })
        .transpose()
    }

    /// Deletes a pending CLI login (the sign-in was abandoned); true when one was deleted.
    pub async fn delete_pending_cli_login(&self, id: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM cli_logins WHERE id = $1 AND code_hash IS NULL")
                .bind(id).execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Deletes CLI logins (pending or completed) that expired at or before `now_ms`.
    pub async fn purge_expired_cli_logins(&self, now_ms: i64) -> Result<u64, StoreError> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM cli_logins WHERE expires_at <= $1")
                .bind(now_ms).execute(pool).await?.rows_affected()
        });
        Ok(n)
    }
}
