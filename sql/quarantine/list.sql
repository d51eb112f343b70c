-- Quarantine records, newest first, keyset-paginated on (received_at, quarantine_id), with the
-- outcome of the latest replay of each (empty when never replayed).
SELECT q.quarantine_id AS quarantine_id, toString(q.received_at) AS received_at, q.event_id AS event_id, q.product_line_id AS product_line_id,
       q.disposition AS disposition, q.reason AS reason, q.errors AS errors, q.payload AS payload, r.outcome AS replay_outcome
FROM (SELECT * FROM quarantine FINAL) AS q
LEFT JOIN (SELECT quarantine_id, outcome FROM quarantine_replays FINAL) AS r ON r.quarantine_id = q.quarantine_id
WHERE ({reason:String} = '' OR q.reason = {reason:String})
  AND ({disposition:String} = '' OR q.disposition = {disposition:String})
  AND (q.received_at, q.quarantine_id) < ({before_time:DateTime64(3, 'UTC')}, {before_id:String})
ORDER BY q.received_at DESC, q.quarantine_id DESC
LIMIT {limit:UInt32}
SETTINGS join_use_nulls = 0, log_comment = 'quarantine.list'
