-- The apply of the only writer (embedded, steady state): every id of these commits was checked at
-- receipt against the ledger and against every id this process had logged and not applied, so
-- there is nothing to drop (src/events/applier.ts says when the checked apply-commits runs
-- instead). Corrections are still deduplicated by correction_id. Every row gets the apply's
-- received_at stamp, which orders the ledger for snapshot reads. Without the insert (`insert` and
-- `settings` empty) it is the batch the run changes are computed from (run-changes.sql).
{{insert}}
SELECT {{select}}
FROM event_log
WHERE received_at IN {logged:Array(DateTime64(3, 'UTC'))} AND commit_id IN {commits:Array(String)}
  {{corrections}}
  {{fence}}
{{settings}}
