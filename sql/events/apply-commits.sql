-- Move logged commits into the ledger in one insert, so every view on cost_events sees one block.
-- An event whose id is already in the ledger, or a correction already applied, is dropped; of the
-- same id logged twice (two processes received one retry) the first logged wins. Every row gets
-- the apply's received_at stamp, which orders the ledger for snapshot reads.
{{insert}}
SELECT {{select}}
FROM event_log
WHERE received_at IN {logged:Array(DateTime64(3, 'UTC'))} AND commit_id IN {commits:Array(String)}
  AND (record_type != 'event' OR event_id NOT IN (
      SELECT event_id FROM event_ids
      WHERE event_id IN (SELECT event_id FROM event_log WHERE received_at IN {logged:Array(DateTime64(3, 'UTC'))} AND commit_id IN {commits:Array(String)} AND record_type = 'event')))
  {{corrections}}
  {{fence}}
ORDER BY received_at, commit_id
LIMIT 1 BY record_type, event_id, correction_id
{{settings}}
