-- Days of event_log older than yesterday with no commit left to apply (the only writer: commits
-- are known from the log itself).
SELECT partition_id AS day
FROM system.parts
WHERE database = currentDatabase() AND table = 'event_log' AND active
  AND partition_id < toString(toYYYYMMDD(now() - INTERVAL 1 DAY))
GROUP BY partition_id
HAVING day NOT IN (
    SELECT toString(toYYYYMMDD(received_at)) FROM event_log
    WHERE received_at < toStartOfDay(now() - INTERVAL 1 DAY)
      AND commit_id NOT IN (SELECT commit_id FROM applied_commits)
)
ORDER BY day
SETTINGS log_comment = 'events.prunable-log-days'
