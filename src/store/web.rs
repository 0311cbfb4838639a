//! Browser SSO state in the store: console sessions, pending role choices, user-based SSO
//! settings, and paged reads of the sign-in audit log. Sessions live here (not in memory) so
//! they hold across replicas.

use super::federation::AuditEvent;
use super::{Store, StoreError};

/// A console session row. The cookie value itself is never stored, only its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSession {
    /// Hex SHA-256 of the cookie value.
    pub id_hash: String,
    /// Account signed in to.
    pub account_id: String,
    /// `user` or `role`.
    pub kind: String,
    /// User id, or role ARN.
    pub principal: String,
    /// User principal name, or role session name.
    pub display_name: String,
    /// Role sessions: the sealed temporary credentials.
    pub credentials_sealed: Option<Vec<u8>>,
    /// The session's CSRF token (in every form).
    pub csrf_token: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub expires_at: i64,
    /// Client address at sign-in.
    pub source_ip: String,
}

type SessionRow = (
    String,
    String,
    String,
    String,
    String,
    Option<Vec<u8>>,
    String,
    i64,
    i64,
    String,
);

/// A pending role choice (several roles in one assertion).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleChoiceRow {
    /// Hex SHA-256 of the cookie value.
    pub id_hash: String,
    /// JSON of the verified, trusted choices (see `web::role_sso`).
    pub choices: String,
    /// CSRF token of the chooser form.
    pub csrf_token: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub expires_at: i64,
    /// Client address.
    pub source_ip: String,
}

/// An account's user-based SSO settings (IMS `UserSsoSettings`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSsoSettingsRow {
    /// Account.
    pub account_id: String,
    /// `SsoEnabled`.
    pub sso_enabled: bool,
    /// `MetadataDocument` as uploaded (empty when none).
    pub metadata_b64: String,
    /// IdP entityID parsed from the metadata.
    pub idp_entity_id: String,
    /// Base64 DER signing certificates parsed from the metadata.
    pub certificates: Vec<String>,
    /// `AuxiliaryDomain` (empty when none).
    pub auxiliary_domain: String,
    /// `SsoLoginWithDomain`.
    pub sso_login_with_domain: bool,
    /// `AuthnSignAlgo`.
    pub authn_sign_algo: String,
    /// Epoch ms.
    pub updated_at: i64,
}

type SsoRow = (
    String,
    bool,
    String,
    String,
    String,
    String,
    bool,
    String,
    i64,
);

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

fn decode_err(e: serde_json::Error) -> StoreError {
    StoreError::Backend(sqlx::Error::Decode(Box::new(e)))
}

