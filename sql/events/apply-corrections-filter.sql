-- A correction (reversal + reprice pair, by correction_id) already in the ledger is not applied
-- again. Correction rows carry their event's timestamp, so the lookup reads only those partitions.
AND (record_type = 'event' OR (correction_id, record_type) NOT IN (
    SELECT correction_id, record_type FROM cost_events
    WHERE record_type != 'event'
      AND timestamp >= (SELECT min(timestamp) FROM event_log WHERE received_at IN {logged:Array(DateTime64(3, 'UTC'))} AND commit_id IN {commits:Array(String)} AND record_type != 'event')
      AND timestamp <= (SELECT max(timestamp) FROM event_log WHERE received_at IN {logged:Array(DateTime64(3, 'UTC'))} AND commit_id IN {commits:Array(String)} AND record_type != 'event')
      AND correction_id IN (SELECT correction_id FROM event_log WHERE received_at IN {logged:Array(DateTime64(3, 'UTC'))} AND commit_id IN {commits:Array(String)} AND record_type != 'event')))
