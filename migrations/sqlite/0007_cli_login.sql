-- `rambridge login` browser mode (docs/login.md): a pending CLI login, created by
-- GET /cli-login/start and bound to the CLI's loopback port and PKCE code challenge; completed
-- once by the browser sign-in with a one-time code (stored only as its SHA-256) and the role
-- credentials (stored only AEAD-sealed); redeemed once by POST /cli-login/token, which deletes
-- the row. expires_at is the end of the sign-in window while pending and the end of the code's
-- short life once completed; expired rows are purged by the periodic upkeep.

CREATE TABLE cli_logins (
    id                  TEXT    NOT NULL PRIMARY KEY,   -- pending id (the browser's cookie)
    account_id          TEXT    NOT NULL REFERENCES accounts(id),
    provider            TEXT    NOT NULL,               -- SAML provider name the sign-in uses
    role                TEXT    NOT NULL,               -- requested role (name or ARN), '' = any
    port                BIGINT  NOT NULL,               -- the CLI's loopback listener port
    code_challenge      TEXT    NOT NULL,               -- base64url(SHA-256(code_verifier))
    code_hash           TEXT    UNIQUE,                 -- hex SHA-256 of the code, once completed
    credentials_sealed  BLOB,                           -- sealed credentials JSON, once completed
    created_at          BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL
);
CREATE INDEX cli_logins_expiry ON cli_logins (expires_at);
