-- The event log is a staging area that holds little more than what is pending:
-- 1. The view that counted event_log rows per commit cost about a fifth of every log insert. The
--    log is now its own record of commits: the only writer (embedded) finds unapplied commits in
--    event_log itself (at start and after a failed apply), and API processes sharing a ClickHouse
--    server write a commit's log_commits row themselves, after its rows (docs/ingestion.md).
-- 2. The log never merges: each part is one commit (one log insert), and the applier drops a
--    commit's part once it is applied (whole days left behind go with the daily prune). Merging
--    parts that are about to be dropped was a third of the engine's work during sustained ingest.
DROP VIEW IF EXISTS log_commits_mv {{ON_CLUSTER}};
ALTER TABLE event_log {{ON_CLUSTER}} MODIFY SETTING max_bytes_to_merge_at_max_space_in_pool = 1, max_bytes_to_merge_at_min_space_in_pool = 1;
