-- Browser sign-in through OIDC (issue 8): per-account settings (rambridge's own IMS-style
-- SetOIDCSsoSettings) and the pending authorization requests (state, nonce, PKCE verifier).

CREATE TABLE oidc_sso_settings (
    account_id            TEXT    NOT NULL PRIMARY KEY REFERENCES accounts(id),
    enabled               BOOLEAN NOT NULL,
    provider_name         TEXT    NOT NULL,            -- an OIDC provider of the account
    client_id             TEXT    NOT NULL,            -- one of the provider's ClientIds
    client_secret_sealed  BLOB,                       -- sealed with the keyring (NULL = public client)
    scopes                TEXT    NOT NULL,            -- space-separated, 'openid' implied
    mode                  TEXT    NOT NULL CHECK (mode IN ('user', 'role')),
    user_claim            TEXT    NOT NULL,            -- claim carrying the user principal name
    role_claim            TEXT    NOT NULL,            -- claim carrying role ARNs
    login_with_domain     BOOLEAN NOT NULL,            -- user claim is <user>@<domain>
    updated_at            BIGINT  NOT NULL
);

-- One row per started sign-in; the browser holds the random state, only its SHA-256 (hex) is
-- stored. Taken (deleted) by the callback: single use. Purged after expires_at.
CREATE TABLE oidc_login_states (
    state_hash     TEXT    NOT NULL PRIMARY KEY,
    account_id     TEXT    NOT NULL,
    nonce          TEXT    NOT NULL,
    pkce_verifier  TEXT    NOT NULL,
    relay_state    TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    source_ip      TEXT    NOT NULL
);
CREATE INDEX oidc_login_states_expiry ON oidc_login_states (expires_at);
