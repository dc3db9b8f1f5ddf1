-- Consolidation: one row per tenant. The tenant is dirty while
-- input_watermark > success_watermark; a claim copies input_watermark to
-- claimed_watermark, and success raises success_watermark only to that, so
-- input that arrives during a run keeps the tenant dirty.
CREATE TABLE consolidations (
    tenant            TEXT    PRIMARY KEY,
    input_watermark   INTEGER NOT NULL,
    success_watermark INTEGER NOT NULL DEFAULT 0,
    claimed_watermark INTEGER,
    notes_cursor      INTEGER NOT NULL DEFAULT 0,  -- snapshot index lines already consolidated
    status            TEXT    NOT NULL,            -- idle | running | failed | dead
    max_attempts      INTEGER NOT NULL,
    retries_left      INTEGER NOT NULL,
    next_attempt_ms   INTEGER NOT NULL DEFAULT 0,
    runs              INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_token       TEXT,
    lease_expires_ms  INTEGER,
    last_error_code   TEXT,
    last_error        TEXT,
    last_started_ms   INTEGER,
    last_succeeded_ms INTEGER,
    updated_at_ms     INTEGER NOT NULL
);
CREATE INDEX consolidations_due ON consolidations (next_attempt_ms);
