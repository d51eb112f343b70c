-- Parts of event_log that hold rows of just-applied commits and of no other commit: the applier
-- drops them (the log does not merge, so a part is one commit; a part merged before that holds
-- several and waits for the daily prune unless all of them are applied).
SELECT _part AS part
FROM event_log
WHERE _part IN (
    SELECT _part FROM event_log
    WHERE received_at IN {logged:Array(DateTime64(3, 'UTC'))} AND commit_id IN {commits:Array(String)})
GROUP BY _part
HAVING countIf(commit_id NOT IN {commits:Array(String)}) = 0
SETTINGS log_comment = 'events.applied-log-parts'
