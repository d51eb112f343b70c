-- Which of these event ids were received before: in the ledger, or logged and waiting to be
-- applied (both primary-key lookups). A logged row counts once its commit row is in log_commits
-- (written after the rows): rows of a process that died between the two inserts were never
-- acknowledged, so the client's retry must be taken (the apply's own id check keeps it once).
SELECT event_id FROM event_ids WHERE event_id IN {ids:Array(String)}
UNION DISTINCT
SELECT event_id FROM event_log
WHERE event_id IN {ids:Array(String)} AND record_type = 'event'
  AND commit_id IN (SELECT commit_id FROM log_commits WHERE commit_id IN (
      SELECT commit_id FROM event_log WHERE event_id IN {ids:Array(String)} AND record_type = 'event'))
SETTINGS log_comment = 'events.find-received-ids'
