-- Commits in event_log not yet applied, oldest first, read from the log itself: the only writer
-- (embedded) asks this at start and after a failed apply, never per request. applied_commits is
-- read only as far back as the oldest row still in the log (a commit is applied after it is logged).
SELECT commit_id, count() AS rows, countIf(record_type != 'event') AS corrections, min(received_at) AS logged_at
FROM event_log
WHERE commit_id NOT IN (
    SELECT commit_id FROM applied_commits
    WHERE applied_at >= (SELECT min(received_at) FROM event_log)
)
GROUP BY commit_id
ORDER BY logged_at, commit_id
LIMIT 10000
SETTINGS log_comment = 'events.pending-commits'
