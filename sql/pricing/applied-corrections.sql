-- Which of these correction ids are already in the ledger (their rows carry the original event's timestamp).
SELECT DISTINCT correction_id
FROM cost_events
WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp <= {to:DateTime64(3, 'UTC')}
  AND correction_id IN {ids:Array(String)}
SETTINGS log_comment = 'pricing.applied-corrections'
