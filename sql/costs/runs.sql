-- Runs started in the window (a run's start is its earliest event), from run_facts. A run counts
-- in a group when, for each grouped dimension, its attribute has the value (run attributes) or
-- one of its events used it (event-level sets, one ARRAY JOIN each); filters likewise.
SELECT {{keys}} {{count}} AS runs
FROM run_facts FINAL
{{array_join}}
WHERE started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')}
  {{filters}}
{{group_by}}