impl Store {
    /// Inserts a console session.
    pub async fn create_web_session(&self, s: &WebSession) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO web_sessions (id_hash, account_id, kind, principal, display_name, \
                 credentials_sealed, csrf_token, created_at, expires_at, source_ip) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&s.id_hash).bind(&s.account_id).bind(&s.kind).bind(&s.principal)
            .bind(&s.display_name).bind(&s.credentials_sealed).bind(&s.csrf_token)
            .bind(s.created_at).bind(s.expires_at).bind(&s.source_ip)
            .execute(pool).await?;
        });
        Ok(())
    }

    /// A console session that has not expired at `now_ms`.
    pub async fn find_web_session(
        &self,
        id_hash: &str,
        now_ms: i64,
    ) -> Result<Option<WebSession>, StoreError> {
        let row: Option<SessionRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id_hash, account_id, kind, principal, display_name, credentials_sealed, \
                 csrf_token, created_at, expires_at, source_ip FROM web_sessions \
                 WHERE id_hash = $1 AND expires_at > $2",
            )
            .bind(id_hash).bind(now_ms).fetch_optional(pool).await?
        });
        Ok(row.map(|r| WebSession {
            id_hash: r.0,
            account_id: r.1,
            kind: r.2,
            principal: r.3,
            display_name: r.4,
            credentials_sealed: r.5,
            csrf_token: r.6,
            created_at: r.7,
            expires_at: r.8,
            source_ip: r.9,
        }))
    }

    /// Ends a console session (sign-out); true when it existed.
    pub async fn delete_web_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
                .bind(id_hash).execute(pool).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Stores a pending role choice.
    pub async fn create_role_choice(&self, c: &RoleChoiceRow) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO web_role_choices (id_hash, choices, csrf_token, created_at, \
                 expires_at, source_ip) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&c.id_hash).bind(&c.choices).bind(&c.csrf_token).bind(c.created_at)
            .bind(c.expires_at).bind(&c.source_ip)
            .execute(pool).await?;
        });
        Ok(())
    }

    /// A pending role choice that has not expired.
    pub async fn find_role_choice(
        &self,
        id_hash: &str,
        now_ms: i64,
    ) -> Result<Option<RoleChoiceRow>, StoreError> {
        let row: Option<(String, String, String, i64, i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id_hash, choices, csrf_token, created_at, expires_at, source_ip \
                 FROM web_role_choices WHERE id_hash = $1 AND expires_at > $2",
            )
            .bind(id_hash).bind(now_ms).fetch_optional(pool).await?
        });
        Ok(row.map(|r| RoleChoiceRow {
            id_hash: r.0,
            choices: r.1,
            csrf_token: r.2,
            created_at: r.3,
            expires_at: r.4,
            source_ip: r.5,
        }))
    }

    /// Consumes a pending role choice (single use): its row, if it existed and had not expired.
    pub async fn take_role_choice(
        &self,
        id_hash: &str,
        now_ms: i64,
    ) -> Result<Option<RoleChoiceRow>, StoreError> {
        let row: Option<(String, String, String, i64, i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "DELETE FROM web_role_choices WHERE id_hash = $1 AND expires_at > $2 \
                 RETURNING id_hash, choices, csrf_token, created_at, expires_at, source_ip",
            )
            .bind(id_hash).bind(now_ms).fetch_optional(pool).await?
        });
        Ok(row.map(|r| RoleChoiceRow {
            id_hash: r.0,
            choices: r.1,
            csrf_token: r.2,
            created_at: r.3,
            expires_at: r.4,
            source_ip: r.5,
        }))
    }

    /// Deletes expired console sessions, role choices and pending OIDC sign-ins.
    pub async fn purge_expired_web(&self, now_ms: i64) -> Result<u64, StoreError> {
        let n = on_pool!(self, pool => {
            let a = sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
                .bind(now_ms).execute(pool).await?.rows_affected();
            let b = sqlx::query("DELETE FROM web_role_choices WHERE expires_at <= $1")
                .bind(now_ms).execute(pool).await?.rows_affected();
            let c = sqlx::query("DELETE FROM oidc_login_states WHERE expires_at <= $1")
                .bind(now_ms).execute(pool).await?.rows_affected();
            a + b + c
        });
        Ok(n)
    }

    /// An account's user SSO settings, if ever set.
    pub async fn find_user_sso_settings(
        &self,
        account_id: &str,
    ) -> Result<Option<UserSsoSettingsRow>, StoreError> {
        let row: Option<SsoRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT account_id, sso_enabled, metadata_b64, idp_entity_id, certificates, \
                 auxiliary_domain, sso_login_with_domain, authn_sign_algo, updated_at \
                 FROM user_sso_settings WHERE account_id = $1",
            )
            .bind(account_id).fetch_optional(pool).await?
        });
        row.map(|r| {
            Ok(UserSsoSettingsRow {
                account_id: r.0,
                sso_enabled: r.1,
                metadata_b64: r.2,
                idp_entity_id: r.3,
                certificates: serde_json::from_str(&r.4).map_err(decode_err)?,
                auxiliary_domain: r.5,
                sso_login_with_domain: r.6,
                authn_sign_algo: r.7,
                updated_at: r.8,
            })
        })
        .transpose()
    }

    /// Writes (inserts or replaces) an account's user SSO settings.
    pub async fn put_user_sso_settings(&self, s: &UserSsoSettingsRow) -> Result<(), StoreError> {
        let certs = serde_json::to_string(&s.certificates)
            .map_err(|e| StoreError::Backend(sqlx::Error::Encode(Box::new(e))))?;
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO user_sso_settings (account_id, sso_enabled, metadata_b64, \
                 idp_entity_id, certificates, auxiliary_domain, sso_login_with_domain, \
                 authn_sign_algo, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (account_id) DO UPDATE SET sso_enabled = excluded.sso_enabled, \
                 metadata_b64 = excluded.metadata_b64, idp_entity_id = excluded.idp_entity_id, \
                 certificates = excluded.certificates, auxiliary_domain = excluded.auxiliary_domain, \
                 sso_login_with_domain = excluded.sso_login_with_domain, \
                 authn_sign_algo = excluded.authn_sign_algo, updated_at = excluded.updated_at",
            )
            .bind(&s.account_id).bind(s.sso_enabled).bind(&s.metadata_b64).bind(&s.idp_entity_id)
            .bind(&certs).bind(&s.auxiliary_domain).bind(s.sso_login_with_domain)
            .bind(&s.authn_sign_algo).bind(s.updated_at)
            .execute(pool).await?;
        });
        Ok(())
    }

    /// One page of an account's sign-in audit, newest first, strictly older than `before`
    /// (`(at, id)` of the last event of the previous page), at most `limit` + 1 rows read.
    pub async fn list_audit_page(
        &self,
        account_id: &str,
        before: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<super::Page<AuditEvent>, StoreError> {
        let (at, id) = before.unwrap_or((i64::MAX, ""));
        let rows: Vec<AuditRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, account_id, at, event, provider, subject, outcome, reason, source_ip \
                 FROM signin_audit WHERE account_id = $1 AND (at < $2 OR (at = $2 AND id > $3)) \
                 ORDER BY at DESC, id LIMIT $4",
            )
            .bind(account_id).bind(at).bind(id).bind(super::ram::limit_plus_one(limit))
            .fetch_all(pool).await?
        });
        let items: Vec<AuditEvent> = rows
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
            .collect();
        Ok(super::ram::page(items, limit, |e| {
            format!("{}:{}", e.at, e.id)
        }))
    }
}
