-- Possible alerts (findings/possible_alerts.py): a finding that holds only through links still
-- in clerical review is raised with the links it rests on, as JSON [{mention_a, mention_b,
-- person_a, person_b, match_probability}]; NULL on every confirmed alert.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS possible_links VARCHAR;
