-- Message ids are each sender's own namespace: an organisation that sends first with another's
-- message_id must not make the other's request a "duplicate" (or, with the same bytes, swallow
-- it as a redelivery). The inbox is keyed by the broker-validated sender too.
ALTER TABLE inbox ADD COLUMN sender text NOT NULL DEFAULT '';
ALTER TABLE inbox DROP CONSTRAINT inbox_pkey;
ALTER TABLE inbox ADD PRIMARY KEY (consumer, sender, message_id);
ALTER TABLE inbox ALTER COLUMN sender DROP DEFAULT;
