-- Consolidation: one row per tenant. The tenant is dirty while
-- input_watermark > success_watermark; a claim copies input_watermark to
-- claimed_watermark, and success raises success_watermark only to that, so
-- input that arrives during a run keeps the tenant dirty.
CREATE TABLE consolidations (
    tenant            TEXT    PRIMARY KEY,
    input_watermark   BIGINT  NOT NULL,
    success_watermark BIGINT  NOT NULL DEFAULT 0,
    claimed_watermark BIGINT,
    notes_cursor      BIGINT  NOT NULL DEFAULT 0,  -- snapshot index lines already consolidated
    status            TEXT    NOT NULL,            -- idle | running | failed | dead
    max_attempts      BIGINT  NOT NULL,
    retries_left      BIGINT  NOT NULL,
    next_attempt_ms   BIGINT  NOT NULL DEFAULT 0,
    runs              BIGINT  NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_token       TEXT,
    lease_expires_ms  BIGINT,
    last_error_code   TEXT,
    last_error        TEXT,
    last_started_ms   BIGINT,
    last_succeeded_ms BIGINT,
    updated_at_ms     BIGINT  NOT NULL
);
CREATE INDEX consolidations_due ON consolidations (next_attempt_ms);
