-- Browser SSO (issue 6): console sessions, pending role choices and user-based SSO settings.
-- Cookies carry a random 256-bit value; only its SHA-256 (hex) is stored, so a database reader
-- cannot take over a session. Rows are purged after expires_at by the maintenance loop.

CREATE TABLE web_sessions (
    id_hash             TEXT    NOT NULL PRIMARY KEY,  -- hex SHA-256 of the cookie value
    account_id          TEXT    NOT NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('user', 'role')),
    principal           TEXT    NOT NULL,              -- user id, or role ARN
    display_name        TEXT    NOT NULL,              -- user principal name, or role session name
    credentials_sealed  BLOB,                          -- role sessions: sealed temporary credentials
    csrf_token          TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL,
    source_ip           TEXT    NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- A validated role-SSO assertion with several roles, waiting for the person to pick one. The
-- browser only ever posts back an index into `choices`.
CREATE TABLE web_role_choices (
    id_hash      TEXT    NOT NULL PRIMARY KEY,          -- hex SHA-256 of the cookie value
    choices      TEXT    NOT NULL,                      -- JSON: the verified, trusted roles
    csrf_token   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    source_ip    TEXT    NOT NULL
);
CREATE INDEX web_role_choices_expiry ON web_role_choices (expires_at);

-- IMS SetUserSsoSettings: one row per account.
CREATE TABLE user_sso_settings (
    account_id            TEXT    NOT NULL PRIMARY KEY REFERENCES accounts(id),
    sso_enabled           BOOLEAN NOT NULL,
    metadata_b64          TEXT    NOT NULL,            -- MetadataDocument as uploaded ('' = none)
    idp_entity_id         TEXT    NOT NULL,
    certificates          TEXT    NOT NULL,            -- JSON array of base64 DER signing certificates
    auxiliary_domain      TEXT    NOT NULL,
    sso_login_with_domain BOOLEAN NOT NULL,
    authn_sign_algo       TEXT    NOT NULL,
    updated_at            BIGINT  NOT NULL
);
