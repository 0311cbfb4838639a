-- RAM identities inside an account: users, groups, login profiles, virtual MFA devices, roles,
-- custom policies with versions, and policy attachments. Names are unique per account;
-- attachments and memberships reference ids, so renames keep them.

CREATE TABLE users (
    id             TEXT    NOT NULL PRIMARY KEY,            -- 16 digits
    account_id     TEXT    NOT NULL REFERENCES accounts(id),
    name           TEXT    NOT NULL,
    display_name   TEXT    NOT NULL,
    mobile_phone   TEXT    NOT NULL,
    email          TEXT    NOT NULL,
    comments       TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    last_login_at  BIGINT,
    UNIQUE (account_id, name)
);

CREATE TABLE ram_groups (
    id          TEXT    NOT NULL PRIMARY KEY,
    account_id  TEXT    NOT NULL REFERENCES accounts(id),
    name        TEXT    NOT NULL,
    comments    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE group_members (
    group_id   TEXT    NOT NULL REFERENCES ram_groups(id),
    user_id    TEXT    NOT NULL REFERENCES users(id),
    joined_at  BIGINT  NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE login_profiles (
    user_id                  TEXT     NOT NULL PRIMARY KEY REFERENCES users(id),
    password_hash            TEXT     NOT NULL,               -- argon2id PHC string
    password_reset_required  BOOLEAN  NOT NULL,
    mfa_bind_required        BOOLEAN  NOT NULL,
    created_at               BIGINT   NOT NULL,
    updated_at               BIGINT   NOT NULL
);

CREATE TABLE password_policies (
    account_id   TEXT    NOT NULL PRIMARY KEY REFERENCES accounts(id),
    policy_json  TEXT    NOT NULL
);

CREATE TABLE mfa_devices (
    serial_number  TEXT    NOT NULL PRIMARY KEY,              -- acs:ram::<acct>:mfa/<name>
    account_id     TEXT    NOT NULL REFERENCES accounts(id),
    name           TEXT    NOT NULL,
    seed_sealed    BYTEA   NOT NULL,                          -- sealed TOTP seed
    user_id        TEXT    UNIQUE REFERENCES users(id),      -- bound user, at most one device each
    activated_at   BIGINT,
    last_step      BIGINT,                                    -- last TOTP step accepted
    created_at     BIGINT  NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE roles (
    id                    TEXT     NOT NULL PRIMARY KEY,      -- 19 digits
    account_id            TEXT     NOT NULL REFERENCES accounts(id),
    name                  TEXT     NOT NULL,
    description           TEXT     NOT NULL,
    trust_policy          TEXT     NOT NULL,
    max_session_duration  BIGINT   NOT NULL,
    created_at            BIGINT   NOT NULL,
    updated_at            BIGINT   NOT NULL,
    sessions_valid_after  BIGINT   NOT NULL DEFAULT 0,        -- STS sessions issued before are void
    UNIQUE (account_id, name)
);

CREATE TABLE policies (
    account_id       TEXT    NOT NULL REFERENCES accounts(id),
    name             TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    default_version  TEXT    NOT NULL,
    next_version     BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE policy_versions (
    account_id   TEXT    NOT NULL,
    policy_name  TEXT    NOT NULL,
    version_id   TEXT    NOT NULL,
    document     TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (account_id, policy_name, version_id),
    FOREIGN KEY (account_id, policy_name) REFERENCES policies(account_id, name)
);

-- principal_type: User | Group | Role; principal_id: users.id, ram_groups.id or roles.id.
-- policy_type: System (built in) | Custom (policies table).
CREATE TABLE policy_attachments (
    account_id      TEXT    NOT NULL REFERENCES accounts(id),
    policy_type     TEXT    NOT NULL CHECK (policy_type IN ('System', 'Custom')),
    policy_name     TEXT    NOT NULL,
    principal_type  TEXT    NOT NULL CHECK (principal_type IN ('User', 'Group', 'Role')),
    principal_id    TEXT    NOT NULL,
    attached_at     BIGINT  NOT NULL,
    PRIMARY KEY (account_id, policy_type, policy_name, principal_type, principal_id)
);
CREATE INDEX policy_attachments_principal ON policy_attachments (principal_type, principal_id);

-- access_keys.user_id now references users(id): a user with keys cannot be deleted and a key
-- cannot be created for a deleted user, on both backends, whatever the interleaving.
ALTER TABLE access_keys ADD CONSTRAINT access_keys_user_fk FOREIGN KEY (user_id) REFERENCES users(id);
ALTER TABLE access_keys ADD COLUMN last_used_at BIGINT;
