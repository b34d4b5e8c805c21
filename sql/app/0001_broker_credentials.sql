-- Broker access tokens, encrypted at rest (Fernet). The clear token never reaches this table:
-- token_ciphertext is the Fernet token, token_fingerprint a sha256 prefix for listings.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Statements end with ';' at line end.

CREATE TABLE broker_credentials (
    account_id          TEXT NOT NULL PRIMARY KEY,
    label               TEXT,
    environment         TEXT NOT NULL DEFAULT 'sandbox',
    token_ciphertext    TEXT NOT NULL,
    token_fingerprint   TEXT NOT NULL,
    is_active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    activated_at        TIMESTAMP,
    rotated_at          TIMESTAMP,
    deactivated_at      TIMESTAMP,
    -- Monotonic across all accounts: a sensor keeps the last value it saw as its cursor.
    change_seq          BIGINT NOT NULL,
    -- What the latest change was, so a sensor can tell a deactivation from an activation.
    last_change         TEXT NOT NULL DEFAULT 'added',
    CONSTRAINT broker_credentials_environment_check CHECK (environment IN ('sandbox', 'live')),
    CONSTRAINT broker_credentials_last_change_check
        CHECK (last_change IN ('added', 'rotated', 'activated', 'deactivated')),
    CONSTRAINT broker_credentials_token_check CHECK (token_ciphertext <> '' AND token_fingerprint <> '')
);

CREATE UNIQUE INDEX broker_credentials_change_seq_idx ON broker_credentials (change_seq);

-- Named counters bumped with UPDATE ... SET value = value + 1, which serializes concurrent
-- writers on both engines (row lock on PostgreSQL, database lock on SQLite).
CREATE TABLE app_counters (
    name    TEXT NOT NULL PRIMARY KEY,
    value   BIGINT NOT NULL
);

INSERT INTO app_counters (name, value) VALUES ('broker_credentials.change_seq', 0);
