-- Which of these event ids were received before: in the ledger, or logged and waiting to be
-- applied (both primary-key lookups).
SELECT event_id FROM event_ids WHERE event_id IN {ids:Array(String)}
UNION DISTINCT
SELECT event_id FROM event_log WHERE event_id IN {ids:Array(String)} AND record_type = 'event'
SETTINGS log_comment = 'events.find-received-ids'
