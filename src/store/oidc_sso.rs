//! Browser sign-in through OIDC: an account's settings (`SetOIDCSsoSettings`) and the pending
//! authorization requests, taken once by the callback.

use super::{Store, StoreError};

/// An account's OIDC sign-in settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcSsoSettingsRow {
    /// Account.
    pub account_id: String,
    /// Whether `/oidc/login/<alias>` is offered.
    pub enabled: bool,
    /// `OIDCProviderName` (a provider of this account).
    pub provider_name: String,
    /// `ClientId` (one of the provider's ClientIds).
    pub client_id: String,
    /// The client secret, sealed with the keyring (`None`: public client, PKCE only).
    pub client_secret_sealed: Option<Vec<u8>>,
    /// Extra scopes, space-separated (`openid` is always requested).
    pub scopes: String,
    /// `user` or `role`.
    pub mode: String,
    /// Claim carrying the user principal name (user mode).
    pub user_claim: String,
    /// Claim carrying role ARNs (role mode).
    pub role_claim: String,
    /// Whether the user claim is `<user>@<domain>` (else the bare user name).
    pub login_with_domain: bool,
    /// Epoch ms.
    pub updated_at: i64,
}

/// A started sign-in waiting for its callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcLoginStateRow {
    /// Hex SHA-256 of the `state` value.
    pub state_hash: String,
    /// Account.
    pub account_id: String,
    /// The `nonce` sent in the authorization request.
    pub nonce: String,
    /// The PKCE code verifier.
    pub pkce_verifier: String,
    /// Where to go afterwards ('' = console).
    pub relay_state: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub expires_at: i64,
    /// Client address that started it.
    pub source_ip: String,
}

type SettingsRow = (
    String,
    bool,
    String,
    String,
    Option<Vec<u8>>,
    String,
    String,
    String,
    String,
    bool,
    i64,
);

type StateRow = (String, String, String, String, String, i64, i64, String);

impl Store {
    /// An account's OIDC sign-in settings, if ever set.
    pub async fn find_oidc_sso_settings(
        &self,
        account_id: &str,
    ) -> Result<Option<OidcSsoSettingsRow>, StoreError> {
        let row: Option<SettingsRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT account_id, enabled, provider_name, client_id, client_secret_sealed, \
                 scopes, mode, user_claim, role_claim, login_with_domain, updated_at \
                 FROM oidc_sso_settings WHERE account_id = $1",
            )
            .bind(account_id).fetch_optional(pool).await?
        });
        Ok(row.map(|r| OidcSsoSettingsRow {
            account_id: r.0,
            enabled: r.1,
            provider_name: r.2,
            client_id: r.3,
            client_secret_sealed: r.4,
            scopes: r.5,
            mode: r.6,
            user_claim: r.7,
            role_claim: r.8,
            login_with_domain: r.9,
            updated_at: r.10,
        }))
    }

    /// Writes (inserts or replaces) an account's OIDC sign-in settings.
    pub async fn put_oidc_sso_settings(&self, s: &OidcSsoSettingsRow) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO oidc_sso_settings (account_id, enabled, provider_name, client_id, \
                 client_secret_sealed, scopes, mode, user_claim, role_claim, login_with_domain, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (account_id) DO UPDATE SET enabled = excluded.enabled, \
                 provider_name = excluded.provider_name, client_id = excluded.client_id, \
                 client_secret_sealed = excluded.client_secret_sealed, scopes = excluded.scopes, \
                 mode = excluded.mode, user_claim = excluded.user_claim, \
                 role_claim = excluded.role_claim, login_with_domain = excluded.login_with_domain, \
                 updated_at = excluded.updated_at",
            )
            .bind(&s.account_id).bind(s.enabled).bind(&s.provider_name).bind(&s.client_id)
            .bind(&s.client_secret_sealed).bind(&s.scopes).bind(&s.mode).bind(&s.user_claim)
            .bind(&s.role_claim).bind(s.login_with_domain).bind(s.updated_at)
            .execute(pool).await?;
        });
        Ok(())
    }

    /// Records a started sign-in.
    pub async fn create_oidc_login_state(&self, s: &OidcLoginStateRow) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO oidc_login_states (state_hash, account_id, nonce, pkce_verifier, \
                 relay_state, created_at, expires_at, source_ip) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&s.state_hash).bind(&s.account_id).bind(&s.nonce).bind(&s.pkce_verifier)
            .bind(&s.relay_state).bind(s.created_at).bind(s.expires_at).bind(&s.source_ip)
            .execute(pool).await?;
        });
        Ok(())
    }

    /// Consumes a started sign-in (single use): its row, if it existed and had not expired.
    pub async fn take_oidc_login_state(
        &self,
        state_hash: &str,
        now_ms: i64,
    ) -> Result<Option<OidcLoginStateRow>, StoreError> {
        let row: Option<StateRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "DELETE FROM oidc_login_states WHERE state_hash = $1 AND expires_at > $2 \
                 RETURNING state_hash, account_id, nonce, pkce_verifier, relay_state, \
                 created_at, expires_at, source_ip",
            )
            .bind(state_hash).bind(now_ms).fetch_optional(pool).await?
        });
        Ok(row.map(|r| OidcLoginStateRow {
            state_hash: r.0,
            account_id: r.1,
            nonce: r.2,
            pkce_verifier: r.3,
            relay_state: r.4,
            created_at: r.5,
            expires_at: r.6,
            source_ip: r.7,
        }))
    }
}
