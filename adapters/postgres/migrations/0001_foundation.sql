-- The foundation: organisations, the Learner Register, inbox, outbox, audit log, batches.

CREATE TABLE organisation (
    org_id      text PRIMARY KEY CHECK (org_id ~ '^[0-9]{6,8}$'),
    kind        text NOT NULL CHECK (kind IN ('provider', 'awarding_organisation', 'partner')),
    name        text NOT NULL,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- ULNs are issued from this sequence through a bijection (hub/uln.py): never the same twice,
-- whichever hub process asks.
CREATE SEQUENCE uln_issue_number MINVALUE 1 MAXVALUE 900000000 NO CYCLE;

CREATE TABLE learner (
    uln            char(10) PRIMARY KEY,
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'linked')),
    master_uln     char(10) REFERENCES learner (uln),
    version        integer NOT NULL DEFAULT 1,
    details        jsonb NOT NULL,
    -- normalised match keys (hub/normalise.py), the blocking keys candidates are found by
    given_key      text NOT NULL,
    family_key     text NOT NULL,
    date_of_birth  date NOT NULL,
    gender         smallint NOT NULL,
    postcode_key   text NOT NULL,
    previous_family_key text,
    registered_by  text NOT NULL REFERENCES organisation (org_id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX learner_dob_family ON learner (date_of_birth, family_key) WHERE status = 'active';
CREATE INDEX learner_dob_given ON learner (date_of_birth, given_key) WHERE status = 'active';
CREATE INDEX learner_dob_postcode ON learner (date_of_birth, postcode_key) WHERE status = 'active';
CREATE INDEX learner_names_postcode ON learner (family_key, given_key, postcode_key) WHERE status = 'active';
CREATE INDEX learner_master ON learner (master_uln) WHERE master_uln IS NOT NULL;

-- Which providers have submitted (registered, found or verified) which learners.
CREATE TABLE learner_provider (
    uln        char(10) NOT NULL REFERENCES learner (uln),
    org_id     text NOT NULL REFERENCES organisation (org_id),
    first_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (uln, org_id)
);

CREATE TABLE inbox (
    consumer            text NOT NULL,
    message_id          text NOT NULL,
    body_sha256         char(64) NOT NULL,
    dead_letter_reason  text,
    received_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

CREATE TABLE outbox (
    id              uuid PRIMARY KEY,
    exchange        text NOT NULL,
    routing_key     text NOT NULL,
    message_type    text NOT NULL,
    correlation_id  text,
    headers         jsonb NOT NULL DEFAULT '{}',
    body            jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at         timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text
);
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;

-- Append only: the hub never updates or deletes rows (a trigger refuses it), and each row's
-- hash covers its content and the previous row's hash (hub/audit.py).
CREATE TABLE audit_log (
    seq             bigint PRIMARY KEY,
    at              timestamptz NOT NULL,
    recipient       text NOT NULL,
    uln             char(10),
    what            text NOT NULL,
    purpose         text NOT NULL,
    decision        text NOT NULL CHECK (decision IN ('allowed', 'refused')),
    reason          text NOT NULL,
    fields          text[] NOT NULL,
    correlation_id  text,
    prev_hash       char(64) NOT NULL,
    hash            char(64) NOT NULL
);
CREATE INDEX audit_log_uln ON audit_log (uln) WHERE uln IS NOT NULL;

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE batch (
    batch_id    text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organisation (org_id),
    total_rows  integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE batch_row (
    batch_id       text NOT NULL REFERENCES batch (batch_id),
    row_number     integer NOT NULL,
    mis_identifier text,
    return_code    text NOT NULL,
    response_code  text,
    uln            char(10),
    reason         text NOT NULL,
    answered_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, row_number)
);
