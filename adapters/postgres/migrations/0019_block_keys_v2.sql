-- Blocking keys, version 2 (hub/blocking.py, issue 13): both names with the postcode district
-- ("np"), so that a learner whose date of birth is wholly wrong is still a candidate. The keys
-- are computed by the hub (phonetic codes, hashes), not in SQL: each learner row records the
-- version of the keys it is indexed under, rows written before this migration are version 1,
-- and `hub learners reindex` re-keys them in chunks while the hub runs. Until then they are
-- found by their version-1 keys exactly as before. The constant default is instant (no rewrite).

ALTER TABLE learner ADD COLUMN block_keys_version smallint NOT NULL DEFAULT 1;
