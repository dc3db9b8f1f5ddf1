-- Jobs: one row per reflection (and, later, per tenant for consolidation).
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL,
    tenant           TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL,             -- queued | running | succeeded | dead
    outcome          TEXT,                         -- succeeded | abstained | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    retries_left     INTEGER NOT NULL,
    run_after_ms     INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_token      TEXT,
    lease_expires_ms INTEGER,
    last_error_code  TEXT,
    last_error       TEXT,
    recorded         TEXT,                         -- proposal + verdicts + plan, stored before any write
    snapshot_id      TEXT,
    idempotency_key  TEXT UNIQUE,
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL
);
CREATE INDEX jobs_claimable ON jobs (kind, status, run_after_ms);

-- One row per finished job attempt that reached an outcome.
CREATE TABLE job_metrics (
    job_id          INTEGER NOT NULL,
    tenant          TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,
    reason_code     TEXT,
    changes_applied INTEGER NOT NULL,
    piece_edited    INTEGER NOT NULL,
    tokens_in       INTEGER NOT NULL,
    tokens_out      INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    rejections      TEXT    NOT NULL,              -- JSON object: code -> count
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX job_metrics_tenant ON job_metrics (tenant, created_at_ms);
