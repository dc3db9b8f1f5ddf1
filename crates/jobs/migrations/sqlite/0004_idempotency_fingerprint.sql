-- The SHA-256 of the request an idempotency key came with, so that the key
-- reused for a different request is refused rather than answered with the
-- old job (issue 9). NULL on rows enqueued before, which match any request.
ALTER TABLE jobs ADD COLUMN request_sha256 TEXT;
