-- The view that counted event_log rows per commit cost about a fifth of every log insert. The log is
-- now its own record of commits: the only writer (embedded) finds unapplied commits in event_log
-- itself (at start and after a failed apply), and API processes sharing a ClickHouse server write
-- a commit's log_commits row themselves, after its rows (docs/ingestion.md "Many writers").
DROP VIEW IF EXISTS log_commits_mv {{ON_CLUSTER}};
