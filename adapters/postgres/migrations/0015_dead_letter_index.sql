-- An index of what lrs.dead holds (adapters/postgres/dead_letter_index.py), so that listing
-- dead letters never reads the queue (every read of a quorum queue raises the letter's
-- x-delivery-count) and replaying an unknown id is refused without scanning it.
-- No learner data: ids, the broker-validated sender, the type, the reason, sizes and times.
CREATE TABLE dead_letter (
    sender         text NOT NULL,         -- '' when no user_id was validated
    message_id     text NOT NULL,
    message_type   text,
    consumer       text NOT NULL,
    reason         text NOT NULL,
    size           integer NOT NULL,      -- bytes of the body as the sender sent it
    copies         integer NOT NULL DEFAULT 1,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sender, message_id)      -- message ids are each sender's own namespace
);
CREATE INDEX dead_letter_message_id ON dead_letter (message_id);
CREATE INDEX dead_letter_first_seen ON dead_letter (first_seen_at);
CREATE INDEX dead_letter_last_seen ON dead_letter (last_seen_at);
