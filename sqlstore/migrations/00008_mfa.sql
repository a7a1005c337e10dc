-- Two-factor authentication (TOTP, RFC 6238) per platform user, its
-- single-use recovery codes, and the education funnel's counts.

-- +goose Up
CREATE TABLE mfa_totp (
    user_id        TEXT PRIMARY KEY,
    -- AES-256-GCM under the data directory's key, bound to user_id.
    secret_sealed  {{BLOB}} NOT NULL,
    status         TEXT NOT NULL,        -- pending | enabled
    region         TEXT NOT NULL DEFAULT '',
    moment         TEXT NOT NULL DEFAULT '',
    created_us     BIGINT NOT NULL,
    confirmed_us   BIGINT NOT NULL DEFAULT 0,
    -- The last accepted RFC 6238 time step: a code of that step or an
    -- earlier one is a replay.
    last_step      BIGINT NOT NULL DEFAULT 0,
    fails          INTEGER NOT NULL DEFAULT 0,
    fail_since_us  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE mfa_recovery_codes (
    user_id   TEXT NOT NULL,
    -- HMAC-SHA-256 of the normalised code under the data directory's key.
    code_hash TEXT NOT NULL,
    used_us   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, code_hash)
);

-- One row per funnel event; no user id: the funnel counts, it does not
-- follow anyone.
CREATE TABLE mfa_funnel (
    seq     {{SERIAL_PK}},
    stage   TEXT NOT NULL,   -- shown | opened | started | confirmed
    region  TEXT NOT NULL,
    moment  TEXT NOT NULL,
    variant TEXT NOT NULL,
    at_us   BIGINT NOT NULL
);
CREATE INDEX mfa_funnel_at ON mfa_funnel (at_us);

-- +goose Down
DROP TABLE mfa_funnel;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
