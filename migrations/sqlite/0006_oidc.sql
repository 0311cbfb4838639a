-- OIDC providers per account (IMS *OIDCProvider, spec §5.2). ClientIds and Fingerprints are JSON
-- arrays of strings (fingerprints lowercase hex). The IssuerUrl is unique per account: two
-- providers of one account can never claim the same issuer.

CREATE TABLE oidc_providers (
    account_id            TEXT    NOT NULL REFERENCES accounts(id),
    name                  TEXT    NOT NULL,
    description           TEXT    NOT NULL,
    issuer_url            TEXT    NOT NULL,
    client_ids            TEXT    NOT NULL,       -- JSON array
    fingerprints          TEXT    NOT NULL,       -- JSON array
    issuance_limit_hours  BIGINT  NOT NULL,       -- IssuanceLimitTime, 1-168
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL,
    PRIMARY KEY (account_id, name),
    UNIQUE (account_id, issuer_url)
);
