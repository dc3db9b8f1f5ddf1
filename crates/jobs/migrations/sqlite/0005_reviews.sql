-- Changes a policy held for a person to decide (issue 12): one row per held
-- change, with what it was decided against, until approved, denied or
-- expired.
CREATE TABLE reviews (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant         TEXT    NOT NULL,
    job_id         INTEGER NOT NULL,
    decision_id    TEXT    NOT NULL,
    change         TEXT    NOT NULL,               -- JSON: the held change
    decision       TEXT    NOT NULL,               -- JSON: its verdicts
    store_version  TEXT    NOT NULL,               -- the store it was decided against
    status         TEXT    NOT NULL DEFAULT 'pending',
    created_at_ms  INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    resolved_by    TEXT,
    resolved_at_ms INTEGER,
    reason         TEXT,
    snapshot_id    TEXT
);
CREATE INDEX reviews_by_tenant ON reviews (tenant, status, id);
