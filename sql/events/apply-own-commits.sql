-- The apply of the only writer (embedded, steady state): every id of these commits was checked at
-- receipt against the ledger and against every id this process had logged and not applied, so
-- there is nothing to drop (src/events/applier.ts says when the checked apply-commits runs
-- instead). Corrections are still deduplicated by correction_id. Every row gets the apply's
-- received_at stamp, which orders the ledger for snapshot reads.
INSERT INTO cost_events ({{columns}})
SELECT {{select}}
FROM event_log
WHERE received_at IN {logged:Array(DateTime64(3, 'UTC'))} AND commit_id IN {commits:Array(String)}
  {{corrections}}
  {{fence}}
SETTINGS log_comment = 'events.apply-commits'
