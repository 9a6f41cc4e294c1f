-- Sharing: data sharing agreements (every version kept), learners' choices, partners'
-- subscriptions, what each partner holds (for recall, correction and re-key notices), the
-- notices themselves, and the agreement and consent versions each audited decision relied on.

ALTER TABLE audit_log
    ADD COLUMN agreement_id text,
    ADD COLUMN agreement_version integer,
    ADD COLUMN consent_version integer;

CREATE TABLE agreement (
    agreement_id  text NOT NULL,
    version       integer NOT NULL CHECK (version >= 1),
    partner       text NOT NULL REFERENCES organisation (org_id),
    purposes      text[] NOT NULL,
    feeds         text[] NOT NULL,
    fields        text[] NOT NULL,
    scope         text NOT NULL CHECK (scope IN ('nominated', 'all_not_opted_out')),
    valid_from    date NOT NULL,
    valid_to      date NOT NULL CHECK (valid_to >= valid_from),
    status        text NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agreement_id, version)
);
CREATE INDEX agreement_partner ON agreement (partner);

CREATE TABLE consent (
    uln          char(10) PRIMARY KEY REFERENCES learner (uln),
    version      integer NOT NULL,
    sharing      boolean NOT NULL,
    restricted   text[],  -- the event ids the restricted view shows; NULL: all of them
    basic_only   boolean NOT NULL,
    nominations  jsonb NOT NULL DEFAULT '{}',  -- org id -> last day of the nomination
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscription (
    partner     text NOT NULL REFERENCES organisation (org_id),
    feed        text NOT NULL CHECK (feed IN ('achievements', 'participation', 'learner_details')),
    purpose     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner, feed)
);

-- What each partner holds: delivered and not recalled. `key` is a learning event's id, or
-- 'details' for the learner's details.
CREATE TABLE held (
    partner            text NOT NULL REFERENCES organisation (org_id),
    uln                char(10) NOT NULL,
    key                text NOT NULL,
    feed               text NOT NULL,
    version            integer,
    fields             text[] NOT NULL,
    agreement_id       text NOT NULL,
    agreement_version  integer NOT NULL,
    consent_version    integer NOT NULL,
    purpose            text NOT NULL,
    at                 timestamptz NOT NULL,
    PRIMARY KEY (partner, uln, key)
);
CREATE INDEX held_uln ON held (uln);
CREATE INDEX held_key ON held (key);

CREATE TABLE notice (
    notice_id        uuid PRIMARY KEY,
    partner          text NOT NULL REFERENCES organisation (org_id),
    kind             text NOT NULL CHECK (kind IN ('recall', 'correction', 'rekey')),
    uln              char(10),
    keys             text[] NOT NULL,
    reason           text NOT NULL,
    at               timestamptz NOT NULL,
    acknowledged_at  timestamptz
);
CREATE INDEX notice_unacknowledged ON notice (partner, at) WHERE acknowledged_at IS NULL;
