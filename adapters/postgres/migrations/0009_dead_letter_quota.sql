-- What each sender has put into lrs.dead each day: one hostile sender must not fill the
-- broker's disk with rejected input (adapters/postgres/dead_letter_quota.py).
CREATE TABLE dead_letter_quota (
    sender    text NOT NULL,
    day       date NOT NULL,
    letters   integer NOT NULL,
    bytes     bigint NOT NULL,
    dropped   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (sender, day)
);
