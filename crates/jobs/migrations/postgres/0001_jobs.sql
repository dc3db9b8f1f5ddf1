-- Jobs: one row per reflection.
CREATE TABLE jobs (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT    NOT NULL,
    tenant           TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL,             -- queued | running | succeeded | dead
    outcome          TEXT,                         -- succeeded | abstained | failed
    attempts         BIGINT  NOT NULL DEFAULT 0,
    retries_left     BIGINT  NOT NULL,
    run_after_ms     BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_token      TEXT,
    lease_expires_ms BIGINT,
    last_error_code  TEXT,
    last_error       TEXT,
    recorded         TEXT,                         -- proposal + verdicts + plan, stored before any write
    snapshot_id      TEXT,
    idempotency_key  TEXT UNIQUE,
    created_at_ms    BIGINT  NOT NULL,
    updated_at_ms    BIGINT  NOT NULL
);
CREATE INDEX jobs_claimable ON jobs (kind, status, run_after_ms);

-- One row per finished job attempt that reached an outcome.
CREATE TABLE job_metrics (
    job_id          BIGINT  NOT NULL,
    tenant          TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,
    reason_code     TEXT,
    changes_applied BIGINT  NOT NULL,
    piece_edited    BOOLEAN NOT NULL,
    tokens_in       BIGINT  NOT NULL,
    tokens_out      BIGINT  NOT NULL,
    duration_ms     BIGINT  NOT NULL,
    rejections      TEXT    NOT NULL,              -- JSON object: code -> count
    created_at_ms   BIGINT  NOT NULL
);
CREATE INDEX job_metrics_tenant ON job_metrics (tenant, created_at_ms);
