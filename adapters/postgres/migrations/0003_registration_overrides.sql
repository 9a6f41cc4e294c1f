-- A provider may register a new learner despite possible matches, giving a reason; the hub
-- keeps the reason and the candidates it overrode, for an operator to review.
CREATE TABLE registration_override (
    uln             char(10) PRIMARY KEY REFERENCES learner (uln),
    org_id          text NOT NULL REFERENCES organisation (org_id),
    reason          text NOT NULL,
    candidate_ulns  text[] NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
