-- The verification attempt limit (hub/attempts.py): each sender's failed verifications of each
-- learner (the master's ULN, or the ULN itself when no learner has it), so that verifying cannot
-- be used to guess a learner's date of birth. One row per sender and learner, holding the times
-- of its failures still inside the rolling window (at most the limit: past it nothing is checked,
-- so nothing more fails). One row, not one per failure, so that reading it FOR UPDATE makes two
-- messages counting for the same sender and learner count in turn.
CREATE TABLE verification_attempt (
    sender          text NOT NULL REFERENCES organisation (org_id),
    uln             char(10) NOT NULL,
    failed_at       timestamptz[] NOT NULL,
    last_failed_at  timestamptz NOT NULL,
    PRIMARY KEY (sender, uln)
);
-- Rows whose failures have all left the window are pruned (adapters/retention.py).
CREATE INDEX verification_attempt_last ON verification_attempt (last_failed_at);
