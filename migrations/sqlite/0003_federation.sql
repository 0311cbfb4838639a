-- Federation: SAML providers per account, the assertion replay cache, AuthnRequests we issued
-- (InResponseTo), and the sign-in audit log.

CREATE TABLE saml_providers (
    account_id       TEXT    NOT NULL REFERENCES accounts(id),
    name             TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    metadata_b64     TEXT    NOT NULL,            -- EncodedSAMLMetadataDocument as uploaded
    entity_id        TEXT    NOT NULL,
    certificates     TEXT    NOT NULL,            -- JSON array of base64 DER signing certificates
    authn_sign_algo  TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    PRIMARY KEY (account_id, name)
);

-- An assertion is accepted once until it expires, across replicas.
CREATE TABLE saml_assertions_used (
    replay_key  TEXT    NOT NULL PRIMARY KEY,     -- <issuer> <assertion ID>
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX saml_assertions_used_expiry ON saml_assertions_used (expires_at);

CREATE TABLE saml_authn_requests (
    id          TEXT    NOT NULL PRIMARY KEY,
    account_id  TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL
);

CREATE TABLE signin_audit (
    id          TEXT    NOT NULL PRIMARY KEY,     -- also the reference shown on error pages
    account_id  TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    event       TEXT    NOT NULL,                 -- AssumeRoleWithSAML, SAMLSignIn, ...
    provider    TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,                 -- Success | Failure
    reason      TEXT    NOT NULL,
    source_ip   TEXT    NOT NULL
);
CREATE INDEX signin_audit_account ON signin_audit (account_id, at);
