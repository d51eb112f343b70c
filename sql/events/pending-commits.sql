-- Several writers (server mode): commits logged but not yet applied, oldest first, from the
-- log_commits row each process writes after its log rows. applied_commits is read only as far back as
-- the oldest commit still in the log (a commit is applied after it is logged).
SELECT commit_id, sum(rows) AS rows, sum(corrections) AS corrections, min(logged_at) AS logged_at
FROM log_commits
WHERE commit_id NOT IN (
    SELECT commit_id FROM applied_commits
    WHERE applied_at >= (SELECT min(logged_at) FROM log_commits)
)
GROUP BY commit_id
ORDER BY logged_at, commit_id
LIMIT 10000
SETTINGS log_comment = 'events.pending-commits'
