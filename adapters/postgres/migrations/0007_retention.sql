-- Retention: sent outbox rows and old inbox records are pruned by the hub (adapters/retention.py);
-- these indexes let it find them without scanning the tables.
CREATE INDEX outbox_created ON outbox (created_at);
CREATE INDEX inbox_received ON inbox (received_at);
