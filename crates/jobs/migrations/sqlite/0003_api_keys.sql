-- API keys of tenants: only the SHA-256 of each key is kept.
CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT    NOT NULL,
    key_sha256    TEXT    NOT NULL UNIQUE,
    label         TEXT,
    created_at_ms INTEGER NOT NULL
);
