-- Whether the learner chose to share or not through the portal (hub/policy.py, Consent.chose_sharing).
-- Until she does, the provider's AbilityToShare decides, and a change of it is carried into her
-- consent by an update (hub/updates.py).
--
-- Rows written before this migration cannot tell whose choice they hold. Both guesses below err
-- on the side of not sharing: a stored "does not share" is taken as her own (the MIS never turns
-- it back on), a stored "shares" as following the MIS (an MIS opt-out ends it).
ALTER TABLE consent ADD COLUMN chose_sharing boolean;
UPDATE consent SET chose_sharing = NOT sharing;
ALTER TABLE consent ALTER COLUMN chose_sharing SET NOT NULL, ALTER COLUMN chose_sharing SET DEFAULT false;
