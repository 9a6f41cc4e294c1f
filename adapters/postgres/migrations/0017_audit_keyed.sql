-- The audit chain is keyed (hub/audit.py): each entry's hash is an HMAC under a key the hub
-- holds and the database never does, named here by its id. NULL: an entry hashed before
-- keying, with a plain SHA-256, which verifies only before the first keyed entry.
ALTER TABLE audit_log ADD COLUMN key_id text;
