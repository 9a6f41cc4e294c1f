-- A sent outbox row keeps no body (adapters/relay.py): the relay sets it to NULL as soon as the
-- broker confirms the message, since answers and feeds carry learner data and nothing reads a
-- confirmed body. The row itself (ids, type, routing, times, attempts) stays for an operator
-- until retention prunes it (adapters/retention.py). An unsent row always has its body.
ALTER TABLE outbox ALTER COLUMN body DROP NOT NULL;
ALTER TABLE outbox ADD CONSTRAINT outbox_unsent_has_body CHECK (sent_at IS NOT NULL OR body IS NOT NULL);
-- Rows confirmed before this migration.
UPDATE outbox SET body = NULL WHERE sent_at IS NOT NULL;
