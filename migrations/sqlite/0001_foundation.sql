-- Foundation: accounts, AccessKeys (root keys now, RAM user keys later), request nonces.
-- Times are epoch milliseconds (UTC) from the service Clock.

CREATE TABLE accounts (
    id          TEXT    NOT NULL PRIMARY KEY,          -- 16 digits
    alias       TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE access_keys (
    id             TEXT    NOT NULL PRIMARY KEY,       -- LTAI...
    account_id     TEXT    NOT NULL REFERENCES accounts(id),
    user_id        TEXT,                               -- NULL: the account root's key
    status         TEXT    NOT NULL CHECK (status IN ('Active', 'Inactive')),
    secret_sealed  BLOB    NOT NULL,                   -- AEAD-sealed with the master key
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE INDEX access_keys_owner ON access_keys (account_id, user_id);

-- SignatureNonce replay cache, shared by every replica through the store.
CREATE TABLE request_nonces (
    access_key_id  TEXT    NOT NULL,
    nonce          TEXT    NOT NULL,
    expires_at     BIGINT  NOT NULL,
    PRIMARY KEY (access_key_id, nonce)
);
CREATE INDEX request_nonces_expiry ON request_nonces (expires_at);
