-- Runs started by any of these runs (sub-agents), for walking a run tree level by level.
SELECT DISTINCT run_id
FROM cost_events
WHERE parent_run_id IN {parents:Array(String)} AND run_id != '' AND run_id NOT IN {seen:Array(String)}
LIMIT 10000
SETTINGS log_comment = 'runs.child-runs'
