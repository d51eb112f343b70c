-- Which of these event ids are already in the ledger (primary-key lookup on event_ids).
SELECT event_id
FROM event_ids
WHERE event_id IN {ids:Array(String)}
SETTINGS log_comment = 'events.find-ingested-ids'
