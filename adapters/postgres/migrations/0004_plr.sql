-- The Personal Learning Record: learning events from awarding organisations (achievements)
-- and providers (participation), challenges against them, and the learner portal as a kind
-- of organisation (it speaks for the learners it authenticates).

ALTER TABLE organisation DROP CONSTRAINT organisation_kind_check;
ALTER TABLE organisation ADD CONSTRAINT organisation_kind_check
    CHECK (kind IN ('provider', 'awarding_organisation', 'partner', 'learner_portal'));

CREATE TABLE learning_event (
    event_id         uuid PRIMARY KEY,
    uln              char(10) NOT NULL REFERENCES learner (uln),
    kind             text NOT NULL CHECK (kind IN ('achievement', 'participation')),
    source_org       text NOT NULL REFERENCES organisation (org_id),
    source_ref       text NOT NULL,  -- the sender's own id: result id, enrolment id
    version          integer NOT NULL CHECK (version >= 1),
    fields           jsonb NOT NULL,
    withdrawn        boolean NOT NULL DEFAULT false,
    withdrawn_reason text,
    under_challenge  boolean NOT NULL DEFAULT false,
    loaded_at        timestamptz NOT NULL DEFAULT now(),  -- the PLR's DateLoaded
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_org, kind, source_ref)
);
CREATE INDEX learning_event_uln ON learning_event (uln);

CREATE TABLE challenge (
    challenge_id  uuid PRIMARY KEY,
    event_id      uuid NOT NULL REFERENCES learning_event (event_id),
    uln           char(10) NOT NULL REFERENCES learner (uln),
    raised_by     text NOT NULL REFERENCES organisation (org_id),
    reason        text NOT NULL,
    raised_at     timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution    text CHECK (resolution IN ('amended', 'withdrawn', 'confirmed')),
    resolved_at   timestamptz
);
-- At most one open challenge per entry.
CREATE UNIQUE INDEX challenge_open ON challenge (event_id) WHERE status = 'open';
