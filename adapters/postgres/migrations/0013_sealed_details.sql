-- Learner details at rest (adapters/postgres/sealing.py): contact details and notes leave the
-- clear `details` column for `sealed_fields`, a Fernet token under a key derived from
-- LRS_DATA_KEY and the learner's ULN; `sealed_key` names the data key that sealed it.
--
-- Rows written before this migration keep their details in clear (both columns NULL) and are
-- still read as they are; `hub learners seal` seals them (and re-seals rows under a retired
-- key), so nothing here needs the key, which the database never holds.
ALTER TABLE learner
    ADD COLUMN sealed_fields text,
    ADD COLUMN sealed_key text,
    ADD CONSTRAINT learner_sealed_whole CHECK ((sealed_fields IS NULL) = (sealed_key IS NULL));
