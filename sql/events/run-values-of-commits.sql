-- The values of the five event-level run dimensions that these commits bring, so the applier can
-- skip registering bits (register-run-values.sql) when it knows them all already.
SELECT groupUniqArray(toString(type)) AS type, groupUniqArray(toString(status)) AS status,
       groupUniqArray(toString(provider)) AS provider, groupUniqArray(toString(model)) AS model,
       groupUniqArray(toString(tool)) AS tool
FROM event_log
WHERE received_at IN {logged:Array(DateTime64(3, 'UTC'))} AND commit_id IN {commits:Array(String)}
SETTINGS log_comment = 'events.run-values-of-commits'
