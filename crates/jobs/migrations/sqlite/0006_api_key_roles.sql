-- What a key may do (issue 12): `agent` keys enqueue and read, `reviewer`
-- keys may also approve and deny held changes. Agents never approve their
-- own writes.
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'agent';
