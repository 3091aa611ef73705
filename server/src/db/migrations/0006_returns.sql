-- Returns for correction and checks before submit.
-- The status's round (0 for every visit stored before returns existed: no
-- earlier op carries a round) and the visit's checks as JSON
-- (`sync_core::checks::Checks`), kept at reindex time like the export rows.
-- NULL: not yet computed; `checks::backfill` fills them at start-up.
ALTER TABLE visits ADD COLUMN status_round INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN checks TEXT;
