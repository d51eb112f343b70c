-- Several writers (server mode): days of event_log older than yesterday with no commit left to
-- apply, by the log_commits rows.
SELECT partition_id AS day
FROM system.parts
WHERE database = currentDatabase() AND table = 'event_log' AND active
  AND partition_id < toString(toYYYYMMDD(now() - INTERVAL 1 DAY))
GROUP BY partition_id
HAVING day NOT IN (
    SELECT toString(toYYYYMMDD(logged_at)) FROM log_commits
    WHERE commit_id NOT IN (SELECT commit_id FROM applied_commits)
)
ORDER BY day
SETTINGS log_comment = 'events.prunable-log-days'
