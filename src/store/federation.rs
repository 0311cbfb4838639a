//! Federation state in the store: SAML providers per account, the assertion replay cache and
//! the AuthnRequests we issued (both shared by replicas), and the sign-in audit log.

use super::error::on_unique;
use super::{Store, StoreError};

/// A stored SAML provider (IMS `SAMLProvider`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlProvider {
    /// Owning account.
    pub account_id: String,
    /// `SAMLProviderName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `EncodedSAMLMetadataDocument` as uploaded.
    pub metadata_b64: String,
    /// IdP entityID parsed from it.
    pub entity_id: String,
    /// Base64 DER signing certificates parsed from it.
    pub certificates: Vec<String>,
    /// `AuthnSignAlgo`.
    pub authn_sign_algo: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
    /// `MetadataUrl` (rambridge extension): an https URL the metadata is re-fetched from on a
    /// schedule (`saml::refresh`), or `None` when the uploaded document is the only source.
    pub metadata_url: Option<String>,
    /// Epoch ms of the last refresh attempt from `metadata_url` (success or failure).
    pub metadata_refreshed_at: Option<i64>,
    /// Why the last refresh attempt failed; `None` after a success (or before any attempt).
    pub metadata_refresh_error: Option<String>,
}

type ProviderRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn provider_from(r: ProviderRow) -> Result<SamlProvider, StoreError> {
    let certificates: Vec<String> = serde_json::from_str(&r.5)
        .map_err(|e| StoreError::Backend(sqlx::Error::Decode(Box::new(e))))?;
    Ok(SamlProvider {
        account_id: r.0,
        name: r.1,
        description: r.2,
        metadata_b64: r.3,
        entity_id: r.4,
        certificates,
        authn_sign_algo: r.6,
        created_at: r.7,
        updated_at: r.8,
        metadata_url: r.9,
        metadata_refreshed_at: r.10,
        metadata_refresh_error: r.11,
    })
}

const PROVIDER_COLUMNS: &str = "account_id, name, description, metadata_b64, entity_id, \
                                certificates, authn_sign_algo, created_at, updated_at, \
                                metadata_url, metadata_refreshed_at, metadata_refresh_error";

/// A refreshed metadata document as [`Store::record_metadata_refresh`] stores it: the document
/// (base64), its entityID and its signing certificates (base64 DER).
pub type RefreshedMetadata<'a> = (&'a str, &'a str, &'a [String]);

type AuditRow = (
    String,
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
);

/// One audit event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Reference id (shown on error pages).
    pub id: String,
    /// Account.
    pub account_id: String,
    /// Epoch ms.
    pub at: i64,
    /// `AssumeRoleWithSAML`, `SAMLSignIn`, ...
    pub event: String,
    /// Provider ARN or name.
    pub provider: String,
    /// NameID / subject, when known.
    pub subject: String,
    /// `Success` or `Failure`.
    pub outcome: String,
    /// Error code or `Success`.
    pub reason: String,
    /// Client address.
    pub source_ip: String,
}

