-- Candidate retrieval by blocking keys (hub/blocking.py): a learner is indexed under several
-- keys (date of birth with a phonetic name, or with the postcode district; both names with
-- the year of birth), stored as 64-bit hashes. The single-column blocking indexes of 0001
-- are replaced by this table.

CREATE TABLE learner_block (
    key_hash  bigint NOT NULL,
    uln       char(10) NOT NULL REFERENCES learner (uln),
    PRIMARY KEY (key_hash, uln)
);
CREATE INDEX learner_block_uln ON learner_block (uln);

DROP INDEX learner_dob_family;
DROP INDEX learner_dob_given;
DROP INDEX learner_dob_postcode;
DROP INDEX learner_names_postcode;

-- The normalised key columns served only those indexes; the blocking keys replace them.
ALTER TABLE learner
    DROP COLUMN given_key,
    DROP COLUMN family_key,
    DROP COLUMN postcode_key,
    DROP COLUMN previous_family_key;
