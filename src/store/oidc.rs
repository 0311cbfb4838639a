//! OIDC providers per account (IMS `*OIDCProvider`, spec §5.2). Lists are stored as JSON arrays;
//! list edits (Add/Remove ClientId and Fingerprint) are compare-and-swap updates on the stored
//! lists, so two concurrent edits cannot lose one another.

use super::error::on_unique;
use super::{Store, StoreError};

/// A stored OIDC provider (IMS `OIDCProvider`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcProvider {
    /// Owning account.
    pub account_id: String,
    /// `OIDCProviderName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `IssuerUrl` (unique per account).
    pub issuer_url: String,
    /// `ClientIds`.
    pub client_ids: Vec<String>,
    /// `Fingerprints`, lowercase hex.
    pub fingerprints: Vec<String>,
    /// `IssuanceLimitTime` in hours.
    pub issuance_limit_hours: i64,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
);

const COLUMNS: &str = "account_id, name, description, issuer_url, client_ids, fingerprints, \
                       issuance_limit_hours, created_at, updated_at";

fn list_from(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(sqlx::Error::Decode(Box::new(e))))
}

fn list_to(list: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(list).map_err(|e| StoreError::Backend(sqlx::Error::Encode(Box::new(e))))
}

fn from_row(r: Row) -> Result<OidcProvider, StoreError> {
    Ok(OidcProvider {
        account_id: r.0,
        name: r.1,
        description: r.2,
        issuer_url: r.3,
        client_ids: list_from(&r.4)?,
        fingerprints: list_from(&r.5)?,
        issuance_limit_hours: r.6,
        created_at: r.7,
        updated_at: r.8,
    })
}

impl Store {
    /// Counts an account's OIDC providers.
    pub async fn count_oidc_providers(&self, account_id: &str) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM oidc_providers WHERE account_id = $1")
                .bind(account_id).fetch_one(pool).await?
        });
        Ok(n)
    }

    /// Inserts a provider; a taken name or IssuerUrl in the account conflicts.
    pub async fn create_oidc_provider(&self, p: &OidcProvider) -> Result<(), StoreError> {
        let client_ids = list_to(&p.client_ids)?;
        let fingerprints = list_to(&p.fingerprints)?;
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO oidc_providers (account_id, name, description, issuer_url, client_ids, \
                 fingerprints, issuance_limit_hours, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&p.account_id).bind(&p.name).bind(&p.description).bind(&p.issuer_url)
            .bind(&client_ids).bind(&fingerprints).bind(p.issuance_limit_hours)
            .bind(p.created_at).bind(p.updated_at)
            .execute(pool).await.map_err(|e| on_unique(e, "OIDC provider"))?;
        });
        Ok(())
    }

    /// One provider.
    pub async fn find_oidc_provider(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<OidcProvider>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM oidc_providers WHERE account_id = $1 AND name = $2");
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).bind(name).fetch_optional(pool).await?
        });
        row.map(from_row).transpose()
    }

    /// An account's providers by name after `after`, at most `limit` (+1 to detect more).
    pub async fn list_oidc_providers(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<super::Page<OidcProvider>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM oidc_providers WHERE account_id = $1 AND name > $2 \
             ORDER BY name LIMIT $3"
        );
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).bind(after.unwrap_or(""))
                .bind(super::ram::limit_plus_one(limit)).fetch_all(pool).await?
        });
        let items: Vec<OidcProvider> = rows.into_iter().map(from_row).collect::<Result<_, _>>()?;
        Ok(super::ram::page(items, limit, |p| p.name.clone()))
    }

    /// Replaces the mutable fields of `new` (description, lists, IssuanceLimitTime, updated_at)
    /// if the stored lists still equal those of `read` (compare-and-swap). False when the
    /// provider is gone or was changed in between; the caller reads again and retries.
    pub async fn update_oidc_provider(
        &self,
        read: &OidcProvider,
        new: &OidcProvider,
    ) -> Result<bool, StoreError> {
        let old_client_ids = list_to(&read.client_ids)?;
        let old_fingerprints = list_to(&read.fingerprints)?;
        let client_ids = list_to(&new.client_ids)?;
        let fingerprints = list_to(&new.fingerprints)?;
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE oidc_providers SET description = $1, client_ids = $2, fingerprints = $3, \
                 issuance_limit_hours = $4, updated_at = $5 \
                 WHERE account_id = $6 AND name = $7 AND client_ids = $8 AND fingerprints = $9",
            )
            .bind(&new.description).bind(&client_ids).bind(&fingerprints)
            .bind(new.issuance_limit_hours).bind(new.updated_at)
            .bind(&read.account_id).bind(&read.name).bind(&old_client_ids).bind(&old_fingerprints)
            .execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Deletes a provider (roles that trust it then refuse its tokens).
    pub async fn delete_oidc_provider(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM oidc_providers WHERE account_id = $1 AND name = $2")
                .bind(account_id).bind(name).execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }
}
