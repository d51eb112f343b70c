-- Quarantined (not rejected) records that have not yet been replayed into the ledger.
SELECT quarantine_id, reason, payload
FROM quarantine FINAL
WHERE disposition = 'quarantined'
  AND ({reason:String} = '' OR reason = {reason:String})
  AND quarantine_id NOT IN (SELECT quarantine_id FROM quarantine_replays FINAL WHERE outcome IN ('accepted', 'duplicate'))
ORDER BY received_at, quarantine_id
LIMIT {limit:UInt32}
SETTINGS log_comment = 'quarantine.replayable'