impl Store {
    /// Counts an account's SAML providers.
    pub async fn count_saml_providers(&self, account_id: &str) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM saml_providers WHERE account_id = $1")
                .bind(account_id).fetch_one(pool).await?
        });
        Ok(n)
    }

    /// Inserts a provider; a taken name conflicts.
    pub async fn create_saml_provider(&self, p: &SamlProvider) -> Result<(), StoreError> {
        let _changed = self.changed();
        let certs = serde_json::to_string(&p.certificates)
            .map_err(|e| StoreError::Backend(sqlx::Error::Encode(Box::new(e))))?;
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO saml_providers (account_id, name, description, metadata_b64, entity_id, \
                 certificates, authn_sign_algo, created_at, updated_at, metadata_url, \
                 metadata_refreshed_at, metadata_refresh_error) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&p.account_id).bind(&p.name).bind(&p.description).bind(&p.metadata_b64)
            .bind(&p.entity_id).bind(&certs).bind(&p.authn_sign_algo).bind(p.created_at).bind(p.updated_at)
            .bind(&p.metadata_url).bind(p.metadata_refreshed_at).bind(&p.metadata_refresh_error)
            .execute(pool).await.map_err(|e| on_unique(e, "SAML provider"))?;
        });
        Ok(())
    }

    /// Replaces a provider's mutable fields (not the metadata URL and its refresh state: see
    /// [`Store::set_saml_provider_metadata_url`]).
    pub async fn update_saml_provider(&self, p: &SamlProvider) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let certs = serde_json::to_string(&p.certificates)
            .map_err(|e| StoreError::Backend(sqlx::Error::Encode(Box::new(e))))?;
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE saml_providers SET description = $1, metadata_b64 = $2, entity_id = $3, \
                 certificates = $4, authn_sign_algo = $5, updated_at = $6 WHERE account_id = $7 AND name = $8",
            )
            .bind(&p.description).bind(&p.metadata_b64).bind(&p.entity_id).bind(&certs)
            .bind(&p.authn_sign_algo).bind(p.updated_at).bind(&p.account_id).bind(&p.name)
            .execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Sets (`Some`) or clears (`None`) a provider's metadata URL. The refresh state starts
    /// over: no attempt time and no error, so a new URL is due at the next refresh run.
    pub async fn set_saml_provider_metadata_url(
        &self,
        account_id: &str,
        name: &str,
        url: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE saml_providers SET metadata_url = $1, metadata_refreshed_at = NULL, \
                 metadata_refresh_error = NULL, updated_at = $2 WHERE account_id = $3 AND name = $4",
            )
            .bind(url).bind(now_ms).bind(account_id).bind(name)
            .execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Providers with a metadata URL whose last refresh attempt is at least `interval_ms` old
    /// (or that never had one), oldest attempt first, at most `limit`.
    pub async fn list_saml_providers_due_for_refresh(
        &self,
        now_ms: i64,
        interval_ms: i64,
        limit: usize,
    ) -> Result<Vec<SamlProvider>, StoreError> {
        // COALESCE orders never-attempted rows first on both engines (their NULL ordering differs).
        let sql = format!(
            "SELECT {PROVIDER_COLUMNS} FROM saml_providers WHERE metadata_url IS NOT NULL \
             AND (metadata_refreshed_at IS NULL OR metadata_refreshed_at <= $1) \
             ORDER BY COALESCE(metadata_refreshed_at, 0), account_id, name LIMIT $2"
        );
        let rows: Vec<ProviderRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(now_ms.saturating_sub(interval_ms))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX)).fetch_all(pool).await?
        });
        rows.into_iter().map(provider_from).collect()
    }

    /// Claims one refresh attempt of a due provider by stamping the attempt time, if the
    /// provider still has `url` and is still due. Of several replicas scanning at once exactly
    /// one wins (the conditional UPDATE is atomic on both engines); false for the others.
    pub async fn claim_metadata_refresh(
        &self,
        account_id: &str,
        name: &str,
        url: &str,
        now_ms: i64,
        interval_ms: i64,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE saml_providers SET metadata_refreshed_at = $1 \
                 WHERE account_id = $2 AND name = $3 AND metadata_url = $4 \
                 AND (metadata_refreshed_at IS NULL OR metadata_refreshed_at <= $5)",
            )
            .bind(now_ms).bind(account_id).bind(name).bind(url)
            .bind(now_ms.saturating_sub(interval_ms))
            .execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Records the outcome of fetching `url` for a provider at `now_ms`.
    ///
    /// `Ok`: the document and certificates are replaced and the error cleared; `updated_at`
    /// moves only when the document changed. The entityID is never changed here: the write
    /// applies only while the stored entityID equals the refreshed one. `Err`: the last good
    /// document, entityID and certificates stay; the error text is recorded.
    ///
    /// Either way nothing is written (false) once the provider's URL is no longer `url`, so a
    /// fetch that raced with an administrator's change cannot undo it.
    pub async fn record_metadata_refresh(
        &self,
        account_id: &str,
        name: &str,
        url: &str,
        outcome: Result<RefreshedMetadata<'_>, &str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = match outcome {
            Ok((metadata_b64, entity_id, certificates)) => {
                let certs = serde_json::to_string(certificates)
                    .map_err(|e| StoreError::Backend(sqlx::Error::Encode(Box::new(e))))?;
                on_pool!(self, pool => {
                    sqlx::query(
                        "UPDATE saml_providers SET \
                         updated_at = CASE WHEN metadata_b64 = $1 THEN updated_at ELSE $2 END, \
                         metadata_b64 = $1, certificates = $3, metadata_refreshed_at = $2, \
                         metadata_refresh_error = NULL \
                         WHERE account_id = $4 AND name = $5 AND metadata_url = $6 AND entity_id = $7",
                    )
                    .bind(metadata_b64).bind(now_ms).bind(&certs).bind(account_id).bind(name)
                    .bind(url).bind(entity_id)
                    .execute(pool).await?.rows_affected()
                })
            }
            Err(error) => on_pool!(self, pool => {
                sqlx::query(
                    "UPDATE saml_providers SET metadata_refreshed_at = $1, metadata_refresh_error = $2 \
                     WHERE account_id = $3 AND name = $4 AND metadata_url = $5",
                )
                .bind(now_ms).bind(error).bind(account_id).bind(name).bind(url)
                .execute(pool).await?.rows_affected()
            }),
        };
        Ok(n > 0)
    }

    /// One provider.
    pub async fn find_saml_provider(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<SamlProvider>, StoreError> {
        let sql = format!(
            "SELECT {PROVIDER_COLUMNS} FROM saml_providers WHERE account_id = $1 AND name = $2"
        );
        let row: Option<ProviderRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).bind(name).fetch_optional(pool).await?
        });
        row.map(provider_from).transpose()
    }

    /// An account's providers by name after `after`, at most `limit` + 1.
    pub async fn list_saml_providers(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<super::Page<SamlProvider>, StoreError> {
        let sql = format!(
            "SELECT {PROVIDER_COLUMNS} FROM saml_providers WHERE account_id = $1 AND name > $2 ORDER BY name LIMIT $3"
        );
        let rows: Vec<ProviderRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).bind(after.unwrap_or(""))
                .bind(super::ram::limit_plus_one(limit)).fetch_all(pool).await?
        });
        let items: Vec<SamlProvider> = rows
            .into_iter()
            .map(provider_from)
            .collect::<Result<_, _>>()?;
        Ok(super::ram::page(items, limit, |p| p.name.clone()))
    }

    /// Deletes a provider (roles that trust it then refuse it).
    pub async fn delete_saml_provider(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let _changed = self.changed();
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM saml_providers WHERE account_id = $1 AND name = $2")
                .bind(account_id).bind(name).execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Records an assertion as used until `expires_at_ms`; false when it was used before and
    /// has not expired (a replay). Same atomic pattern as the nonce cache, group-committed
    /// with concurrent requests (see `batch`).
    pub async fn record_assertion(
        &self,
        replay_key: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<bool, StoreError> {
        self.shared
            .writer
            .record_assertion(replay_key, now_ms, expires_at_ms)
            .await
    }

    /// Remembers an AuthnRequest we sent, until `expires_at_ms`.
    pub async fn create_authn_request(
        &self,
        id: &str,
        account_id: &str,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO saml_authn_requests (id, account_id, expires_at) VALUES ($1, $2, $3)")
                .bind(id).bind(account_id).bind(expires_at_ms)
                .execute(pool).await.map_err(|e| on_unique(e, "AuthnRequest id"))?;
        });
        Ok(())
    }

    /// Consumes an AuthnRequest id (single use): the account it was issued for, if it exists
    /// and has not expired.
    pub async fn consume_authn_request(
        &self,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("DELETE FROM saml_authn_requests WHERE id = $1 AND expires_at > $2 RETURNING account_id")
                .bind(id).bind(now_ms).fetch_optional(pool).await?
        });
        Ok(row.map(|r| r.0))
    }

    /// Deletes expired replay entries and AuthnRequests.
    pub async fn purge_expired_federation(&self, now_ms: i64) -> Result<u64, StoreError> {
        let n = on_pool!(self, pool => {
            let a = sqlx::query("DELETE FROM saml_assertions_used WHERE expires_at <= $1")
                .bind(now_ms).execute(pool).await?.rows_affected();
            let b = sqlx::query("DELETE FROM saml_authn_requests WHERE expires_at <= $1")
                .bind(now_ms).execute(pool).await?.rows_affected();
            a + b
        });
        Ok(n)
    }

    /// Appends an audit event (group-committed with concurrent requests, see `batch`).
    pub async fn record_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        self.shared.writer.record_audit(e).await
    }

    /// An account's audit events, newest first, at most `limit`.
    pub async fn list_audit(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let rows: Vec<AuditRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, account_id, at, event, provider, subject, outcome, reason, source_ip \
                 FROM signin_audit WHERE account_id = $1 ORDER BY at DESC, id LIMIT $2",
            )
            .bind(account_id).bind(limit).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| AuditEvent {
                id: r.0,
                account_id: r.1,
                at: r.2,
                event: r.3,
                provider: r.4,
                subject: r.5,
                outcome: r.6,
                reason: r.7,
                source_ip: r.8,
            })
            .collect())
    }
}
