-- Corrections of announced deals and milestones: deal_retracted, deal_corrected (keyed by the
-- correcting event id) and milestone_revoked (once per milestone).
ALTER TABLE {schema}.broadcasts DROP CONSTRAINT IF EXISTS broadcasts_kind_check;
ALTER TABLE {schema}.broadcasts ADD CONSTRAINT broadcasts_kind_check CHECK (kind IN (
    'deal_won', 'milestone', 'leaderboard', 'deal_retracted', 'deal_corrected',
    'milestone_revoked'));
-- A correction looks up the announcement of the order or deal it corrects.
CREATE INDEX IF NOT EXISTS broadcasts_deal_order ON {schema}.broadcasts ((payload->>'order_id'))
    WHERE kind = 'deal_won';
CREATE INDEX IF NOT EXISTS broadcasts_deal_opportunity
    ON {schema}.broadcasts ((payload->>'opportunity_id')) WHERE kind = 'deal_won';
