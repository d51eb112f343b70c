-- costs.agent-costs without groups or buckets: one row, the totals.
{{with}}
SELECT 1 AS is_total, c, f, e, ti, tout, tcr, tcw, tr, runs{{wm}}
FROM ({{sums}}) AS s CROSS JOIN ({{runs}}) AS r
SETTINGS log_comment = 'costs.agent-costs', join_use_nulls = 0
